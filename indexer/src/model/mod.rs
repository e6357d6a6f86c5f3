//! Typed views over the FHIR R4 resources the QC rules read, and the internal act model of
//! DOMAIN.md §1.3.
//!
//! Views are read-only projections parsed from `serde_json::Value`: they keep only what a
//! rule needs, never re-serialise, and the ledger keeps the received bytes as the truth.
//! A field that is present but malformed is an error ([`ModelError`]); a field that is absent
//! is `None`/empty, because absence is itself something QC rules must see and report.

mod act;
mod datatypes;
mod resources;

pub use act::{Act, ActPayload, Mood};
pub use datatypes::{CodeableConcept, Coding, FhirTime, Identifier, Period, Quantity, Reference};
pub use resources::{
    CarePlan, Communication, Component, Condition, Encounter, EpisodeOfCare, Gender, Immunization,
    Medication, Observation, Patient, Procedure, Request, Resource,
};

/// Why a resource could not be read into its typed view. Carries the FHIR path of the field so
/// a finding or a log line can point at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ModelError {
    #[error("the resource is not a JSON object")]
    NotAnObject,
    #[error("resourceType is {found:?}, expected {expected}")]
    WrongKind { expected: String, found: String },
    #[error("{path}: expected {expected}")]
    WrongType {
        path: String,
        expected: &'static str,
    },
    #[error("{path}: {value:?} is not a FHIR date or dateTime")]
    BadDate { path: String, value: String },
    #[error("{path}: {value:?} is not one of the allowed codes")]
    BadCode { path: String, value: String },
}
