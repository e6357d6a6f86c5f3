use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

use super::*;
use crate::programme::tests::{bp, condition, dose, episode, obs, patient, visit};
use crate::qc::{Engine, Severity};
use crate::testutil::resident;

const T: OffsetDateTime = datetime!(2025-03-01 0:00 UTC);
const EXT: &str = "https://healthledger.example/StructureDefinition/";

fn scorer() -> Scorer {
    Scorer::new(&Params::shipped().expect("params")).expect("score params")
}

fn score(records: &[Value], findings: &[Finding], at: OffsetDateTime) -> Score {
    let params = Params::shipped().expect("params");
    let tree = resident(records);
    scorer().score(&ResidentView::new(&tree, &params), findings, at)
}

fn finding(rule_id: &'static str, severity: Severity, evidence: Vec<u64>) -> Finding {
    Finding {
        rule_id,
        severity,
        resident: "00".into(),
        evidence,
        at: T,
        message: format!("{rule_id} failed."),
    }
}

fn s(score: &Score, m: Module) -> f64 {
    score.module(m).map_or(f64::NAN, |x| x.s)
}

fn part(score: &Score, p: Programme) -> &Part {
    score
        .module(Module::M3)
        .and_then(|m| m.parts.iter().find(|x| x.programme == p))
        .unwrap_or_else(|| panic!("no {p:?} part in {score:#?}"))
}

/// A full archive Patient: everything but the phone.
fn archive_patient(gender: &str, birth: &str, id_card: &str) -> Value {
    let ext = |name: &str| json!({"url": format!("{EXT}{name}"), "valueString": "x"});
    json!({"resourceType": "Patient", "id": "p", "gender": gender, "birthDate": birth,
        "name": [{"text": "张三"}],
        "identifier": [
            {"system": hl_ledger::pseudonym::CN_RESIDENT_ID_SYSTEM, "value": id_card},
            {"system": "urn:oid:2.16.156.10011.1.2", "value": "11010100100100001"}],
        "address": [{"district": "110101", "text": "1 Main St"}],
        "generalPractitioner": [{"reference": "Practitioner/d1"}],
        "extension": [ext("ethnicity"), ext("residence-type"), ext("payment-type"),
                      ext("archive-date")]})
}

fn quantity(v: f64, unit: &str) -> Value {
    json!({"valueQuantity": {"value": v, "code": unit}})
}

/// An HTN follow-up with the BP panel and the listed other items.
fn htn_visit(id: &str, day: &str, items: &[&str]) -> Vec<Value> {
    let at = format!("{day}T09:10:00Z");
    let mut out = vec![
        visit(id, "HTN-FU", &format!("{day}T09:00:00Z")),
        bp(&format!("{id}-bp"), id, &at, 132, 82),
    ];
    for code in items {
        let value = if *code == "HTN-CLASS" {
            json!({"valueCodeableConcept": {"coding": [{"code": "controlled"}]}})
        } else {
            quantity(70.0, "1")
        };
        out.push(obs(&format!("{id}-{code}"), code, &at, Some(id), value));
    }
    out
}

/// DOMAIN.md §5 worked example: a 68-year-old man enrolled in HTN.
fn worked_example() -> Vec<Value> {
    let mut r = vec![
        archive_patient("male", "1956-06-15", "110101195606150012"),
        condition("c", "I10", "2015-05-01"),
        episode("ep", "HTN", "2015-06-01", None),
    ];
    // History: all blocks but exposure (the I10 Condition fills "past illness").
    for code in [
        "HX-SURGERY",
        "HX-TRAUMA",
        "HX-TRANSFUSION",
        "HX-FAMILY",
        "HX-GENETIC",
        "HX-DISABILITY",
        "HX-ALLERGY",
    ] {
        r.push(obs(
            code,
            code,
            "2015-06-01",
            None,
            json!({"valueCodeableConcept": {"coding": [{"code": "none"}]}}),
        ));
    }
    // Three valid follow-ups in the year (one missing), 13 of 15 form items.
    let all = ["29463-7", "8867-4", "39156-5", "HTN-CLASS"];
    r.extend(htn_visit(
        "f1",
        "2024-04-10",
        &["29463-7", "39156-5", "HTN-CLASS"],
    ));
    r.extend(htn_visit("f2", "2024-08-10", &all));
    r.extend(htn_visit(
        "f3",
        "2024-12-10",
        &["29463-7", "8867-4", "HTN-CLASS"],
    ));
    // The health check lacks the abdominal US, ECG, respiration and HDL-C: 19 of 23 items.
    r.push(visit("hc", "HEALTH-CHECK", "2024-09-01T09:00:00Z"));
    for code in [
        "8310-5",
        "8867-4",
        "85354-9",
        "8302-2",
        "29463-7",
        "8280-0",
        "39156-5",
        "14771-0",
        "718-7",
        "24356-8",
        "1742-6",
        "1920-8",
        "1975-2",
        "2160-0",
        "3094-0",
        "2093-3",
        "2571-8",
        "18262-6",
        "SELF-CARE",
    ] {
        r.push(obs(
            &format!("hc-{code}"),
            code,
            "2024-09-01T09:30:00Z",
            Some("hc"),
            quantity(1.0, "1"),
        ));
    }
    r
}

#[test]
fn worked_example_scores_77_band_b() {
    let records = worked_example();
    let params = Params::shipped().expect("params");
    let tree = resident(&records);
    let view = ResidentView::new(&tree, &params);
    // The field and record findings the engine has today (M1 reads QC-F02), and the open
    // warning of the example; scenario rules added later do not change this test.
    let mut findings: Vec<Finding> = Engine::new(params.clone())
        .expect("engine")
        .evaluate_view(&view, T)
        .into_iter()
        .filter(|f| f.rule_id.starts_with("QC-F") || f.rule_id.starts_with("QC-R"))
        .collect();
    assert!(
        !findings.iter().any(|f| f.rule_id == "QC-F02"),
        "{findings:#?}"
    );
    findings.push(finding("QC-X10", Severity::W, vec![5]));
    let sc = scorer().score(&view, &findings, T);
    let close = |m: Module, want: f64| {
        let got = s(&sc, m);
        assert!((got - want).abs() < 0.03, "{m:?}: {got} vs {want}: {sc:#?}");
    };
    // The example's values: M1 0.9 (no phone), M2 0.8, M3 0.5875, M4 1, M5 0.9375.
    close(Module::M1, 0.9);
    close(Module::M2, 0.8);
    close(Module::M3, 0.5875);
    assert_eq!(s(&sc, Module::M4), 1.0);
    assert_eq!(s(&sc, Module::M5), 0.9375);
    assert_eq!((sc.value, sc.band), (77, Band::B));
    // Exactly: M1 = 0.7·11/12 + 0.3·8/9, M2 = 19/23, HTN = 3/4 · 13/15, ELDER = 0.5.
    assert!((s(&sc, Module::M1) - (0.7 * 11.0 / 12.0 + 0.3 * 8.0 / 9.0)).abs() < 1e-9);
    assert!((s(&sc, Module::M2) - 19.0 / 23.0).abs() < 1e-9);
    let htn = part(&sc, Programme::Htn);
    assert!((htn.s - 0.75 * 13.0 / 15.0).abs() < 1e-9, "{htn:#?}");
    assert!(
        htn.reasons
            .iter()
            .any(|r| r == "1 HTN follow-up missing in the last 12 months (3 of 4 done)."),
        "{htn:#?}"
    );
    assert_eq!(part(&sc, Programme::Elder).s, 0.5);
    let m1 = sc.module(Module::M1).expect("M1");
    assert_eq!(m1.reasons[0], "Missing from the basic information: phone.");
    assert!(m1.reasons[1].contains("exposure"));
    let m2 = sc.module(Module::M2).expect("M2");
    assert!(
        m2.reasons[0].contains("lacks 4 of 23 items") && m2.reasons[0].contains("ABD-US"),
        "{m2:#?}"
    );
    assert!(
        m2.evidence.contains(
            &tree
                .resource(&crate::tree::ResourceKey::new("Encounter", "hc"))
                .expect("hc")
                .leaf
        )
    );
    assert_eq!(
        sc.module(Module::M5).map(|m| m.evidence.clone()),
        Some(vec![5])
    );
}

#[test]
fn m1_requires_valid_identifiers_and_filled_history() {
    // A wrong check digit, and an archive number QC-F02 rejected.
    let records = [archive_patient("male", "1956-06-15", "110101195606150013")];
    let sc = score(&records, &[finding("QC-F02", Severity::E, vec![0])], T);
    let m1 = sc.module(Module::M1).expect("M1");
    assert_eq!(
        m1.reasons[0],
        "Missing from the basic information: valid ID-card number, valid archive number, phone."
    );
    assert!((m1.s - 0.7 * 9.0 / 12.0).abs() < 1e-9, "{m1:#?}");
    assert_eq!(m1.evidence, vec![0]);
    let bare = score(&[patient("female", "1990-01-01")], &[], T);
    assert!(s(&bare, Module::M1) < 0.2);
}

#[test]
fn m2_interval_is_12_months_for_key_populations_and_24_for_others() {
    let mut records = vec![
        patient("female", "1985-01-01"),
        visit("hc", "HEALTH-CHECK", "2023-06-01T09:00:00Z"),
    ];
    for (i, g) in scorer().items.health_check.iter().enumerate() {
        records.push(obs(
            &format!("o{i}"),
            &g[0],
            "2023-06-01T09:30:00Z",
            Some("hc"),
            quantity(1.0, "1"),
        ));
    }
    assert_eq!(s(&score(&records, &[], T), Module::M2), 1.0);
    records.push(condition("c", "I10", "2020-01-01"));
    records.push(episode("ep", "HTN", "2020-01-05", None));
    let sc = score(&records, &[], T);
    let m2 = sc.module(Module::M2).expect("M2");
    assert_eq!(
        (m2.s, m2.reasons.clone()),
        (
            0.0,
            vec!["No health check in the last 12 months.".to_owned()]
        )
    );
}

#[test]
fn m3_revisit_failures_lower_htn_and_invalid_doses_do_not_count() {
    let mut records = vec![
        patient("male", "1960-01-01"),
        condition("c", "I10", "2020-01-01"),
        episode("ep", "HTN", "2020-01-05", None),
    ];
    let all = ["29463-7", "8867-4", "39156-5", "HTN-CLASS"];
    for (id, day) in [
        ("a", "2024-04-01"),
        ("b", "2024-07-01"),
        ("c", "2024-10-01"),
        ("d", "2025-01-10"),
    ] {
        records.extend(htn_visit(id, day, &all));
    }
    assert_eq!(part(&score(&records, &[], T), Programme::Htn).s, 1.0);
    // A QC-T06 finding on visit a (leaf 3) applies to HTN; a QC-T07 on a T2D visit would not.
    let sc = score(&records, &[finding("QC-T06", Severity::E, vec![3])], T);
    let htn = part(&sc, Programme::Htn);
    assert_eq!(htn.s, 0.8);
    assert!(htn.reasons[0].contains("QC-T06"), "{htn:#?}");

    let child = [
        patient("female", "2024-01-15"),
        dose("h1", "HepB", 1, "2024-01-15T08:00:00Z"),
        dose("h2", "HepB", 2, "2024-02-01T08:00:00Z"),
        dose("bcg", "BCG", 1, "2024-01-16T08:00:00Z"),
    ];
    // Due by 13 months: HepB 1–3, BCG, IPV 1–2, bOPV 3, DTaP 1–3, MMR 1, JE-L 1 (12); given 3.
    let imm = score(&child, &[], T);
    assert!((part(&imm, Programme::Imm).s - 3.0 / 12.0).abs() < 1e-9);
    let imm = score(&child, &[finding("QC-T11", Severity::E, vec![2])], T);
    let p = part(&imm, Programme::Imm);
    assert!((p.s - 2.0 / 12.0).abs() < 1e-9);
    assert!(
        p.reasons
            .iter()
            .any(|r| r.contains("1 vaccine dose given too early") && r.contains("HepB dose 2")),
        "{p:#?}"
    );
}

#[test]
fn m3_child_checks_and_antenatal_windows_count_what_is_due() {
    // Six months old: newborn and 1-month checks done, the 3-month check missed; the 6-month
    // window is open, so it is not yet held against the archive.
    let child = [
        patient("male", "2024-09-01"),
        visit("nb", "CHILD-NB", "2024-09-05T09:00:00Z"),
        visit("m1", "CHILD-HC", "2024-10-01T09:00:00Z"),
    ];
    let sc = score(&child, &[], T);
    let p = part(&sc, Programme::Child);
    assert!((p.s - (0.7 * 2.0 / 3.0 + 0.3)).abs() < 1e-9, "{p:#?}");
    assert_eq!(
        p.reasons,
        vec!["1 child check of 3 due missed: 3-month child check.".to_owned()]
    );
    // LMP 2024-08-01, booked at 14 weeks (half), 16-20 met, 21-24 missed, 28-36 open.
    let preg = [
        patient("female", "1995-05-05"),
        episode("ep", "PREG", "2024-09-15", None),
        obs(
            "lmp",
            "8665-2",
            "2024-09-15T09:00:00Z",
            None,
            json!({"valueDateTime": "2024-08-01"}),
        ),
        visit("a1", "ANC-1", "2024-11-07T09:00:00Z"),
        visit("a2", "ANC-2", "2024-12-01T09:00:00Z"),
    ];
    let sc = score(&preg, &[], T);
    let p = part(&sc, Programme::Preg);
    assert!((p.s - 1.5 / 3.0).abs() < 1e-9, "{p:#?}");
    assert_eq!(p.evidence, vec![3, 4]);
}

#[test]
fn m4_liveness_and_m5_consistency() {
    let records = [
        patient("female", "1980-01-01"),
        visit("v", "HEALTH-CHECK", "2023-09-01T09:00:00Z"),
    ];
    let sc = score(&records, &[], T);
    let m4 = sc.module(Module::M4).expect("M4");
    assert_eq!((m4.s, m4.evidence.clone()), (0.5, vec![1]));
    assert_eq!(
        m4.reasons,
        vec![
            "No visit or observation in the last 12 months; the latest is from 2023-09-01."
                .to_owned()
        ]
    );
    assert_eq!(s(&score(&records[..1], &[], T), Module::M4), 0.0);
    // One error and one warning count; information and field-level findings do not.
    let findings = [
        finding("QC-T03", Severity::E, vec![1]),
        finding("QC-X10", Severity::W, vec![0]),
        finding("QC-T18", Severity::I, vec![]),
        finding("QC-F04", Severity::E, vec![1]),
    ];
    let m5 = score(&records, &findings, T);
    let m5 = m5.module(Module::M5).expect("M5");
    assert_eq!(m5.s, 1.0 - 1.25 / 4.0);
    assert_eq!(
        m5.reasons[0],
        "1 error and 1 warning open in the cross-record and temporal checks."
    );
    assert_eq!(m5.evidence, vec![0, 1]);
    // No programme applies: M3 is left out of the weighting.
    assert!(!sc.module(Module::M3).expect("M3").applicable);
}

#[test]
fn m5_names_five_findings_and_counts_the_rest() {
    let records = [patient("female", "1980-01-01")];
    let findings: Vec<Finding> = (0..8)
        .map(|i| Finding {
            message: format!("Problem {i}."),
            ..finding("QC-X10", Severity::W, vec![i])
        })
        .collect();
    let sc = score(&records, &findings, T);
    let m5 = sc.module(Module::M5).expect("M5");
    assert_eq!(
        m5.reasons,
        [
            "0 errors and 8 warnings open in the cross-record and temporal checks.",
            "QC-X10: Problem 0.",
            "QC-X10: Problem 1.",
            "QC-X10: Problem 2.",
            "QC-X10: Problem 3.",
            "QC-X10: Problem 4.",
            "… and 3 more",
        ]
    );
    // Every finding's records stay evidence, named or not.
    assert_eq!(m5.evidence, (0..8).collect::<Vec<u64>>());
    // Five or fewer are all named, with no remainder line.
    let sc = score(&records, &findings[..5], T);
    let m5 = sc.module(Module::M5).expect("M5");
    assert_eq!(m5.reasons.len(), 6);
    assert_eq!(m5.reasons[5], "QC-X10: Problem 4.");
}

#[test]
fn institution_summary_and_bands() {
    let sc = scorer();
    assert_eq!(
        [95, 90, 89, 75, 74, 60, 59, 0].map(|v| sc.band(v)),
        [
            Band::A,
            Band::A,
            Band::B,
            Band::B,
            Band::C,
            Band::C,
            Band::D,
            Band::D
        ]
    );
    let with = |value: u8| Score {
        resident: String::new(),
        at: T,
        value,
        band: sc.band(value),
        modules: Vec::new(),
    };
    let summary = sc.summary(&[with(95), with(80), with(55), with(40)]);
    assert_eq!(
        (summary.count, summary.mean, summary.incomplete_share),
        (4, 67.5, 0.5)
    );
    assert_eq!(
        summary.bands,
        BTreeMap::from([(Band::A, 1), (Band::B, 1), (Band::C, 0), (Band::D, 2)])
    );
    assert_eq!(sc.summary(&[]).mean, 0.0);
}

#[test]
fn bad_score_parameters_are_refused() {
    let text = crate::qc::DEFAULT_PARAMS;
    for (from, to) in [
        ("{ band = \"D\", min = 0 }", "{ band = \"D\", min = 10 }"),
        ("M5 = 10.0 }", "M5 = -1.0 }"),
        (
            "\"address-division\", \"phone\"",
            "\"address-division\", \"fax\"",
        ),
    ] {
        assert!(text.contains(from), "{from}");
        let bad = Params::parse(&text.replacen(from, to, 1)).expect("other sections parse");
        assert!(Scorer::new(&bad).is_err(), "{to}");
    }
}

#[test]
fn a_synthea_resident_scores_the_same_after_a_rebuild_and_incrementally() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/fhir/synthea-tietai/Darrell_Funk_3dd33b34.json"
    );
    let bytes = std::fs::read(path).expect("shared Synthea bundle");
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = crate::testutil::open_ledger(&dir);
    let opts = hl_ledger::input::InputOptions {
        max_bytes: 1 << 24,
        pseudonymizer: hl_ledger::pseudonym::Pseudonymizer::new(
            [2; 32],
            hl_ledger::pseudonym::default_resident_systems(),
            "test.example/indexer".into(),
        ),
    };
    ledger
        .submit(opts.prepare("synthea", &bytes).expect("valid bundle"))
        .expect("submitted");
    let params = Params::shipped().expect("params");
    let engine = Engine::new(params.clone()).expect("engine");
    let events = crate::events::EventRules::new(&params).expect("events");
    let assess = |tree: &crate::tree::KnowledgeTree| {
        tree.residents()
            .map(|r| {
                let view = ResidentView::new(r, &params);
                let findings = engine.evaluate_view(&view, T);
                (
                    scorer().score(&view, &findings, T),
                    events.derive(&view, &findings, T),
                )
            })
            .collect::<Vec<_>>()
    };
    let rebuilt = crate::tree::KnowledgeTree::rebuild(&ledger).expect("rebuild");
    let mut one_by_one = crate::tree::KnowledgeTree::new();
    for i in 0..ledger.head().expect("head").size {
        let rec = ledger.record(i).expect("read").expect("record");
        let env = serde_json::from_slice(&rec.envelope).expect("envelope");
        one_by_one
            .apply(i, &env, rec.content.as_deref())
            .expect("apply");
    }
    let a = assess(&rebuilt);
    assert_eq!(a.len(), 1);
    assert_eq!(a, assess(&one_by_one));
    let sc = &a[0].0;
    assert!(sc.value <= 100 && sc.modules.len() == 5, "{sc:#?}");
    assert!(sc.module(Module::M4).is_some_and(|m| m.applicable));
}
