//! The redb tables of a log and the encodings of their keys and values.

use redb::{ReadableTable, TableDefinition};

use crate::merkle::{Hash, NodeSource};
use crate::pseudonym::{Pseudonym, ResidentScope};

/// Log-wide values: see the `META_*` keys.
pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
/// Leaf index → the record: leaf data (canonical envelope) and content, see [`encode_record`].
/// One table, so that a record costs one B-tree insert.
pub const RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("records");
/// `node_key(level, index)` → hash of that complete subtree, for levels 1 and up. Leaf
/// hashes are not stored: a leaf is the hash of its record's envelope, one read away.
pub const NODES: TableDefinition<u64, Hash> = TableDefinition::new("nodes");
/// ([`resource_key`], version) → [`ResourceState`] of that version. The last key of a
/// resource is its latest version. Fixed 20-byte keys keep this randomly-written index small.
pub const VERSIONS: TableDefinition<(ResourceKey, u32), &[u8]> = TableDefinition::new("versions");

/// The first 16 bytes of SHA-256(`Kind/id`): collision-free in practice (2^-64 at 4 billion
/// resources), fixed width, and the same for every version of a resource.
pub type ResourceKey = [u8; 16];

pub fn resource_key(kind: &str, id: &str) -> ResourceKey {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    h.update(kind.as_bytes());
    h.update(b"/");
    h.update(id.as_bytes());
    let d = h.finalize();
    let mut k = [0u8; 16];
    k.copy_from_slice(&d[..16]);
    k
}
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

/// Record value: a flag byte (bit 0: content present), the envelope length (u32 LE), the
/// envelope, then the content. Erasing content keeps the envelope and so every proof.
pub fn encode_record(envelope: &[u8], content: Option<&[u8]>) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + envelope.len() + content.map_or(0, <[u8]>::len));
    out.push(u8::from(content.is_some()));
    out.extend_from_slice(&(envelope.len() as u32).to_le_bytes());
    out.extend_from_slice(envelope);
    if let Some(c) = content {
        out.extend_from_slice(c);
    }
    out
}

/// (envelope, content) of a record value, or `None` if it is malformed.
pub fn decode_record(b: &[u8]) -> Option<(&[u8], Option<&[u8]>)> {
    let (&flags, rest) = b.split_first()?;
    let len = u32::from_le_bytes(rest.get(..4)?.try_into().ok()?) as usize;
    let envelope = rest.get(4..4 + len)?;
    let tail = &rest[4 + len..];
    match flags {
        0 if tail.is_empty() => Some((envelope, None)),
        1 => Some((envelope, Some(tail))),
        _ => None,
    }
}

/// One version of a resource: its leaf index and, for a Patient, the resident it is (what
/// later `Patient/<id>` references resolve to).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResourceState {
    pub index: u64,
    pub resident: Option<(Pseudonym, ResidentScope)>,
}

impl ResourceState {
    /// 8 bytes of index, then for a resident a scope byte and the 32-byte pseudonym.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(41);
        out.extend_from_slice(&self.index.to_le_bytes());
        if let Some((p, scope)) = self.resident {
            out.push(match scope {
                ResidentScope::Consortium => 1,
                ResidentScope::Institution => 2,
            });
            out.extend_from_slice(&p);
        }
        out
    }

    pub fn decode(b: &[u8]) -> Option<Self> {
        let index = u64::from_le_bytes(b.get(..8)?.try_into().ok()?);
        let resident = match b.len() {
            8 => None,
            41 => {
                let scope = match b[8] {
                    1 => ResidentScope::Consortium,
                    2 => ResidentScope::Institution,
                    _ => return None,
                };
                Some((b[9..].try_into().ok()?, scope))
            }
            _ => return None,
        };
        Some(Self { index, resident })
    }
}

/// The latest version of a resource and its state; `Err` names a corrupt entry.
pub fn latest_version(
    versions: &impl ReadableTable<(ResourceKey, u32), &'static [u8]>,
    key: &ResourceKey,
) -> Result<Option<(u32, ResourceState)>, redb::StorageError> {
    let Some(row) = versions.range((*key, 0)..=(*key, u32::MAX))?.next_back() else {
        return Ok(None);
    };
    let (k, v) = row?;
    let version = k.value().1;
    match ResourceState::decode(v.value()) {
        Some(s) => Ok(Some((version, s))),
        None => Err(redb::StorageError::Corrupted(format!(
            "bad version entry {} v{version}",
            hex::encode(key)
        ))),
    }
}

/// A [`NodeSource`] over open views of the `nodes` and `records` tables.
pub struct TableNodes<'t, N, R> {
    pub nodes: &'t N,
    pub records: &'t R,
}

/// A node the tree structure says must exist is not in the table.
#[derive(Debug, thiserror::Error)]
pub enum NodeReadError {
    #[error(transparent)]
    Storage(#[from] redb::StorageError),
    #[error("tree node (level {level}, index {index}) is missing from the store")]
    Missing { level: u8, index: u64 },
}

impl<N, R> NodeSource for TableNodes<'_, N, R>
where
    N: ReadableTable<u64, Hash>,
    R: ReadableTable<u64, &'static [u8]>,
{
    type Error = NodeReadError;
    fn node(&self, level: u8, index: u64) -> Result<Hash, NodeReadError> {
        if level == 0 {
            let rec = self.records.get(index)?;
            return match rec.as_ref().and_then(|r| decode_record(r.value())) {
                Some((envelope, _)) => Ok(crate::merkle::leaf_hash(envelope)),
                None => Err(NodeReadError::Missing { level, index }),
            };
        }
        match self.nodes.get(node_key(level, index))? {
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
                resident,
            };
            assert_eq!(ResourceState::decode(&s.encode()), Some(s));
        }
        assert_eq!(ResourceState::decode(&[0; 3]), None);
        assert_eq!(ResourceState::decode(&[0; 12]), None);
        assert_ne!(
            resource_key("Patient", "1"),
            resource_key("Observation", "1")
        );
        assert_eq!(resource_key("Patient", "1"), resource_key("Patient", "1"));
    }

    #[test]
    fn record_roundtrip() {
        let with = encode_record(b"{env}", Some(b"{content}"));
        assert_eq!(
            decode_record(&with),
            Some((&b"{env}"[..], Some(&b"{content}"[..])))
        );
        let erased = encode_record(b"{env}", None);
        assert_eq!(decode_record(&erased), Some((&b"{env}"[..], None)));
        assert_eq!(decode_record(&with[..3]), None);
        assert_eq!(decode_record(&[7, 0, 0, 0, 0]), None);
    }

    #[test]
    fn node_keys_order_by_level_then_index() {
        assert!(node_key(0, u64::from(u32::MAX)) < node_key(1, 0));
        assert_eq!(split_node_key(node_key(9, 12345)), (9, 12345));
    }
}
