//! Temporal rules within one resident (DOMAIN.md §4.5), and the ledger-integrity rule QC-I06:
//! dates against birth and death, programme cadence over a look-back window, two-week
//! contacts, the child and vaccine schedules, pregnancy, SMI and TB, dormant archives, growth.
//!
//! Every rule reads time from the evaluation instant `T` only: records dated after `T` are not
//! yet known at `T`, and a requirement whose window is still open at `T` is not a finding.

mod child;
mod chronic;
mod contact;
mod dates;
mod dormant;
#[cfg(test)]
pub(in crate::qc) mod fixtures;
mod growth;
mod integrity;
#[cfg(test)]
mod listing_tests;
mod maternal;
mod pregnancy;
mod programme;
mod smi_tb;
mod vaccine;
mod window;

pub use child::{T09ChildCheckSchedule, T10VaccineMinimumAge};
pub(in crate::qc) use chronic::programme_words;
pub use chronic::{
    T03HtnFollowUpCadence, T04T2dFollowUpCadence, T05GlycaemicGap, T08AnnualHealthCheck,
};
pub use contact::{T06UncontrolledRevisit, T07ReferralContact};
pub use dates::{T01EventBeforeBirth, T02EventAfterDeath};
pub use dormant::T18DormantArchive;
pub use growth::T20GrowthTrajectory;
pub use integrity::I06LedgerIntegrity;
pub use maternal::{T13AntenatalSchedule, T14PostpartumVisits, T15PregnancyTimeline};
pub use programme::T19ServiceBeforeDiagnosis;
pub use smi_tb::{T16SmiCadence, T17TbCaseManagement};
pub use vaccine::{T11DoseInterval, T12VaccineOverdue};
pub(in crate::qc) use window::follow_up_day;

use time::{Date, Duration, OffsetDateTime};

use super::facts::{Demographics, Visit};

/// Days from `a` to `b` (negative when `b` is earlier).
fn days(a: Date, b: Date) -> i64 {
    (b - a).whole_days()
}

/// An age or a span in months as a clinician says it: "14 months", "3 years".
fn months_text(m: i32) -> String {
    if m >= 24 && m % 12 == 0 {
        format!("{} years", m / 12)
    } else if m == 1 {
        "1 month".to_owned()
    } else {
        format!("{m} months")
    }
}

/// `day` + `n` days, saturating at the calendar's ends (which no clinical date reaches).
fn plus(day: Date, n: i64) -> Date {
    day.checked_add(Duration::days(n))
        .unwrap_or(if n < 0 { Date::MIN } else { Date::MAX })
}

/// Whether the resident had died by `at`: a death date after `at` is not yet known at `at`;
/// a death recorded without a date counts whenever it is evaluated.
fn dead_by(d: &Demographics, at: OffsetDateTime) -> bool {
    d.death.map_or(d.deceased, |t| t <= at)
}

/// A visit that took place by `at`: finished, and dated no later than `at`. Planned or
/// cancelled visits are not a service delivered.
fn held(v: &Visit, at: OffsetDateTime) -> bool {
    v.status.as_deref() == Some("finished") && v.start.is_some_and(|s| s <= at) && v.day.is_some()
}

#[cfg(test)]
mod testkit;
