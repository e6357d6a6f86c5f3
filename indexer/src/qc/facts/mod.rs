//! The facts of one resident that scenario rules share, read once per evaluation: the
//! resident's demographics, programme episodes, visits, observations, diagnoses, vaccine doses
//! and requests, each with the leaf index of its record, and the valid follow-ups (VFU) of
//! each programme. Only counted records are here (DOMAIN.md §4.1 exclusion applied). What a
//! record leaves out that an accepted international code says (a visit's service, a dose's
//! series and number) is filled in here, by `equiv`, so every rule reads it alike.

mod calendar;
mod followups;
mod read;

use std::collections::BTreeMap;

use time::{Date, OffsetDateTime};

use super::valueset::ValueSet;
use crate::model::Gender;

pub use calendar::{add_months, completed_months, local_day, local_span};
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
        Some(completed_months(self.birth?, day))
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

impl Facts {
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
