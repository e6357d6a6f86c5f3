//! HealthLedger's resident knowledge tree and data-quality rules.
//!
//! Everything here is derived from the record log alone (`hl_ledger::Ledger`), so the tree and
//! every finding can be rebuilt deterministically at any time and cite the leaf indices of
//! their evidence.

pub mod events;
pub mod identity;
pub mod model;
pub mod programme;
pub mod qc;
pub mod score;
pub mod tree;

#[cfg(test)]
mod testutil;
