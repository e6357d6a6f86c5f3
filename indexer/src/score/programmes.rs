//! M3: one part per applicable programme, the module the mean of the parts.

use std::collections::BTreeSet;

use super::basic::Ctx;
use super::{Part, Partial, count, share};
use crate::programme::{Class, Obligation, Programme, ProgrammeState, State, Status};
use crate::qc::facts::FollowUp;

/// Whether the programme counts in M3 at T: enrolled or eligible; a pregnancy also when its
/// episode ended within the year (DOMAIN.md §5 "episode in 12m").
fn applicable(p: &ProgrammeState) -> bool {
    p.status != Status::Ended || p.programme == Programme::Preg
}

pub(super) fn m3(ctx: &Ctx<'_>) -> (Option<Partial>, Vec<Part>) {
    let parts: Vec<Part> = ctx
        .programmes
        .iter()
        .filter(|p| applicable(p))
        .map(|p| {
            let r = match p.programme {
                Programme::Htn | Programme::T2d => follow_ups(ctx, p),
                Programme::Smi => smi(ctx, p),
                Programme::Tb => done_of_due(p, &[Class::TbVisit], "TB visit"),
                Programme::Child => child(ctx, p),
                Programme::Imm => immunization(ctx, p),
                Programme::Preg => pregnancy(ctx, p),
                Programme::Elder => elder(ctx),
            };
            Part {
                programme: p.programme,
                s: r.s.clamp(0.0, 1.0),
                reasons: r.reasons,
                evidence: r.evidence.into_iter().collect(),
            }
        })
        .collect();
    if parts.is_empty() {
        return (None, parts);
    }
    let module = Partial {
        s: parts.iter().map(|p| p.s).sum::<f64>() / parts.len() as f64,
        reasons: parts.iter().flat_map(|p| p.reasons.clone()).collect(),
        evidence: parts
            .iter()
            .flat_map(|p| p.evidence.iter().copied())
            .collect(),
    };
    (Some(module), parts)
}

/// The valid follow-ups of `code` in the 12-month window.
fn recent<'a>(ctx: &Ctx<'a>, code: &str) -> Vec<&'a FollowUp> {
    ctx.view
        .facts
        .follow_ups(code)
        .iter()
        .filter(|f| f.at <= ctx.at && f.at.date() >= ctx.since)
        .collect()
}

/// Follow-ups required in the window: the yearly number, pro rata to the days enrolled in
/// it for an active enrolment (as QC-T03 counts), at least one.
fn required(ctx: &Ctx<'_>, p: &ProgrammeState) -> usize {
    let per_year = ctx.sc.cfg.m3.follow_ups_per_year as usize;
    let Some(e) = p.enrolment.as_ref().filter(|_| p.status == Status::Active) else {
        return per_year;
    };
    let from = e.since.map_or(ctx.since, |s| s.max(ctx.since));
    let to = e.until.map_or(ctx.today, |u| u.min(ctx.today));
    let days = (to - from).whole_days() + 1;
    let window = (ctx.today - ctx.since).whole_days() + 1;
    let pro_rata = (per_year as f64 * days as f64 / window as f64).ceil();
    (pro_rata as usize).clamp(1, per_year)
}

/// The `(s, reasons)` of a count against what was required.
fn missing_follow_ups(code: &str, n: usize, need: usize) -> (f64, Option<String>) {
    let s = (n as f64 / need.max(1) as f64).min(1.0);
    let reason = (n < need).then(|| {
        format!(
            "{} missing in the last 12 months ({n} of {need} done).",
            count(need - n, &format!("{code} follow-up"))
        )
    });
    (s, reason)
}

/// HTN, T2D: `min(1, VFU / required) × mean item completeness × (factor if a revisit rule
/// fails)`.
fn follow_ups(ctx: &Ctx<'_>, p: &ProgrammeState) -> Partial {
    let code = p.programme.code();
    let cfg = &ctx.sc.cfg.m3;
    let fus = recent(ctx, code);
    let (cadence, missing) = missing_follow_ups(code, fus.len(), required(ctx, p));
    let mut reasons: Vec<String> = missing.into_iter().collect();
    let items = cfg.visit_items.get(code).map_or(&[][..], Vec::as_slice);
    let completeness = if items.is_empty() || fus.is_empty() {
        1.0
    } else {
        let per_visit = fus.iter().map(|f| {
            let codes = ctx.visit_codes(&ctx.view.facts.visits[f.visit]);
            let present = items
                .iter()
                .filter(|g| g.iter().any(|c| codes.contains(c.as_str())))
                .count();
            present as f64 / items.len() as f64
        });
        per_visit.sum::<f64>() / fus.len() as f64
    };
    if completeness < 1.0 {
        reasons.push(format!(
            "{code} follow-ups record {:.0}% of the follow-up form's items.",
            100.0 * completeness
        ));
    }
    let failed: BTreeSet<&str> = revisit_failures(ctx, code);
    let factor = if failed.is_empty() {
        1.0
    } else {
        reasons.push(format!(
            "A {code} follow-up that called for a revisit or referral within 2 weeks did not \
             get one ({}).",
            failed.into_iter().collect::<Vec<_>>().join(", ")
        ));
        cfg.revisit_factor
    };
    Partial {
        s: cadence * completeness * factor,
        reasons,
        evidence: fus
            .iter()
            .flat_map(|f| f.evidence.iter().copied())
            .collect(),
    }
}

/// The revisit rules failing for `code`: a finding whose evidence includes a `code-FU`
/// visit or its observations, or one that names no follow-up of any programme (it cannot be
/// placed, so it lowers each).
fn revisit_failures<'a>(ctx: &Ctx<'a>, code: &str) -> BTreeSet<&'a str> {
    let facts = &ctx.view.facts;
    let leaves_of = |own: bool| -> BTreeSet<u64> {
        facts
            .visits
            .iter()
            .filter(|v| {
                v.service.as_deref().is_some_and(|s| {
                    s.ends_with("-FU") && (!own || s.strip_suffix("-FU") == Some(code))
                })
            })
            .flat_map(|v| {
                let obs = v
                    .observations
                    .iter()
                    .filter_map(|&i| facts.observations.get(i));
                std::iter::once(v.leaf).chain(obs.map(|o| o.leaf))
            })
            .collect()
    };
    let (own, any) = (leaves_of(true), leaves_of(false));
    ctx.findings
        .iter()
        .filter(|f| ctx.sc.cfg.m3.revisit_rules.iter().any(|r| r == f.rule_id))
        .filter(|f| {
            f.evidence.iter().any(|l| own.contains(l))
                || !f.evidence.iter().any(|l| any.contains(l))
        })
        .map(|f| f.rule_id)
        .collect()
}

/// SMI: `min(1, VFU / required) × share of face-to-face SMI visits with a risk grade`.
fn smi(ctx: &Ctx<'_>, p: &ProgrammeState) -> Partial {
    let code = p.programme.code();
    let fus = recent(ctx, code);
    let (cadence, missing) = missing_follow_ups(code, fus.len(), required(ctx, p));
    let service = [format!("{code}-FU")];
    let classes = &ctx.sc.schedules.vfu_classes();
    let visits = ctx
        .visits(&service, ctx.since)
        .filter(|v| v.class.as_ref().is_some_and(|c| classes.contains(c)))
        .count();
    let share = share(fus.len(), visits);
    let mut reasons: Vec<String> = missing.into_iter().collect();
    if visits > fus.len() {
        reasons.push(format!(
            "{} in the last 12 months without a risk grade.",
            count(visits - fus.len(), "SMI follow-up")
        ));
    }
    Partial {
        s: cadence * share.min(1.0),
        reasons,
        evidence: fus
            .iter()
            .flat_map(|f| f.evidence.iter().copied())
            .collect(),
    }
}

/// Obligations of `classes` that are met, and those overdue (due ones are not yet judged).
fn tally<'a>(
    p: &'a ProgrammeState,
    classes: &[Class],
) -> (Vec<&'a Obligation>, Vec<&'a Obligation>) {
    let of = p.obligations.iter().filter(|o| classes.contains(&o.class));
    let met = of.clone().filter(|o| o.state.is_met()).collect();
    let overdue = of.filter(|o| o.state == State::Overdue).collect();
    (met, overdue)
}

fn evidence_of(met: &[&Obligation]) -> BTreeSet<u64> {
    met.iter()
        .flat_map(|o| match &o.state {
            State::Met { evidence, .. } => evidence.clone(),
            _ => Vec::new(),
        })
        .collect()
}

/// Done / due for obligations of `classes`; 1 when none is due yet.
fn done_of_due(p: &ProgrammeState, classes: &[Class], noun: &str) -> Partial {
    let (met, overdue) = tally(p, classes);
    let due = met.len() + overdue.len();
    let mut reasons = Vec::new();
    if !overdue.is_empty() {
        let kinds: Vec<&str> = overdue.iter().map(|o| o.kind.as_str()).collect();
        reasons.push(format!(
            "{} of {due} due missed: {}.",
            count(overdue.len(), noun),
            kinds.join(", ")
        ));
    }
    Partial {
        s: share(met.len(), due),
        reasons,
        evidence: evidence_of(&met),
    }
}

/// CHILD: checks done / due weighted with (Hb + hearing) done / due.
fn child(ctx: &Ctx<'_>, p: &ProgrammeState) -> Partial {
    let cfg = &ctx.sc.cfg.m3;
    let checks = done_of_due(p, &[Class::ChildCheck], "child check");
    let tests = done_of_due(p, &[Class::ChildTest], "child test");
    let mut out = Partial {
        s: (cfg.child_checks * checks.s + cfg.child_tests * tests.s)
            / (cfg.child_checks + cfg.child_tests).max(f64::EPSILON),
        reasons: checks.reasons,
        evidence: checks.evidence,
    };
    out.reasons.extend(tests.reasons);
    out.evidence.extend(tests.evidence);
    out
}

/// IMM: valid doses / doses due by age; a dose a dose-validity rule cites does not count, and
/// a dose not given for a recorded reason is not due.
fn immunization(ctx: &Ctx<'_>, p: &ProgrammeState) -> Partial {
    let (met, overdue) = tally(p, &[Class::Dose]);
    let invalid_leaves: BTreeSet<u64> = ctx
        .findings
        .iter()
        .filter(|f| {
            ctx.sc
                .cfg
                .m3
                .invalid_dose_rules
                .iter()
                .any(|r| r == f.rule_id)
        })
        .flat_map(|f| f.evidence.iter().copied())
        .collect();
    let (valid, invalid): (Vec<&Obligation>, Vec<&Obligation>) = met.iter().partition(|o| {
        !matches!(&o.state, State::Met { evidence, .. } if evidence.iter().any(|l| invalid_leaves.contains(l)))
    });
    let due = met.len() + overdue.len();
    let mut reasons = Vec::new();
    let names = |v: &[&Obligation]| {
        v.iter()
            .map(|o| o.kind.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    if !overdue.is_empty() {
        reasons.push(format!(
            "{} due by age not given: {}.",
            count(overdue.len(), "vaccine dose"),
            names(&overdue)
        ));
    }
    if !invalid.is_empty() {
        reasons.push(format!(
            "{} given too early or too soon after the previous dose: {}.",
            count(invalid.len(), "vaccine dose"),
            names(&invalid)
        ));
    }
    Partial {
        s: share(valid.len(), due),
        reasons,
        evidence: evidence_of(&met),
    }
}

/// PREG: antenatal windows met (a late first visit counts part), the postpartum home visit
/// and the 42-day check, each weighted, over the parts that can be judged at T: windows not
/// yet closed and visits of a pregnancy not yet delivered are not held against it.
fn pregnancy(ctx: &Ctx<'_>, p: &ProgrammeState) -> Partial {
    let cfg = &ctx.sc.cfg.m3;
    let (met, overdue) = tally(p, &[Class::Antenatal]);
    let mut parts: Vec<(f64, f64)> = Vec::new();
    let mut reasons = Vec::new();
    if !met.is_empty() || !overdue.is_empty() {
        let value: f64 = met
            .iter()
            .map(|o| match o.state {
                State::Met { late: true, .. } => cfg.preg_first_late,
                _ => 1.0,
            })
            .sum();
        parts.push((
            cfg.preg_antenatal,
            value / (met.len() + overdue.len()) as f64,
        ));
        for o in &overdue {
            reasons.push(format!("No {} was recorded.", o.kind));
        }
        for o in met
            .iter()
            .filter(|o| matches!(o.state, State::Met { late: true, .. }))
        {
            reasons.push(format!("The {} was late.", o.kind));
        }
    }
    let postnatal: Vec<&Obligation> = p
        .obligations
        .iter()
        .filter(|o| o.class == Class::Postnatal)
        .collect();
    for (i, o) in postnatal.iter().enumerate() {
        let weight = if i == 0 {
            cfg.preg_home_visit
        } else {
            cfg.preg_day42
        };
        match o.state {
            State::Met { .. } => parts.push((weight, 1.0)),
            State::Overdue => {
                parts.push((weight, 0.0));
                reasons.push(format!("No {} was recorded.", o.kind));
            }
            _ => {}
        }
    }
    let total: f64 = parts.iter().map(|(w, _)| w).sum();
    let mut all_met = met;
    all_met.extend(postnatal.iter().filter(|o| o.state.is_met()));
    Partial {
        s: if total > 0.0 {
            parts.iter().map(|(w, s)| w * s).sum::<f64>() / total
        } else {
            1.0
        },
        reasons,
        evidence: evidence_of(&all_met),
    }
}

/// ELDER: a self-care assessment and a TCM constitution identification in the last 12 months.
fn elder(ctx: &Ctx<'_>) -> Partial {
    let cfg = &ctx.sc.cfg.m3;
    let items = &ctx.sc.items;
    let facts = &ctx.view.facts;
    let recent_obs = |code: &String| {
        facts
            .observations_of(std::slice::from_ref(code))
            .filter(|o| o.at.is_some_and(|t| t <= ctx.at && t.date() >= ctx.since))
            .map(|o| o.leaf)
            .max()
    };
    let self_care = recent_obs(&items.self_care);
    let tcm = recent_obs(&items.tcm_constitution).or_else(|| {
        ctx.visits(&cfg.elder_tcm_services, ctx.since)
            .last()
            .map(|v| v.leaf)
    });
    let mut reasons = Vec::new();
    if self_care.is_none() {
        reasons.push("No self-care assessment in the last 12 months.".to_owned());
    }
    if tcm.is_none() {
        reasons.push("No TCM constitution identification in the last 12 months.".to_owned());
    }
    let weight = |x: Option<u64>, w: f64| if x.is_some() { w } else { 0.0 };
    Partial {
        s: (weight(self_care, cfg.elder_self_care) + weight(tcm, cfg.elder_tcm))
            / (cfg.elder_self_care + cfg.elder_tcm).max(f64::EPSILON),
        reasons,
        evidence: self_care.into_iter().chain(tcm).collect(),
    }
}
