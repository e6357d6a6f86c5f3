//! Full recomputation of a stored log: contents, leaves, interior nodes, head, checkpoint.

use redb::{ReadTransaction, ReadableTable};

use super::tables::*;
use super::{StoreError, read_head};
use crate::canonical::{canonical_sha256_of_json, to_canonical};
use crate::merkle::{self, Frontier};
use crate::note::{Checkpoint, NoteVerifier};
use crate::record::Envelope;

/// One thing `fsck` found wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FsckProblem {
    /// The leaf index concerned, if the problem is about one record.
    pub index: Option<u64>,
    pub what: String,
}

impl std::fmt::Display for FsckProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.index {
            Some(i) => write!(f, "record {i}: {}", self.what),
            None => f.write_str(&self.what),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct FsckReport {
    pub size: u64,
    pub records_checked: u64,
    pub contents_checked: u64,
    pub nodes_checked: u64,
    pub problems: Vec<FsckProblem>,
}

impl FsckReport {
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    fn problem(&mut self, index: Option<u64>, what: impl Into<String>) {
        self.problems.push(FsckProblem {
            index,
            what: what.into(),
        });
    }
}

pub(super) fn run(
    txn: &ReadTransaction,
    origin: &str,
    verifier: &NoteVerifier,
) -> Result<FsckReport, StoreError> {
    let meta = txn.open_table(META)?;
    let head = read_head(&meta)?;
    let envelopes = txn.open_table(ENVELOPES)?;
    let contents = txn.open_table(CONTENTS)?;
    let nodes = txn.open_table(NODES)?;
    let versions = txn.open_table(VERSIONS)?;
    let mut report = FsckReport {
        size: head.size,
        ..Default::default()
    };

    // Leaves and contents, rebuilding the tree from the leaves as we go.
    let mut rebuilt = Frontier::empty();
    for i in 0..head.size {
        let Some(env_bytes) = envelopes.get(i)? else {
            report.problem(Some(i), "envelope missing");
            continue;
        };
        let env_bytes = env_bytes.value();
        report.records_checked += 1;
        let leaf = merkle::leaf_hash(env_bytes);
        rebuilt.push(leaf, |_, _, _| {});
        match nodes.get(node_key(0, i))? {
            Some(h) if h.value() == leaf => {}
            Some(_) => report.problem(
                Some(i),
                "stored leaf hash differs from the hash of its envelope",
            ),
            None => report.problem(Some(i), "leaf hash missing"),
        }
        let env: Envelope = match serde_json::from_slice(env_bytes) {
            Ok(e) => e,
            Err(e) => {
                report.problem(Some(i), format!("envelope does not parse: {e}"));
                continue;
            }
        };
        if to_canonical(&env).ok().as_deref() != Some(env_bytes) {
            report.problem(Some(i), "envelope is not in canonical form");
        }
        if env.origin != origin {
            report.problem(
                Some(i),
                format!("envelope origin '{}' is not this log's", env.origin),
            );
        }
        let key = format!("{}/{}", env.kind, env.id);
        match versions.get((key.as_str(), env.version))? {
            Some(ix) if ix.value() == i => {}
            _ => report.problem(
                Some(i),
                format!("version index does not point at {key} v{}", env.version),
            ),
        }
        if let Some(content) = contents.get(i)? {
            report.contents_checked += 1;
            match canonical_sha256_of_json(content.value()) {
                Ok(h) if hex::encode(h) == env.content_sha256 => {}
                Ok(h) => report.problem(
                    Some(i),
                    format!(
                        "content hash {} differs from the envelope's content_sha256 {}",
                        hex::encode(h),
                        env.content_sha256
                    ),
                ),
                Err(e) => report.problem(Some(i), format!("content does not parse: {e}")),
            }
        }
    }

    // Every stored interior node against its two children.
    for row in nodes.iter()? {
        let (k, h) = row?;
        let (level, index) = split_node_key(k.value());
        report.nodes_checked += 1;
        let width = 1u64.checked_shl(u32::from(level)).unwrap_or(u64::MAX);
        if index.saturating_add(1).saturating_mul(width) > head.size {
            report.problem(
                Some(index.saturating_mul(width)),
                format!("tree node (level {level}, index {index}) lies beyond the head"),
            );
            continue;
        }
        if level == 0 {
            continue;
        }
        let l = nodes.get(node_key(level - 1, 2 * index))?;
        let r = nodes.get(node_key(level - 1, 2 * index + 1))?;
        match (l, r) {
            (Some(l), Some(r)) if merkle::node_hash(&l.value(), &r.value()) == h.value() => {}
            _ => report.problem(
                Some(index * width),
                format!("tree node (level {level}, index {index}) does not hash its children"),
            ),
        }
    }

    if rebuilt.root() != head.root {
        report.problem(
            None,
            "root recomputed from the envelopes differs from the stored head",
        );
    }
    match meta.get(META_CHECKPOINT)? {
        None => report.problem(None, "no checkpoint stored"),
        Some(cp) => match std::str::from_utf8(cp.value())
            .map_err(|e| e.to_string())
            .and_then(|t| Checkpoint::open_signed(t, verifier).map_err(|e| e.to_string()))
        {
            Ok(cp) if cp.size == head.size && cp.root == head.root && cp.origin == origin => {}
            Ok(_) => report.problem(None, "checkpoint does not match the stored head"),
            Err(e) => report.problem(None, format!("checkpoint: {e}")),
        },
    }
    Ok(report)
}
