//! The machinery every programme shares: candidate records, settling one obligation against
//! them, periodic slots, windows from an anchor date, and the enrolment status.

use std::collections::BTreeSet;

use time::{Date, Duration, OffsetDateTime};

use super::config::{Group, Periodic, Span};
use super::{Class, Enrolment, Obligation, Schedules, State, Status};
use crate::qc::ValueSet;
use crate::qc::facts::{Diagnosis, Episode, Facts};

/// A record that can meet an obligation: its date and its leaves (the main record first).
#[derive(Debug, Clone)]
pub(super) struct Hit {
    pub on: Date,
    pub at: OffsetDateTime,
    pub evidence: Vec<u64>,
}

/// Which records after the window still meet an obligation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Fit {
    /// Only a record inside the window.
    Window,
    /// One inside, else one after (late).
    Late,
    /// Any record, whatever its date (a vaccine dose is the dose it is).
    Any,
}

/// One obligation to settle.
pub(super) struct Due {
    pub kind: String,
    pub class: Class,
    pub from: Date,
    pub to: Date,
    pub fit: Fit,
    pub basis: Vec<u64>,
}

/// One resident at one instant.
pub(super) struct Ctx<'a> {
    pub s: &'a Schedules,
    pub facts: &'a Facts,
    pub at: OffsetDateTime,
    pub today: Date,
    /// First day of the look-back window (T − lookback, T].
    pub since: Date,
    /// The death date, when it is on or before `T`.
    pub death: Option<Date>,
}

/// Whether phs-service `code` matches `pattern` (`ANC-*` is a prefix).
pub(super) fn service_matches(pattern: &str, code: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(prefix) => code.starts_with(prefix),
        None => pattern == code,
    }
}

fn day_before(d: Date) -> Date {
    d.previous_day().unwrap_or(d)
}

impl<'a> Ctx<'a> {
    pub fn new(s: &'a Schedules, facts: &'a Facts, at: OffsetDateTime) -> Self {
        let today = at.date();
        let lookback = Duration::days(s.params.lookback_days.max(1) - 1);
        Self {
            s,
            facts,
            at,
            today,
            since: today.checked_sub(lookback).unwrap_or(Date::MIN),
            death: facts
                .demographics
                .death
                .filter(|d| *d <= at)
                .map(|d| d.date()),
        }
    }

    /// Finished visits of one of `services` (and, if given, one of `classes`) by `T`.
    pub fn visit_hits(&self, services: &[String], classes: Option<&[String]>) -> Vec<Hit> {
        self.facts
            .visits
            .iter()
            .filter(|v| v.status.as_deref() == Some("finished"))
            .filter(|v| {
                v.service
                    .as_deref()
                    .is_some_and(|c| services.iter().any(|p| service_matches(p, c)))
            })
            .filter(|v| classes.is_none_or(|cl| v.class.as_ref().is_some_and(|c| cl.contains(c))))
            .filter_map(|v| {
                let at = v.start.filter(|t| *t <= self.at)?;
                Some(Hit {
                    on: at.date(),
                    at,
                    evidence: vec![v.leaf],
                })
            })
            .collect()
    }

    /// Observations with one of `codes` by `T`.
    pub fn observation_hits(&self, codes: &[String]) -> Vec<Hit> {
        self.facts
            .observations_of(codes)
            .filter_map(|o| {
                let at = o.at.filter(|t| *t <= self.at)?;
                Some(Hit {
                    on: at.date(),
                    at,
                    evidence: vec![o.leaf],
                })
            })
            .collect()
    }

    /// Visits of `services` and observations of `codes`, by date.
    pub fn hits(&self, services: &[String], codes: &[String]) -> Vec<Hit> {
        let mut out = self.visit_hits(services, None);
        out.extend(self.observation_hits(codes));
        out.sort_by_key(|h| (h.at, h.evidence.first().copied()));
        out
    }

    /// The valid follow-ups of `programme` by `T`.
    pub fn follow_up_hits(&self, programme: &str) -> Vec<Hit> {
        self.facts
            .follow_ups(programme)
            .iter()
            .filter(|f| f.at <= self.at)
            .map(|f| Hit {
                on: f.at.date(),
                at: f.at,
                evidence: f.evidence.clone(),
            })
            .collect()
    }

    fn state_unmet(&self, from: Date, to: Date) -> State {
        if self.today > to {
            State::Overdue
        } else if self.today >= from {
            State::Due
        } else {
            State::Upcoming
        }
    }

    /// Settles `due` with the first unused hit that fits; the hit's main leaf becomes used,
    /// so that one visit meets one obligation of a group.
    pub fn settle(&self, due: Due, hits: &[Hit], used: &mut BTreeSet<u64>) -> Obligation {
        let free = |h: &&Hit| h.evidence.first().is_some_and(|l| !used.contains(l));
        let inside = hits
            .iter()
            .filter(free)
            .find(|h| h.on >= due.from && h.on <= due.to);
        let chosen = inside.map(|h| (h, false)).or_else(|| match due.fit {
            Fit::Window => None,
            Fit::Late => hits
                .iter()
                .filter(free)
                .find(|h| h.on > due.to)
                .map(|h| (h, true)),
            Fit::Any => hits.iter().find(free).map(|h| (h, false)),
        });
        let state = match chosen {
            Some((h, late)) => {
                used.extend(h.evidence.first().copied());
                State::Met {
                    on: h.on,
                    evidence: h.evidence.clone(),
                    late,
                }
            }
            None => self.state_unmet(due.from, due.to),
        };
        Obligation {
            kind: due.kind,
            class: due.class,
            from: due.from,
            to: due.to,
            state,
            basis: due.basis,
        }
    }

    /// The slots `[anchor + k·every, anchor + (k+1)·every)` that end within the look-back
    /// window, up to the one after `T`, none starting after `stop` (nor after the death).
    pub fn periodic(
        &self,
        (kind, class): (&str, Class),
        anchor: Date,
        every: Span,
        stop: Option<Date>,
        hits: &[Hit],
        basis: &[u64],
    ) -> Vec<Obligation> {
        let stop = match (stop, self.death) {
            (Some(s), Some(d)) => Some(s.min(d)),
            (s, d) => s.or(d),
        };
        let mut out = Vec::new();
        // Periods are checked non-empty, so k grows the start; the bound only guards against
        // a calendar overflow turning into an endless loop.
        for k in 0..100_000 {
            let (Some(from), Some(next)) = (
                every.times(k).after(anchor),
                every.times(k + 1).after(anchor),
            ) else {
                break;
            };
            if stop.is_some_and(|s| from > s) {
                break;
            }
            let to = stop.map_or(day_before(next), |s| day_before(next).min(s));
            if to < self.since {
                continue;
            }
            let due = Due {
                kind: kind.to_owned(),
                class,
                from,
                to,
                fit: Fit::Window,
                basis: basis.to_vec(),
            };
            out.push(self.settle(due, hits, &mut BTreeSet::new()));
            if from > self.today {
                break;
            }
        }
        out
    }

    /// A configured periodic obligation from `anchor`.
    pub fn periodic_spec(
        &self,
        p: &Periodic,
        anchor: Date,
        stop: Option<Date>,
        basis: &[u64],
    ) -> Vec<Obligation> {
        let hits = self.hits(&p.services, &p.codes);
        self.periodic((&p.kind, p.class), anchor, p.every, stop, &hits, basis)
    }

    /// The windows of `groups` from `anchor`, in order, one record meeting one obligation;
    /// windows opening after `limit` are not due (a pregnancy that did not reach them).
    pub fn groups(
        &self,
        groups: &[Group],
        anchor: Date,
        limit: Option<Date>,
        basis: &[u64],
    ) -> Vec<Obligation> {
        let mut used = BTreeSet::new();
        let mut out = Vec::new();
        for g in groups {
            let hits = self.hits(&g.services, &g.codes);
            for item in &g.items {
                let (Some(from), Some(to)) = (item.from.after(anchor), item.to.after(anchor))
                else {
                    continue;
                };
                if limit.is_some_and(|l| from > l) || self.death.is_some_and(|d| from > d) {
                    continue;
                }
                let due = Due {
                    kind: item.kind.clone(),
                    class: g.class,
                    from,
                    to,
                    fit: if g.late { Fit::Late } else { Fit::Window },
                    basis: basis.to_vec(),
                };
                out.push(self.settle(due, &hits, &mut used));
            }
        }
        out
    }

    /// The episode of `code` the obligations are computed from, and whether it is active:
    /// the latest-starting episode covering `T`, else the one that started by `T` and ended
    /// last.
    pub fn episode(&self, code: &'a str) -> Option<(&'a Episode, bool)> {
        let started: Vec<&Episode> = self
            .facts
            .episodes_of(code)
            .filter(|e| e.start.is_some_and(|s| s <= self.at))
            .collect();
        let open = |e: &&&Episode| {
            e.covers(self.at)
                && !matches!(e.status.as_deref(), Some("finished" | "cancelled"))
                && self.death.is_none()
        };
        if let Some(e) = started
            .iter()
            .filter(open)
            .max_by_key(|e| (e.start, e.leaf))
        {
            return Some((*e, true));
        }
        started
            .into_iter()
            .max_by_key(|e| (e.end.or(e.start), e.leaf))
            .map(|e| (e, false))
    }

    pub fn enrolment(&self, e: &Episode) -> Enrolment {
        let end = e.end.map(|t| t.date());
        let until = match (end, self.death) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        Enrolment {
            leaf: e.leaf,
            id: e.id.clone(),
            since: e.start.map(|t| t.date()),
            until,
        }
    }

    /// The status from the episode and the eligibility: active episode, else eligible (and
    /// alive), else an enrolment that ended within the look-back window; `None` when the
    /// programme is none of the resident's business.
    pub fn status(&self, ep: Option<(&Episode, bool)>, eligible: bool) -> Option<Status> {
        match ep {
            Some((_, true)) => Some(Status::Active),
            _ if eligible && self.death.is_none() => Some(Status::EligibleNotEnrolled),
            Some((e, false)) => {
                let until = self.enrolment(e).until.or(e.start.map(|t| t.date()));
                until
                    .is_some_and(|u| u >= self.since)
                    .then_some(Status::Ended)
            }
            None => None,
        }
    }

    /// The earliest counted diagnosis in `set` in a qualifying clinical status, known by `T`,
    /// made at or after `min_age` (an unknown birth date does not disqualify).
    pub fn qualifying(&self, set: &ValueSet, min_age: Option<Span>) -> Option<&'a Diagnosis> {
        let statuses = &self.s.params.qualifying_statuses;
        let birth = self.facts.demographics.birth;
        self.facts
            .diagnoses
            .iter()
            .filter(|d| d.code_in(set).is_some())
            .filter(|d| {
                d.clinical_status
                    .as_ref()
                    .is_none_or(|s| statuses.contains(s))
            })
            .filter(|d| d.known_at().is_none_or(|t| t <= self.at))
            .filter(|d| {
                let day = d.known_at().map_or(self.today, |t| t.date());
                match (min_age, birth) {
                    (Some(age), Some(b)) => age.after(b).is_some_and(|a| a <= day),
                    _ => true,
                }
            })
            .min_by_key(|d| (d.known_at().is_none(), d.known_at(), d.leaf))
    }

    /// "Enrol within N days of the diagnosis", for a resident who qualifies and is not
    /// enrolled: due from the diagnosis, or from the end of the last enrolment if later.
    pub fn enrolment_due(
        &self,
        kind: String,
        trigger: (Date, u64),
        within: Span,
        ended: Option<&Episode>,
    ) -> Option<Obligation> {
        let ended_on = ended.and_then(|e| self.enrolment(e).until);
        let from = ended_on.map_or(trigger.0, |e| e.max(trigger.0));
        let mut basis = vec![trigger.1];
        basis.extend(ended.map(|e| e.leaf));
        Some(Obligation {
            kind,
            class: Class::Enrolment,
            from,
            to: within.after(from)?,
            state: self.state_unmet(from, within.after(from)?),
            basis,
        })
    }
}
