use super::*;
use crate::testutil::Check;
use crate::testutil::resident;
use serde_json::{Value, json};
use time::macros::datetime;

const T: OffsetDateTime = datetime!(2025-03-01 0:00 UTC);

fn params() -> Params {
    Params::shipped().expect("shipped params")
}

fn bp(sbp: Option<f64>, dbp: f64) -> Value {
    let mut comps = vec![json!({"code": {"coding": [{"system": LOINC, "code": DBP}]},
                                "valueQuantity": {"value": dbp, "code": "mm[Hg]"}})];
    if let Some(s) = sbp {
        comps.insert(
            0,
            json!({"code": {"coding": [{"system": LOINC, "code": SBP}]},
                               "valueQuantity": {"value": s, "code": "mm[Hg]"}}),
        );
    }
    json!({"resourceType": "Observation", "id": "bp", "status": "final",
           "code": {"coding": [{"system": LOINC, "code": BP_PANEL}]},
           "effectiveDateTime": "2025-01-01", "component": comps})
}

#[test]
fn r01_fails_sbp_below_dbp_and_passes_a_normal_panel() {
    let rule = R01BpPanelCoherent::new(&params());
    let f = rule.check(&resident(&[bp(Some(80.0), 120.0)]), T);
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].rule_id, &f[0].evidence[..]), ("QC-R01", &[0][..]));
    assert!(
        f[0].message.contains("systolic 80 not above diastolic 120"),
        "{}",
        f[0].message
    );
    assert!(
        rule.check(&resident(&[bp(None, 80.0)]), T)[0]
            .message
            .contains("no systolic value")
    );
    assert_eq!(rule.check(&resident(&[bp(Some(125.0), 120.0)]), T).len(), 1);
    assert_eq!(rule.check(&resident(&[bp(Some(280.0), 100.0)]), T).len(), 1);
    assert_eq!(rule.check(&resident(&[bp(Some(120.0), 80.0)]), T), vec![]);
}

fn encounter(start: &str, end: &str) -> Value {
    json!({"resourceType": "Encounter", "id": "e1", "status": "finished",
           "class": {"code": "IMP"}, "period": {"start": start, "end": end}})
}

#[test]
fn r02_fails_discharge_before_admission_and_passes_ordered_periods() {
    let rule = R02StartBeforeEnd::new(&params());
    let f = rule.check(&resident(&[encounter("2024-05-10", "2024-05-08")]), T);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message
            .contains("ends (2024-05-08) before it starts (2024-05-10)"),
        "{}",
        f[0].message
    );
    assert_eq!(
        rule.check(&resident(&[encounter("2024-05-08", "2024-05-10")]), T),
        vec![]
    );
    // A date-only start and a same-day end time are in order.
    assert_eq!(
        rule.check(
            &resident(&[encounter("2024-05-10", "2024-05-10T09:00:00Z")]),
            T
        ),
        vec![]
    );
    let cond = json!({"resourceType": "Condition", "id": "c",
                      "onsetDateTime": "2020-02-01", "abatementDateTime": "2020-01-01"});
    assert_eq!(rule.check(&resident(&[cond]), T).len(), 1);
    let rx = json!({"resourceType": "MedicationRequest", "id": "m", "intent": "order",
        "dispenseRequest": {"validityPeriod": {"start": "2024-06-01", "end": "2024-05-01"}}});
    assert_eq!(rule.check(&resident(&[rx]), T).len(), 1);
}

fn measure(id: &str, code: &str, v: f64, unit: &str) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
           "code": {"coding": [{"system": LOINC, "code": code}]},
           "encounter": {"reference": "Encounter/e1"},
           "valueQuantity": {"value": v, "code": unit}})
}

#[test]
fn r03_fails_bmi_32_for_70kg_170cm_and_passes_24_2() {
    let rule = R03BmiComputed::new(&params());
    let visit = |bmi: f64| {
        resident(&[
            measure("b", BMI, bmi, "kg/m2"),
            measure("h", HEIGHT, 170.0, "cm"),
            measure("w", WEIGHT, 70.0, "kg"),
        ])
    };
    let f = rule.check(&visit(32.0), T);
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].severity, &f[0].evidence[..]),
        (Severity::W, &[0, 2, 1][..])
    );
    assert!(f[0].message.contains("give 24.2"), "{}", f[0].message);
    assert_eq!(rule.check(&visit(24.2), T), vec![]);
    // Weight from another visit: nothing to compare.
    let mut other = measure("w", WEIGHT, 70.0, "kg");
    other["encounter"] = json!({"reference": "Encounter/e2"});
    let r = resident(&[
        measure("b", BMI, 32.0, "kg/m2"),
        measure("h", HEIGHT, 170.0, "cm"),
        other,
    ]);
    assert_eq!(rule.check(&r, T), vec![]);
}

#[test]
fn r04_fails_not_done_without_reason_and_other_incoherent_statuses() {
    let rule = R04StatusCoherence::new(&params());
    let imm = json!({"resourceType": "Immunization", "id": "i", "status": "not-done"});
    let f = rule.check(&resident(std::slice::from_ref(&imm)), T);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message.contains("not done without a reason"),
        "{}",
        f[0].message
    );
    let mut with_reason = imm;
    with_reason["statusReason"] = json!({"text": "parent declined"});
    assert_eq!(rule.check(&resident(&[with_reason]), T), vec![]);

    let cs = |c: &str| json!({"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": c}]});
    let abated_active = json!({"resourceType": "Condition", "id": "c",
        "clinicalStatus": cs("active"), "abatementString": "cured"});
    assert_eq!(rule.check(&resident(&[abated_active]), T).len(), 1);
    let abated_resolved = json!({"resourceType": "Condition", "id": "c",
        "clinicalStatus": cs("resolved"), "abatementDateTime": "2024-01-01"});
    assert_eq!(rule.check(&resident(&[abated_resolved]), T), vec![]);
    let eie = json!({"resourceType": "Condition", "id": "c", "clinicalStatus": cs("active"),
        "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "entered-in-error"}]}});
    assert_eq!(rule.check(&resident(&[eie]), T).len(), 1);
    let obs = json!({"resourceType": "Observation", "id": "o", "status": "final",
        "valueQuantity": {"value": 1.0}, "dataAbsentReason": {"text": "x"}});
    assert_eq!(rule.check(&resident(&[obs]), T).len(), 1);
    let open = json!({"resourceType": "Encounter", "id": "e", "status": "finished",
        "period": {"start": "2024-01-01"}});
    assert_eq!(rule.check(&resident(&[open]), T).len(), 1);
    let closed = json!({"resourceType": "Encounter", "id": "e", "status": "finished",
        "period": {"start": "2024-01-01", "end": "2024-01-01"}});
    assert_eq!(rule.check(&resident(&[closed]), T), vec![]);
}

fn patient(card: &str, gender: &str, birth: &str) -> Value {
    json!({"resourceType": "Patient", "id": "p", "gender": gender, "birthDate": birth,
           "identifier": [{"system": hl_ledger::pseudonym::CN_RESIDENT_ID_SYSTEM, "value": card}]})
}

#[test]
fn r05_fails_birth_date_mismatch_and_passes_an_agreeing_card() {
    let rule = R05IdCardAgrees::new(&params());
    let card = hl_ledger::gb11643::make("310115", time::macros::date!(1956 - 03 - 02), 1);
    let f = rule.check(&resident(&[patient(&card, "male", "1956-03-20")]), T);
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].rule_id, &f[0].evidence[..]), ("QC-R05", &[0][..]));
    assert!(
        f[0].message
            .contains("gives birth date 1956-03-02, but the record says 1956-03-20"),
        "{}",
        f[0].message
    );
    let f = rule.check(&resident(&[patient(&card, "female", "1956-03-02")]), T);
    assert!(
        f[0].message.contains("belongs to a man"),
        "{}",
        f[0].message
    );
    assert_eq!(
        rule.check(&resident(&[patient(&card, "male", "1956-03-02")]), T),
        vec![]
    );
    // An invalid number is F01's finding, not R05's.
    assert_eq!(
        rule.check(
            &resident(&[patient("110105194912310021", "male", "1950-01-01")]),
            T
        ),
        vec![]
    );
}
