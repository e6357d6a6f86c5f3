//! One resident's part of the tree.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use crate::model::{Act, Observation, Patient, Resource};

#[cfg(test)]
thread_local! {
    /// Reindexes run on this thread, so a test can check that a rebuild derives each
    /// resident's index once.
    pub(crate) static REINDEXES: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// `Kind/id`, the identity of a resource across its versions.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceKey {
    pub kind: String,
    pub id: String,
}

impl ResourceKey {
    pub fn new(kind: &str, id: &str) -> Self {
        Self {
            kind: kind.to_owned(),
            id: id.to_owned(),
        }
    }
}

impl std::fmt::Display for ResourceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.kind, self.id)
    }
}

/// What the tree could read of a record's content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Boxed: most of a tree's nodes are read resources, but the enum should not make the
    /// other variants as large as the biggest view.
    Read(Box<Resource>),
    /// The content was erased; the envelope (and so the leaf) remains.
    Erased,
    /// The content is in the log but not readable as its view. Kept with the reason, because a
    /// record the rules cannot read is itself a finding, not something to drop.
    Unreadable(String),
}

impl Content {
    /// [`Content::read_checked`] without a hash, for trees built without envelopes (tests).
    #[cfg(test)]
    pub(crate) fn read(bytes: Option<&[u8]>) -> Self {
        Self::read_checked(bytes, None).0
    }

    /// The content of a record, and whether its bytes reproduce `content_sha256` (hex SHA-256
    /// of their RFC 8785 form, the ledger's content hash): `None` when there are no bytes or no
    /// hash to compare. The JSON is parsed once for both.
    pub(crate) fn read_checked(
        bytes: Option<&[u8]>,
        content_sha256: Option<&str>,
    ) -> (Self, Option<bool>) {
        let Some(bytes) = bytes else {
            return (Self::Erased, None);
        };
        let value: serde_json::Value = match serde_json::from_slice(bytes) {
            Ok(v) => v,
            Err(e) => {
                return (
                    Self::Unreadable(e.to_string()),
                    content_sha256.map(|_| false),
                );
            }
        };
        let matches = content_sha256.map(|h| {
            hl_ledger::canonical::canonical_sha256(&value)
                .is_ok_and(|d| hex::encode(d).eq_ignore_ascii_case(h))
        });
        let content = match Resource::parse(&value) {
            Ok(r) => Self::Read(Box::new(r)),
            Err(e) => Self::Unreadable(e.to_string()),
        };
        (content, matches)
    }

    pub fn resource(&self) -> Option<&Resource> {
        match self {
            Self::Read(r) => Some(r),
            Self::Erased | Self::Unreadable(_) => None,
        }
    }
}

/// One resource: its latest version's content and the leaf index of every version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceNode {
    pub key: ResourceKey,
    /// version → leaf index, for every version seen.
    pub versions: BTreeMap<u32, u64>,
    /// The highest version and its leaf index.
    pub version: u32,
    pub leaf: u64,
    /// The envelope's `recorded` time of the latest version (when the log received it);
    /// `None` when the envelope's time cannot be read. QC-F08 compares clinical dates with it.
    pub recorded: Option<OffsetDateTime>,
    pub content: Content,
    /// Versions whose content, as the tree read it from the log, did not reproduce the
    /// envelope's `content_sha256`. Kept for every version, not only the latest: a changed old
    /// version is evidence even once superseded.
    pub content_mismatch: BTreeSet<u32>,
}

impl ResourceNode {
    pub(crate) fn new(key: ResourceKey, version: u32, leaf: u64) -> Self {
        Self {
            key,
            versions: BTreeMap::new(),
            version,
            leaf,
            recorded: None,
            content: Content::Erased,
            content_mismatch: BTreeSet::new(),
        }
    }

    /// Adds a version; it becomes the latest unless a higher version is already held (the
    /// latest version wins whatever order versions arrive in).
    pub(crate) fn add_version(
        &mut self,
        version: u32,
        leaf: u64,
        recorded: Option<OffsetDateTime>,
        content: Content,
    ) {
        self.versions.insert(version, leaf);
        if version >= self.version {
            self.version = version;
            self.leaf = leaf;
            self.recorded = recorded;
            self.content = content;
        }
    }

    pub fn resource(&self) -> Option<&Resource> {
        self.content.resource()
    }
}

/// An encounter and the acts recorded in it (by their keys, in key order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncounterNode {
    pub key: ResourceKey,
    pub leaf: u64,
    pub acts: BTreeSet<ResourceKey>,
}

/// One resident: every record, the latest version of each resource, and the derived
/// encounter → act index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResidentTree {
    pub pseudonym: String,
    /// Leaf indices of all this resident's records, as `Ledger::resident_records` lists them.
    pub records: BTreeSet<u64>,
    resources: BTreeMap<ResourceKey, ResourceNode>,
    encounters: BTreeMap<String, EncounterNode>,
    /// Acts naming no encounter, or one that is not (yet) among this resident's resources.
    unattached: BTreeSet<ResourceKey>,
}

impl ResidentTree {
    pub(crate) fn new(pseudonym: &str) -> Self {
        Self {
            pseudonym: pseudonym.to_owned(),
            records: BTreeSet::new(),
            resources: BTreeMap::new(),
            encounters: BTreeMap::new(),
            unattached: BTreeSet::new(),
        }
    }

    /// Adds a version of `key` (with `moved`, the node taken from another holder). The
    /// encounter index is stale until [`ResidentTree::reindex`]: a rebuild puts every record of
    /// a resident first and derives the index once, instead of once per record.
    pub(crate) fn put(
        &mut self,
        key: ResourceKey,
        leaf: u64,
        version: u32,
        recorded: Option<OffsetDateTime>,
        content: Content,
        moved: Option<ResourceNode>,
    ) {
        self.records.insert(leaf);
        let node = match moved {
            Some(n) => self.resources.entry(key).or_insert(n),
            None => self
                .resources
                .entry(key.clone())
                .or_insert_with(|| ResourceNode::new(key, version, leaf)),
        };
        node.add_version(version, leaf, recorded, content);
    }

    /// Marks `version` of `key` as not matching its content hash.
    pub(crate) fn mark_content_mismatch(&mut self, key: &ResourceKey, version: u32) {
        if let Some(n) = self.resources.get_mut(key) {
            n.content_mismatch.insert(version);
        }
    }

    /// Removes a resource whose newer version belongs to someone else; its records stay listed.
    /// Like [`ResidentTree::put`], leaves the index stale until [`ResidentTree::reindex`].
    pub(crate) fn take(&mut self, key: &ResourceKey) -> Option<ResourceNode> {
        self.resources.remove(key)
    }

    /// Re-derives encounters and acts from the resources. O(resources of this resident), and
    /// the only place the index is written, so no sequence of `put`s can leave it different
    /// from a rebuild.
    pub(crate) fn reindex(&mut self) {
        #[cfg(test)]
        REINDEXES.with(|c| c.set(c.get() + 1));
        let mut encounters: BTreeMap<String, EncounterNode> = self
            .resources
            .values()
            .filter(|n| n.key.kind == "Encounter")
            .map(|n| {
                (
                    n.key.id.clone(),
                    EncounterNode {
                        key: n.key.clone(),
                        leaf: n.leaf,
                        acts: BTreeSet::new(),
                    },
                )
            })
            .collect();
        let mut unattached = BTreeSet::new();
        for n in self.resources.values() {
            let Some(r) = n.resource() else { continue };
            if matches!(
                r,
                Resource::Patient(_) | Resource::Encounter(_) | Resource::Other { .. }
            ) {
                continue;
            }
            let enc = r.encounter_ref().and_then(|e| e.id_for("Encounter"));
            match enc.and_then(|id| encounters.get_mut(id)) {
                Some(e) => {
                    e.acts.insert(n.key.clone());
                }
                None => {
                    unattached.insert(n.key.clone());
                }
            }
        }
        self.encounters = encounters;
        self.unattached = unattached;
    }

    pub fn resource(&self, key: &ResourceKey) -> Option<&ResourceNode> {
        self.resources.get(key)
    }

    pub fn resources(&self) -> impl Iterator<Item = &ResourceNode> {
        self.resources.values()
    }

    /// The readable resources that count (DOMAIN.md §4.1 exclusion applied), with their
    /// content: what nearly every rule reads.
    pub fn counted(&self) -> impl Iterator<Item = (&ResourceNode, &Resource)> {
        self.resources
            .values()
            .filter_map(|n| n.resource().filter(|r| !r.is_excluded()).map(|r| (n, r)))
    }

    /// The counted Observations.
    pub fn counted_observations(&self) -> impl Iterator<Item = (&ResourceNode, &Observation)> {
        self.counted().filter_map(|(n, r)| match r {
            Resource::Observation(o) => Some((n, o)),
            _ => None,
        })
    }

    pub fn encounters(&self) -> impl Iterator<Item = &EncounterNode> {
        self.encounters.values()
    }

    pub fn encounter(&self, id: &str) -> Option<&EncounterNode> {
        self.encounters.get(id)
    }

    pub fn unattached(&self) -> impl Iterator<Item = &ResourceKey> {
        self.unattached.iter()
    }

    /// The latest version of each of the resident's Patient resources, with its leaf index. A
    /// resident can have several (one per institution or per id); they are never merged.
    pub fn patients(&self) -> impl Iterator<Item = (&ResourceNode, &Patient)> {
        self.resources.values().filter_map(|n| match n.resource() {
            Some(Resource::Patient(p)) => Some((n, p)),
            _ => None,
        })
    }

    /// Every act (latest versions), excluded ones included: rules apply the §4.1 exclusion
    /// themselves, since some rules (R04) look at exactly those records.
    pub fn acts(&self) -> impl Iterator<Item = Act> + '_ {
        self.resources.values().filter_map(|n| {
            Act::from_resource(
                n.resource()?,
                &n.key.kind,
                &n.key.id,
                n.version,
                n.leaf,
                &self.pseudonym,
            )
        })
    }
}
