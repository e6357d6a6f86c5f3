//! The `[programmes]` section of the parameter file: every schedule as data, so that a region
//! changes a window or an interval without touching code.

use std::fmt;

use serde::Deserialize;
use time::{Date, Duration};

use super::Class;
use crate::qc::facts::add_months;

/// A length of time as the national forms state it: `28d`, `2w`, `3m`, `4y`, or a sum such as
/// `12w6d` or `1y6m`. Months and years are calendar months (added with the day clamped to
/// the month's end); days and weeks are days.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub struct Span {
    pub months: i32,
    pub days: i64,
}

impl Span {
    pub fn parse(s: &str) -> Option<Self> {
        let (mut months, mut days, mut digits) = (0i32, 0i64, String::new());
        if s.is_empty() {
            return None;
        }
        for ch in s.chars() {
            if ch.is_ascii_digit() {
                digits.push(ch);
                continue;
            }
            let n: i64 = digits.parse().ok()?;
            digits.clear();
            match ch {
                'd' => days += n,
                'w' => days += 7 * n,
                'm' => months += i32::try_from(n).ok()?,
                'y' => months += 12 * i32::try_from(n).ok()?,
                _ => return None,
            }
        }
        digits.is_empty().then_some(Self { months, days })
    }

    /// `day` + this span, `None` past the calendar's range.
    pub fn after(self, day: Date) -> Option<Date> {
        add_months(day, self.months)?.checked_add(Duration::days(self.days))
    }

    /// `day` − this span.
    pub fn before(self, day: Date) -> Option<Date> {
        add_months(day, -self.months)?.checked_sub(Duration::days(self.days))
    }

    /// This span `k` times over, for the `k`-th slot of a periodic schedule.
    pub fn times(self, k: i32) -> Self {
        Self {
            months: self.months * k,
            days: self.days * i64::from(k),
        }
    }

    pub fn is_zero(self) -> bool {
        self.months == 0 && self.days == 0
    }
}

impl TryFrom<String> for Span {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Self::parse(&s).ok_or_else(|| format!("{s:?} is not a span such as 28d, 2w, 3m, 1y6m"))
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.months, self.days) {
            (0, 1) => write!(f, "1 day"),
            (0, d) => write!(f, "{d} days"),
            (1, 0) => write!(f, "1 month"),
            (m, 0) => write!(f, "{m} months"),
            (m, d) => write!(f, "{m} months {d} days"),
        }
    }
}

/// The whole `[programmes]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgrammeParams {
    /// Periodic obligations are listed from this far back (the "12m" of DOMAIN.md §4.1), and a
    /// programme that ended longer ago is not listed.
    pub lookback_days: i64,
    /// Condition clinical statuses that qualify (a Condition without one qualifies too).
    pub qualifying_statuses: Vec<String>,
    /// The annual health check the chronic programmes and the elderly share.
    pub health_check: Periodic,
    #[serde(rename = "HTN")]
    pub htn: Chronic,
    #[serde(rename = "T2D")]
    pub t2d: Chronic,
    #[serde(rename = "SMI")]
    pub smi: Chronic,
    #[serde(rename = "TB")]
    pub tb: Tb,
    #[serde(rename = "PREG")]
    pub preg: Preg,
    #[serde(rename = "CHILD")]
    pub child: Child,
    #[serde(rename = "ELDER")]
    pub elder: Elder,
    #[serde(rename = "IMM")]
    pub imm: Imm,
}

/// Something due once in every consecutive `every` from an anchor date.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Periodic {
    pub kind: String,
    pub class: Class,
    pub every: Span,
    /// phs-service codes of a visit that meets it (`ANC-*` matches a prefix).
    #[serde(default)]
    pub services: Vec<String>,
    /// Observation codes of a record that meets it.
    #[serde(default)]
    pub codes: Vec<String>,
}

/// HTN, T2D and SMI: enrolment after the diagnosis, valid follow-ups every `follow_up.every`,
/// and a revisit after a follow-up that calls for one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chronic {
    /// The `[value_sets]` set of the qualifying diagnoses (`HTN`): one list serves the QC
    /// rules and the programme, ICD-10 and the accepted SNOMED CT codes alike.
    pub value_set: String,
    /// Minimum age at the diagnosis date.
    pub min_age: Option<Span>,
    pub enrol_within: Span,
    pub follow_up: FollowUpSpec,
    pub revisit: Revisit,
    pub health_check: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUpSpec {
    pub kind: String,
    pub every: Span,
}

/// What makes a follow-up call for a revisit within `within`: a value at or past one of the
/// thresholds given (BP, fasting glucose in mmol/L, risk grade).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revisit {
    pub kind: String,
    pub within: Span,
    pub sbp: Option<f64>,
    pub dbp: Option<f64>,
    pub fbg: Option<f64>,
    pub risk: Option<i64>,
}

/// Pulmonary TB: first home visit after the CDC notice, supervision visits in the intensive
/// and continuation phases, and the case-closure assessment at the end of the course.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tb {
    /// As [`Chronic::value_set`].
    pub value_set: String,
    pub enrol_within: Span,
    pub first_visit: FirstVisit,
    /// The phases from the episode start, one after the other; the course ends with the last.
    pub intensive: Phase,
    pub continuation: Phase,
    pub closure: Closure,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirstVisit {
    pub kind: String,
    pub within: Span,
    /// Encounter classes of a home visit.
    pub classes: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub kind: String,
    pub every: Span,
    pub length: Span,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Closure {
    pub kind: String,
    pub within: Span,
}

/// Obligations at fixed offsets from an anchor date (birth, pregnancy start, delivery).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Group {
    pub class: Class,
    #[serde(default)]
    pub services: Vec<String>,
    #[serde(default)]
    pub codes: Vec<String>,
    /// Whether a record after the window still meets the obligation (late).
    #[serde(default)]
    pub late: bool,
    pub items: Vec<Item>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub kind: String,
    pub from: Span,
    pub to: Span,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preg {
    /// A pregnancy start (LMP, or EDD − 280 d) older than this is not the current pregnancy.
    pub max_length: Span,
    /// EDD minus this is the pregnancy start.
    pub edd_to_start: Span,
    /// Antenatal windows from the pregnancy start; those after the delivery are not due.
    pub antenatal: Vec<Group>,
    /// Postnatal windows from the delivery.
    pub postnatal: Vec<Group>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Child {
    /// Children under this age.
    pub max_age: Span,
    /// Windows from the birth date, matched in order (a visit meets one obligation).
    pub groups: Vec<Group>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Elder {
    pub min_age: Span,
    pub health_check: bool,
    /// Due every period from the birthday at `min_age`.
    pub periodic: Vec<Periodic>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Imm {
    pub max_age: Span,
    /// A visit of these services starts the vaccination archive like a dose does.
    pub services: Vec<String>,
    pub doses: Vec<DoseSpec>,
}

/// One dose of the national schedule: `protocolApplied.series` (case-insensitive) and
/// `doseNumber`, due from `from` of age, to be complete by `to`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DoseSpec {
    pub series: String,
    pub dose: u32,
    pub from: Span,
    pub to: Span,
    /// Other doses, written `Series-n`, that meet it: the same dose under another series name
    /// (polio numbered across IPV and bOPV as `Polio`) or of the alternative vaccine.
    #[serde(default, rename = "or")]
    pub alternatives: Vec<String>,
}

/// `Series-n` as series and dose number.
fn dose_ref(s: &str) -> Option<(&str, u32)> {
    let (series, n) = s.rsplit_once('-')?;
    let n = n.parse().ok().filter(|n| *n > 0)?;
    (!series.is_empty()).then_some((series, n))
}

impl DoseSpec {
    /// Whether dose `number` of `series` (case-insensitive) is this dose or an alternative.
    pub fn accepts(&self, series: &str, number: u32) -> bool {
        let is = |s: &str, n: u32| n == number && s.eq_ignore_ascii_case(series.trim());
        is(&self.series, self.dose)
            || self
                .alternatives
                .iter()
                .filter_map(|a| dose_ref(a))
                .any(|(s, n)| is(s, n))
    }
}

impl ProgrammeParams {
    /// The problems TOML cannot see: empty periods (a periodic schedule would never advance)
    /// and windows that end before they start.
    pub(super) fn check(&self) -> Result<(), String> {
        let mut periods = vec![
            ("health_check.every", self.health_check.every),
            ("TB.intensive.every", self.tb.intensive.every),
            ("TB.continuation.every", self.tb.continuation.every),
        ];
        for (name, c) in [("HTN", &self.htn), ("T2D", &self.t2d), ("SMI", &self.smi)] {
            periods.push((name, c.follow_up.every));
        }
        periods.extend(
            self.elder
                .periodic
                .iter()
                .map(|p| ("ELDER.periodic", p.every)),
        );
        if let Some((name, _)) = periods.iter().find(|(_, s)| s.is_zero() || s.days < 0) {
            return Err(format!("{name}: a period must be longer than zero"));
        }
        let alternatives = self.imm.doses.iter().flat_map(|d| &d.alternatives);
        if let Some(bad) = alternatives.clone().find(|a| dose_ref(a).is_none()) {
            return Err(format!("IMM: {bad:?} is not a dose written Series-n"));
        }
        let windows = self
            .child
            .groups
            .iter()
            .chain(&self.preg.antenatal)
            .chain(&self.preg.postnatal)
            .flat_map(|g| g.items.iter().map(|i| (i.kind.as_str(), i.from, i.to)))
            .chain(
                self.imm
                    .doses
                    .iter()
                    .map(|d| (d.series.as_str(), d.from, d.to)),
            );
        for (kind, from, to) in windows {
            // Compared on one reference date: spans mixing months and days have no total order.
            let day = time::macros::date!(2000 - 01 - 01);
            if to.after(day) < from.after(day) {
                return Err(format!(
                    "{kind}: the window ends ({to}) before it starts ({from})"
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn spans_read_the_forms_notation() {
        assert_eq!(
            Span::parse("28d"),
            Some(Span {
                months: 0,
                days: 28
            })
        );
        assert_eq!(
            Span::parse("12w6d"),
            Some(Span {
                months: 0,
                days: 90
            })
        );
        assert_eq!(
            Span::parse("1y6m"),
            Some(Span {
                months: 18,
                days: 0
            })
        );
        for bad in ["", "3", "m", "3x", "-3m", "3m2"] {
            assert_eq!(Span::parse(bad), None, "{bad}");
        }
        let m = Span::parse("1m").expect("span");
        assert_eq!(m.after(date!(2024 - 01 - 31)), Some(date!(2024 - 02 - 29)));
        assert_eq!(
            m.times(3).after(date!(2024 - 01 - 31)),
            Some(date!(2024 - 04 - 30))
        );
    }
}
