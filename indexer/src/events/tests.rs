use serde_json::{Value, json};
use time::macros::{date, datetime};

use super::*;
use crate::programme::tests::{bp, condition, dose, episode, obs, patient, request, visit};
use crate::qc::Severity;
use crate::testutil::resident;

const T: OffsetDateTime = datetime!(2025-03-01 0:00 UTC);

fn rules() -> EventRules {
    EventRules::new(&Params::shipped().expect("params")).expect("event params")
}

fn derive(records: &[Value], findings: &[Finding]) -> Vec<Event> {
    let params = Params::shipped().expect("params");
    let tree = resident(records);
    rules().derive(&ResidentView::new(&tree, &params), findings, T)
}

fn kinds(events: &[Event]) -> Vec<(EventKind, Date)> {
    events.iter().map(|e| (e.kind, e.due)).collect()
}

/// HTN since 2020: the quarter Nov–Jan passed without a valid follow-up.
fn htn() -> Vec<Value> {
    vec![
        patient("male", "1970-01-01"),                       // 0
        condition("c", "I10", "2020-01-15"),                 // 1
        episode("ep", "HTN", "2020-02-01", None),            // 2
        visit("v1", "HTN-FU", "2024-10-10T09:00:00Z"),       // 3
        bp("b1", "v1", "2024-10-10T09:10:00Z", 132, 82),     // 4
        visit("hc", "HEALTH-CHECK", "2024-09-01T09:00:00Z"), // 5
    ]
}

#[test]
fn overdue_follow_ups_doses_and_findings_become_events() {
    let f = Finding {
        rule_id: "QC-T07",
        severity: Severity::E,
        resident: "00".into(),
        evidence: vec![3],
        at: T,
        message: "Referral of 2025-01-02 was not followed up within 14 days.".into(),
    };
    let other = Finding {
        rule_id: "QC-F04",
        ..f.clone()
    };
    let events = derive(&htn(), &[f, other]);
    assert_eq!(
        kinds(&events),
        vec![
            (EventKind::FollowUpOverdue, date!(2025 - 01 - 31)),
            (EventKind::Finding("QC-T07"), date!(2025 - 03 - 01)),
        ],
        "{events:#?}"
    );
    let e = &events[0];
    assert_eq!(
        (e.programme, e.evidence.clone()),
        (Some(Programme::Htn), vec![2])
    );
    assert_eq!(
        e.message,
        "HTN: the HTN follow-up due 2024-11-01 to 2025-01-31 was not done."
    );
    assert_eq!(e.resident, "00");
    // A quarter missed long ago is history, not an event.
    let mut old = htn();
    old.push(visit("v2", "HTN-FU", "2025-01-10T09:00:00Z"));
    old.push(bp("b2", "v2", "2025-01-10T09:10:00Z", 130, 80));
    assert!(derive(&old, &[]).is_empty());
    // A child: doses due and overdue.
    let child = [
        patient("female", "2024-09-01"),
        dose("h1", "HepB", 1, "2024-09-01T08:00:00Z"),
    ];
    let events = derive(&child, &[]);
    let doses: Vec<_> = events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::DoseDue | EventKind::DoseOverdue))
        .map(|e| (e.kind, e.message.as_str()))
        .collect();
    assert!(
        doses.contains(&(
            EventKind::DoseOverdue,
            "BCG dose 1 is overdue: it was to be given by 2024-12-01."
        )),
        "{doses:#?}"
    );
    assert!(
        doses.contains(&(
            EventKind::DoseDue,
            "DTaP dose 1 is due, to be given by 2025-09-01."
        )),
        "{doses:#?}"
    );
    assert!(!doses.iter().any(|(_, m)| m.starts_with("HepB dose 1")));
}

#[test]
fn a_danger_sign_without_referral_must_be_referred_within_two_weeks() {
    let mut records = htn();
    records.push(visit("v3", "HTN-FU", "2025-02-20T09:00:00Z")); // 6
    records.push(bp("b3", "v3", "2025-02-20T09:10:00Z", 186, 100)); // 7
    let events = derive(&records, &[]);
    let danger: Vec<_> = events
        .iter()
        .filter(|e| e.kind == EventKind::DangerSignReferral)
        .collect();
    assert_eq!(danger.len(), 1, "{events:#?}");
    assert_eq!(
        (danger[0].due, danger[0].evidence.clone()),
        (date!(2025 - 03 - 06), vec![6, 7])
    );
    assert_eq!(
        danger[0].message,
        "BP 186/100 mm[Hg] at the visit of 2025-02-20 with no referral: refer and follow up by 2025-03-06."
    );
    // A referral at the visit, or a "referral" classification, answers it.
    let mut referred = records.clone();
    referred.push(request(
        "r",
        "ServiceRequest",
        "REFERRAL",
        "2025-02-20",
        Some("v3"),
    ));
    assert!(
        derive(&referred, &[])
            .iter()
            .all(|e| e.kind != EventKind::DangerSignReferral)
    );
    let mut classified = records.clone();
    classified.push(obs(
        "cl",
        "HTN-CLASS",
        "2025-02-20T09:15:00Z",
        Some("v3"),
        json!({"valueCodeableConcept": {"coding": [{"code": "referral"}]}}),
    ));
    assert!(
        derive(&classified, &[])
            .iter()
            .all(|e| e.kind != EventKind::DangerSignReferral)
    );
    // Low glucose at any visit is a danger sign too; one from last year is not an event now.
    let glucose = |day: &str| {
        vec![
            patient("female", "1960-01-01"),
            visit("g", "T2D-FU", &format!("{day}T09:00:00Z")),
            obs(
                "fbg",
                "14771-0",
                &format!("{day}T09:10:00Z"),
                Some("g"),
                json!({"valueQuantity": {"value": 3.2, "code": "mmol/L"}}),
            ),
        ]
    };
    let low = derive(&glucose("2025-02-25"), &[]);
    assert!(
        low.iter().any(|e| e.kind == EventKind::DangerSignReferral
            && e.message.starts_with("glucose 3.2 mmol/L")),
        "{low:#?}"
    );
    assert!(
        derive(&glucose("2024-02-25"), &[])
            .iter()
            .all(|e| e.kind != EventKind::DangerSignReferral)
    );
}

#[test]
fn the_bus_publishes_only_events_new_since_the_last_evaluation() {
    let mut bus = EventBus::new();
    let rx = bus.subscribe();
    let gone = bus.subscribe();
    drop(gone);
    let first = derive(&htn(), &[]);
    assert_eq!(first.len(), 1);
    assert_eq!(bus.publish("00", first.clone()), first);
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), first);
    // The same evaluation again: nothing new.
    assert!(bus.publish("00", derive(&htn(), &[])).is_empty());
    assert!(rx.try_recv().is_err());
    assert_eq!(bus.list("00"), &first[..]);
    // A new danger sign: only it is published.
    let mut records = htn();
    records.push(visit("v3", "HTN-FU", "2025-02-20T09:00:00Z"));
    records.push(bp("b3", "v3", "2025-02-20T09:10:00Z", 182, 96));
    let second = derive(&records, &[]);
    let new = bus.publish("00", second.clone());
    assert_eq!(
        new.iter().map(|e| e.kind).collect::<Vec<_>>(),
        vec![EventKind::DangerSignReferral]
    );
    assert_eq!(rx.try_iter().collect::<Vec<_>>(), new);
    assert_eq!(bus.list("00"), &second[..]);
    assert_eq!(bus.residents().collect::<Vec<_>>(), vec!["00"]);
    // Resolved: the resident has no events, and none is published.
    assert!(bus.publish("00", Vec::new()).is_empty());
    assert!(bus.list("00").is_empty() && bus.residents().next().is_none());
    assert_eq!(bus.subscribers.len(), 1);
}

#[test]
fn events_are_the_same_for_the_same_tree_instant_and_parameters() {
    let mut records = htn();
    records.push(visit("v3", "HTN-FU", "2025-02-20T09:00:00Z"));
    records.push(bp("b3", "v3", "2025-02-20T09:10:00Z", 182, 96));
    assert_eq!(derive(&records, &[]), derive(&records, &[]));
    let bad =
        crate::qc::DEFAULT_PARAMS.replacen("overdue_within = \"3m\"", "overdue_within = 3", 1);
    let bad = Params::parse(&bad).expect("other sections parse");
    assert!(EventRules::new(&bad).is_err());
}
