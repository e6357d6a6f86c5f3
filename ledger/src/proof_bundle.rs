//! Self-contained proof bundles: records with their content, inclusion proofs, the signed
//! checkpoint they prove into and the log's public key. A regulator checks one offline.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::canonical::canonical_sha256_of_json;
use crate::merkle::{self, Hash};
use crate::note::{Checkpoint, NoteVerifier};
use crate::record::Envelope;

pub const FORMAT: &str = "healthledger-proof-bundle/1";

#[derive(Debug, Serialize, Deserialize)]
pub struct ProofBundle {
    pub format: String,
    /// C2SP verifier key of the log: `<origin>+<key id>+<base64 key>`.
    pub verifier_key: String,
    /// The signed checkpoint every proof leads to.
    pub checkpoint: String,
    pub records: Vec<ProvenRecord>,
    /// Consistency proof from the log's last anchored head to the checkpoint, so that a
    /// checkpoint newer than the last anchor can still be tied to the chain.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub anchor_consistency: Option<AnchorConsistency>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AnchorConsistency {
    /// Size of the anchored head the proof starts from.
    pub old_size: u64,
    /// Consistency proof from `old_size` to the checkpoint's size, hex hashes.
    pub proof: Vec<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub struct ProvenRecord {
    pub index: u64,
    /// The envelope (leaf data) as JSON; its RFC 8785 form is what the leaf hashes.
    pub envelope: Box<RawValue>,
    /// The content exactly as received, or null when erased or withheld.
    pub content: Option<Box<RawValue>>,
    /// Inclusion proof to the checkpoint's tree, hex hashes leaf to root.
    pub proof: Vec<String>,
}

/// What checking a bundle established.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    pub origin: String,
    pub size: u64,
    pub root: String,
    pub verifier_key: String,
    /// Whether the key was given by the caller rather than taken from the bundle.
    pub key_pinned: bool,
    pub records: Vec<RecordCheck>,
    /// Every failure found; empty means the bundle verifies.
    pub failures: Vec<String>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RecordCheck {
    pub index: u64,
    pub kind: Option<String>,
    pub id: Option<String>,
    pub version: Option<u32>,
    pub content_verified: bool,
    pub included: bool,
}

/// The bundle cannot be checked at all.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("not a proof bundle: {0}")]
    Format(String),
    #[error("verifier key: {0}")]
    Key(crate::note::NoteError),
    #[error("checkpoint: {0}")]
    Checkpoint(crate::note::NoteError),
    #[error("bundle is signed by {bundle}, not by the pinned key {pinned}")]
    KeyMismatch { bundle: String, pinned: String },
    #[error("checkpoint origin '{checkpoint}' is not the key's name '{key}'")]
    OriginMismatch { checkpoint: String, key: String },
}

impl ProofBundle {
    pub fn parse(bytes: &[u8]) -> Result<Self, BundleError> {
        let b: Self =
            serde_json::from_slice(bytes).map_err(|e| BundleError::Format(e.to_string()))?;
        if b.format != FORMAT {
            return Err(BundleError::Format(format!(
                "format is '{}', expected '{FORMAT}'",
                b.format
            )));
        }
        Ok(b)
    }

    /// Checks the signature, then every record's content hash, leaf and inclusion proof.
    /// `pinned` is the key the caller trusts; without it the bundle's own key is used.
    pub fn verify(&self, pinned: Option<&NoteVerifier>) -> Result<VerifyReport, BundleError> {
        let key = NoteVerifier::parse(&self.verifier_key).map_err(BundleError::Key)?;
        if let Some(p) = pinned
            && p != &key
        {
            return Err(BundleError::KeyMismatch {
                bundle: key.to_string(),
                pinned: p.to_string(),
            });
        }
        let cp =
            Checkpoint::open_signed(&self.checkpoint, &key).map_err(BundleError::Checkpoint)?;
        if cp.origin != key.name {
            return Err(BundleError::OriginMismatch {
                checkpoint: cp.origin,
                key: key.name,
            });
        }
        let mut report = VerifyReport {
            origin: cp.origin.clone(),
            size: cp.size,
            root: hex::encode(cp.root),
            verifier_key: key.to_string(),
            key_pinned: pinned.is_some(),
            records: Vec::with_capacity(self.records.len()),
            failures: Vec::new(),
        };
        for r in &self.records {
            let check = check_record(r, &cp, &mut report.failures);
            report.records.push(check);
        }
        Ok(report)
    }
}

fn check_record(r: &ProvenRecord, cp: &Checkpoint, failures: &mut Vec<String>) -> RecordCheck {
    let mut check = RecordCheck {
        index: r.index,
        kind: None,
        id: None,
        version: None,
        content_verified: false,
        included: false,
    };
    let mut fail = |what: String| failures.push(format!("record {}: {what}", r.index));
    let env: Envelope = match serde_json::from_str(r.envelope.get()) {
        Ok(e) => e,
        Err(e) => {
            fail(format!("envelope is malformed: {e}"));
            return check;
        }
    };
    check.kind = Some(env.kind.clone());
    check.id = Some(env.id.clone());
    check.version = Some(env.version);
    if env.origin != cp.origin {
        fail(format!(
            "envelope origin '{}' is not the checkpoint's",
            env.origin
        ));
    }
    match &r.content {
        None => {}
        Some(c) => match canonical_sha256_of_json(c.get().as_bytes()) {
            Ok(h) if hex::encode(h) == env.content_sha256 => check.content_verified = true,
            Ok(_) => fail("content does not match the envelope's content_sha256".into()),
            Err(e) => fail(format!("content: {e}")),
        },
    }
    let leaf = merkle::leaf_hash(&env.leaf_data());
    let proof: Result<Vec<Hash>, _> = r.proof.iter().map(|h| decode_hash(h)).collect();
    match proof {
        Err(e) => fail(format!("proof: {e}")),
        Ok(p) => match merkle::verify_inclusion(r.index, cp.size, &leaf, &p, &cp.root) {
            Ok(()) => check.included = true,
            Err(e) => fail(format!("not included in the checkpoint's tree: {e}")),
        },
    }
    check
}

pub fn decode_hash(h: &str) -> Result<Hash, String> {
    let mut out = [0u8; 32];
    hex::decode_to_slice(h, &mut out).map_err(|_| format!("'{h}' is not a 32-byte hex hash"))?;
    Ok(out)
}
