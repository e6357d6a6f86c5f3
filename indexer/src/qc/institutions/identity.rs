//! Who the resident is, across institutions: one birth date and sex (QC-I01), one active
//! health archive number (QC-I02).

use hl_ledger::gb11643::{self, Sex};
use hl_ledger::pseudonym::CN_RESIDENT_ID_SYSTEM;
use serde::Deserialize;
use time::{Date, OffsetDateTime};

use super::{
    ConsortiumRule, CrossFinding, Held, InstitutionFacts, by_value, consortium_rule_meta,
    differs_across, evidence_of, finding,
};
use crate::model::{Gender, Patient};
use crate::qc::Rule;
use crate::qc::facts::local_span;
use crate::qc::params::{Params, ParamsError, Severity};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SeverityOnly {
    severity: Severity,
}

/// Each latest-version Patient of each institution, with the index of its institution.
fn patients<'i>(
    institutions: &'i [InstitutionFacts<'_>],
) -> impl Iterator<Item = (usize, u64, &'i Patient)> {
    institutions
        .iter()
        .enumerate()
        .flat_map(|(i, inst)| inst.view.tree.patients().map(move |(n, p)| (i, n.leaf, p)))
}

/// QC-I01: the Patient records the institutions hold of the resident agree on the birth date
/// and the sex. They are one person by construction: the pseudonym every node files them under
/// is derived from the ID-card number.
///
/// Birth dates are compared as the days they can denote, so `1956` and `1956-03-02` agree.
/// Only male and female can disagree: `other` and `unknown` make no claim. A disagreement
/// within one institution is not this rule's (identity conflicts of one tree), nor is a record
/// that disagrees with its own ID card (QC-R05); the finding says what the ID card gives, when
/// an institution holds a valid one, so the reader sees which record is wrong. One finding per
/// field; evidence: every Patient holding the field.
pub struct I01DemographicsAgree {
    severity: Severity,
}

impl I01DemographicsAgree {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: SeverityOnly = params.section("I01")?;
        Ok(Self {
            severity: p.severity,
        })
    }
}

impl Rule for I01DemographicsAgree {
    consortium_rule_meta!("QC-I01");
}

impl ConsortiumRule for I01DemographicsAgree {
    fn evaluate_institutions(
        &self,
        institutions: &[InstitutionFacts<'_>],
        at: OffsetDateTime,
    ) -> Vec<CrossFinding> {
        let mut births: Vec<Held<(String, (Date, Date))>> = Vec::new();
        let mut sexes: Vec<Held<Gender>> = Vec::new();
        let mut card = None;
        for (institution, leaf, p) in patients(institutions) {
            let evidence = institutions[institution].cite(leaf);
            if let Some(b) = &p.birth_date {
                births.push(Held {
                    value: (b.text.clone(), local_span(b)),
                    institution,
                    evidence: evidence.clone(),
                });
            }
            if let Some(g @ (Gender::Male | Gender::Female)) = p.gender {
                sexes.push(Held {
                    value: g,
                    institution,
                    evidence,
                });
            }
            card = card.or_else(|| {
                p.identifier_values(CN_RESIDENT_ID_SYSTEM)
                    .find_map(|v| gb11643::parse(&gb11643::normalize(v)).ok())
            });
        }
        let mut out = Vec::new();
        let overlap = |a: &(String, (Date, Date)), b: &(String, (Date, Date))| {
            a.1.0 <= b.1.1 && b.1.0 <= a.1.1
        };
        if differs_across(&births, institutions, overlap) {
            let mut msg = format!(
                "The institutions disagree on the resident's birth date: {}",
                by_value(&births, institutions, |(text, _)| text.clone())
            );
            if let Some(id) = &card {
                msg.push_str(&format!("; the ID card gives {}", id.birth_date));
            }
            out.push(finding(
                self,
                institutions,
                evidence_of(&births),
                at,
                msg + ".",
            ));
        }
        if differs_across(&sexes, institutions, |a, b| a == b) {
            let mut msg = format!(
                "The institutions disagree on the resident's sex: {}",
                by_value(&sexes, institutions, |g| g.as_str().to_owned())
            );
            if let Some(id) = &card {
                let sex = match id.sex {
                    Sex::Male => "male",
                    Sex::Female => "female",
                };
                msg.push_str(&format!("; the ID card gives {sex}"));
            }
            out.push(finding(
                self,
                institutions,
                evidence_of(&sexes),
                at,
                msg + ".",
            ));
        }
        out
    }
}

/// QC-I02: at most one active health archive number (the 17-digit identifier of F02's
/// system) across the institutions. A Patient with `active: false`, or linked `replaced-by`
/// to its successor (a transfer), holds no active number. Malformed numbers are F02's
/// finding, not a second archive. Evidence: every Patient holding an active number.
pub struct I02OneActiveArchive {
    severity: Severity,
    system: String,
}

impl I02OneActiveArchive {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: SeverityOnly = params.section("I02")?;
        Ok(Self {
            severity: p.severity,
            system: params.f02.system.clone(),
        })
    }
}

impl Rule for I02OneActiveArchive {
    consortium_rule_meta!("QC-I02");
}

impl ConsortiumRule for I02OneActiveArchive {
    fn evaluate_institutions(
        &self,
        institutions: &[InstitutionFacts<'_>],
        at: OffsetDateTime,
    ) -> Vec<CrossFinding> {
        let mut held: Vec<Held<&str>> = Vec::new();
        for (institution, leaf, p) in patients(institutions) {
            let replaced = p
                .links
                .iter()
                .any(|(_, kind)| kind.as_deref() == Some("replaced-by"));
            if !p.active || replaced {
                continue;
            }
            for value in p.identifier_values(&self.system).map(str::trim) {
                if value.len() == 17 && value.bytes().all(|b| b.is_ascii_digit()) {
                    held.push(Held {
                        value,
                        institution,
                        evidence: institutions[institution].cite(leaf),
                    });
                }
            }
        }
        if !differs_across(&held, institutions, |a, b| a == b) {
            return Vec::new();
        }
        let mut numbers: Vec<&str> = held.iter().map(|h| h.value).collect();
        numbers.sort_unstable();
        numbers.dedup();
        let msg = format!(
            "The resident has {} active health archive numbers: {}. A transfer must deactivate the old one (Patient.active false, or Patient.link replaced-by).",
            numbers.len(),
            by_value(&held, institutions, |v| (*v).to_owned())
        );
        vec![finding(self, institutions, evidence_of(&held), at, msg)]
    }
}
