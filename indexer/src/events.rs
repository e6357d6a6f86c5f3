//! Resident events: what someone has to act on, derived from the programmes' obligations, the
//! visit measurements and the open findings at `T` (a follow-up overdue, a danger sign with no
//! referral, a vaccine dose due or overdue, a finding of a rule configured as an event).
//!
//! [`EventBus`] keeps the events of each resident's last evaluation and publishes, in process,
//! only those that are new, so a subscriber hears of each once however often a resident is
//! re-evaluated.

use std::collections::BTreeMap;
use std::sync::mpsc::{Receiver, Sender, channel};

use serde::Deserialize;
use time::{Date, OffsetDateTime};

use crate::programme::{Class, Programme, ProgrammeState, Schedules, Span, State};
use crate::qc::facts::{Obs, bp_of, fbg_mmol};
use crate::qc::{Codes, Finding, Params, ParamsError, ResidentView};

/// What an event asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    /// A visit, check or enrolment whose window closed unmet.
    FollowUpOverdue,
    /// A danger value at a visit with no referral: refer, and follow up within 2 weeks.
    DangerSignReferral,
    DoseDue,
    DoseOverdue,
    /// An open finding of a rule listed in `[events] finding_rules`.
    Finding(&'static str),
}

/// One event of one resident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub resident: String,
    pub kind: EventKind,
    pub programme: Option<Programme>,
    /// When the action is (or was) due.
    pub due: Date,
    /// Leaves of the records behind it.
    pub evidence: Vec<u64>,
    pub message: String,
}

/// The `[events]` parameter section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventParams {
    /// Danger values (DOMAIN.md §2.3): SBP ≥, DBP ≥, glucose (mmol/L) ≥ or ≤.
    pub danger_sbp: f64,
    pub danger_dbp: f64,
    pub glucose_high: f64,
    pub glucose_low: f64,
    /// A referral within this of the visit answers a danger sign; the event is due by then.
    pub referral_within: Span,
    /// Visits this recent are checked for danger signs.
    pub danger_lookback: Span,
    /// Obligation classes whose overdue state is an event, and how long after the window
    /// closed it stays one.
    pub overdue_classes: Vec<Class>,
    pub overdue_within: Span,
    pub finding_rules: Vec<String>,
}

/// The configured event derivation.
#[derive(Debug, Clone)]
pub struct EventRules {
    cfg: EventParams,
    schedules: Schedules,
    codes: Codes,
    referral: String,
}

impl EventRules {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        Ok(Self {
            cfg: params.section("events")?,
            schedules: Schedules::new(params)?,
            codes: params.codes.clone(),
            referral: params.items()?.referral,
        })
    }

    pub fn params(&self) -> &EventParams {
        &self.cfg
    }

    /// The resident's events at `at`; `findings` are its open findings at `at`.
    pub fn derive(
        &self,
        view: &ResidentView<'_>,
        findings: &[Finding],
        at: OffsetDateTime,
    ) -> Vec<Event> {
        let programmes = self.schedules.evaluate(view, at);
        self.derive_with(view, &programmes, findings, at)
    }

    /// [`EventRules::derive`] with the programmes already evaluated at `at`.
    pub fn derive_with(
        &self,
        view: &ResidentView<'_>,
        programmes: &[ProgrammeState],
        findings: &[Finding],
        at: OffsetDateTime,
    ) -> Vec<Event> {
        let today = at.date();
        let resident = view.pseudonym.as_str();
        let event = |kind, programme, due, evidence, message| Event {
            resident: resident.to_owned(),
            kind,
            programme,
            due,
            evidence,
            message,
        };
        let mut out = Vec::new();
        let overdue_since = self.cfg.overdue_within.before(today).unwrap_or(Date::MIN);
        for p in programmes {
            for o in &p.obligations {
                let code = p.programme.code();
                match (&o.state, o.class) {
                    (State::Due, Class::Dose) => out.push(event(
                        EventKind::DoseDue,
                        Some(p.programme),
                        o.to,
                        o.basis.clone(),
                        format!("{} is due, to be given by {}.", o.kind, o.to),
                    )),
                    (State::Overdue, Class::Dose) => out.push(event(
                        EventKind::DoseOverdue,
                        Some(p.programme),
                        o.to,
                        o.basis.clone(),
                        format!("{} is overdue: it was to be given by {}.", o.kind, o.to),
                    )),
                    (State::Overdue, class)
                        if self.cfg.overdue_classes.contains(&class) && o.to >= overdue_since =>
                    {
                        out.push(event(
                            EventKind::FollowUpOverdue,
                            Some(p.programme),
                            o.to,
                            o.basis.clone(),
                            format!(
                                "{code}: the {} due {} to {} was not done.",
                                o.kind, o.from, o.to
                            ),
                        ));
                    }
                    _ => {}
                }
            }
        }
        out.extend(
            self.danger_signs(view, at)
                .into_iter()
                .map(|(due, evidence, message)| {
                    event(EventKind::DangerSignReferral, None, due, evidence, message)
                }),
        );
        for f in findings {
            if self.cfg.finding_rules.iter().any(|r| r == f.rule_id) {
                out.push(event(
                    EventKind::Finding(f.rule_id),
                    None,
                    f.at.date(),
                    f.evidence.clone(),
                    f.message.clone(),
                ));
            }
        }
        out.sort_by(|a, b| {
            (a.due, a.kind, &a.evidence, &a.message).cmp(&(b.due, b.kind, &b.evidence, &b.message))
        });
        out.dedup();
        out
    }

    /// The danger value of one visit's observations, if any: its description and leaves.
    fn danger(&self, obs: &[&Obs]) -> Option<(String, Vec<u64>)> {
        let c = &self.codes;
        let cfg = &self.cfg;
        let mut what = Vec::new();
        let mut leaves = Vec::new();
        for o in obs {
            if let Some((s, d)) = bp_of(o, c)
                && (s >= cfg.danger_sbp || d >= cfg.danger_dbp)
            {
                what.push(format!("BP {s}/{d} mm[Hg]"));
                leaves.push(o.leaf);
            }
            if let Some(g) = fbg_mmol(&[*o], c)
                && (g >= cfg.glucose_high || g <= cfg.glucose_low)
            {
                what.push(format!("glucose {g:.1} mmol/L"));
                leaves.push(o.leaf);
            }
        }
        (!what.is_empty()).then(|| (what.join(" and "), leaves))
    }

    /// Danger signs at recent visits with no referral made at the visit (request or
    /// "referral" classification) nor within `referral_within` after it.
    fn danger_signs(
        &self,
        view: &ResidentView<'_>,
        at: OffsetDateTime,
    ) -> Vec<(Date, Vec<u64>, String)> {
        let facts = &view.facts;
        let today = at.date();
        let since = self.cfg.danger_lookback.before(today).unwrap_or(Date::MIN);
        let class_codes = [self.codes.htn_class.clone(), self.codes.t2d_class.clone()];
        let mut out = Vec::new();
        for v in &facts.visits {
            let Some(start) = v.start.filter(|t| *t <= at && t.date() >= since) else {
                continue;
            };
            let obs: Vec<&Obs> = v
                .observations
                .iter()
                .filter_map(|&i| facts.observations.get(i))
                .collect();
            let Some((what, leaves)) = self.danger(&obs) else {
                continue;
            };
            let day = start.date();
            let Some(by) = self.cfg.referral_within.after(day) else {
                continue;
            };
            let names_visit = |ids: &[String]| {
                ids.iter()
                    .any(|i| *i == v.id || obs.iter().any(|o| o.id == *i))
            };
            let requested = facts.requests.iter().any(|q| {
                q.kind == "ServiceRequest"
                    && q.code.iter().any(|(_, c)| *c == self.referral)
                    && (q.encounter.as_deref() == Some(v.id.as_str())
                        || names_visit(&q.reasons)
                        || q.authored
                            .is_some_and(|t| t >= start && t <= at && t.date() <= by))
            });
            let classified = obs.iter().any(|o| {
                o.code.as_ref().is_some_and(|c| class_codes.contains(c))
                    && o.value_code.as_deref() == Some("referral")
            });
            if requested || classified {
                continue;
            }
            let mut evidence = vec![v.leaf];
            evidence.extend(leaves);
            out.push((
                by,
                evidence,
                format!(
                    "{what} at the visit of {day} with no referral: refer and follow up by {by}."
                ),
            ));
        }
        out
    }
}

/// In-process publish/subscribe of resident events, with each resident's current events.
#[derive(Debug, Default)]
pub struct EventBus {
    subscribers: Vec<Sender<Event>>,
    current: BTreeMap<String, Vec<Event>>,
}

impl EventBus {
    pub fn new() -> Self {
        Self::default()
    }

    /// A receiver of every event published from now on.
    pub fn subscribe(&mut self) -> Receiver<Event> {
        let (tx, rx) = channel();
        self.subscribers.push(tx);
        rx
    }

    /// Takes `events`, the resident's events of a new evaluation, as its current events, and
    /// sends subscribers those that were not among its events at the previous evaluation.
    /// Returns them. A subscriber whose receiver is gone is dropped.
    pub fn publish(&mut self, resident: &str, events: Vec<Event>) -> Vec<Event> {
        let before = self.current.get(resident).map_or(&[][..], Vec::as_slice);
        let new: Vec<Event> = events
            .iter()
            .filter(|e| !before.contains(e))
            .cloned()
            .collect();
        for e in &new {
            self.subscribers.retain(|s| s.send(e.clone()).is_ok());
        }
        if events.is_empty() {
            self.current.remove(resident);
        } else {
            self.current.insert(resident.to_owned(), events);
        }
        new
    }

    /// The resident's events at its last evaluation.
    pub fn list(&self, resident: &str) -> &[Event] {
        self.current.get(resident).map_or(&[], Vec::as_slice)
    }

    /// Residents with current events.
    pub fn residents(&self) -> impl Iterator<Item = &str> {
        self.current.keys().map(String::as_str)
    }
}

#[cfg(test)]
mod tests;
