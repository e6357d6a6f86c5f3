use std::slice::from_ref;

use proptest::prelude::*;
use serde_json::{Value, json};
use time::{Date, Duration};

use super::fixtures::*;
use super::services::pairs_within;
use crate::qc::{Engine, Level, Severity, listing};

#[test]
fn one_institution_alone_fires_no_cross_institution_rule() {
    // Everything here would be a finding between two institutions.
    let mut records = vec![
        patient("p", "female", "1949-12-31"),
        patient("q", "male", "1994-12-31"),
        archived("r", "31011500100100123"),
        archived("s", "31010400210100456"),
        episode("e1", "HTN", "2022-01-10", None),
        episode("e2", "HTN", "2024-01-15", None),
    ];
    records.extend(htn_fu("v1", "2024-06-03", 150.0, 90.0));
    records.extend(htn_fu("v2", "2024-06-03", 150.0, 90.0));
    let one = view("centre.example/log", "Centre", &records);
    assert_eq!(all_findings(from_ref(&one)), vec![]);
    // Two views of one log are one institution.
    let again = view("centre.example/log", "Centre again", &records);
    assert_eq!(all_findings(&[one, again]), vec![]);
    assert_eq!(all_findings(&[]), vec![]);
}

fn all_findings(views: &[crate::qc::InstitutionView]) -> Vec<crate::qc::CrossFinding> {
    crate::qc::evaluate_cross_institution(views, &params(), T).expect("rules")
}

#[test]
fn the_consortium_rules_are_catalogued_but_not_run_per_resident() {
    let engine = Engine::shipped().expect("engine");
    let ids: Vec<&str> = engine.rules.iter().map(|r| r.id()).collect();
    let at = ids.iter().position(|id| *id == "QC-I01").expect("I01");
    assert_eq!(
        ids[at..],
        ["QC-I01", "QC-I02", "QC-I03", "QC-I04", "QC-I05", "QC-I06"]
    );
    assert!(engine.rules[at..].iter().all(|r| r.level() == Level::I));
    let per_resident: Vec<&str> = engine.resident_rules().map(|r| r.id()).collect();
    assert_eq!(per_resident.len(), engine.rules.len() - 5);
    assert!(per_resident.contains(&"QC-I06"));
    assert!(
        !per_resident
            .iter()
            .any(|id| id.starts_with("QC-I0") && *id != "QC-I06")
    );
    let lines = listing(&engine.rules);
    for line in [
        "QC-I01 I E (consortium view only)",
        "QC-I03 I W [D] window_days (consortium view only)",
        "QC-I04 I E [D] overlap_days (consortium view only)",
        "QC-I05 I W [D] window_days (consortium view only)",
        "QC-I06 I E",
    ] {
        assert!(lines.contains(&line.to_owned()), "{line}: {lines:?}");
    }
    // The engine's own evaluation agrees with the free function.
    let views = two(
        &[patient("p", "female", "1949-12-31")],
        &[patient("p", "female", "1994-12-31")],
    );
    assert_eq!(
        engine.evaluate_cross_institution(&views, T),
        all_findings(&views)
    );
    assert_eq!(engine.evaluate_cross_institution(&views, T).len(), 1);
}

#[test]
fn i01_fails_two_birth_dates_for_one_id_card_and_passes_agreeing_ones() {
    let views = two(
        &[patient("p", "female", "1949-12-31")],
        &[patient("p9", "female", "1994-12-31")],
    );
    let f = findings("QC-I01", &views);
    assert_eq!(f.first().map(|f| f.resident.clone()), Some(resident()));
    assert_eq!(
        only(&f),
        (
            Severity::E,
            vec![CENTRE_10, COUNTY_10],
            "The institutions disagree on the resident's birth date: 1949-12-31 at Riverside Community Centre; 1994-12-31 at County Hospital; the ID card gives 1949-12-31."
        )
    );
    // The same date, or a partial one that can be it, agrees.
    for b in ["1949-12-31", "1949-12", "1949"] {
        let views = two(
            &[patient("p", "female", "1949-12-31")],
            &[patient("p9", "female", b)],
        );
        assert_eq!(findings("QC-I01", &views), vec![], "{b}");
    }
}

#[test]
fn i01_fails_two_sexes_but_unknown_makes_no_claim() {
    let views = two(
        &[patient("p", "female", "1949-12-31")],
        &[patient("p", "male", "1949-12-31")],
    );
    let f = findings("QC-I01", &views);
    assert_eq!(
        only(&f).2,
        "The institutions disagree on the resident's sex: female at Riverside Community Centre; male at County Hospital; the ID card gives female."
    );
    let views = two(
        &[patient("p", "female", "1949-12-31")],
        &[patient("p", "unknown", "1949-12-31")],
    );
    assert_eq!(findings("QC-I01", &views), vec![]);
}

#[test]
fn i02_fails_two_active_archive_numbers_and_passes_a_completed_transfer() {
    let old = archived("p", "31011500100100123");
    let new = archived("p", "31010400210100456");
    let f = findings("QC-I02", &two(from_ref(&old), from_ref(&new)));
    assert_eq!(
        only(&f),
        (
            Severity::E,
            vec![CENTRE_10, COUNTY_10],
            "The resident has 2 active health archive numbers: 31011500100100123 at Riverside Community Centre; 31010400210100456 at County Hospital. A transfer must deactivate the old one (Patient.active false, or Patient.link replaced-by)."
        )
    );
    // The transfer deactivated the old number: by a link to its successor, or `active`.
    let replaced = with(
        old.clone(),
        "link",
        json!([{"other": {"reference": "Patient/p"}, "type": "replaced-by"}]),
    );
    let inactive = with(old.clone(), "active", json!(false));
    for old in [replaced, inactive] {
        assert_eq!(findings("QC-I02", &two(&[old], from_ref(&new))), vec![]);
    }
    // One number at both is one archive; a malformed number is F02's finding.
    assert_eq!(
        findings("QC-I02", &two(from_ref(&old), from_ref(&old))),
        vec![]
    );
    let malformed = archived("p", "3101040021010045");
    assert_eq!(findings("QC-I02", &two(&[old], &[malformed])), vec![]);
}

#[test]
fn i03_fails_one_follow_up_at_two_institutions_and_passes_three_days_apart() {
    let views = two(
        &htn_fu("v", "2024-06-03", 150.0, 90.0),
        &htn_fu("w", "2024-06-03", 150.0, 90.0),
    );
    let f = findings("QC-I03", &views);
    // Each follow-up's encounter and its BP panel.
    let cited = vec![
        CENTRE_10,
        ("centre.example/log", 11),
        COUNTY_10,
        ("county.example/log", 11),
    ];
    assert_eq!(
        only(&f),
        (
            Severity::W,
            cited,
            "A hypertension follow-up on 2024-06-03 at Riverside Community Centre and one on 2024-06-03 at County Hospital (on the same day) are probably one service reported twice; it counts once."
        )
    );
    let apart = |b: &str| {
        findings(
            "QC-I03",
            &two(
                &htn_fu("v", "2024-06-03", 150.0, 90.0),
                &htn_fu("w", b, 150.0, 90.0),
            ),
        )
        .len()
    };
    assert_eq!(apart("2024-06-05"), 1);
    assert_eq!(apart("2024-06-01"), 1);
    assert_eq!(apart("2024-06-06"), 0);
    // A visit without its BP panel is no valid follow-up, so nothing is counted twice.
    let views = two(
        &htn_fu("v", "2024-06-03", 150.0, 90.0),
        &[visit("w", "HTN-FU", "2024-06-03")],
    );
    assert_eq!(findings("QC-I03", &views), vec![]);
}

#[test]
fn i04_fails_two_open_enrolments_and_passes_a_hand_over_within_30_days() {
    let a = episode("ea", "HTN", "2022-01-10", None);
    let b = episode("eb", "HTN", "2024-01-15", None);
    let f = findings("QC-I04", &two(from_ref(&a), from_ref(&b)));
    // 2024-01-15 to T (2025-03-01).
    assert_eq!(
        only(&f),
        (
            Severity::E,
            vec![CENTRE_10, COUNTY_10],
            "Enrolled in hypertension management at Riverside Community Centre (since 2022-01-10) and at County Hospital (since 2024-01-15): the two enrolments overlap by 411 days, more than the 30 a transfer may take."
        )
    );
    let ended = |end: &str| {
        with(
            episode("ea", "HTN", "2022-01-10", Some(end)),
            "status",
            json!("finished"),
        )
    };
    assert_eq!(
        findings("QC-I04", &two(&[ended("2024-02-14")], from_ref(&b))),
        vec![]
    );
    assert_eq!(
        findings("QC-I04", &two(&[ended("2024-02-15")], from_ref(&b))).len(),
        1
    );
    // Another programme, or the same managing organisation, is not concurrent management.
    let t2d = episode("eb", "T2D", "2024-01-15", None);
    assert_eq!(findings("QC-I04", &two(from_ref(&a), &[t2d])), vec![]);
    let org = json!({"reference": "Organization/centre"});
    let same = |e: &Value| with(e.clone(), "managingOrganization", org.clone());
    assert_eq!(findings("QC-I04", &two(&[same(&a)], &[same(&b)])), vec![]);
}

#[test]
fn i05_fails_a_health_check_denying_a_recent_diabetes_and_passes_a_later_confirmation() {
    let e11 = condition("c", "E11.9", "2023-12-10", "confirmed");
    let f = findings(
        "QC-I05",
        &two(from_ref(&e11), &check_says_none("hc", "2024-03-01")),
    );
    let cited = vec![CENTRE_10, ("county.example/log", 11)];
    assert_eq!(
        only(&f),
        (
            Severity::W,
            cited,
            "Riverside Community Centre holds a confirmed type 2 diabetes diagnosis (E11.9) recorded on 2023-12-10, but County Hospital recorded no past illness in a health check on 2024-03-01 (82 days later), and no later record confirms the diagnosis."
        )
    );
    // 90 days later still contradicts; more than 90 days later, or confirmed again
    // afterwards (at either institution), does not.
    assert_eq!(
        findings(
            "QC-I05",
            &two(from_ref(&e11), &check_says_none("hc", "2024-03-09"))
        )
        .len(),
        1
    );
    assert_eq!(
        findings(
            "QC-I05",
            &two(from_ref(&e11), &check_says_none("hc", "2024-03-10"))
        ),
        vec![]
    );
    let again = condition("c2", "E11.9", "2024-05-01", "confirmed");
    let mut b = check_says_none("hc", "2024-03-01").to_vec();
    b.push(again);
    assert_eq!(findings("QC-I05", &two(&[e11], &b)), vec![]);
}

#[test]
fn i05_fails_a_refuted_hypertension_after_a_confirmed_one_but_not_before() {
    let i10 = condition("c", "I10", "2024-01-05", "confirmed");
    let refuted = |day: &str| condition("x", "I11.9", day, "refuted");
    let f = findings("QC-I05", &two(&[refuted("2024-01-20")], from_ref(&i10)));
    assert_eq!(
        only(&f),
        (
            Severity::W,
            vec![COUNTY_10, CENTRE_10],
            "County Hospital holds a confirmed hypertension diagnosis (I10) recorded on 2024-01-05, but Riverside Community Centre recorded I11.9 as refuted on 2024-01-20 (15 days later), and no later record confirms the diagnosis."
        )
    );
    // Refuted before it was confirmed: a new diagnosis, not a contradiction.
    assert_eq!(
        findings("QC-I05", &two(&[refuted("2023-12-20")], from_ref(&i10))),
        vec![]
    );
    // Secondary hypertension is not in VS-HTN, so refuting it denies nothing.
    let i15 = condition("x", "I15.0", "2024-01-20", "refuted");
    assert_eq!(findings("QC-I05", &two(&[i15], &[i10])), vec![]);
}

/// The reference for I03's pairing: every pair, checked one by one.
fn brute_pairs(a: &[Date], b: &[Date], window: i64) -> Vec<(usize, usize)> {
    let mut out = Vec::new();
    for (i, x) in a.iter().enumerate() {
        for (j, y) in b.iter().enumerate() {
            if (*x - *y).whole_days().abs() <= window {
                out.push((i, j));
            }
        }
    }
    out
}

fn days(offsets: &[i64]) -> Vec<Date> {
    let base = T.date();
    offsets.iter().map(|d| base - Duration::days(*d)).collect()
}

const BIRTHS: [&str; 3] = ["1949-12-31", "1950-01-01", "1994-12-31"];

/// Institution `n` holding a Patient for each (birth date, sex) of `people`.
fn holding(n: usize, people: &[(usize, bool)]) -> crate::qc::InstitutionView {
    let records: Vec<Value> = people
        .iter()
        .enumerate()
        .map(|(k, (birth, female))| {
            let sex = if *female { "female" } else { "male" };
            patient(&format!("p{k}"), sex, BIRTHS[*birth])
        })
        .collect();
    view(&format!("n{n}.example/log"), &format!("Node {n}"), &records)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn i03_pairs_exactly_the_follow_ups_within_the_window(
        a in proptest::collection::vec(0i64..40, 0..12),
        b in proptest::collection::vec(0i64..40, 0..12),
        window in 0i64..5,
    ) {
        let (a, b) = (days(&a), days(&b));
        prop_assert_eq!(pairs_within(&a, &b, window), brute_pairs(&a, &b, window));
    }

    #[test]
    fn i01_fires_exactly_when_two_institutions_differ_whatever_their_order(
        people in proptest::collection::vec(
            proptest::collection::vec((0usize..3, any::<bool>()), 0..3), 2..4),
        rotate in 0usize..3,
    ) {
        let views: Vec<_> = people.iter().enumerate().map(|(n, p)| holding(n, p)).collect();
        let f = findings("QC-I01", &views);
        let mut turned = views.clone();
        turned.rotate_left(rotate % views.len());
        turned.reverse();
        prop_assert_eq!(&findings("QC-I01", &turned), &f);
        let differ = |get: &dyn Fn(&(usize, bool)) -> usize| {
            people.iter().enumerate().any(|(i, p)| {
                people.iter().enumerate().any(|(j, q)| {
                    i != j && p.iter().any(|x| q.iter().any(|y| get(x) != get(y)))
                })
            })
        };
        let birth = differ(&|x| x.0);
        let sex = differ(&|x| usize::from(x.1));
        prop_assert_eq!(f.len(), usize::from(birth) + usize::from(sex), "{:?}", f);
    }
}
