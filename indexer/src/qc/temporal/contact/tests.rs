use super::*;
use crate::qc::temporal::fixtures::*;
use crate::testutil::{Check, resident};
use serde_json::{Value, json};
use time::macros::datetime;

fn base(programme: &str) -> Vec<Value> {
    vec![
        patient("1960-01-01"),
        episode("ep", programme, "2020-01-01", None),
    ]
}

/// Controlled on 2024-03-01, uncontrolled (152/96) on 2024-05-01, and `then`.
fn htn_case(then: &[Value]) -> Vec<Value> {
    all(&[
        &base("HTN"),
        &htn_fu("a", "2024-03-01", 130.0, 80.0),
        &htn_fu("b", "2024-05-01", 152.0, 96.0),
        then,
    ])
}

#[test]
fn t06_fails_the_catalogue_example_and_passes_a_two_week_revisit() {
    let rule = T06UncontrolledRevisit::new(&params()).expect("rule");
    let late = htn_case(&htn_fu("c", "2024-07-15", 135.0, 85.0));
    let f = rule.check(&resident(&late), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].rule_id, f[0].severity), ("QC-T06", Severity::E));
    assert_eq!(
        f[0].message,
        "The hypertension follow-up on 2024-05-01 found blood pressure 152/96 mmHg, not controlled after a controlled visit on 2024-03-01, but there was no follow-up or referral within 14 days; the next follow-up was on 2024-07-15."
    );
    // The uncontrolled visit and its BP, the controlled one before, the late one after.
    assert_eq!(f[0].evidence, [4, 5, 2, 6]);
    // Day 14 is in time, day 15 is not.
    let on = |day: &str| htn_case(&htn_fu("c", day, 135.0, 85.0));
    assert_eq!(rule.check(&resident(&on("2024-05-15")), T), vec![]);
    assert_eq!(rule.check(&resident(&on("2024-05-16")), T).len(), 1);
}

#[test]
fn t06_a_referral_answers_and_only_the_first_uncontrolled_is_judged() {
    let rule = T06UncontrolledRevisit::new(&params()).expect("rule");
    let referred = htn_case(&[referral("r", "2024-05-10", Some("b"))]);
    assert_eq!(rule.check(&resident(&referred), T), vec![]);
    let late_referral = htn_case(&[referral("r", "2024-05-16", Some("b"))]);
    let f = rule.check(&resident(&late_referral), T);
    assert!(
        f[0].message.ends_with("no later follow-up is recorded."),
        "{}",
        f[0].message
    );
    // A first follow-up already uncontrolled has no controlled one before it.
    let first = all(&[&base("HTN"), &htn_fu("b", "2024-05-01", 152.0, 96.0)]);
    assert_eq!(rule.check(&resident(&first), T), vec![]);
    // Diastolic alone at 90 is uncontrolled; 139/89 is controlled.
    let dbp = all(&[
        &base("HTN"),
        &htn_fu("a", "2024-03-01", 139.0, 89.0),
        &htn_fu("b", "2024-05-01", 130.0, 90.0),
    ]);
    assert_eq!(rule.check(&resident(&dbp), T).len(), 1);
    // Still uncontrolled at the late revisit: that one is not a "first" again.
    let twice = htn_case(&htn_fu("c", "2024-07-15", 160.0, 100.0));
    assert_eq!(rule.check(&resident(&twice), T).len(), 1);
}

#[test]
fn t06_waits_for_the_window_to_close_and_looks_back_a_year() {
    let rule = T06UncontrolledRevisit::new(&params()).expect("rule");
    let r = resident(&htn_case(&[]));
    assert_eq!(rule.check(&r, datetime!(2024-05-15 23:59 UTC)), vec![]);
    assert_eq!(rule.check(&r, datetime!(2024-05-16 0:00 UTC)).len(), 1);
    assert_eq!(rule.check(&r, datetime!(2025-05-01 0:00 UTC)), vec![]);
    // Died within the 14 days: nothing could be owed.
    let mut dead = htn_case(&[]);
    dead[0] = dead_patient("p", "1960-01-01", "2024-05-10");
    assert_eq!(rule.check(&resident(&dead), T), vec![]);
}

#[test]
fn t06_judges_diabetes_by_fasting_glucose() {
    let rule = T06UncontrolledRevisit::new(&params()).expect("rule");
    let r = all(&[
        &base("T2D"),
        &t2d_fu("a", "2024-03-01", "2024-03-01", 6.0),
        &t2d_fu("b", "2024-05-01", "2024-05-01", 8.3),
    ]);
    let f = rule.check(&resident(&r), T);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message
            .starts_with("The diabetes follow-up on 2024-05-01 found fasting glucose 8.3 mmol/L"),
        "{}",
        f[0].message
    );
    let ok = all(&[&r, &t2d_fu("c", "2024-05-12", "2024-05-12", 7.5)]);
    assert_eq!(rule.check(&resident(&ok), T), vec![]);
    let controlled = all(&[
        &base("T2D"),
        &t2d_fu("a", "2024-03-01", "2024-03-01", 6.0),
        &t2d_fu("b", "2024-05-01", "2024-05-01", 6.9),
    ]);
    assert_eq!(rule.check(&resident(&controlled), T), vec![]);
}

fn comm(id: &str, sent: &str) -> Value {
    json!({"resourceType": "Communication", "id": id, "status": "completed", "sent": sent,
           "subject": {"reference": "Patient/p"}})
}

fn phone(id: &str, day: &str) -> Value {
    let mut v = visit(id, "HTN-FU", day);
    v["class"] = json!({"code": "VR"});
    v
}

#[test]
fn t07_fails_a_referral_without_contact_and_passes_a_phone_call() {
    let rule = T07ReferralContact::new(&params()).expect("rule");
    let case = |then: &[Value]| {
        resident(&all(&[
            &[patient("1960-01-01"), visit("e1", "HTN-FU", "2024-06-01")],
            &[referral("r", "2024-06-01", Some("e1"))],
            then,
        ]))
    };
    let f = rule.check(&case(&[visit("e2", "HTN-FU", "2024-07-20")]), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].rule_id, f[0].severity), ("QC-T07", Severity::E));
    assert_eq!(
        f[0].message,
        "The referral on 2024-06-01 was not followed by any contact with the resident within 14 days; the next contact was on 2024-07-20."
    );
    assert_eq!(f[0].evidence, [2, 3]);
    // The visit the referral was made in is not the follow-up contact.
    assert_eq!(rule.check(&case(&[]), T).len(), 1);
    assert_eq!(rule.check(&case(&[phone("e2", "2024-06-10")]), T), vec![]);
    assert_eq!(rule.check(&case(&[comm("c", "2024-06-15")]), T), vec![]);
    assert_eq!(rule.check(&case(&[comm("c", "2024-06-16")]), T).len(), 1);
    // A cancelled visit is no contact.
    let mut cancelled = visit("e2", "HTN-FU", "2024-06-05");
    cancelled["status"] = json!("cancelled");
    assert_eq!(rule.check(&case(&[cancelled]), T).len(), 1);
}

#[test]
fn t07_smi_risk_three_to_five_needs_a_contact() {
    let rule = T07ReferralContact::new(&params()).expect("rule");
    let risk = |grade: i64| {
        let mut o = obs("g", PHS_OBS, "SMI-RISK", Some("s1"), "2024-09-01");
        o["valueInteger"] = json!(grade);
        o
    };
    let case = |grade: i64, then: &[Value]| {
        resident(&all(&[
            &[
                patient("1980-01-01"),
                visit("s1", "SMI-FU", "2024-09-01"),
                risk(grade),
            ],
            then,
        ]))
    };
    let f = rule.check(&case(4, &[visit("s2", "SMI-FU", "2024-09-30")]), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message
            .starts_with("The severe mental disorder risk grade of 4 on 2024-09-01"),
        "{}",
        f[0].message
    );
    assert_eq!(rule.check(&case(2, &[]), T), vec![]);
    assert_eq!(
        rule.check(&case(5, &[visit("s2", "SMI-FU", "2024-09-15")]), T),
        vec![]
    );
    // Referred at the same visit: one event, one finding.
    let f = rule.check(&case(3, &[referral("r", "2024-09-01", Some("s1"))]), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].message.starts_with("The referral"), "{}", f[0].message);
}

#[test]
fn t07_waits_for_the_window_and_the_resident_to_live_through_it() {
    let rule = T07ReferralContact::new(&params()).expect("rule");
    let r = resident(&[patient("1960-01-01"), referral("r", &ago(14), None)]);
    assert_eq!(rule.check(&r, T), vec![]);
    let r = resident(&[patient("1960-01-01"), referral("r", &ago(15), None)]);
    assert_eq!(rule.check(&r, T).len(), 1);
    let dead = resident(&[
        dead_patient("p", "1960-01-01", "2024-06-05"),
        referral("r", "2024-06-01", None),
    ]);
    assert_eq!(rule.check(&dead, T), vec![]);
    // Beyond the look-back year: not judged any more.
    let old = resident(&[patient("1960-01-01"), referral("r", &ago(365), None)]);
    assert_eq!(rule.check(&old, T), vec![]);
}
