//! The services `healthledger node` runs and the HTTP API reaches through `hl_api::ports`:
//! the chain (one connection shared by anchoring and the API) and QC.

pub mod chain;
pub mod qc;
mod qc_consortium;
