//! Record-level rules (DOMAIN.md §4.3): each looks at one resource, or (R03) the few
//! observations of one encounter that one computed value rests on.

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::field::{LOINC, finding, per_record};
use super::params::{Params, Severity};
use super::{Finding, ResidentView, Rule, rule_meta};
use crate::identity::{IdCardIssue, id_card_issues};
use crate::model::{FhirTime, Gender, Observation, Resource};

const BP_PANEL: &str = "85354-9";
const SBP: &str = "8480-6";
const DBP: &str = "8462-4";
const BMI: &str = "39156-5";
const WEIGHT: &str = "29463-7";
const HEIGHT: &str = "8302-2";

fn has_loinc(o: &Observation, code: &str) -> bool {
    o.code.as_ref().is_some_and(|c| c.has(LOINC, code))
}

/// QC-R01: a BP panel has both components, systolic above diastolic, and a pulse pressure
/// within the configured limits. One finding per panel, for its first problem.
pub struct R01BpPanelCoherent {
    severity: Severity,
    low: f64,
    high: f64,
}

impl R01BpPanelCoherent {
    pub fn new(params: &Params) -> Self {
        Self {
            severity: params.r01.severity,
            low: params.r01.pulse_pressure_low,
            high: params.r01.pulse_pressure_high,
        }
    }

    fn problem(&self, o: &Observation) -> Option<String> {
        let sbp = o.component(LOINC, SBP);
        let dbp = o.component(LOINC, DBP);
        let (s, d) = match (sbp.and_then(|q| q.value), dbp.and_then(|q| q.value)) {
            (None, None) => return Some("has neither a systolic nor a diastolic value".into()),
            (None, Some(_)) => return Some("has no systolic value".into()),
            (Some(_), None) => return Some("has no diastolic value".into()),
            (Some(s), Some(d)) => (s, d),
        };
        // Values in different units are F06's finding; comparing them would be meaningless.
        if sbp.map(|q| &q.unit) != dbp.map(|q| &q.unit) {
            return None;
        }
        if s <= d {
            return Some(format!("has systolic {s} not above diastolic {d}"));
        }
        let pp = s - d;
        if pp < self.low || pp > self.high {
            return Some(format!(
                "{s}/{d} has a pulse pressure of {pp}, outside {}–{}",
                self.low, self.high
            ));
        }
        None
    }
}

impl Rule for R01BpPanelCoherent {
    rule_meta!("QC-R01", R, defaults: ["pulse_pressure_low", "pulse_pressure_high"]);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let panels = resident
            .counted_observations()
            .filter(|(_, o)| has_loinc(o, BP_PANEL));
        per_record(self, resident, at, panels, |_, o| {
            let why = self.problem(o)?;
            let when = o
                .effective
                .as_ref()
                .map_or(String::new(), |t| format!(" of {}", t.text));
            Some(format!("The blood pressure reading{when} {why}."))
        })
    }
}

/// Whether `start` is after `end`. When either is a date without a time, the calendar dates
/// are compared, so a visit dated `2024-05-10` that ends `2024-05-10T09:00` is not flagged.
fn after(start: &FhirTime, end: &FhirTime) -> bool {
    if start.text.contains('T') && end.text.contains('T') {
        start.start > end.start
    } else {
        start.date() > end.date()
    }
}

/// QC-R02: start ≤ end for an Encounter's period, a Condition's onset and abatement, and a
/// MedicationRequest's validity period. (EpisodeOfCare and Consent periods are not read by
/// the tree yet.)
pub struct R02StartBeforeEnd {
    severity: Severity,
}

impl R02StartBeforeEnd {
    pub fn new(params: &Params) -> Self {
        Self {
            severity: params.r02.severity,
        }
    }
}

impl Rule for R02StartBeforeEnd {
    rule_meta!("QC-R02", R);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        per_record(self, resident, at, resident.counted(), |node, r| {
            let (what, start, end, start_word, end_word) = match r {
                Resource::Encounter(e) => {
                    let p = e.period.as_ref();
                    (
                        "visit",
                        p.and_then(|p| p.start.as_ref()),
                        p.and_then(|p| p.end.as_ref()),
                        "starts",
                        "ends",
                    )
                }
                Resource::Condition(c) => (
                    "condition",
                    c.onset.as_ref(),
                    c.abatement.as_ref(),
                    "began",
                    "resolved",
                ),
                Resource::Medication(m) => {
                    let p = m.validity_period.as_ref();
                    (
                        "prescription",
                        p.and_then(|p| p.start.as_ref()),
                        p.and_then(|p| p.end.as_ref()),
                        "becomes valid",
                        "expires",
                    )
                }
                _ => return None,
            };
            let (s, e) = start.zip(end).filter(|(s, e)| after(s, e))?;
            Some(format!(
                "The {what} {} {end_word} ({}) before it {start_word} ({}).",
                node.key, e.text, s.text
            ))
        })
    }
}

/// QC-R03: a recorded BMI matches weight / height² from the same encounter, within the
/// configured tolerance. Only kg, cm and kg/m2 values are compared (other units are F06's);
/// when an encounter has several weights or heights, the first in key order is used.
pub struct R03BmiComputed {
    severity: Severity,
    tolerance: f64,
}

impl R03BmiComputed {
    pub fn new(params: &Params) -> Self {
        Self {
            severity: params.r03.severity,
            tolerance: params.r03.tolerance,
        }
    }
}

impl Rule for R03BmiComputed {
    rule_meta!("QC-R03", R, defaults: ["tolerance"]);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        // Encounter id → (code, unit) → first (leaf, value).
        let mut by_encounter: BTreeMap<&str, BTreeMap<&str, (u64, f64)>> = BTreeMap::new();
        for (n, o) in resident.counted_observations() {
            let Some(enc) = o.encounter.as_ref().and_then(|r| r.id_for("Encounter")) else {
                continue;
            };
            let Some(q) = &o.value else { continue };
            let Some(v) = q.value else { continue };
            for (code, unit) in [(BMI, "kg/m2"), (WEIGHT, "kg"), (HEIGHT, "cm")] {
                if has_loinc(o, code) && q.unit.as_deref() == Some(unit) {
                    by_encounter
                        .entry(enc)
                        .or_default()
                        .entry(code)
                        .or_insert((n.leaf, v));
                }
            }
        }
        let mut out = Vec::new();
        for m in by_encounter.values() {
            let (Some(&(bl, bmi)), Some(&(wl, w)), Some(&(hl, h))) =
                (m.get(BMI), m.get(WEIGHT), m.get(HEIGHT))
            else {
                continue;
            };
            if h <= 0.0 {
                continue;
            }
            let computed = w / (h / 100.0).powi(2);
            if (computed - bmi).abs() > self.tolerance {
                out.push(finding(
                    self,
                    resident,
                    vec![bl, wl, hl],
                    at,
                    format!(
                        "BMI is recorded as {bmi}, but {w} kg and {h} cm from the same visit give {computed:.1}."
                    ),
                ));
            }
        }
        out
    }
}

/// QC-R04: status coherence: FHIR con-4, con-5 and obs-6, a `not-done` Immunization with a
/// reason, a `finished` Encounter with an end. Entered-in-error records are checked too
/// (con-5 is about exactly those).
pub struct R04StatusCoherence {
    severity: Severity,
}

impl R04StatusCoherence {
    pub fn new(params: &Params) -> Self {
        Self {
            severity: params.r04.severity,
        }
    }
}

impl Rule for R04StatusCoherence {
    rule_meta!("QC-R04", R);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        // Not only the counted records: con-5 is about the entered-in-error ones.
        let all = resident
            .resources()
            .filter_map(|n| n.resource().map(|r| (n, r)));
        per_record(self, resident, at, all, |node, r| {
            let mut problems: Vec<String> = Vec::new();
            match r {
                Resource::Condition(c) => {
                    let eie = c.verification_status.as_deref() == Some("entered-in-error");
                    if eie && c.clinical_status.is_some() {
                        problems.push(
                            "is marked entered-in-error but still has a clinical status".into(),
                        );
                    }
                    if !eie
                        && c.abated
                        && !matches!(
                            c.clinical_status.as_deref(),
                            Some("inactive" | "resolved" | "remission")
                        )
                    {
                        problems.push(format!(
                            "has an abatement date but its clinical status is {}",
                            c.clinical_status.as_deref().unwrap_or("missing")
                        ));
                    }
                }
                Resource::Observation(o)
                    if o.data_absent_reason && (o.value.is_some() || o.has_other_value) =>
                {
                    problems.push("has a value and also a reason the value is absent".into());
                }
                Resource::Immunization(i)
                    if i.status.as_deref() == Some("not-done") && !i.has_status_reason =>
                {
                    problems.push("is marked not done without a reason".into());
                }
                Resource::Encounter(e)
                    if e.status.as_deref() == Some("finished")
                        && e.period.as_ref().is_none_or(|p| p.end.is_none()) =>
                {
                    problems.push("is finished but has no end time".into());
                }
                _ => {}
            }
            problems
                .into_iter()
                .map(|why| format!("The {} record {} {why}.", node.key.kind, node.key.id))
                .collect::<Vec<_>>()
        })
    }
}

/// QC-R05: the birth date and sex encoded in each valid id-card number agree with the
/// Patient's `birthDate` and `gender` (an invalid number is F01's finding).
pub struct R05IdCardAgrees {
    severity: Severity,
}

impl R05IdCardAgrees {
    pub fn new(params: &Params) -> Self {
        Self {
            severity: params.r05.severity,
        }
    }
}

fn sex_word(g: Gender) -> &'static str {
    match g {
        Gender::Male => "a man",
        Gender::Female => "a woman",
        Gender::Other | Gender::Unknown => "another sex",
    }
}

impl Rule for R05IdCardAgrees {
    rule_meta!("QC-R05", R);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        per_record(self, resident, at, resident.patients(), |_, patient| {
            let mut out = Vec::new();
            for issue in id_card_issues(patient, true) {
                let message = match issue {
                    IdCardIssue::Invalid { .. } => continue,
                    IdCardIssue::BirthDateMismatch {
                        value,
                        id_date,
                        record_date,
                    } => format!(
                        "The ID card {value} gives birth date {id_date}, but the record says {record_date}."
                    ),
                    IdCardIssue::SexMismatch {
                        value,
                        id_sex,
                        record_gender,
                    } => format!(
                        "The ID card {value} belongs to {}, but the record says {}.",
                        sex_word(id_sex),
                        record_gender.as_str()
                    ),
                };
                out.push(message);
            }
            out
        })
    }
}

#[cfg(test)]
mod tests;
