//! HealthLedger's resident knowledge tree and data-quality rules, and what is read from them:
//! programme obligations, the archive completeness score and resident events.
//!
//! Everything here is derived from the record log alone (`hl_ledger::Ledger`), an evaluation
//! instant and the parameter file, never the wall clock, so the tree, every finding, score and
//! event can be rebuilt deterministically at any time and cite the leaf indices of their
//! evidence.

pub mod assess;
pub mod events;
pub mod identity;
pub mod model;
pub mod programme;
pub mod qc;
pub mod score;
pub mod summary;
pub mod tree;

#[cfg(test)]
mod testutil;
