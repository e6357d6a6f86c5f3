//! Pregnancy: antenatal windows in gestational weeks from the pregnancy start (LMP, or EDD −
//! 280 d), and the postnatal visits from the delivery.

use time::Date;

use super::schedule::Ctx;
use super::{Built, Programme, ProgrammeState};
use crate::model::Gender;
use crate::qc::ValueSet;

/// The pregnancy the obligations follow: its start and the leaf it was read from.
fn pregnancy_start(ctx: &Ctx<'_>, reference: Date) -> Option<(Date, u64)> {
    let cfg = &ctx.s.params.preg;
    let earliest = cfg.max_length.before(reference)?;
    let lmp = std::slice::from_ref(&ctx.s.items.lmp);
    let edd = std::slice::from_ref(&ctx.s.codes.edd);
    let from_lmp = ctx
        .facts
        .observations_of(lmp)
        .filter_map(|o| Some((o.at?, o.value_time?.date(), o.leaf)));
    let from_edd = ctx.facts.observations_of(edd).filter_map(|o| {
        let edd = o.value_time?.date();
        Some((o.at?, cfg.edd_to_start.before(edd)?, o.leaf))
    });
    // The latest statement by T wins: a corrected EDD replaces the booking estimate.
    from_lmp
        .chain(from_edd)
        .filter(|(at, start, _)| *at <= ctx.at && *start >= earliest && *start <= reference)
        .max_by_key(|(at, _, leaf)| (*at, *leaf))
        .map(|(_, start, leaf)| (start, leaf))
}

/// The delivery after `start` by T: a delivery procedure or diagnosis, else the episode end.
fn delivery(
    ctx: &Ctx<'_>,
    start: Date,
    set: &ValueSet,
    episode_end: Option<Date>,
) -> Option<(Date, Option<u64>)> {
    let by_procedure = ctx
        .facts
        .others
        .iter()
        .filter(|x| x.kind == "Procedure")
        .filter(|x| x.code_in(set).is_some())
        .filter_map(|x| Some((x.at?, x.leaf)));
    let by_diagnosis = ctx
        .facts
        .diagnoses
        .iter()
        .filter(|d| d.code_in(set).is_some())
        .filter_map(|d| Some((d.onset.or(d.recorded)?, d.leaf)));
    by_procedure
        .chain(by_diagnosis)
        .filter(|(at, _)| *at <= ctx.at && at.date() >= start)
        .min()
        .map(|(at, leaf)| (at.date(), Some(leaf)))
        .or_else(|| episode_end.filter(|e| *e >= start).map(|e| (e, None)))
}

pub(super) fn pregnancy(ctx: &Ctx<'_>, preg: &ValueSet, delivered: &ValueSet) -> Option<Built> {
    if ctx.facts.demographics.gender == Some(Gender::Male) {
        return None;
    }
    let cfg = &ctx.s.params.preg;
    let ep = ctx.episode(Programme::Preg.code());
    let episode_start = ep.and_then(|(e, _)| e.start.map(|t| t.date()));
    let episode_end = ep.and_then(|(e, _)| e.end.map(|t| t.date()));
    // An episode's pregnancy started before its booking; without one, before T.
    let start = pregnancy_start(ctx, episode_start.unwrap_or(ctx.today));
    let birth = start.and_then(|(s, _)| delivery(ctx, s, delivered, episode_end));
    let window_start = cfg.max_length.before(ctx.today).unwrap_or(Date::MIN);
    let pregnant_now = start.is_some_and(|(s, _)| s >= window_start) && birth.is_none();
    let diagnosed = ctx
        .qualifying(preg, None)
        .is_some_and(|d| d.known_at().is_some_and(|t| t.date() >= window_start));
    let status = ctx.status(ep, pregnant_now || diagnosed)?;
    let mut obligations = Vec::new();
    if let Some((s, leaf)) = start {
        let mut basis: Vec<u64> = ep.map(|(e, _)| e.leaf).into_iter().collect();
        basis.push(leaf);
        obligations.extend(ctx.groups(&cfg.antenatal, s, birth.map(|b| b.0), &basis));
        if let Some((day, leaf)) = birth {
            basis.extend(leaf);
            obligations.extend(ctx.groups(&cfg.postnatal, day, None, &basis));
        }
    }
    Some(Built {
        state: ProgrammeState {
            programme: Programme::Preg,
            status,
            enrolment: ep.map(|(e, _)| ctx.enrolment(e)),
            obligations,
        },
        health_check_from: None,
    })
}
