//! Full recomputation of a stored log: contents, leaves, interior nodes, head, checkpoint.

use redb::{ReadTransaction, ReadableTable};

use super::tables::*;
use super::{StoreError, read_head};
use crate::canonical::canonical_sha256_of_json;
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
    let records = txn.open_table(RECORDS)?;
    let nodes = txn.open_table(NODES)?;
    let versions = txn.open_table(VERSIONS)?;
    let mut report = FsckReport {
        size: head.size,
        ..Default::default()
    };

    // Leaves and contents, rebuilding the tree from the leaves as we go; each pair of leaves
    // is checked against the stored level-1 node above it.
    let mut rebuilt = Frontier::empty();
    let mut left_leaf = None;
    for i in 0..head.size {
        let Some(value) = records.get(i)? else {
            report.problem(Some(i), "record missing");
            continue;
        };
        let Some((env_bytes, content)) = decode_record(value.value()) else {
            report.problem(Some(i), "record is malformed");
            continue;
        };
        report.records_checked += 1;
        let leaf = merkle::leaf_hash(env_bytes);
        rebuilt.push(leaf, |_, _, _| {});
        if i % 2 == 0 {
            left_leaf = Some(leaf);
        } else if let Some(left) = left_leaf.take() {
            match nodes.get(node_key(1, i / 2))? {
                Some(h) if h.value() == merkle::node_hash(&left, &leaf) => {}
                Some(_) => report.problem(
                    Some(i - 1),
                    format!(
                        "records {} and {i} do not hash to the stored tree node (level 1, index {})",
                        i - 1,
                        i / 2
                    ),
                ),
                None => report.problem(Some(i - 1), format!("tree node (level 1, index {}) missing", i / 2)),
            }
        }
        let env: Envelope = match serde_json::from_slice(env_bytes) {
            Ok(e) => e,
            Err(e) => {
                report.problem(Some(i), format!("envelope does not parse: {e}"));
                continue;
            }
        };
        if env.leaf_data() != env_bytes {
            report.problem(Some(i), "envelope is not in canonical form");
        }
        if env.origin != origin {
            report.problem(
                Some(i),
                format!("envelope origin '{}' is not this log's", env.origin),
            );
        }
        let key = format!("{}/{}", env.kind, env.id);
        match versions.get((resource_key(&env.kind, &env.id), env.version))? {
            Some(v) if ResourceState::decode(v.value()).is_some_and(|s| s.index == i) => {}
            _ => report.problem(
                Some(i),
                format!("version index does not point at {key} v{}", env.version),
            ),
        }
        if let Some(content) = content {
            report.contents_checked += 1;
            match canonical_sha256_of_json(content) {
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
        if level <= 1 {
            // Level 0 is not stored; level 1 was checked against the records above.
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
