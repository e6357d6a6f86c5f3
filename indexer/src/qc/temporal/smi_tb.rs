//! Programme cadences driven by the patient's state: severe mental disorder follow-up by risk
//! grade (QC-T16) and tuberculosis case management (QC-T17).

use serde::Deserialize;
use time::{Date, Duration, OffsetDateTime};

use super::super::facts::{Episode, Facts, Visit, add_months};
use super::super::field::finding;
use super::super::params::{Params, ParamsError, Severity};
use super::super::{Finding, ResidentView, Rule, rule_meta};
use super::{days, held, plus};

/// Days of `[from, to]` (inclusive) that some episode covers; episodes of one programme may
/// follow or overlap one another (a transfer), so the union is counted, not the sum.
fn covered_days(episodes: &[&Episode], from: Date, to: Date) -> i64 {
    let mut spans: Vec<(Date, Date)> = episodes
        .iter()
        .filter_map(|e| {
            let s = e.start_day?.max(from);
            let t = e.end_day.unwrap_or(to).min(to);
            (s <= t).then_some((s, t))
        })
        .collect();
    spans.sort();
    let mut total = 0;
    let mut reach: Option<Date> = None;
    for (s, t) in spans {
        let s = reach.map_or(s, |r| s.max(plus(r, 1)));
        if s <= t {
            total += days(s, t) + 1;
        }
        reach = Some(reach.map_or(t, |r| r.max(t)));
    }
    total
}

fn enrolled_on(episodes: &[&Episode], day: Date) -> bool {
    episodes
        .iter()
        .any(|e| e.start_day.is_some_and(|s| s <= day) && e.end_day.is_none_or(|t| t >= day))
}

fn alive_on(f: &Facts, at: OffsetDateTime, day: Date) -> bool {
    f.demographics
        .death
        .filter(|t| *t <= at)
        .is_none_or(|t| t.date() > day)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct T16Params {
    severity: Severity,
    window_days: i64,
    min_visits: i64,
    risk_intervals: Vec<RiskInterval>,
}

/// The longest gap (days) to the next contact after a follow-up with a risk grade in
/// `min..=max`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RiskInterval {
    min: i64,
    max: i64,
    days: i64,
}

/// QC-T16: an SMI-enrolled resident has at least `min_visits` valid follow-ups (each carries
/// its risk grade, DOMAIN.md §4.1) in the window (T − `window_days`, T], pro rata to the
/// days enrolled in it while alive and counting whole quarters only, so a new enrolment is not
/// reported while its first quarter is open. After each follow-up in the window, the next
/// SMI-FU contact (any class: a phone follow-up is a contact) comes within the interval its
/// risk grade sets; a follow-up whose interval is still open at `T`, or ends after the
/// enrolment or the resident's death, needs none.
pub struct T16SmiCadence {
    p: T16Params,
}

impl T16SmiCadence {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        Ok(Self {
            p: params.section("T16")?,
        })
    }

    fn limit(&self, risk: i64) -> Option<i64> {
        self.p
            .risk_intervals
            .iter()
            .find(|r| (r.min..=r.max).contains(&risk))
            .map(|r| r.days)
    }
}

impl Rule for T16SmiCadence {
    rule_meta!("QC-T16", T, severity: p.severity);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let f = &resident.facts;
        let today = at.date();
        let from = plus(today, 1 - self.p.window_days);
        let episodes: Vec<&Episode> = f
            .episodes_of("SMI")
            .filter(|e| e.start.is_some_and(|s| s <= at))
            .collect();
        // Nothing is owed after death: the enrolled days end the day before it.
        let last = f
            .demographics
            .death
            .filter(|t| *t <= at)
            .map_or(today, |t| plus(t.date(), -1).min(today));
        let enrolled = covered_days(&episodes, from, last);
        if enrolled == 0 {
            return Vec::new();
        }
        let vfu: Vec<_> = f
            .follow_ups("SMI")
            .iter()
            .filter(|v| v.at <= at)
            .filter(|v| f.visits[v.visit].day.is_some_and(|d| d >= from))
            .collect();
        let mut out = Vec::new();
        let required = self.p.min_visits * enrolled / self.p.window_days;
        if (vfu.len() as i64) < required {
            let mut e: Vec<u64> = episodes.iter().map(|x| x.leaf).collect();
            e.extend(vfu.iter().map(|v| v.leaf));
            out.push(finding(
                self,
                resident,
                e,
                at,
                format!(
                    "Only {} valid severe-mental-disorder follow-ups with a risk grade were recorded from {from} to {today}, where the {enrolled} days enrolled call for {required}.",
                    vfu.len()
                ),
            ));
        }
        let contacts: Vec<&Visit> = f
            .visits
            .iter()
            .filter(|v| held(v, at) && v.service.as_deref() == Some("SMI-FU"))
            .collect();
        for v in vfu {
            let (Some(risk), Some(day)) = (v.risk, f.visits[v.visit].day) else {
                continue;
            };
            let Some(limit) = self.limit(risk) else {
                continue;
            };
            let due = plus(day, limit);
            let next = contacts
                .iter()
                .find(|c| c.leaf != v.leaf && c.start.is_some_and(|s| s > v.at));
            let gap = match next.and_then(|c| c.day) {
                Some(n) if n <= due => continue,
                Some(n) => Some(n),
                None if today > due && enrolled_on(&episodes, due) && alive_on(f, at, due) => None,
                None => continue,
            };
            let mut e = v.evidence.clone();
            e.extend(next.map(|c| c.leaf));
            let after = match gap {
                Some(n) => format!("the next contact was {} days later, on {n}", days(day, n)),
                None => "no contact has followed".to_owned(),
            };
            out.push(finding(
                self,
                resident,
                e,
                at,
                format!(
                    "After the follow-up on {day} with risk grade {risk}, {after}; the next contact is due within {limit} days."
                ),
            ));
        }
        out
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct T17Params {
    severity: Severity,
    first_visit_hours: i64,
    home_class: String,
    intensive_months: i32,
    intensive_gap_days: i64,
    continuation_gap_days: i64,
    closure_grace_days: i64,
}

/// QC-T17: TB case management. The first home visit (TB-FU of class HH) comes within 72 h of
/// each CDC notice (a Task or ServiceRequest coded `items.tb_notice`, `authoredOn`); a visit
/// recorded with a date only counts as on time on the deadline's day. During a TB episode,
/// consecutive TB-FU visits are at most `intensive_gap_days` apart in the intensive phase
/// (the first `intensive_months` months) and `continuation_gap_days` afterwards, the phase
/// being that of the earlier visit; the gap after the last visit counts once it exceeds its
/// limit before `T` (or the episode's end). The case is not marked family-supervised in the
/// records, so the supervision cadence is asked of every TB episode. An ended episode needs a
/// case-closure observation (`items.tb_closure`) dated within it or up to
/// `closure_grace_days` after its end.
pub struct T17TbCaseManagement {
    p: T17Params,
    phs: String,
    notice: String,
    closure: String,
}

impl T17TbCaseManagement {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let items = params.items()?;
        Ok(Self {
            p: params.section("T17")?,
            phs: params.value_sets.phs_service.clone(),
            notice: items.tb_notice,
            closure: items.tb_closure,
        })
    }
}

impl Rule for T17TbCaseManagement {
    rule_meta!("QC-T17", T, severity: p.severity, defaults: ["closure_grace_days"]);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let f = &resident.facts;
        let p = &self.p;
        let today = at.date();
        let visits: Vec<&Visit> = f
            .visits
            .iter()
            .filter(|v| held(v, at) && v.service.as_deref() == Some("TB-FU"))
            .collect();
        let mut out = Vec::new();
        for n in &f.requests {
            let Some(t) = n.authored.filter(|t| *t <= at) else {
                continue;
            };
            if !n
                .code
                .iter()
                .any(|(s, c)| *s == self.phs && *c == self.notice)
            {
                continue;
            }
            let deadline = t + Duration::hours(p.first_visit_hours);
            let first = visits
                .iter()
                .filter(|v| v.class.as_deref() == Some(p.home_class.as_str()))
                .find(|v| v.start.is_some_and(|s| s.date() >= t.date()));
            let on_time = |v: &Visit| {
                v.start
                    .is_some_and(|s| s <= deadline || s.date() <= deadline.date())
            };
            let message = match first {
                Some(v) if on_time(v) => continue,
                Some(v) => format!(
                    "The first TB home visit was on {}, more than {} hours after the CDC notice of {}.",
                    v.day.unwrap_or(today),
                    p.first_visit_hours,
                    t.date()
                ),
                None if at > deadline && deadline.date() < today => format!(
                    "No TB home visit was recorded within {} hours of the CDC notice of {}.",
                    p.first_visit_hours,
                    t.date()
                ),
                None => continue,
            };
            let mut e = vec![n.leaf];
            e.extend(first.map(|v| v.leaf));
            out.push(finding(self, resident, e, at, message));
        }
        for ep in f.episodes_of("TB") {
            let (Some(start), true) = (ep.start_day, ep.start.is_some_and(|s| s <= at)) else {
                continue;
            };
            let end = ep.end_day.filter(|d| *d <= today);
            let stop = end.unwrap_or(today);
            let Some(intensive_end) = add_months(start, p.intensive_months) else {
                continue;
            };
            let limit = |d: Date| {
                if d < intensive_end {
                    (p.intensive_gap_days, "intensive")
                } else {
                    (p.continuation_gap_days, "continuation")
                }
            };
            let in_ep: Vec<(&Visit, Date)> = visits
                .iter()
                .filter_map(|v| Some((*v, v.day?)))
                .filter(|(_, d)| *d >= start && *d <= stop)
                .collect();
            for w in in_ep.windows(2) {
                let ((a, da), (b, db)) = (w[0], w[1]);
                let (max, phase) = limit(da);
                if days(da, db) > max {
                    out.push(finding(
                        self,
                        resident,
                        vec![ep.leaf, a.leaf, b.leaf],
                        at,
                        format!(
                            "TB follow-ups on {da} and {db} are {} days apart; in the {phase} phase they are due at most every {max} days.",
                            days(da, db)
                        ),
                    ));
                }
            }
            let (last, last_leaf) = in_ep
                .last()
                .map_or((start, None), |(v, d)| (*d, Some(v.leaf)));
            let (max, phase) = limit(last);
            if days(last, stop) > max && alive_on(f, at, plus(last, max)) {
                let since = match last_leaf {
                    Some(_) => format!("the follow-up on {last}"),
                    None => format!("the start of treatment on {last}"),
                };
                let until = match end {
                    Some(e) => format!("before the episode ended on {e}"),
                    None => format!("by {today}"),
                };
                out.push(finding(
                    self,
                    resident,
                    std::iter::once(ep.leaf).chain(last_leaf).collect(),
                    at,
                    format!(
                        "No TB follow-up was recorded in the {} days after {since} {until}; in the {phase} phase one is due at least every {max} days.",
                        days(last, stop)
                    ),
                ));
            }
            let Some(end) = end else { continue };
            let grace_end = plus(end, p.closure_grace_days);
            if today <= grace_end {
                continue;
            }
            let closed = f.observations.iter().any(|o| {
                o.code.as_deref() == Some(self.closure.as_str())
                    && o.at.is_some_and(|t| t <= at)
                    && o.day.is_some_and(|d| d >= start && d <= grace_end)
            });
            if !closed {
                out.push(finding(
                    self,
                    resident,
                    vec![ep.leaf],
                    at,
                    format!(
                        "The TB treatment episode ended on {end} without a case-closure assessment recorded."
                    ),
                ));
            }
        }
        out
    }
}

#[cfg(test)]
#[path = "smi_tb_tests.rs"]
mod tests;
