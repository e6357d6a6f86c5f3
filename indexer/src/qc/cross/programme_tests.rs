use super::super::tests::{LOINC, PHS, T, episode, params, patient, visit};
use super::*;
use crate::testutil::{Check, resident};
use serde_json::{Value, json};
use time::macros::datetime;

/// An observation whose value is a date (LMP, EDD).
fn dated(id: &str, code: &str, value: &str) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
           "code": {"coding": [{"system": LOINC, "code": code}]},
           "effectiveDateTime": "2024-01-01", "valueDateTime": value,
           "subject": {"reference": "Patient/p"}})
}

#[test]
fn x03_fails_a_64_year_old_at_an_antenatal_visit_and_passes_a_30_year_old() {
    let rule = X03PregnancyAge::new(&params()).expect("rule");
    let f = rule.check(
        &resident(&[
            patient("female", "1960-01-01"),
            visit("e", "ANC-1", "2024-03-01"),
        ]),
        T,
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].rule_id, &f[0].evidence[..]), ("QC-X03", &[0, 1][..]));
    assert_eq!(
        f[0].message,
        "A pregnancy care visit (ANC-1) on 2024-03-01 is recorded when the resident was 64 years old, outside the plausible 10–55 years."
    );
    let young = resident(&[
        patient("female", "1994-01-01"),
        dated("lmp", "8665-2", "2024-01-10"),
        dated("edd", "11778-8", "2024-10-16"),
        episode("ep", "PREG", "2024-02-01", "active"),
        visit("e", "ANC-1", "2024-03-01"),
    ]);
    assert_eq!(rule.check(&young, T), vec![]);
    // Every source at an implausible age is evidence of the one finding.
    let old = resident(&[
        patient("female", "1960-01-01"),
        dated("lmp", "8665-2", "2024-01-10"),
        episode("ep", "PREG", "2024-02-01", "active"),
        visit("e", "ANC-1", "2024-03-01"),
    ]);
    let f = rule.check(&old, T);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence, [0, 1, 2, 3]);
    assert!(
        f[0].message.starts_with(
            "A pregnancy starting 2024-01-10 (last menstrual period) is recorded when the resident was 64"
        ) && f[0].message.contains("2 more pregnancy records"),
        "{}",
        f[0].message
    );
}

#[test]
fn x03_bounds_are_inclusive_in_completed_years() {
    let rule = X03PregnancyAge::new(&params()).expect("rule");
    let lmp =
        |birth: &str, day: &str| resident(&[patient("female", birth), dated("lmp", "8665-2", day)]);
    // 55 years and 364 days passes; the 56th birthday fails.
    assert_eq!(rule.check(&lmp("1968-06-01", "2024-05-31"), T), vec![]);
    assert_eq!(rule.check(&lmp("1968-06-01", "2024-06-01"), T).len(), 1);
    // The 10th birthday passes; the day before fails.
    assert_eq!(rule.check(&lmp("2010-06-01", "2020-06-01"), T), vec![]);
    assert_eq!(rule.check(&lmp("2010-06-01", "2020-05-31"), T).len(), 1);
    // The EDD puts the start 280 days earlier: 2025-01-05 → 2024-03-31.
    let edd = |day: &str| {
        resident(&[
            patient("female", "1968-04-01"),
            dated("edd", "11778-8", day),
        ])
    };
    assert_eq!(rule.check(&edd("2025-01-05"), T), vec![]);
    let f = rule.check(&edd("2025-01-06"), T);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message
            .contains("starting 2024-04-01 (expected delivery on 2025-01-06, less 280 days)"),
        "{}",
        f[0].message
    );
}

fn deceased(when: &str) -> Value {
    json!({"resourceType": "Patient", "id": "p", "gender": "male", "birthDate": "1950-01-01",
           "deceasedDateTime": when})
}

fn closed(end: &str) -> Value {
    let mut e = episode("ep", "HTN", "2020-01-01", "finished");
    e["period"]["end"] = json!(end);
    e
}

#[test]
fn x12_fails_open_enrolment_after_death_and_passes_a_closed_one() {
    let rule = X12DeceasedOpenCare::new(&params()).expect("rule");
    let at = datetime!(2024-12-31 0:00 UTC);
    let open = episode("ep", "HTN", "2020-01-01", "active");
    let f = rule.check(&resident(&[deceased("2024-05-20"), open.clone()]), at);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].rule_id, &f[0].evidence[..]), ("QC-X12", &[0, 1][..]));
    assert_eq!(
        f[0].message,
        "The resident died on 2024-05-20, but the hypertension management enrolment is still active on 2024-12-31."
    );
    assert_eq!(
        rule.check(
            &resident(&[deceased("2024-05-20"), closed("2024-06-01")]),
            at
        ),
        vec![]
    );
    // A living resident's open enrolment is no finding.
    assert_eq!(
        rule.check(
            &resident(&[patient("male", "1950-01-01"), open.clone()]),
            at
        ),
        vec![]
    );
    // A death without a date has no window.
    let mut dead = patient("male", "1950-01-01");
    dead["deceasedBoolean"] = json!(true);
    let f = rule.check(&resident(&[dead, open]), at);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message
            .starts_with("The resident is recorded as deceased, but"),
        "{}",
        f[0].message
    );
}

#[test]
fn x12_window_after_death_and_open_care_plans_and_tasks() {
    let rule = X12DeceasedOpenCare::new(&params()).expect("rule");
    let open = resident(&[
        deceased("2024-05-20"),
        episode("ep", "HTN", "2020-01-01", "active"),
    ]);
    // Death + 30 days is 2024-06-19: still within the window then, reported the day after.
    assert_eq!(rule.check(&open, datetime!(2024-06-19 0:00 UTC)), vec![]);
    assert_eq!(rule.check(&open, datetime!(2024-06-20 0:00 UTC)).len(), 1);
    let at = datetime!(2024-12-31 0:00 UTC);
    assert_eq!(
        rule.check(
            &resident(&[deceased("2024-05-20"), closed("2024-06-19")]),
            at
        ),
        vec![]
    );
    let f = rule.check(
        &resident(&[deceased("2024-05-20"), closed("2024-06-20")]),
        at,
    );
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message
            .ends_with("was closed only on 2024-06-20, more than 30 days later."),
        "{}",
        f[0].message
    );
    let plan = |status: &str| {
        json!({"resourceType": "CarePlan", "id": "cp", "status": status,
               "period": {"start": "2024-01-01"}, "subject": {"reference": "Patient/p"}})
    };
    let task = |status: &str| {
        json!({"resourceType": "Task", "id": "t", "status": status, "intent": "order",
               "code": {"coding": [{"system": PHS, "code": "TB-NOTICE"}]},
               "for": {"reference": "Patient/p"}})
    };
    let f = rule.check(
        &resident(&[deceased("2024-05-20"), plan("active"), task("in-progress")]),
        at,
    );
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(
        (&f[0].evidence[..], &f[1].evidence[..]),
        (&[0, 1][..], &[0, 2][..])
    );
    assert!(
        f[1].message
            .contains("a task (TB-NOTICE) is still in-progress"),
        "{}",
        f[1].message
    );
    assert_eq!(
        rule.check(
            &resident(&[deceased("2024-05-20"), plan("completed"), task("completed")]),
            at
        ),
        vec![]
    );
}
