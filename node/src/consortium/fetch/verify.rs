//! The requester's side: ask, then check every record against the holder's registered key and
//! its anchored head on chain before anything is handed out.

use std::sync::Mutex;

use hl_ledger::merkle::{self, Hash};
use hl_ledger::note::{NoteSigner, NoteVerifier};
use hl_ledger::proof_bundle::{ProofBundle, VerifyReport, decode_hash};
use hl_ledger::pseudonym::ResidentScope;
use hl_ledger::record::Envelope;
use libp2p::PeerId;
use libp2p::identity::Keypair;
use time::OffsetDateTime;

use super::{ALL_CATEGORIES, FetchChain, FetchError, MemberInfo, category_of, purpose_code};
use crate::net::Network;
use crate::net::identity::{key_of_peer, keypair};
use crate::net::protocol::{
    FETCH_VERSION, FetchAnswer, FetchOutcome, FetchRequest, FetchResponse, RefusedCategory,
};

/// What to ask a holder for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ask {
    pub resident: [u8; 32],
    pub categories: u32,
    pub purpose: String,
    pub break_glass_reason: Option<String>,
}

/// A member that sent something that failed verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerReport {
    pub peer: PeerId,
    pub origin: Option<String>,
    pub reason: String,
}

/// One record that passed every check.
#[derive(Debug, Clone)]
pub struct VerifiedRecord {
    pub index: u64,
    pub envelope: Envelope,
    /// The content exactly as the holder stored it (JSON); its hash is the envelope's.
    pub content: String,
    pub category: u8,
}

/// The verified answer of one holder, with provenance.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub holder: PeerId,
    pub holder_origin: String,
    /// The holder's registered institution name.
    pub holder_name: String,
    /// The checkpoint every record is proven into (tied to the holder's anchored head).
    pub checkpoint_size: u64,
    pub checkpoint_root: Hash,
    pub records: Vec<VerifiedRecord>,
    /// Categories the holder served (bitmask) and those it refused.
    pub served: u32,
    pub refused: Vec<RefusedCategory>,
    pub break_glass: bool,
    /// Records that failed a check and were dropped: (leaf index, why).
    pub dropped: Vec<(u64, String)>,
    /// Records proven but without content (erased): nothing to show, nothing wrong.
    pub erased: Vec<u64>,
}

/// Asks holders for records and verifies their answers.
pub struct Requester {
    keypair: Keypair,
    origin: String,
    chain: std::sync::Arc<dyn FetchChain>,
    reported: Mutex<Vec<PeerReport>>,
}

impl Requester {
    /// For the institution whose log key is `signer` (its peer id).
    pub fn new(
        signer: &NoteSigner,
        chain: std::sync::Arc<dyn FetchChain>,
    ) -> Result<Self, FetchError> {
        Ok(Self {
            keypair: keypair(signer)?,
            origin: signer.verifier().name.clone(),
            chain,
            reported: Mutex::new(Vec::new()),
        })
    }

    /// Peers reported so far for answers that failed verification.
    pub fn reported(&self) -> Vec<PeerReport> {
        self.reported
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The signed request for `ask`.
    pub fn request(&self, ask: &Ask) -> Result<FetchRequest, FetchError> {
        purpose_code(&ask.purpose)?;
        if ask.categories == 0 || ask.categories & !ALL_CATEGORIES != 0 {
            return Err(FetchError::Invalid(format!(
                "categories {:#x} must name at least one of the categories 0 to 6 and no other",
                ask.categories
            )));
        }
        let mut req = FetchRequest {
            version: FETCH_VERSION,
            resident: ask.resident,
            categories: ask.categories,
            purpose: ask.purpose.clone(),
            break_glass_reason: ask.break_glass_reason.clone(),
            requester: self.origin.clone(),
            issued_at: OffsetDateTime::now_utc().unix_timestamp(),
            nonce: rand::random(),
            signature: Vec::new(),
        };
        req.signature = self
            .keypair
            .sign(&req.signing_bytes())
            .map_err(|e| FetchError::Invalid(format!("signing the request: {e}")))?;
        Ok(req)
    }

    /// Asks `holder` and verifies the answer. An answer proven from an anchored head that the
    /// holder's next anchor replaced while the answer was on its way is asked for once more
    /// (the holder audits both reads, as both were served); only a second such answer counts
    /// against the holder.
    pub async fn fetch(
        &self,
        net: &Network,
        holder: PeerId,
        ask: &Ask,
    ) -> Result<Fetched, FetchError> {
        let response = net.fetch(holder, self.request(ask)?).await?;
        match self.verify_once(holder, ask, response, true).await? {
            Verified::Fetched(f) => Ok(*f),
            Verified::Stale(why) => {
                tracing::info!(%holder, "asking again: {why}");
                let response = net.fetch(holder, self.request(ask)?).await?;
                match self.verify_once(holder, ask, response, false).await? {
                    Verified::Fetched(f) => Ok(*f),
                    Verified::Stale(why) => Err(FetchError::Rejected(why)),
                }
            }
        }
    }

    /// Verifies `holder`'s answer to `ask`: on success only records that passed every check.
    pub async fn verify(
        &self,
        holder: PeerId,
        ask: &Ask,
        response: FetchResponse,
    ) -> Result<Fetched, FetchError> {
        match self.verify_once(holder, ask, response, false).await? {
            Verified::Fetched(f) => Ok(*f),
            Verified::Stale(why) => Err(FetchError::Rejected(why)),
        }
    }

    /// [`Requester::verify`]; with `stale_ok`, an answer tied to an anchored head older than
    /// the chain's is handed back as [`Verified::Stale`] instead of being held against the
    /// holder.
    async fn verify_once(
        &self,
        holder: PeerId,
        ask: &Ask,
        response: FetchResponse,
        stale_ok: bool,
    ) -> Result<Verified, FetchError> {
        let answer = match response.outcome {
            FetchOutcome::Records(a) => a,
            FetchOutcome::Refused(reason) => return Err(FetchError::Refused(reason)),
            FetchOutcome::Unsupported => return Err(FetchError::Unsupported),
        };
        let key = key_of_peer(&holder).ok_or_else(|| {
            FetchError::Rejected("the holder's peer id carries no Ed25519 key".into())
        })?;
        let member = match self.chain.member_by_key(&key).await? {
            Some(m) if m.active => m,
            _ => {
                return Err(FetchError::Rejected(format!(
                    "{holder} is not an active member"
                )));
            }
        };
        match self.check(&member, ask, &answer).await {
            Ok((checkpoint_size, checkpoint_root, bundle, report)) => {
                let (records, dropped, erased) = records(ask, &answer, &bundle, &report);
                if !dropped.is_empty() {
                    let why: Vec<String> = dropped.iter().map(|(_, r)| r.clone()).collect();
                    self.report(
                        holder,
                        &member,
                        format!("records failed verification: {}", why.join("; ")),
                    );
                }
                Ok(Verified::Fetched(Box::new(Fetched {
                    holder,
                    holder_origin: member.origin.clone(),
                    holder_name: member.name.clone(),
                    checkpoint_size,
                    checkpoint_root,
                    records,
                    served: answer.served,
                    refused: answer.refused,
                    break_glass: answer.break_glass,
                    dropped,
                    erased,
                })))
            }
            Err(Refusal::Stale(reason)) if stale_ok => Ok(Verified::Stale(reason)),
            Err(Refusal::Stale(reason) | Refusal::Bad(reason)) => {
                self.report(holder, &member, reason.clone());
                Err(FetchError::Rejected(reason))
            }
        }
    }

    fn report(&self, peer: PeerId, member: &MemberInfo, reason: String) {
        tracing::error!(%peer, origin = %member.origin, "reporting a member: {reason}");
        self.reported
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(PeerReport {
                peer,
                origin: Some(member.origin.clone()),
                reason,
            });
    }

    /// The checks on the answer as a whole: the checkpoint is signed by the holder's registered
    /// key (pinned, never the bundle's own), names its registered origin, and is the holder's
    /// anchored head or provably extends it.
    async fn check(
        &self,
        member: &MemberInfo,
        ask: &Ask,
        answer: &FetchAnswer,
    ) -> Result<(u64, Hash, ProofBundle, VerifyReport), Refusal> {
        if answer.served & !ask.categories != 0 {
            return Err(Refusal::Bad(format!(
                "served categories {:#x} that were not asked for ({:#x})",
                answer.served, ask.categories
            )));
        }
        if answer.break_glass != ask.break_glass_reason.is_some() {
            return Err(Refusal::Bad(
                "the answer's break-glass flag is not the request's".into(),
            ));
        }
        let bundle = ProofBundle::parse(answer.bundle.as_bytes()).map_err(|e| e.to_string())?;
        let pinned = pinned_key(member, &bundle)?;
        let report = bundle.verify(Some(&pinned)).map_err(|e| e.to_string())?;
        if report.origin != member.origin {
            return Err(Refusal::Bad(format!(
                "checkpoint origin '{}' is not the holder's registered origin '{}'",
                report.origin, member.origin
            )));
        }
        let root = decode_hash(&report.root)?;
        let anchored = self
            .chain
            .anchored_head(member.address)
            .await
            .map_err(|e| format!("the holder's anchored head could not be read: {e}"))?
            .ok_or("the holder has anchored nothing: its checkpoint cannot be tied to the chain")?;
        if let Err(why) = tie_to_anchor(anchored, report.size, &root, &bundle) {
            // The holder read its anchored head before it proved the checkpoint; an anchor that
            // landed since leaves the proof starting before the chain's head, through no fault
            // of the holder's.
            let proven_from = bundle
                .anchor_consistency
                .as_ref()
                .map_or(report.size, |ac| ac.old_size);
            return Err(if proven_from < anchored.0 {
                Refusal::Stale(why)
            } else {
                Refusal::Bad(why)
            });
        }
        // Per-record failures are sorted out record by record, from the report's verdicts.
        Ok((report.size, root, bundle, report))
    }
}

/// A verified answer, or one to ask for again.
enum Verified {
    Fetched(Box<Fetched>),
    /// Tied to an anchored head older than the chain's (why).
    Stale(String),
}

/// Why an answer as a whole failed.
enum Refusal {
    /// Proven from an anchored head older than the chain's: possibly an anchor that landed
    /// while the answer was on its way.
    Stale(String),
    Bad(String),
}

impl From<String> for Refusal {
    fn from(why: String) -> Self {
        Refusal::Bad(why)
    }
}

impl From<&str> for Refusal {
    fn from(why: &str) -> Self {
        Refusal::Bad(why.to_owned())
    }
}

/// The records that pass every check, those dropped, and those proven but erased.
fn records(
    ask: &Ask,
    answer: &FetchAnswer,
    bundle: &ProofBundle,
    report: &VerifyReport,
) -> (Vec<VerifiedRecord>, Vec<(u64, String)>, Vec<u64>) {
    let (mut ok, mut dropped, mut erased) = (Vec::new(), Vec::new(), Vec::new());
    let resident = hex::encode(ask.resident);
    for (r, verdict) in bundle.records.iter().zip(&report.records) {
        let prefix = format!("record {}: ", r.index);
        let mut why: Vec<String> = report
            .failures
            .iter()
            .filter_map(|f| f.strip_prefix(&prefix).map(str::to_owned))
            .collect();
        let envelope: Option<Envelope> = serde_json::from_str(r.envelope.get()).ok();
        let content = r.content.as_ref().map(|c| c.get().to_owned());
        if why.is_empty() && !verdict.included {
            why.push("inclusion not verified".into());
        }
        if why.is_empty() && content.is_some() && !verdict.content_verified {
            why.push("content not verified".into());
        }
        let category = envelope.as_ref().map(|e| category_of(&e.kind));
        if let Some(e) = &envelope {
            if e.resident.as_deref() != Some(resident.as_str())
                || e.resident_scope != Some(ResidentScope::Consortium)
            {
                why.push("a record of another resident".into());
            }
            if e.kind == "AuditEvent" {
                why.push("an access audit record, which is never shared".into());
            }
        }
        if let Some(c) = category
            && answer.served & (1 << c) == 0
        {
            why.push(format!("category {c}, which was not served"));
        }
        match (why.is_empty(), envelope, content, category) {
            (true, Some(envelope), Some(content), Some(category)) => ok.push(VerifiedRecord {
                index: r.index,
                envelope,
                content,
                category,
            }),
            // Legal erasure keeps the envelope and its proof: not a fault of the holder.
            (true, Some(_), None, Some(_)) => erased.push(r.index),
            _ => {
                if why.is_empty() {
                    why.push("envelope is malformed".into());
                }
                dropped.push((r.index, format!("record {}: {}", r.index, why.join(", "))));
            }
        }
    }
    (ok, dropped, erased)
}

/// The holder's registered key as a note verifier. Built from what the chain registers; the
/// bundle's key text is accepted only when it is exactly that key under that origin.
fn pinned_key(member: &MemberInfo, bundle: &ProofBundle) -> Result<NoteVerifier, String> {
    let claimed = NoteVerifier::parse(&bundle.verifier_key)
        .map_err(|e| format!("the bundle's verifier key: {e}"))?;
    if claimed.key.to_bytes() != member.key || claimed.name != member.origin {
        return Err(format!(
            "the bundle is signed by '{}', not by the holder's registered key under origin '{}'",
            bundle.verifier_key, member.origin
        ));
    }
    Ok(claimed)
}

/// The checkpoint (size, root) is the anchored head, or the bundle's consistency proof leads
/// from the anchored head to it.
fn tie_to_anchor(
    anchored: (u64, Hash),
    size: u64,
    root: &Hash,
    bundle: &ProofBundle,
) -> Result<(), String> {
    let (a_size, a_root) = anchored;
    if a_size == size {
        return if &a_root == root {
            Ok(())
        } else {
            Err(format!(
                "checkpoint root at size {size} differs from the root anchored on chain at that size"
            ))
        };
    }
    let Some(ac) = &bundle.anchor_consistency else {
        return Err(format!(
            "checkpoint size {size} is not the anchored head ({a_size}) and the bundle proves no consistency with it"
        ));
    };
    if ac.old_size != a_size {
        return Err(format!(
            "the consistency proof starts at size {}, not at the anchored head's size {a_size}",
            ac.old_size
        ));
    }
    let proof: Vec<Hash> = ac
        .proof
        .iter()
        .map(|h| decode_hash(h))
        .collect::<Result<_, _>>()?;
    merkle::verify_consistency(a_size, size, &a_root, root, &proof).map_err(|e| {
        format!(
            "the checkpoint is not consistent with the head anchored on chain at size {a_size}: {e}"
        )
    })
}
