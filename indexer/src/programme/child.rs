//! Children under 7: the check-up schedule with its tests, and the vaccination schedule.

use std::collections::BTreeSet;

use super::schedule::{Ctx, Due, Fit, Hit};
use super::{Built, Class, Enrolment, Programme, ProgrammeState, State, Status};
use crate::qc::facts::Dose;

/// Whether a child born on the resident's birth date is under `max_age` at T; `None` without
/// a birth date (no schedule can be placed).
fn under(ctx: &Ctx<'_>, max_age: super::Span) -> Option<bool> {
    let birth = ctx.facts.demographics.birth?;
    Some(max_age.after(birth).is_some_and(|d| d > ctx.today))
}

pub(super) fn child(ctx: &Ctx<'_>) -> Option<Built> {
    let cfg = &ctx.s.params.child;
    let birth = ctx.facts.demographics.birth?;
    let ep = ctx.episode(Programme::Child.code());
    let status = ctx.status(ep, under(ctx, cfg.max_age)?)?;
    let basis: Vec<u64> = ep
        .map(|(e, _)| e.leaf)
        .or(ctx.facts.demographics.leaf)
        .into_iter()
        .collect();
    Some(Built {
        state: ProgrammeState {
            programme: Programme::Child,
            status,
            enrolment: ep.map(|(e, _)| ctx.enrolment(e)),
            obligations: ctx.groups(&cfg.groups, birth, None, &basis),
        },
        health_check_from: None,
    })
}

fn dose_hit(d: &Dose) -> Option<Hit> {
    let at = d.at?;
    Some(Hit {
        on: at.date(),
        at,
        evidence: vec![d.leaf],
    })
}

/// IMM: every dose of the schedule. The vaccination archive is "enrolled" by its first record
/// (a dose or an IMM visit): there is no episode type for it.
pub(super) fn immunization(ctx: &Ctx<'_>) -> Option<Built> {
    let cfg = &ctx.s.params.imm;
    let birth = ctx.facts.demographics.birth?;
    let eligible = under(ctx, cfg.max_age)?;
    let doses: Vec<&Dose> = ctx
        .facts
        .doses
        .iter()
        .filter(|d| d.at.is_some_and(|t| t <= ctx.at))
        .collect();
    let first = doses
        .iter()
        .filter_map(|d| Some((d.at?, d.leaf, d.id.clone())))
        .chain(
            ctx.visit_hits(&cfg.services, None)
                .into_iter()
                .filter_map(|h| {
                    let leaf = *h.evidence.first()?;
                    let id = ctx.facts.visits.iter().find(|v| v.leaf == leaf)?.id.clone();
                    Some((h.at, leaf, id))
                }),
        )
        .min();
    let enrolment = first.map(|(at, leaf, id)| Enrolment {
        leaf,
        id,
        since: Some(at.date()),
        until: cfg.max_age.after(birth).filter(|_| !eligible),
    });
    let aged_out_recently = enrolment
        .as_ref()
        .and_then(|e| e.until)
        .is_some_and(|u| u >= ctx.since);
    let status = match (&enrolment, eligible && ctx.death.is_none()) {
        (Some(_), true) => Status::Active,
        (None, true) => Status::EligibleNotEnrolled,
        (Some(_), false) if aged_out_recently || ctx.death.is_some_and(|d| d >= ctx.since) => {
            Status::Ended
        }
        _ => return None,
    };
    let basis: Vec<u64> = ctx.facts.demographics.leaf.into_iter().collect();
    let mut obligations = Vec::new();
    for spec in &cfg.doses {
        let (Some(from), Some(to)) = (spec.from.after(birth), spec.to.after(birth)) else {
            continue;
        };
        if ctx.death.is_some_and(|d| from > d) {
            continue;
        }
        let of_dose: Vec<&&Dose> = doses
            .iter()
            .filter(|d| {
                d.series
                    .as_deref()
                    .zip(d.dose_number)
                    .is_some_and(|(s, n)| spec.accepts(s, n))
            })
            .collect();
        let given: Vec<Hit> = of_dose
            .iter()
            .filter(|d| d.status.as_deref().is_none_or(|s| s == "completed"))
            .filter_map(|d| dose_hit(d))
            .collect();
        let due = Due {
            kind: format!("{} dose {}", spec.series, spec.dose),
            class: Class::Dose,
            from,
            to,
            fit: Fit::Any,
            basis: basis.clone(),
        };
        let mut o = ctx.settle(due, &given, &mut BTreeSet::new());
        // A dose not given for a recorded reason (contraindication, refusal) is not overdue.
        if !o.state.is_met()
            && let Some(h) = of_dose
                .iter()
                .filter(|d| d.status.as_deref() == Some("not-done") && d.has_status_reason)
                .find_map(|d| dose_hit(d))
        {
            o.state = State::Waived {
                on: h.on,
                evidence: h.evidence,
            };
        }
        obligations.push(o);
    }
    Some(Built {
        state: ProgrammeState {
            programme: Programme::Imm,
            status,
            enrolment,
            obligations,
        },
        health_check_from: None,
    })
}
