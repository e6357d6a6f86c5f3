//! Field rules on who the resident is: the ID-card number (QC-F01), the health archive number
//! (QC-F02) and the core demographics (QC-F03).

use time::OffsetDateTime;

use super::per_record;
use crate::identity::{IdCardIssue, id_card_issues};
use crate::qc::params::{Params, ParamsError, Severity};
use crate::qc::{Finding, ResidentView, Rule, rule_meta};

/// QC-F01: every id-card identifier passes GB 11643 (checksum and a real birth date).
/// Agreement with the record's birth date and sex is QC-R05, not this rule.
pub struct F01IdCardValid {
    severity: Severity,
}

impl F01IdCardValid {
    pub fn new(params: &Params) -> Self {
        Self {
            severity: params.f01.severity,
        }
    }
}

impl Rule for F01IdCardValid {
    rule_meta!("QC-F01", F);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        per_record(self, resident, at, resident.patients(), |_, patient| {
            id_card_issues(patient, false)
                .into_iter()
                .filter_map(|issue| match issue {
                    IdCardIssue::Invalid { value, error } => {
                        Some(format!("The ID-card number {value} is not valid: {error}."))
                    }
                    _ => None,
                })
                .collect::<Vec<_>>()
        })
    }
}

/// QC-F02: every archive number is 17 digits, its county code plausible and its village
/// segment (digits 10–12) in a configured range.
///
/// The full GB/T 2260 county list is not shipped, so the county check is partial: digits 1–2
/// must be a province-level code and digits 3–4 and 5–6 must not be `00`.
pub struct F02ArchiveNumber {
    severity: Severity,
    system: String,
    provinces: Vec<String>,
    village_ranges: Vec<[u16; 2]>,
}

impl F02ArchiveNumber {
    pub fn new(params: &Params) -> Self {
        Self {
            severity: params.f02.severity,
            system: params.f02.system.clone(),
            provinces: params.f02.provinces.clone(),
            village_ranges: params.f02.village_ranges.clone(),
        }
    }

    /// Why `value` is not a valid archive number, as the end of a sentence.
    fn problem(&self, value: &str) -> Option<String> {
        if value.len() != 17 || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Some("it is not 17 digits".to_owned());
        }
        let county = &value[..6];
        if !self.provinces.iter().any(|p| *p == county[..2])
            || &county[2..4] == "00"
            || &county[4..6] == "00"
        {
            return Some(format!("{county} is not a county code"));
        }
        let village = &value[9..12];
        let n: u16 = village.parse().ok()?;
        if !self
            .village_ranges
            .iter()
            .any(|[lo, hi]| (*lo..=*hi).contains(&n))
        {
            let ranges: Vec<String> = self
                .village_ranges
                .iter()
                .map(|[lo, hi]| format!("{lo:03}–{hi:03}"))
                .collect();
            return Some(format!(
                "the village segment {village} is outside {}",
                ranges.join(", ")
            ));
        }
        None
    }
}

impl Rule for F02ArchiveNumber {
    rule_meta!("QC-F02", F);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        per_record(self, resident, at, resident.patients(), |_, patient| {
            patient
                .identifier_values(&self.system)
                .filter_map(|value| {
                    let why = self.problem(value)?;
                    Some(format!(
                        "The health archive number {value} is not valid: {why}."
                    ))
                })
                .collect::<Vec<_>>()
        })
    }
}

/// QC-F03: name, gender and birth date present, the birth date a real date between the
/// configured minimum and `T`. The address and managing-organisation parts of the catalogue
/// rule are not checked yet: the Patient view does not read them.
pub struct F03CoreDemographics {
    severity: Severity,
    min_birth_date: time::Date,
}

impl F03CoreDemographics {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        Ok(Self {
            severity: params.f03.severity,
            min_birth_date: params.min_birth_date()?,
        })
    }
}

impl Rule for F03CoreDemographics {
    rule_meta!("QC-F03", F, defaults: ["min_birth_date"]);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        per_record(self, resident, at, resident.patients(), |_, p| {
            let mut problems = Vec::new();
            if !p.has_name {
                problems.push("no name".to_owned());
            }
            if p.gender.is_none() {
                problems.push("no gender".to_owned());
            }
            match (&p.birth_date_text, &p.birth_date) {
                (None, _) => problems.push("no birth date".to_owned()),
                (Some(t), None) => problems.push(format!("birth date {t} is not a date")),
                (Some(t), Some(d)) if d.date() < self.min_birth_date => {
                    problems.push(format!("birth date {t} is before {}", self.min_birth_date))
                }
                (Some(t), Some(d)) if d.start > at => {
                    problems.push(format!("birth date {t} is in the future"))
                }
                _ => {}
            }
            (!problems.is_empty())
                .then(|| format!("The resident record has {}.", problems.join(", ")))
        })
    }
}
