//! Known defects (`--defect-rate p`): with probability p a resident gets exactly one defect of a
//! catalogue rule (DOMAIN.md §4), chosen uniformly among the rules that can apply to that
//! resident, and a [`Label`] naming it. The draws come from a stream of their own, so a
//! resident without a defect is byte-identical to the clean population.
//!
//! Each defect is made to trigger its rule and, where the catalogue allows, no other error
//! rule. Known overlaps (E = an error rule, W = a warning rule also expected):
//!
//! | Rule | Injection | Also expected |
//! |---|---|---|
//! | F01 | check character of the ID card changed | — (R05 cannot read an invalid number) |
//! | F02 | archive village segment set to 250 | — |
//! | F03 | Patient.name removed | — |
//! | F04 | Immunization.lotNumber or a check's Encounter.serviceProvider removed | — |
//! | F05 | a temperature or child weight coded in an unregistered system | W: T20 (one weight fewer) |
//! | F06 | an adult weight written in g | — |
//! | F07 | heart rate 280/min or Hb 262 g/L | — |
//! | F08 | a medication statement dated 40 years after T | — |
//! | R01 | a health-check BP of 100/95 (pulse pressure 5) | — |
//! | R02 | a check's Encounter ends 30 min before it starts | — |
//! | R03 (W) | a health-check BMI 4 kg/m² off | — |
//! | R04 | a finished check Encounter without period.end | — |
//! | R05 | Patient.gender flipped (residents without pregnancy data) | W: T20 z-scores of a child |
//! | X01 | a male with O24.4 | — |
//! | X02 | a female with C61, a male with N80.0 | — |
//! | X03 (W) | an EDD at the health check of a woman aged 56+ | — |
//! | X04 | the qualifying diagnosis recoded out of the value set (I15.0, E10.9, F32.9, A18.0) | — |
//! | X05 (W) | an I10 diagnosis without an HTN enrolment | — |
//! | X06 | a CHILD-HC visit at 8–17 years, a TCM-ELDER visit at 18–64 | — |
//! | X07 (W) | metformin without a diabetes diagnosis | — |
//! | X08 | the classification of an HTN or T2D follow-up inverted | — |
//! | X09 | an observation dated 10 days before its visit | W: T20 (child weight) |
//! | X10 (W) | an observation recorded twice | — |
//! | X11 | the ECG of an elderly check removed | — |
//! | X12 | a deceased resident's episode left active | — |
//! | T01 | a diagnosis with an onset before birth | — |
//! | T02 | a weight recorded after death | — |
//! | T03/T04 | HTN/T2D follow-ups removed until 3 remain in 12 months | W: T03 gap > 120 d |
//! | T05 | every glucose and HbA1c of the last 180 days removed (4 follow-ups with glucose before them) | — |
//! | T06 | the revisit after a first uncontrolled follow-up (in the last 12 months, no other visit within 14 days) removed | W: T03 gap |
//! | T07 | the contact after an HTN/T2D referral (as for T06) removed | W: T03 gap |
//! | T08 | the health checks of the last 12 months removed | W: T08 (TCM part kept) |
//! | T09 | one closed-window child check removed | W: T09 sub-checks, T20 |
//! | T10 | the 8-month vaccination visit moved to 7 months | — |
//! | T11 | DTaP dose 2 given 21 days after dose 1 | — |
//! | T12 (W) | MPSV-A dose 2 removed (children under 8) | — |
//! | T13 | ANC-3 removed | — |
//! | T14 | PNC-42D removed | — |
//! | T15 | the EDD moved 35 days | — |
//! | T16 | a stable SMI follow-up after a stable one in the last 12 months removed (gap over 92 days) | — |
//! | T17 | the first TB home visit moved to 4 days after the notice | — |
//! | T18 (W) | the recent health checks of a resident in no programme removed | — |
//! | T19 | the diagnosis recorded after the first follow-up, its therapy started with it | — |
//! | T20 (W) | a child's length 3 cm below the previous check | — |
//!
//! Rules that cannot apply to a resident are skipped for them: X12 and T02 need a death, T13–T15
//! a pregnancy, T10–T12 a child's vaccinations, and so on.

mod cross;
mod field;
mod temporal;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use time::{Date, Duration};

use super::SynthOptions;
use super::calendar::{At, fhir_date};
use super::labels::Label;
use super::programmes::Prog;
use super::resident::{Loc, Resident};

/// The catalogue rules a defect can be injected for.
pub(crate) const RULES: [&str; 45] = [
    "QC-F01", "QC-F02", "QC-F03", "QC-F04", "QC-F05", "QC-F06", "QC-F07", "QC-F08", "QC-R01",
    "QC-R02", "QC-R03", "QC-R04", "QC-R05", "QC-X01", "QC-X02", "QC-X03", "QC-X04", "QC-X05",
    "QC-X06", "QC-X07", "QC-X08", "QC-X09", "QC-X10", "QC-X11", "QC-X12", "QC-T01", "QC-T02",
    "QC-T03", "QC-T04", "QC-T05", "QC-T06", "QC-T07", "QC-T08", "QC-T09", "QC-T10", "QC-T11",
    "QC-T12", "QC-T13", "QC-T14", "QC-T15", "QC-T16", "QC-T17", "QC-T18", "QC-T19", "QC-T20",
];

/// What a defect changes.
#[derive(Debug, Clone)]
pub(super) enum Target {
    Resident,
    Rec(Loc),
    Group(usize),
    Groups(Vec<usize>),
}

fn defect_rng(seed: u64, n: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Resident streams are 0..13M and the institution's is u64::MAX.
    rng.set_stream((1 << 63) | n as u64);
    rng
}

/// Injects at most one defect into `r`; its label.
pub(super) fn inject(r: &mut Resident, opts: &SynthOptions, n: usize) -> Option<Label> {
    if opts.defect_rate <= 0.0 {
        return None;
    }
    let mut rng = defect_rng(opts.seed, n);
    if !rng.gen_bool(opts.defect_rate.min(1.0)) {
        return None;
    }
    let applicable: Vec<(&'static str, Vec<Target>)> = RULES
        .iter()
        .map(|&rule| (rule, candidates(rule, r)))
        .filter(|(_, c)| !c.is_empty())
        .collect();
    if applicable.is_empty() {
        return None;
    }
    let (rule, targets) = &applicable[rng.gen_range(0..applicable.len())];
    Some(apply(r, rule, targets, &mut rng))
}

/// The rules a defect could be injected for in `r`.
#[cfg(test)]
pub(super) fn applicable(r: &Resident) -> Vec<&'static str> {
    RULES
        .iter()
        .copied()
        .filter(|rule| !candidates(rule, r).is_empty())
        .collect()
}

/// Injects a defect of `rule`, if it can apply to `r`.
#[cfg(test)]
pub(super) fn inject_rule(
    r: &mut Resident,
    rule: &'static str,
    seed: u64,
    n: usize,
) -> Option<Label> {
    let targets = candidates(rule, r);
    (!targets.is_empty()).then(|| apply(r, rule, &targets, &mut defect_rng(seed, n)))
}

fn apply(r: &mut Resident, rule: &'static str, targets: &[Target], rng: &mut ChaCha8Rng) -> Label {
    let target = targets[rng.gen_range(0..targets.len())].clone();
    let records = match &rule[3..4] {
        "F" | "R" => field::apply(rule, r, target, rng),
        "X" => cross::apply(rule, r, target, rng),
        _ => temporal::apply(rule, r, target, rng),
    };
    let id_card = r.patient_resource["identifier"][0]["value"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    Label {
        patient: r.patient_id.clone(),
        id_card,
        rule,
        records,
    }
}

fn candidates(rule: &str, r: &Resident) -> Vec<Target> {
    match &rule[3..4] {
        "F" | "R" => field::candidates(rule, r),
        "X" => cross::candidates(rule, r),
        _ => temporal::candidates(rule, r),
    }
}

// Helpers the three kinds of defect share.

/// The first code of a record's `code`.
fn code_of(v: &Value) -> Option<&str> {
    v["code"]["coding"][0]["code"].as_str()
}

/// The record of `kind` with `code` in group `g`.
fn find(r: &Resident, g: usize, kind: &str, code: &str) -> Option<Loc> {
    r.groups[g]
        .recs
        .iter()
        .position(|x| x.kind == kind && code_of(&x.resource) == Some(code))
        .map(|i| (g, i))
}

/// Every record of `kind` with `code`.
fn all(r: &Resident, kind: &str, code: &str) -> Vec<Loc> {
    (0..r.groups.len())
        .flat_map(|g| {
            r.groups[g]
                .recs
                .iter()
                .enumerate()
                .filter(|(_, x)| x.kind == kind && code_of(&x.resource) == Some(code))
                .map(move |(i, _)| (g, i))
        })
        .collect()
}

/// The Encounter that opens visit group `g`.
fn encounter(g: usize) -> Loc {
    (g, 0)
}

/// The phs-service code of the visit in group `g`.
fn service<'r>(r: &'r Resident, g: usize) -> Option<&'r str> {
    let rec = r.groups[g].recs.first()?;
    (rec.kind == "Encounter")
        .then(|| rec.resource["serviceType"]["coding"][0]["code"].as_str())
        .flatten()
}

fn key(r: &Resident, loc: Loc) -> String {
    r.rec(loc).key()
}

fn episode_key(r: &Resident, prog: Prog) -> Option<String> {
    r.plan.enrolment(prog).map(|e| key(r, e.episode))
}

fn patient_key(r: &Resident) -> String {
    format!("Patient/{}", r.patient_id)
}

/// Drops every record of group `g`.
fn drop_group(r: &mut Resident, g: usize) {
    r.groups[g].recs.clear();
}

/// Moves visit group `g` to `day`, keeping its times of day.
fn move_group(r: &mut Resident, g: usize, day: Date) {
    let date = fhir_date(day);
    r.groups[g].at.date = day;
    for rec in &mut r.groups[g].recs {
        for path in [
            "/period/start",
            "/period/end",
            "/effectiveDateTime",
            "/occurrenceDateTime",
            "/authoredOn",
        ] {
            if let Some(cur) = rec.resource.pointer_mut(path)
                && let Some(moved) = cur
                    .as_str()
                    .filter(|s| s.len() > 10)
                    .map(|s| format!("{date}{}", &s[10..]))
            {
                *cur = moved.into();
            }
        }
    }
}

/// A day from `lo` to `hi`, if the range is not empty.
fn day_in(rng: &mut ChaCha8Rng, lo: Date, hi: Date) -> Option<Date> {
    let span = (hi - lo).whole_days();
    (span >= 0).then(|| lo + Duration::days(rng.gen_range(0..=span)))
}

/// A clinic time on `day`.
fn clinic(rng: &mut ChaCha8Rng, day: Date) -> At {
    At {
        date: day,
        minute: rng.gen_range(9 * 60..=16 * 60),
    }
}

/// The start of the 12-month window, read generously: a visit on this day counts whether T
/// is the start or the end of the reference day.
fn year_before(r: &Resident) -> Date {
    r.reference - Duration::days(366)
}
