//! Temporal rules within one resident (DOMAIN.md §4.5), and the ledger-integrity rule QC-I06.
//!
//! Every rule reads time from the evaluation instant `T` only: records dated after `T` are not
//! yet known at `T`, and a requirement whose window is still open at `T` is not a finding.

mod vaccine;

pub use vaccine::{T11DoseInterval, T12VaccineOverdue};

use time::{Date, OffsetDateTime};

use super::facts::Demographics;

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

/// Whether the resident had died by `at`: a death date after `at` is not yet known at `at`;
/// a death recorded without a date counts whenever it is evaluated.
fn dead_by(d: &Demographics, at: OffsetDateTime) -> bool {
    d.death.map_or(d.deceased, |t| t <= at)
}

#[cfg(test)]
mod testkit;
