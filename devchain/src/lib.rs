//! HealthLedger's embedded chain: an in-process EVM (revm) with instant mining — one block per
//! transaction — whose state and blocks live in redb, answering the Ethereum JSON-RPC subset
//! the node and ordinary tools need as a `tower::Service` that alloy uses in-process.

mod blocks;
mod error;
mod executor;
mod http_server;
mod rpc_service;
mod state_store;

pub use error::ChainError;
pub use executor::{Chain, ChainConfig};
pub use http_server::HttpServer;
pub use rpc_service::RpcService;
