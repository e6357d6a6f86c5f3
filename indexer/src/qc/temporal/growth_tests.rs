use serde_json::Value;
use time::macros::datetime;

use super::*;
use crate::qc::temporal::testkit::*;
use crate::testutil::{Check, resident};

const T: OffsetDateTime = datetime!(2025-03-01 0:00 UTC);
const HEIGHT: &str = "8302-2";
const WEIGHT: &str = "29463-7";

fn rule() -> T20GrowthTrajectory {
    T20GrowthTrajectory::new(&params()).expect("T20")
}

fn boy(measures: Vec<Value>) -> Vec<Value> {
    std::iter::once(patient("male", "2023-01-01"))
        .chain(measures)
        .collect()
}

fn h(id: &str, day: &str, cm: f64) -> Value {
    quantity(id, HEIGHT, day, cm, "cm")
}

fn w(id: &str, day: &str, kg: f64) -> Value {
    quantity(id, WEIGHT, day, kg, "kg")
}

#[test]
fn t20_fails_a_height_that_shrinks_and_passes_growth() {
    let rule = rule();
    // The catalogue's example: 85 cm at 18 months, 79 cm at 24 months.
    let f = rule.check(
        &resident(&boy(vec![
            h("a", "2024-07-01", 85.0),
            h("b", "2025-01-01", 79.0),
        ])),
        T,
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].rule_id, f[0].severity), ("QC-T20", Severity::W));
    assert_eq!(f[0].evidence, [1, 2]);
    assert!(
        f[0].message
            .contains("79 cm on 2025-01-01 (age 2 years) is 6 cm less than the 85 cm"),
        "{}",
        f[0].message
    );
    assert_eq!(
        rule.check(
            &resident(&boy(vec![
                h("a", "2024-07-01", 80.0),
                h("b", "2025-01-01", 86.0)
            ])),
            T
        ),
        vec![]
    );
    // A 2 cm difference is measurement noise; 3 cm within 29 days is too.
    assert_eq!(
        rule.check(
            &resident(&boy(vec![
                h("a", "2024-07-01", 85.0),
                h("b", "2025-01-01", 83.0)
            ])),
            T
        ),
        vec![]
    );
    assert_eq!(
        rule.check(
            &resident(&boy(vec![
                h("a", "2024-07-01", 85.0),
                h("b", "2024-07-30", 82.0)
            ])),
            T
        ),
        vec![]
    );
}

#[test]
fn t20_fails_a_weight_jump_after_the_neonatal_period() {
    let rule = rule();
    let f = rule.check(
        &resident(&boy(vec![
            w("a", "2023-07-01", 8.0),
            w("b", "2023-09-01", 13.0),
        ])),
        T,
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].message.contains("a change of 62%"), "{}", f[0].message);
    assert_eq!(
        rule.check(
            &resident(&boy(vec![
                w("a", "2023-07-01", 8.0),
                w("b", "2023-09-01", 9.0)
            ])),
            T
        ),
        vec![]
    );
    // Before 6 months (the neonatal period [D] of `weight_from_months`), or more than 3
    // months apart, it is not checked: from the 10th day of life, and a normal infant of 1 to
    // 3 months (4.1 → 6.2 kg, +51%).
    assert_eq!(
        rule.check(
            &resident(&boy(vec![
                w("a", "2023-01-11", 3.0),
                w("b", "2023-02-10", 4.8)
            ])),
            T
        ),
        vec![]
    );
    assert_eq!(
        rule.check(
            &resident(&boy(vec![
                w("a", "2023-02-01", 4.1),
                w("b", "2023-04-10", 6.2)
            ])),
            T
        ),
        vec![]
    );
    // Weighed first at 5 months: still the early period; at 6 months it is checked.
    assert_eq!(
        rule.check(
            &resident(&boy(vec![
                w("a", "2023-06-15", 6.0),
                w("b", "2023-08-15", 9.5)
            ])),
            T
        ),
        vec![]
    );
    assert_eq!(
        rule.check(
            &resident(&boy(vec![
                w("a", "2023-07-01", 6.0),
                w("b", "2023-09-01", 9.5)
            ])),
            T
        )
        .len(),
        1
    );
    assert_eq!(
        rule.check(
            &resident(&boy(vec![
                w("a", "2023-07-01", 8.0),
                w("b", "2023-10-02", 13.0)
            ])),
            T
        ),
        vec![]
    );
}

#[test]
fn t20_fails_z_scores_outside_the_who_range() {
    let rule = rule();
    let at_one = |gender: &str, m: Value| resident(&[patient(gender, "2024-03-01"), m]);
    let f = rule.check(&at_one("male", w("a", "2025-03-01", 30.0)), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.contains("weight of 30 kg")
            && f[0].message.contains("from the WHO median for boys"),
        "{}",
        f[0].message
    );
    let f = rule.check(&at_one("male", h("a", "2025-03-01", 40.0)), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].message.contains("-15."), "{}", f[0].message);
    assert_eq!(
        rule.check(&at_one("female", h("a", "2025-03-01", 74.0)), T),
        vec![]
    );
    assert_eq!(
        rule.check(&at_one("female", w("a", "2025-03-01", 8.9)), T),
        vec![]
    );
    // No sex, no standard.
    assert_eq!(
        rule.check(&at_one("unknown", w("a", "2025-03-01", 30.0)), T),
        vec![]
    );
}

#[test]
fn who_table_reproduces_published_z_scores() {
    // WHO wfa boys 12 months: −3 SD 6.9 kg, median 9.6 kg, +3 SD 13.3 kg.
    let p = lms(WEIGHT_BOYS, 12.0).expect("in table");
    assert!(z_score(9.6479, p).abs() < 1e-9);
    assert!((z_score(13.3, p) - 3.0).abs() < 0.05);
    assert!((z_score(6.9, p) + 3.0).abs() < 0.05);
    // Between table ages the median is interpolated: wfa girls 4 months is 6.4237 kg.
    let (_, m, _) = lms(WEIGHT_GIRLS, 4.0).expect("in table");
    assert!((m - 6.4237).abs() / 6.4237 < 0.02, "{m}");
    assert!(lms(LENGTH_BOYS, 61.0).is_none());
}
