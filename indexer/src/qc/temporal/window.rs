//! What the temporal rules share: ages as the schedules write them ("21d", "2m", "3y"), the
//! calendar days a FHIR time names as written, and where in a look-back window the resident
//! was enrolled (and alive).

use std::fmt;

use serde::Deserialize;
use time::{Date, OffsetDateTime};

use crate::qc::facts::{Facts, FollowUp, add_months, completed_months};

/// Statuses saying the thing never took place (planned, called off, waiting). A record in one
/// of them is neither a contact nor an enrolment, and cannot be "after death" either.
pub(super) const DID_NOT_HAPPEN: &[&str] = &[
    "planned",
    "cancelled",
    "not-done",
    "preparation",
    "draft",
    "revoked",
    "waitlist",
];

pub(super) fn happened(status: Option<&str>) -> bool {
    !status.is_some_and(|s| DID_NOT_HAPPEN.contains(&s))
}

/// An age or a span of calendar time: days, or calendar months (a year is 12 months, so a
/// 3-year minimum age falls on the third birthday).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(try_from = "String")]
pub(super) enum Age {
    Days(i64),
    Months(i32),
}

impl TryFrom<String> for Age {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        let bad = || format!("{s:?} is not an age like \"21d\", \"2m\" or \"3y\"");
        let (n, unit) = s.split_at(s.len().saturating_sub(1));
        let n: i32 = n.parse().map_err(|_| bad())?;
        if n < 0 {
            return Err(bad());
        }
        match unit {
            "d" => Ok(Self::Days(n.into())),
            "m" => Ok(Self::Months(n)),
            "y" => n.checked_mul(12).map(Self::Months).ok_or_else(bad),
            _ => Err(bad()),
        }
    }
}

impl Age {
    /// The day `self` after `day` (a month-end birthday clamps to a shorter month's end).
    pub(super) fn after(self, day: Date) -> Option<Date> {
        match self {
            Self::Days(d) => day.checked_add(time::Duration::days(d)),
            Self::Months(m) => add_months(day, m),
        }
    }
}

impl fmt::Display for Age {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (n, unit) = match *self {
            Self::Days(d) => (d, "day"),
            Self::Months(m) if m >= 12 && m % 12 == 0 => (i64::from(m / 12), "year"),
            Self::Months(m) => (i64::from(m), "month"),
        };
        write!(f, "{}", count(n, unit))
    }
}

/// "1 day", "3 days".
pub(super) fn count(n: impl Into<i64>, word: &str) -> String {
    let n = n.into();
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// Completed calendar months from `from` to `to` (0 when `to` is earlier).
pub(super) fn months_between(from: Date, to: Date) -> i32 {
    completed_months(from, to).max(0)
}

/// A child's age on `day` in words: "7 months 2 days", "2 years 3 months".
pub(super) fn age_text(birth: Date, day: Date) -> String {
    let months = months_between(birth, day);
    if months >= 24 {
        let rest = months % 12;
        let years = count(months / 12, "year");
        return if rest == 0 {
            years
        } else {
            format!("{years} {}", count(rest, "month"))
        };
    }
    let days = add_months(birth, months).map_or(0, |d| (day - d).whole_days());
    match (months, days) {
        (0, d) => count(d, "day"),
        (m, 0) => count(m, "month"),
        (m, d) => format!("{} {}", count(m, "month"), count(d, "day")),
    }
}

/// Whether the resident is recorded as dead without a date: the look-back rules cannot tell
/// which requirements fell due while the resident was alive, so they do not judge.
pub(super) fn death_undated(facts: &Facts) -> bool {
    facts.demographics.deceased && facts.demographics.death.is_none()
}

/// The parts of the window (from, to] in which the resident belonged to a population
/// (enrolled in a programme, or old enough) and was alive.
#[derive(Debug, Clone)]
pub(super) struct Coverage {
    from: OffsetDateTime,
    to: OffsetDateTime,
    /// `to`, or the death when earlier: nothing is owed after death.
    alive_to: OffsetDateTime,
    /// Merged, in order.
    segments: Vec<(OffsetDateTime, OffsetDateTime)>,
    /// Leaves of the episodes the coverage rests on.
    pub(super) episodes: Vec<u64>,
}

impl Coverage {
    /// An empty coverage of (from, to].
    pub(super) fn new(facts: &Facts, from: OffsetDateTime, to: OffsetDateTime) -> Self {
        Self {
            from,
            to,
            alive_to: facts.demographics.death.map_or(to, |d| d.min(to)),
            segments: Vec::new(),
            episodes: Vec::new(),
        }
    }

    /// The window's coverage by the resident's episodes of `programmes` that were real
    /// enrolments (not planned, waiting or cancelled).
    pub(super) fn enrolment(
        facts: &Facts,
        programmes: &[&str],
        from: OffsetDateTime,
        to: OffsetDateTime,
    ) -> Self {
        let mut c = Self::new(facts, from, to);
        for e in facts.episodes.iter().filter(|e| {
            e.programme
                .as_deref()
                .is_some_and(|p| programmes.contains(&p))
                && happened(e.status.as_deref())
        }) {
            if let Some(start) = e.start
                && c.add(start, e.end)
            {
                c.episodes.push(e.leaf);
            }
        }
        c
    }

    /// Adds [start, end] (open-ended without `end`); whether it overlaps the window.
    pub(super) fn add(&mut self, start: OffsetDateTime, end: Option<OffsetDateTime>) -> bool {
        let (s, e) = (
            start.max(self.from),
            end.map_or(self.alive_to, |e| e.min(self.alive_to)),
        );
        if s >= e {
            return false;
        }
        self.segments.push((s, e));
        self.segments.sort();
        let mut merged: Vec<(OffsetDateTime, OffsetDateTime)> = Vec::new();
        for (s, e) in self.segments.drain(..) {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        self.segments = merged;
        true
    }

    pub(super) fn any(&self) -> bool {
        !self.segments.is_empty()
    }

    /// Covers the whole window, the resident alive at its end.
    pub(super) fn whole(&self) -> bool {
        self.segments
            .iter()
            .any(|&(s, e)| s <= self.from && e >= self.to)
    }

    /// Completed calendar months covered, `window_months` for the whole window: the
    /// pro-rata base of "n per year". Each part counts its own completed months, so split
    /// enrolments are never asked for more than they could have done.
    pub(super) fn months(&self, window_months: i32) -> i32 {
        if self.whole() {
            return window_months;
        }
        self.segments
            .iter()
            .map(|(s, e)| months_between(s.date(), e.date()))
            .sum::<i32>()
            .min(window_months)
    }

    /// The covered part holding `t`.
    pub(super) fn segment_of(&self, t: OffsetDateTime) -> Option<(OffsetDateTime, OffsetDateTime)> {
        self.segments
            .iter()
            .copied()
            .find(|&(s, e)| s <= t && t <= e)
    }
}

/// The calendar day of a follow-up's visit as written (its UTC day if the visit is gone).
pub(in crate::qc) fn follow_up_day(facts: &Facts, f: &FollowUp) -> Date {
    facts
        .visits
        .get(f.visit)
        .and_then(|v| v.day)
        .unwrap_or(f.at.date())
}

/// Midnight UTC starting `day`: the instant a date-only FHIR value denotes.
pub(super) fn midnight(day: Date) -> OffsetDateTime {
    day.midnight().assume_utc()
}

/// `leaves` in order, each once.
pub(super) fn evidence(leaves: impl IntoIterator<Item = u64>) -> Vec<u64> {
    let mut out = Vec::new();
    for l in leaves {
        if !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn ages_parse_and_print() {
        let age = |s: &str| Age::try_from(s.to_owned());
        assert_eq!(age("21d"), Ok(Age::Days(21)));
        assert_eq!(age("3y"), Ok(Age::Months(36)));
        assert!(age("3w").is_err() && age("-2m").is_err() && age("").is_err());
        assert_eq!(Age::Months(36).to_string(), "3 years");
        assert_eq!(Age::Months(18).to_string(), "18 months");
        assert_eq!(Age::Months(1).to_string(), "1 month");
        assert_eq!(
            Age::Months(8).after(date!(2024 - 01 - 31)),
            Some(date!(2024 - 09 - 30))
        );
        assert_eq!(
            age_text(date!(2024 - 01 - 01), date!(2024 - 08 - 03)),
            "7 months 2 days"
        );
        assert_eq!(
            age_text(date!(2020 - 01 - 01), date!(2024 - 08 - 03)),
            "4 years 7 months"
        );
    }
}
