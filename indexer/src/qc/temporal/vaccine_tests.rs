use serde_json::Value;
use time::macros::datetime;

use super::*;
use crate::qc::temporal::testkit::*;
use crate::testutil::{Check, resident};

const T: OffsetDateTime = datetime!(2025-03-01 0:00 UTC);

fn t11() -> T11DoseInterval {
    T11DoseInterval::new(&params()).expect("T11")
}

fn t12() -> T12VaccineOverdue {
    T12VaccineOverdue::new(&params()).expect("T12")
}

fn child(birth: &str, doses: Vec<Value>) -> Vec<Value> {
    std::iter::once(patient("female", birth))
        .chain(doses)
        .collect()
}

#[test]
fn t11_passes_a_schedule_kept_and_fails_a_short_dtap_interval() {
    let rule = t11();
    let ok = child(
        "2023-12-31",
        vec![
            dose("h1", "HepB", 1, "2024-01-01"),
            // Exactly the 28-day minimum.
            dose("h2", "HepB", 2, "2024-01-29"),
            dose("h3", "HepB", 3, "2024-03-29"),
            dose("d1", "DTaP", 1, "2024-04-01"),
            dose("d2", "DTaP", 2, "2024-04-29"),
        ],
    );
    assert_eq!(rule.check(&resident(&ok), T), vec![]);
    // The catalogue's example: DTaP 2 given 21 days after DTaP 1.
    let bad = child(
        "2023-12-31",
        vec![
            dose("d1", "DTaP", 1, "2024-04-01"),
            dose("d2", "DTaP", 2, "2024-04-22"),
        ],
    );
    let f = rule.check(&resident(&bad), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].rule_id, &f[0].evidence[..]), ("QC-T11", &[1, 2][..]));
    assert_eq!(f[0].severity, Severity::E);
    assert!(
        f[0].message.contains("21 days after DTaP dose 1")
            && f[0].message.contains("minimum interval is 28 days"),
        "{}",
        f[0].message
    );
    // One day short of the minimum fails.
    let short = child(
        "2023-12-31",
        vec![
            dose("h1", "HepB", 1, "2024-01-01"),
            dose("h2", "HepB", 2, "2024-01-28"),
        ],
    );
    assert_eq!(rule.check(&resident(&short), T).len(), 1);
}

#[test]
fn t11_fails_dose_out_of_order_once_and_a_dose_beyond_the_series() {
    let rule = t11();
    let f = rule.check(
        &resident(&child(
            "2023-12-31",
            vec![
                dose("h1", "HepB", 1, "2024-01-01"),
                dose("h2", "HepB", 2, "2024-04-01"),
                dose("h3", "HepB", 3, "2024-03-01"),
            ],
        )),
        T,
    );
    // The order finding only: the 2→3 interval is not reported again.
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message
            .contains("HepB dose 3 is dated 2024-03-01, not after HepB dose 2"),
        "{}",
        f[0].message
    );
    assert_eq!(f[0].evidence, [2, 3]);
    let f = rule.check(
        &resident(&child(
            "2020-01-01",
            vec![dose("d5", "DTaP", 5, "2024-01-01")],
        )),
        T,
    );
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("only 4 doses"), "{}", f[0].message);
}

#[test]
fn t11_checks_polio_across_ipv_and_bopv_and_calendar_months() {
    let rule = t11();
    let polio = |bopv: &str| {
        child(
            "2023-12-31",
            vec![
                dose("i1", "IPV", 1, "2024-03-01"),
                dose("i2", "IPV", 2, "2024-04-01"),
                dose("b3", "bOPV", 3, bopv),
            ],
        )
    };
    assert_eq!(rule.check(&resident(&polio("2024-04-29")), T), vec![]);
    let f = rule.check(&resident(&polio("2024-04-15")), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.contains("bOPV dose 3") && f[0].message.contains("after IPV dose 2"),
        "{}",
        f[0].message
    );
    // DTaP 3→4 is six calendar months: 31 January to 31 July passes, 30 July fails.
    let dtap = |d4: &str| {
        child(
            "2023-01-01",
            vec![
                dose("d3", "DTaP", 3, "2024-01-31"),
                dose("d4", "DTaP", 4, d4),
            ],
        )
    };
    assert_eq!(rule.check(&resident(&dtap("2024-07-31")), T), vec![]);
    assert_eq!(rule.check(&resident(&dtap("2024-07-30")), T).len(), 1);
    // A not-done record and a dose dated after T take no part.
    let skipped = child(
        "2023-01-01",
        vec![
            dose("d1", "DTaP", 1, "2024-01-01"),
            not_done("d2", "DTaP", Some(2), "2024-01-10", true),
            dose("d3", "DTaP", 3, "2025-03-05"),
        ],
    );
    assert_eq!(rule.check(&resident(&skipped), T), vec![]);
}

/// Every dose due before 14 months, on time.
fn due_by_14_months() -> Vec<Value> {
    vec![
        dose("h1", "HepB", 1, "2024-01-01"),
        dose("h2", "HepB", 2, "2024-02-01"),
        dose("h3", "HepB", 3, "2024-07-01"),
        dose("bcg", "BCG", 1, "2024-01-01"),
        dose("p1", "Polio", 1, "2024-03-01"),
        dose("p2", "Polio", 2, "2024-04-01"),
        dose("p3", "Polio", 3, "2024-05-01"),
        dose("d1", "DTaP", 1, "2024-04-01"),
        dose("d2", "DTaP", 2, "2024-05-01"),
        dose("d3", "DTaP", 3, "2024-06-01"),
        dose("m1", "MMR", 1, "2024-09-01"),
        dose("j1", "JE-L", 1, "2024-09-01"),
        dose("a1", "MPSV-A", 1, "2024-07-01"),
    ]
}

#[test]
fn t12_fails_a_14_month_old_without_mmr_1_and_passes_a_complete_record() {
    let rule = t12();
    // Born 2024-01-01: 14 months old at T.
    assert_eq!(
        rule.check(&resident(&child("2024-01-01", due_by_14_months())), T),
        vec![]
    );
    let mut doses = due_by_14_months();
    doses.retain(|d| d["id"] != "m1");
    let f = rule.check(&resident(&child("2024-01-01", doses.clone())), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].rule_id, f[0].severity), ("QC-T12", Severity::W));
    assert_eq!(f[0].evidence, [0]);
    assert!(
        f[0].message.contains("14 months old")
            && f[0].message.contains("no MMR dose 1")
            && f[0].message.contains("before 12 months"),
        "{}",
        f[0].message
    );
    // A contraindication recorded as not-done with a reason covers the dose; one without a
    // reason does not; one naming only the series covers every dose of it.
    for (record, covered) in [
        (not_done("x", "MMR", Some(1), "2024-12-01", true), true),
        (not_done("x", "MMR", Some(1), "2024-12-01", false), false),
        (not_done("x", "MMR", None, "2024-12-01", true), true),
        (not_done("x", "MMR", Some(2), "2024-12-01", true), false),
    ] {
        let mut with = doses.clone();
        with.push(record);
        let f = rule.check(&resident(&child("2024-01-01", with)), T);
        assert_eq!(f.is_empty(), covered, "{f:?}");
    }
}

#[test]
fn t12_waits_for_the_deadline_and_accepts_the_alternative_vaccine() {
    let rule = t12();
    let mut doses = due_by_14_months();
    doses.retain(|d| d["id"] != "m1");
    // 12 months old on T: MMR 1 is overdue from this day; one day younger, it is not yet.
    assert_eq!(
        rule.check(&resident(&child("2024-03-01", doses.clone())), T)
            .len(),
        1
    );
    assert_eq!(
        rule.check(&resident(&child("2024-03-02", doses)), T),
        vec![]
    );
    // JE inactivated instead of live: dose 1 answers JE-L 1, but then JE-I 2 is due too.
    let mut je = due_by_14_months();
    je.retain(|d| d["id"] != "j1");
    je.push(dose("i1", "JE-I", 1, "2024-09-01"));
    let f = rule.check(&resident(&child("2024-01-01", je.clone())), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].message.contains("JE-I dose 2"), "{}", f[0].message);
    je.push(dose("i2", "JE-I", 2, "2024-09-09"));
    assert_eq!(rule.check(&resident(&child("2024-01-01", je)), T), vec![]);
    // An adult, and a child who died, are not checked.
    assert_eq!(
        rule.check(&resident(&child("1990-01-01", vec![])), T),
        vec![]
    );
    let mut dead = patient("female", "2024-01-01");
    dead["deceasedDateTime"] = serde_json::json!("2024-06-01");
    assert_eq!(rule.check(&resident(&[dead]), T), vec![]);
}

#[test]
fn t12_reports_a_late_birth_dose_as_information() {
    let rule = t12();
    let late = |day: &str| {
        let mut d = due_by_14_months();
        d.retain(|x| x["id"] != "h1");
        d.push(dose("h1", "HepB", 1, day));
        d
    };
    // The next day is within 24 hours of a birth date without time.
    assert_eq!(
        rule.check(&resident(&child("2024-01-01", late("2024-01-02"))), T),
        vec![]
    );
    let f = rule.check(&resident(&child("2024-01-01", late("2024-01-05"))), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].severity, Severity::I);
    assert!(
        f[0].message.contains("4 days after birth"),
        "{}",
        f[0].message
    );
    // A documented reason for the delay.
    let mut excused = late("2024-01-05");
    excused.push(not_done("hx", "HepB", Some(1), "2024-01-01", true));
    assert_eq!(
        rule.check(&resident(&child("2024-01-01", excused)), T),
        vec![]
    );
}

#[test]
fn schedule_parameters_are_validated() {
    let bad = crate::qc::DEFAULT_PARAMS.replace("from = \"HepB-1\"", "from = \"HepB\"");
    let p = Params::parse(&bad).expect("parses");
    assert!(matches!(
        T11DoseInterval::new(&p),
        Err(ParamsError::BadSection { name: "T11", .. })
    ));
    let bad = crate::qc::DEFAULT_PARAMS.replace(
        "{ dose = \"DT-1\", before_months = 84 }",
        "{ dose = \"DT-1\", before_months = 84, within_days = 3 }",
    );
    let p = Params::parse(&bad).expect("parses");
    assert!(matches!(
        T12VaccineOverdue::new(&p),
        Err(ParamsError::BadSection { name: "T12", .. })
    ));
}
