//! Cross-record defects (X): records that contradict each other or the resident.

use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use time::Duration;

use super::{Target, all, clinic, day_in, encounter, find, key, service};
use crate::synth::calendar::{add_months, age_years, fhir_date};
use crate::synth::codes::{
    CONTROLLED, Category, Code, EDD, HEALTH_CHECK, LOINC, PHS_CLASSIFICATION, TCM_ELDER,
    UNCONTROLLED, code,
};
use crate::synth::fhir::coded;
use crate::synth::programmes::{Prog, T2D_DRUGS};
use crate::synth::random::uuid;
use crate::synth::records::Course;
use crate::synth::resident::{Encounter, Resident};

const GESTATIONAL_DM: Code = code(
    "O24.4",
    "Diabetes mellitus arising in pregnancy",
    "妊娠期糖尿病",
);
const PROSTATE_CANCER: Code = code("C61", "Malignant neoplasm of prostate", "前列腺恶性肿瘤");
const ENDOMETRIOSIS: Code = code("N80.0", "Endometriosis of uterus", "子宫内膜异位症");
const HYPERTENSION: Code = code("I10", "Essential (primary) hypertension", "高血压");

/// Diagnoses just outside each programme's value set (DOMAIN.md §4.1).
fn outside_value_set(prog: Prog) -> Code {
    match prog {
        Prog::Htn => code("I15.0", "Renovascular hypertension", "肾血管性高血压"),
        Prog::T2d => code(
            "E10.9",
            "Type 1 diabetes mellitus without complications",
            "1型糖尿病",
        ),
        Prog::Smi => code("F32.9", "Depressive episode, unspecified", "抑郁发作"),
        _ => code("A18.0", "Tuberculosis of bones and joints", "骨关节结核"),
    }
}

pub(super) fn candidates(rule: &str, r: &Resident) -> Vec<Target> {
    let age = r.age();
    let p = &r.plan;
    let groups = |gs: Vec<usize>| gs.into_iter().map(Target::Group).collect::<Vec<_>>();
    // Health checks at which the resident was at least `years` old `before` days earlier.
    let health = |years: i32, before: i64| {
        p.health_checks
            .iter()
            .filter(|d| age_years(r.birth, d.date - Duration::days(before)) >= years)
            .map(|d| d.group)
            .collect::<Vec<_>>()
    };
    match rule {
        "QC-X01" if r.male && age >= 15 => vec![Target::Resident],
        "QC-X02" if age >= 15 => vec![Target::Resident],
        // The EDD is 60 days after the check: the pregnancy started 220 days before it.
        "QC-X03" if !r.male && age >= 56 => groups(health(56, 220)),
        "QC-X04" => p
            .enrolments
            .iter()
            .filter(|e| matches!(e.prog, Prog::Htn | Prog::T2d | Prog::Smi | Prog::Tb))
            .filter_map(|e| e.condition.map(Target::Rec))
            .collect(),
        "QC-X05" if age >= 35 && p.enrolment(Prog::Htn).is_none() && x05_range(r).is_some() => {
            vec![Target::Resident]
        }
        "QC-X06" if (8..65).contains(&age) => vec![Target::Resident],
        "QC-X07" if age >= 18 && p.enrolment(Prog::T2d).is_none() => vec![Target::Resident],
        // The catalogue constrains both HTN classes, but only "controlled" for T2D.
        "QC-X08" => p
            .follow_ups
            .iter()
            .filter(|f| f.prog == Prog::Htn || (f.prog == Prog::T2d && !f.controlled))
            .filter_map(|f| f.classification.map(Target::Rec))
            .collect(),
        "QC-X09" | "QC-X10" => {
            let mut locs = all(r, "Observation", "8310-5");
            for c in p.child_checks.iter().filter(|c| c.months >= 3) {
                locs.extend(find(r, c.group, "Observation", "29463-7"));
            }
            locs.into_iter().map(Target::Rec).collect()
        }
        // A check at 65 or more: the elderly items of an earlier check are optional.
        "QC-X11" if age >= 65 => groups(health(65, 0)),
        "QC-X12" if p.death.is_some() && !p.enrolments.is_empty() => vec![Target::Resident],
        _ => Vec::new(),
    }
}

/// Days an undiagnosed-looking I10 may be recorded: aged 35+, and 30 days before T passed.
fn x05_range(r: &Resident) -> Option<(time::Date, time::Date)> {
    let lo = add_months(r.birth, 35 * 12).max(r.window_start);
    let hi = r.last_day() - Duration::days(31);
    (lo <= hi).then_some((lo, hi))
}

/// The visit opening group `g`, as the record builders take it.
fn visit(r: &Resident, g: usize) -> Encounter {
    let rec = r.rec(encounter(g));
    Encounter {
        reference: format!("urn:uuid:{}", rec.id),
        start: r.groups[g].at,
        practitioner: rec.resource["participant"][0]["individual"]["reference"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        group: g,
    }
}

fn add_condition(r: &mut Resident, rng: &mut ChaCha8Rng, c: Code, lo: time::Date) -> Vec<String> {
    let hi = r.last_day();
    let day = day_in(rng, lo.max(r.window_start), hi).unwrap_or(hi);
    let at = clinic(rng, day);
    let loc = r.condition(c, at, at, Course::Active);
    vec![key(r, loc)]
}

pub(super) fn apply(rule: &str, r: &mut Resident, t: Target, rng: &mut ChaCha8Rng) -> Vec<String> {
    let teen = add_months(r.birth, 15 * 12);
    match (rule, t) {
        ("QC-X01", _) => add_condition(r, rng, GESTATIONAL_DM, teen),
        ("QC-X02", _) => {
            let c = if r.male {
                ENDOMETRIOSIS
            } else {
                PROSTATE_CANCER
            };
            add_condition(r, rng, c, teen)
        }
        ("QC-X03", Target::Group(g)) => {
            let enc = visit(r, g);
            r.group(enc.start);
            let edd = fhir_date(enc.start.date + Duration::days(60)).into();
            let loc = r.observation(&enc, 7, LOINC, EDD, Category::Exam, "valueDateTime", edd);
            vec![key(r, loc)]
        }
        ("QC-X04", Target::Rec(loc)) => {
            let Some(e) = r.plan.enrolments.iter().find(|e| e.condition == Some(loc)) else {
                return Vec::new();
            };
            let (prog, episode) = (e.prog, e.episode);
            r.rec_mut(loc).resource["code"] =
                coded(crate::synth::codes::ICD10_CN, outside_value_set(prog));
            vec![key(r, episode), key(r, loc)]
        }
        ("QC-X05", _) => {
            let Some((lo, hi)) = x05_range(r) else {
                return Vec::new();
            };
            let day = day_in(rng, lo, hi).unwrap_or(hi);
            let at = clinic(rng, day);
            let loc = r.condition(HYPERTENSION, at, at, Course::Active);
            vec![key(r, loc)]
        }
        ("QC-X06", _) => {
            let (service, from) = if r.age() < 18 {
                (crate::synth::codes::CHILD_HC, add_months(r.birth, 8 * 12))
            } else {
                (TCM_ELDER, add_months(r.birth, 18 * 12))
            };
            let lo = from.max(r.window_start);
            let day = day_in(rng, lo, r.last_day()).unwrap_or(r.last_day());
            let at = clinic(rng, day);
            let doctor = r.family_doctor.clone();
            let enc = r.encounter(at, 20, service, "AMB", &doctor, None);
            vec![key(r, encounter(enc.group))]
        }
        ("QC-X07", _) => {
            let day = day_in(rng, r.window_start, r.last_day()).unwrap_or(r.last_day());
            let at = clinic(rng, day);
            r.group(at);
            let loc = r.medication(&T2D_DRUGS[0], day, at, "");
            if let Value::Object(m) = &mut r.rec_mut(loc).resource {
                m.shift_remove("reasonReference");
            }
            vec![key(r, loc)]
        }
        ("QC-X08", Target::Rec(loc)) => {
            let v = &mut r.rec_mut(loc).resource;
            let inverted = if v["valueCodeableConcept"]["coding"][0]["code"] == CONTROLLED.code {
                UNCONTROLLED
            } else {
                CONTROLLED
            };
            v["valueCodeableConcept"] = coded(PHS_CLASSIFICATION, inverted);
            vec![key(r, loc), key(r, encounter(loc.0))]
        }
        ("QC-X09", Target::Rec(loc)) => {
            let earlier = fhir_date(r.groups[loc.0].at.date - Duration::days(10));
            let v = &mut r.rec_mut(loc).resource["effectiveDateTime"];
            if let Some(moved) = v.as_str().map(|s| format!("{earlier}{}", &s[10..])) {
                *v = moved.into();
            }
            vec![key(r, loc), key(r, encounter(loc.0))]
        }
        ("QC-X10", Target::Rec(loc)) => {
            let at = r.groups[loc.0].at;
            let mut copy = r.rec(loc).resource.clone();
            let id = uuid(rng);
            copy["id"] = id.clone().into();
            r.group(at);
            let dup = r.push("Observation", id, copy);
            vec![key(r, loc), key(r, dup)]
        }
        ("QC-X11", Target::Group(g)) => {
            if let Some((_, i)) = find(r, g, "Observation", "11524-6") {
                r.groups[g].recs.remove(i);
            }
            debug_assert_eq!(service(r, g), Some(HEALTH_CHECK.code));
            vec![key(r, encounter(g))]
        }
        ("QC-X12", _) => {
            let episodes: Vec<_> = r.plan.enrolments.iter().map(|e| e.episode).collect();
            for &loc in &episodes {
                let v = &mut r.rec_mut(loc).resource;
                v["status"] = "active".into();
                if let Some(p) = v["period"].as_object_mut() {
                    p.shift_remove("end");
                }
            }
            episodes.into_iter().map(|l| key(r, l)).collect()
        }
        _ => Vec::new(),
    }
}
