//! The durable log on redb: one writer thread with group commit, readers on snapshots.
//!
//! A submission is acknowledged only after the redb transaction holding it has committed with
//! `Durability::Immediate` (fsync, two-phase commit). Every committed group carries its own
//! signed checkpoint in the same transaction, so the stored head, tree and checkpoint always
//! agree, whatever instant the process dies at.

mod export;
mod fsck;
mod resident;
pub mod tables;
mod writer;

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use redb::{Database, ReadableDatabase, ReadableTable};

pub use fsck::{FsckProblem, FsckReport};
use tables::*;

pub use resident::ResidentRecord;
pub use writer::Receipt;

use crate::input::{InputError, Prepared};
use crate::merkle::{self, Frontier, Hash, ProofError, TreeError};
use crate::note::{Checkpoint, NoteError, NoteSigner, NoteVerifier};
use crate::pseudonym::Pseudonym;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Displayed with the redb error's own text, so it is not also its source (which would
    /// print the same words twice in an error chain).
    #[error("store: {0}")]
    Db(redb::Error),
    #[error("the store is open in another process (one process at a time may open it)")]
    InUse,
    #[error("store is corrupt: {0}")]
    Corrupt(String),
    #[error("store at {path} was created for log '{stored}', not '{given}'")]
    WrongOrigin {
        path: String,
        stored: String,
        given: String,
    },
    #[error("store's signing key differs: stored verifier {stored}, given {given}")]
    WrongKey { stored: String, given: String },
    #[error("stored checkpoint: {0}")]
    Checkpoint(#[from] NoteError),
    #[error(transparent)]
    Proof(#[from] ProofError),
    #[error("the log writer has stopped")]
    WriterGone,
    #[error("tree size {requested} is beyond the log's size {size}")]
    BeyondHead { requested: u64, size: u64 },
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::Error,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

impl From<redb::DatabaseError> for StoreError {
    fn from(e: redb::DatabaseError) -> Self {
        match e {
            redb::DatabaseError::DatabaseAlreadyOpen => StoreError::InUse,
            e => StoreError::Db(e.into()),
        }
    }
}

impl From<NodeReadError> for StoreError {
    fn from(e: NodeReadError) -> Self {
        match e {
            NodeReadError::Storage(s) => s.into(),
            m @ NodeReadError::Missing { .. } => StoreError::Corrupt(m.to_string()),
        }
    }
}

impl From<TreeError<NodeReadError>> for StoreError {
    fn from(e: TreeError<NodeReadError>) -> Self {
        match e {
            TreeError::Proof(p) => p.into(),
            TreeError::Source(s) => s.into(),
        }
    }
}

/// Why a submission was not written.
#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    /// The input refers to something the log does not hold; nothing was written.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The store failed; nothing of the submission was written.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The tree of a read snapshot.
type StoreNodes<'t> =
    TableNodes<'t, redb::ReadOnlyTable<u64, Hash>, redb::ReadOnlyTable<u64, &'static [u8]>>;

/// Where a queued submission's receipt arrives once its group commit is durable; `.await` it
/// or call `blocking_recv()`.
pub type PendingReceipt = tokio::sync::oneshot::Receiver<Result<Receipt, SubmitError>>;

/// A tree head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TreeHead {
    pub size: u64,
    pub root: Hash,
}

/// One stored record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredRecord {
    pub index: u64,
    /// Leaf data: the canonical envelope.
    pub envelope: Vec<u8>,
    /// Exact received bytes of the content, or `None` if it was erased.
    pub content: Option<Vec<u8>>,
}

/// Tuning of the writer.
#[derive(Debug, Clone)]
pub struct StoreOptions {
    /// Most records one group commit takes before it commits.
    pub max_group_records: usize,
    /// redb page cache size.
    pub cache_bytes: usize,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_group_records: 50_000,
            cache_bytes: 256 * 1024 * 1024,
        }
    }
}

/// An institution's append-only log.
pub struct Ledger {
    db: Arc<Database>,
    origin: String,
    verifier: NoteVerifier,
    tx: Mutex<Option<std::sync::mpsc::Sender<writer::Request>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Ledger {
    /// Opens the log at `path`, creating it if the file does not exist. The origin of the log
    /// is the signer's key name. On open the stored head is checked against the stored tree
    /// and the stored checkpoint against the key.
    pub fn open(path: &Path, signer: NoteSigner, opts: StoreOptions) -> Result<Self, StoreError> {
        let db = redb::Builder::new()
            .set_cache_size(opts.cache_bytes)
            .create(path)?;
        let origin = signer.verifier().name.clone();
        let verifier = signer.verifier().clone();
        let frontier = init_or_check(&db, path, &signer)?;
        let db = Arc::new(db);
        let (tx, rx) = std::sync::mpsc::channel();
        let w = writer::Writer::new(db.clone(), signer, frontier, opts.max_group_records);
        let thread = std::thread::Builder::new()
            .name("hl-ledger-writer".into())
            .spawn(move || w.run(rx))
            .map_err(|e| StoreError::Corrupt(format!("cannot start the writer thread: {e}")))?;
        Ok(Self {
            db,
            origin,
            verifier,
            tx: Mutex::new(Some(tx)),
            thread: Mutex::new(Some(thread)),
        })
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn verifier(&self) -> &NoteVerifier {
        &self.verifier
    }

    /// Queues a prepared input for the next group commit and returns the channel its receipt
    /// arrives on, once the group is durable. Works from sync and async code alike.
    pub fn submit_async(&self, prepared: Prepared) -> PendingReceipt {
        let (reply, rx) = tokio::sync::oneshot::channel();
        let guard = self.tx.lock().unwrap_or_else(|p| p.into_inner());
        let req = writer::Request { prepared, reply };
        match guard.as_ref() {
            Some(tx) => {
                if let Err(std::sync::mpsc::SendError(req)) = tx.send(req) {
                    let _ = req.reply.send(Err(StoreError::WriterGone.into()));
                }
            }
            None => {
                let _ = req.reply.send(Err(StoreError::WriterGone.into()));
            }
        }
        rx
    }

    /// Writes a prepared input durably, all or nothing, and returns its receipt. Blocks: from
    /// async code, `.await` [`Ledger::submit_async`] instead.
    pub fn submit(&self, prepared: Prepared) -> Result<Receipt, SubmitError> {
        self.submit_async(prepared)
            .blocking_recv()
            .unwrap_or(Err(StoreError::WriterGone.into()))
    }

    /// Stops the writer after the queued submissions are written.
    pub fn close(&self) {
        self.tx.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = self.thread.lock().unwrap_or_else(|p| p.into_inner()).take() {
            let _ = t.join();
        }
    }

    fn read(&self) -> Result<redb::ReadTransaction, StoreError> {
        Ok(self.db.begin_read()?)
    }

    /// The current tree head.
    pub fn head(&self) -> Result<TreeHead, StoreError> {
        let txn = self.read()?;
        let meta = txn.open_table(META)?;
        read_head(&meta)
    }

    /// The latest signed checkpoint (a C2SP signed note).
    pub fn checkpoint(&self) -> Result<String, StoreError> {
        let txn = self.read()?;
        let meta = txn.open_table(META)?;
        let cp = meta
            .get(META_CHECKPOINT)?
            .ok_or_else(|| StoreError::Corrupt("no checkpoint stored".into()))?;
        String::from_utf8(cp.value().to_vec())
            .map_err(|_| StoreError::Corrupt("stored checkpoint is not UTF-8".into()))
    }

    /// One record by leaf index.
    pub fn record(&self, index: u64) -> Result<Option<StoredRecord>, StoreError> {
        let txn = self.read()?;
        let records = txn.open_table(RECORDS)?;
        let Some(v) = records.get(index)? else {
            return Ok(None);
        };
        let (envelope, content) = decode_record(v.value())
            .ok_or_else(|| StoreError::Corrupt(format!("record {index} is malformed")))?;
        Ok(Some(StoredRecord {
            index,
            envelope: envelope.to_vec(),
            content: content.map(<[u8]>::to_vec),
        }))
    }

    /// The leaf hash of record `index`.
    pub fn leaf_hash(&self, index: u64) -> Result<Option<Hash>, StoreError> {
        Ok(self.record(index)?.map(|r| merkle::leaf_hash(&r.envelope)))
    }

    /// Runs `f` over a snapshot of the tree, after checking that `size` is within its head.
    fn with_tree<T>(
        &self,
        size: u64,
        f: impl FnOnce(&StoreNodes<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let txn = self.read()?;
        let head = read_head(&txn.open_table(META)?)?;
        if size > head.size {
            return Err(StoreError::BeyondHead {
                requested: size,
                size: head.size,
            });
        }
        let (nodes, records) = (txn.open_table(NODES)?, txn.open_table(RECORDS)?);
        f(&TableNodes {
            nodes: &nodes,
            records: &records,
        })
    }

    /// Root of the tree of the first `size` leaves (O(log n) reads).
    pub fn root_at(&self, size: u64) -> Result<Hash, StoreError> {
        self.with_tree(size, |src| Ok(merkle::root_from(src, size)?))
    }

    /// Inclusion proof of leaf `index` in the tree of `size` leaves (O(log n) reads).
    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, StoreError> {
        self.with_tree(size, |src| {
            Ok(merkle::inclusion_proof_from(src, index, size)?)
        })
    }

    /// Consistency proof between trees of `old_size` and `new_size` leaves (O(log n) reads).
    pub fn consistency_proof(&self, old_size: u64, new_size: u64) -> Result<Vec<Hash>, StoreError> {
        self.with_tree(new_size, |src| {
            Ok(merkle::consistency_proof_from(src, old_size, new_size)?)
        })
    }

    /// Leaf indices of a resident's records, in log order.
    pub fn resident_records(&self, resident: &Pseudonym) -> Result<Vec<u64>, StoreError> {
        let txn = self.read()?;
        let t = txn.open_table(RESIDENT_RECORDS)?;
        let mut out = Vec::new();
        for row in t.range((*resident, 0)..=(*resident, u64::MAX))? {
            out.push(row?.0.value().1);
        }
        Ok(out)
    }

    /// The latest version of `kind/id`: (version, leaf index).
    pub fn latest(&self, kind: &str, id: &str) -> Result<Option<(u32, u64)>, StoreError> {
        let txn = self.read()?;
        let t = txn.open_table(VERSIONS)?;
        Ok(latest_version(&t, &resource_key(kind, id))?.map(|(v, s)| (v, s.index)))
    }

    /// The leaf index of version `version` of `kind/id`.
    pub fn version(&self, kind: &str, id: &str, version: u32) -> Result<Option<u64>, StoreError> {
        let txn = self.read()?;
        let t = txn.open_table(VERSIONS)?;
        match t.get((resource_key(kind, id), version))? {
            None => Ok(None),
            Some(v) => ResourceState::decode(v.value())
                .map(|s| Some(s.index))
                .ok_or_else(|| StoreError::Corrupt(format!("bad version entry for {kind}/{id}"))),
        }
    }

    /// Recomputes every content hash, leaf and interior node and checks the head and
    /// checkpoint; lists every mismatch with its leaf index.
    pub fn fsck(&self) -> Result<FsckReport, StoreError> {
        let txn = self.read()?;
        fsck::run(&txn, &self.origin, &self.verifier)
    }

    /// Runs [`Ledger::fsck`] on the store at `path` without opening it for writing, so that a
    /// store whose head no longer matches its tree (which `open` refuses) can still be examined.
    pub fn fsck_path(path: &Path, verifier: &NoteVerifier) -> Result<FsckReport, StoreError> {
        let db = Database::open(path)?;
        let txn = db.begin_read()?;
        fsck::run(&txn, &verifier.name, verifier)
    }

    /// Replaces a stored content without any check. Only for tamper and fault-injection tests:
    /// it is exactly what `fsck` exists to catch.
    #[cfg(feature = "fault-injection")]
    pub fn overwrite_content_unchecked(&self, index: u64, bytes: &[u8]) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            let mut records = txn.open_table(RECORDS)?;
            let old =
                records
                    .get(index)?
                    .map(|v| v.value().to_vec())
                    .ok_or(StoreError::BeyondHead {
                        requested: index,
                        size: 0,
                    })?;
            let (envelope, _) = decode_record(&old)
                .ok_or_else(|| StoreError::Corrupt(format!("record {index} is malformed")))?;
            records.insert(index, encode_record(envelope, Some(bytes)).as_slice())?;
        }
        txn.commit()?;
        Ok(())
    }

    /// Replaces a stored tree node without any check. Only for tamper tests.
    #[cfg(feature = "fault-injection")]
    pub fn overwrite_node_unchecked(
        &self,
        level: u8,
        index: u64,
        hash: Hash,
    ) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        txn.open_table(NODES)?
            .insert(node_key(level, index), hash)?;
        txn.commit()?;
        Ok(())
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        self.close();
    }
}

fn read_u64(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> Result<u64, StoreError> {
    let v = meta
        .get(key)?
        .ok_or_else(|| StoreError::Corrupt(format!("meta '{key}' missing")))?;
    let b: [u8; 8] = v
        .value()
        .try_into()
        .map_err(|_| StoreError::Corrupt(format!("meta '{key}' is not 8 bytes")))?;
    Ok(u64::from_le_bytes(b))
}

pub(crate) fn read_head(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
) -> Result<TreeHead, StoreError> {
    let size = read_u64(meta, META_SIZE)?;
    let root = meta
        .get(META_ROOT)?
        .ok_or_else(|| StoreError::Corrupt("meta 'root' missing".into()))?;
    let root: Hash = root
        .value()
        .try_into()
        .map_err(|_| StoreError::Corrupt("meta 'root' is not 32 bytes".into()))?;
    Ok(TreeHead { size, root })
}

fn meta_string(
    meta: &impl ReadableTable<&'static str, &'static [u8]>,
    key: &str,
) -> Result<String, StoreError> {
    let v = meta
        .get(key)?
        .ok_or_else(|| StoreError::Corrupt(format!("meta '{key}' missing")))?;
    String::from_utf8(v.value().to_vec())
        .map_err(|_| StoreError::Corrupt(format!("meta '{key}' is not UTF-8")))
}

/// Writes the empty log on first open; on later opens checks origin, key, head and checkpoint
/// against the tree and returns the tree's frontier.
fn init_or_check(db: &Database, path: &Path, signer: &NoteSigner) -> Result<Frontier, StoreError> {
    let origin = &signer.verifier().name;
    let txn = db.begin_write()?;
    let fresh = {
        let mut meta = txn.open_table(META)?;
        if meta.get(META_FORMAT)?.is_none() {
            let root = merkle::empty_root();
            let cp = Checkpoint {
                origin: origin.clone(),
                size: 0,
                root,
            };
            meta.insert(META_FORMAT, FORMAT)?;
            meta.insert(META_ORIGIN, origin.as_bytes())?;
            meta.insert(META_VERIFIER, signer.verifier().to_string().as_bytes())?;
            meta.insert(META_SIZE, 0u64.to_le_bytes().as_slice())?;
            meta.insert(META_ROOT, root.as_slice())?;
            meta.insert(META_CHECKPOINT, signer.sign(&cp.body()).as_bytes())?;
            true
        } else {
            false
        }
    };
    // Create every table so readers never meet a missing one.
    txn.open_table(RECORDS)?;
    txn.open_table(NODES)?;
    txn.open_table(VERSIONS)?;
    txn.open_table(RESIDENT_RECORDS)?;
    if fresh {
        txn.commit()?;
        return Ok(Frontier::empty());
    }
    txn.abort()?;

    let txn = db.begin_read()?;
    let meta = txn.open_table(META)?;
    let format = meta
        .get(META_FORMAT)?
        .map(|v| v.value().to_vec())
        .unwrap_or_default();
    if format != FORMAT {
        return Err(StoreError::Corrupt(format!(
            "unknown store format {:?}",
            String::from_utf8_lossy(&format)
        )));
    }
    let stored_origin = meta_string(&meta, META_ORIGIN)?;
    if &stored_origin != origin {
        return Err(StoreError::WrongOrigin {
            path: path.display().to_string(),
            stored: stored_origin,
            given: origin.clone(),
        });
    }
    let stored_verifier = meta_string(&meta, META_VERIFIER)?;
    if stored_verifier != signer.verifier().to_string() {
        return Err(StoreError::WrongKey {
            stored: stored_verifier,
            given: signer.verifier().to_string(),
        });
    }
    let head = read_head(&meta)?;
    let (nodes, records) = (txn.open_table(NODES)?, txn.open_table(RECORDS)?);
    let src = TableNodes {
        nodes: &nodes,
        records: &records,
    };
    let frontier = Frontier::load(&src, head.size)?;
    if frontier.root() != head.root {
        return Err(StoreError::Corrupt(format!(
            "stored head (size {}, root {}) does not match the stored tree (root {})",
            head.size,
            hex::encode(head.root),
            hex::encode(frontier.root())
        )));
    }
    if records.get(head.size)?.is_some() {
        return Err(StoreError::Corrupt(format!(
            "a record exists beyond the stored head at index {}",
            head.size
        )));
    }
    let cp_text = meta_string(&meta, META_CHECKPOINT)?;
    let cp = Checkpoint::open_signed(&cp_text, signer.verifier())?;
    if cp.size != head.size || cp.root != head.root || &cp.origin != origin {
        return Err(StoreError::Corrupt(
            "stored checkpoint does not match the stored head".into(),
        ));
    }
    Ok(frontier)
}
