//! Programme rules within one resident (DOMAIN.md §4.4) about the resident's life events: the
//! age at a pregnancy (X03), and care closed after death (X12). They read the shared facts, so
//! the §4.1 exclusion is already applied.

use serde::Deserialize;
use time::{Date, Duration, OffsetDateTime};

use super::{UNSTATED, day, evidence, programme_name, starts_with_any, status_in};
use crate::qc::field::finding;
use crate::qc::params::{Params, ParamsError, Severity};
use crate::qc::{Finding, ResidentView, Rule, rule_meta};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct X03Params {
    severity: Severity,
    min_age_years: i32,
    max_age_years: i32,
    edd_days: i64,
    service_prefixes: Vec<String>,
    programme: String,
}

/// QC-X03: every pregnancy starts at a plausible age. The start is read from the last
/// menstrual period, the EDD − 280 days, the pregnancy enrolment's start, and the date of each
/// antenatal or postnatal visit (the catalogue's failing case is a 64-year-old with an ANC-1
/// visit; a visit lies after the start, so near the upper bound it errs towards reporting). One
/// finding per resident, naming the earliest implausible record. Evidence: the Patient and
/// every record at an implausible age.
pub struct X03PregnancyAge {
    p: X03Params,
    lmp: String,
    edd: String,
}

impl X03PregnancyAge {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        Ok(Self {
            p: params.section("X03")?,
            lmp: params.items()?.lmp,
            edd: params.codes.edd.clone(),
        })
    }
}

impl Rule for X03PregnancyAge {
    rule_meta!("QC-X03", X, severity: p.severity, defaults: ["min_age_years", "max_age_years"]);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let f = &resident.facts;
        // (pregnancy start, its record, how the sentence names it)
        let mut starts: Vec<(Date, u64, String)> = Vec::new();
        for o in &f.observations {
            let (Some(code), Some(v)) = (o.code.as_deref(), o.value_time) else {
                continue;
            };
            if code == self.lmp {
                starts.push((
                    day(v),
                    o.leaf,
                    format!("A pregnancy starting {} (last menstrual period)", day(v)),
                ));
            } else if code == self.edd {
                let s = day(v - Duration::days(self.p.edd_days));
                starts.push((
                    s,
                    o.leaf,
                    format!(
                        "A pregnancy starting {s} (expected delivery on {}, less {} days)",
                        day(v),
                        self.p.edd_days
                    ),
                ));
            }
        }
        for e in f.episodes_of(&self.p.programme) {
            if let Some(s) = e.start {
                starts.push((
                    day(s),
                    e.leaf,
                    format!("A pregnancy care enrolment starting {}", day(s)),
                ));
            }
        }
        for v in &f.visits {
            if let (Some(s), Some(service)) = (v.start, v.service.as_deref())
                && starts_with_any(service, &self.p.service_prefixes)
            {
                starts.push((
                    day(s),
                    v.leaf,
                    format!("A pregnancy care visit ({service}) on {}", day(s)),
                ));
            }
        }
        let (lo, hi) = (self.p.min_age_years, self.p.max_age_years);
        let mut bad: Vec<(Date, u64, String, i32)> = starts
            .into_iter()
            .filter_map(|(d, leaf, what)| {
                let age = f.demographics.age_years(d)?;
                (age < lo || age > hi).then_some((d, leaf, what, age))
            })
            .collect();
        bad.sort_by_key(|b| (b.0, b.1));
        let Some((_, _, what, age)) = bad.first() else {
            return Vec::new();
        };
        let more = match bad.len() - 1 {
            0 => String::new(),
            1 => "; 1 more pregnancy record gives an implausible age too".into(),
            n => format!("; {n} more pregnancy records give an implausible age too"),
        };
        vec![finding(
            self,
            resident,
            evidence(f, bad.iter().map(|b| b.1)),
            at,
            format!(
                "{what} is recorded when the resident was {age} years old, outside the plausible {lo}–{hi} years{more}."
            ),
        )]
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct X12Params {
    severity: Severity,
    window_days: i64,
    closed: Vec<String>,
    open_care_plans: Vec<String>,
    open_tasks: Vec<String>,
}

/// QC-X12: once the resident has died, every programme enrolment is closed, with an end no
/// later than the death + the window, and no care plan or task is left open. Until the window
/// has passed at `T`, open care is not reported (the staff may not know of the death yet); with
/// a death recorded without a date there is no window. Evidence: the Patient recording the
/// death and the open or late-closed record.
pub struct X12DeceasedOpenCare {
    p: X12Params,
}

impl X12DeceasedOpenCare {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        Ok(Self {
            p: params.section("X12")?,
        })
    }
}

impl Rule for X12DeceasedOpenCare {
    rule_meta!("QC-X12", X, severity: p.severity);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let f = &resident.facts;
        let d = &f.demographics;
        if !d.deceased {
            return Vec::new();
        }
        // The Patient that records the death: the dated one, else one with deceasedBoolean.
        let death_leaf = d.death_leaf.or_else(|| {
            resident
                .patients()
                .filter(|(_, p)| p.deceased)
                .map(|(n, _)| n.leaf)
                .min()
        });
        let deadline = d.death.map(|t| t + Duration::days(self.p.window_days));
        let died = d
            .death
            .map_or("The resident is recorded as deceased".into(), |t| {
                format!("The resident died on {}", day(t))
            });
        let window_passed = deadline.is_none_or(|dl| at > dl);
        // (the open or late-closed record, the sentence)
        let mut found: Vec<(u64, String)> = Vec::new();
        for e in &f.episodes {
            let name = e
                .programme
                .as_deref()
                .map_or("a programme enrolment".into(), |p| {
                    format!("the {} enrolment", programme_name(p))
                });
            if status_in(e.status.as_deref(), &self.p.closed) {
                if let (Some(end), Some(dl)) = (e.end, deadline)
                    && end > dl
                {
                    found.push((
                        e.leaf,
                        format!(
                            "{died}, but {name} was closed only on {}, more than {} days later.",
                            day(end),
                            self.p.window_days
                        ),
                    ));
                }
            } else if window_passed {
                found.push((
                    e.leaf,
                    format!(
                        "{died}, but {name} is still {} on {}.",
                        e.status.as_deref().unwrap_or("open"),
                        day(at)
                    ),
                ));
            }
        }
        if window_passed {
            for o in &f.others {
                if o.kind == "CarePlan" && status_in(o.status.as_deref(), &self.p.open_care_plans) {
                    found.push((
                        o.leaf,
                        format!(
                            "{died}, but a care plan is still {} on {}.",
                            o.status.as_deref().unwrap_or(UNSTATED),
                            day(at)
                        ),
                    ));
                }
            }
            for r in &f.requests {
                if r.kind == "Task" && status_in(r.status.as_deref(), &self.p.open_tasks) {
                    let what = r
                        .code
                        .first()
                        .map_or("a task".into(), |(_, c)| format!("a task ({c})"));
                    found.push((
                        r.leaf,
                        format!(
                            "{died}, but {what} is still {} on {}.",
                            r.status.as_deref().unwrap_or(UNSTATED),
                            day(at)
                        ),
                    ));
                }
            }
        }
        found
            .into_iter()
            .map(|(leaf, msg)| {
                let ev = death_leaf.into_iter().chain([leaf]).collect();
                finding(self, resident, ev, at, msg)
            })
            .collect()
    }
}

#[cfg(test)]
#[path = "programme_tests.rs"]
mod tests;
