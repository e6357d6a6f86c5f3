//! HealthLedger's verifiable record log: FHIR records, the RFC 9162 Merkle log, C2SP
//! checkpoints and the durable store. A plain library: no HTTP, chains or networks.

pub mod canonical;
pub mod gb11643;
pub mod hexfmt;
pub mod ijson;
pub mod input;
pub mod merkle;
pub mod note;
pub mod proof_bundle;
pub mod pseudonym;
pub mod record;
pub mod resource_types;
pub mod store;
pub mod time_fmt;

pub use store::{Ledger, PendingReceipt, Receipt, StoreError, StoreOptions, SubmitError, TreeHead};
