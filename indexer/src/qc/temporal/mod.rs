//! Temporal rules within one resident (DOMAIN.md §4.5): dates against birth and death,
//! programme cadence over a look-back window, two-week contacts, and the child schedules.
//!
//! Every rule judges the resident as of the evaluation instant `at` only: records dated after
//! it are not yet known, and a requirement is not reported before it could have been met.

mod child;
mod chronic;
mod contact;
mod dates;
#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod listing_tests;
mod window;

pub use child::{T09ChildCheckSchedule, T10VaccineMinimumAge};
pub use chronic::{
    T03HtnFollowUpCadence, T04T2dFollowUpCadence, T05GlycaemicGap, T08AnnualHealthCheck,
};
pub use contact::{T06UncontrolledRevisit, T07ReferralContact};
pub use dates::{T01EventBeforeBirth, T02EventAfterDeath};
