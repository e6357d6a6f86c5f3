use super::*;
use crate::qc::{Level, Params, ParamsError, Severity};
use crate::testutil::Check;
use crate::testutil::resident;
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::macros::datetime;

const T: OffsetDateTime = datetime!(2025-03-01 0:00 UTC);

fn params() -> Params {
    Params::shipped().expect("shipped params")
}

fn patient(card: &str, birth: &str) -> Value {
    json!({"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": birth,
           "name": [{"family": "王"}],
           "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": card}]})
}

#[test]
fn f01_fails_the_domain_example_and_passes_the_corrected_id() {
    let rule = F01IdCardValid::new(&params());
    let bad = resident(&[patient("110105194912310021", "1949-12-31")]);
    let f = rule.check(&bad, T);
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].rule_id, f[0].severity, &f[0].evidence[..]),
        ("QC-F01", Severity::E, &[0][..])
    );
    assert!(
        f[0].message.contains("110105194912310021"),
        "{}",
        f[0].message
    );
    let good = resident(&[patient("11010519491231002X", "1949-12-31")]);
    assert_eq!(rule.check(&good, T), vec![]);
}

#[test]
fn f03_fails_future_birth_date_and_missing_fields() {
    let rule = F03CoreDemographics::new(&params()).expect("rule");
    let future = resident(&[patient("11010519491231002X", "2031-02-01")]);
    let f = rule.check(&future, T);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message.contains("2031-02-01 is in the future"),
        "{}",
        f[0].message
    );
    let old = resident(&[patient("11010519491231002X", "1899-12-31")]);
    assert_eq!(rule.check(&old, T).len(), 1);
    let bare = resident(&[json!({"resourceType": "Patient", "id": "p"})]);
    let f = rule.check(&bare, T);
    assert!(
        f[0].message.contains("no name, no gender, no birth date"),
        "{}",
        f[0].message
    );
    let good = resident(&[patient("11010519491231002X", "1949-12-31")]);
    assert_eq!(rule.check(&good, T), vec![]);
}

fn bp(id: &str, sbp: f64, status: &str) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": status,
           "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
           "effectiveDateTime": "2025-01-01",
           "component": [
             {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
              "valueQuantity": {"value": sbp, "code": "mm[Hg]"}},
             {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
              "valueQuantity": {"value": 80.0, "code": "mm[Hg]"}}]})
}

#[test]
fn f07_fails_sbp_1400_and_passes_normal_values() {
    let rule = F07PlausibleRange::new(&params());
    let bad = resident(&[bp("o1", 120.0, "final"), bp("o2", 1400.0, "final")]);
    let f = rule.check(&bad, T);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence, vec![1]);
    assert!(
        f[0].message.starts_with("SBP of 1400 mm[Hg]"),
        "{}",
        f[0].message
    );
    let good = resident(&[bp("o1", 120.0, "final")]);
    assert_eq!(rule.check(&good, T), vec![]);
    // Entered in error: not counted.
    let eie = resident(&[bp("o2", 1400.0, "entered-in-error")]);
    assert_eq!(rule.check(&eie, T), vec![]);
    // A top-level value is checked too; a value in another unit is left to F06.
    let fbg = |v: f64, unit: &str| {
        json!({"resourceType": "Observation", "id": "g",
        "status": "final", "code": {"coding": [{"system": LOINC, "code": "14771-0"}]},
        "valueQuantity": {"value": v, "code": unit}})
    };
    assert_eq!(rule.check(&resident(&[fbg(55.0, "mmol/L")]), T).len(), 1);
    assert_eq!(rule.check(&resident(&[fbg(126.0, "mg/dL")]), T), vec![]);
}

fn with_archive(no: &str) -> Value {
    let mut p = patient("11010519491231002X", "1949-12-31");
    p["identifier"]
        .as_array_mut()
        .expect("identifiers")
        .push(json!({"system": "urn:oid:2.16.156.10011.1.2", "value": no}));
    p
}

#[test]
fn f02_fails_village_segment_250_and_passes_a_committee_number() {
    let rule = F02ArchiveNumber::new(&params());
    let f = rule.check(&resident(&[with_archive("31011500125000123")]), T);
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].rule_id, &f[0].evidence[..]), ("QC-F02", &[0][..]));
    assert!(
        f[0].message.contains("village segment 250"),
        "{}",
        f[0].message
    );
    for bad in ["3101150012500012", "99011500100100123", "31000000100100123"] {
        assert_eq!(
            rule.check(&resident(&[with_archive(bad)]), T).len(),
            1,
            "{bad}"
        );
    }
    for good in [
        "31011500105000123",
        "31011500115000123",
        "31011500195000123",
    ] {
        assert_eq!(
            rule.check(&resident(&[with_archive(good)]), T),
            vec![],
            "{good}"
        );
    }
}

fn immunization(lot: Option<&str>, status: &str) -> Value {
    let mut v = json!({"resourceType": "Immunization", "id": "i1", "status": status,
        "vaccineCode": {"coding": [{"system": "urn:oid:2.16.156.10011.2.3.2", "code": "0101"}]},
        "occurrenceDateTime": "2025-01-02", "performer": [{"actor": {"reference": "Practitioner/d"}}],
        "protocolApplied": [{"doseNumberPositiveInt": 1}], "patient": {"reference": "Patient/p"}});
    if let Some(l) = lot {
        v["lotNumber"] = json!(l);
    }
    v
}

#[test]
fn f04_fails_immunization_without_lot_and_passes_complete_records() {
    let rule = F04RequiredElements::new(&params()).expect("rule");
    let f = rule.check(&resident(&[immunization(None, "completed")]), T);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence, vec![0]);
    assert!(
        f[0].message.ends_with("has no lot number."),
        "{}",
        f[0].message
    );
    assert_eq!(
        rule.check(&resident(&[immunization(Some("L1"), "completed")]), T),
        vec![]
    );
    // Nothing was given: no lot asked for; entered in error: not checked.
    assert_eq!(
        rule.check(&resident(&[immunization(None, "not-done")]), T),
        vec![]
    );
    assert_eq!(
        rule.check(&resident(&[immunization(None, "entered-in-error")]), T),
        vec![]
    );
    // A BP panel's component values are its value; a bare observation has none.
    let mut panel = bp("o1", 120.0, "final");
    panel["subject"] = json!({"reference": "Patient/p"});
    assert_eq!(rule.check(&resident(&[panel.clone()]), T), vec![]);
    panel.as_object_mut().expect("object").remove("component");
    let f = rule.check(&resident(&[panel]), T);
    assert!(
        f[0].message.contains("no value (or a reason it is absent)"),
        "{}",
        f[0].message
    );
}

#[test]
fn f04_refuses_unknown_elements() {
    let mut p = params();
    p.f04
        .required
        .insert("Condition".into(), vec!["colour".into()]);
    assert!(matches!(
        F04RequiredElements::new(&p),
        Err(ParamsError::UnknownElement { element, .. }) if element == "colour"
    ));
    p.f04.required.clear();
    p.f04.required.insert("Claim".into(), vec!["status".into()]);
    assert!(F04RequiredElements::new(&p).is_err());
}

#[test]
fn f05_fails_text_only_diagnosis_and_passes_icd10() {
    let rule = F05RecognisedSystem::new(&params());
    let text = json!({"resourceType": "Condition", "id": "c1", "code": {"text": "高血压"}});
    let f = rule.check(&resident(&[text]), T);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message.contains("\"高血压\"") && f[0].message.contains("free text"),
        "{}",
        f[0].message
    );
    let local = json!({"resourceType": "Condition", "id": "c1",
        "code": {"coding": [{"system": "urn:local", "code": "HBP"}]}});
    assert_eq!(rule.check(&resident(&[local]), T).len(), 1);
    let icd = json!({"resourceType": "Condition", "id": "c1", "code": {"coding": [
        {"system": "http://hl7.org/fhir/sid/icd-10-cn", "code": "I10"}], "text": "高血压"}});
    assert_eq!(rule.check(&resident(&[icd]), T), vec![]);
    assert_eq!(rule.check(&resident(&[bp("o", 120.0, "final")]), T), vec![]);
}

fn fbg(v: f64, unit: &str) -> Value {
    json!({"resourceType": "Observation", "id": "g", "status": "final",
           "code": {"coding": [{"system": LOINC, "code": "14771-0"}]},
           "valueQuantity": {"value": v, "code": unit}})
}

#[test]
fn f06_fails_fbg_in_mg_dl_and_passes_mmol_l() {
    let rule = F06UnitAllowed::new(&params());
    let f = rule.check(&resident(&[fbg(126.0, "mg/dL")]), T);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message.contains("126.0 in mg/dL") && f[0].message.contains("only mmol/L"),
        "{}",
        f[0].message
    );
    assert_eq!(rule.check(&resident(&[fbg(7.0, "mmol/L")]), T), vec![]);
    // Components are checked too.
    let mut panel = bp("o", 120.0, "final");
    panel["component"][1]["valueQuantity"]["code"] = json!("kPa");
    assert_eq!(rule.check(&resident(&[panel]), T).len(), 1);
    assert_eq!(rule.check(&resident(&[bp("o", 120.0, "final")]), T), vec![]);
}

#[test]
fn f08_fails_observation_dated_after_receipt_and_passes_past_dates() {
    use crate::testutil::resident_recorded;
    let rule = F08NoFutureDates::new(&params());
    let received = Some(datetime!(2025-03-01 0:00 UTC));
    let mut future = bp("o", 120.0, "final");
    future["effectiveDateTime"] = json!("2030-01-01");
    let f = rule.check(&resident_recorded(&[future], received), T);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message.contains("2030-01-01") && f[0].message.contains("2025-03-01"),
        "{}",
        f[0].message
    );
    assert_eq!(
        rule.check(&resident_recorded(&[bp("o", 120.0, "final")], received), T),
        vec![]
    );
    // Within the 5-minute tolerance.
    let mut skew = bp("o", 120.0, "final");
    skew["effectiveDateTime"] = json!("2025-03-01T00:04:00Z");
    assert_eq!(
        rule.check(&resident_recorded(&[skew.clone()], received), T),
        vec![]
    );
    skew["effectiveDateTime"] = json!("2025-03-01T00:06:00Z");
    assert_eq!(
        rule.check(&resident_recorded(&[skew], received), T).len(),
        1
    );
}

#[test]
fn rule_listing_marks_catalogue_defaults() {
    let rules = super::super::rules(&params()).expect("rules");
    let lines = super::super::listing(&rules);
    assert!(
        lines.contains(&"QC-F07 F E [D] ranges".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"QC-R03 R W [D] tolerance".to_owned()),
        "{lines:?}"
    );
    assert!(lines.contains(&"QC-F01 F E".to_owned()), "{lines:?}");
    assert!(
        lines.contains(&"QC-X07 X W [D] value_sets.DM-any, atc_prefixes, window_days".to_owned()),
        "{lines:?}"
    );
}

#[test]
fn engine_runs_every_rule() {
    let engine = super::super::Engine::new(params()).expect("rules");
    let ids: Vec<_> = engine.rules.iter().map(|r| r.id()).collect();
    let first = [
        "QC-F01", "QC-F02", "QC-F03", "QC-F04", "QC-F05", "QC-F06", "QC-F07", "QC-F08", "QC-R01",
        "QC-R02", "QC-R03", "QC-R04", "QC-R05",
    ];
    assert_eq!(ids[..13], first);
    assert!(engine.rules[..8].iter().all(|r| r.level() == Level::F));
    assert!(engine.rules[8..13].iter().all(|r| r.level() == Level::R));
    let mut sorted = ids.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), ids.len(), "rule ids are unique");
    let r = resident(&[
        patient("110105194912310021", "2031-02-01"),
        bp("o", 1400.0, "final"),
        json!({"resourceType": "Condition", "id": "c", "recordedDate": "2024-05-01",
               "subject": {"reference": "Patient/p"},
               "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cn", "code": "C61"}]}}),
    ]);
    // Only the rules this resident is built to exercise; scenario rules may add their own.
    let ids: Vec<_> = engine
        .evaluate(&r, T)
        .iter()
        .map(|f| f.rule_id)
        .filter(|id| id.starts_with("QC-F") || id.starts_with("QC-R") || *id == "QC-X02")
        .collect();
    // The panel has no subject (F04) and a pulse pressure of 1320 (R01); the female
    // resident has prostate cancer (X02).
    assert_eq!(
        ids,
        ["QC-F01", "QC-F03", "QC-F04", "QC-F07", "QC-R01", "QC-X02"]
    );
}
