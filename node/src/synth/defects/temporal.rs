//! Temporal defects (T): records moved, missing or late against the schedules.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use time::{Date, Duration};

use super::{
    Target, clinic, code_of, drop_group, encounter, episode_key, find, key, move_group,
    patient_key, year_before,
};
use crate::synth::calendar::{At, add_months, age_reached, fhir_date};
use crate::synth::codes::{LOINC, WEIGHT};
use crate::synth::fhir::{coded, fixed, quantity};
use crate::synth::programmes::{FollowUp, Kind, Prog};
use crate::synth::random::uuid;
use crate::synth::resident::{Loc, Resident};

/// Residents enrolled for the whole 12-month window, so that 4 follow-ups are due.
fn enrolled_all_year(r: &Resident, prog: Prog) -> bool {
    r.plan.death.is_none()
        && r.plan
            .enrolment(prog)
            .is_some_and(|e| e.start <= r.reference - Duration::days(367))
}

/// Follow-ups of `prog` from `from` on.
fn follow_ups_since<'r>(r: &'r Resident, prog: Prog, from: Date) -> Vec<&'r FollowUp> {
    r.plan
        .follow_ups_of(prog)
        .filter(|f| f.date >= from)
        .collect()
}

/// The oldest regular, controlled follow-ups whose removal leaves 3 in the 12-month window
/// (counted generously, so that at most 3 remain however T is read). Nothing depends on such a
/// visit: only uncontrolled visits and referrals are followed by a revisit.
fn cadence_removal(r: &Resident, prog: Prog) -> Option<Vec<usize>> {
    if !enrolled_all_year(r, prog) {
        return None;
    }
    let in_window = follow_ups_since(r, prog, year_before(r));
    let surplus = in_window.len().checked_sub(3)?;
    let removable: Vec<&FollowUp> = in_window
        .iter()
        .copied()
        .filter(|f| f.kind == Kind::Regular && f.controlled && !f.referral)
        .take(surplus)
        .collect();
    if surplus == 0 || removable.len() < surplus {
        return None;
    }
    if prog == Prog::T2d {
        // A glucose must remain in the last 180 days, or QC-T05 fires too.
        let recent = r.reference - Duration::days(179);
        let kept_fu = in_window
            .iter()
            .any(|f| f.date >= recent && !removable.iter().any(|x| x.group == f.group));
        let check = r.plan.health_checks.iter().any(|d| d.date >= recent);
        if !kept_fu && !check {
            return None;
        }
    }
    Some(removable.iter().map(|f| f.group).collect())
}

/// Follow-ups of `kind` (HTN, T2D) whose removal keeps 4 in the window read strictly, and
/// leaves the visit that called for them without any contact in the next 14 days: QC-T06 and
/// QC-T07 judge only calls in their 12-month look-back, and any visit (a health check, the
/// other programme's follow-up) within the 14 days would answer the call.
fn removable_of_kind(r: &Resident, kind: Kind) -> Vec<Target> {
    let mut out = Vec::new();
    let strict = r.reference - Duration::days(364);
    for prog in [Prog::Htn, Prog::T2d] {
        if !enrolled_all_year(r, prog) {
            continue;
        }
        let in_window = follow_ups_since(r, prog, strict).len();
        for f in r.plan.follow_ups_of(prog).filter(|f| f.kind == kind) {
            let left = in_window - usize::from(f.date >= strict);
            let Some(t) = trigger(r, f.group) else {
                continue;
            };
            let answered = r.groups.iter().enumerate().any(|(g, x)| {
                g != f.group
                    && g != t.group
                    && x.at.date >= t.date
                    && x.at.date <= t.date + Duration::days(15)
                    && x.recs.first().is_some_and(|e| e.kind == "Encounter")
            });
            if left >= 4 && t.date >= strict && !answered {
                out.push(Target::Group(f.group));
            }
        }
    }
    out
}

/// The follow-up before the one in group `g` (the visit that called for it).
fn trigger<'r>(r: &'r Resident, g: usize) -> Option<&'r FollowUp> {
    let f = r.plan.follow_ups.iter().find(|f| f.group == g)?;
    r.plan
        .follow_ups_of(f.prog)
        .filter(|x| x.date < f.date)
        .max_by_key(|x| x.date)
}

fn vaccine_code<'r>(r: &'r Resident, loc: Loc) -> Option<&'r str> {
    r.rec(loc).resource["vaccineCode"]["coding"][0]["code"].as_str()
}

/// The Immunization of vaccine `code` in group `g`.
fn dose(r: &Resident, g: usize, code: &str) -> Option<Loc> {
    (0..r.groups[g].recs.len())
        .map(|i| (g, i))
        .find(|&l| r.rec(l).kind == "Immunization" && vaccine_code(r, l) == Some(code))
}

fn imm_group(r: &Resident, months: u8) -> Option<usize> {
    r.plan
        .imm_visits
        .iter()
        .find(|v| v.months == months)
        .map(|v| v.group)
}

pub(super) fn candidates(rule: &str, r: &Resident) -> Vec<Target> {
    let p = &r.plan;
    let alive = p.death.is_none();
    let age = r.age();
    let group = |g: Option<usize>| g.map(Target::Group).into_iter().collect::<Vec<_>>();
    match rule {
        "QC-T01" => p
            .enrolments
            .iter()
            .filter_map(|e| e.condition.map(Target::Rec))
            .collect(),
        "QC-T02" if p.death.is_some() => vec![Target::Resident],
        "QC-T03" => cadence_removal(r, Prog::Htn)
            .map(Target::Groups)
            .into_iter()
            .collect(),
        "QC-T04" => cadence_removal(r, Prog::T2d)
            .map(Target::Groups)
            .into_iter()
            .collect(),
        // The follow-ups of the last 180 days lose their glucose, so 4 follow-ups with glucose
        // must remain before them in the window (read strictly), or QC-T04 fires too.
        "QC-T05"
            if alive
                && enrolled_all_year(r, Prog::T2d)
                && p.follow_ups_of(Prog::T2d)
                    .filter(|f| {
                        f.date >= r.reference - Duration::days(364)
                            && f.date < r.reference - Duration::days(182)
                    })
                    .count()
                    >= 4
                // An uncontrolled follow-up's revisit must keep its glucose (QC-T06), and a
                // check at 65 or more its fasting glucose (QC-X11).
                && !p.follow_ups_of(Prog::T2d).any(|f| {
                    !f.controlled && f.date >= r.reference - Duration::days(200)
                })
                && !p.health_checks.iter().any(|d| {
                    d.date >= r.reference - Duration::days(182)
                        && age_reached(r.birth, 65 * 12) <= d.date
                }) =>
        {
            vec![Target::Resident]
        }
        "QC-T06" => removable_of_kind(r, Kind::Revisit),
        "QC-T07" => removable_of_kind(r, Kind::AfterReferral),
        // A key population for the whole window (QC-T08: a check falls due a year after
        // joining it).
        "QC-T08"
            if alive
                && (age_reached(r.birth, 65 * 12) <= r.reference - Duration::days(367)
                    || [Prog::Htn, Prog::T2d, Prog::Smi].iter().any(|&x| {
                        p.enrolment(x)
                            .is_some_and(|e| e.start <= r.reference - Duration::days(367))
                    })) =>
        {
            let recent: Vec<usize> = p
                .health_checks
                .iter()
                .filter(|d| d.date >= year_before(r))
                .map(|d| d.group)
                .collect();
            if recent.is_empty() {
                Vec::new()
            } else {
                vec![Target::Groups(recent)]
            }
        }
        "QC-T09" if age < 7 => p
            .child_checks
            .iter()
            .filter(|c| c.months >= 3)
            .filter(|c| {
                let window = if c.months <= 36 { 1 } else { 3 };
                add_months(r.birth, c.months + window) + Duration::days(2) < r.reference
            })
            .map(|c| Target::Group(c.group))
            .collect(),
        "QC-T10" => group(imm_group(r, 8)),
        "QC-T11" if imm_group(r, 3).is_some() => group(imm_group(r, 4)),
        // QC-T12 checks children under 96 months (an adult's childhood doses predate the
        // archive).
        "QC-T12"
            if r.reference > add_months(r.birth, 19) && r.reference < add_months(r.birth, 95) =>
        {
            group(imm_group(r, 9))
        }
        // ANC-4 done: the 21–24 week window of ANC-3 is over however "reached" is read.
        "QC-T13" => group(
            p.pregnancy
                .as_ref()
                .filter(|x| x.anc.len() >= 4)
                .map(|x| x.anc[2].group),
        ),
        "QC-T14" => group(
            p.pregnancy
                .as_ref()
                .and_then(|x| x.pnc_42d)
                .map(|d| d.group),
        ),
        "QC-T15" => p.pregnancy.iter().map(|x| Target::Rec(x.edd)).collect(),
        // The gap must open after a stable follow-up in QC-T16's 12-month window, and last
        // more than 92 days to the next follow-up (or to T).
        "QC-T16" => {
            let smi: Vec<&FollowUp> = p.follow_ups_of(Prog::Smi).collect();
            (1..smi.len())
                .filter(|&i| {
                    let (prev, cur) = (smi[i - 1], smi[i]);
                    let gap_to = smi.get(i + 1).map_or(r.reference, |n| n.date);
                    prev.risk == 0
                        && cur.risk == 0
                        && cur.kind == Kind::Regular
                        && prev.date >= r.reference - Duration::days(364)
                        && (gap_to - prev.date).whole_days() > 94
                })
                .map(|i| Target::Group(smi[i].group))
                .collect()
        }
        "QC-T17" => {
            p.tb.iter()
                .filter(|tb| tb.visits.len() >= 2)
                .map(|tb| Target::Group(tb.visits[0].group))
                .collect()
        }
        "QC-T18" if alive && p.enrolments.is_empty() && (18..65).contains(&age) => {
            let since = r.reference - Duration::days(731);
            let recent: Vec<usize> = p
                .health_checks
                .iter()
                .filter(|d| d.date >= since)
                .map(|d| d.group)
                .collect();
            if recent.is_empty() {
                Vec::new()
            } else {
                vec![Target::Groups(recent)]
            }
        }
        "QC-T19" => p
            .enrolments
            .iter()
            .filter(|e| matches!(e.prog, Prog::Htn | Prog::T2d | Prog::Smi))
            .filter(|e| {
                p.follow_ups_of(e.prog)
                    .next()
                    .is_some_and(|f| f.date + Duration::days(5) <= r.last_day())
            })
            .filter_map(|e| e.condition.map(Target::Rec))
            .collect(),
        "QC-T20" => p
            .child_checks
            .windows(2)
            .filter(|w| w[1].months >= 6 && (w[1].date - w[0].date).whole_days() >= 30)
            .map(|w| Target::Rec(w[1].height))
            .collect(),
        _ => Vec::new(),
    }
}

pub(super) fn apply(rule: &str, r: &mut Resident, t: Target, rng: &mut ChaCha8Rng) -> Vec<String> {
    match (rule, t) {
        ("QC-T01", Target::Rec(loc)) => {
            let before = At {
                date: r.birth - Duration::days(200),
                minute: 10 * 60,
            };
            r.rec_mut(loc).resource["onsetDateTime"] = before.fhir().into();
            vec![key(r, loc)]
        }
        ("QC-T02", _) => {
            let Some(death) = r.plan.death else {
                return Vec::new();
            };
            let day = death + Duration::days(rng.gen_range(10..=60));
            let at = clinic(rng, day);
            let id = uuid(rng);
            let weight = r.bmi * (r.height / 100.0).powi(2);
            let obs = json!({
                "resourceType": "Observation",
                "id": id,
                "status": "final",
                "code": coded(LOINC, WEIGHT.code),
                "subject": {"reference": r.patient},
                "effectiveDateTime": at.fhir(),
                "valueQuantity": quantity(fixed(weight, 1), WEIGHT.unit, WEIGHT.ucum),
            });
            r.group(at);
            let loc = r.push("Observation", id, obs);
            vec![key(r, loc)]
        }
        ("QC-T03" | "QC-T04", Target::Groups(groups)) => {
            for g in groups {
                drop_group(r, g);
            }
            let prog = if rule == "QC-T03" {
                Prog::Htn
            } else {
                Prog::T2d
            };
            episode_key(r, prog).into_iter().collect()
        }
        ("QC-T05", _) => {
            let cutoff = r.reference - Duration::days(181);
            let glucose = |x: &crate::synth::resident::Rec| {
                x.kind == "Observation"
                    && matches!(code_of(&x.resource), Some("14771-0" | "4548-4"))
            };
            for g in r.groups.iter_mut().filter(|g| g.at.date >= cutoff) {
                // A referral for a danger glucose goes with it, not to point at nothing.
                let had = g.recs.iter().any(glucose);
                g.recs
                    .retain(|x| !(glucose(x) || had && x.kind == "ServiceRequest"));
            }
            episode_key(r, Prog::T2d).into_iter().collect()
        }
        ("QC-T06" | "QC-T07", Target::Group(g)) => {
            let trigger = trigger(r, g).map(|f| f.group);
            drop_group(r, g);
            let Some(u) = trigger else {
                return Vec::new();
            };
            match (rule, find(r, u, "ServiceRequest", "REFERRAL")) {
                ("QC-T07", Some(referral)) => vec![key(r, referral)],
                _ => vec![key(r, encounter(u))],
            }
        }
        ("QC-T08" | "QC-T18", Target::Groups(groups)) => {
            for g in groups {
                drop_group(r, g);
            }
            vec![patient_key(r)]
        }
        ("QC-T09", Target::Group(g)) => {
            drop_group(r, g);
            episode_key(r, Prog::Child).into_iter().collect()
        }
        ("QC-T10", Target::Group(g)) => {
            let day = add_months(r.birth, 7) + Duration::days(rng.gen_range(2..=10));
            move_group(r, g, day);
            (0..r.groups[g].recs.len())
                .map(|i| (g, i))
                .filter(|&l| r.rec(l).kind == "Immunization")
                .map(|l| key(r, l))
                .collect()
        }
        ("QC-T11", Target::Group(g)) => {
            let (Some(first_group), Some(second)) = (imm_group(r, 3), dose(r, g, "0401")) else {
                return Vec::new();
            };
            let Some(first) = dose(r, first_group, "0401") else {
                return Vec::new();
            };
            let at = r.rec(first).resource["occurrenceDateTime"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let day = r.groups[first_group].at.date + Duration::days(21);
            if at.len() > 10 {
                let moved = format!("{}{}", fhir_date(day), &at[10..]);
                r.rec_mut(second).resource["occurrenceDateTime"] = moved.into();
            }
            vec![key(r, second)]
        }
        ("QC-T12", Target::Group(g)) => {
            drop_group(r, g);
            vec![patient_key(r)]
        }
        ("QC-T13" | "QC-T14", Target::Group(g)) => {
            drop_group(r, g);
            let mut out: Vec<String> = episode_key(r, Prog::Preg).into_iter().collect();
            if let Some(d) = r.plan.pregnancy.as_ref().and_then(|p| p.delivery)
                && rule == "QC-T14"
            {
                out.extend(find(r, d.group, "Procedure", "236973005").map(|l| key(r, l)));
            }
            out
        }
        ("QC-T15", Target::Rec(loc)) => {
            let Some(p) = &r.plan.pregnancy else {
                return Vec::new();
            };
            let wrong = p.lmp + Duration::days(280 + 35);
            r.rec_mut(loc).resource["valueDateTime"] = fhir_date(wrong).into();
            vec![key(r, loc)]
        }
        ("QC-T16", Target::Group(g)) => {
            drop_group(r, g);
            episode_key(r, Prog::Smi).into_iter().collect()
        }
        ("QC-T17", Target::Group(g)) => {
            let Some(notice) = r.plan.tb.as_ref().map(|tb| tb.notice) else {
                return Vec::new();
            };
            move_group(r, g, notice + Duration::days(4));
            let task = (0..r.groups.len())
                .flat_map(|g| (0..r.groups[g].recs.len()).map(move |i| (g, i)))
                .find(|&l| r.rec(l).kind == "Task");
            let mut out = vec![key(r, encounter(g))];
            out.extend(task.map(|l| key(r, l)));
            out
        }
        ("QC-T19", Target::Rec(loc)) => {
            let Some(prog) = r
                .plan
                .enrolments
                .iter()
                .find(|e| e.condition == Some(loc))
                .map(|e| e.prog)
            else {
                return Vec::new();
            };
            let Some(first) = r.plan.follow_ups_of(prog).next().map(|f| (f.group, f.date)) else {
                return Vec::new();
            };
            let at = clinic(rng, first.1 + Duration::days(5));
            let v = &mut r.rec_mut(loc).resource;
            v["onsetDateTime"] = at.fhir().into();
            v["recordedDate"] = at.fhir().into();
            // The therapy for it starts with the diagnosis, or an antidiabetic would precede
            // its diagnosis by more than QC-X07 allows.
            let reason = r.reference_to(loc);
            for g in &mut r.groups {
                for x in g.recs.iter_mut().filter(|x| {
                    x.kind == "MedicationStatement"
                        && x.resource["reasonReference"][0]["reference"].as_str()
                            == Some(reason.as_str())
                }) {
                    x.resource["effectivePeriod"]["start"] = fhir_date(at.date).into();
                    x.resource["dateAsserted"] = at.fhir().into();
                }
            }
            vec![key(r, loc), key(r, encounter(first.0))]
        }
        ("QC-T20", Target::Rec(loc)) => {
            let checks = &r.plan.child_checks;
            let Some(i) = checks
                .iter()
                .position(|c| c.height == loc)
                .filter(|&i| i > 0)
            else {
                return Vec::new();
            };
            let previous = checks[i - 1].height;
            let before = r.rec(previous).resource["valueQuantity"]["value"]
                .as_f64()
                .unwrap_or(80.0);
            r.rec_mut(loc).resource["valueQuantity"]["value"] = fixed(before - 3.0, 1);
            vec![key(r, loc)]
        }
        _ => Vec::new(),
    }
}
