use time::macros::{date, datetime};

use super::*;
use crate::programme::{Class, Status};

/// CDC notice 2024-11-01 09:00, treatment from 2024-11-02.
fn tb_records() -> Vec<Value> {
    vec![
        patient("male", "1970-01-01"),                                   // 0
        condition("c", "A15.0", "2024-10-30"),                           // 1
        request("n", "Task", "TB-NOTICE", "2024-11-01T09:00:00Z", None), // 2
        episode("ep", "TB", "2024-11-02", None),                         // 3
        visit_class("h1", "TB-FU", "2024-11-03T10:00:00Z", "HH"),        // 4
        visit_class("h2", "TB-FU", "2024-11-13T10:00:00Z", "HH"),        // 5
        visit_class("h3", "TB-FU", "2024-11-25T10:00:00Z", "AMB"),       // 6
        // A phone call is not a supervision visit.
        visit_class("h4", "TB-FU", "2024-12-05T10:00:00Z", "VR"), // 7
    ]
}

#[test]
fn tb_first_visit_and_intensive_phase_visits_every_ten_days() {
    let states = evaluate(&tb_records(), datetime!(2024-12-15 0:00 UTC));
    let tb = of(&states, Programme::Tb);
    assert_eq!(tb.status, Status::Active);
    let first = find(tb, "TB first home visit", date!(2024 - 11 - 01));
    assert_eq!(
        (first.to, short(first), first.basis.clone()),
        (date!(2024 - 11 - 04), ("met", Some(4)), vec![2])
    );
    let visits: Vec<_> = tb
        .obligations
        .iter()
        .filter(|o| o.kind == "TB intensive-phase visit")
        .map(|o| (o.from, o.to, short(o)))
        .collect();
    assert_eq!(
        visits,
        vec![
            (
                date!(2024 - 11 - 02),
                date!(2024 - 11 - 11),
                ("met", Some(4))
            ),
            (
                date!(2024 - 11 - 12),
                date!(2024 - 11 - 21),
                ("met", Some(5))
            ),
            (
                date!(2024 - 11 - 22),
                date!(2024 - 12 - 01),
                ("met", Some(6))
            ),
            (
                date!(2024 - 12 - 02),
                date!(2024 - 12 - 11),
                ("overdue", None)
            ),
            (date!(2024 - 12 - 12), date!(2024 - 12 - 21), ("due", None)),
            (
                date!(2024 - 12 - 22),
                date!(2024 - 12 - 31),
                ("upcoming", None)
            ),
        ]
    );
    // The continuation phase starts after 60 days; the closure follows the course.
    let cont = find(tb, "TB continuation-phase visit", date!(2025 - 01 - 01));
    assert_eq!(
        (cont.to, short(cont)),
        (date!(2025 - 01 - 31), ("upcoming", None))
    );
    let closure = find(tb, "TB case closure", date!(2025 - 05 - 01));
    assert_eq!(
        (closure.class, short(closure)),
        (Class::TbClosure, ("upcoming", None))
    );
}

#[test]
fn tb_late_first_visit_counts_late_and_a_notice_alone_makes_enrolment_due() {
    let mut records = tb_records();
    records.truncate(4);
    records.push(visit_class("h1", "TB-FU", "2024-11-08T10:00:00Z", "HH"));
    let states = evaluate(&records, datetime!(2024-12-15 0:00 UTC));
    let first = find(
        of(&states, Programme::Tb),
        "TB first home visit",
        date!(2024 - 11 - 01),
    );
    assert_eq!(short(first), ("late", Some(4)));
    let notice_only = [
        patient("male", "1970-01-01"),
        request("n", "Task", "TB-NOTICE", "2024-11-01T09:00:00Z", None),
    ];
    let states = evaluate(&notice_only, datetime!(2024-12-15 0:00 UTC));
    let tb = of(&states, Programme::Tb);
    assert_eq!(tb.status, Status::EligibleNotEnrolled);
    let enrol = find(tb, "TB enrolment", date!(2024 - 11 - 01));
    assert_eq!(
        (enrol.to, short(enrol)),
        (date!(2024 - 12 - 01), ("overdue", None))
    );
    assert_eq!(
        short(find(tb, "TB first home visit", date!(2024 - 11 - 01))),
        ("overdue", None)
    );
}
