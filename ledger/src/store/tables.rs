//! The redb tables of a log and the encodings of their keys and values.

use redb::{ReadableTable, TableDefinition};

use crate::merkle::{Hash, NodeSource};
use crate::pseudonym::{Pseudonym, ResidentScope};

/// Log-wide values: see the `META_*` keys.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Leaf index → leaf data (the canonical envelope).
pub const ENVELOPES: TableDefinition<u64, &[u8]> = TableDefinition::new("envelopes");
/// Leaf index → the exact received bytes of the content. Absent once erased.
pub const CONTENTS: TableDefinition<u64, &[u8]> = TableDefinition::new("contents");
/// `node_key(level, index)` → hash of that complete subtree; level 0 holds the leaf hashes.
pub const NODES: TableDefinition<u64, Hash> = TableDefinition::new("nodes");
/// `Kind/id` → [`ResourceState`] of its latest version.
pub const RESOURCES: TableDefinition<&str, &[u8]> = TableDefinition::new("resources");
/// (`Kind/id`, version) → leaf index.
pub const VERSIONS: TableDefinition<(&str, u32), u64> = TableDefinition::new("versions");
/// (resident pseudonym, leaf index) → nothing: the records of each resident, in log order.
pub const RESIDENT_RECORDS: TableDefinition<(Pseudonym, u64), ()> =
    TableDefinition::new("resident_records");

pub const META_FORMAT: &str = "format";
pub const META_ORIGIN: &str = "origin";
pub const META_SIZE: &str = "size";
pub const META_ROOT: &str = "root";
pub const META_CHECKPOINT: &str = "checkpoint";
pub const META_VERIFIER: &str = "verifier";

/// Store format written by this version.
pub const FORMAT: &[u8] = b"healthledger-store/1";

pub fn node_key(level: u8, index: u64) -> u64 {
    debug_assert!(index < 1 << 56);
    (u64::from(level) << 56) | index
}

pub fn split_node_key(key: u64) -> (u8, u64) {
    ((key >> 56) as u8, key & ((1 << 56) - 1))
}

/// The latest version of one resource and the resident it belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceState {
    pub index: u64,
    pub version: u32,
    pub resident: Option<(Pseudonym, ResidentScope)>,
}

impl ResourceState {
    pub const LEN: usize = 8 + 4 + 1 + 32;

    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut out = [0u8; Self::LEN];
        out[..8].copy_from_slice(&self.index.to_le_bytes());
        out[8..12].copy_from_slice(&self.version.to_le_bytes());
        if let Some((p, scope)) = self.resident {
            out[12] = match scope {
                ResidentScope::Consortium => 1,
                ResidentScope::Institution => 2,
            };
            out[13..].copy_from_slice(&p);
        }
        out
    }

    pub fn decode(b: &[u8]) -> Option<Self> {
        if b.len() != Self::LEN {
            return None;
        }
        let index = u64::from_le_bytes(b[..8].try_into().ok()?);
        let version = u32::from_le_bytes(b[8..12].try_into().ok()?);
        let scope = match b[12] {
            0 => None,
            1 => Some(ResidentScope::Consortium),
            2 => Some(ResidentScope::Institution),
            _ => return None,
        };
        let resident = match scope {
            None => None,
            Some(s) => Some((b[13..].try_into().ok()?, s)),
        };
        Some(Self {
            index,
            version,
            resident,
        })
    }
}

/// A [`NodeSource`] over any open view of the `nodes` table.
pub struct TableNodes<'t, T>(pub &'t T);

/// A node the tree structure says must exist is not in the table.
#[derive(Debug, thiserror::Error)]
pub enum NodeReadError {
    #[error(transparent)]
    Storage(#[from] redb::StorageError),
    #[error("tree node (level {level}, index {index}) is missing from the store")]
    Missing { level: u8, index: u64 },
}

impl<T: ReadableTable<u64, Hash>> NodeSource for TableNodes<'_, T> {
    type Error = NodeReadError;
    fn node(&self, level: u8, index: u64) -> Result<Hash, NodeReadError> {
        match self.0.get(node_key(level, index))? {
            Some(h) => Ok(h.value()),
            None => Err(NodeReadError::Missing { level, index }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_state_roundtrip() {
        for resident in [
            None,
            Some(([5; 32], ResidentScope::Institution)),
            Some(([6; 32], ResidentScope::Consortium)),
        ] {
            let s = ResourceState {
                index: 1 << 40,
                version: 7,
                resident,
            };
            assert_eq!(ResourceState::decode(&s.encode()), Some(s));
        }
        assert_eq!(ResourceState::decode(&[0; 3]), None);
    }

    #[test]
    fn node_keys_order_by_level_then_index() {
        assert!(node_key(0, u64::from(u32::MAX)) < node_key(1, 0));
        assert_eq!(split_node_key(node_key(9, 12345)), (9, 12345));
    }
}
