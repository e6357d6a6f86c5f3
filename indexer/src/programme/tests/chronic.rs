use serde_json::json;
use time::macros::{date, datetime};

use super::*;
use crate::programme::{Class, Status};

const T: OffsetDateTime = datetime!(2025-03-01 0:00 UTC);

/// A 68-year-old man with HTN since 2020: quarterly slots from the enrolment, one quarter
/// without a follow-up, an uncontrolled follow-up revisited in time and one not.
fn htn_records() -> Vec<Value> {
    vec![
        patient("male", "1956-03-10"),                       // 0
        condition("c", "I10", "2020-01-15"),                 // 1
        episode("ep", "HTN", "2020-02-01", None),            // 2
        visit("v1", "HTN-FU", "2024-03-15T09:00:00Z"),       // 3
        bp("b1", "v1", "2024-03-15T09:10:00Z", 132, 82),     // 4
        visit("v2", "HTN-FU", "2024-06-10T09:00:00Z"),       // 5
        bp("b2", "v2", "2024-06-10T09:10:00Z", 150, 95),     // 6
        visit("v3", "HTN-FU", "2024-06-20T09:00:00Z"),       // 7
        bp("b3", "v3", "2024-06-20T09:10:00Z", 134, 84),     // 8
        visit("v4", "HTN-FU", "2024-12-01T09:00:00Z"),       // 9
        bp("b4", "v4", "2024-12-01T09:10:00Z", 145, 85),     // 10
        visit("hc", "HEALTH-CHECK", "2024-09-01T09:00:00Z"), // 11
        obs(
            "sc",
            "SELF-CARE",
            "2024-09-01T09:30:00Z",
            Some("hc"),
            json!({"valueInteger": 0}),
        ), // 12
        // A phone call is not a valid follow-up.
        visit_class("ph", "HTN-FU", "2024-09-15T09:00:00Z", "VR"), // 13
        bp("b5", "ph", "2024-09-15T09:10:00Z", 130, 80),           // 14
    ]
}

#[test]
fn htn_quarterly_follow_ups_are_met_overdue_due_and_upcoming() {
    let states = evaluate(&htn_records(), T);
    let htn = of(&states, Programme::Htn);
    assert_eq!(htn.status, Status::Active);
    let e = htn.enrolment.as_ref().expect("enrolment");
    assert_eq!(
        (e.leaf, e.since, e.until),
        (2, Some(date!(2020 - 02 - 01)), None)
    );
    let fu: Vec<_> = htn
        .obligations
        .iter()
        .filter(|o| o.class == Class::FollowUp)
        .map(|o| (o.from, o.to, short(o)))
        .collect();
    assert_eq!(
        fu,
        vec![
            (
                date!(2024 - 02 - 01),
                date!(2024 - 04 - 30),
                ("met", Some(3))
            ),
            (
                date!(2024 - 05 - 01),
                date!(2024 - 07 - 31),
                ("met", Some(5))
            ),
            (
                date!(2024 - 08 - 01),
                date!(2024 - 10 - 31),
                ("overdue", None)
            ),
            (
                date!(2024 - 11 - 01),
                date!(2025 - 01 - 31),
                ("met", Some(9))
            ),
            (date!(2025 - 02 - 01), date!(2025 - 04 - 30), ("due", None)),
            (
                date!(2025 - 05 - 01),
                date!(2025 - 07 - 31),
                ("upcoming", None)
            ),
        ]
    );
    // The follow-up's evidence is the visit and its BP panel; the basis is the episode.
    let first = find(htn, "HTN follow-up", date!(2024 - 02 - 01));
    assert_eq!(
        first.state,
        State::Met {
            on: date!(2024 - 03 - 15),
            evidence: vec![3, 4],
            late: false
        }
    );
    assert_eq!(first.basis, vec![2]);
    let next = htn.next_due().expect("next due");
    assert_eq!(
        (next.kind.as_str(), next.to),
        ("HTN follow-up", date!(2025 - 04 - 30))
    );
}

#[test]
fn htn_uncontrolled_follow_up_needs_a_revisit_within_two_weeks() {
    let states = evaluate(&htn_records(), T);
    let htn = of(&states, Programme::Htn);
    let revisits: Vec<_> = htn
        .obligations
        .iter()
        .filter(|o| o.class == Class::Revisit)
        .collect();
    assert_eq!(revisits.len(), 2, "{revisits:#?}");
    let june = find(htn, "HTN revisit", date!(2024 - 06 - 10));
    assert_eq!(
        (june.to, short(june)),
        (date!(2024 - 06 - 24), ("met", Some(7)))
    );
    assert!(june.kind.contains("BP 150/95"), "{}", june.kind);
    assert_eq!(june.basis, vec![5, 6]);
    let dec = find(htn, "HTN revisit", date!(2024 - 12 - 01));
    assert_eq!(short(dec), ("overdue", None));
    // A referral written at the visit meets it.
    let mut records = htn_records();
    records.push(request(
        "r",
        "ServiceRequest",
        "REFERRAL",
        "2024-12-01",
        Some("v4"),
    ));
    let states = evaluate(&records, T);
    let dec = find(
        of(&states, Programme::Htn),
        "HTN revisit",
        date!(2024 - 12 - 01),
    );
    assert_eq!(short(dec), ("met", Some(15)));
}

#[test]
fn one_annual_health_check_serves_htn_and_the_elderly() {
    let states = evaluate(&htn_records(), T);
    let htn = of(&states, Programme::Htn);
    let elder = of(&states, Programme::Elder);
    assert_eq!(elder.status, Status::EligibleNotEnrolled);
    let checks = |s: &ProgrammeState| -> Vec<_> {
        s.obligations
            .iter()
            .filter(|o| o.class == Class::HealthCheck)
            .map(|o| (o.from, short(o)))
            .collect()
    };
    // Anchored at the HTN enrolment, which came before the 65th birthday.
    let want = vec![
        (date!(2024 - 02 - 01), ("met", Some(11))),
        (date!(2025 - 02 - 01), ("due", None)),
        (date!(2026 - 02 - 01), ("upcoming", None)),
    ];
    assert_eq!(checks(htn), want);
    assert_eq!(checks(elder), want);
    // Its basis is the enrolment that asks for it (the elderly programme has none).
    let hc = find(htn, "annual health check", date!(2024 - 02 - 01));
    assert_eq!(hc.basis, vec![2]);
    // The elderly's own services run from the 65th birthday (2021-03-10).
    let sc = find(elder, "annual self-care", date!(2024 - 03 - 10));
    assert_eq!(short(sc), ("met", Some(12)));
    let tcm = find(elder, "annual TCM", date!(2024 - 03 - 10));
    assert_eq!((tcm.to, short(tcm)), (date!(2025 - 03 - 09), ("due", None)));
    assert_eq!(
        short(find(elder, "annual TCM", date!(2023 - 03 - 10))),
        ("overdue", None)
    );
}

#[test]
fn t2d_diagnosis_without_enrolment_makes_enrolment_due_then_overdue() {
    let records = |recorded: &str| {
        vec![
            patient("female", "1975-01-01"),
            condition("c", "E11.9", recorded),
        ]
    };
    let states = evaluate(&records("2025-02-20"), T);
    let t2d = of(&states, Programme::T2d);
    assert_eq!(
        (t2d.status, t2d.enrolment.clone()),
        (Status::EligibleNotEnrolled, None)
    );
    let enrol = find(t2d, "T2D enrolment", date!(2025 - 02 - 20));
    assert_eq!(
        (enrol.to, short(enrol), enrol.basis.clone()),
        (date!(2025 - 03 - 22), ("due", None), vec![1])
    );
    let states = evaluate(&records("2025-01-10"), T);
    let enrol = find(
        of(&states, Programme::T2d),
        "T2D enrolment",
        date!(2025 - 01 - 10),
    );
    assert_eq!(short(enrol), ("overdue", None));
    // Diagnosed at 30: not in the programme (age ≥35 at the diagnosis).
    let young = [
        patient("female", "1995-01-01"),
        condition("c", "E11.9", "2025-01-10"),
    ];
    assert!(
        evaluate(&young, T)
            .iter()
            .all(|s| s.programme != Programme::T2d)
    );
}

#[test]
fn t2d_uncontrolled_glucose_and_smi_risk_call_for_revisits() {
    let records = vec![
        patient("female", "1960-01-01"),                 // 0
        condition("c", "E11.9", "2023-01-10"),           // 1
        episode("ep", "T2D", "2023-01-15", None),        // 2
        visit("v1", "T2D-FU", "2025-02-25T09:00:00Z"),   // 3
        bp("b1", "v1", "2025-02-25T09:05:00Z", 130, 80), // 4
        obs(
            "g1",
            "14771-0",
            "2025-02-25T09:05:00Z",
            Some("v1"),
            json!({"valueQuantity": {"value": 8.1, "code": "mmol/L"}}),
        ), // 5
        condition("s", "F20.0", "2022-01-01"),           // 6
        episode("es", "SMI", "2022-01-05", None),        // 7
        visit("v2", "SMI-FU", "2025-01-10T09:00:00Z"),   // 8
        obs(
            "r2",
            "SMI-RISK",
            "2025-01-10T09:05:00Z",
            Some("v2"),
            json!({"valueInteger": 2}),
        ), // 9
    ];
    let states = evaluate(&records, T);
    let t2d = of(&states, Programme::T2d);
    let r = find(t2d, "T2D revisit", date!(2025 - 02 - 25));
    assert!(r.kind.contains("fasting glucose 8.1"), "{}", r.kind);
    assert_eq!((r.to, short(r)), (date!(2025 - 03 - 11), ("due", None)));
    let smi = of(&states, Programme::Smi);
    let r = find(smi, "SMI follow-up after", date!(2025 - 01 - 10));
    assert_eq!(short(r), ("overdue", None));
    assert_eq!(
        short(find(smi, "SMI follow-up", date!(2025 - 01 - 05))),
        ("met", Some(8))
    );
}

#[test]
fn death_ends_the_programmes_and_nothing_falls_due_after_it() {
    let mut records = htn_records();
    records[0]["deceasedDateTime"] = json!("2024-12-10");
    let states = evaluate(&records, T);
    let htn = of(&states, Programme::Htn);
    assert_eq!(htn.status, Status::Ended);
    assert_eq!(
        htn.enrolment.as_ref().and_then(|e| e.until),
        Some(date!(2024 - 12 - 10))
    );
    assert!(
        htn.obligations
            .iter()
            .all(|o| o.from <= date!(2024 - 12 - 10))
    );
    let last = htn
        .obligations
        .iter()
        .rfind(|o| o.class == Class::FollowUp)
        .expect("slots");
    assert_eq!(
        (last.from, last.to),
        (date!(2024 - 11 - 01), date!(2024 - 12 - 10))
    );
    assert!(htn.next_due().is_none());
    // Not eligible for anything new: no ELDER listing for a resident who died.
    assert!(states.iter().all(|s| s.programme != Programme::Elder));
}

#[test]
fn an_ended_episode_is_listed_for_a_year_then_dropped() {
    let records = vec![
        patient("male", "1980-01-01"),
        episode("ep", "SMI", "2023-01-01", Some("2024-06-30")),
    ];
    let states = evaluate(&records, T);
    let smi = of(&states, Programme::Smi);
    assert_eq!(smi.status, Status::Ended);
    assert!(smi.next_due().is_none());
    assert_eq!(
        smi.obligations.last().map(|o| (o.from, o.to)),
        Some((date!(2024 - 04 - 01), date!(2024 - 06 - 30)))
    );
    let later = evaluate(&records, datetime!(2025-08-01 0:00 UTC));
    assert!(later.iter().all(|s| s.programme != Programme::Smi));
}
