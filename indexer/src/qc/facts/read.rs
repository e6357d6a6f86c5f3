//! Reading a resident's tree into [`Facts`]: each counted resource as its record type, then the
//! international-code equivalents, the visit–observation links and the valid follow-ups.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::{Diagnosis, Dose, Episode, Facts, Obs, Other, Req, Visit, local_day};
use crate::model::{CodeableConcept, Resource};
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
        for n in resident.resources() {
            let Some(r) = n.resource() else { continue };
            if r.is_excluded() {
                continue;
            }
            let (leaf, id) = (n.leaf, n.key.id.clone());
            let refid = |r: &Option<crate::model::Reference>, kind: &str| {
                r.as_ref().and_then(|r| r.id_for(kind)).map(str::to_owned)
            };
            match r {
                Resource::EpisodeOfCare(e) => f.episodes.push(Episode {
                    leaf,
                    id,
                    programme: e.type_in(phs).map(str::to_owned),
                    status: e.status.clone(),
                    start: e
                        .period
                        .as_ref()
                        .and_then(|p| p.start.as_ref())
                        .map(|t| t.start),
                    end: e
                        .period
                        .as_ref()
                        .and_then(|p| p.end.as_ref())
                        .map(|t| t.start),
                    start_day: e
                        .period
                        .as_ref()
                        .and_then(|p| p.start.as_ref())
                        .map(local_day),
                    end_day: e
                        .period
                        .as_ref()
                        .and_then(|p| p.end.as_ref())
                        .map(local_day),
                    diagnoses: e
                        .diagnoses
                        .iter()
                        .filter_map(|r| r.id_for("Condition").map(str::to_owned))
                        .collect(),
                    organization: refid(&e.managing_organization, "Organization"),
                }),
                Resource::Encounter(e) => f.visits.push(Visit {
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
                    start: e
                        .period
                        .as_ref()
                        .and_then(|p| p.start.as_ref())
                        .map(|t| t.start),
                    end: e
                        .period
                        .as_ref()
                        .and_then(|p| p.end.as_ref())
                        .map(|t| t.start),
                    day: e
                        .period
                        .as_ref()
                        .and_then(|p| p.start.as_ref())
                        .map(local_day),
                    provider: refid(&e.service_provider, "Organization"),
                    observations: Vec::new(),
                }),
                Resource::Observation(o) => {
                    let code = o.code.as_ref().and_then(|x| {
                        x.code_in(crate::qc::field::LOINC)
                            .or_else(|| x.code_in(&c.observation_system))
                            .map(str::to_owned)
                    });
                    let components = o
                        .components
                        .iter()
                        .filter_map(|x| {
                            let code = x
                                .code
                                .code_in(crate::qc::field::LOINC)
                                .or_else(|| x.code.code_in(&c.observation_system))?;
                            Some((code.to_owned(), x.value.as_ref()?.value?))
                        })
                        .collect();
                    f.observations.push(Obs {
                        leaf,
                        id,
                        code,
                        at: o.effective.as_ref().map(|t| t.start),
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
                        value_time: o.value_time.as_ref().map(|t| t.start),
                        value_day: o.value_time.as_ref().map(local_day),
                        components,
                        encounter: refid(&o.encounter, "Encounter"),
                        performer: o.performers.first().and_then(|r| r.reference.clone()),
                    });
                }
                Resource::Condition(x) => {
                    f.diagnoses.push(Diagnosis {
                        leaf,
                        id,
                        codes: codes(x.code.as_ref()),
                        clinical_status: x.clinical_status.clone(),
                        verification_status: x.verification_status.clone(),
                        onset: x.onset.as_ref().map(|t| t.start),
                        recorded: x.recorded_date.as_ref().map(|t| t.start),
                        abatement: x.abatement.as_ref().map(|t| t.start),
                        onset_day: x.onset.as_ref().map(local_day),
                        recorded_day: x.recorded_date.as_ref().map(local_day),
                    });
                }
                Resource::Immunization(i) => f.doses.push(Dose {
                    leaf,
                    id,
                    vaccine: codes(i.vaccine_code.as_ref()),
                    dose_number: i.dose_number,
                    series: i.series.clone(),
                    series_doses: i.series_doses,
                    status: i.status.clone(),
                    has_status_reason: i.has_status_reason,
                    at: i.occurrence.as_ref().map(|t| t.start),
                    day: i.occurrence.as_ref().map(local_day),
                    performer: i.performer.as_ref().and_then(|r| r.reference.clone()),
                }),
                Resource::Request(x) => f.requests.push(Req {
                    leaf,
                    id,
                    kind: x.kind.clone(),
                    code: codes(x.code.as_ref()),
                    status: x.status.clone(),
                    authored: x.authored_on.as_ref().map(|t| t.start),
                    reasons: x
                        .reasons
                        .iter()
                        .filter_map(|r| r.reference.as_deref())
                        .filter_map(|r| r.rsplit('/').next())
                        .map(str::to_owned)
                        .collect(),
                    encounter: refid(&x.encounter, "Encounter"),
                }),
                Resource::Procedure(x) => f.others.push(Other {
                    leaf,
                    id,
                    kind: "Procedure",
                    code: codes(x.code.as_ref()),
                    status: x.status.clone(),
                    at: x.performed.as_ref().map(|t| t.start),
                    end: x.performed_end.as_ref().map(|t| t.start),
                    day: x.performed.as_ref().map(local_day),
                }),
                Resource::Communication(x) => f.others.push(Other {
                    leaf,
                    id,
                    kind: "Communication",
                    code: Vec::new(),
                    status: x.status.clone(),
                    at: x.sent.as_ref().map(|t| t.start),
                    end: None,
                    day: x.sent.as_ref().map(local_day),
                }),
                Resource::CarePlan(x) => f.others.push(Other {
                    leaf,
                    id,
                    kind: "CarePlan",
                    code: Vec::new(),
                    status: x.status.clone(),
                    at: x
                        .period
                        .as_ref()
                        .and_then(|p| p.start.as_ref())
                        .map(|t| t.start),
                    end: x
                        .period
                        .as_ref()
                        .and_then(|p| p.end.as_ref())
                        .map(|t| t.start),
                    day: x
                        .period
                        .as_ref()
                        .and_then(|p| p.start.as_ref())
                        .map(local_day),
                }),
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
