mod defects;
mod population;
mod qc;

use std::collections::{BTreeSet, HashSet};

use hl_ledger::gb11643;
use serde_json::Value;
use time::macros::date;
use time::{Date, Duration};

use super::calendar::{add_months, age_years, fhir_date};
use super::codes::ARCHIVE_NO_SYSTEM;
use super::demographics::DISTRICTS;
use super::fhir::{decimal, fixed};
use super::identity::{AREAS, MAX_RESIDENTS, SLOTS, area_code, area_index, slot};
use super::institution::Institution;
use super::resident::{HISTORY_DAYS, resident_id_number};
use super::*;

fn opts(seed: u64) -> SynthOptions {
    SynthOptions::new(200, seed, date!(2025 - 06 - 30))
}

fn parse(file: &SynthFile) -> Value {
    serde_json::from_slice(&file.json).expect("generator writes JSON")
}

fn entries(bundle: &Value) -> &Vec<Value> {
    bundle["entry"].as_array().expect("bundle has entries")
}

fn walk<'v>(v: &'v Value, key: Option<&str>, f: &mut impl FnMut(Option<&str>, &'v str)) {
    match v {
        Value::String(s) => f(key, s),
        Value::Array(items) => items.iter().for_each(|i| walk(i, key, f)),
        Value::Object(map) => map.iter().for_each(|(k, i)| walk(i, Some(k), f)),
        _ => {}
    }
}

#[test]
fn same_options_give_identical_bytes() {
    let o = opts(7);
    assert_eq!(institution_bundle(&o), institution_bundle(&o));
    for n in [0, 1, 57, 199] {
        assert_eq!(resident_bundle(&o, n), resident_bundle(&o, n));
    }
}

#[test]
fn different_seeds_differ() {
    assert_ne!(
        institution_bundle(&opts(1)).json,
        institution_bundle(&opts(2)).json
    );
    assert_ne!(
        resident_bundle(&opts(1), 0).json,
        resident_bundle(&opts(2), 0).json
    );
    assert_ne!(
        resident_bundle(&opts(1), 0).json,
        resident_bundle(&opts(1), 1).json
    );
}

#[test]
fn bundles_are_transactions_with_put_entries() {
    let o = opts(3);
    let inst = parse(&institution_bundle(&o));
    for bundle in std::iter::once(inst).chain((0..20).map(|n| parse(&resident_bundle(&o, n)))) {
        assert_eq!(bundle["type"], "transaction");
        for e in entries(&bundle) {
            let id = e["resource"]["id"].as_str().expect("resource id");
            let rt = e["resource"]["resourceType"]
                .as_str()
                .expect("resourceType");
            assert_eq!(e["fullUrl"], format!("urn:uuid:{id}"));
            assert_eq!(e["request"]["method"], "PUT");
            assert_eq!(e["request"]["url"], format!("{rt}/{id}"));
            assert_eq!(id.len(), 36);
            assert_eq!(&id[14..15], "4", "version 4 UUID: {id}");
        }
    }
}

#[test]
fn patient_ids_agree_with_demographics() {
    let o = opts(11);
    for n in 0..200 {
        let bundle = parse(&resident_bundle(&o, n));
        let patient = &entries(&bundle)[0]["resource"];
        assert_eq!(patient["resourceType"], "Patient");
        let ids = patient["identifier"].as_array().expect("identifiers");
        let cn = ids
            .iter()
            .find(|i| i["system"] == CN_ID_SYSTEM)
            .and_then(|i| i["value"].as_str())
            .expect("ID card identifier");
        let parsed = gb11643::parse(cn).expect("valid ID number");
        assert_eq!(patient["birthDate"], fhir_date(parsed.birth_date));
        let gender = match parsed.sex {
            gb11643::Sex::Male => "male",
            gb11643::Sex::Female => "female",
        };
        assert_eq!(patient["gender"], gender);
        let archive = ids
            .iter()
            .find(|i| i["system"] == ARCHIVE_NO_SYSTEM)
            .and_then(|i| i["value"].as_str())
            .expect("archive number");
        assert!(archive.len() == 17 && archive.bytes().all(|b| b.is_ascii_digit()));
    }
}

#[test]
fn references_resolve() {
    let o = opts(5);
    let inst = parse(&institution_bundle(&o));
    let institution: BTreeSet<String> = entries(&inst)
        .iter()
        .map(|e| {
            format!(
                "{}/{}",
                e["resource"]["resourceType"].as_str().unwrap_or(""),
                e["resource"]["id"].as_str().unwrap_or("")
            )
        })
        .collect();
    for n in 0..100 {
        let bundle = parse(&resident_bundle(&o, n));
        let full_urls: BTreeSet<&str> = entries(&bundle)
            .iter()
            .filter_map(|e| e["fullUrl"].as_str())
            .collect();
        walk(&bundle, None, &mut |key, s| {
            if key != Some("reference") {
                return;
            }
            if s.starts_with("urn:uuid:") {
                assert!(full_urls.contains(s), "resident {n}: dangling {s}");
            } else {
                assert!(institution.contains(s), "resident {n}: unknown {s}");
            }
        });
    }
}

#[test]
fn no_date_on_or_after_reference_or_before_birth() {
    let o = opts(9);
    let reference = fhir_date(o.reference_date);
    let mut dates = 0;
    for n in 0..200 {
        let bundle = parse(&resident_bundle(&o, n));
        let birth = entries(&bundle)[0]["resource"]["birthDate"]
            .as_str()
            .expect("birthDate")
            .to_owned();
        walk(&bundle, None, &mut |key, s| {
            let looks_like_date = s.len() >= 10
                && s.as_bytes()[4] == b'-'
                && s.as_bytes()[7] == b'-'
                && s[..4].bytes().all(|b| b.is_ascii_digit());
            // An expected delivery date is a value, not the date of a record.
            if !looks_like_date || matches!(key, Some("valueDateTime" | "birthDate")) {
                return;
            }
            dates += 1;
            let day = &s[..10];
            assert!(
                day < reference.as_str(),
                "resident {n}: {key:?} = {s} is not before {reference}"
            );
            // Chronic conditions may have been diagnosed long ago, but never before birth.
            assert!(
                day >= birth.as_str(),
                "resident {n}: {key:?} = {s} is before birth {birth}"
            );
        });
    }
    assert!(dates > 1000);
}

#[test]
fn clinical_events_stay_in_the_history_window() {
    let o = opts(13);
    let window = fhir_date(o.reference_date - Duration::days(HISTORY_DAYS));
    for n in 0..200 {
        let bundle = parse(&resident_bundle(&o, n));
        let patient = &entries(&bundle)[0]["resource"];
        let birth = patient["birthDate"].as_str().expect("birthDate");
        let child = age_years(
            Date::parse(
                birth,
                time::macros::format_description!("[year]-[month]-[day]"),
            )
            .expect("birthDate parses"),
            o.reference_date,
        ) < 18;
        if child {
            continue;
        }
        for e in entries(&bundle) {
            let r = &e["resource"];
            let when = r["effectiveDateTime"].as_str().or(r["period"]["start"]
                .as_str()
                .filter(|_| r["resourceType"] == "Encounter"));
            if let Some(when) = when {
                assert!(
                    &when[..10] >= window.as_str(),
                    "resident {n}: {when} before {window}"
                );
            }
        }
    }
}

#[test]
fn average_resources_per_resident() {
    let o = opts(42);
    let total: usize = (0..200).map(|n| resident_bundle(&o, n).resources).sum();
    let average = total as f64 / 200.0;
    assert!((60.0..=130.0).contains(&average), "average {average}");
}

#[test]
fn decimals_keep_their_precision() {
    assert_eq!(
        serde_json::to_string(&fixed(4.5, 2)).expect("serialises"),
        "4.50"
    );
    assert_eq!(
        serde_json::to_string(&decimal("0.5")).expect("serialises"),
        "0.5"
    );
    assert_eq!(add_months(date!(2024 - 01 - 31), 1), date!(2024 - 02 - 29));
    assert_eq!(add_months(date!(2023 - 11 - 15), 3), date!(2024 - 02 - 15));
    assert_eq!(age_years(date!(2000 - 07 - 01), date!(2025 - 06 - 30)), 24);
}

#[test]
fn writes_population() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = SynthOptions {
        residents: 5,
        ..opts(1)
    };
    let written = write_population(&o, &dir.path().join("out")).expect("writes");
    assert_eq!(written.files, 6);
    assert_eq!(written.defects, 0);
    assert!(!dir.path().join("out").join(LABELS_FILE).exists());
    let on_disk = std::fs::read(dir.path().join("out/resident-000005.json")).expect("file");
    assert_eq!(on_disk, resident_bundle(&o, 4).json);
    let expected: usize = institution_bundle(&o).resources
        + (0..5)
            .map(|n| resident_bundle(&o, n).resources)
            .sum::<usize>();
    assert_eq!(written.resources, expected);
    let bad = SynthOptions {
        reference_date: date!(1999 - 12 - 31),
        ..o.clone()
    };
    assert!(write_population(&bad, dir.path()).is_err());
    let too_many = SynthOptions {
        residents: MAX_RESIDENTS + 1,
        ..o.clone()
    };
    assert!(write_population(&too_many, dir.path()).is_err());
    for rate in [-0.1, 1.5, f64::NAN] {
        let bad = SynthOptions {
            defect_rate: rate,
            ..o.clone()
        };
        assert!(write_population(&bad, dir.path()).is_err(), "rate {rate}");
    }
}

#[test]
fn resident_ids_are_distinct() {
    let o = opts(17);
    let inst = Institution::new(o.seed);
    for n in [0, 1, 7, 9, 349, 350, 4_999] {
        let bundle = parse(&resident_bundle(&o, n));
        let patient = &entries(&bundle)[0]["resource"];
        assert_eq!(
            patient["identifier"][0]["value"],
            resident_id_number(&inst, &o, n),
            "resident {n}"
        );
    }
    let mut seen = HashSet::new();
    let mut local = 0;
    for n in 0..50_000 {
        let id = resident_id_number(&inst, &o, n);
        assert!(gb11643::parse(&id).is_ok(), "resident {n}: {id}");
        if n < 500 && id.starts_with(inst.district.code) {
            local += 1;
        }
        assert!(seen.insert(id.clone()), "resident {n} repeats {id}");
    }
    // The district's own code has slots for the first 350 born locally.
    assert!(local >= 350, "{local} of 500 hold a number of the district");
}

/// Distinct slots are what make the numbers distinct, so check all of them, from the area that
/// wraps around soonest.
#[test]
fn id_slots_are_distinct_up_to_max_residents() {
    let mut taken = vec![0u64; (AREAS * SLOTS).div_ceil(64)];
    for n in 0..MAX_RESIDENTS {
        let (area, k) = slot(AREAS - 1, n);
        assert!(
            area < AREAS && k < SLOTS,
            "resident {n}: slot ({area}, {k})"
        );
        let i = area * SLOTS + k;
        let (word, bit) = (i / 64, 1u64 << (i % 64));
        assert!(
            taken[word] & bit == 0,
            "resident {n}: slot ({area}, {k}) taken"
        );
        taken[word] |= bit;
    }
}

#[test]
fn area_codes_round_trip() {
    for index in 0..AREAS {
        assert_eq!(area_index(&area_code(index)), Some(index));
    }
    for d in &DISTRICTS {
        assert!(area_index(d.code).is_some(), "{}", d.code);
    }
    for code in [
        "100105", "110005", "110137", "11010", "1101051", "11010a", "+11010",
    ] {
        assert_eq!(area_index(code), None, "{code}");
    }
}
