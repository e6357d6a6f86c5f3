//! Field-level rules (DOMAIN.md §4.2).

mod elements;
mod identity;
mod shared;

pub use elements::{
    F04RequiredElements, F05RecognisedSystem, F06UnitAllowed, F07PlausibleRange, F08NoFutureDates,
};
pub use identity::{F01IdCardValid, F02ArchiveNumber, F03CoreDemographics};
pub(super) use shared::{LOINC, finding, finding_with_severity, loinc_codes, per_record};

#[cfg(test)]
mod tests;
