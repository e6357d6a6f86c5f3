//! QC-T01 and QC-T02: no care dated before the resident's birth or after their death.
//!
//! Both read the dates as written (their own offset), day by day: a record from the
//! morning of the birth day in the region's time is not "before birth" because it falls on
//! the previous day in UTC, and a partial date ("2024-03") is only wrong when every day it
//! may name is.

use serde::Deserialize;
use time::OffsetDateTime;

use super::window::happened;
use crate::model::Resource;
use crate::qc::facts::local_span;
use crate::qc::field::finding;
use crate::qc::params::{Params, ParamsError, Severity};
use crate::qc::{Finding, ResidentView, Rule, rule_meta};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct T01Params {
    severity: Severity,
}

/// QC-T01: no clinical date (any effective, occurrence, period, onset or recorded date)
/// before the birth date. Evidence: the Patient the birth date comes from, and the record.
pub struct T01EventBeforeBirth {
    severity: Severity,
}

impl T01EventBeforeBirth {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: T01Params = params.section("T01")?;
        Ok(Self {
            severity: p.severity,
        })
    }
}

impl Rule for T01EventBeforeBirth {
    rule_meta!("QC-T01", T);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let d = &resident.facts.demographics;
        let (Some(birth), Some(patient)) = (d.birth, d.leaf) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (node, r) in resident.counted() {
            // The record's earliest date that lies wholly before the birth day.
            let early = r
                .clinical_dates()
                .into_iter()
                .filter_map(|(what, t)| Some((what, t?)))
                .filter(|(_, t)| local_span(t).1 < birth)
                .min_by_key(|(_, t)| local_span(t).0);
            if let Some((what, t)) = early {
                out.push(finding(
                    self,
                    resident,
                    vec![patient, node.leaf],
                    at,
                    format!(
                        "The {what} {} of {} is before the resident was born ({birth}); care given before birth belongs in the mother's record.",
                        t.text, node.key
                    ),
                ));
            }
        }
        out
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct T02Params {
    severity: Severity,
    kinds: Vec<String>,
}

/// The kinds whose clinical date QC-T02 can check.
const T02_KINDS: &[&str] = &[
    "Encounter",
    "Observation",
    "Immunization",
    "Procedure",
    "Condition",
    "MedicationRequest",
    "MedicationStatement",
    "ServiceRequest",
    "Task",
    "Communication",
];

/// QC-T02: no visit, observation, vaccination or procedure (the configured kinds) dated
/// after the death. The death is the earliest `deceasedDateTime` of the resident's Patient
/// records (one per institution, so a death reported by any node counts). A record that
/// says it never took place (planned, cancelled, not done) is not an event.
///
/// The catalogue lets a death-certificate document follow the death by 60 days. The tree
/// does not read documents (DocumentReference, Composition), and none of the kinds checked
/// here is a certificate, so that grace never applies and is not a parameter.
/// Evidence: the Patient with the death date, and the record.
pub struct T02EventAfterDeath {
    severity: Severity,
    kinds: Vec<String>,
}

impl T02EventAfterDeath {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: T02Params = params.section("T02")?;
        if let Some(k) = p.kinds.iter().find(|k| !T02_KINDS.contains(&k.as_str())) {
            return Err(ParamsError::BadSection {
                name: "T02",
                reason: format!("kind {k:?} has no clinical date QC-T02 can check"),
            });
        }
        Ok(Self {
            severity: p.severity,
            kinds: p.kinds,
        })
    }
}

fn status(r: &Resource) -> Option<&str> {
    match r {
        Resource::Encounter(x) => x.status.as_deref(),
        Resource::Observation(x) => x.status.as_deref(),
        Resource::Immunization(x) => x.status.as_deref(),
        Resource::Procedure(x) => x.status.as_deref(),
        Resource::Medication(x) => x.status.as_deref(),
        Resource::Request(x) => x.status.as_deref(),
        Resource::Communication(x) => x.status.as_deref(),
        Resource::EpisodeOfCare(x) => x.status.as_deref(),
        Resource::CarePlan(x) => x.status.as_deref(),
        Resource::Condition(_) | Resource::Patient(_) | Resource::Other { .. } => None,
    }
}

impl Rule for T02EventAfterDeath {
    rule_meta!("QC-T02", T);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let Some(death_leaf) = resident.facts.demographics.death_leaf else {
            return Vec::new();
        };
        // The death as written on the Patient the facts took it from.
        let Some(death) = resident
            .patients()
            .find(|(n, _)| n.leaf == death_leaf)
            .and_then(|(_, p)| p.deceased_at.as_ref())
        else {
            return Vec::new();
        };
        let last_day = local_span(death).1;
        let mut out = Vec::new();
        for (node, r) in resident.counted() {
            if !self.kinds.contains(&node.key.kind) || !happened(status(r)) {
                continue;
            }
            let late = r
                .clinical_dates()
                .into_iter()
                .filter_map(|(what, t)| Some((what, t?)))
                .find(|(_, t)| local_span(t).0 > last_day);
            if let Some((what, t)) = late {
                out.push(finding(
                    self,
                    resident,
                    vec![death_leaf, node.leaf],
                    at,
                    format!(
                        "The {what} {} of {} is after the resident's death on {}.",
                        t.text, node.key, death.text
                    ),
                ));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
