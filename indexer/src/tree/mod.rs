//! The resident knowledge tree: resident pseudonym → records → encounters → acts, built only
//! from the log.
//!
//! Keys: a resident is its hex pseudonym (the envelope's `resident`); a resource is its
//! [`ResourceKey`] `Kind/id`, and the latest version of `Kind/id` (highest envelope `version`)
//! is the one the tree reads; every version's leaf index stays listed behind the node.
//! Encounters and acts are *derived* from a resident's latest resources by [`ResidentTree`]'s
//! reindex (once per touched resident per `catch_up`), never patched in place, which is what
//! makes incremental application equal a full rebuild: both end in the same resource maps and
//! derive the same index from them.

mod query;
mod resident;
mod single;

use std::collections::BTreeMap;

use hl_ledger::Ledger;
use hl_ledger::record::Envelope;
use hl_ledger::store::{StoreError, StoredRecord};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

pub use query::{Node, Problem, TimelineFilter, TimelineItem};
pub use resident::{Content, EncounterNode, ResidentTree, ResourceKey, ResourceNode};

/// Why the tree could not take a record.
#[derive(Debug, thiserror::Error)]
pub enum TreeError {
    #[error("reading the log: {0}")]
    Store(#[from] StoreError),
    #[error("record {index}: the envelope is not valid JSON: {reason}")]
    BadEnvelope { index: u64, reason: String },
    #[error("record {index} is missing from the log")]
    MissingRecord { index: u64 },
    /// The tree follows the log in order, so that version order and log order agree and a
    /// resource that changed resident is moved, not duplicated.
    #[error("record {got} applied out of order: the tree expects record {expected} next")]
    OutOfOrder { expected: u64, got: u64 },
    /// A record handed in for one resident's tree names another resident, or none.
    #[error("record {index} belongs to resident {found:?}, not to {expected}")]
    OtherResident {
        index: u64,
        expected: String,
        found: Option<String>,
    },
}

/// One record as the tree keeps it: its content read and checked against the envelope's
/// content hash once, the same way whichever builder applies it (a rebuild, one resident
/// from the log, or records another institution sent).
struct Incoming {
    key: ResourceKey,
    version: u32,
    recorded: Option<OffsetDateTime>,
    content: Content,
    /// The content bytes do not reproduce the envelope's `content_sha256`.
    mismatch: bool,
}

impl Incoming {
    fn read(envelope: &Envelope, content: Option<&[u8]>) -> Self {
        let (content, hash_ok) = Content::read_checked(content, Some(&envelope.content_sha256));
        Self {
            key: ResourceKey::new(&envelope.kind, &envelope.id),
            version: envelope.version,
            recorded: OffsetDateTime::parse(&envelope.recorded, &Rfc3339).ok(),
            content,
            mismatch: hash_ok == Some(false),
        }
    }
}

impl ResidentTree {
    /// Adds record `index` (with `moved`, the node taken from another holder); the index is
    /// stale until [`ResidentTree::reindex`], as after [`ResidentTree::put`].
    fn put_incoming(&mut self, index: u64, r: Incoming, moved: Option<ResourceNode>) {
        let key = r.key.clone();
        self.put(r.key, index, r.version, r.recorded, r.content, moved);
        if r.mismatch {
            self.mark_content_mismatch(&key, r.version);
        }
    }
}

/// Log record `index` and its envelope: both tree builders read the log this way, and a
/// record they cannot read stops them with the same error.
fn read_record(ledger: &Ledger, index: u64) -> Result<(StoredRecord, Envelope), TreeError> {
    let rec = ledger
        .record(index)?
        .ok_or(TreeError::MissingRecord { index })?;
    let envelope: Envelope =
        serde_json::from_slice(&rec.envelope).map_err(|e| TreeError::BadEnvelope {
            index,
            reason: e.to_string(),
        })?;
    Ok((rec, envelope))
}

/// Every resident's tree, plus the resources of no resident (Organization, Practitioner…).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KnowledgeTree {
    /// Number of log records applied: the next `apply` must be this index.
    size: u64,
    residents: BTreeMap<String, ResidentTree>,
    /// Which resident holds the latest version of each resource (`None`: no resident).
    owners: BTreeMap<ResourceKey, Option<String>>,
    shared: BTreeMap<ResourceKey, ResourceNode>,
}

impl KnowledgeTree {
    pub fn new() -> Self {
        Self::default()
    }

    /// A tree of every record of the log.
    pub fn rebuild(ledger: &Ledger) -> Result<Self, TreeError> {
        let mut tree = Self::new();
        tree.catch_up(ledger)?;
        Ok(tree)
    }

    /// Applies the records appended to the log since the last call; returns the residents
    /// touched, so that only they need re-evaluating.
    ///
    /// Each touched resident's index is derived once, after its last record, not once per
    /// record: a resident's rebuild is then linear in its records instead of quadratic.
    pub fn catch_up(&mut self, ledger: &Ledger) -> Result<Vec<String>, TreeError> {
        let mut touched = Vec::new();
        let read = self.catch_up_deferred(ledger, &mut touched);
        touched.sort();
        touched.dedup();
        // Also on error: the records applied before it stay applied, and their residents must
        // not be left with a stale index.
        self.reindex(&touched);
        read.map(|()| touched)
    }

    fn catch_up_deferred(
        &mut self,
        ledger: &Ledger,
        touched: &mut Vec<String>,
    ) -> Result<(), TreeError> {
        let head = ledger.head()?;
        for index in self.size..head.size {
            let (rec, envelope) = read_record(ledger, index)?;
            touched.extend(self.apply_deferred(index, &envelope, rec.content.as_deref())?);
        }
        Ok(())
    }

    fn reindex(&mut self, residents: &[String]) {
        for r in residents {
            if let Some(t) = self.residents.get_mut(r) {
                t.reindex();
            }
        }
    }

    /// Applies record `index` (its envelope and content bytes, `None` if erased). Returns the
    /// residents whose tree changed: the record's resident and, if the resource moved from
    /// another resident, that one too. Their indexes are up to date on return; to apply many
    /// records, [`KnowledgeTree::catch_up`] is cheaper.
    pub fn apply(
        &mut self,
        index: u64,
        envelope: &Envelope,
        content: Option<&[u8]>,
    ) -> Result<Vec<String>, TreeError> {
        let touched = self.apply_deferred(index, envelope, content)?;
        self.reindex(&touched);
        Ok(touched)
    }

    /// [`KnowledgeTree::apply`] without deriving the touched residents' indexes.
    fn apply_deferred(
        &mut self,
        index: u64,
        envelope: &Envelope,
        content: Option<&[u8]>,
    ) -> Result<Vec<String>, TreeError> {
        if index != self.size {
            return Err(TreeError::OutOfOrder {
                expected: self.size,
                got: index,
            });
        }
        self.size += 1;
        let incoming = Incoming::read(envelope, content);
        let key = incoming.key.clone();
        let owner = envelope.resident.clone();
        let mut touched = Vec::new();

        // A later version under another resident (or none) takes the node, with its version
        // history, from the previous holder: one resource has one latest version.
        let mut node = match self.owners.get(&key) {
            Some(prev) if *prev != owner => match prev {
                Some(r) => {
                    let t = self.residents.get_mut(r).and_then(|t| t.take(&key));
                    touched.push(r.clone());
                    t
                }
                None => self.shared.remove(&key),
            },
            _ => None,
        };
        self.owners.insert(key.clone(), owner.clone());
        match owner {
            Some(r) => {
                self.residents
                    .entry(r.clone())
                    .or_insert_with(|| ResidentTree::new(&r))
                    .put_incoming(index, incoming, node.take());
                touched.push(r);
            }
            None => {
                let slot = self.shared.entry(key.clone());
                let n = slot.or_insert_with(|| {
                    node.take()
                        .unwrap_or_else(|| ResourceNode::new(key, incoming.version, index))
                });
                n.add_version(incoming.version, index, incoming.recorded, incoming.content);
                if incoming.mismatch {
                    n.content_mismatch.insert(incoming.version);
                }
            }
        }
        Ok(touched)
    }

    /// Records applied so far.
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn resident(&self, pseudonym: &str) -> Option<&ResidentTree> {
        self.residents.get(pseudonym)
    }

    pub fn residents(&self) -> impl Iterator<Item = &ResidentTree> {
        self.residents.values()
    }

    /// A resource of no resident, by `Kind/id`.
    pub fn shared(&self, key: &ResourceKey) -> Option<&ResourceNode> {
        self.shared.get(key)
    }
}

#[cfg(test)]
mod tests;
