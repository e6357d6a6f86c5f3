use super::*;
use crate::qc::temporal::fixtures::*;
use crate::testutil::{Check, resident};
use serde_json::{Value, json};
use time::macros::datetime;

fn hb(id: &str, day: &str) -> Value {
    let mut o = obs(id, LOINC, "718-7", None, day);
    o["valueQuantity"] = json!({"value": 120, "unit": "g/L", "code": "g/L"});
    o
}

fn hearing(id: &str, day: &str) -> Value {
    obs(id, PHS_OBS, "HEARING-SCREEN", None, day)
}

/// A child born 2023-07-01 (20 months old at T) with every check and sub-check up to
/// 18 months except the 12-month visit.
fn twenty_months(extra: &[Value]) -> Vec<Value> {
    let mut r = vec![
        patient("2023-07-01"),
        visit("nb", "CHILD-NB", "2023-07-05"),
        visit("m1", "CHILD-HC", "2023-07-30"),
        visit("m3", "CHILD-HC", "2023-10-01"),
        visit("m6", "CHILD-HC", "2024-01-01"),
        visit("m8", "CHILD-HC", "2024-03-01"),
        visit("m18", "CHILD-HC", "2025-01-01"),
        hb("hb6", "2024-01-01"),
        hb("hb18", "2025-01-01"),
        hearing("h6", "2024-01-01"),
        hearing("h12", "2024-07-01"),
        visit("t6", "TCM-CHILD", "2024-01-01"),
        visit("t12", "TCM-CHILD", "2024-07-01"),
        visit("t18", "TCM-CHILD", "2025-01-01"),
    ];
    r.extend_from_slice(extra);
    r
}

#[test]
fn t09_fails_a_20_month_old_without_the_12_month_check() {
    let rule = T09ChildCheckSchedule::new(&params()).expect("rule");
    let f = rule.check(&resident(&twenty_months(&[])), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].rule_id, f[0].severity, &f[0].evidence[..]),
        ("QC-T09", Severity::E, &[0][..])
    );
    assert_eq!(
        f[0].message,
        "No 12-month check (between 11 months and 13 months of age, 2024-06-01 to 2024-08-01); the child is now 20 months old."
    );
    // The window's last day counts; the day after does not.
    let last_day = twenty_months(&[visit("m12", "CHILD-HC", "2024-08-01")]);
    assert_eq!(rule.check(&resident(&last_day), T), vec![]);
    let late = twenty_months(&[visit("m12", "CHILD-HC", "2024-08-02")]);
    assert_eq!(rule.check(&resident(&late), T).len(), 1);
    // A cancelled visit is no check.
    let mut cancelled = visit("m12", "CHILD-HC", "2024-07-01");
    cancelled["status"] = json!("cancelled");
    assert_eq!(
        rule.check(&resident(&twenty_months(&[cancelled])), T).len(),
        1
    );
}

#[test]
fn t09_a_check_is_due_only_after_its_window() {
    let rule = T09ChildCheckSchedule::new(&params()).expect("rule");
    // Born 2024-02-01: the 12-month window ends on T's day, so it is not due yet.
    let r = resident(&[
        patient("2024-02-01"),
        visit("nb", "CHILD-NB", "2024-02-05"),
        visit("m1", "CHILD-HC", "2024-03-01"),
        visit("m3", "CHILD-HC", "2024-05-01"),
        visit("m6", "CHILD-HC", "2024-08-01"),
        visit("m8", "CHILD-HC", "2024-10-01"),
        hb("hb6", "2024-08-01"),
        hearing("h6", "2024-08-01"),
        visit("t6", "TCM-CHILD", "2024-08-01"),
    ]);
    assert_eq!(rule.check(&r, T), vec![]);
    let f = rule.check(&r, datetime!(2025-03-02 0:00 UTC));
    assert_eq!(f.len(), 3, "{f:?}");
    assert_eq!(
        f.iter().filter(|f| f.severity == Severity::W).count(),
        2,
        "hearing and TCM at 12 months"
    );
    // Seven and over: out of the programme.
    assert_eq!(rule.check(&resident(&[patient("2018-02-28")]), T), vec![]);
}

#[test]
fn t09_reports_every_missed_check_and_sub_check_of_a_child_with_no_records() {
    let rule = T09ChildCheckSchedule::new(&params()).expect("rule");
    let f = rule.check(&resident(&[patient("2023-07-01")]), T);
    let e = f.iter().filter(|f| f.severity == Severity::E).count();
    let w: Vec<&str> = f
        .iter()
        .filter(|f| f.severity == Severity::W)
        .map(|f| f.message.as_str())
        .collect();
    // Newborn, 1, 3, 6, 8, 12, 18 months.
    assert_eq!(e, 7, "{f:?}");
    // Hb 6–8 and 18; hearing 6 and 12; TCM 6, 12 and 18.
    assert_eq!(w.len(), 7, "{w:?}");
    assert!(
        w.contains(
            &"No haemoglobin test at 6–8 months (between 5 months and 9 months of age, 2023-12-01 to 2024-04-01); the child is now 20 months old."
        ),
        "{w:?}"
    );
    assert!(
        f.iter().any(|f| f.message
            == "No newborn home visit (within 28 days of birth, 2023-07-01 to 2023-07-29); the child is now 20 months old."),
        "{f:?}"
    );
}

#[test]
fn t09_newborn_window_runs_from_discharge_and_one_visit_meets_one_check() {
    let rule = T09ChildCheckSchedule::new(&params()).expect("rule");
    let stay = json!({"resourceType": "Encounter", "id": "birth", "status": "finished",
        "class": {"code": "IMP"}, "period": {"start": "2025-01-01", "end": "2025-01-20"}});
    // Discharged on day 19: a home visit on day 26 (discharge + 7) is in time, day 27 is not.
    let with = |day: &str| {
        resident(&[
            patient("2025-01-01"),
            stay.clone(),
            visit("nb", "CHILD-NB", day),
        ])
    };
    let at = datetime!(2025-02-10 0:00 UTC);
    assert_eq!(rule.check(&with("2025-01-27"), at), vec![]);
    let f = rule.check(&with("2025-01-28"), at);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].evidence, [0, 1]);
    assert!(
        f[0].message
            .contains("within 7 days of discharge from the birth stay"),
        "{}",
        f[0].message
    );
    // One visit on day 25 cannot be both the newborn visit and the 1-month check.
    let one = resident(&[patient("2024-12-01"), visit("v", "CHILD-HC", "2024-12-26")]);
    let f = rule.check(&one, datetime!(2025-01-20 0:00 UTC));
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.starts_with("No 1-month check"),
        "{}",
        f[0].message
    );
}

#[test]
fn t10_fails_mmr_at_seven_months_and_passes_within_the_grace() {
    let rule = T10VaccineMinimumAge::new(&params()).expect("rule");
    let f = rule.check(
        &resident(&[patient("2024-01-01"), dose("i", "MMR", 1, "2024-08-03")]),
        T,
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(
        (f[0].rule_id, f[0].severity, &f[0].evidence[..]),
        ("QC-T10", Severity::E, &[0, 1][..])
    );
    assert_eq!(
        f[0].message,
        "MMR dose 1 was given on 2024-08-03 at the age of 7 months 2 days, before the minimum age of 8 months (2024-09-01; up to 4 days earlier is accepted)."
    );
    // Minimum age 2024-09-01: 4 days early passes, 5 fails.
    let at = |day: &str| resident(&[patient("2024-01-01"), dose("i", "MMR", 1, day)]);
    assert_eq!(rule.check(&at("2024-08-28"), T), vec![]);
    assert_eq!(rule.check(&at("2024-08-27"), T).len(), 1);
}

#[test]
fn t10_reads_series_and_dose_and_leaves_the_rest() {
    let rule = T10VaccineMinimumAge::new(&params()).expect("rule");
    let born = patient("2022-01-01");
    let check = |d: Value| rule.check(&resident(&[born.clone(), d]), T);
    // Later doses are bounded by intervals (QC-T11), not by this table.
    assert_eq!(check(dose("i", "MMR", 2, "2022-08-01")), vec![]);
    // Series names match whatever the case.
    assert_eq!(check(dose("i", "mmr", 1, "2022-08-01")).len(), 1);
    assert_eq!(check(dose("i", "bOPV", 3, "2022-04-01")).len(), 1);
    assert_eq!(check(dose("i", "bOPV", 3, "2022-05-01")), vec![]);
    // Polio numbered across IPV and bOPV (a CVX-coded dose), and either HepA vaccine.
    assert_eq!(check(dose("i", "Polio", 1, "2022-02-10")).len(), 1);
    assert_eq!(check(dose("i", "Polio", 3, "2022-04-01")).len(), 1);
    assert_eq!(check(dose("i", "Polio", 2, "2022-02-10")), vec![]);
    assert_eq!(check(dose("i", "HepA-I", 1, "2023-01-01")).len(), 1);
    assert_eq!(check(dose("i", "HepA-L", 1, "2023-07-01")), vec![]);
    let f = check(dose("i", "MPSV-AC", 1, "2024-12-01"));
    assert!(
        f[0].message.contains("minimum age of 3 years"),
        "{}",
        f[0].message
    );
    assert_eq!(check(dose("i", "HepB", 1, "2022-01-01")), vec![]);
    // Not given, or before birth (QC-T01's): not judged here.
    let mut not_done = dose("i", "MMR", 1, "2022-08-01");
    not_done["status"] = json!("not-done");
    assert_eq!(check(not_done), vec![]);
    assert_eq!(check(dose("i", "MMR", 1, "2021-08-01")), vec![]);
}
