//! Vaccination timing (QC-T11, QC-T12) against the 2021 national schedule (DOMAIN.md §2.3).
//!
//! A dose is an Immunization's `protocolApplied.series` (the antigen series) and
//! `doseNumberPositiveInt`. The schedule tables live in the parameter file, written as
//! `Series-n` ("MPSV-AC-1" is dose 1 of MPSV-AC).

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use time::{Date, Duration, OffsetDateTime};

use super::super::facts::{Dose, add_months};
use super::super::field::{finding, finding_with_severity};
use super::super::params::{Params, ParamsError, Severity};
use super::super::{Finding, ResidentView, Rule, rule_meta};
use super::window::Age;
use super::{days, dead_by, months_text};

/// Dose `number` of `series`, as the parameter file writes it (`Series-n`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct DoseRef {
    series: String,
    number: u32,
}

impl DoseRef {
    fn parse(section: &'static str, s: &str) -> Result<Self, ParamsError> {
        s.rsplit_once('-')
            .and_then(|(series, n)| {
                let number = n.parse().ok().filter(|n| *n > 0)?;
                (!series.is_empty()).then(|| Self {
                    series: series.to_owned(),
                    number,
                })
            })
            .ok_or_else(|| ParamsError::BadSection {
                name: section,
                reason: format!("{s:?} is not a dose written Series-n"),
            })
    }

    fn is(&self, series: &str, number: u32) -> bool {
        self.series == series && self.number == number
    }
}

impl fmt::Display for DoseRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} dose {}", self.series, self.number)
    }
}

/// A dose that was given: not `not-done` (entered-in-error records are already gone from the
/// facts), with a series, a dose number and a date no later than `T`. A record without a
/// status still counts as given: the missing status is QC-F04's finding, and the record is
/// still evidence the child was vaccinated.
struct Given<'a> {
    dose: &'a Dose,
    series: &'a str,
    number: u32,
    day: Date,
}

fn given(doses: &[Dose], at: OffsetDateTime) -> impl Iterator<Item = Given<'_>> {
    doses.iter().filter_map(move |d| {
        if d.status.as_deref() == Some("not-done") || d.at.is_none_or(|t| t > at) {
            return None;
        }
        Some(Given {
            dose: d,
            series: d.series.as_deref()?,
            number: d.dose_number?,
            day: d.day?,
        })
    })
}

fn bad(name: &'static str, reason: &str) -> ParamsError {
    ParamsError::BadSection {
        name,
        reason: reason.to_owned(),
    }
}

/// A minimum gap, in days or in calendar months: an [`Age`] counted from the previous dose,
/// worded as the schedule states it ("28 days", "12 months").
#[derive(Debug, Clone, Copy)]
struct Gap(Age);

impl Gap {
    fn read(
        name: &'static str,
        days: Option<i64>,
        months: Option<i32>,
        what: &str,
    ) -> Result<Self, ParamsError> {
        match (days, months) {
            (Some(d), None) if d >= 0 => Ok(Self(Age::Days(d))),
            (None, Some(m)) if m >= 0 => Ok(Self(Age::Months(m))),
            _ => Err(bad(
                name,
                &format!("{what}: give one non-negative of days or months"),
            )),
        }
    }

    /// The first day that is at least this gap after `day`.
    fn after(self, day: Date) -> Option<Date> {
        self.0.after(day)
    }
}

impl fmt::Display for Gap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Age::Days(d) => write!(f, "{d} days"),
            Age::Months(m) => f.write_str(&months_text(m)),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct T11Params {
    severity: Severity,
    series_alias: BTreeMap<String, String>,
    doses: BTreeMap<String, u32>,
    intervals: Vec<IntervalParam>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IntervalParam {
    from: String,
    to: String,
    min_days: Option<i64>,
    min_months: Option<i32>,
}

struct Interval {
    from: DoseRef,
    to: DoseRef,
    min: Gap,
}

/// QC-T11: within each antigen series the doses follow one another in time, no dose number
/// exceeds the series' dose count, and the schedule's minimum intervals are kept (also across
/// series, e.g. bOPV after IPV). Series that are one antigen series under two names (IPV and
/// bOPV are doses 1–2 and 3–4 of polio) are merged by `series_alias`. When a dose is recorded
/// twice (QC-X10's finding), the earliest record stands for it.
pub struct T11DoseInterval {
    severity: Severity,
    alias: BTreeMap<String, String>,
    doses: BTreeMap<String, u32>,
    intervals: Vec<Interval>,
}

impl T11DoseInterval {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        const NAME: &str = "T11";
        let p: T11Params = params.section(NAME)?;
        let intervals = p
            .intervals
            .iter()
            .map(|i| {
                Ok(Interval {
                    from: DoseRef::parse(NAME, &i.from)?,
                    to: DoseRef::parse(NAME, &i.to)?,
                    min: Gap::read(NAME, i.min_days, i.min_months, &i.to)?,
                })
            })
            .collect::<Result<_, ParamsError>>()?;
        Ok(Self {
            severity: p.severity,
            alias: p.series_alias,
            doses: p.doses,
            intervals,
        })
    }

    fn canonical<'a>(&'a self, series: &'a str) -> &'a str {
        self.alias.get(series).map_or(series, String::as_str)
    }
}

impl Rule for T11DoseInterval {
    rule_meta!("QC-T11", T);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        // (canonical series, dose number) → the earliest record of that dose.
        let mut by_dose: BTreeMap<(&str, u32), Given<'_>> = BTreeMap::new();
        for g in given(&resident.facts.doses, at) {
            let key = (self.canonical(g.series), g.number);
            if by_dose.get(&key).is_none_or(|h| g.day < h.day) {
                by_dose.insert(key, g);
            }
        }
        let mut out = Vec::new();
        let name = |g: &Given<'_>| format!("{} dose {}", g.series, g.number);
        for ((series, n), g) in &by_dose {
            let limit = self.doses.get(*series).copied().or(g.dose.series_doses);
            if let Some(limit) = limit.filter(|l| n > l) {
                out.push(finding(
                    self,
                    resident,
                    vec![g.dose.leaf],
                    at,
                    format!(
                        "{} is recorded on {}, but the {series} series has only {limit} doses.",
                        name(g),
                        g.day
                    ),
                ));
            }
        }
        // Consecutive recorded doses of one series (the map is ordered by series, then number).
        let list: Vec<_> = by_dose.iter().collect();
        for pair in list.windows(2) {
            let (((s1, _), a), ((s2, _), b)) = (pair[0], pair[1]);
            if s1 == s2 && b.day <= a.day {
                out.push(finding(
                    self,
                    resident,
                    vec![a.dose.leaf, b.dose.leaf],
                    at,
                    format!(
                        "{} is dated {}, not after {} on {}.",
                        name(b),
                        b.day,
                        name(a),
                        a.day
                    ),
                ));
            }
        }
        for iv in &self.intervals {
            let from = by_dose.get(&(self.canonical(&iv.from.series), iv.from.number));
            let to = by_dose.get(&(self.canonical(&iv.to.series), iv.to.number));
            let (Some(a), Some(b)) = (from, to) else {
                continue;
            };
            let same_series = self.canonical(a.series) == self.canonical(b.series);
            // Order within a series is reported above, once.
            if same_series && b.day <= a.day {
                continue;
            }
            let Some(earliest) = iv.min.after(a.day) else {
                continue;
            };
            if b.day >= earliest {
                continue;
            }
            let gap = days(a.day, b.day);
            let when = if gap < 0 {
                format!("before {} ({})", name(a), a.day)
            } else if gap == 0 {
                format!("on the same day as {}", name(a))
            } else {
                format!("{gap} days after {} ({})", name(a), a.day)
            };
            out.push(finding(
                self,
                resident,
                vec![a.dose.leaf, b.dose.leaf],
                at,
                format!(
                    "{} on {} was given {when}; the minimum interval is {}.",
                    name(b),
                    b.day,
                    iv.min
                ),
            ));
        }
        out
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct T12Params {
    severity: Severity,
    max_age_months: i32,
    birth_dose: String,
    birth_dose_days: i64,
    birth_dose_severity: Severity,
    due: Vec<DueParam>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DueParam {
    dose: String,
    #[serde(default, rename = "or")]
    alternatives: Vec<String>,
    before_months: Option<i32>,
    within_days: Option<i64>,
    #[serde(default)]
    if_started: bool,
}

/// When a dose must have been given by.
#[derive(Debug, Clone, Copy)]
enum Deadline {
    /// While the child is younger than this many months.
    BeforeMonths(i32),
    /// No later than this many days after birth.
    WithinDays(i64),
}

impl Deadline {
    /// The first day on which the dose, if still missing, is overdue.
    fn overdue_from(self, birth: Date) -> Option<Date> {
        match self {
            Self::BeforeMonths(m) => add_months(birth, m),
            Self::WithinDays(d) => birth.checked_add(Duration::days(d + 1)),
        }
    }
}

impl fmt::Display for Deadline {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BeforeMonths(m) => write!(f, "before {}", months_text(*m)),
            Self::WithinDays(1) => f.write_str("within a day of birth"),
            Self::WithinDays(d) => write!(f, "within {d} days of birth"),
        }
    }
}

struct Due {
    dose: DoseRef,
    alternatives: Vec<DoseRef>,
    deadline: Deadline,
    if_started: bool,
}

/// QC-T12: a child older than a "must complete before" age of the schedule has that dose (or
/// an accepted alternative, e.g. JE inactivated for JE live), or a `not-done` record of it
/// with a status reason (contraindication, refusal); a `not-done` naming the series and no
/// dose covers every dose of the series. An entry with `if_started` is due only once the child
/// has a record of its series (the second inactivated HepA dose, for a child on that vaccine).
/// HepB dose 1 given more than a day after birth (birth dates carry no time, so "24 hours"
/// is read as "by the next day") without a reason is reported with its own, lower severity.
/// Children are checked up to `max_age_months`, and not after death.
pub struct T12VaccineOverdue {
    severity: Severity,
    max_age_months: i32,
    birth_dose: DoseRef,
    birth_dose_days: i64,
    birth_dose_severity: Severity,
    due: Vec<Due>,
}

impl T12VaccineOverdue {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        const NAME: &str = "T12";
        let p: T12Params = params.section(NAME)?;
        let due = p
            .due
            .iter()
            .map(|d| {
                let deadline = match (d.before_months, d.within_days) {
                    (Some(m), None) if m > 0 => Deadline::BeforeMonths(m),
                    (None, Some(n)) if n >= 0 => Deadline::WithinDays(n),
                    _ => {
                        return Err(bad(
                            NAME,
                            &format!("{}: give one of before_months or within_days", d.dose),
                        ));
                    }
                };
                Ok(Due {
                    dose: DoseRef::parse(NAME, &d.dose)?,
                    alternatives: d
                        .alternatives
                        .iter()
                        .map(|a| DoseRef::parse(NAME, a))
                        .collect::<Result<_, _>>()?,
                    deadline,
                    if_started: d.if_started,
                })
            })
            .collect::<Result<_, ParamsError>>()?;
        Ok(Self {
            severity: p.severity,
            max_age_months: p.max_age_months,
            birth_dose: DoseRef::parse(NAME, &p.birth_dose)?,
            birth_dose_days: p.birth_dose_days,
            birth_dose_severity: p.birth_dose_severity,
            due,
        })
    }
}

/// A `not-done` record with a reason, of `d`'s series and of dose `d` or of no dose.
fn excused(doses: &[Dose], d: &DoseRef, at: OffsetDateTime) -> Option<u64> {
    doses
        .iter()
        .find(|x| {
            x.status.as_deref() == Some("not-done")
                && x.has_status_reason
                && x.series.as_deref() == Some(d.series.as_str())
                && x.dose_number.is_none_or(|n| n == d.number)
                && x.at.is_none_or(|t| t <= at)
        })
        .map(|x| x.leaf)
}

impl Rule for T12VaccineOverdue {
    rule_meta!("QC-T12", T, defaults: ["max_age_months"]);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let f = &resident.facts;
        let d = &f.demographics;
        let (Some(birth), Some(patient)) = (d.birth, d.leaf) else {
            return Vec::new();
        };
        let today = at.date();
        let Some(age) = d.age_months(today) else {
            return Vec::new();
        };
        if age < 0 || age > self.max_age_months || dead_by(d, at) {
            return Vec::new();
        }
        let given: Vec<Given<'_>> = given(&f.doses, at).collect();
        let has = |r: &DoseRef| given.iter().find(|g| r.is(g.series, g.number));
        let mut out = Vec::new();
        for due in &self.due {
            let Some(overdue_from) = due.deadline.overdue_from(birth) else {
                continue;
            };
            if today < overdue_from {
                continue;
            }
            let candidates: Vec<&DoseRef> = std::iter::once(&due.dose)
                .chain(&due.alternatives)
                .collect();
            let series_records: Vec<u64> = f
                .doses
                .iter()
                .filter(|x| x.at.is_none_or(|t| t <= at))
                .filter(|x| {
                    candidates
                        .iter()
                        .any(|c| x.series.as_deref() == Some(c.series.as_str()))
                })
                .map(|x| x.leaf)
                .collect();
            if due.if_started && series_records.is_empty() {
                continue;
            }
            if candidates.iter().any(|c| has(c).is_some())
                || candidates
                    .iter()
                    .any(|c| excused(&f.doses, c, at).is_some())
            {
                continue;
            }
            let also = due
                .alternatives
                .iter()
                .map(|a| format!(" or {a}"))
                .collect::<String>();
            let mut evidence = vec![patient];
            evidence.extend(series_records);
            out.push(finding(
                self,
                resident,
                evidence,
                at,
                format!(
                    "The child is {} old and has no {}{also}, which is due {}, and no record of why it was not given.",
                    months_text(age),
                    due.dose,
                    due.deadline
                ),
            ));
        }
        if let Some(g) = has(&self.birth_dose) {
            let late = days(birth, g.day) > self.birth_dose_days;
            if late
                && !g.dose.has_status_reason
                && excused(&f.doses, &self.birth_dose, at).is_none()
            {
                out.push(finding_with_severity(
                    self,
                    self.birth_dose_severity,
                    resident,
                    vec![patient, g.dose.leaf],
                    at,
                    format!(
                        "{} was given on {}, {} days after birth ({birth}); it is due within 24 hours of birth and no reason for the delay is recorded.",
                        self.birth_dose,
                        g.day,
                        days(birth, g.day)
                    ),
                ));
            }
        }
        out
    }
}

#[cfg(test)]
#[path = "vaccine_tests.rs"]
mod tests;
