//! The facts of one resident that scenario rules share, read once per evaluation: the
//! resident's demographics, programme episodes, visits, observations, diagnoses, vaccine doses
//! and requests, each with the leaf index of its record, and the valid follow-ups (VFU) of
//! each programme. Only counted records are here (DOMAIN.md §4.1 exclusion applied). What a
//! record leaves out that an accepted international code says (a visit's service, a dose's
//! series and number) is filled in here, by `equiv`, so every rule reads it alike.

use std::collections::BTreeMap;

use time::{Date, OffsetDateTime};

use super::params::Params;
use super::valueset::ValueSet;

#[path = "followups.rs"]
mod followups;
use crate::model::{CodeableConcept, FhirTime, Gender, Resource};
use crate::tree::ResidentTree;
pub use followups::{FollowUp, bp_of, fbg_mmol};

/// Demographics from the resident's Patient records. With several Patients (one per
/// institution), birth date and sex come from the first that has them in key order (conflicts
/// are identity's and QC-R05's findings); the death date is the earliest any of them records.
#[derive(Debug, Clone, Default)]
pub struct Demographics {
    /// Leaf of the Patient the birth date and sex come from.
    pub leaf: Option<u64>,
    pub birth: Option<Date>,
    pub gender: Option<Gender>,
    pub death: Option<OffsetDateTime>,
    pub death_leaf: Option<u64>,
    /// Deceased without a date (`deceasedBoolean: true`).
    pub deceased: bool,
}

impl Demographics {
    /// Age in completed months on `day`.
    pub fn age_months(&self, day: Date) -> Option<i32> {
        let birth = self.birth?;
        let months = (day.year() - birth.year()) * 12 + day.month() as i32 - birth.month() as i32;
        Some(if day.day() < birth.day() {
            months - 1
        } else {
            months
        })
    }

    /// Age in completed years on `day`.
    pub fn age_years(&self, day: Date) -> Option<i32> {
        self.age_months(day).map(|m| m.div_euclid(12))
    }

    /// The day the resident reaches `months` of age (day-of-month clamped to the month's end).
    pub fn date_at_months(&self, months: i32) -> Option<Date> {
        add_months(self.birth?, months)
    }
}

/// `day` + `months` calendar months, the day clamped to the target month's length.
pub fn add_months(day: Date, months: i32) -> Option<Date> {
    let total = day.year() * 12 + day.month() as i32 - 1 + months;
    let (year, month) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u8);
    let month = time::Month::try_from(month).ok()?;
    let last = time::util::days_in_month(month, year);
    Date::from_calendar_date(year, month, day.day().min(last)).ok()
}

/// The first and last calendar day a FHIR time can denote, read from the text as written
/// (its own UTC offset, not UTC): a visit at 07:00 +08:00 is on that day in the region even
/// though it is the previous day in UTC, and "2024-03" may be any day of March.
pub fn local_span(t: &FhirTime) -> (Date, Date) {
    let fallback = (t.date(), t.date());
    let text = t.text.as_str();
    let num = |r: std::ops::Range<usize>| text.get(r).and_then(|s| s.parse::<i32>().ok());
    let Some(year) = num(0..4) else {
        return fallback;
    };
    let month = |m: i32| {
        u8::try_from(m)
            .ok()
            .and_then(|m| time::Month::try_from(m).ok())
    };
    let span = match (num(5..7).and_then(month), num(8..10)) {
        (None, _) => Date::from_calendar_date(year, time::Month::January, 1)
            .ok()
            .zip(Date::from_calendar_date(year, time::Month::December, 31).ok()),
        (Some(m), None) => Date::from_calendar_date(year, m, 1)
            .ok()
            .zip(Date::from_calendar_date(year, m, time::util::days_in_month(m, year)).ok()),
        (Some(m), Some(d)) => u8::try_from(d)
            .ok()
            .and_then(|d| Date::from_calendar_date(year, m, d).ok())
            .map(|d| (d, d)),
    };
    span.unwrap_or(fallback)
}

/// The calendar day a FHIR time names as written (the first, for a partial date).
pub fn local_day(t: &FhirTime) -> Date {
    local_span(t).0
}

/// A programme enrolment (`EpisodeOfCare`).
#[derive(Debug, Clone)]
pub struct Episode {
    pub leaf: u64,
    pub id: String,
    /// phs-service programme code (HTN, T2D, SMI, TB, PREG, CHILD, ELDER), if typed with one.
    pub programme: Option<String>,
    pub status: Option<String>,
    pub start: Option<OffsetDateTime>,
    pub end: Option<OffsetDateTime>,
    /// The calendar days of `start` and `end` as written.
    pub start_day: Option<Date>,
    pub end_day: Option<Date>,
    /// Ids of the Conditions in `diagnosis[]`.
    pub diagnoses: Vec<String>,
    pub organization: Option<String>,
}

impl Episode {
    /// Whether the episode covers `t` (started by `t`, not ended before it).
    pub fn covers(&self, t: OffsetDateTime) -> bool {
        self.start.is_some_and(|s| s <= t) && self.end.is_none_or(|e| e >= t)
    }
}

/// An Encounter.
#[derive(Debug, Clone)]
pub struct Visit {
    pub leaf: u64,
    pub id: String,
    /// phs-service code (HTN-FU, CHILD-HC, ANC-1…): the `serviceType`, else the equivalent of
    /// the encounter type (`[equivalents]`).
    pub service: Option<String>,
    /// Every `(system, code)` of `Encounter.type`.
    pub types: Vec<(String, String)>,
    pub class: Option<String>,
    pub status: Option<String>,
    pub start: Option<OffsetDateTime>,
    pub end: Option<OffsetDateTime>,
    /// The calendar day of `start` as written, for rules that count in days.
    pub day: Option<Date>,
    pub provider: Option<String>,
    /// Indices into [`Facts::observations`] of the observations naming this encounter.
    pub observations: Vec<usize>,
}

/// An Observation (a BP panel keeps its components).
#[derive(Debug, Clone)]
pub struct Obs {
    pub leaf: u64,
    pub id: String,
    /// The LOINC code, else the local phs-observation code.
    pub code: Option<String>,
    pub at: Option<OffsetDateTime>,
    /// The calendar day of `at` as written.
    pub day: Option<Date>,
    pub value: Option<f64>,
    pub unit: Option<String>,
    pub value_code: Option<String>,
    pub value_int: Option<i64>,
    pub value_bool: Option<bool>,
    pub value_time: Option<OffsetDateTime>,
    /// The calendar day of `value_time` as written (an LMP, an EDD).
    pub value_day: Option<Date>,
    /// (code, value) of each component with a value.
    pub components: Vec<(String, f64)>,
    pub encounter: Option<String>,
    pub performer: Option<String>,
}

/// A Condition.
#[derive(Debug, Clone)]
pub struct Diagnosis {
    pub leaf: u64,
    pub id: String,
    /// Every `(system, code)` of the diagnosis code; value sets say which count
    /// ([`Diagnosis::code_in`]).
    pub codes: Vec<(String, String)>,
    pub clinical_status: Option<String>,
    pub verification_status: Option<String>,
    pub onset: Option<OffsetDateTime>,
    pub recorded: Option<OffsetDateTime>,
    pub abatement: Option<OffsetDateTime>,
    /// The calendar days of `onset` and `recorded` as written.
    pub onset_day: Option<Date>,
    pub recorded_day: Option<Date>,
}

impl Diagnosis {
    /// Recorded date, else onset: when the diagnosis was known.
    pub fn known_at(&self) -> Option<OffsetDateTime> {
        self.recorded.or(self.onset)
    }

    /// The first code of the diagnosis in `set`, as a sentence shows it.
    pub(crate) fn code_in(&self, set: &ValueSet) -> Option<String> {
        set.find(self.codes.iter().map(|(s, c)| (s.as_str(), c.as_str())))
    }
}

/// An Immunization.
#[derive(Debug, Clone)]
pub struct Dose {
    pub leaf: u64,
    pub id: String,
    /// Every `system|code` of the vaccine code.
    pub vaccine: Vec<(String, String)>,
    pub dose_number: Option<u32>,
    pub series: Option<String>,
    pub series_doses: Option<u32>,
    pub status: Option<String>,
    pub has_status_reason: bool,
    pub at: Option<OffsetDateTime>,
    /// The calendar day of `at` as written.
    pub day: Option<Date>,
    pub performer: Option<String>,
}

/// A ServiceRequest or Task.
#[derive(Debug, Clone)]
pub struct Req {
    pub leaf: u64,
    pub id: String,
    pub kind: String,
    pub code: Vec<(String, String)>,
    pub status: Option<String>,
    pub authored: Option<OffsetDateTime>,
    /// Ids of the reason references (any kind).
    pub reasons: Vec<String>,
    pub encounter: Option<String>,
}

/// A Procedure, a Communication or a CarePlan, reduced to its date and status.
#[derive(Debug, Clone)]
pub struct Other {
    pub leaf: u64,
    pub id: String,
    pub kind: &'static str,
    pub code: Vec<(String, String)>,
    pub status: Option<String>,
    pub at: Option<OffsetDateTime>,
    pub end: Option<OffsetDateTime>,
    /// The calendar day of `at` as written.
    pub day: Option<Date>,
}

impl Other {
    /// The first code of the record in `set`, as a sentence shows it.
    pub(crate) fn code_in(&self, set: &ValueSet) -> Option<String> {
        set.find(self.code.iter().map(|(s, c)| (s.as_str(), c.as_str())))
    }
}

/// Everything above for one resident.
#[derive(Debug, Clone, Default)]
pub struct Facts {
    pub demographics: Demographics,
    pub episodes: Vec<Episode>,
    /// Sorted by start (undated last).
    pub visits: Vec<Visit>,
    /// Sorted by time (undated last).
    pub observations: Vec<Obs>,
    pub diagnoses: Vec<Diagnosis>,
    /// Sorted by date (undated last).
    pub doses: Vec<Dose>,
    pub requests: Vec<Req>,
    /// Procedures, Communications and CarePlans.
    pub others: Vec<Other>,
    /// Programme → its valid follow-ups, by date.
    pub follow_ups: BTreeMap<String, Vec<FollowUp>>,
}

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
                        x.code_in(super::field::LOINC)
                            .or_else(|| x.code_in(&c.observation_system))
                            .map(str::to_owned)
                    });
                    let components = o
                        .components
                        .iter()
                        .filter_map(|x| {
                            let code = x
                                .code
                                .code_in(super::field::LOINC)
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
        super::equiv::apply(&mut f, params);
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

    /// Episodes of `programme`.
    pub fn episodes_of<'a>(&'a self, programme: &'a str) -> impl Iterator<Item = &'a Episode> {
        self.episodes
            .iter()
            .filter(move |e| e.programme.as_deref() == Some(programme))
    }

    /// The valid follow-ups of `programme` (empty if the programme has no VFU definition).
    pub fn follow_ups(&self, programme: &str) -> &[FollowUp] {
        self.follow_ups.get(programme).map_or(&[], Vec::as_slice)
    }

    /// Observations with one of `codes`, by time.
    pub fn observations_of<'a>(&'a self, codes: &'a [String]) -> impl Iterator<Item = &'a Obs> {
        self.observations
            .iter()
            .filter(move |o| o.code.as_ref().is_some_and(|c| codes.contains(c)))
    }

    /// Visits with phs-service code `service`, by start.
    pub fn visits_of<'a>(&'a self, service: &'a str) -> impl Iterator<Item = &'a Visit> {
        self.visits
            .iter()
            .filter(move |v| v.service.as_deref() == Some(service))
    }
}
