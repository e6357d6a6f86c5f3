use super::super::tests::{LOINC, PHS, T, params, patient, visit};
use super::*;
use crate::testutil::{Check, resident};
use serde_json::{Value, json};

const OBS: &str = "https://healthledger.example/CodeSystem/phs-observation";
const CLASS: &str = "https://healthledger.example/CodeSystem/phs-classification";

fn in_visit(mut o: Value, at: &str) -> Value {
    o["status"] = json!("final");
    o["encounter"] = json!({"reference": "Encounter/e"});
    o["subject"] = json!({"reference": "Patient/p"});
    o["effectiveDateTime"] = json!(at);
    o
}

fn bp_at(id: &str, sbp: f64, dbp: f64, at: &str) -> Value {
    let c = |code: &str, v: f64| {
        json!({"code": {"coding": [{"system": LOINC, "code": code}]},
               "valueQuantity": {"value": v, "code": "mm[Hg]"}})
    };
    in_visit(
        json!({"resourceType": "Observation", "id": id,
               "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
               "component": [c("8480-6", sbp), c("8462-4", dbp)]}),
        at,
    )
}

fn bp(sbp: f64, dbp: f64) -> Value {
    bp_at("bp", sbp, dbp, "2024-05-10T09:00:00Z")
}

fn fbg(v: f64) -> Value {
    in_visit(
        json!({"resourceType": "Observation", "id": "fbg",
               "code": {"coding": [{"system": LOINC, "code": "14771-0"}]},
               "valueQuantity": {"value": v, "code": "mmol/L"}}),
        "2024-05-10T09:00:00Z",
    )
}

fn class(code: &str, value: &str) -> Value {
    in_visit(
        json!({"resourceType": "Observation", "id": "cls",
               "code": {"coding": [{"system": OBS, "code": code}]},
               "valueCodeableConcept": {"coding": [{"system": CLASS, "code": value}]}}),
        "2024-05-10T09:30:00Z",
    )
}

fn referral(link: Value) -> Value {
    let mut r = json!({"resourceType": "ServiceRequest", "id": "ref", "status": "active",
                       "intent": "order", "subject": {"reference": "Patient/p"},
                       "code": {"coding": [{"system": PHS, "code": "REFERRAL"}]}});
    if let (Some(r), Some(l)) = (r.as_object_mut(), link.as_object()) {
        r.extend(l.clone());
    }
    r
}

fn follow_up(service: &str, rest: &[Value]) -> crate::tree::ResidentTree {
    let mut r = vec![
        patient("male", "1960-01-01"),
        visit("e", service, "2024-05-10"),
    ];
    r.extend_from_slice(rest);
    resident(&r)
}

#[test]
fn x08_fails_fbg_9_2_classified_controlled_and_passes_6_5() {
    let rule = X08ClassificationContradicts::new(&params()).expect("rule");
    let f = rule.check(
        &follow_up("T2D-FU", &[fbg(9.2), class("T2D-CLASS", "controlled")]),
        T,
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].rule_id, &f[0].evidence[..]),
        ("QC-X08", &[0, 1, 3, 2][..])
    );
    assert_eq!(
        f[0].message,
        "At the diabetes follow-up on 2024-05-10 blood glucose was classified as controlled, but fasting glucose measured 9.2 mmol/L, at or above the 7.0 target."
    );
    let t2d = |v: f64, c: &str| {
        rule.check(&follow_up("T2D-FU", &[fbg(v), class("T2D-CLASS", c)]), T)
            .len()
    };
    assert_eq!(t2d(6.5, "controlled"), 0);
    // 7.0 is the first uncontrolled value.
    assert_eq!(t2d(7.0, "controlled"), 1);
    assert_eq!(t2d(6.9, "controlled"), 0);
    assert_eq!(t2d(7.0, "uncontrolled"), 0);
    assert_eq!(t2d(6.9, "uncontrolled"), 1);
    // An adverse-reaction classification says nothing about the value.
    assert_eq!(t2d(9.2, "adverse"), 0);
    // Nothing measured, nothing contradicted.
    assert_eq!(
        rule.check(&follow_up("T2D-FU", &[class("T2D-CLASS", "controlled")]), T),
        vec![]
    );
}

#[test]
fn x08_blood_pressure_classification_at_the_140_90_target() {
    let rule = X08ClassificationContradicts::new(&params()).expect("rule");
    let htn = |s: f64, d: f64, c: &str| {
        rule.check(&follow_up("HTN-FU", &[bp(s, d), class("HTN-CLASS", c)]), T)
    };
    assert_eq!(htn(138.0, 88.0, "controlled"), vec![]);
    assert_eq!(htn(140.0, 85.0, "controlled").len(), 1);
    let f = htn(139.0, 90.0, "controlled");
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message
            .contains("measured 139/90 mmHg, at or above the 140/90 target"),
        "{}",
        f[0].message
    );
    assert_eq!(htn(139.0, 89.0, "uncontrolled").len(), 1);
    assert_eq!(htn(140.0, 80.0, "uncontrolled"), vec![]);
    // The latest reading of the visit is its value.
    let remeasured = follow_up(
        "HTN-FU",
        &[
            bp_at("bp1", 150.0, 95.0, "2024-05-10T09:00:00Z"),
            bp_at("bp2", 135.0, 85.0, "2024-05-10T09:10:00Z"),
            class("HTN-CLASS", "controlled"),
        ],
    );
    assert_eq!(rule.check(&remeasured, T), vec![]);
}

#[test]
fn x08_danger_values_need_a_referral() {
    let rule = X08ClassificationContradicts::new(&params()).expect("rule");
    let high = [bp(185.0, 100.0), class("HTN-CLASS", "uncontrolled")];
    let f = rule.check(&follow_up("HTN-FU", &high), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].evidence, [0, 1, 2]);
    assert_eq!(
        f[0].message,
        "At the hypertension follow-up on 2024-05-10 blood pressure measured 185/100 mmHg, a danger value, but no referral is recorded for the visit."
    );
    let with = |extra: Value| {
        let mut r = high.to_vec();
        r.push(extra);
        rule.check(&follow_up("HTN-FU", &r), T)
    };
    let encounter = json!({"encounter": {"reference": "Encounter/e"}});
    let reason = json!({"reasonReference": [{"reference": "Encounter/e"}]});
    let elsewhere = json!({"encounter": {"reference": "Encounter/other"}});
    assert_eq!(with(referral(encounter)), vec![]);
    assert_eq!(with(referral(reason)), vec![]);
    assert_eq!(with(referral(elsewhere)).len(), 1);
    // Or the visit is classified as a referral.
    assert_eq!(
        rule.check(
            &follow_up(
                "HTN-FU",
                &[bp(185.0, 100.0), class("HTN-CLASS", "referral")]
            ),
            T
        ),
        vec![]
    );
    // The thresholds are inclusive.
    let bp_only = |s: f64, d: f64| rule.check(&follow_up("HTN-FU", &[bp(s, d)]), T).len();
    assert_eq!(bp_only(179.0, 109.0), 0);
    assert_eq!(bp_only(180.0, 100.0), 1);
    assert_eq!(bp_only(150.0, 110.0), 1);
    let glucose = |v: f64| rule.check(&follow_up("T2D-FU", &[fbg(v)]), T).len();
    assert_eq!(glucose(4.0), 0);
    assert_eq!(glucose(3.9), 1);
    assert_eq!(glucose(16.6), 0);
    assert_eq!(glucose(16.7), 1);
    // Outside a programme follow-up the danger check does not apply.
    assert_eq!(
        rule.check(&follow_up("HEALTH-CHECK", &[bp(185.0, 100.0)]), T),
        vec![]
    );
}

fn dose(id: &str, series: &str, n: u32, day: &str, status: &str) -> Value {
    json!({"resourceType": "Immunization", "id": id, "status": status,
           "vaccineCode": {"coding": [{"system": "urn:oid:2.16.156.10011.2.3.2", "code": "0201"}]},
           "occurrenceDateTime": day, "patient": {"reference": "Patient/p"},
           "performer": [{"actor": {"reference": "Organization/o1"}}],
           "protocolApplied": [{"series": series, "doseNumberPositiveInt": n}]})
}

#[test]
fn x10_fails_hepb_dose_1_recorded_twice_and_passes_doses_1_and_2() {
    let rule = X10DuplicateFacts::new(&params()).expect("rule");
    let child = |records: &[Value]| {
        let mut r = vec![patient("female", "2023-05-01")];
        r.extend_from_slice(records);
        resident(&r)
    };
    let f = rule.check(
        &child(&[
            dose("a", "HepB", 1, "2023-05-02", "completed"),
            dose("b", "HepB", 1, "2023-05-02", "completed"),
        ]),
        T,
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].rule_id, &f[0].evidence[..]),
        ("QC-X10", &[0, 1, 2][..])
    );
    assert_eq!(
        f[0].message,
        "HepB dose 1 is recorded 2 times on 2023-05-02; only one may count."
    );
    assert_eq!(
        rule.check(
            &child(&[
                dose("a", "HepB", 1, "2023-05-02", "completed"),
                dose("b", "HepB", 2, "2023-06-02", "completed"),
            ]),
            T
        ),
        vec![]
    );
    // The same dose number on another date is still the same dose.
    assert_eq!(
        rule.check(
            &child(&[
                dose("a", "HepB", 1, "2023-05-02", "completed"),
                dose("b", "HepB", 1, "2023-06-02", "completed"),
            ]),
            T
        )
        .len(),
        1
    );
    // A dose not given, or entered in error, is no duplicate.
    for status in ["not-done", "entered-in-error"] {
        assert_eq!(
            rule.check(
                &child(&[
                    dose("a", "HepB", 1, "2023-05-02", "completed"),
                    dose("b", "HepB", 1, "2023-05-02", status),
                ]),
                T
            ),
            vec![],
            "{status}"
        );
    }
}

fn hr(id: &str, value: f64, at: &str, performer: &str) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
           "code": {"coding": [{"system": LOINC, "code": "8867-4"}]},
           "effectiveDateTime": at, "subject": {"reference": "Patient/p"},
           "performer": [{"reference": performer}],
           "valueQuantity": {"value": value, "code": "/min"}})
}

#[test]
fn x10_observations_duplicate_on_code_day_value_and_performer() {
    let rule = X10DuplicateFacts::new(&params()).expect("rule");
    let pair = |b: Value| {
        rule.check(
            &resident(&[
                patient("male", "1960-01-01"),
                hr("a", 72.0, "2024-05-10T09:00:00Z", "Organization/o1"),
                b,
            ]),
            T,
        )
    };
    let f = pair(hr("b", 72.0, "2024-05-10T15:00:00Z", "Organization/o1"));
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence, [0, 1, 2]);
    assert_eq!(
        f[0].message,
        "The same 8867-4 result (72 /min) is recorded 2 times on 2024-05-10; only one may count."
    );
    assert_eq!(
        pair(hr("b", 74.0, "2024-05-10T15:00:00Z", "Organization/o1")),
        vec![]
    );
    assert_eq!(
        pair(hr("b", 72.0, "2024-05-11T09:00:00Z", "Organization/o1")),
        vec![]
    );
    assert_eq!(
        pair(hr("b", 72.0, "2024-05-10T09:00:00Z", "Organization/o2")),
        vec![]
    );
    let mut wrong = hr("b", 72.0, "2024-05-10T09:00:00Z", "Organization/o1");
    wrong["status"] = json!("entered-in-error");
    assert_eq!(pair(wrong), vec![]);
}

fn item(code: &str) -> Value {
    let system = if code.starts_with(|c: char| c.is_ascii_digit()) {
        LOINC
    } else {
        OBS
    };
    in_visit(
        json!({"resourceType": "Observation", "id": format!("o-{code}"),
               "code": {"coding": [{"system": system, "code": code}]},
               "valueQuantity": {"value": 1.0}}),
        "2024-06-01",
    )
}

fn check(birth: &str, status: &str, codes: &[&str]) -> crate::tree::ResidentTree {
    let mut e = visit("e", "HEALTH-CHECK", "2024-06-01");
    e["status"] = json!(status);
    let mut r = vec![patient("female", birth), e];
    r.extend(codes.iter().map(|c| item(c)));
    resident(&r)
}

const ALL: &[&str] = &[
    "85354-9",
    "8867-4",
    "8302-2",
    "29463-7",
    "8280-0",
    "39156-5",
    "14770-2",
    "718-7",
    "24356-8",
    "1742-6",
    "1920-8",
    "1975-2",
    "2160-0",
    "3094-0",
    "2093-3",
    "2571-8",
    "13457-7",
    "2085-9",
    "11524-6",
    "ABD-US",
    "SELF-CARE",
];

#[test]
fn x11_fails_a_check_without_lipids_and_ecg_and_passes_a_complete_one() {
    let rule = X11ElderlyCheckComplete::new(&params()).expect("rule");
    // Alternative codes (capillary glucose, calculated LDL) count for their item.
    assert_eq!(rule.check(&check("1950-01-01", "finished", ALL), T), vec![]);
    let lacking: Vec<&str> = ALL
        .iter()
        .copied()
        .filter(|c| !["2093-3", "2571-8", "13457-7", "2085-9", "11524-6"].contains(c))
        .collect();
    let f = rule.check(&check("1950-01-01", "finished", &lacking), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].rule_id, &f[0].evidence[..]), ("QC-X11", &[0, 1][..]));
    assert_eq!(
        f[0].message,
        "The elderly annual health check on 2024-06-01 lacks 5 of its 21 required items: total cholesterol, triglycerides, LDL cholesterol, HDL cholesterol, ECG."
    );
}

#[test]
fn x11_applies_from_65_at_the_check_and_only_to_finished_checks() {
    let rule = X11ElderlyCheckComplete::new(&params()).expect("rule");
    // 65 on the day of the check is elderly; a day short is not.
    assert_eq!(
        rule.check(&check("1959-06-01", "finished", &[]), T).len(),
        1
    );
    assert_eq!(rule.check(&check("1959-06-02", "finished", &[]), T), vec![]);
    assert_eq!(
        rule.check(&check("1950-01-01", "in-progress", &[]), T),
        vec![]
    );
    // A name for a code that is no item is refused, not silently ignored.
    let bad = crate::qc::DEFAULT_PARAMS
        .replace("\"8867-4\" = \"heart rate\"", "\"8867-5\" = \"heart rate\"");
    let p = Params::parse(&bad).expect("params");
    assert!(matches!(
        X11ElderlyCheckComplete::new(&p),
        Err(ParamsError::BadSection { name: "X11", .. })
    ));
}
