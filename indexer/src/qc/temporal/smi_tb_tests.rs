use serde_json::Value;
use time::macros::datetime;

use super::*;
use crate::qc::temporal::testkit::*;
use crate::testutil::{Check, resident};

const T: OffsetDateTime = datetime!(2025-03-01 0:00 UTC);

/// A valid SMI follow-up: the encounter and its risk grade.
fn smi(n: u32, day: &str, risk: i64) -> [Value; 2] {
    let id = format!("v{n}");
    [
        visit(&id, "SMI-FU", "AMB", day),
        item(&format!("r{n}"), "SMI-RISK", &id, day, risk),
    ]
}

fn smi_resident(start: &str, visits: &[(&str, i64)], extra: Vec<Value>) -> Vec<Value> {
    let mut r = vec![
        patient("male", "1980-01-01"),
        episode("smi", "SMI", start, None),
    ];
    for (i, (day, risk)) in visits.iter().enumerate() {
        r.extend(smi(i as u32, day, *risk));
    }
    r.extend(extra);
    r
}

#[test]
fn t16_passes_quarterly_stable_follow_ups_and_fails_three() {
    let rule = T16SmiCadence::new(&params()).expect("T16");
    let quarterly = [
        ("2024-03-15", 0),
        ("2024-06-10", 0),
        ("2024-09-05", 0),
        ("2024-12-01", 0),
    ];
    let ok = smi_resident("2023-01-01", &quarterly, vec![]);
    assert_eq!(rule.check(&resident(&ok), T), vec![]);
    let three = smi_resident("2023-01-01", &quarterly[..3], vec![]);
    let f = rule.check(&resident(&three), T);
    assert_eq!(f.len(), 2, "{f:?}");
    assert_eq!((f[0].rule_id, f[0].severity), ("QC-T16", Severity::E));
    assert!(
        f[0].message.contains("Only 3 valid") && f[0].message.contains("call for 4"),
        "{}",
        f[0].message
    );
    assert!(
        f[1].message
            .contains("2024-09-05 with risk grade 0, no contact has followed"),
        "{}",
        f[1].message
    );
    // Dead since 2024-03-01, with the episode left open (QC-X12's finding): no follow-up is
    // owed after the death, so none is missing before it.
    let mut dead = smi_resident("2023-01-01", &[], vec![]);
    dead[0]["deceasedDateTime"] = "2024-03-01".into();
    assert_eq!(rule.check(&resident(&dead), T), vec![]);
}

#[test]
fn t16_fails_a_late_contact_after_risk_grade_4() {
    let rule = T16SmiCadence::new(&params()).expect("T16");
    let at = datetime!(2024-06-01 0:00 UTC);
    let history = |next: &str| {
        smi_resident(
            "2023-01-01",
            &[
                ("2023-08-01", 0),
                ("2023-10-25", 0),
                ("2024-01-15", 0),
                ("2024-02-01", 4),
                ("2024-04-20", 0),
            ],
            vec![visit("call", "SMI-FU", "VR", next)],
        )
    };
    // The catalogue's example: grade 4 on 2024-02-01, next contact 2024-03-30.
    let f = rule.check(&resident(&history("2024-03-30")), at);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message
            .contains("risk grade 4, the next contact was 58 days later, on 2024-03-30")
            && f[0].message.contains("within 14 days"),
        "{}",
        f[0].message
    );
    // The follow-up's encounter and risk grade, then the late contact.
    assert_eq!(f[0].evidence, [8, 9, 12]);
    // A phone follow-up on day 14 is in time; on day 15 it is not.
    assert_eq!(rule.check(&resident(&history("2024-02-15")), at), vec![]);
    assert_eq!(rule.check(&resident(&history("2024-02-16")), at).len(), 1);
}

#[test]
fn t16_prorates_a_recent_enrolment_and_waits_for_open_intervals() {
    let rule = T16SmiCadence::new(&params()).expect("T16");
    // 77 days enrolled: no quarter complete yet.
    let new = smi_resident("2024-12-15", &[], vec![]);
    assert_eq!(rule.check(&resident(&new), T), vec![]);
    // 121 days: one follow-up due.
    let f = rule.check(&resident(&smi_resident("2024-11-01", &[], vec![])), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].message.contains("call for 1"), "{}", f[0].message);
    // Grade 3 ten days before T: the 14 days are still running; twenty days before, not.
    let recent = |day| smi_resident("2024-11-01", &[(day, 3)], vec![]);
    assert_eq!(rule.check(&resident(&recent("2025-02-19")), T), vec![]);
    let f = rule.check(&resident(&recent("2025-02-09")), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.contains("no contact has followed"),
        "{}",
        f[0].message
    );
}

fn notice() -> Value {
    task("n", "TB-NOTICE", "2024-04-01T09:00:00+08:00")
}

#[test]
fn t17_fails_a_first_home_visit_after_72_hours() {
    let rule = T17TbCaseManagement::new(&params()).expect("T17");
    let at = datetime!(2024-05-01 0:00 UTC);
    let with_visit = |class: &str, day: &str| {
        resident(&[
            patient("male", "1980-01-01"),
            notice(),
            visit("v", "TB-FU", class, day),
        ])
    };
    // The catalogue's example: notice 2024-04-01 09:00, first visit 2024-04-08.
    let f = rule.check(&with_visit("HH", "2024-04-08"), at);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].rule_id, &f[0].evidence[..]), ("QC-T17", &[1, 2][..]));
    assert!(
        f[0].message
            .contains("2024-04-08, more than 72 hours after the CDC notice"),
        "{}",
        f[0].message
    );
    // A visit recorded for the deadline's day is in time; the day after is not.
    assert_eq!(rule.check(&with_visit("HH", "2024-04-04"), at), vec![]);
    assert_eq!(rule.check(&with_visit("HH", "2024-04-05"), at).len(), 1);
    // A clinic visit is not a home visit.
    let f = rule.check(&with_visit("AMB", "2024-04-02"), at);
    assert!(
        f[0].message.contains("No TB home visit"),
        "{}",
        f[0].message
    );
    // No visit yet, within the 72 hours.
    let none = resident(&[patient("male", "1980-01-01"), notice()]);
    assert_eq!(rule.check(&none, datetime!(2024-04-03 0:00 UTC)), vec![]);
    assert_eq!(rule.check(&none, datetime!(2024-04-05 0:00 UTC)).len(), 1);
}

fn tb(end: Option<&str>, days: &[&str], extra: Vec<Value>) -> Vec<Value> {
    let mut r = vec![
        patient("male", "1980-01-01"),
        episode("tb", "TB", "2024-01-01", end),
    ];
    for (i, d) in days.iter().enumerate() {
        r.push(visit(&format!("v{i}"), "TB-FU", "HH", d));
    }
    r.extend(extra);
    r
}

#[test]
fn t17_fails_a_gap_over_10_days_in_the_intensive_phase() {
    let rule = T17TbCaseManagement::new(&params()).expect("T17");
    let at = datetime!(2024-02-01 0:00 UTC);
    let ok = tb(None, &["2024-01-02", "2024-01-12", "2024-01-22"], vec![]);
    assert_eq!(rule.check(&resident(&ok), at), vec![]);
    let gap = tb(None, &["2024-01-02", "2024-01-15", "2024-01-22"], vec![]);
    let f = rule.check(&resident(&gap), at);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message
            .contains("13 days apart; in the intensive phase"),
        "{}",
        f[0].message
    );
    assert_eq!(f[0].evidence, [1, 2, 3]);
    // Monthly in the continuation phase (from 2024-03-01); the gap after the last visit
    // counts once it passes 31 days.
    let long = tb(
        None,
        &[
            "2024-01-02",
            "2024-01-12",
            "2024-01-22",
            "2024-02-01",
            "2024-02-11",
            "2024-02-21",
            "2024-03-01",
            "2024-04-01",
        ],
        vec![],
    );
    assert_eq!(
        rule.check(&resident(&long), datetime!(2024-05-02 0:00 UTC)),
        vec![]
    );
    let f = rule.check(&resident(&long), datetime!(2024-05-03 0:00 UTC));
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message
            .contains("32 days after the follow-up on 2024-04-01"),
        "{}",
        f[0].message
    );
}

#[test]
fn t17_asks_an_ended_episode_for_its_closure_assessment() {
    let rule = T17TbCaseManagement::new(&params()).expect("T17");
    let days = ["2024-01-02", "2024-01-12", "2024-01-22"];
    let open = tb(Some("2024-02-01"), &days, vec![]);
    // Within the 14 days' grace, then past it.
    assert_eq!(
        rule.check(&resident(&open), datetime!(2024-02-15 0:00 UTC)),
        vec![]
    );
    let f = rule.check(&resident(&open), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.contains("without a case-closure assessment"),
        "{}",
        f[0].message
    );
    assert_eq!(f[0].evidence, [1]);
    let closed = tb(
        Some("2024-02-01"),
        &days,
        vec![assessment("close", "TB-CLOSURE", "2024-02-05")],
    );
    assert_eq!(rule.check(&resident(&closed), T), vec![]);
}
