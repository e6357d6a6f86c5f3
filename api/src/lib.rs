//! HealthLedger's HTTP API (axum): the FHIR R4 facade with proofs, the ledger and proof API,
//! QC, consent relay, the access audit and authentication. It knows the chain and the QC
//! service only through the [`ports`] traits, which the node implements, so that this crate
//! depends on the ledger and indexer alone.

pub mod audit;
pub mod auth;
pub mod config;
pub mod consent;
pub mod consortium_api;
pub mod error;
pub mod fhir;
pub mod ledger_api;
pub mod metrics;
pub mod ops;
pub mod ports;
pub mod qc_api;
pub mod resident;
pub mod server;
pub mod state;

pub use config::ApiConfig;
pub use error::ApiError;
pub use server::{router, serve};
pub use state::AppState;
