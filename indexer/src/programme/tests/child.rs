use serde_json::json;
use time::macros::{date, datetime};

use super::*;
use crate::programme::{Class, Status};

const T: OffsetDateTime = datetime!(2025-03-01 0:00 UTC);

/// A child born 2024-01-15 (13 months at T).
fn child_records() -> Vec<Value> {
    vec![
        patient("female", "2024-01-15"),                 // 0
        episode("ep", "CHILD", "2024-01-20", None),      // 1
        visit("nb", "CHILD-NB", "2024-01-25T10:00:00Z"), // 2
        visit("m1", "CHILD-HC", "2024-02-20T10:00:00Z"), // 3
        visit("m3", "CHILD-HC", "2024-04-15T10:00:00Z"), // 4
        // 7 months: inside both the 6- and the 8-month windows; it meets the first only.
        visit("m7", "CHILD-HC", "2024-08-15T10:00:00Z"), // 5
        obs(
            "hb",
            "718-7",
            "2024-08-15T10:30:00Z",
            Some("m7"),
            json!({"valueQuantity": {"value": 118, "code": "g/L"}}),
        ), // 6
        visit("m12", "CHILD-HC", "2025-01-10T10:00:00Z"), // 7
        obs(
            "hs",
            "HEARING-SCREEN",
            "2025-01-10T10:30:00Z",
            Some("m12"),
            json!({"valueCodeableConcept": {"coding": [{"code": "pass"}]}}),
        ), // 8
        dose("hb1", "HepB", 1, "2024-01-15T08:00:00Z"),  // 9
        dose("hb2", "hepb", 2, "2024-02-20T10:00:00Z"),  // 10
        dose("bcg", "BCG", 1, "2024-01-16T08:00:00Z"),   // 11
        // DTaP 1 given two weeks early: still the dose (QC-T10 judges its validity).
        dose("d1", "DTaP", 1, "2024-03-30T10:00:00Z"), // 12
        json!({"resourceType": "Immunization", "id": "mmr", "status": "not-done",
               "statusReason": {"coding": [{"code": "MEDPREC"}]},
               "occurrenceDateTime": "2024-09-20",
               "protocolApplied": [{"series": "MMR", "doseNumberPositiveInt": 1}]}), // 13
    ]
}

#[test]
fn child_checks_are_matched_one_visit_each_inside_their_windows() {
    let states = evaluate(&child_records(), T);
    let c = of(&states, Programme::Child);
    assert_eq!(c.status, Status::Active);
    let checks: Vec<_> = c
        .obligations
        .iter()
        .filter(|o| o.class == Class::ChildCheck)
        .map(|o| (o.kind.as_str(), short(o)))
        .collect();
    assert_eq!(
        checks[..8],
        [
            ("newborn home visit", ("met", Some(2))),
            ("1-month child check", ("met", Some(3))),
            ("3-month child check", ("met", Some(4))),
            ("6-month child check", ("met", Some(5))),
            ("8-month child check", ("overdue", None)),
            ("12-month child check", ("met", Some(7))),
            ("18-month child check", ("upcoming", None)),
            ("24-month child check", ("upcoming", None)),
        ]
    );
    assert_eq!(checks.len(), 13);
    let m3 = find(c, "3-month child check", date!(2024 - 03 - 15));
    assert_eq!(m3.to, date!(2024 - 05 - 15));
    assert_eq!(
        short(find(c, "Hb test at 6-8", date!(2024 - 07 - 15))),
        ("met", Some(6))
    );
    assert_eq!(
        short(find(c, "hearing screen at 6", date!(2024 - 06 - 15))),
        ("overdue", None)
    );
    assert_eq!(
        short(find(c, "hearing screen at 12", date!(2024 - 12 - 15))),
        ("met", Some(8))
    );
    let next = c.next_due().expect("next");
    assert_eq!(
        (next.kind.as_str(), next.from),
        ("18-month child check", date!(2025 - 06 - 15))
    );
}

#[test]
fn a_child_without_enrolment_is_eligible_and_a_seven_year_old_is_not() {
    let states = evaluate(&[patient("male", "2024-06-01")], T);
    let c = of(&states, Programme::Child);
    assert_eq!(
        (c.status, c.enrolment.clone()),
        (Status::EligibleNotEnrolled, None)
    );
    let imm = of(&states, Programme::Imm);
    assert_eq!(imm.status, Status::EligibleNotEnrolled);
    assert_eq!(
        short(find(imm, "HepB dose 1", date!(2024 - 06 - 01))),
        ("overdue", None)
    );
    let old = evaluate(&[patient("male", "2017-01-01")], T);
    assert!(old.is_empty(), "{old:#?}");
}

#[test]
fn vaccine_doses_follow_the_schedule_by_series_and_dose_number() {
    let states = evaluate(&child_records(), T);
    let imm = of(&states, Programme::Imm);
    assert_eq!(imm.status, Status::Active);
    // The archive starts with the first dose.
    let e = imm.enrolment.as_ref().expect("enrolment");
    assert_eq!((e.leaf, e.since), (9, Some(date!(2024 - 01 - 15))));
    let state = |kind: &str| {
        short(
            imm.obligations
                .iter()
                .find(|o| o.kind == kind)
                .unwrap_or_else(|| panic!("{kind}")),
        )
    };
    assert_eq!(state("HepB dose 1"), ("met", Some(9)));
    // The series name is matched case-insensitively.
    assert_eq!(state("HepB dose 2"), ("met", Some(10)));
    assert_eq!(state("HepB dose 3"), ("overdue", None));
    assert_eq!(state("BCG dose 1"), ("met", Some(11)));
    assert_eq!(state("DTaP dose 1"), ("met", Some(12)));
    assert_eq!(state("DTaP dose 2"), ("overdue", None));
    assert_eq!(state("MMR dose 1"), ("waived", Some(13)));
    assert_eq!(state("DTaP dose 4"), ("upcoming", None));
    assert_eq!(state("MPSV-A dose 1"), ("due", None));
    let d4 = imm
        .obligations
        .iter()
        .find(|o| o.kind == "DTaP dose 4")
        .expect("d4");
    assert_eq!(
        (d4.from, d4.to),
        (date!(2025 - 07 - 15), date!(2026 - 01 - 15))
    );
    assert!(imm.obligations.iter().all(|o| o.class == Class::Dose));
    assert_eq!(
        imm.next_due().map(|o| o.kind.as_str()),
        Some("MPSV-A dose 1")
    );
}

#[test]
fn cvx_doses_meet_the_schedule_by_their_national_series() {
    let cvx = |id: &str, code: &str, day: &str| {
        json!({"resourceType": "Immunization", "id": id, "status": "completed",
               "vaccineCode": {"coding": [{"system": "http://hl7.org/fhir/sid/cvx", "code": code}]},
               "occurrenceDateTime": day, "patient": {"reference": "Patient/p"}})
    };
    // Born 2022-08-25: IPV at 3, 5 and 8 months, Hep A (inactivated) at 19 months.
    let states = evaluate(
        &[
            patient("male", "2022-08-25"), // 0
            cvx("p1", "10", "2022-12-01"), // 1
            cvx("p2", "10", "2023-02-09"), // 2
            cvx("p3", "10", "2023-04-20"), // 3
            cvx("ha", "83", "2024-03-26"), // 4
        ],
        T,
    );
    let imm = of(&states, Programme::Imm);
    let state = |kind: &str| {
        short(
            imm.obligations
                .iter()
                .find(|o| o.kind == kind)
                .unwrap_or_else(|| panic!("{kind}")),
        )
    };
    // Polio numbered across IPV and bOPV: the third polio dose meets bOPV dose 3.
    assert_eq!(state("IPV dose 1"), ("met", Some(1)));
    assert_eq!(state("IPV dose 2"), ("met", Some(2)));
    assert_eq!(state("bOPV dose 3"), ("met", Some(3)));
    assert_eq!(state("HepA-L dose 1"), ("met", Some(4)));
    assert_eq!(state("MMR dose 1"), ("overdue", None));
    let bad = crate::qc::DEFAULT_PARAMS.replacen("or = [\"Polio-1\"]", "or = [\"Polio\"]", 1);
    let bad = Params::parse(&bad).expect("other sections parse");
    assert!(Schedules::new(&bad).is_err());
}
