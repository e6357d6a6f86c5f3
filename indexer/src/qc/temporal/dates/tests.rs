use super::*;
use crate::qc::temporal::fixtures::*;
use crate::testutil::{Check, resident};
use serde_json::json;

#[test]
fn t01_fails_a_vaccination_before_birth_and_passes_one_after() {
    let rule = T01EventBeforeBirth::new(&params()).expect("rule");
    let f = rule.check(
        &resident(&[patient("2020-01-05"), dose("i", "HepB", 1, "2019-03-01")]),
        T,
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].rule_id, f[0].severity, &f[0].evidence[..]),
        ("QC-T01", Severity::E, &[0, 1][..])
    );
    assert!(
        f[0].message.contains("vaccination date 2019-03-01")
            && f[0].message.contains("born (2020-01-05)"),
        "{}",
        f[0].message
    );
    let on_birth_day = resident(&[patient("2020-01-05"), dose("i", "HepB", 1, "2020-01-05")]);
    assert_eq!(rule.check(&on_birth_day, T), vec![]);
}

#[test]
fn t01_reads_the_day_as_written_and_partial_dates_as_spans() {
    let rule = T01EventBeforeBirth::new(&params()).expect("rule");
    let with = |at: &str| resident(&[patient("2020-01-05"), visit("e", "CHILD-NB", at)]);
    // The day before birth fails.
    assert_eq!(rule.check(&with("2020-01-04"), T).len(), 1);
    // 07:00 in Beijing on the birth day is the previous day in UTC, but not before birth.
    assert_eq!(rule.check(&with("2020-01-05T07:00:00+08:00"), T), vec![]);
    // "2020-01" may be a day after the birth; "2019-12" cannot.
    assert_eq!(rule.check(&with("2020-01"), T), vec![]);
    assert_eq!(rule.check(&with("2019-12"), T).len(), 1);
    // Entered in error does not count; without a birth date nothing is judged.
    let mut wrong = visit("e", "CHILD-NB", "2019-12-01");
    wrong["status"] = json!("entered-in-error");
    assert_eq!(
        rule.check(&resident(&[patient("2020-01-05"), wrong]), T),
        vec![]
    );
    let no_birth = json!({"resourceType": "Patient", "id": "p", "gender": "male"});
    assert_eq!(
        rule.check(&resident(&[no_birth, visit("e", "X", "1990-01-01")]), T),
        vec![]
    );
}

#[test]
fn t01_reports_a_condition_once_at_its_earliest_date() {
    let rule = T01EventBeforeBirth::new(&params()).expect("rule");
    let c = json!({"resourceType": "Condition", "id": "c",
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cn", "code": "O24.4"}]},
        "onsetDateTime": "2019-06-01", "recordedDate": "2019-07-01"});
    let f = rule.check(&resident(&[patient("2020-01-05"), c]), T);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message.contains("onset date 2019-06-01"),
        "{}",
        f[0].message
    );
}

#[test]
fn t02_fails_a_follow_up_after_death_and_passes_the_day_of_death() {
    let rule = T02EventAfterDeath::new(&params()).expect("rule");
    let dead = dead_patient("p", "1950-01-01", "2024-05-20T10:00:00+08:00");
    let f = rule.check(
        &resident(&[dead.clone(), visit("e", "HTN-FU", "2024-08-01")]),
        T,
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].rule_id, f[0].severity, &f[0].evidence[..]),
        ("QC-T02", Severity::E, &[0, 1][..])
    );
    assert!(
        f[0].message.contains("visit start 2024-08-01")
            && f[0].message.contains("death on 2024-05-20"),
        "{}",
        f[0].message
    );
    let with = |at: &str| resident(&[dead.clone(), visit("e", "HTN-FU", at)]);
    // Later the same day (a visit confirming the death) passes; the next day fails.
    assert_eq!(rule.check(&with("2024-05-20T18:00:00+08:00"), T), vec![]);
    assert_eq!(rule.check(&with("2024-05-21"), T).len(), 1);
    // Alive: nothing to judge.
    assert_eq!(
        rule.check(
            &resident(&[patient("1950-01-01"), visit("e", "HTN-FU", "2024-08-01")]),
            T
        ),
        vec![]
    );
}

#[test]
fn t02_skips_what_did_not_happen_and_kinds_not_listed() {
    let rule = T02EventAfterDeath::new(&params()).expect("rule");
    let dead = dead_patient("p", "1950-01-01", "2024-05-20");
    let mut cancelled = visit("e", "HTN-FU", "2024-08-01");
    cancelled["status"] = json!("cancelled");
    let recorded = json!({"resourceType": "Condition", "id": "c",
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cn", "code": "I21"}]},
        "recordedDate": "2024-06-01"});
    assert_eq!(
        rule.check(&resident(&[dead.clone(), cancelled, recorded]), T),
        vec![]
    );
    // Observations, vaccinations and procedures are checked too.
    let proc = json!({"resourceType": "Procedure", "id": "x", "status": "completed",
        "performedDateTime": "2024-06-02"});
    let f = rule.check(
        &resident(&[
            dead,
            obs("o", LOINC, "8867-4", None, "2024-06-01"),
            dose("i", "HepB", 1, "2024-06-01"),
            proc,
        ]),
        T,
    );
    assert_eq!(f.len(), 3, "{f:?}");
}

#[test]
fn t02_takes_the_earliest_death_of_any_node() {
    let rule = T02EventAfterDeath::new(&params()).expect("rule");
    let f = rule.check(
        &resident(&[
            dead_patient("a", "1950-01-01", "2024-06-30"),
            dead_patient("b", "1950-01-01", "2024-05-20"),
            visit("e", "HTN-FU", "2024-06-01"),
        ]),
        T,
    );
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence, [1, 2]);
}

#[test]
fn t02_refuses_a_kind_it_cannot_check() {
    let bad = crate::qc::DEFAULT_PARAMS.replace(
        "kinds = [\"Encounter\", \"Observation\", \"Immunization\", \"Procedure\"]",
        "kinds = [\"Encounter\", \"Claim\"]",
    );
    let p = Params::parse(&bad).expect("parses");
    assert!(matches!(
        T02EventAfterDeath::new(&p),
        Err(ParamsError::BadSection { name: "T02", .. })
    ));
}
