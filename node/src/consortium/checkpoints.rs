//! Checkpoint gossip: each member announces the heads it anchored (signed note + anchor
//! transaction), and every node checks each announcement against the author's registered key
//! and origin, against what it saw before from that origin, and against the chain.
//!
//! Which consistency check is implemented: a signed head whose size this node has seen with a
//! different root is a split view (two roots signed by one key for one size is proof by
//! itself). Any other head is accepted only if the chain lists exactly `(size, root)` among the
//! author's anchored heads ([`Registry::is_anchored`]): the contract verified a consistency
//! proof from each anchored head to the next, so every anchored head extends every earlier one,
//! and no consistency proof needs to travel in the gossip. A smaller head than the latest seen
//! fits when it is anchored, and is a split view when its size was seen with another root.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use ed25519_dalek::VerifyingKey;
use hl_ledger::note::{Checkpoint, NoteSigner, NoteVerifier};
use libp2p::PeerId;
use serde::{Deserialize, Serialize};

use super::gossip::{GossipError, Registry, now_rfc3339, write_atomic};
use crate::net::identity::key_of_peer;

pub const CHECKPOINTS_FILE: &str = "consortium-checkpoints.json";
/// Heads remembered per origin (enough to catch a split view on any recent size).
const MAX_HEADS_PER_ORIGIN: usize = 4096;
const MAX_REPORTS: usize = 1000;

/// What a member publishes on [`crate::net::Topic::Checkpoints`] (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckpointAnnouncement {
    pub origin: String,
    /// The C2SP signed note of the checkpoint, signed by the origin's log key.
    pub note: String,
    /// The transaction that anchored this head.
    pub tx_hash: String,
    pub block_number: u64,
}

impl CheckpointAnnouncement {
    /// Signs the checkpoint `(size, root)` of `signer`'s log.
    pub fn sign(
        signer: &NoteSigner,
        size: u64,
        root: [u8; 32],
        tx_hash: &str,
        block_number: u64,
    ) -> Self {
        let origin = signer.verifier().name.clone();
        let cp = Checkpoint {
            origin: origin.clone(),
            size,
            root,
        };
        Self {
            origin,
            note: signer.sign(&cp.body()),
            tx_hash: tx_hash.to_owned(),
            block_number,
        }
    }
}

/// A checkpoint that passed every check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VerifiedCheckpoint {
    pub origin: String,
    pub size: u64,
    /// Hex of the root.
    pub root: String,
    pub note: String,
    pub tx_hash: String,
    pub block_number: u64,
    /// The member (peer id) that signed the gossip.
    pub author: String,
    pub received_at: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReportKind {
    /// Two roots for one size signed by one origin's key.
    SplitView,
    /// Signed by the author but not a head it anchored on chain.
    NotAnchored,
    /// The note does not verify with the author's registered key.
    BadSignature,
    /// The origin announced is not the author's registered origin.
    WrongOrigin,
    /// The author's key is not registered on chain.
    NotMember,
    Malformed,
}

/// A checkpoint announcement that was refused, or a split view.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    pub kind: ReportKind,
    pub author: String,
    pub origin: Option<String>,
    pub size: Option<u64>,
    pub detail: String,
    /// The note announced.
    pub note: Option<String>,
    /// For a split view: the note seen before for the same size.
    pub earlier_note: Option<String>,
    pub at: String,
}

/// What became of one announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A head not seen before, now recorded.
    Accepted,
    /// A head seen before (a re-announcement).
    Known,
    Refused(ReportKind),
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct OriginState {
    latest: Option<VerifiedCheckpoint>,
    /// Every verified head: size → (root hex, note).
    heads: BTreeMap<u64, (String, String)>,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct BookState {
    origins: BTreeMap<String, OriginState>,
    reports: Vec<Report>,
}

/// The checkpoints this node accepted per origin and the reports it made, kept in
/// [`CHECKPOINTS_FILE`] so a restarted node still catches a split view against what it saw.
pub struct CheckpointBook {
    path: PathBuf,
    state: Mutex<BookState>,
}

impl CheckpointBook {
    pub fn open(data_dir: &Path) -> Result<Self, GossipError> {
        let path = data_dir.join(CHECKPOINTS_FILE);
        let state = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| GossipError::Store(format!("{}: {e}", path.display())))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BookState::default(),
            Err(e) => return Err(GossipError::Store(format!("{}: {e}", path.display()))),
        };
        Ok(Self {
            path,
            state: Mutex::new(state),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BookState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The latest verified checkpoint of every origin heard from.
    pub fn latest(&self) -> BTreeMap<String, VerifiedCheckpoint> {
        self.lock()
            .origins
            .iter()
            .filter_map(|(o, s)| s.latest.clone().map(|l| (o.clone(), l)))
            .collect()
    }

    /// Every report, oldest first (bounded).
    pub fn reports(&self) -> Vec<Report> {
        self.lock().reports.clone()
    }

    pub fn split_views(&self) -> Vec<Report> {
        self.lock()
            .reports
            .iter()
            .filter(|r| r.kind == ReportKind::SplitView)
            .cloned()
            .collect()
    }

    /// Checks and records one announcement gossiped by `author`. An error is a failure to
    /// read the chain: the announcement is neither accepted nor reported (a catch-up round
    /// brings it again).
    pub async fn receive(
        &self,
        author: PeerId,
        data: &[u8],
        registry: &dyn Registry,
    ) -> Result<Verdict, GossipError> {
        let mut report = Report {
            kind: ReportKind::Malformed,
            author: author.to_string(),
            origin: None,
            size: None,
            detail: String::new(),
            note: None,
            earlier_note: None,
            at: now_rfc3339(),
        };
        let ann: CheckpointAnnouncement = match serde_json::from_slice(data) {
            Ok(a) => a,
            Err(e) => {
                report.detail = format!("not a checkpoint announcement: {e}");
                return Ok(self.refuse(report));
            }
        };
        report.origin = Some(ann.origin.clone());
        report.note = Some(ann.note.clone());
        let Some(key) = key_of_peer(&author) else {
            report.kind = ReportKind::NotMember;
            report.detail = "the author's peer id is not an Ed25519 key".into();
            return Ok(self.refuse(report));
        };
        let Some(origin) = registry.origin_of(&key).await? else {
            report.kind = ReportKind::NotMember;
            report.detail = "the author's key is not registered on chain".into();
            return Ok(self.refuse(report));
        };
        if origin != ann.origin {
            report.kind = ReportKind::WrongOrigin;
            report.detail = format!(
                "announced origin {:?}, registered origin {origin:?}",
                ann.origin
            );
            return Ok(self.refuse(report));
        }
        let cp = match VerifyingKey::from_bytes(&key)
            .map_err(|e| e.to_string())
            .and_then(|k| NoteVerifier::new(&origin, k).map_err(|e| e.to_string()))
            .and_then(|v| Checkpoint::open_signed(&ann.note, &v).map_err(|e| e.to_string()))
        {
            Ok(cp) if cp.origin == origin => cp,
            Ok(cp) => {
                report.kind = ReportKind::WrongOrigin;
                report.detail = format!("the note's origin is {:?}", cp.origin);
                return Ok(self.refuse(report));
            }
            Err(e) => {
                report.kind = ReportKind::BadSignature;
                report.detail = format!("the note does not verify with the author's key: {e}");
                return Ok(self.refuse(report));
            }
        };
        report.size = Some(cp.size);
        let root = hex::encode(cp.root);
        if let Some(v) = self.against_seen(&origin, cp.size, &root, &mut report) {
            return Ok(v);
        }
        if !registry.is_anchored(&key, cp.size, &cp.root).await? {
            report.kind = ReportKind::NotAnchored;
            report.detail = format!(
                "size {} root {root} is not among the heads {origin} anchored on chain",
                cp.size
            );
            return Ok(self.refuse(report));
        }
        let mut st = self.lock();
        // Another copy may have been recorded while the chain was read.
        if let Some(v) = Self::check_seen(&mut st, &origin, cp.size, &root, &mut report) {
            drop(st);
            return Ok(self.finish_seen(v, report));
        }
        let entry = st.origins.entry(origin.clone()).or_default();
        entry
            .heads
            .insert(cp.size, (root.clone(), ann.note.clone()));
        while entry.heads.len() > MAX_HEADS_PER_ORIGIN {
            entry.heads.pop_first();
        }
        if entry.latest.as_ref().is_none_or(|l| l.size < cp.size) {
            entry.latest = Some(VerifiedCheckpoint {
                origin: origin.clone(),
                size: cp.size,
                root,
                note: ann.note,
                tx_hash: ann.tx_hash,
                block_number: ann.block_number,
                author: author.to_string(),
                received_at: report.at,
            });
        }
        self.persist(&st)?;
        tracing::info!(%origin, size = cp.size, "checkpoint accepted");
        Ok(Verdict::Accepted)
    }

    fn against_seen(
        &self,
        origin: &str,
        size: u64,
        root: &str,
        report: &mut Report,
    ) -> Option<Verdict> {
        let mut st = self.lock();
        let v = Self::check_seen(&mut st, origin, size, root, report)?;
        drop(st);
        Some(self.finish_seen(v, report.clone()))
    }

    /// `Some` when `size` was seen before: `Known` for the same root, a split view otherwise.
    fn check_seen(
        st: &mut BookState,
        origin: &str,
        size: u64,
        root: &str,
        report: &mut Report,
    ) -> Option<Verdict> {
        let (seen_root, seen_note) = st.origins.get(origin)?.heads.get(&size)?;
        if seen_root == root {
            return Some(Verdict::Known);
        }
        report.kind = ReportKind::SplitView;
        report.earlier_note = Some(seen_note.clone());
        report.detail =
            format!("{origin} signed two roots for size {size}: {seen_root} before, {root} now");
        Some(Verdict::Refused(ReportKind::SplitView))
    }

    fn finish_seen(&self, v: Verdict, report: Report) -> Verdict {
        match v {
            Verdict::Refused(_) => self.refuse(report),
            v => v,
        }
    }

    fn refuse(&self, report: Report) -> Verdict {
        let kind = report.kind;
        if matches!(kind, ReportKind::SplitView | ReportKind::NotAnchored) {
            tracing::error!(
                kind = ?kind,
                author = %report.author,
                origin = ?report.origin,
                size = ?report.size,
                "CONSORTIUM CHECKPOINT FAULT: {}",
                report.detail
            );
        } else {
            tracing::warn!(kind = ?kind, author = %report.author, "checkpoint refused: {}", report.detail);
        }
        let mut st = self.lock();
        st.reports.push(report);
        if st.reports.len() > MAX_REPORTS {
            st.reports.remove(0);
        }
        if let Err(e) = self.persist(&st) {
            tracing::error!("keeping the checkpoint report: {e}");
        }
        Verdict::Refused(kind)
    }

    fn persist(&self, st: &BookState) -> Result<(), GossipError> {
        let bytes = serde_json::to_vec(st).map_err(|e| GossipError::Store(e.to_string()))?;
        // The write ends in an fsync: on a runtime worker it would hold up every task queued
        // there (measured: twice the per-hop gossip latency with 20 members), so the runtime
        // is first told to move them elsewhere.
        match tokio::runtime::Handle::try_current() {
            Ok(h) if h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
                tokio::task::block_in_place(|| write_atomic(&self.path, &bytes))
            }
            _ => write_atomic(&self.path, &bytes),
        }
    }
}
