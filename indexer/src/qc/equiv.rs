//! Accepted international codes (docs/qc-profile.md): what a record coded only in SNOMED CT or
//! CVX, as Synthea and many hospital systems write it, stands for in the national forms. The
//! `[equivalents]` parameter section holds the table, which a region may edit; it is applied
//! once, when a resident's facts are read, so every rule and programme sees the same reading.
//! A phs-service `serviceType` and a `protocolApplied` series and dose number always win: an
//! equivalence only fills what the record leaves out.

use std::collections::BTreeMap;

use serde::Deserialize;
use time::Date;

use super::facts::{Dose, Facts};
use super::params::{Params, ParamsError};

/// The `[equivalents]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Equivalents {
    /// The system of `encounters[].code` (`Encounter.type`).
    pub encounter_system: String,
    /// Tried in order; the first that fits an encounter gives its service.
    pub encounters: Vec<EncounterEquivalent>,
    /// The system of the `vaccines` codes (`Immunization.vaccineCode`).
    pub vaccine_system: String,
    /// Vaccine code → the antigen series of the national schedule it gives a dose of (a
    /// combined vaccine gives one dose of each).
    pub vaccines: BTreeMap<String, Vec<String>>,
}

/// An `Encounter.type` code that is a phs-service visit service under conditions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EncounterEquivalent {
    pub code: String,
    pub service: String,
    /// Age at the visit in completed months, both bounds inclusive; an unknown age fits no
    /// bound.
    pub min_months: Option<i32>,
    pub max_months: Option<i32>,
    /// Days from the latest delivery (`value_sets.DELIVERY`) on or before the visit, both
    /// bounds inclusive; with no delivery recorded it does not fit.
    pub delivery_days: Option<[i64; 2]>,
}

impl Equivalents {
    pub(crate) fn check(&self) -> Result<(), ParamsError> {
        let bad = |reason: String| ParamsError::BadSection {
            name: "equivalents",
            reason,
        };
        for e in &self.encounters {
            if e.code.trim().is_empty() || e.service.trim().is_empty() {
                return Err(bad(
                    "an encounter equivalent needs a code and a service".into()
                ));
            }
            if let (Some(lo), Some(hi)) = (e.min_months, e.max_months)
                && lo > hi
            {
                return Err(bad(format!("{}: min_months is above max_months", e.code)));
            }
            if e.delivery_days.is_some_and(|[a, b]| a > b || a < 0) {
                return Err(bad(format!("{}: delivery_days is [from, to]", e.code)));
            }
        }
        for (code, series) in &self.vaccines {
            if series.is_empty() || series.iter().any(|s| s.trim().is_empty()) {
                return Err(bad(format!("vaccine {code:?} names no series")));
            }
        }
        Ok(())
    }
}

/// Fills the visit services and the dose series and numbers the records leave out.
pub(super) fn apply(f: &mut Facts, params: &Params) {
    services(f, params);
    doses(f, &params.equivalents);
}

/// The days of the resident's deliveries: a delivery Procedure that was done, or a delivery
/// diagnosis by its onset (else recorded) day, sorted.
fn deliveries(f: &Facts, params: &Params) -> Vec<Date> {
    let set = &params.delivery;
    let mut days: Vec<Date> = f
        .others
        .iter()
        .filter(|o| o.kind == "Procedure" && o.status.as_deref() != Some("not-done"))
        .filter(|o| o.code_in(set).is_some())
        .filter_map(|o| o.day)
        .chain(
            f.diagnoses
                .iter()
                .filter(|d| d.code_in(set).is_some())
                .filter_map(|d| d.onset_day.or(d.recorded_day)),
        )
        .collect();
    days.sort_unstable();
    days
}

fn services(f: &mut Facts, params: &Params) {
    let eq = &params.equivalents;
    if !f.visits.iter().any(|v| v.service.is_none()) {
        return;
    }
    let births = deliveries(f, params);
    let demographics = f.demographics.clone();
    for v in f.visits.iter_mut().filter(|v| v.service.is_none()) {
        let age = v.day.and_then(|d| demographics.age_months(d));
        let since_delivery = v.day.and_then(|d| {
            let last = births.iter().rev().find(|b| **b <= d)?;
            Some((d - *last).whole_days())
        });
        let fits = |e: &EncounterEquivalent| {
            let in_bounds = |x: Option<i64>, lo: Option<i64>, hi: Option<i64>| {
                (lo.is_none() && hi.is_none())
                    || x.is_some_and(|x| lo.is_none_or(|l| x >= l) && hi.is_none_or(|h| x <= h))
            };
            v.types
                .iter()
                .any(|(s, c)| *s == eq.encounter_system && *c == e.code)
                && in_bounds(
                    age.map(i64::from),
                    e.min_months.map(i64::from),
                    e.max_months.map(i64::from),
                )
                && e.delivery_days
                    .is_none_or(|[lo, hi]| in_bounds(since_delivery, Some(lo), Some(hi)))
        };
        if let Some(e) = eq.encounters.iter().find(|e| fits(e)) {
            v.service = Some(e.service.clone());
        }
    }
}

/// Whether a dose counts as given for numbering: anything but `not-done` (a dose without a
/// status is QC-F04's finding, and still evidence the child was vaccinated).
fn given(d: &Dose) -> bool {
    d.status.as_deref() != Some("not-done") && d.day.is_some()
}

fn doses(f: &mut Facts, eq: &Equivalents) {
    let mut out: Vec<Dose> = Vec::with_capacity(f.doses.len());
    for d in f.doses.drain(..) {
        let derived = d.series.is_none().then(|| {
            d.vaccine
                .iter()
                .filter(|(s, _)| *s == eq.vaccine_system)
                .find_map(|(_, c)| eq.vaccines.get(c.trim()))
        });
        match derived.flatten() {
            Some(series) => out.extend(series.iter().map(|s| Dose {
                series: Some(s.clone()),
                ..d.clone()
            })),
            None => out.push(d),
        }
    }
    // Each series' doses by day: a dose without a number is the n-th day of the series. Two
    // records of a series on one day are one dose recorded twice (QC-X10), not two doses.
    let mut days: BTreeMap<String, Vec<Date>> = BTreeMap::new();
    for d in out.iter().filter(|d| given(d)) {
        if let (Some(s), Some(day)) = (&d.series, d.day) {
            days.entry(s.trim().to_ascii_lowercase())
                .or_default()
                .push(day);
        }
    }
    for list in days.values_mut() {
        list.sort_unstable();
        list.dedup();
    }
    for d in out.iter_mut().filter(|d| d.dose_number.is_none()) {
        if !given(d) {
            continue;
        }
        let (Some(s), Some(day)) = (&d.series, d.day) else {
            continue;
        };
        let position = days
            .get(&s.trim().to_ascii_lowercase())
            .and_then(|list| list.iter().position(|x| *x == day));
        d.dose_number = position.and_then(|p| u32::try_from(p + 1).ok());
    }
    f.doses = out;
}

#[cfg(test)]
#[path = "equiv_tests.rs"]
mod tests;
