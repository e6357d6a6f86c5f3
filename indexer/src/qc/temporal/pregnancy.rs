//! What the pregnancy rules (QC-T13–T15) read about a pregnancy.
//!
//! A pregnancy is a PREG `EpisodeOfCare`. Its dating is the last menstrual period (LMP
//! observation, `valueDateTime`), else the expected delivery date (EDD observation) − 280 d,
//! and for QC-T13 only, when allowed, the enrolment date. Dating and gestational-age
//! observations belong to the episode when they are dated from 30 d before its start to 7 d
//! after its end (or `T`): the booking visit may precede the enrolment record. Its end is
//! the earliest delivery Procedure, else delivery Condition (onset, else recorded date) dated
//! from its start to 14 d after its end, else the episode's end; a delivery is a record
//! coded in `value_sets.DELIVERY`.

use time::{Date, OffsetDateTime};

use super::super::facts::{Episode, Facts, Obs};
use super::super::params::{Params, ParamsError};
use super::super::valueset::ValueSet;
use super::{days, plus};

/// Days before an episode's start that its dating observations may be dated.
const OBS_BEFORE_START: i64 = 30;
/// Days after an episode's end that its observations may be dated.
const OBS_AFTER_END: i64 = 7;
/// Days after an episode's end that its delivery may be dated (closing lags the delivery).
const DELIVERY_AFTER_END: i64 = 14;
/// LMP = EDD − 280 d (Naegele).
pub(super) const EDD_DAYS: i64 = 280;

/// The codes the pregnancy rules read, from `[codes]`, `[items]` and `value_sets.DELIVERY`.
pub(super) struct PregnancyCodes {
    lmp: String,
    edd: String,
    ga: String,
    delivery: ValueSet,
}

impl PregnancyCodes {
    pub(super) fn new(params: &Params) -> Result<Self, ParamsError> {
        let items = params.items()?;
        Ok(Self {
            lmp: items.lmp,
            edd: params.codes.edd.clone(),
            ga: params.codes.gestational_age.clone(),
            delivery: params.delivery.clone(),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Dating {
    Lmp,
    Edd,
    Enrolment,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EndKind {
    Procedure,
    Condition,
    EpisodeEnd,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct End {
    pub(super) day: Date,
    pub(super) leaf: u64,
    pub(super) kind: EndKind,
}

/// A PREG episode with what the rules read about it.
pub(super) struct Pregnancy<'a> {
    pub(super) episode: &'a Episode,
    pub(super) start: Date,
    /// The latest LMP and EDD observations of the episode.
    pub(super) lmp_obs: Option<&'a Obs>,
    pub(super) edd_obs: Option<&'a Obs>,
    pub(super) ga_obs: Vec<&'a Obs>,
    /// Every delivery record of the episode, earliest first; the first is the delivery.
    pub(super) deliveries: Vec<End>,
    pub(super) end: Option<End>,
}

/// The LMP a pregnancy is dated from.
#[derive(Debug, Clone, Copy)]
pub(super) struct Lmp {
    pub(super) day: Date,
    pub(super) how: Dating,
    /// The observation it comes from.
    pub(super) leaf: Option<u64>,
}

impl Pregnancy<'_> {
    /// The LMP from a recorded LMP, else from a recorded EDD.
    pub(super) fn recorded_lmp(&self) -> Option<Lmp> {
        let from = |o: &Obs, how, shift: i64| {
            Some(Lmp {
                day: plus(o.value_day?, -shift),
                how,
                leaf: Some(o.leaf),
            })
        };
        self.lmp_obs
            .and_then(|o| from(o, Dating::Lmp, 0))
            .or_else(|| self.edd_obs.and_then(|o| from(o, Dating::Edd, EDD_DAYS)))
    }

    pub(super) fn lmp(&self, enrolment: bool) -> Option<Lmp> {
        self.recorded_lmp().or_else(|| {
            enrolment.then_some(Lmp {
                day: self.start,
                how: Dating::Enrolment,
                leaf: None,
            })
        })
    }

    /// The episode's leaf, then the dating observation's.
    pub(super) fn evidence(&self, lmp: &Lmp) -> Vec<u64> {
        std::iter::once(self.episode.leaf).chain(lmp.leaf).collect()
    }
}

/// A delivery record (Procedure or Condition) of the resident, dated by `at`.
fn delivery_records(f: &Facts, c: &PregnancyCodes, at: OffsetDateTime) -> Vec<End> {
    let mut out: Vec<End> = f
        .others
        .iter()
        .filter(|o| o.kind == "Procedure" && o.status.as_deref() != Some("not-done"))
        .filter(|o| o.code_in(&c.delivery).is_some())
        .filter(|o| o.at.is_some_and(|t| t <= at))
        .filter_map(|o| {
            Some(End {
                day: o.day?,
                leaf: o.leaf,
                kind: EndKind::Procedure,
            })
        })
        .chain(f.diagnoses.iter().filter_map(|d| {
            d.code_in(&c.delivery)?;
            let day = d.onset_day.or(d.recorded_day)?;
            (day <= at.date()).then_some(End {
                day,
                leaf: d.leaf,
                kind: EndKind::Condition,
            })
        }))
        .collect();
    // Procedures first on the same day: the procedure dates the delivery best.
    out.sort_by_key(|e| (e.day, e.kind != EndKind::Procedure, e.leaf));
    out
}

/// The resident's PREG episodes that started by `at`, with their observations and ends.
pub(super) fn pregnancies<'a>(
    f: &'a Facts,
    c: &PregnancyCodes,
    at: OffsetDateTime,
) -> Vec<Pregnancy<'a>> {
    let today = at.date();
    let deliveries = delivery_records(f, c, at);
    let mut out: Vec<Pregnancy<'a>> = f
        .episodes_of("PREG")
        .filter(|e| e.start.is_some_and(|s| s <= at))
        .filter_map(|e| {
            let start = e.start_day?;
            let last = e.end_day.filter(|d| *d <= today).unwrap_or(today);
            let obs_of = |code: &str| -> Vec<&'a Obs> {
                f.observations
                    .iter()
                    .filter(|o| o.code.as_deref() == Some(code))
                    .filter(|o| o.at.is_some_and(|t| t <= at))
                    .filter(|o| {
                        o.day.is_some_and(|d| {
                            d >= plus(start, -OBS_BEFORE_START) && d <= plus(last, OBS_AFTER_END)
                        })
                    })
                    .collect()
            };
            let ends: Vec<End> = deliveries
                .iter()
                .filter(|d| d.day >= start && d.day <= plus(last, DELIVERY_AFTER_END))
                .copied()
                .collect();
            let episode_end = e.end_day.filter(|d| *d <= today).map(|day| End {
                day,
                leaf: e.leaf,
                kind: EndKind::EpisodeEnd,
            });
            Some(Pregnancy {
                episode: e,
                start,
                lmp_obs: obs_of(&c.lmp).into_iter().rfind(|o| o.value_day.is_some()),
                edd_obs: obs_of(&c.edd).into_iter().rfind(|o| o.value_day.is_some()),
                ga_obs: obs_of(&c.ga)
                    .into_iter()
                    .filter(|o| o.value.is_some())
                    .collect(),
                end: ends.first().copied().or(episode_end),
                deliveries: ends,
            })
        })
        .collect();
    out.sort_by_key(|p| (p.start, p.episode.leaf));
    out
}

/// Delivery records that belong to no episode, one per birth: records within `same_days`
/// of the previous one are the same birth.
pub(super) fn standalone_births(
    f: &Facts,
    c: &PregnancyCodes,
    preg: &[Pregnancy<'_>],
    at: OffsetDateTime,
    same_days: i64,
) -> Vec<End> {
    let mut out: Vec<End> = Vec::new();
    for d in delivery_records(f, c, at) {
        if preg
            .iter()
            .any(|p| p.deliveries.iter().any(|x| x.leaf == d.leaf))
        {
            continue;
        }
        if out.last().is_some_and(|l| days(l.day, d.day) <= same_days) {
            continue;
        }
        out.push(d);
    }
    out
}

/// Gestational age on `day` as clinicians write it: "15+2 weeks".
pub(super) fn ga_text(lmp: Date, day: Date) -> String {
    let d = days(lmp, day);
    format!("{}+{} weeks", d.div_euclid(7), d.rem_euclid(7))
}

/// How a sentence names the pregnancy's dating.
pub(super) fn dated(lmp: &Lmp) -> String {
    match lmp.how {
        Dating::Lmp => format!("last menstrual period {}", lmp.day),
        Dating::Edd => format!("expected delivery {}", plus(lmp.day, EDD_DAYS)),
        Dating::Enrolment => format!("enrolment {}, as no LMP or EDD is recorded", lmp.day),
    }
}
