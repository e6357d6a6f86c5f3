//! Field (F) and record (R) defects: one element of one record made wrong.

use std::collections::BTreeSet;

use rand_chacha::ChaCha8Rng;
use serde_json::Value;
use time::Duration;

use super::{Target, all, encounter, patient_key};
use crate::synth::calendar::{At, fhir_date};
use crate::synth::fhir::{fixed, int};
use crate::synth::resident::Resident;

/// A laboratory's own code list, not in the F05 registry.
const UNREGISTERED: &str = "https://his.example/CodeSystem/lab-items";

/// Groups of the visits that are no programme follow-up: health, child and vaccination checks.
fn check_groups(r: &Resident) -> Vec<usize> {
    let p = &r.plan;
    p.health_checks
        .iter()
        .map(|d| d.group)
        .chain(p.child_checks.iter().map(|c| c.group))
        .chain(p.imm_visits.iter().map(|v| v.group))
        .collect()
}

fn child_groups(r: &Resident) -> BTreeSet<usize> {
    r.plan.child_checks.iter().map(|c| c.group).collect()
}

fn recs(locs: Vec<(usize, usize)>) -> Vec<Target> {
    locs.into_iter().map(Target::Rec).collect()
}

pub(super) fn candidates(rule: &str, r: &Resident) -> Vec<Target> {
    let health: BTreeSet<usize> = r.plan.health_checks.iter().map(|d| d.group).collect();
    match rule {
        "QC-F01" | "QC-F02" | "QC-F03" => vec![Target::Resident],
        "QC-F04" => {
            let mut locs: Vec<(usize, usize)> = (0..r.groups.len())
                .flat_map(|g| {
                    r.groups[g]
                        .recs
                        .iter()
                        .enumerate()
                        .map(move |(i, x)| (g, i, x))
                })
                .filter(|(_, _, x)| x.kind == "Immunization")
                .map(|(g, i, _)| (g, i))
                .collect();
            locs.extend(check_groups(r).into_iter().map(encounter));
            recs(locs)
        }
        "QC-F05" => {
            let children = child_groups(r);
            let mut locs = all(r, "Observation", "8310-5");
            locs.extend(
                all(r, "Observation", "29463-7")
                    .into_iter()
                    .filter(|l| children.contains(&l.0)),
            );
            recs(locs)
        }
        "QC-F06" => {
            let children = child_groups(r);
            recs(
                all(r, "Observation", "29463-7")
                    .into_iter()
                    .filter(|l| !children.contains(&l.0))
                    .collect(),
            )
        }
        "QC-F07" => {
            let mut locs = all(r, "Observation", "8867-4");
            locs.extend(all(r, "Observation", "718-7"));
            recs(locs)
        }
        "QC-F08" => recs(
            r.plan
                .medications
                .iter()
                .copied()
                .filter(|&l| r.rec(l).resource["effectivePeriod"]["end"].is_null())
                .collect(),
        ),
        "QC-R01"
            if r.plan
                .enrolments
                .iter()
                .all(|e| e.prog != crate::synth::programmes::Prog::Htn) =>
        {
            recs(
                all(r, "Observation", "85354-9")
                    .into_iter()
                    .filter(|l| health.contains(&l.0))
                    .collect(),
            )
        }
        "QC-R02" | "QC-R04" => check_groups(r)
            .into_iter()
            .map(|g| Target::Rec(encounter(g)))
            .collect(),
        "QC-R03" => recs(
            all(r, "Observation", "39156-5")
                .into_iter()
                .filter(|l| health.contains(&l.0))
                .collect(),
        ),
        "QC-R05" if r.plan.pregnancy.is_none() => vec![Target::Resident],
        _ => Vec::new(),
    }
}

pub(super) fn apply(rule: &str, r: &mut Resident, t: Target, _rng: &mut ChaCha8Rng) -> Vec<String> {
    let patient = patient_key(r);
    let loc = match t {
        Target::Rec(loc) => Some(loc),
        _ => None,
    };
    match (rule, loc) {
        ("QC-F01", _) => {
            let id = &mut r.patient_resource["identifier"][0]["value"];
            if let Some(s) = id.as_str() {
                let wrong = match s.chars().last() {
                    Some('X') => '0',
                    Some(c) => c
                        .to_digit(10)
                        .and_then(|d| char::from_digit((d + 1) % 10, 10))
                        .unwrap_or('X'),
                    None => 'X',
                };
                *id = format!("{}{wrong}", &s[..s.len() - 1]).into();
            }
            vec![patient]
        }
        ("QC-F02", _) => {
            let no = &mut r.patient_resource["identifier"][1]["value"];
            if let Some(s) = no.as_str().filter(|s| s.len() == 17) {
                *no = format!("{}250{}", &s[..9], &s[12..]).into();
            }
            vec![patient]
        }
        ("QC-F03", _) => {
            if let Value::Object(p) = &mut r.patient_resource {
                p.shift_remove("name");
            }
            vec![patient]
        }
        ("QC-R05", _) => {
            let gender = &mut r.patient_resource["gender"];
            *gender = if *gender == "male" { "female" } else { "male" }.into();
            vec![patient]
        }
        (_, Some(loc)) => {
            let reference = r.reference;
            let group_at = r.groups[loc.0].at;
            let rec = r.rec_mut(loc);
            let v = &mut rec.resource;
            match rule {
                "QC-F04" => {
                    let field = if rec.kind == "Immunization" {
                        "lotNumber"
                    } else {
                        "serviceProvider"
                    };
                    remove(v, field);
                }
                "QC-F05" => v["code"]["coding"][0]["system"] = UNREGISTERED.into(),
                "QC-F06" => {
                    let kg = v["valueQuantity"]["value"].as_f64().unwrap_or(60.0);
                    v["valueQuantity"]["value"] = int(kg * 1000.0);
                    v["valueQuantity"]["unit"] = "g".into();
                    v["valueQuantity"]["code"] = "g".into();
                }
                "QC-F07" => {
                    let wrong = if v["code"]["coding"][0]["code"] == "8867-4" {
                        280.0
                    } else {
                        262.0
                    };
                    v["valueQuantity"]["value"] = int(wrong);
                }
                "QC-F08" => {
                    let future = reference + Duration::days(40 * 365);
                    v["effectivePeriod"]["start"] = fhir_date(future).into();
                    v["dateAsserted"] = At {
                        date: future,
                        minute: 10 * 60,
                    }
                    .fhir()
                    .into();
                }
                "QC-R01" => {
                    v["component"][0]["valueQuantity"]["value"] = int(100.0);
                    v["component"][1]["valueQuantity"]["value"] = int(95.0);
                }
                "QC-R02" => {
                    let end = At {
                        date: group_at.date,
                        minute: group_at.minute.saturating_sub(30),
                    };
                    v["period"]["end"] = end.fhir().into();
                }
                "QC-R03" => {
                    let bmi = v["valueQuantity"]["value"].as_f64().unwrap_or(22.0);
                    v["valueQuantity"]["value"] = fixed(bmi + 4.0, 1);
                }
                "QC-R04" => {
                    if let Some(p) = v["period"].as_object_mut() {
                        p.shift_remove("end");
                    }
                }
                _ => {}
            }
            vec![rec.key()]
        }
        _ => vec![patient],
    }
}

fn remove(v: &mut Value, field: &str) {
    if let Value::Object(m) = v {
        m.shift_remove(field);
    }
}
