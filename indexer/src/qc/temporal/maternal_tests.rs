use serde_json::{Value, json};
use time::macros::datetime;

use super::*;
use crate::qc::temporal::testkit::*;
use crate::testutil::{Check, resident};

const T: OffsetDateTime = datetime!(2025-03-01 0:00 UTC);
const LMP: &str = "8665-2";
const EDD: &str = "11778-8";
const GA: &str = "11884-4";
const DELIVERY: &str = "236973005";

fn anc(id: &str, n: u32, day: &str) -> Value {
    visit(id, &format!("ANC-{n}"), "AMB", day)
}

/// LMP 2024-01-01, five antenatal visits in their windows (8, 17, 22, 31 and 38 weeks), a
/// delivery at 40+0 weeks on 2024-10-07.
fn term_pregnancy() -> Vec<Value> {
    vec![
        patient("female", "1995-05-05"),
        episode("preg", "PREG", "2024-02-20", Some("2024-10-20")),
        date_obs("lmp", LMP, "2024-02-26", "2024-01-01"),
        anc("a1", 1, "2024-02-26"),
        anc("a2", 2, "2024-04-29"),
        anc("a3", 3, "2024-06-03"),
        anc("a4", 4, "2024-08-05"),
        anc("a5", 5, "2024-09-23"),
        procedure("birth", DELIVERY, "2024-10-07"),
    ]
}

fn without(mut records: Vec<Value>, id: &str) -> Vec<Value> {
    records.retain(|r| r["id"] != id);
    records
}

fn messages(f: &[Finding]) -> Vec<&str> {
    f.iter().map(|f| f.message.as_str()).collect()
}

#[test]
fn t13_passes_a_kept_schedule_and_fails_a_first_visit_at_15_weeks() {
    let rule = T13AntenatalSchedule::new(&params()).expect("T13");
    assert_eq!(rule.check(&resident(&term_pregnancy()), T), vec![]);
    let mut late = without(term_pregnancy(), "a1");
    late.push(anc("a1", 1, "2024-04-15"));
    let f = rule.check(&resident(&late), T);
    assert_eq!(f.len(), 1, "{:?}", messages(&f));
    assert_eq!((f[0].rule_id, f[0].severity), ("QC-T13", Severity::E));
    assert!(
        f[0].message.contains("at 15+0 weeks (2024-04-15)")
            && f[0].message.contains("last menstrual period 2024-01-01"),
        "{}",
        f[0].message
    );
    // Evidence: the episode, the LMP, the delivery and the visit.
    assert_eq!(f[0].evidence, [1, 2, 7, 8]);
    // 12+6 weeks is still in time.
    let mut edge = without(term_pregnancy(), "a1");
    edge.push(anc("a1", 1, "2024-03-31"));
    assert_eq!(rule.check(&resident(&edge), T), vec![]);
}

#[test]
fn t13_fails_a_missed_window_and_too_few_visits_at_term() {
    let rule = T13AntenatalSchedule::new(&params()).expect("T13");
    let f = rule.check(&resident(&without(term_pregnancy(), "a4")), T);
    let m = messages(&f);
    assert_eq!(f.len(), 2, "{m:?}");
    assert!(m[0].contains("between 28 and 36 weeks"), "{m:?}");
    assert!(
        m[1].contains("Only 4 antenatal visits") && m[1].contains("40+0"),
        "{m:?}"
    );
    // Dated by the EDD instead of the LMP: the same schedule passes.
    let mut by_edd = without(term_pregnancy(), "lmp");
    by_edd.push(date_obs("edd", EDD, "2024-02-26", "2024-10-07"));
    assert_eq!(rule.check(&resident(&by_edd), T), vec![]);
}

#[test]
fn t13_waits_for_an_open_window_to_close() {
    let rule = T13AntenatalSchedule::new(&params()).expect("T13");
    // Ongoing, nothing between 28 and 36 weeks: the window closes at 37+0.
    let ongoing = |lmp: &str| {
        resident(&[
            patient("female", "1995-05-05"),
            episode("preg", "PREG", "2024-07-01", None),
            date_obs("lmp", LMP, "2024-07-20", lmp),
            anc("a1", 1, "2024-07-20"),
            anc("a2", 2, "2024-10-19"),
            anc("a3", 3, "2024-11-16"),
        ])
    };
    // 37+0 at T.
    let f = rule.check(&ongoing("2024-06-15"), T);
    assert_eq!(f.len(), 1, "{:?}", messages(&f));
    assert!(f[0].message.contains("between 28 and 36 weeks"));
    // 36+6 at T.
    assert_eq!(rule.check(&ongoing("2024-06-16"), T), vec![]);
}

#[test]
fn t13_dates_an_undated_pregnancy_from_its_enrolment_when_allowed() {
    let rule = T13AntenatalSchedule::new(&params()).expect("T13");
    let undated = [
        patient("female", "1995-05-05"),
        episode("preg", "PREG", "2024-06-01", None),
        anc("a1", 1, "2024-09-20"),
    ];
    let f = rule.check(&resident(&undated), T);
    assert!(!f.is_empty());
    assert!(
        f[0].message
            .contains("enrolment 2024-06-01, as no LMP or EDD is recorded"),
        "{}",
        f[0].message
    );
    let text =
        crate::qc::DEFAULT_PARAMS.replace("enrolment_dating = true", "enrolment_dating = false");
    let strict = T13AntenatalSchedule::new(&Params::parse(&text).expect("params")).expect("T13");
    assert_eq!(strict.check(&resident(&undated), T), vec![]);
}

fn postpartum(home: Option<&str>, check: Option<&str>) -> Vec<Value> {
    let mut r = vec![
        patient("female", "1995-05-05"),
        procedure("birth", DELIVERY, "2024-03-01"),
        json!({"resourceType": "Encounter", "id": "stay", "status": "finished",
               "class": {"code": "IMP"},
               "period": {"start": "2024-02-29", "end": "2024-03-04"}}),
    ];
    if let Some(d) = home {
        r.push(visit("home", "PNC-HOME", "HH", d));
    }
    if let Some(d) = check {
        r.push(visit("d42", "PNC-42D", "AMB", d));
    }
    r
}

#[test]
fn t14_fails_no_42_day_check_and_passes_visits_on_time() {
    let rule = T14PostpartumVisits::new(&params()).expect("T14");
    // Home visit 4 days after discharge (7 after delivery), check on day 45.
    let ok = postpartum(Some("2024-03-08"), Some("2024-04-15"));
    assert_eq!(rule.check(&resident(&ok), T), vec![]);
    // The catalogue's example: delivered 2024-03-01, no 42-day check by 2024-05-01.
    let f = rule.check(
        &resident(&postpartum(Some("2024-03-08"), None)),
        datetime!(2024-05-01 0:00 UTC),
    );
    assert_eq!(f.len(), 1, "{:?}", messages(&f));
    assert!(
        f[0].message.contains("No 42-day postpartum check"),
        "{}",
        f[0].message
    );
    assert_eq!(f[0].evidence, [1, 2]);
    // The window (days 42–56) closes at the end of 2024-04-26.
    let none = resident(&postpartum(Some("2024-03-08"), None));
    assert_eq!(rule.check(&none, datetime!(2024-04-26 12:00 UTC)), vec![]);
    assert_eq!(rule.check(&none, datetime!(2024-04-27 0:00 UTC)).len(), 1);
    // A check on day 35 is outside the window.
    let f = rule.check(
        &resident(&postpartum(Some("2024-03-08"), Some("2024-04-05"))),
        T,
    );
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("35 days after"), "{}", f[0].message);
}

#[test]
fn t14_grades_the_home_visit_by_days_after_discharge() {
    let rule = T14PostpartumVisits::new(&params()).expect("T14");
    // Discharge 2024-03-04: day 7 is 2024-03-11.
    let on_time = resident(&postpartum(Some("2024-03-11"), Some("2024-04-15")));
    assert_eq!(rule.check(&on_time, T), vec![]);
    let late = rule.check(
        &resident(&postpartum(Some("2024-03-16"), Some("2024-04-15"))),
        T,
    );
    assert_eq!(late.len(), 1);
    assert_eq!(late[0].severity, Severity::W);
    assert!(
        late[0].message.contains("12 days after discharge"),
        "{}",
        late[0].message
    );
    let missing = rule.check(
        &resident(&postpartum(Some("2024-04-10"), Some("2024-04-15"))),
        T,
    );
    assert_eq!(missing.len(), 1);
    assert_eq!(missing[0].severity, Severity::E);
    // No visit yet, 5 days after discharge: still open.
    let open = resident(&postpartum(None, None));
    assert_eq!(rule.check(&open, datetime!(2024-03-09 0:00 UTC)), vec![]);
    assert_eq!(rule.check(&open, datetime!(2024-03-12 0:00 UTC)).len(), 1);
}

#[test]
fn t14_counts_an_episode_end_as_a_delivery_only_after_20_weeks() {
    let rule = T14PostpartumVisits::new(&params()).expect("T14");
    let ended = |lmp: &str| {
        resident(&[
            patient("female", "1995-05-05"),
            episode("preg", "PREG", "2023-08-01", Some("2024-03-01")),
            date_obs("lmp", LMP, "2023-08-01", lmp),
        ])
    };
    let f = rule.check(&ended("2023-06-01"), T);
    assert_eq!(f.len(), 2, "{:?}", messages(&f));
    assert!(f.iter().all(|f| f.evidence == [1]));
    // Eight weeks: a loss, not a birth.
    assert_eq!(rule.check(&ended("2024-01-05"), T), vec![]);
}

#[test]
fn t15_fails_a_56_week_pregnancy_and_passes_a_term_one() {
    let rule = T15PregnancyTimeline::new(&params()).expect("T15");
    assert_eq!(rule.check(&resident(&term_pregnancy()), T), vec![]);
    // The catalogue's example: LMP 2023-01-01, delivery 2024-02-01.
    let long = resident(&[
        patient("female", "1995-05-05"),
        episode("preg", "PREG", "2023-02-01", Some("2024-02-10")),
        date_obs("lmp", LMP, "2023-02-01", "2023-01-01"),
        procedure("birth", DELIVERY, "2024-02-01"),
    ]);
    let f = rule.check(&long, T);
    assert_eq!(f.len(), 1, "{:?}", messages(&f));
    assert_eq!(
        (f[0].rule_id, &f[0].evidence[..]),
        ("QC-T15", &[1, 2, 3][..])
    );
    assert!(f[0].message.contains("56+4 weeks"), "{}", f[0].message);
}

#[test]
fn t15_checks_edd_and_gestational_age_against_the_lmp() {
    let rule = T15PregnancyTimeline::new(&params()).expect("T15");
    let with = |extra: Vec<Value>| {
        let mut r = term_pregnancy();
        r.extend(extra);
        resident(&r)
    };
    // LMP + 280 d = 2024-10-07; 14 days off is accepted, 18 is not.
    assert_eq!(
        rule.check(
            &with(vec![date_obs("edd", EDD, "2024-03-01", "2024-10-21")]),
            T
        ),
        vec![]
    );
    let f = rule.check(
        &with(vec![date_obs("edd", EDD, "2024-03-01", "2024-10-25")]),
        T,
    );
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("18 days"), "{}", f[0].message);
    // 13 weeks on 2024-04-01 is right; 16 weeks is 21 days off.
    let ga = |weeks: f64| quantity("ga", GA, "2024-04-01", weeks, "wk");
    assert_eq!(rule.check(&with(vec![ga(13.0)]), T), vec![]);
    let f = rule.check(&with(vec![ga(16.0)]), T);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message.contains("differs by 21 days"),
        "{}",
        f[0].message
    );
}

#[test]
fn t15_fails_births_too_close_and_overlapping_enrolments() {
    let rule = T15PregnancyTimeline::new(&params()).expect("T15");
    let mut second = episode("preg2", "PREG", "2024-02-01", Some("2024-05-20"));
    second["managingOrganization"] = json!({"reference": "Organization/a"});
    let mut first = episode("preg1", "PREG", "2023-05-01", Some("2024-01-20"));
    first["managingOrganization"] = json!({"reference": "Organization/a"});
    let f = rule.check(
        &resident(&[
            patient("female", "1995-05-05"),
            first.clone(),
            procedure("b1", DELIVERY, "2024-01-10"),
            second.clone(),
            procedure("b2", DELIVERY, "2024-05-10"),
            // The same birth recorded again the next day.
            procedure("b2x", DELIVERY, "2024-05-11"),
        ]),
        T,
    );
    assert_eq!(f.len(), 1, "{:?}", messages(&f));
    assert!(f[0].message.contains("121 days apart"), "{}", f[0].message);
    assert_eq!(f[0].evidence, [2, 4]);
    // Two open-ended enrolments at one organisation overlap; at two, that is QC-I04's.
    let mut late = second.clone();
    late["period"] = json!({"start": "2024-01-05"});
    let f = rule.check(
        &resident(&[patient("female", "1995-05-05"), first.clone(), late.clone()]),
        T,
    );
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("overlaps"), "{}", f[0].message);
    late["managingOrganization"] = json!({"reference": "Organization/b"});
    assert_eq!(
        rule.check(
            &resident(&[patient("female", "1995-05-05"), first, late]),
            T
        ),
        vec![]
    );
}
