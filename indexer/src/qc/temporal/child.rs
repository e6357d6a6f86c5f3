//! Child health and vaccination timing: QC-T09 (check-up schedule with its Hb, hearing and
//! TCM sub-checks) and QC-T10 (vaccine given before the minimum age).
//!
//! Ages are counted in calendar months and days from the birth date, and visits and
//! vaccinations on the calendar day written in the record.

use serde::Deserialize;
use time::{Date, Duration, OffsetDateTime};

use super::window::{Age, age_text, death_undated, evidence, happened};
use crate::qc::facts::Facts;
use crate::qc::field::{finding, finding_with_severity};
use crate::qc::params::{Params, ParamsError, Severity};
use crate::qc::{Finding, ResidentView, Rule, rule_meta};

/// An age window, both ends inclusive.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct AgeWindow {
    name: String,
    from: Age,
    to: Age,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Newborn {
    name: String,
    /// Within this long after discharge from the birth stay…
    after_discharge: Age,
    /// …or after birth, when no birth stay with an end is recorded.
    unknown_discharge: Age,
    /// The birth stay: an encounter of one of these classes starting within
    /// `stay_starts_within` of birth, with an end.
    stay_classes: Vec<String>,
    stay_starts_within: Age,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct T09Params {
    severity: Severity,
    under: Age,
    services: Vec<String>,
    newborn: Newborn,
    checks: Vec<AgeWindow>,
    sub_severity: Severity,
    hb: Vec<AgeWindow>,
    hearing: Vec<AgeWindow>,
    tcm: Vec<AgeWindow>,
    tcm_service: String,
}

/// QC-T09: a child younger than `under` has, for every check whose window has ended (age >
/// window end, while alive), a finished child-health visit (`services`) inside the window;
/// one visit serves one check. Sub-checks, reported with `sub_severity`: an Hb result, a
/// hearing screen and a TCM child visit in their windows. Evidence: the Patient (and the
/// birth stay the newborn window is counted from).
pub struct T09ChildCheckSchedule {
    severity: Severity,
    p: T09Params,
    hb: String,
    hearing: String,
}

impl T09ChildCheckSchedule {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: T09Params = params.section("T09")?;
        Ok(Self {
            severity: p.severity,
            hb: params.codes.hb.clone(),
            hearing: params.items()?.hearing_screen,
            p,
        })
    }
}

/// One window of one child: its name, how it is counted, its days, and the records it was
/// counted from.
struct Span {
    name: String,
    detail: String,
    start: Date,
    end: Date,
    leaves: Vec<u64>,
}

fn span(w: &AgeWindow, birth: Date) -> Option<Span> {
    Some(Span {
        name: w.name.clone(),
        detail: format!("between {} and {} of age", w.from, w.to),
        start: w.from.after(birth)?,
        end: w.to.after(birth)?,
        leaves: Vec::new(),
    })
}

impl T09ChildCheckSchedule {
    fn newborn(&self, facts: &Facts, birth: Date) -> Option<Span> {
        let n = &self.p.newborn;
        let stay_start_limit = n.stay_starts_within.after(birth)?;
        let stay = facts.visits.iter().find(|v| {
            v.class.as_ref().is_some_and(|c| n.stay_classes.contains(c))
                && v.day.is_some_and(|d| birth <= d && d <= stay_start_limit)
                && v.end.is_some()
        });
        let (end, detail, leaves) = match stay.and_then(|v| Some((v, v.end?))) {
            Some((v, discharged)) => (
                n.after_discharge.after(discharged.date())?,
                format!(
                    "within {} of discharge from the birth stay",
                    n.after_discharge
                ),
                vec![v.leaf],
            ),
            None => (
                n.unknown_discharge.after(birth)?,
                format!("within {} of birth", n.unknown_discharge),
                Vec::new(),
            ),
        };
        Some(Span {
            name: n.name.clone(),
            detail,
            start: birth,
            end,
            leaves,
        })
    }
}

impl Rule for T09ChildCheckSchedule {
    rule_meta!("QC-T09", T, defaults: ["checks (1-month 21–45 d, ±1 month, ±3 months)"]);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let facts = &resident.facts;
        let d = &facts.demographics;
        let (Some(birth), Some(patient)) = (d.birth, d.leaf) else {
            return Vec::new();
        };
        let today = at.date();
        if death_undated(facts) || today < birth || self.p.under.after(birth) <= Some(today) {
            return Vec::new();
        }
        let death = d.death.map(|t| t.date());
        // Due once the window has ended, and only if the child lived past its end.
        let due = |end: Date| today > end && death.is_none_or(|x| x > end);
        let now = age_text(birth, today);
        let mut out = Vec::new();
        let mut report = |severity: Severity, what: String, s: &Span| {
            out.push(finding_with_severity(
                self,
                severity,
                resident,
                evidence([patient].into_iter().chain(s.leaves.iter().copied())),
                at,
                format!(
                    "No {what} ({}, {} to {}); the child is now {now} old.",
                    s.detail, s.start, s.end
                ),
            ));
        };

        let mut spans: Vec<Span> = self.newborn(facts, birth).into_iter().collect();
        spans.extend(self.p.checks.iter().filter_map(|w| span(w, birth)));
        // Earliest-ending window first, each taking the earliest free visit inside it:
        // this matches as many windows as any assignment can.
        spans.sort_by_key(|s| (s.end, s.start));
        let visits: Vec<Date> = facts
            .visits
            .iter()
            .filter(|v| {
                v.service
                    .as_ref()
                    .is_some_and(|s| self.p.services.contains(s))
                    && v.status.as_deref() == Some("finished")
            })
            .filter_map(|v| v.day)
            .filter(|d| *d <= today)
            .collect();
        let mut used = vec![false; visits.len()];
        for s in &spans {
            let free =
                (0..visits.len()).find(|&i| !used[i] && s.start <= visits[i] && visits[i] <= s.end);
            match free {
                Some(i) => used[i] = true,
                None if due(s.end) => report(self.severity, s.name.clone(), s),
                None => {}
            }
        }

        let sub = self.p.sub_severity;
        let observed = |code: &str, s: &Span| {
            facts.observations.iter().any(|o| {
                o.code.as_deref() == Some(code) && o.day.is_some_and(|d| s.start <= d && d <= s.end)
            })
        };
        for s in self.p.hb.iter().filter_map(|w| span(w, birth)) {
            if due(s.end) && !observed(&self.hb, &s) {
                report(sub, format!("haemoglobin test at {}", s.name), &s);
            }
        }
        for s in self.p.hearing.iter().filter_map(|w| span(w, birth)) {
            if due(s.end) && !observed(&self.hearing, &s) {
                report(sub, format!("hearing screen at {}", s.name), &s);
            }
        }
        for s in self.p.tcm.iter().filter_map(|w| span(w, birth)) {
            let seen = facts.visits_of(&self.p.tcm_service).any(|v| {
                v.status.as_deref() == Some("finished")
                    && v.day.is_some_and(|d| s.start <= d && d <= s.end)
            });
            if due(s.end) && !seen {
                report(sub, format!("TCM health guidance visit at {}", s.name), &s);
            }
        }
        out
    }
}

/// The youngest age a dose of one series may be given at.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct MinAge {
    series: String,
    dose: u32,
    age: Age,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct T10Params {
    severity: Severity,
    grace_days: i64,
    min_ages: Vec<MinAge>,
}

/// QC-T10: a dose (`protocolApplied.series` + `doseNumberPositiveInt`) listed in `min_ages`
/// is given no earlier than birth + that age − `grace_days`. A dose dated before birth is
/// QC-T01's finding and not repeated here; a dose not given (`not-done`) is not judged.
/// Evidence: the Patient and the Immunization.
pub struct T10VaccineMinimumAge {
    severity: Severity,
    grace: Duration,
    min_ages: Vec<MinAge>,
}

impl T10VaccineMinimumAge {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: T10Params = params.section("T10")?;
        Ok(Self {
            severity: p.severity,
            grace: Duration::days(p.grace_days),
            min_ages: p.min_ages,
        })
    }
}

impl Rule for T10VaccineMinimumAge {
    rule_meta!("QC-T10", T, defaults: ["grace_days"]);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let d = &resident.facts.demographics;
        let (Some(birth), Some(patient)) = (d.birth, d.leaf) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for dose in &resident.facts.doses {
            let (Some(series), Some(n), Some(day)) = (&dose.series, dose.dose_number, dose.day)
            else {
                continue;
            };
            if !happened(dose.status.as_deref()) || day < birth {
                continue;
            }
            let Some(min) = self
                .min_ages
                .iter()
                .find(|m| m.dose == n && m.series.eq_ignore_ascii_case(series.trim()))
            else {
                continue;
            };
            let Some(due) = min.age.after(birth) else {
                continue;
            };
            if day >= due - self.grace {
                continue;
            }
            out.push(finding(
                self,
                resident,
                vec![patient, dose.leaf],
                at,
                format!(
                    "{} dose {n} was given on {day} at the age of {}, before the minimum age of {} ({due}; up to {} earlier is accepted).",
                    min.series,
                    age_text(birth, day),
                    min.age,
                    super::window::count(self.grace.whole_days(), "day")
                ),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests;
