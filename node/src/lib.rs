//! The `healthledger` node: configuration, commands and synthetic data. The binary in
//! `main.rs` is a thin shell over this library so that benches and tests reuse the same code.

pub mod chain;
pub mod cli;
pub mod commands;
pub mod config;
pub mod consortium;
pub mod daemon;
pub mod net;
pub mod qc;
pub mod service;
pub mod synth;
