//! A chronic disease one institution confirms and another denies soon after (QC-I05).

use serde::Deserialize;
use time::{Date, OffsetDateTime};

use super::{ConsortiumRule, CrossFinding, InstitutionFacts, consortium_rule_meta, finding};
use crate::model::Resource;
use crate::qc::Rule;
use crate::qc::cross::{Qualifying, condition_name, qualifying, status_in};
use crate::qc::facts::Diagnosis;
use crate::qc::params::{Params, ParamsError, Severity};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct I05Params {
    severity: Severity,
    programmes: Vec<String>,
    window_days: i64,
    verification: Vec<String>,
    clinical: Vec<String>,
    history_codes: Vec<String>,
    none_values: Vec<String>,
}

/// A confirmed diagnosis (or qualifying pair) at one institution.
struct Confirmed {
    institution: usize,
    day: Date,
    code: String,
    leaves: Vec<u64>,
    /// The first day it no longer holds (the earliest abatement of its parts), if any.
    abated: Option<Date>,
}

/// A record at one institution that says the resident does not have the disease.
struct Denial {
    leaf: u64,
    day: Date,
    /// Ends "…, but {institution} {what} on {day}".
    what: String,
}

/// QC-I05: an institution holds an active confirmed HTN, T2D or SMI diagnosis (the programme
/// value sets, SMI with its pairs; the statuses as QC-X05 reads them), and another institution
/// then, within `window_days` of its recorded date (else onset), records the disease refuted
/// (a Condition in the value set, or in a part of an SMI pair, with verification status
/// `refuted`, dated by its recorded date, else onset, else when its log received it) or a
/// health check whose past-illness item (`history_codes`) says none (`none_values`, or
/// `false`), and no record at any institution confirms the diagnosis after that. A past-illness
/// item is read as denying every chronic disease: the national form's "无" covers them all.
/// One finding per denial, against the latest confirmation before it. Evidence: the confirmed
/// diagnosis (both of a pair) and the denying record.
pub struct I05ContradictoryChronicFacts {
    severity: Severity,
    programmes: Vec<Qualifying>,
    window_days: i64,
    verification: Vec<String>,
    clinical: Vec<String>,
    history_codes: Vec<String>,
    none_values: Vec<String>,
}

impl I05ContradictoryChronicFacts {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: I05Params = params.section("I05")?;
        Ok(Self {
            severity: p.severity,
            programmes: qualifying(params, &p.programmes, "I05")?,
            window_days: p.window_days,
            verification: p.verification,
            clinical: p.clinical,
            history_codes: p.history_codes,
            none_values: p.none_values,
        })
    }

    /// The active confirmed diagnoses of `q` at every institution, dated by `at`.
    fn confirmed(
        &self,
        q: &Qualifying,
        institutions: &[InstitutionFacts<'_>],
        at: OffsetDateTime,
    ) -> Vec<Confirmed> {
        let mut out = Vec::new();
        for (institution, i) in institutions.iter().enumerate() {
            let active: Vec<&Diagnosis> = i
                .facts
                .diagnoses
                .iter()
                .filter(|d| status_in(d.verification_status.as_deref(), &self.verification))
                .filter(|d| status_in(d.clinical_status.as_deref(), &self.clinical))
                .collect();
            for m in q.matches(&active) {
                let days: Option<Vec<Date>> = m
                    .diagnoses
                    .iter()
                    .map(|d| d.recorded_day.or(d.onset_day))
                    .collect();
                let Some(day) = days.and_then(|d| d.into_iter().max()) else {
                    continue;
                };
                if day > at.date() {
                    continue;
                }
                out.push(Confirmed {
                    institution,
                    day,
                    code: m.code,
                    leaves: m.diagnoses.iter().map(|d| d.leaf).collect(),
                    abated: m
                        .diagnoses
                        .iter()
                        .filter_map(|d| d.abatement.map(|t| t.date()))
                        .min(),
                });
            }
        }
        out
    }

    /// The records of `i` denying `q`, dated by `at`.
    fn denials(&self, q: &Qualifying, i: &InstitutionFacts<'_>, at: OffsetDateTime) -> Vec<Denial> {
        let mut out = Vec::new();
        for n in i.view.tree.resources() {
            let Some(Resource::Condition(c)) = n.resource() else {
                continue;
            };
            if c.verification_status.as_deref() != Some("refuted") {
                continue;
            }
            let d = Diagnosis::read(n.leaf, n.key.id.clone(), c);
            let code = d.code_in(&q.set).or_else(|| {
                q.pairs
                    .iter()
                    .find_map(|(x, y)| d.code_in(x).or_else(|| d.code_in(y)))
            });
            let day = d
                .recorded_day
                .or(d.onset_day)
                .or(n.recorded.map(|t| t.date()));
            if let (Some(code), Some(day)) = (code, day) {
                out.push(Denial {
                    leaf: n.leaf,
                    day,
                    what: format!("recorded {code} as refuted"),
                });
            }
        }
        for o in &i.facts.observations {
            let history = o
                .code
                .as_ref()
                .is_some_and(|c| self.history_codes.contains(c));
            let none = o
                .value_code
                .as_ref()
                .is_some_and(|v| self.none_values.contains(v))
                || o.value_bool == Some(false);
            if let (true, true, Some(day)) = (history, none, o.day) {
                out.push(Denial {
                    leaf: o.leaf,
                    day,
                    what: "recorded no past illness in a health check".to_owned(),
                });
            }
        }
        out.retain(|d| d.day <= at.date());
        out
    }
}

impl Rule for I05ContradictoryChronicFacts {
    consortium_rule_meta!("QC-I05", defaults: ["window_days"]);
}

impl ConsortiumRule for I05ContradictoryChronicFacts {
    fn evaluate_institutions(
        &self,
        institutions: &[InstitutionFacts<'_>],
        at: OffsetDateTime,
    ) -> Vec<CrossFinding> {
        let mut out = Vec::new();
        for q in &self.programmes {
            let confirmed = self.confirmed(q, institutions, at);
            for (bi, b) in institutions.iter().enumerate() {
                for denial in self.denials(q, b, at) {
                    let before = confirmed
                        .iter()
                        .filter(|c| institutions[c.institution].view.origin != b.view.origin)
                        .filter(|c| {
                            let after = (denial.day - c.day).whole_days();
                            (0..=self.window_days).contains(&after)
                                && c.abated.is_none_or(|a| a > denial.day)
                        })
                        .max_by_key(|c| (c.day, c.institution, c.leaves.clone()));
                    let Some(c) = before else { continue };
                    if confirmed.iter().any(|x| x.day > denial.day) {
                        continue;
                    }
                    let a = &institutions[c.institution];
                    let later = match (denial.day - c.day).whole_days() {
                        0 => "the same day".to_owned(),
                        1 => "1 day later".to_owned(),
                        n => format!("{n} days later"),
                    };
                    let mut evidence: Vec<(String, u64)> =
                        c.leaves.iter().map(|&l| a.cite(l)).collect();
                    evidence.push(institutions[bi].cite(denial.leaf));
                    out.push(finding(
                        self,
                        institutions,
                        evidence,
                        at,
                        format!(
                            "{} holds a confirmed {} diagnosis ({}) recorded on {}, but {} {} on {} ({later}), and no later record confirms the diagnosis.",
                            a.label(),
                            condition_name(&q.programme),
                            c.code,
                            c.day,
                            b.label(),
                            denial.what,
                            denial.day
                        ),
                    ));
                }
            }
        }
        out
    }
}
