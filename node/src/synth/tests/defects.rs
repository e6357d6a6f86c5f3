//! Injected defects: the labels, determinism, and each rule's defect firing that rule.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use serde_json::Value;
use time::macros::date;

use super::population::WARNINGS;
use super::qc::{Res, params};
use super::{entries, parse};
use crate::synth::institution::Institution;
use crate::synth::resident::{applicable_rules, resident_with_rule};
use crate::synth::{
    DEFECT_RULES, LABELS_FILE, SynthOptions, resident_bundle, resident_labelled, write_population,
};

/// Error rules a defect of a rule is known to trigger as well (the table in `defects`).
fn overlaps(rule: &str) -> &'static [&'static str] {
    match rule {
        "QC-T05" => &["QC-T04"],
        _ => &[],
    }
}

fn keys(bundle: &Value) -> BTreeSet<String> {
    entries(bundle)
        .iter()
        .map(|e| {
            let r = &e["resource"];
            format!(
                "{}/{}",
                r["resourceType"].as_str().unwrap_or_default(),
                r["id"].as_str().unwrap_or_default()
            )
        })
        .collect()
}

#[test]
fn labels_name_residents_records_and_catalogue_rules() {
    let dir = tempfile::tempdir().expect("temp dir");
    let o = SynthOptions {
        defect_rate: 0.2,
        ..SynthOptions::new(500, 4, date!(2026 - 01 - 01))
    };
    let written = write_population(&o, dir.path()).expect("writes");
    assert_eq!(written.files, 502);
    let text = std::fs::read_to_string(dir.path().join(LABELS_FILE)).expect("labels");
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect();
    assert_eq!(lines.len(), written.defects);
    assert!((60..=140).contains(&lines.len()), "{} defects", lines.len());
    let mut files: HashMap<String, Value> = HashMap::new();
    for n in 0..o.residents {
        let path = dir.path().join(format!("resident-{:06}.json", n + 1));
        let bundle: Value =
            serde_json::from_slice(&std::fs::read(path).expect("bundle")).expect("JSON");
        let id = entries(&bundle)[0]["resource"]["id"]
            .as_str()
            .expect("id")
            .to_owned();
        files.insert(id, bundle);
    }
    let p = params();
    let mut rules = BTreeSet::new();
    for l in &lines {
        let rule = l["rule"].as_str().expect("rule");
        assert!(DEFECT_RULES.contains(&rule), "{rule}");
        rules.insert(rule);
        let bundle = &files[l["patient"].as_str().expect("patient")];
        let patient = &entries(bundle)[0]["resource"];
        assert_eq!(l["id_card"], patient["identifier"][0]["value"]);
        let have = keys(bundle);
        for r in l["records"].as_array().expect("records") {
            assert!(
                have.contains(r.as_str().expect("key")),
                "{rule}: {r} not in the bundle"
            );
        }
        let found = Res::new(bundle, o.reference_date, false).findings(&p);
        assert!(found.contains(rule), "{rule} did not fire: {found:?}");
    }
    assert!(rules.len() >= 20, "{rules:?}");
}

#[test]
fn defects_are_deterministic_and_leave_other_residents_alone() {
    let o = SynthOptions {
        defect_rate: 0.2,
        ..SynthOptions::new(150, 8, date!(2025 - 06 - 30))
    };
    let clean = SynthOptions {
        defect_rate: 0.0,
        ..o.clone()
    };
    let (a, b) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    write_population(&o, a.path()).expect("writes");
    write_population(&o, b.path()).expect("writes");
    let mut names: Vec<_> = std::fs::read_dir(a.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    names.sort();
    assert_eq!(names.len(), 152);
    for name in names {
        let read = |d: &tempfile::TempDir| std::fs::read(d.path().join(&name)).expect("file");
        assert!(read(&a) == read(&b), "{name:?} differs between runs");
    }
    let mut defects = 0;
    for n in 0..o.residents {
        let (file, label) = resident_labelled(&o, n);
        if label.is_none() {
            assert_eq!(file, resident_bundle(&clean, n), "resident {n}");
        } else {
            defects += 1;
            assert_ne!(file.json, resident_bundle(&clean, n).json, "resident {n}");
        }
    }
    assert!(defects > 10);
}

/// Every catalogue rule's defect, on a few residents it applies to, fires that rule and no
/// error rule but the documented overlaps.
#[test]
fn each_defect_fires_its_rule_alone() {
    let o = SynthOptions::new(6000, 12, date!(2026 - 01 - 01));
    let inst = Institution::new(o.seed);
    let p = params();
    let mut done: BTreeMap<&str, usize> = BTreeMap::new();
    for n in 0..o.residents {
        for rule in applicable_rules(&inst, &o, n) {
            if done.get(rule).copied().unwrap_or(0) >= 3 {
                continue;
            }
            let Some((file, label)) = resident_with_rule(&inst, &o, n, rule) else {
                panic!("{rule} applicable to resident {n} but not injected");
            };
            assert_eq!(label.rule, rule);
            let bundle = parse(&file);
            let have = keys(&bundle);
            assert!(!label.records.is_empty(), "{rule}: no records");
            for r in &label.records {
                assert!(have.contains(r), "{rule}: {r} not in resident {n}");
            }
            let urls: BTreeSet<&str> = entries(&bundle)
                .iter()
                .filter_map(|e| e["fullUrl"].as_str())
                .collect();
            super::walk(&bundle, None, &mut |key, s| {
                if key == Some("reference") && s.starts_with("urn:uuid:") {
                    assert!(
                        urls.contains(s),
                        "{rule}: resident {n} refers to a missing {s}"
                    );
                }
            });
            let found = Res::new(&bundle, o.reference_date, false).findings(&p);
            assert!(
                found.contains(rule),
                "resident {n}: {rule} did not fire: {found:?}"
            );
            let strict = Res::new(&bundle, o.reference_date, true).findings(&p);
            let other: Vec<_> = strict
                .iter()
                .filter(|r| **r != rule && !WARNINGS.contains(r) && !overlaps(rule).contains(r))
                .collect();
            assert!(
                other.is_empty(),
                "resident {n}: {rule} also fired {other:?}"
            );
            *done.entry(rule).or_default() += 1;
        }
        if done.len() == DEFECT_RULES.len() && done.values().all(|&k| k >= 3) {
            break;
        }
    }
    let missing: Vec<_> = DEFECT_RULES
        .iter()
        .filter(|r| !done.contains_key(*r))
        .collect();
    assert!(missing.is_empty(), "never applicable: {missing:?}");
}
