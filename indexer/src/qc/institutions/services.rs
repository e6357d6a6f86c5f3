//! Programme services counted at two institutions: one follow-up reported by both (QC-I03),
//! one programme managed by both at once (QC-I04).

use serde::Deserialize;
use time::{Date, OffsetDateTime};

use super::{ConsortiumRule, CrossFinding, InstitutionFacts, consortium_rule_meta, finding, pairs};
use crate::qc::Rule;
use crate::qc::cross::{programme_name, status_in};
use crate::qc::facts::{Episode, FollowUp};
use crate::qc::params::{Params, ParamsError, Severity};
use crate::qc::temporal::{follow_up_day, programme_words};

/// Every `(i, j)` with `a[i]` and `b[j]` at most `window` days apart, in `(i, j)` order.
pub(super) fn pairs_within(a: &[Date], b: &[Date], window: i64) -> Vec<(usize, usize)> {
    let mut order: Vec<usize> = (0..b.len()).collect();
    order.sort_by_key(|&j| b[j]);
    let mut out = Vec::new();
    for (i, &day) in a.iter().enumerate() {
        let from = order.partition_point(|&j| (day - b[j]).whole_days() > window);
        out.extend(
            order[from..]
                .iter()
                .take_while(|&&j| (b[j] - day).whole_days() <= window)
                .map(|&j| (i, j)),
        );
    }
    out.sort_unstable();
    out
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct I03Params {
    severity: Severity,
    window_days: i64,
}

/// QC-I03: two valid face-to-face follow-ups (§4.1 VFU, as the facts read them) of the same
/// programme at two institutions at most `window_days` calendar days apart are probably one
/// service reported twice (a community centre and a village clinic both reporting a visit),
/// which counts once. Each such pair is one finding, flagging both; follow-ups after `T` are
/// not yet known. Two follow-ups at one institution are that institution's own records.
/// Evidence: each follow-up's encounter and mandatory observations.
pub struct I03DoubleCountedService {
    severity: Severity,
    window_days: i64,
    /// The programmes with a VFU definition.
    programmes: Vec<String>,
}

impl I03DoubleCountedService {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: I03Params = params.section("I03")?;
        if p.window_days < 0 {
            return Err(ParamsError::BadSection {
                name: "I03",
                reason: "window_days is negative".into(),
            });
        }
        Ok(Self {
            severity: p.severity,
            window_days: p.window_days,
            programmes: params.vfu.required.keys().cloned().collect(),
        })
    }
}

impl Rule for I03DoubleCountedService {
    consortium_rule_meta!("QC-I03", defaults: ["window_days"]);
}

/// The follow-ups of `programme` held by `at`, with their days.
fn dated_follow_ups<'f>(
    i: &'f InstitutionFacts<'_>,
    programme: &str,
    at: OffsetDateTime,
) -> (Vec<&'f FollowUp>, Vec<Date>) {
    i.facts
        .follow_ups(programme)
        .iter()
        .filter(|f| f.at <= at)
        .map(|f| (f, follow_up_day(&i.facts, f)))
        .unzip()
}

impl ConsortiumRule for I03DoubleCountedService {
    fn evaluate_institutions(
        &self,
        institutions: &[InstitutionFacts<'_>],
        at: OffsetDateTime,
    ) -> Vec<CrossFinding> {
        let mut out = Vec::new();
        for programme in &self.programmes {
            let words = programme_words(programme);
            for (a, b) in pairs(institutions) {
                let (fa, da) = dated_follow_ups(a, programme, at);
                let (fb, db) = dated_follow_ups(b, programme, at);
                for (i, j) in pairs_within(&da, &db, self.window_days) {
                    let apart = match (db[j] - da[i]).whole_days().abs() {
                        0 => "on the same day".to_owned(),
                        1 => "1 day apart".to_owned(),
                        n => format!("{n} days apart"),
                    };
                    let evidence = (fa[i].evidence.iter().map(|&l| a.cite(l)))
                        .chain(fb[j].evidence.iter().map(|&l| b.cite(l)))
                        .collect();
                    out.push(finding(
                        self,
                        institutions,
                        evidence,
                        at,
                        format!(
                            "A {words} follow-up on {} at {} and one on {} at {} ({apart}) are probably one service reported twice; it counts once.",
                            da[i],
                            a.label(),
                            db[j],
                            b.label()
                        ),
                    ));
                }
            }
        }
        out
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct I04Params {
    severity: Severity,
    overlap_days: i64,
    statuses: Vec<String>,
}

/// QC-I04: enrolments (EpisodeOfCare) of the same programme at two institutions may overlap by
/// at most `overlap_days` days (a transfer's hand-over). An enrolment in one of `statuses`
/// counts from its start day to its end day, or to `T` while it has none; one that started
/// after `T`, or a finished one without an end day (its overlap cannot be placed), is not
/// judged. Two enrolments naming the same managing organisation are one management recorded
/// twice, not concurrent management. Evidence: both episodes.
pub struct I04ConcurrentEnrolment {
    severity: Severity,
    overlap_days: i64,
    statuses: Vec<String>,
}

impl I04ConcurrentEnrolment {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: I04Params = params.section("I04")?;
        Ok(Self {
            severity: p.severity,
            overlap_days: p.overlap_days,
            statuses: p.statuses,
        })
    }

    /// The days an enrolment covers up to `today`, if it counts and can be placed.
    fn span(&self, e: &Episode, at: OffsetDateTime) -> Option<(Date, Date)> {
        if !status_in(e.status.as_deref(), &self.statuses) || e.start.is_none_or(|s| s > at) {
            return None;
        }
        let today = at.date();
        let end = match e.end_day {
            Some(d) => d.min(today),
            None if e.status.as_deref() == Some("finished") => return None,
            None => today,
        };
        Some((e.start_day?, end))
    }
}

impl Rule for I04ConcurrentEnrolment {
    consortium_rule_meta!("QC-I04", defaults: ["overlap_days"]);
}

impl ConsortiumRule for I04ConcurrentEnrolment {
    fn evaluate_institutions(
        &self,
        institutions: &[InstitutionFacts<'_>],
        at: OffsetDateTime,
    ) -> Vec<CrossFinding> {
        let mut out = Vec::new();
        let period = |e: &Episode, start: Date| match e.end_day {
            Some(end) => format!("{start} to {end}"),
            None => format!("since {start}"),
        };
        for (a, b) in pairs(institutions) {
            for ea in &a.facts.episodes {
                let (Some(programme), Some(sa)) = (&ea.programme, self.span(ea, at)) else {
                    continue;
                };
                for eb in b.facts.episodes_of(programme) {
                    let Some(sb) = self.span(eb, at) else {
                        continue;
                    };
                    if ea.organization.is_some() && ea.organization == eb.organization {
                        continue;
                    }
                    let overlap = (sa.1.min(sb.1) - sa.0.max(sb.0)).whole_days();
                    if overlap <= self.overlap_days {
                        continue;
                    }
                    out.push(finding(
                        self,
                        institutions,
                        vec![a.cite(ea.leaf), b.cite(eb.leaf)],
                        at,
                        format!(
                            "Enrolled in {} at {} ({}) and at {} ({}): the two enrolments overlap by {overlap} days, more than the {} a transfer may take.",
                            programme_name(programme),
                            a.label(),
                            period(ea, sa.0),
                            b.label(),
                            period(eb, sb.0),
                            self.overlap_days
                        ),
                    ));
                }
            }
        }
        out
    }
}
