use serde_json::json;
use time::macros::{date, datetime};

use super::*;
use crate::programme::{Class, Status};

fn lmp(id: &str, recorded: &str, value: &str) -> Value {
    obs(
        id,
        "8665-2",
        recorded,
        None,
        json!({"valueDateTime": value}),
    )
}

/// LMP 2024-08-01, booked 2024-09-15.
fn pregnancy() -> Vec<Value> {
    vec![
        patient("female", "1995-05-05"),                  // 0
        episode("ep", "PREG", "2024-09-15", None),        // 1
        lmp("lmp", "2024-09-15T09:00:00Z", "2024-08-01"), // 2
        visit("a1", "ANC-1", "2024-09-15T09:00:00Z"),     // 3
        visit("a2", "ANC-2", "2024-12-01T09:00:00Z"),     // 4
    ]
}

#[test]
fn antenatal_windows_run_in_gestational_weeks_from_the_lmp() {
    // T at 30 weeks.
    let states = evaluate(&pregnancy(), datetime!(2025-03-01 0:00 UTC));
    let p = of(&states, Programme::Preg);
    assert_eq!(p.status, Status::Active);
    let anc: Vec<_> = p
        .obligations
        .iter()
        .map(|o| (o.class, o.from, o.to, short(o)))
        .collect();
    assert_eq!(
        anc,
        vec![
            (
                Class::Antenatal,
                date!(2024 - 08 - 01),
                date!(2024 - 10 - 30),
                ("met", Some(3))
            ),
            (
                Class::Antenatal,
                date!(2024 - 11 - 21),
                date!(2024 - 12 - 25),
                ("met", Some(4))
            ),
            (
                Class::Antenatal,
                date!(2024 - 12 - 26),
                date!(2025 - 01 - 22),
                ("overdue", None)
            ),
            (
                Class::Antenatal,
                date!(2025 - 02 - 13),
                date!(2025 - 04 - 16),
                ("due", None)
            ),
            (
                Class::Antenatal,
                date!(2025 - 04 - 17),
                date!(2025 - 05 - 14),
                ("upcoming", None)
            ),
        ]
    );
    assert_eq!(p.obligations[0].basis, vec![1, 2]);
    assert_eq!(p.next_due().map(|o| o.from), Some(date!(2025 - 02 - 13)));
}

#[test]
fn after_delivery_come_the_postnatal_visits_and_a_late_booking_counts_late() {
    let mut records = pregnancy();
    // Booked at 14 weeks instead: the first visit is met late.
    records[3] = visit("a1", "ANC-1", "2024-11-07T09:00:00Z");
    records.push(
        json!({"resourceType": "Procedure", "id": "del", "status": "completed",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "236973005"}]},
        "performedDateTime": "2025-04-20T03:00:00Z"}),
    ); // 5
    records.push(visit("pnc", "PNC-HOME", "2025-04-25T09:00:00Z")); // 6
    let states = evaluate(&records, datetime!(2025-06-01 0:00 UTC));
    let p = of(&states, Programme::Preg);
    let first = find(p, "first antenatal visit", date!(2024 - 08 - 01));
    assert_eq!(short(first), ("late", Some(3)));
    // The 37-40 week window opened before the delivery, so it was due.
    assert_eq!(
        short(find(p, "antenatal visit at 37-40", date!(2025 - 04 - 17))),
        ("overdue", None)
    );
    let home = find(p, "postpartum home visit", date!(2025 - 04 - 20));
    assert_eq!(
        (home.to, short(home)),
        (date!(2025 - 04 - 27), ("met", Some(6)))
    );
    assert!(home.basis.contains(&5));
    let d42 = find(p, "42-day postpartum check", date!(2025 - 06 - 01));
    assert_eq!((d42.to, short(d42)), (date!(2025 - 06 - 15), ("due", None)));
    // A delivery at 22 weeks: the later windows are not due.
    let mut early = pregnancy();
    early.push(
        json!({"resourceType": "Procedure", "id": "del", "status": "completed",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "236973005"}]},
        "performedDateTime": "2025-01-02"}),
    );
    let states = evaluate(&early, datetime!(2025-03-01 0:00 UTC));
    let p = of(&states, Programme::Preg);
    assert!(
        p.obligations
            .iter()
            .all(|o| o.from <= date!(2025 - 01 - 02) || o.class == Class::Postnatal)
    );
}

#[test]
fn a_pregnancy_without_an_episode_is_eligible_and_a_man_never_is() {
    let records = vec![
        patient("female", "1995-05-05"),
        obs(
            "edd",
            "11778-8",
            "2024-10-01T09:00:00Z",
            None,
            json!({"valueDateTime": "2025-05-08"}),
        ),
    ];
    let states = evaluate(&records, datetime!(2025-03-01 0:00 UTC));
    let p = of(&states, Programme::Preg);
    assert_eq!(p.status, Status::EligibleNotEnrolled);
    // EDD − 280 d = 2024-08-01, as with the LMP above.
    assert_eq!(p.obligations[0].from, date!(2024 - 08 - 01));
    let mut male = records.clone();
    male[0] = patient("male", "1995-05-05");
    assert!(evaluate(&male, datetime!(2025-03-01 0:00 UTC)).is_empty());
    // An old pregnancy (start more than 45 weeks ago) is not a current one.
    assert!(evaluate(&records, datetime!(2026-03-01 0:00 UTC)).is_empty());
}
