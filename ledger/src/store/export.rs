//! Proof bundles cut from one read snapshot, so records, proofs and checkpoint agree.

use std::cell::RefCell;
use std::collections::HashMap;

use redb::ReadableDatabase;
use serde_json::value::RawValue;

use super::tables::*;
use super::{Ledger, StoreError};
use crate::merkle;
use crate::note::Checkpoint;
use crate::proof_bundle::{AnchorConsistency, FORMAT, ProofBundle, ProvenRecord};
use crate::pseudonym::Pseudonym;

impl Ledger {
    /// A proof bundle of the given records against the latest checkpoint; with
    /// `anchored_size`, also the consistency proof from that (anchored) size to the checkpoint.
    pub fn proof_bundle(
        &self,
        indices: &[u64],
        anchored_size: Option<u64>,
    ) -> Result<ProofBundle, StoreError> {
        let txn = self.db.begin_read()?;
        let meta = txn.open_table(META)?;
        let cp_bytes = meta
            .get(META_CHECKPOINT)?
            .ok_or_else(|| StoreError::Corrupt("no checkpoint stored".into()))?;
        let checkpoint = String::from_utf8(cp_bytes.value().to_vec())
            .map_err(|_| StoreError::Corrupt("stored checkpoint is not UTF-8".into()))?;
        let cp = Checkpoint::open_signed(&checkpoint, &self.verifier)?;
        let stored = txn.open_table(RECORDS)?;
        let nodes = txn.open_table(NODES)?;
        let tables = TableNodes {
            nodes: &nodes,
            records: &stored,
        };
        let src = Memo {
            src: &tables,
            seen: RefCell::new(HashMap::new()),
        };
        let mut records = Vec::with_capacity(indices.len());
        for &index in indices {
            let value = stored.get(index)?.ok_or(StoreError::BeyondHead {
                requested: index,
                size: cp.size,
            })?;
            let (env, content) = decode_record(value.value())
                .ok_or_else(|| StoreError::Corrupt(format!("record {index} is malformed")))?;
            let envelope = raw_json(env, index)?;
            let content = match content {
                Some(c) => Some(raw_json(c, index)?),
                None => None,
            };
            let proof = merkle::inclusion_proof_from(&src, index, cp.size)?;
            records.push(ProvenRecord {
                index,
                envelope,
                content,
                proof: proof.iter().map(|h| crate::hexfmt::encode(h)).collect(),
            });
        }
        let anchor_consistency = match anchored_size {
            Some(old) if old >= 1 && old <= cp.size => Some(AnchorConsistency {
                old_size: old,
                proof: merkle::consistency_proof_from(&src, old, cp.size)?
                    .iter()
                    .map(|h| crate::hexfmt::encode(h))
                    .collect(),
            }),
            _ => None,
        };
        Ok(ProofBundle {
            anchor_consistency,
            format: FORMAT.to_owned(),
            verifier_key: self.verifier.to_string(),
            checkpoint,
            records,
        })
    }

    /// A proof bundle of every record of one resident (see [`Ledger::proof_bundle`]).
    pub fn export_resident(
        &self,
        resident: &Pseudonym,
        anchored_size: Option<u64>,
    ) -> Result<ProofBundle, StoreError> {
        let indices = self.resident_records(resident)?;
        self.proof_bundle(&indices, anchored_size)
    }
}

/// Proofs of neighbouring leaves share most of their nodes (and every sibling leaf hash is a
/// record read plus a SHA-256): each node is read once per bundle.
struct Memo<'a, S> {
    src: &'a S,
    seen: RefCell<HashMap<(u8, u64), merkle::Hash>>,
}

impl<S: merkle::NodeSource> merkle::NodeSource for Memo<'_, S> {
    type Error = S::Error;
    fn node(&self, level: u8, index: u64) -> Result<merkle::Hash, S::Error> {
        if let Some(h) = self.seen.borrow().get(&(level, index)) {
            return Ok(*h);
        }
        let h = self.src.node(level, index)?;
        self.seen.borrow_mut().insert((level, index), h);
        Ok(h)
    }
}

fn raw_json(bytes: &[u8], index: u64) -> Result<Box<RawValue>, StoreError> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| StoreError::Corrupt(format!("record {index} is not UTF-8")))?;
    RawValue::from_string(text.to_owned())
        .map_err(|e| StoreError::Corrupt(format!("record {index} is not JSON: {e}")))
}
