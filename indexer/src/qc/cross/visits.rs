//! Rules on what a visit records (DOMAIN.md §4.4): a follow-up's classification agrees with
//! its measurements (X08), no fact is recorded twice (X10), and the elderly annual check is
//! complete (X11). They read the shared facts, so the §4.1 exclusion is already applied.

use std::collections::BTreeMap;

use serde::Deserialize;
use time::OffsetDateTime;

use super::{day, evidence, status_in};
use crate::qc::facts::{Obs, Visit, bp_of, fbg_mmol};
use crate::qc::field::finding;
use crate::qc::params::{Codes, Params, ParamsError, Severity};
use crate::qc::{Finding, ResidentView, Rule, rule_meta};

/// How a finding's sentence names a visit: "the hypertension follow-up on 2024-05-10".
fn visit_name(v: &Visit) -> String {
    let what = match v.service.as_deref() {
        Some("HTN-FU") => "the hypertension follow-up".to_owned(),
        Some("T2D-FU") => "the diabetes follow-up".to_owned(),
        Some(s) => format!("the {s} visit"),
        None => "the visit".to_owned(),
    };
    match v.start {
        Some(s) => format!("{what} on {}", day(s)),
        None => format!("{what} (undated)"),
    }
}

fn upper_first(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct X08Params {
    severity: Severity,
    services: Vec<String>,
    controlled: String,
    uncontrolled: String,
    referral: String,
    sbp: f64,
    dbp: f64,
    fbg: f64,
    danger_sbp: f64,
    danger_dbp: f64,
    danger_glucose_high: f64,
    danger_glucose_low: f64,
}

/// QC-X08: a follow-up's control classification agrees with the values measured at the visit
/// (HTN: controlled needs SBP and DBP below target, uncontrolled needs one at or above it; T2D
/// the same with fasting glucose), and a danger value at a programme follow-up has a referral:
/// a `REFERRAL` ServiceRequest naming the visit as its encounter or reason, or a `referral`
/// classification. A classification with no measurement to compare is not judged here (the
/// measurement's absence is the follow-up's validity, not a contradiction). With several
/// readings the latest is the visit's value. Evidence: the Patient, the Encounter, the
/// classification and the measurement.
pub struct X08ClassificationContradicts {
    p: X08Params,
    codes: Codes,
    service_system: String,
    referral_code: String,
}

impl X08ClassificationContradicts {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        Ok(Self {
            p: params.section("X08")?,
            codes: params.codes.clone(),
            service_system: params.value_sets.phs_service.clone(),
            referral_code: params.items()?.referral,
        })
    }

    fn referred(&self, resident: &ResidentView<'_>, v: &Visit, obs: &[&Obs]) -> bool {
        let c = &self.codes;
        let classified = obs.iter().any(|o| {
            o.code
                .as_ref()
                .is_some_and(|x| *x == c.htn_class || *x == c.t2d_class)
                && o.value_code.as_deref() == Some(self.p.referral.as_str())
        });
        classified
            || resident.facts.requests.iter().any(|r| {
                r.kind == "ServiceRequest"
                    && r.code
                        .iter()
                        .any(|(s, x)| *s == self.service_system && *x == self.referral_code)
                    && (r.encounter.as_deref() == Some(v.id.as_str()) || r.reasons.contains(&v.id))
            })
    }

    /// How the measured value stands against the target when it contradicts the
    /// classification `class` (`high`: at or above the target), as the sentence says it.
    fn disagreement(&self, class: &str, high: bool) -> Option<&'static str> {
        if class == self.p.controlled && high {
            Some("at or above")
        } else if class == self.p.uncontrolled && !high {
            Some("below")
        } else {
            None
        }
    }

    /// The contradiction between a classification and the visit's values, if any.
    fn contradiction(
        &self,
        class_code: &str,
        class: &str,
        bp: Option<((f64, f64), u64)>,
        fbg: Option<(f64, u64)>,
    ) -> Option<(String, u64)> {
        let p = &self.p;
        let c = &self.codes;
        if class_code == c.htn_class {
            let ((s, d), leaf) = bp?;
            let why = self.disagreement(class, s >= p.sbp || d >= p.dbp)?;
            Some((
                format!(
                    "blood pressure was classified as {class}, but it measured {s}/{d} mmHg, {why} the {}/{} target",
                    p.sbp, p.dbp
                ),
                leaf,
            ))
        } else if class_code == c.t2d_class {
            let (g, leaf) = fbg?;
            let why = self.disagreement(class, g >= p.fbg)?;
            Some((
                format!(
                    "blood glucose was classified as {class}, but fasting glucose measured {g:.1} mmol/L, {why} the {:.1} target",
                    p.fbg
                ),
                leaf,
            ))
        } else {
            None
        }
    }
}

impl Rule for X08ClassificationContradicts {
    rule_meta!("QC-X08", X, severity: p.severity);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let f = &resident.facts;
        let (c, p) = (&self.codes, &self.p);
        let mut out = Vec::new();
        for v in &f.visits {
            // In time order, so the last reading found is the visit's latest.
            let obs: Vec<&Obs> = v.observations.iter().map(|&i| &f.observations[i]).collect();
            let bp = obs.iter().rev().find_map(|o| Some((bp_of(o, c)?, o.leaf)));
            let fbg = obs
                .iter()
                .rev()
                .find_map(|o| Some((fbg_mmol(&[o], c)?, o.leaf)));
            for o in &obs {
                let (Some(code), Some(class)) = (o.code.as_deref(), o.value_code.as_deref()) else {
                    continue;
                };
                if let Some((why, leaf)) = self.contradiction(code, class, bp, fbg) {
                    out.push(finding(
                        self,
                        resident,
                        evidence(f, [v.leaf, o.leaf, leaf]),
                        at,
                        format!("At {} {why}.", visit_name(v)),
                    ));
                }
            }
            if !v.service.as_ref().is_some_and(|s| p.services.contains(s)) {
                continue;
            }
            let mut danger = Vec::new();
            let mut leaves = vec![v.leaf];
            if let Some(((s, d), leaf)) = bp
                && (s >= p.danger_sbp || d >= p.danger_dbp)
            {
                danger.push(format!("blood pressure measured {s}/{d} mmHg"));
                leaves.push(leaf);
            }
            if let Some((g, leaf)) = fbg
                && (g >= p.danger_glucose_high || g <= p.danger_glucose_low)
            {
                danger.push(format!("fasting glucose measured {g:.1} mmol/L"));
                leaves.push(leaf);
            }
            if danger.is_empty() || self.referred(resident, v, &obs) {
                continue;
            }
            let values = if danger.len() == 1 {
                "a danger value"
            } else {
                "danger values"
            };
            out.push(finding(
                self,
                resident,
                evidence(f, leaves),
                at,
                format!(
                    "At {} {}, {values}, but no referral is recorded for the visit.",
                    visit_name(v),
                    danger.join(" and ")
                ),
            ));
        }
        out
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct X10Params {
    severity: Severity,
    dose_statuses: Vec<String>,
}

/// QC-X10: no fact is recorded twice. Two observations are duplicates when they share the code,
/// the day (UTC), the value (with its unit and components) and the performer; two vaccine doses
/// when they share the antigen series (else the vaccine code) and dose number, whatever their
/// dates, or, without a dose number, the vaccine, day and performer. Only given doses (the
/// statuses configured) are compared. Records without a code or a date are not compared.
/// Conditions are not: a diagnosis restated at each visit is how problem lists work. One
/// finding per group of duplicates. Evidence: the Patient and every record of the group.
pub struct X10DuplicateFacts {
    p: X10Params,
}

impl X10DuplicateFacts {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        Ok(Self {
            p: params.section("X10")?,
        })
    }
}

/// An observation's value as a sentence shows it and as duplicates compare it. `f64`'s
/// `Display` round-trips, so equal values give equal text.
fn value_text(o: &Obs) -> String {
    if let Some(v) = o.value {
        return match &o.unit {
            Some(u) => format!("{v} {u}"),
            None => v.to_string(),
        };
    }
    if let Some(x) = &o.value_code {
        return x.clone();
    }
    if let Some(x) = o.value_int {
        return x.to_string();
    }
    if let Some(x) = o.value_bool {
        return x.to_string();
    }
    if let Some(x) = o.value_time {
        return day(x).to_string();
    }
    let mut parts: Vec<_> = o.components.iter().collect();
    parts.sort_by(|a, b| a.0.cmp(&b.0));
    parts
        .iter()
        .map(|(_, v)| v.to_string())
        .collect::<Vec<_>>()
        .join("/")
}

/// Records that share a duplicate key.
struct Group {
    /// How the sentence names the fact.
    what: String,
    /// Each record's leaf and day (empty when undated).
    records: Vec<(u64, String)>,
}

impl Rule for X10DuplicateFacts {
    rule_meta!("QC-X10", X, severity: p.severity);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let f = &resident.facts;
        let mut groups: BTreeMap<Vec<String>, Group> = BTreeMap::new();
        let mut add = |key: Vec<String>, what: String, leaf: u64, day: String| {
            groups
                .entry(key)
                .or_insert_with(|| Group {
                    what,
                    records: Vec::new(),
                })
                .records
                .push((leaf, day));
        };
        for o in &f.observations {
            let (Some(code), Some(t)) = (o.code.as_deref(), o.at) else {
                continue;
            };
            let value = value_text(o);
            let key = vec![
                "Observation".into(),
                code.into(),
                day(t).to_string(),
                value.clone(),
                o.performer.clone().unwrap_or_default(),
            ];
            let what = if value.is_empty() {
                format!("The same {code} result")
            } else {
                format!("The same {code} result ({value})")
            };
            add(key, what, o.leaf, day(t).to_string());
        }
        for d in &f.doses {
            if !status_in(d.status.as_deref(), &self.p.dose_statuses) {
                continue;
            }
            let mut vaccine: Vec<String> =
                d.vaccine.iter().map(|(s, c)| format!("{s}|{c}")).collect();
            vaccine.sort();
            let first_code = d.vaccine.first().map(|(_, c)| c.clone());
            let when = d.at.map(|t| day(t).to_string()).unwrap_or_default();
            let (key, what) = match (d.dose_number, d.series.clone().or(first_code)) {
                (Some(n), Some(series)) => (
                    vec!["Dose".into(), series.clone(), n.to_string()],
                    format!("{series} dose {n}"),
                ),
                _ => {
                    let Some(code) = d.vaccine.first().map(|(_, c)| c.clone()) else {
                        continue;
                    };
                    if when.is_empty() {
                        continue;
                    }
                    let mut key = vec!["Vaccination".into(), when.clone()];
                    key.extend(vaccine);
                    key.push(d.performer.clone().unwrap_or_default());
                    (key, format!("The same vaccination ({code})"))
                }
            };
            add(key, what, d.leaf, when);
        }
        let mut dups: Vec<Group> = groups
            .into_values()
            .filter(|g| g.records.len() > 1)
            .collect();
        dups.sort_by_key(|g| g.records.iter().map(|r| r.0).min());
        dups.into_iter()
            .map(|Group { what, records }| {
                let mut days: Vec<&str> = records
                    .iter()
                    .map(|r| r.1.as_str())
                    .filter(|d| !d.is_empty())
                    .collect();
                days.sort_unstable();
                days.dedup();
                let on = if days.is_empty() {
                    String::new()
                } else {
                    format!(" on {}", days.join(", "))
                };
                finding(
                    self,
                    resident,
                    evidence(f, records.iter().map(|r| r.0)),
                    at,
                    format!(
                        "{} is recorded {} times{on}; only one may count.",
                        upper_first(&what),
                        records.len()
                    ),
                )
            })
            .collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct X11Params {
    severity: Severity,
    service: String,
    min_age_years: i32,
    statuses: Vec<String>,
    names: BTreeMap<String, String>,
}

/// QC-X11: an elderly annual check (a `HEALTH-CHECK` visit of a resident aged 65 or more at the
/// visit, finished by `T`) records every item of the elderly spec (`[items] elderly_check`)
/// as an Observation naming the visit. A check of a resident without a birth date is not
/// judged. Evidence: the Patient and the Encounter.
pub struct X11ElderlyCheckComplete {
    p: X11Params,
    items: Vec<Vec<String>>,
}

impl X11ElderlyCheckComplete {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: X11Params = params.section("X11")?;
        let items = params.items()?.elderly_check;
        // A misspelt name key would silently fall back to the bare code.
        if let Some(k) = p
            .names
            .keys()
            .find(|k| !items.iter().any(|g| g.contains(k)))
        {
            return Err(ParamsError::BadSection {
                name: "X11",
                reason: format!("names: {k:?} is no item of [items] elderly_check"),
            });
        }
        Ok(Self { p, items })
    }

    fn item_name(&self, group: &[String]) -> String {
        group
            .iter()
            .find_map(|c| self.p.names.get(c))
            .cloned()
            .unwrap_or_else(|| group.join(" or "))
    }
}

impl Rule for X11ElderlyCheckComplete {
    rule_meta!("QC-X11", X, severity: p.severity);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let f = &resident.facts;
        let mut out = Vec::new();
        for v in f.visits_of(&self.p.service) {
            let Some(start) = v.start.filter(|s| *s <= at) else {
                continue;
            };
            let elderly = f
                .demographics
                .age_years(day(start))
                .is_some_and(|a| a >= self.p.min_age_years);
            if !elderly || !status_in(v.status.as_deref(), &self.p.statuses) {
                continue;
            }
            let present: Vec<&str> = v
                .observations
                .iter()
                .filter_map(|&i| f.observations[i].code.as_deref())
                .collect();
            let missing: Vec<String> = self
                .items
                .iter()
                .filter(|g| !g.iter().any(|c| present.contains(&c.as_str())))
                .map(|g| self.item_name(g))
                .collect();
            if missing.is_empty() {
                continue;
            }
            out.push(finding(
                self,
                resident,
                evidence(f, [v.leaf]),
                at,
                format!(
                    "The elderly annual health check on {} lacks {} of its {} required items: {}.",
                    day(start),
                    missing.len(),
                    self.items.len(),
                    missing.join(", ")
                ),
            ));
        }
        out
    }
}

#[cfg(test)]
#[path = "visits_tests.rs"]
mod tests;
