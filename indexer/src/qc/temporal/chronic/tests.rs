use super::*;
use crate::qc::temporal::fixtures::*;
use crate::testutil::{Check, resident};
use serde_json::{Value, json};
use time::macros::datetime;

fn htn(days_ago: &[i64]) -> Vec<Value> {
    days_ago
        .iter()
        .enumerate()
        .flat_map(|(i, d)| htn_fu(&format!("v{i}"), &ago(*d), 130.0, 80.0))
        .collect()
}

fn enrolled(programme: &str, start: &str) -> Vec<Value> {
    vec![patient("1970-01-01"), episode("ep", programme, start, None)]
}

#[test]
fn t03_fails_three_follow_ups_and_passes_four() {
    let rule = T03HtnFollowUpCadence::new(&params()).expect("rule");
    let ok = all(&[&enrolled("HTN", "2020-01-01"), &htn(&[300, 220, 140, 60])]);
    assert_eq!(rule.check(&resident(&ok), T), vec![]);
    let short = all(&[&enrolled("HTN", "2020-01-01"), &htn(&[300, 220, 140])]);
    let f = rule.check(&resident(&short), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].rule_id, f[0].severity), ("QC-T03", Severity::E));
    assert_eq!(
        f[0].message,
        format!(
            "3 of 4 hypertension follow-ups in the last 12 months; the last was on {}.",
            ago(140)
        )
    );
    // The episode, then each visit with its BP.
    assert_eq!(f[0].evidence, [1, 2, 3, 4, 5, 6, 7]);
}

#[test]
fn t03_does_not_count_a_visit_without_bp() {
    let rule = T03HtnFollowUpCadence::new(&params()).expect("rule");
    let r = all(&[
        &enrolled("HTN", "2020-01-01"),
        &htn(&[300, 220, 140]),
        &[visit("nobp", "HTN-FU", &ago(60))],
    ]);
    let f = rule.check(&resident(&r), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.starts_with("3 of 4")
            && f[0]
                .message
                .contains("1 other hypertension visit in that time did not count"),
        "{}",
        f[0].message
    );
    assert!(f[0].evidence.contains(&8));
}

#[test]
fn t03_window_excludes_its_first_instant() {
    let rule = T03HtnFollowUpCadence::new(&params()).expect("rule");
    let with = |first: i64| {
        resident(&all(&[
            &enrolled("HTN", "2020-01-01"),
            &htn(&[first, 250, 150, 50]),
        ]))
    };
    assert_eq!(rule.check(&with(365), T).len(), 1);
    assert_eq!(rule.check(&with(364), T), vec![]);
}

#[test]
fn t03_asks_pro_rata_for_a_recent_enrolment() {
    let rule = T03HtnFollowUpCadence::new(&params()).expect("rule");
    // One month enrolled: ceil(4 × 1 / 12) = 1 follow-up owed.
    let month = enrolled("HTN", "2025-02-01");
    let f = rule.check(&resident(&month), T);
    assert_eq!(f.len(), 1);
    assert_eq!(
        f[0].message,
        "0 of 1 hypertension follow-ups in the last 12 months (owed for the 1 month enrolled); none is recorded."
    );
    assert_eq!(
        rule.check(&resident(&all(&[&month, &htn(&[10])])), T),
        vec![]
    );
    // Under a month: nothing owed yet. Not enrolled: nothing owed.
    assert_eq!(
        rule.check(&resident(&enrolled("HTN", "2025-02-09")), T),
        vec![]
    );
    assert_eq!(rule.check(&resident(&[patient("1960-01-01")]), T), vec![]);
    // Enrolment ended in the window: 2024-03-01 to 2024-09-01 is 6 months, 2 owed.
    let ended = vec![
        patient("1960-01-01"),
        episode("ep", "HTN", "2020-01-01", Some("2024-09-01")),
    ];
    let f = rule.check(&resident(&all(&[&ended, &htn(&[330])])), T);
    assert!(f[0].message.starts_with("1 of 2"), "{}", f[0].message);
    assert_eq!(
        rule.check(&resident(&all(&[&ended, &htn(&[330, 250])])), T),
        vec![]
    );
}

#[test]
fn t03_owes_nothing_after_death() {
    let rule = T03HtnFollowUpCadence::new(&params()).expect("rule");
    // Died 2024-05-05: 2 months of the window alive, 1 follow-up owed, 1 done.
    let dead = vec![
        dead_patient("p", "1950-01-01", "2024-05-05"),
        episode("ep", "HTN", "2020-01-01", None),
    ];
    assert_eq!(
        rule.check(&resident(&all(&[&dead, &htn(&[320])])), T),
        vec![]
    );
    assert_eq!(rule.check(&resident(&dead), T).len(), 1);
    // Dead without a date: not judged.
    let undated = json!({"resourceType": "Patient", "id": "p", "deceasedBoolean": true});
    assert_eq!(
        rule.check(
            &resident(&[undated, episode("ep", "HTN", "2020-01-01", None)]),
            T
        ),
        vec![]
    );
}

#[test]
fn t03_warns_on_a_gap_over_120_days() {
    let rule = T03HtnFollowUpCadence::new(&params()).expect("rule");
    let r = all(&[&enrolled("HTN", "2020-01-01"), &htn(&[350, 300, 150, 20])]);
    let f = rule.check(&resident(&r), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].severity, Severity::W);
    assert_eq!(
        f[0].message,
        format!(
            "The hypertension follow-ups on {} and {} were 150 days apart, more than 120 days; 1 other gap in the last 12 months also did.",
            ago(300),
            ago(150)
        )
    );
    assert_eq!(f[0].evidence, [1, 4, 6, 6 + 2]);
    // Exactly 120 days passes, 121 warns.
    let gap = |d: i64| {
        resident(&all(&[
            &enrolled("HTN", "2020-01-01"),
            &htn(&[340, 260, 180, 180 - d]),
        ]))
    };
    assert_eq!(rule.check(&gap(120), T), vec![]);
    assert_eq!(rule.check(&gap(121), T).len(), 1);
}

#[test]
fn t04_fails_visits_without_glucose_and_passes_same_day_glucose() {
    let rule = T04T2dFollowUpCadence::new(&params()).expect("rule");
    let fu = |i: usize, d: i64| t2d_fu(&format!("v{i}"), &ago(d), &ago(d), 6.1);
    let ok = all(&[
        &enrolled("T2D", "2020-01-01"),
        &fu(0, 300),
        &fu(1, 220),
        &fu(2, 140),
        &fu(3, 60),
    ]);
    assert_eq!(rule.check(&resident(&ok), T), vec![]);
    // Four visits, two without glucose.
    let bare = |id: &str, d: i64| {
        [
            visit(id, "T2D-FU", &ago(d)),
            bp(&format!("{id}-bp"), id, &ago(d), 128.0, 80.0),
        ]
    };
    let r = all(&[
        &enrolled("T2D", "2020-01-01"),
        &fu(0, 300),
        &fu(1, 220),
        &bare("b0", 140),
        &bare("b1", 60),
    ]);
    let f = rule.check(&resident(&r), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.starts_with("2 of 4 diabetes follow-ups")
            && f[0]
                .message
                .contains("2 other diabetes visits in that time did not count"),
        "{}",
        f[0].message
    );
}

#[test]
fn t04_wants_the_glucose_on_the_visit_day_as_written() {
    let rule = T04T2dFollowUpCadence::new(&params()).expect("rule");
    let fu = |i: usize, d: i64| t2d_fu(&format!("v{i}"), &ago(d), &ago(d), 6.1);
    let base = all(&[
        &enrolled("T2D", "2020-01-01"),
        &fu(0, 300),
        &fu(1, 220),
        &fu(2, 140),
    ]);
    // The glucose the next day still makes a valid follow-up, but not this rule's.
    let next_day = all(&[&base, &t2d_fu("v3", &ago(60), &ago(59), 6.1)]);
    assert_eq!(rule.check(&resident(&next_day), T).len(), 1);
    // 07:30 and 09:00 in Beijing are the same day there, though not in UTC.
    let local = all(&[
        &base,
        &t2d_fu(
            "v3",
            "2024-12-01T09:00:00+08:00",
            "2024-12-01T07:30:00+08:00",
            6.1,
        ),
    ]);
    assert_eq!(rule.check(&resident(&local), T), vec![]);
}

fn glucose(id: &str, code: &str, at: &str) -> Value {
    let mut o = obs(id, LOINC, code, None, at);
    o["valueQuantity"] = json!({"value": 6.5, "unit": "mmol/L"});
    o
}

#[test]
fn t05_fails_the_catalogue_example_and_passes_a_recent_result() {
    let rule = T05GlycaemicGap::new(&params()).expect("rule");
    let at = datetime!(2024-09-30 0:00 UTC);
    let r = all(&[
        &enrolled("T2D", "2020-01-01"),
        &[glucose("g", "14771-0", "2024-02-10")],
    ]);
    let f = rule.check(&resident(&r), at);
    assert_eq!(f.len(), 1);
    assert_eq!(
        f[0].message,
        "No fasting glucose or HbA1c result in the last 180 days for this enrolled diabetes patient; the last was on 2024-02-10."
    );
    assert_eq!(f[0].evidence, [1, 2]);
    for code in ["14770-2", "1558-6", "4548-4", "59261-8"] {
        let r = all(&[
            &enrolled("T2D", "2020-01-01"),
            &[glucose("g", code, "2024-08-01")],
        ]);
        assert_eq!(rule.check(&resident(&r), at), vec![], "{code}");
    }
}

#[test]
fn t05_boundaries_of_the_window_and_of_enrolment() {
    let rule = T05GlycaemicGap::new(&params()).expect("rule");
    let with = |d: i64| {
        resident(&all(&[
            &enrolled("T2D", "2020-01-01"),
            &[glucose("g", "14771-0", &ago(d))],
        ]))
    };
    assert_eq!(rule.check(&with(179), T), vec![]);
    assert_eq!(rule.check(&with(180), T).len(), 1);
    // Enrolled for less than the window: not due yet; for exactly the window: due.
    assert_eq!(
        rule.check(&resident(&enrolled("T2D", &ago(179))), T),
        vec![]
    );
    let f = rule.check(&resident(&enrolled("T2D", &ago(180))), T);
    assert!(
        f[0].message.ends_with("none is recorded."),
        "{}",
        f[0].message
    );
}

fn check(id: &str, service: &str, day: &str) -> Value {
    visit(id, service, day)
}

#[test]
fn t08_fails_a_70_year_old_last_checked_in_2022() {
    let rule = T08AnnualHealthCheck::new(&params()).expect("rule");
    let r = resident(&[
        patient("1955-01-01"),
        check("h", "HEALTH-CHECK", "2022-11-03"),
    ]);
    let f = rule.check(&r, T);
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!(
        (f[0].rule_id, f[0].severity, &f[0].evidence[..]),
        ("QC-T08", Severity::E, &[0, 1][..])
    );
    assert_eq!(
        f[0].message,
        "No annual health check in the last 12 months for this resident (aged 70); the last was on 2022-11-03."
    );
    assert_eq!(f[1].severity, Severity::W);
    assert!(
        f[1].message.starts_with("No TCM constitution assessment")
            && f[1].message.ends_with("none is recorded."),
        "{}",
        f[1].message
    );
    let ok = resident(&[
        patient("1955-01-01"),
        check("h", "HEALTH-CHECK", &ago(364)),
        check("t", "TCM-ELDER", &ago(100)),
    ]);
    assert_eq!(rule.check(&ok, T), vec![]);
    let edge = resident(&[
        patient("1955-01-01"),
        check("h", "HEALTH-CHECK", &ago(365)),
        check("t", "TCM-ELDER", &ago(100)),
    ]);
    assert_eq!(rule.check(&edge, T).len(), 1);
}

#[test]
fn t08_waits_a_year_after_joining_a_key_population() {
    let rule = T08AnnualHealthCheck::new(&params()).expect("rule");
    // 65 on 2024-03-01 = T − 365 d: in the population for the whole window.
    assert_eq!(rule.check(&resident(&[patient("1959-03-01")]), T).len(), 2);
    assert_eq!(rule.check(&resident(&[patient("1959-03-02")]), T), vec![]);
    // Enrolled in HTN: the check, without the TCM warning.
    let f = rule.check(&resident(&enrolled("HTN", "2020-01-01")), T);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message.contains("(enrolled in hypertension care)"),
        "{}",
        f[0].message
    );
    assert_eq!(f[0].evidence, [1]);
    assert_eq!(
        rule.check(&resident(&enrolled("SMI", &ago(100))), T),
        vec![]
    );
    assert_eq!(
        rule.check(&resident(&enrolled("TB", "2020-01-01")), T),
        vec![]
    );
    // Young and enrolled part of the window, old for the rest: covered throughout.
    let r = resident(&[
        patient("1959-06-01"),
        episode("ep", "T2D", "2023-01-01", Some("2024-07-01")),
    ]);
    let f = rule.check(&r, T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].severity, &f[0].evidence[..]),
        (Severity::E, &[0, 1][..])
    );
    assert!(
        f[0].message
            .contains("(aged 65, enrolled in diabetes care)"),
        "{}",
        f[0].message
    );
}
