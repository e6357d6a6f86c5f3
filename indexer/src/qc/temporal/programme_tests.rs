use time::macros::datetime;

use super::*;
use crate::qc::temporal::testkit::*;
use crate::testutil::{Check, resident};

const T: OffsetDateTime = datetime!(2025-03-01 0:00 UTC);

fn htn(visit_day: &str, onset: Option<&str>) -> Vec<serde_json::Value> {
    vec![
        patient("male", "1960-01-01"),
        visit("fu", "HTN-FU", "AMB", visit_day),
        condition("dx", "I10", onset, "2024-01-10"),
        episode("ep", "HTN", "2024-01-15", None),
    ]
}

#[test]
fn t19_fails_a_follow_up_before_diagnosis_and_enrolment() {
    let rule = T19ServiceBeforeDiagnosis::new(&params()).expect("T19");
    // The catalogue's example.
    let f = rule.check(&resident(&htn("2023-10-01", None)), T);
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].rule_id, &f[0].evidence[..]),
        ("QC-T19", &[1, 2, 3][..])
    );
    assert_eq!(
        f[0].message,
        "The HTN-FU visit on 2023-10-01 is dated before both the diagnosis (2024-01-10) and the enrolment (2024-01-15)."
    );
    // On the diagnosis day, 5 days before enrolment: in time.
    assert_eq!(rule.check(&resident(&htn("2024-01-10", None)), T), vec![]);
    // The day before the diagnosis, within the enrolment's 7 days' grace.
    let f = rule.check(&resident(&htn("2024-01-09", None)), T);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message.ends_with("before the diagnosis (2024-01-10)."),
        "{}",
        f[0].message
    );
    // An onset long before the record: the visit follows the diagnosis, not the enrolment.
    let f = rule.check(&resident(&htn("2023-10-01", Some("2020-05-01"))), T);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message
            .contains("the enrolment (2024-01-15) by more than 7 days"),
        "{}",
        f[0].message
    );
    assert_eq!(f[0].evidence, [1, 3]);
}

#[test]
fn t19_checks_each_programme_against_its_own_diagnoses_and_skips_planned_visits() {
    let rule = T19ServiceBeforeDiagnosis::new(&params()).expect("T19");
    let t2d = [
        patient("male", "1960-01-01"),
        condition("htn", "I10", None, "2020-01-01"),
        condition("dm", "E11.9", None, "2024-06-01"),
        visit("fu", "T2D-FU", "AMB", "2024-03-01"),
    ];
    let f = rule.check(&resident(&t2d), T);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence, [3, 2]);
    let mut planned = t2d.to_vec();
    planned[3]["status"] = serde_json::json!("planned");
    assert_eq!(rule.check(&resident(&planned), T), vec![]);
    // Without any diagnosis or enrolment there is nothing to date the visit against.
    assert_eq!(
        rule.check(
            &resident(&[patient("male", "1960-01-01"), t2d[3].clone()]),
            T
        ),
        vec![]
    );
}
