//! HealthLedger's verifiable record log: FHIR records, the RFC 9162 Merkle log, C2SP
//! checkpoints and the durable store. A plain library: no HTTP, chains or networks.

pub mod merkle;
