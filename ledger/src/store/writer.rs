//! The single writer: drains queued submissions into one redb transaction per group, commits
//! it durably with the group's checkpoint, and only then answers each submitter.

use std::sync::Arc;
use std::sync::mpsc::Receiver;

use redb::{Database, Durability, WriteTransaction};
use time::OffsetDateTime;

use super::tables::*;
use super::{StoreError, SubmitError};
use crate::input::{InputError, Prepared, ResidentRef, record_location};
use crate::merkle::{self, Frontier, Hash};
use crate::note::{Checkpoint, NoteSigner};
use crate::pseudonym::{Pseudonym, ResidentScope};
use crate::record::{ENVELOPE_VERSION, Envelope, SCHEMA_FHIR_R4};
use crate::time_fmt::format_utc;

pub(super) struct Request {
    pub prepared: Prepared,
    pub reply: tokio::sync::oneshot::Sender<Result<Receipt, SubmitError>>,
}

/// What a durable submission became.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Receipt {
    pub source_name: String,
    /// One per record, in input order.
    pub entries: Vec<ReceiptEntry>,
    /// Head of the tree after the group commit that carried this submission.
    pub size: u64,
    pub root: Hash,
    /// Signed checkpoint of that head.
    pub checkpoint: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceiptEntry {
    pub kind: String,
    pub id: String,
    pub version: u32,
    pub index: u64,
}

pub(super) struct Writer {
    db: Arc<Database>,
    signer: NoteSigner,
    frontier: Frontier,
    max_group_records: usize,
}

type Outcome = Result<Vec<ReceiptEntry>, SubmitError>;

impl Writer {
    pub fn new(db: Arc<Database>, signer: NoteSigner, frontier: Frontier, max: usize) -> Self {
        Self {
            db,
            signer,
            frontier,
            max_group_records: max.max(1),
        }
    }

    pub fn run(mut self, rx: Receiver<Request>) {
        while let Ok(first) = rx.recv() {
            let mut group = vec![first];
            let mut records = group[0].prepared.records.len();
            while records < self.max_group_records {
                match rx.try_recv() {
                    Ok(r) => {
                        records += r.prepared.records.len();
                        group.push(r);
                    }
                    Err(_) => break,
                }
            }
            self.commit_group(group);
        }
    }

    fn commit_group(&mut self, group: Vec<Request>) {
        let mut frontier = self.frontier.clone();
        let started = std::time::Instant::now();
        let result = self.write_group(&group, &mut frontier);
        tracing::debug!(
            submissions = group.len(),
            records = frontier.size() - self.frontier.size(),
            micros = started.elapsed().as_micros() as u64,
            "group commit"
        );
        match result {
            Ok((outcomes, checkpoint)) => {
                self.frontier = frontier;
                let (size, root) = (self.frontier.size(), self.frontier.root());
                for (req, outcome) in group.into_iter().zip(outcomes) {
                    let reply = outcome.map(|entries| Receipt {
                        source_name: req.prepared.source_name.clone(),
                        entries,
                        size,
                        root,
                        checkpoint: checkpoint.clone(),
                    });
                    let _ = req.reply.send(reply);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "group commit failed; nothing of it was written");
                let msg = e.to_string();
                for req in group {
                    let _ =
                        req.reply.send(Err(
                            StoreError::Corrupt(format!("write failed: {msg}")).into()
                        ));
                }
            }
        }
    }

    /// Writes every acceptable submission of the group in one transaction and commits it.
    fn write_group(
        &self,
        group: &[Request],
        frontier: &mut Frontier,
    ) -> Result<(Vec<Outcome>, String), StoreError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        txn.set_two_phase_commit(true);
        let recorded = format_utc(OffsetDateTime::now_utc())
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        let mut outcomes = Vec::with_capacity(group.len());
        let before = frontier.size();
        for req in group {
            outcomes.push(self.write_one(&txn, &req.prepared, &recorded, frontier)?);
        }
        let root = frontier.root();
        let checkpoint = self.signer.sign(
            &Checkpoint {
                origin: self.signer.verifier().name.clone(),
                size: frontier.size(),
                root,
            }
            .body(),
        );
        if frontier.size() != before {
            let mut meta = txn.open_table(META)?;
            meta.insert(META_SIZE, frontier.size().to_le_bytes().as_slice())?;
            meta.insert(META_ROOT, root.as_slice())?;
            meta.insert(META_CHECKPOINT, checkpoint.as_bytes())?;
        }
        txn.commit()?;
        Ok((outcomes, checkpoint))
    }

    /// Resolves one submission against the log; if it resolves, writes it into `txn`.
    /// An unresolvable submission writes nothing and does not disturb the rest of the group.
    fn write_one(
        &self,
        txn: &WriteTransaction,
        p: &Prepared,
        recorded: &str,
        frontier: &mut Frontier,
    ) -> Result<Outcome, StoreError> {
        let mut versions = txn.open_table(VERSIONS)?;
        // Resolve first: reads only, so a refusal leaves the transaction untouched.
        let mut residents: Vec<Option<(Pseudonym, ResidentScope)>> =
            Vec::with_capacity(p.records.len());
        for r in &p.records {
            residents.push(match &r.resident {
                ResidentRef::None => None,
                ResidentRef::Known(ps, scope) => Some((*ps, *scope)),
                ResidentRef::Stored { patient_id, field } => {
                    let state = latest_version(&versions, &resource_key("Patient", patient_id))?;
                    match state.and_then(|(_, s)| s.resident) {
                        Some(r) => Some(r),
                        None => {
                            return Ok(Err(InputError {
                                source_name: p.source_name.clone(),
                                location: record_location(r.position, &format!("resource.{field}")),
                                reason: format!(
                                    "reference to Patient/{patient_id} cannot be resolved: no such Patient in this Bundle or in the log"
                                ),
                            }
                            .into()));
                        }
                    }
                }
            });
        }

        let mut records = txn.open_table(RECORDS)?;
        let mut nodes = txn.open_table(NODES)?;
        let mut by_resident = txn.open_table(RESIDENT_RECORDS)?;
        let origin = &self.signer.verifier().name;
        let mut entries = Vec::with_capacity(p.records.len());
        for (r, resident) in p.records.iter().zip(residents) {
            let key = format!("{}/{}", r.kind, r.id);
            let rkey = resource_key(&r.kind, &r.id);
            let version = match latest_version(&versions, &rkey)? {
                Some((v, _)) => v
                    .checked_add(1)
                    .ok_or_else(|| StoreError::Corrupt(format!("version overflow for {key}")))?,
                None => 1,
            };
            let index = frontier.size();
            let env = Envelope {
                v: ENVELOPE_VERSION,
                origin: origin.clone(),
                schema: SCHEMA_FHIR_R4.to_owned(),
                kind: r.kind.clone(),
                id: r.id.clone(),
                version,
                resident: resident.map(|(p, _)| crate::hexfmt::encode(&p)),
                resident_scope: resident.map(|(_, s)| s),
                effective: r.effective.clone(),
                recorded: recorded.to_owned(),
                content_sha256: crate::hexfmt::encode(&r.content_sha256),
            };
            let leaf = env.leaf_data();
            let mut node_err = None;
            frontier.push(merkle::leaf_hash(&leaf), |level, i, h| {
                // Leaves are not stored: they are the hashes of the envelopes.
                if level > 0
                    && node_err.is_none()
                    && let Err(e) = nodes.insert(node_key(level, i), h)
                {
                    node_err = Some(e);
                }
            });
            if let Some(e) = node_err {
                return Err(e.into());
            }
            records.insert(index, encode_record(&leaf, Some(&r.content)).as_slice())?;
            // Only a Patient's entry carries the resident: references resolve to Patients.
            let state = ResourceState {
                index,
                resident: resident.filter(|_| r.kind == "Patient"),
            };
            versions.insert((rkey, version), state.encode().as_slice())?;
            if let Some((ps, _)) = resident {
                by_resident.insert((ps, index), ())?;
            }
            entries.push(ReceiptEntry {
                kind: r.kind.clone(),
                id: r.id.clone(),
                version,
                index,
            });
        }
        Ok(Ok(entries))
    }
}
