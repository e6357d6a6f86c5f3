//! The population as a whole: programme prevalences and structure, and every error rule of
//! DOMAIN.md §4 met by the clean population (as `qc` reads the rules).

use std::collections::BTreeMap;

use serde_json::Value;
use time::Date;
use time::macros::date;

use super::qc::{Res, day, params};
use super::{entries, parse};
use crate::synth::calendar::age_years;
use crate::synth::{SynthOptions, resident_bundle};

/// Warning rules the clean population may give: dormant archives of children past their
/// vaccinations (QC-T18).
pub(super) const WARNINGS: [&str; 9] = [
    "QC-R03",
    "QC-X03",
    "QC-X05",
    "QC-X07",
    "QC-X10",
    "QC-T12",
    "QC-T18",
    "QC-T20",
    "QC-T08-TCM",
];

pub(super) fn population(o: &SynthOptions) -> Vec<Value> {
    (0..o.residents)
        .map(|n| parse(&resident_bundle(o, n)))
        .collect()
}

fn birth(bundle: &Value) -> Date {
    day(&entries(bundle)[0]["resource"]["birthDate"]).expect("birth date")
}

#[test]
fn clean_population_meets_every_error_rule() {
    let p = params();
    for (seed, reference, residents) in [
        (3, date!(2025 - 06 - 30), 1500),
        (9, date!(2026 - 01 - 01), 600),
    ] {
        let o = SynthOptions::new(residents, seed, reference);
        let mut warnings: BTreeMap<&str, usize> = BTreeMap::new();
        for (n, bundle) in population(&o).iter().enumerate() {
            let found = Res::new(bundle, reference, true).findings(&p);
            let errors: Vec<_> = found.iter().filter(|r| !WARNINGS.contains(r)).collect();
            assert!(errors.is_empty(), "seed {seed} resident {n}: {errors:?}");
            for w in found {
                *warnings.entry(w).or_default() += 1;
            }
        }
        // Only children and teenagers past their last vaccination have no record in two years.
        assert!(warnings.keys().all(|w| *w == "QC-T18"), "{warnings:?}");
    }
}

/// The same over a large population and several reference dates, in release mode:
/// `SYNTH_RESIDENTS=100000 cargo test --release -p hl-node --lib large_clean -- --ignored`.
#[test]
#[ignore = "minutes in debug mode"]
fn large_clean_population_meets_every_error_rule() {
    let residents = std::env::var("SYNTH_RESIDENTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let p = params();
    let mut errors: BTreeMap<String, usize> = BTreeMap::new();
    for (seed, reference) in [(1, date!(2026 - 01 - 01)), (2, date!(2024 - 02 - 29))] {
        let o = SynthOptions::new(residents, seed, reference);
        for n in 0..residents {
            let bundle = parse(&resident_bundle(&o, n));
            for r in Res::new(&bundle, reference, true).findings(&p) {
                if !WARNINGS.contains(&r) {
                    *errors
                        .entry(format!("{r} seed {seed} e.g. resident {n}"))
                        .or_default() += 1;
                }
            }
        }
    }
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn programmes_follow_prevalence() {
    let reference = date!(2026 - 01 - 01);
    let o = SynthOptions::new(2000, 1, reference);
    let bundles = population(&o);
    let mut episodes: BTreeMap<String, usize> = BTreeMap::new();
    let (mut adults_35, mut children, mut elderly, mut women, mut deceased, mut notices) =
        (0, 0, 0, 0, 0, 0);
    for b in &bundles {
        let age = age_years(birth(b), reference);
        let patient = &entries(b)[0]["resource"];
        adults_35 += usize::from(age >= 35);
        children += usize::from(age < 7);
        elderly += usize::from(age >= 65);
        women += usize::from(patient["gender"] == "female" && (20..=40).contains(&age));
        deceased += usize::from(!patient["deceasedDateTime"].is_null());
        for e in entries(b).iter().map(|e| &e["resource"]) {
            match e["resourceType"].as_str() {
                Some("EpisodeOfCare") => {
                    let t = e["type"][0]["coding"][0]["code"]
                        .as_str()
                        .unwrap_or_default();
                    *episodes.entry(t.to_owned()).or_default() += 1;
                    // Programmes with a qualifying diagnosis name it.
                    if matches!(t, "HTN" | "T2D" | "SMI" | "TB" | "PREG") {
                        assert!(e["diagnosis"][0]["condition"]["reference"].is_string());
                    }
                }
                Some("Task") => notices += 1,
                _ => {}
            }
        }
    }
    let count = |p: &str| episodes.get(p).copied().unwrap_or(0);
    let share = |p: &str, of: usize| count(p) as f64 / of as f64;
    eprintln!(
        "episodes {episodes:?}; aged 35+ {adults_35}, <7 {children}, 65+ {elderly}, women 20-40 {women}, deceased {deceased}"
    );
    assert!(
        (0.20..=0.31).contains(&share("HTN", adults_35)),
        "HTN {}",
        share("HTN", adults_35)
    );
    assert!(
        (0.07..=0.14).contains(&share("T2D", adults_35)),
        "T2D {}",
        share("T2D", adults_35)
    );
    assert!(
        (0.001..=0.012).contains(&share("SMI", 2000)),
        "SMI {}",
        count("SMI")
    );
    assert!(
        count("TB") <= 10 && count("TB") == notices,
        "TB {} notices {notices}",
        count("TB")
    );
    assert!(
        (0.08..=0.22).contains(&share("PREG", women)),
        "PREG {}",
        share("PREG", women)
    );
    assert_eq!(count("CHILD"), children);
    assert!(count("ELDER") <= elderly && count("ELDER") * 100 >= elderly * 95);
    assert!((5..=60).contains(&deceased), "deceased {deceased}");
}

/// Residents enrolled for a whole year have four valid follow-ups in it, however T is read.
#[test]
fn chronic_follow_ups_are_quarterly() {
    let reference = date!(2025 - 06 - 30);
    let o = SynthOptions::new(400, 21, reference);
    let mut checked = 0;
    for b in population(&o) {
        let res = entries(&b);
        for e in res.iter().map(|e| &e["resource"]) {
            if e["resourceType"] != "EpisodeOfCare" || e["status"] != "active" {
                continue;
            }
            let prog = e["type"][0]["coding"][0]["code"]
                .as_str()
                .unwrap_or_default();
            let service = match prog {
                "HTN" => "HTN-FU",
                "T2D" => "T2D-FU",
                "SMI" => "SMI-FU",
                _ => continue,
            };
            let start = day(&e["period"]["start"]).expect("start");
            if (reference - start).whole_days() < 366 {
                continue;
            }
            let visits = res
                .iter()
                .map(|e| &e["resource"])
                .filter(|v| v["serviceType"]["coding"][0]["code"] == service)
                .filter_map(|v| day(&v["period"]["start"]))
                .filter(|d| (reference - *d).whole_days() <= 364)
                .count();
            assert!(visits >= 4, "{prog}: {visits} follow-ups in the last year");
            checked += 1;
        }
    }
    assert!(checked > 30, "{checked}");
}
