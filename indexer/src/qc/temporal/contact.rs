//! Events that call for a contact within two weeks: QC-T06 (first uncontrolled follow-up →
//! revisit or referral) and QC-T07 (referral or SMI risk 3–5 → active contact).
//!
//! "Within 14 d" counts calendar days as written: an event on 05-01 is answered by anything
//! up to 05-15. A rule does not judge an event whose window is still open at `at`, or one
//! whose window the resident did not live through, and looks back `lookback_days` only, so
//! an old lapse is not reported for ever.

use serde::Deserialize;
use time::{Date, Duration, OffsetDateTime};

use super::chronic::programme_words;
use super::window::{count, death_undated, evidence, follow_up_day, happened, midnight};
use crate::qc::facts::{Facts, FollowUp, Req};
use crate::qc::field::finding;
use crate::qc::params::{Params, ParamsError, Severity};
use crate::qc::{Finding, ResidentView, Rule, rule_meta};

/// Whether an event on `day` can be judged at `at`: its `window` has closed by `at`, and the
/// resident lived through it.
fn closed(facts: &Facts, day: Date, window: Duration, at: OffsetDateTime) -> bool {
    let Some(next_day) = day.checked_add(window + Duration::days(1)) else {
        return false;
    };
    let deadline = midnight(next_day);
    at >= deadline && facts.demographics.death.is_none_or(|d| d >= deadline)
}

/// A documented referral: a ServiceRequest coded `code` in the phs-service system that was
/// issued (not a draft, not revoked).
fn referrals<'a>(
    facts: &'a Facts,
    system: &'a str,
    code: &'a str,
) -> impl Iterator<Item = &'a Req> {
    facts.requests.iter().filter(move |r| {
        r.kind == "ServiceRequest"
            && r.code.iter().any(|(s, c)| s == system && c == code)
            && happened(r.status.as_deref())
    })
}

/// The calendar day of an instant, for records the facts keep no written day of.
fn day_of(t: OffsetDateTime) -> Date {
    t.date()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct T06Params {
    severity: Severity,
    window_days: i64,
    lookback_days: i64,
    /// Uncontrolled at or above.
    sbp: f64,
    dbp: f64,
    fbg: f64,
}

/// QC-T06: an HTN follow-up with SBP ≥ `sbp` or DBP ≥ `dbp`, or a T2D follow-up with fasting
/// glucose ≥ `fbg` mmol/L, right after a controlled follow-up of the same programme (the
/// first uncontrolled one), is followed within `window_days` by another follow-up of that
/// programme or by a referral. Evidence: the uncontrolled follow-up (with its measurement),
/// the controlled one before it, and the next follow-up if there is one.
pub struct T06UncontrolledRevisit {
    severity: Severity,
    window: Duration,
    lookback: Duration,
    sbp: f64,
    dbp: f64,
    fbg: f64,
    phs: String,
    referral: String,
}

impl T06UncontrolledRevisit {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: T06Params = params.section("T06")?;
        Ok(Self {
            severity: p.severity,
            window: Duration::days(p.window_days),
            lookback: Duration::days(p.lookback_days),
            sbp: p.sbp,
            dbp: p.dbp,
            fbg: p.fbg,
            phs: params.value_sets.phs_service.clone(),
            referral: params.items()?.referral,
        })
    }

    /// Whether the follow-up was uncontrolled, with the measurement in words; `None` when it
    /// has no measurement to judge.
    fn uncontrolled(&self, programme: &str, f: &FollowUp) -> Option<(bool, String)> {
        match programme {
            "HTN" => f.bp.map(|(s, d)| {
                (
                    s >= self.sbp || d >= self.dbp,
                    format!("blood pressure {s}/{d} mmHg"),
                )
            }),
            _ => f
                .fbg
                .map(|g| (g >= self.fbg, format!("fasting glucose {g:.1} mmol/L"))),
        }
    }
}

impl Rule for T06UncontrolledRevisit {
    rule_meta!("QC-T06", T);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let facts = &resident.facts;
        if death_undated(facts) {
            return Vec::new();
        }
        let mut out = Vec::new();
        for programme in ["HTN", "T2D"] {
            let fus: Vec<&FollowUp> = facts
                .follow_ups(programme)
                .iter()
                .filter(|f| f.at <= at)
                .collect();
            for (i, pair) in fus.windows(2).enumerate() {
                let (prev, cur) = (pair[0], pair[1]);
                if cur.at <= at - self.lookback {
                    continue;
                }
                let (Some((false, _)), Some((true, measured))) = (
                    self.uncontrolled(programme, prev),
                    self.uncontrolled(programme, cur),
                ) else {
                    continue;
                };
                let day = follow_up_day(facts, cur);
                if !closed(facts, day, self.window, at) {
                    continue;
                }
                let last_day = day + self.window;
                let next = fus[i + 2..].iter().find(|f| f.at > cur.at);
                if next.is_some_and(|f| follow_up_day(facts, f) <= last_day) {
                    continue;
                }
                if referrals(facts, &self.phs, &self.referral)
                    .filter_map(|r| r.authored)
                    .any(|t| (day..=last_day).contains(&day_of(t)))
                {
                    continue;
                }
                let then = match next {
                    Some(f) => format!("the next follow-up was on {}", follow_up_day(facts, f)),
                    None => "no later follow-up is recorded".to_owned(),
                };
                let leaves = cur
                    .evidence
                    .iter()
                    .copied()
                    .chain([prev.leaf])
                    .chain(next.map(|f| f.leaf));
                out.push(finding(
                    self,
                    resident,
                    evidence(leaves),
                    at,
                    format!(
                        "The {} follow-up on {day} found {measured}, not controlled after a controlled visit on {}, but there was no follow-up or referral within {}; {then}.",
                        programme_words(programme),
                        follow_up_day(facts, prev),
                        count(self.window.whole_days(), "day")
                    ),
                ));
            }
        }
        out
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct T07Params {
    severity: Severity,
    window_days: i64,
    lookback_days: i64,
    /// SMI risk grades (inclusive) that call for a contact.
    risk_min: i64,
    risk_max: i64,
}

/// QC-T07: a referral (ServiceRequest coded `items.referral`), or an SMI risk grade in
/// `risk_min..=risk_max`, is followed within `window_days` by a contact with the resident:
/// any Encounter that took place (any class, phone included) other than the one the event
/// was recorded in, or a Communication. A risk grade recorded in the same visit as a
/// referral is one event, not two. Evidence: the referral or risk grade, and the next
/// contact if there is one.
pub struct T07ReferralContact {
    severity: Severity,
    window: Duration,
    lookback: Duration,
    risk: (i64, i64),
    risk_code: String,
    phs: String,
    referral: String,
}

impl T07ReferralContact {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: T07Params = params.section("T07")?;
        Ok(Self {
            severity: p.severity,
            window: Duration::days(p.window_days),
            lookback: Duration::days(p.lookback_days),
            risk: (p.risk_min, p.risk_max),
            risk_code: params.codes.smi_risk.clone(),
            phs: params.value_sets.phs_service.clone(),
            referral: params.items()?.referral,
        })
    }
}

/// An event that calls for a contact.
struct Trigger {
    leaf: u64,
    at: OffsetDateTime,
    day: Date,
    /// Encounters the event was recorded in (not a later contact).
    origin: Vec<String>,
    what: String,
}

impl Rule for T07ReferralContact {
    rule_meta!("QC-T07", T);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let facts = &resident.facts;
        if death_undated(facts) {
            return Vec::new();
        }
        let mut triggers: Vec<Trigger> = referrals(facts, &self.phs, &self.referral)
            .filter_map(|r| {
                let t = r.authored?;
                Some(Trigger {
                    leaf: r.leaf,
                    at: t,
                    day: day_of(t),
                    origin: r.encounter.iter().chain(&r.reasons).cloned().collect(),
                    what: format!("referral on {}", day_of(t)),
                })
            })
            .collect();
        for o in facts.observations_of(std::slice::from_ref(&self.risk_code)) {
            let (Some(t), Some(grade)) = (o.at, o.value_int) else {
                continue;
            };
            if !(self.risk.0..=self.risk.1).contains(&grade) {
                continue;
            }
            let day = o.day.unwrap_or(day_of(t));
            // Referred at the same visit: the referral already stands for this event.
            if o.encounter.as_ref().is_some_and(|e| {
                triggers
                    .iter()
                    .any(|x| x.origin.contains(e) && x.day == day)
            }) {
                continue;
            }
            triggers.push(Trigger {
                leaf: o.leaf,
                at: t,
                day,
                origin: o.encounter.iter().cloned().collect(),
                what: format!("severe mental disorder risk grade of {grade} on {day}"),
            });
        }
        // Every contact that took place: (when, day, encounter id, leaf).
        let mut contacts: Vec<(OffsetDateTime, Date, Option<&str>, u64)> = facts
            .visits
            .iter()
            .filter(|v| happened(v.status.as_deref()))
            .filter_map(|v| {
                let t = v.start?;
                Some((t, v.day.unwrap_or(day_of(t)), Some(v.id.as_str()), v.leaf))
            })
            .chain(
                facts
                    .others
                    .iter()
                    .filter(|o| o.kind == "Communication" && happened(o.status.as_deref()))
                    .filter_map(|o| Some((o.at?, day_of(o.at?), None, o.leaf))),
            )
            .filter(|c| c.0 <= at)
            .collect();
        contacts.sort_by_key(|c| (c.0, c.3));
        let mut out = Vec::new();
        for tr in triggers {
            if tr.at <= at - self.lookback || !closed(facts, tr.day, self.window, at) {
                continue;
            }
            let next = contacts
                .iter()
                .find(|c| c.0 >= tr.at && !c.2.is_some_and(|id| tr.origin.iter().any(|o| o == id)));
            let last_day = tr.day + self.window;
            if next.is_some_and(|c| c.1 <= last_day) {
                continue;
            }
            let then = match next {
                Some(c) => format!("the next contact was on {}", c.1),
                None => "no later contact is recorded".to_owned(),
            };
            out.push(finding(
                self,
                resident,
                evidence([tr.leaf].into_iter().chain(next.map(|c| c.3))),
                at,
                format!(
                    "The {} was not followed by any contact with the resident within {}; {then}.",
                    tr.what,
                    count(self.window.whole_days(), "day")
                ),
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests;
