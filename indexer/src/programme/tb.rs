//! Pulmonary TB case management: the first home visit after the CDC notice, supervision visits
//! through the intensive and continuation phases, and the case-closure assessment.

use std::collections::BTreeSet;

use super::schedule::{Ctx, Due, Fit};
use super::{Built, Class, Programme, ProgrammeState, Status};
use crate::qc::ValueSet;

pub(super) fn tb(ctx: &Ctx<'_>, set: &ValueSet) -> Option<Built> {
    let cfg = &ctx.s.params.tb;
    let code = Programme::Tb.code();
    let dx = ctx.qualifying(set, None);
    // The latest CDC notice by T: the one the current case management answers.
    let notice = ctx
        .facts
        .requests
        .iter()
        .filter(|q| q.code.iter().any(|(_, c)| *c == ctx.s.items.tb_notice))
        .filter_map(|q| Some((q.authored.filter(|t| *t <= ctx.at)?, q.leaf)))
        .max();
    let ep = ctx.episode(code);
    let status = ctx.status(ep, dx.is_some() || notice.is_some())?;
    let mut obligations = Vec::new();
    let trigger = dx
        .map(|d| (d.known_at().map_or(ctx.today, |t| t.date()), d.leaf))
        .or(notice.map(|(t, leaf)| (t.date(), leaf)));
    if status == Status::EligibleNotEnrolled
        && let Some(trigger) = trigger
    {
        obligations.extend(ctx.enrolment_due(
            format!("{code} enrolment"),
            trigger,
            cfg.enrol_within,
            ep.map(|(e, _)| e),
        ));
    }
    let service = [format!("{code}-FU")];
    if let Some((at, leaf)) = notice
        && let Some(to) = cfg.first_visit.within.after(at.date())
    {
        let hits: Vec<_> = ctx
            .visit_hits(&service, Some(&cfg.first_visit.classes))
            .into_iter()
            .filter(|h| h.at >= at)
            .collect();
        let due = Due {
            kind: cfg.first_visit.kind.clone(),
            class: Class::TbVisit,
            from: at.date(),
            to,
            fit: Fit::Late,
            basis: vec![leaf],
        };
        obligations.push(ctx.settle(due, &hits, &mut BTreeSet::new()));
    }
    if let Some((e, _)) = ep
        && let Some(start) = e.start.map(|t| t.date())
    {
        let stop = ctx.enrolment(e).until;
        let hits = ctx.visit_hits(&service, Some(&ctx.s.vfu_classes));
        let mut from = start;
        for phase in [&cfg.intensive, &cfg.continuation] {
            let Some(next) = phase.length.after(from) else {
                break;
            };
            let end = next.previous_day().unwrap_or(next);
            let stop = stop.map_or(end, |s| s.min(end));
            if stop >= from {
                obligations.extend(ctx.periodic(
                    (&phase.kind, Class::TbVisit),
                    from,
                    phase.every,
                    Some(stop),
                    &hits,
                    &[e.leaf],
                ));
            }
            from = next;
        }
        // `from` is now the end of the course.
        if let Some(to) = cfg.closure.within.after(from)
            && stop.is_none_or(|s| s >= from)
        {
            let hits = ctx.observation_hits(std::slice::from_ref(&ctx.s.items.tb_closure));
            let due = Due {
                kind: cfg.closure.kind.clone(),
                class: Class::TbClosure,
                from,
                to,
                fit: Fit::Late,
                basis: vec![e.leaf],
            };
            obligations.push(ctx.settle(due, &hits, &mut BTreeSet::new()));
        }
    }
    Some(Built {
        state: ProgrammeState {
            programme: Programme::Tb,
            status,
            enrolment: ep.map(|(e, _)| ctx.enrolment(e)),
            obligations,
        },
        health_check_from: None,
    })
}
