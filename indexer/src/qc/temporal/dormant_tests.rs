use serde_json::json;
use time::macros::datetime;

use super::*;
use crate::qc::temporal::testkit::*;
use crate::testutil::{Check, resident, resident_recorded};

const T: OffsetDateTime = datetime!(2025-03-01 0:00 UTC);

fn rule() -> T18DormantArchive {
    T18DormantArchive::new(&params()).expect("T18")
}

fn last_seen(day: &str) -> Vec<serde_json::Value> {
    vec![
        patient("female", "1950-01-01"),
        visit("e", "HTN-FU", "AMB", "2021-05-01"),
        quantity("w", "29463-7", day, 60.0, "kg"),
    ]
}

#[test]
fn t18_warns_after_two_years_informs_after_one_and_passes_an_active_archive() {
    let rule = rule();
    // The catalogue's example: last record 2022-09.
    let f = rule.check(&resident(&last_seen("2022-09-01")), T);
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].rule_id, f[0].severity), ("QC-T18", Severity::W));
    assert_eq!(f[0].evidence, [0, 2]);
    assert!(
        f[0].message
            .contains("for 912 days; the last observation was on 2022-09-01"),
        "{}",
        f[0].message
    );
    // 365 days is information; 364 is still active.
    let f = rule.check(&resident(&last_seen("2024-03-01")), T);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::I);
    assert_eq!(rule.check(&resident(&last_seen("2024-03-02")), T), vec![]);
    // A record dated after T is not yet known at T.
    let mut future = last_seen("2022-09-01");
    future.push(quantity("later", "29463-7", "2025-06-01", 61.0, "kg"));
    assert_eq!(rule.check(&resident(&future), T).len(), 1);
}

#[test]
fn t18_dates_an_archive_without_visits_from_its_first_record_and_skips_the_deceased() {
    let rule = rule();
    let only_patient = [patient("female", "1950-01-01")];
    let old = resident_recorded(&only_patient, Some(datetime!(2022-01-01 0:00 UTC)));
    let f = rule.check(&old, T);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message
            .contains("since the archive was opened on 2022-01-01"),
        "{}",
        f[0].message
    );
    let new = resident_recorded(&only_patient, Some(datetime!(2025-02-01 0:00 UTC)));
    assert_eq!(rule.check(&new, T), vec![]);
    let mut dead = last_seen("2020-01-01");
    dead[0]["deceasedDateTime"] = json!("2020-02-01");
    assert_eq!(rule.check(&resident(&dead), T), vec![]);
    // A death dated after T is not known at T.
    dead[0]["deceasedDateTime"] = json!("2025-06-01");
    assert_eq!(rule.check(&resident(&dead), T).len(), 1);
}
