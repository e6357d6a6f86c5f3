//! Reading a resident's tree into [`Facts`]: each counted resource as its record type, then the
//! international-code equivalents, the visit–observation links and the valid follow-ups.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::{Diagnosis, Dose, Episode, Facts, Obs, Other, Req, Visit, local_day};
use crate::model::{CodeableConcept, Condition, FhirTime, Period, Resource};
use crate::qc::field::LOINC;
use crate::qc::params::Params;
use crate::tree::ResidentTree;

fn codes(c: Option<&CodeableConcept>) -> Vec<(String, String)> {
    c.map(|c| {
        c.coding
            .iter()
            .filter_map(|x| Some((x.system.clone()?, x.code.clone()?)))
            .collect()
    })
    .unwrap_or_default()
}

fn sort_key(t: Option<OffsetDateTime>) -> (bool, Option<OffsetDateTime>) {
    (t.is_none(), t)
}

fn instant(t: Option<&FhirTime>) -> Option<OffsetDateTime> {
    t.map(|t| t.start)
}

/// A period's start and end, each absent when the period is.
fn bounds(p: Option<&Period>) -> (Option<&FhirTime>, Option<&FhirTime>) {
    p.map_or((None, None), |p| (p.start.as_ref(), p.end.as_ref()))
}

/// A Procedure, Communication or CarePlan as an [`Other`]: the three differ only in which
/// elements give the code, the status and the times.
fn other(
    leaf: u64,
    id: String,
    kind: &'static str,
    code: Vec<(String, String)>,
    status: Option<String>,
    (at, end): (Option<&FhirTime>, Option<&FhirTime>),
) -> Other {
    Other {
        leaf,
        id,
        kind,
        code,
        status,
        at: instant(at),
        end: instant(end),
        day: at.map(local_day),
    }
}

impl Diagnosis {
    /// A Condition as a diagnosis, whatever its status: the facts keep only counted ones, but
    /// a rule that compares institutions also reads the refuted ones.
    pub(in crate::qc) fn read(leaf: u64, id: String, x: &Condition) -> Self {
        Self {
            leaf,
            id,
            codes: codes(x.code.as_ref()),
            clinical_status: x.clinical_status.clone(),
            verification_status: x.verification_status.clone(),
            onset: instant(x.onset.as_ref()),
            recorded: instant(x.recorded_date.as_ref()),
            abatement: instant(x.abatement.as_ref()),
            onset_day: x.onset.as_ref().map(local_day),
            recorded_day: x.recorded_date.as_ref().map(local_day),
        }
    }
}

impl Facts {
    pub fn new(resident: &ResidentTree, params: &Params) -> Self {
        let c = &params.codes;
        let phs = params.value_sets.phs_service.as_str();
        let mut f = Facts::default();
        let mut patients: Vec<_> = resident.patients().collect();
        patients.sort_by(|a, b| a.0.key.cmp(&b.0.key));
        let d = &mut f.demographics;
        for (n, p) in &patients {
            if d.leaf.is_none() && (p.birth_date.is_some() || p.gender.is_some()) {
                d.leaf = Some(n.leaf);
                d.birth = p.birth_date.as_ref().map(|b| b.date());
                d.gender = p.gender;
            }
            d.deceased |= p.deceased;
            if let Some(t) = p.deceased_at.as_ref().map(|t| t.start)
                && d.death.is_none_or(|x| t < x)
            {
                d.death = Some(t);
                d.death_leaf = Some(n.leaf);
            }
        }
        if d.leaf.is_none() {
            d.leaf = patients.first().map(|(n, _)| n.leaf);
        }
        // The LOINC code, else the local phs-observation code, for a test and for each component.
        let obs_code = |x: &CodeableConcept| {
            x.code_in(LOINC)
                .or_else(|| x.code_in(&c.observation_system))
                .map(str::to_owned)
        };
        for (n, r) in resident.counted() {
            let (leaf, id) = (n.leaf, n.key.id.clone());
            let refid = |r: &Option<crate::model::Reference>, kind: &str| {
                r.as_ref().and_then(|r| r.id_for(kind)).map(str::to_owned)
            };
            match r {
                Resource::EpisodeOfCare(e) => {
                    let (start, end) = bounds(e.period.as_ref());
                    f.episodes.push(Episode {
                        leaf,
                        id,
                        programme: e.type_in(phs).map(str::to_owned),
                        status: e.status.clone(),
                        start: instant(start),
                        end: instant(end),
                        start_day: start.map(local_day),
                        end_day: end.map(local_day),
                        diagnoses: e
                            .diagnoses
                            .iter()
                            .filter_map(|r| r.id_for("Condition").map(str::to_owned))
                            .collect(),
                        organization: refid(&e.managing_organization, "Organization"),
                    });
                }
                Resource::Encounter(e) => {
                    let (start, end) = bounds(e.period.as_ref());
                    f.visits.push(Visit {
                        leaf,
                        id,
                        service: e
                            .service_type
                            .as_ref()
                            .and_then(|s| s.code_in(phs))
                            .map(str::to_owned),
                        types: e.types.iter().flat_map(|t| codes(Some(t))).collect(),
                        class: e.class.clone(),
                        status: e.status.clone(),
                        start: instant(start),
                        end: instant(end),
                        day: start.map(local_day),
                        provider: refid(&e.service_provider, "Organization"),
                        observations: Vec::new(),
                    });
                }
                Resource::Observation(o) => {
                    let components = o
                        .components
                        .iter()
                        .filter_map(|x| Some((obs_code(&x.code)?, x.value.as_ref()?.value?)))
                        .collect();
                    f.observations.push(Obs {
                        leaf,
                        id,
                        code: o.code.as_ref().and_then(obs_code),
                        at: instant(o.effective.as_ref()),
                        day: o.effective.as_ref().map(local_day),
                        value: o.value.as_ref().and_then(|q| q.value),
                        unit: o.value.as_ref().and_then(|q| q.unit.clone()),
                        value_code: o
                            .value_code
                            .as_ref()
                            .and_then(|x| x.code_in(&c.classification_system).or(x.first_code()))
                            .map(str::to_owned),
                        value_int: o.value_integer,
                        value_bool: o.value_boolean,
                        value_time: instant(o.value_time.as_ref()),
                        value_day: o.value_time.as_ref().map(local_day),
                        components,
                        encounter: refid(&o.encounter, "Encounter"),
                        performer: o.performers.first().and_then(|r| r.reference.clone()),
                    });
                }
                Resource::Condition(x) => f.diagnoses.push(Diagnosis::read(leaf, id, x)),
                Resource::Immunization(i) => f.doses.push(Dose {
                    leaf,
                    id,
                    vaccine: codes(i.vaccine_code.as_ref()),
                    dose_number: i.dose_number,
                    series: i.series.clone(),
                    series_doses: i.series_doses,
                    status: i.status.clone(),
                    has_status_reason: i.has_status_reason,
                    at: instant(i.occurrence.as_ref()),
                    day: i.occurrence.as_ref().map(local_day),
                    performer: i.performer.as_ref().and_then(|r| r.reference.clone()),
                }),
                Resource::Request(x) => f.requests.push(Req {
                    leaf,
                    id,
                    kind: x.kind.clone(),
                    code: codes(x.code.as_ref()),
                    status: x.status.clone(),
                    authored: instant(x.authored_on.as_ref()),
                    reasons: x
                        .reasons
                        .iter()
                        .filter_map(|r| r.reference.as_deref())
                        .filter_map(|r| r.rsplit('/').next())
                        .map(str::to_owned)
                        .collect(),
                    encounter: refid(&x.encounter, "Encounter"),
                }),
                Resource::Procedure(x) => f.others.push(other(
                    leaf,
                    id,
                    "Procedure",
                    codes(x.code.as_ref()),
                    x.status.clone(),
                    (x.performed.as_ref(), x.performed_end.as_ref()),
                )),
                Resource::Communication(x) => f.others.push(other(
                    leaf,
                    id,
                    "Communication",
                    Vec::new(),
                    x.status.clone(),
                    (x.sent.as_ref(), None),
                )),
                Resource::CarePlan(x) => f.others.push(other(
                    leaf,
                    id,
                    "CarePlan",
                    Vec::new(),
                    x.status.clone(),
                    bounds(x.period.as_ref()),
                )),
                Resource::Patient(_) | Resource::Medication(_) | Resource::Other { .. } => {}
            }
        }
        f.visits.sort_by_key(|v| (sort_key(v.start), v.leaf));
        f.observations.sort_by_key(|o| (sort_key(o.at), o.leaf));
        f.doses.sort_by_key(|d| (sort_key(d.at), d.leaf));
        crate::qc::equiv::apply(&mut f, params);
        let by_id: BTreeMap<&str, usize> = f
            .visits
            .iter()
            .enumerate()
            .map(|(i, v)| (v.id.as_str(), i))
            .collect();
        let mut links = Vec::new();
        for (oi, o) in f.observations.iter().enumerate() {
            if let Some(vi) = o.encounter.as_deref().and_then(|e| by_id.get(e)) {
                links.push((*vi, oi));
            }
        }
        for (vi, oi) in links {
            f.visits[vi].observations.push(oi);
        }
        f.follow_ups = params
            .vfu
            .required
            .keys()
            .map(|p| (p.clone(), f.valid_follow_ups(p, params)))
            .collect();
        f
    }
}
