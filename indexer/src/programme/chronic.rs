//! HTN, T2D and SMI (enrolment after the diagnosis, periodic valid follow-ups, the revisit an
//! uncontrolled or unstable follow-up calls for) and the elderly's annual services.

use std::collections::BTreeSet;

use time::Date;

use super::config::{Chronic, Revisit};
use super::schedule::{Ctx, Due, Fit, Hit};
use super::{Built, Class, Obligation, Programme, ProgrammeState, Status};
use crate::qc::ValueSet;
use crate::qc::facts::FollowUp;

pub(super) fn chronic(
    ctx: &Ctx<'_>,
    programme: Programme,
    cfg: &Chronic,
    set: &ValueSet,
) -> Option<Built> {
    let code = programme.code();
    let dx = ctx.qualifying(set, cfg.min_age);
    let ep = ctx.episode(code);
    let status = ctx.status(ep, dx.is_some())?;
    let mut obligations = Vec::new();
    let dx_day = dx.map(|d| (d.known_at().map_or(ctx.today, |t| t.date()), d.leaf));
    if status == Status::EligibleNotEnrolled
        && let Some(trigger) = dx_day
    {
        obligations.extend(ctx.enrolment_due(
            format!("{code} enrolment"),
            trigger,
            cfg.enrol_within,
            ep.map(|(e, _)| e),
        ));
    }
    if let Some((e, _)) = ep
        && let Some(start) = e.start.map(|t| t.date())
    {
        let stop = ctx.enrolment(e).until;
        let hits = ctx.follow_up_hits(code);
        obligations.extend(ctx.periodic(
            (&cfg.follow_up.kind, Class::FollowUp),
            start,
            cfg.follow_up.every,
            stop,
            &hits,
            &[e.leaf],
        ));
        obligations.extend(revisits(ctx, code, &cfg.revisit, start, stop));
    }
    let health_check_from = cfg.health_check.then(|| match (status, ep) {
        (Status::Active, Some((e, _))) => e.start.map(|t| t.date()),
        _ => dx_day.map(|d| d.0),
    });
    Some(Built {
        state: ProgrammeState {
            programme,
            status,
            enrolment: ep.map(|(e, _)| ctx.enrolment(e)),
            obligations,
        },
        health_check_from: health_check_from.flatten(),
    })
}

/// Why a follow-up calls for a revisit, if it does.
fn calls_for_revisit(f: &FollowUp, r: &Revisit) -> Option<String> {
    let at_or_over = |v: Option<f64>, t: Option<f64>| v.zip(t).is_some_and(|(v, t)| v >= t);
    if let Some((s, d)) = f.bp
        && (at_or_over(Some(s), r.sbp) || at_or_over(Some(d), r.dbp))
    {
        return Some(format!("BP {s}/{d}"));
    }
    if at_or_over(f.fbg, r.fbg) {
        return f.fbg.map(|g| format!("fasting glucose {g:.1} mmol/L"));
    }
    match (f.risk, r.risk) {
        (Some(g), Some(t)) if g >= t => Some(format!("risk grade {g}")),
        _ => None,
    }
}

/// A revisit within `within` of each valid follow-up in the look-back window (and the
/// enrolment) that calls for one, met by a later valid follow-up or a referral.
fn revisits(
    ctx: &Ctx<'_>,
    code: &str,
    r: &Revisit,
    start: Date,
    stop: Option<Date>,
) -> Vec<Obligation> {
    let fus = ctx.facts.follow_ups(code);
    let referrals = referral_hits(ctx);
    let mut out = Vec::new();
    for f in fus.iter().filter(|f| f.at <= ctx.at) {
        let day = f.at.date();
        if day < ctx.since || day < start || stop.is_some_and(|s| day > s) {
            continue;
        }
        let Some(why) = calls_for_revisit(f, r) else {
            continue;
        };
        let Some(to) = r.within.after(day) else {
            continue;
        };
        let visit_id = &ctx.facts.visits[f.visit].id;
        let mut hits: Vec<Hit> = fus
            .iter()
            .filter(|g| g.at > f.at && g.at <= ctx.at)
            .map(|g| Hit {
                on: g.at.date(),
                at: g.at,
                evidence: g.evidence.clone(),
            })
            .collect();
        hits.extend(
            referrals
                .iter()
                .filter(|(enc, h)| enc.as_deref() == Some(visit_id.as_str()) || h.at >= f.at)
                .map(|(enc, h)| Hit {
                    // A referral written at the visit meets it on the visit's day.
                    on: if enc.as_deref() == Some(visit_id.as_str()) {
                        day
                    } else {
                        h.on
                    },
                    ..h.clone()
                }),
        );
        hits.sort_by_key(|h| h.on);
        let due = Due {
            kind: format!("{} ({why} on {day})", r.kind),
            class: Class::Revisit,
            from: day,
            to,
            fit: Fit::Window,
            basis: f.evidence.clone(),
        };
        out.push(ctx.settle(due, &hits, &mut BTreeSet::new()));
    }
    out
}

/// Referrals by `T`: `ServiceRequest`s coded as a referral, and follow-up classifications of
/// "referral", each with the visit it was made at.
pub(super) fn referral_hits(ctx: &Ctx<'_>) -> Vec<(Option<String>, Hit)> {
    let items = &ctx.s.items;
    let mut out: Vec<(Option<String>, Hit)> = ctx
        .facts
        .requests
        .iter()
        .filter(|q| q.kind == "ServiceRequest")
        .filter(|q| q.code.iter().any(|(_, c)| *c == items.referral))
        .filter(|q| !matches!(q.status.as_deref(), Some("revoked" | "entered-in-error")))
        .filter_map(|q| {
            let at = q.authored.filter(|t| *t <= ctx.at)?;
            Some((
                q.encounter.clone(),
                Hit {
                    on: at.date(),
                    at,
                    evidence: vec![q.leaf],
                },
            ))
        })
        .collect();
    let codes = [ctx.s.codes.htn_class.clone(), ctx.s.codes.t2d_class.clone()];
    out.extend(
        ctx.facts
            .observations_of(&codes)
            .filter(|o| o.value_code.as_deref() == Some("referral"))
            .filter_map(|o| {
                let at = o.at.filter(|t| *t <= ctx.at)?;
                Some((
                    o.encounter.clone(),
                    Hit {
                        on: at.date(),
                        at,
                        evidence: vec![o.leaf],
                    },
                ))
            }),
    );
    out
}

/// ELDER: the annual services from the birthday at the minimum age.
pub(super) fn elder(ctx: &Ctx<'_>) -> Option<Built> {
    let cfg = &ctx.s.params.elder;
    let anchor = ctx
        .facts
        .demographics
        .birth
        .and_then(|b| cfg.min_age.after(b));
    let eligible = anchor.is_some_and(|a| a <= ctx.today);
    let ep = ctx.episode(Programme::Elder.code());
    let status = ctx.status(ep, eligible)?;
    let anchor = anchor.or_else(|| ep.and_then(|(e, _)| e.start.map(|t| t.date())));
    let basis: Vec<u64> = ep
        .map(|(e, _)| e.leaf)
        .or(ctx.facts.demographics.leaf)
        .into_iter()
        .collect();
    let obligations = anchor.map_or_else(Vec::new, |a| {
        cfg.periodic
            .iter()
            .flat_map(|p| ctx.periodic_spec(p, a, None, &basis))
            .collect()
    });
    Some(Built {
        state: ProgrammeState {
            programme: Programme::Elder,
            status,
            enrolment: ep.map(|(e, _)| ctx.enrolment(e)),
            obligations,
        },
        health_check_from: anchor.filter(|_| cfg.health_check),
    })
}
