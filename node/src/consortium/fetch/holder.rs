//! The holder's side: who may read what, recorded on chain and in the log before answering.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use alloy::primitives::B256;
use hl_ledger::Ledger;
use hl_ledger::canonical::{canonical_sha256, to_canonical};
use hl_ledger::input::{Prepared, PreparedRecord, ResidentRef};
use hl_ledger::pseudonym::ResidentScope;
use libp2p::PeerId;
use libp2p::identity::ed25519;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use super::{
    ALL_CATEGORIES, FetchChain, FetchError, MAX_CLOCK_SKEW_SECS, MAX_REASON_BYTES, MemberInfo,
    categories_in, category_of, purpose_code,
};
use crate::net::identity::key_of_peer;
use crate::net::protocol::{
    FETCH_VERSION, FetchAnswer, FetchHandler, FetchOutcome, FetchRequest, FetchResponse,
    RefusedCategory,
};

/// Answers fetch requests from the node's log.
pub struct Holder {
    ledger: Arc<Ledger>,
    chain: Arc<dyn FetchChain>,
    /// This institution's name, as the audit record's observer.
    institution: String,
    /// Nonces of accepted requests still within the clock-skew window (replay guard).
    seen: Mutex<HashMap<[u8; 16], i64>>,
}

impl Holder {
    pub fn new(
        ledger: Arc<Ledger>,
        chain: Arc<dyn FetchChain>,
        institution: impl Into<String>,
    ) -> Self {
        Self {
            ledger,
            chain,
            institution: institution.into(),
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// Checks the request, then gathers, audits and proves the records it may have.
    pub async fn answer(&self, peer: PeerId, req: FetchRequest) -> Result<FetchAnswer, String> {
        let key = key_of_peer(&peer).ok_or("the peer id does not carry an Ed25519 key")?;
        let public = ed25519::PublicKey::try_from_bytes(&key)
            .map_err(|e| format!("the peer's key is unusable: {e}"))?;
        if !public.verify(&req.signing_bytes(), &req.signature) {
            return Err(
                "the request's signature does not verify with the key of the peer that sent it"
                    .into(),
            );
        }
        self.fresh(&req)?;
        let purpose = check_request(&req).map_err(|e| e.to_string())?;
        let requester = match self.chain.member_by_key(&key).await {
            Ok(Some(m)) if m.active => m,
            Ok(Some(_)) => return Err("the requester is a suspended member".into()),
            Ok(None) => return Err("the requester is not a registered member".into()),
            Err(e) => return Err(format!("membership could not be checked: {e}")),
        };
        if requester.origin != req.requester {
            return Err(format!(
                "the request names origin '{}', but the member with this key has origin '{}'",
                req.requester, requester.origin
            ));
        }
        let (served, refused) = self.permitted(&req, &requester, purpose).await?;
        // Anchored head first: once the audit record is written, the answer must go out.
        let anchored = self.own_anchored_size().await;
        let (ledger, resident) = (self.ledger.clone(), req.resident);
        let leaves = tokio::task::spawn_blocking(move || select(&ledger, &resident, served))
            .await
            .map_err(|e| format!("reading the log: {e}"))?
            .map_err(|e| format!("reading the log: {e}"))?;
        self.audit(&req, &requester, &leaves).await?;
        let ledger = self.ledger.clone();
        let bundle = tokio::task::spawn_blocking(move || {
            let b = ledger
                .proof_bundle(&leaves, anchored)
                .map_err(|e| format!("proving the records: {e}"))?;
            serde_json::to_string(&b).map_err(|e| format!("writing the bundle: {e}"))
        })
        .await
        .map_err(|e| format!("proving the records: {e}"))??;
        Ok(FetchAnswer {
            bundle,
            served,
            refused,
            break_glass: req.break_glass_reason.is_some(),
        })
    }

    fn fresh(&self, req: &FetchRequest) -> Result<(), String> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        if (now - req.issued_at).abs() > MAX_CLOCK_SKEW_SECS {
            return Err(format!(
                "the request was issued at {} (Unix), not within {MAX_CLOCK_SKEW_SECS} s of now",
                req.issued_at
            ));
        }
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        seen.retain(|_, at| (now - *at).abs() <= MAX_CLOCK_SKEW_SECS);
        if seen.insert(req.nonce, req.issued_at).is_some() {
            return Err("the request was replayed (its nonce was seen before)".into());
        }
        Ok(())
    }

    /// The categories to serve and those refused. Break-glass serves all requested ones once
    /// the emergency access is on chain; without consent for any category, nothing is served.
    async fn permitted(
        &self,
        req: &FetchRequest,
        requester: &MemberInfo,
        purpose: B256,
    ) -> Result<(u32, Vec<RefusedCategory>), String> {
        if let Some(reason) = &req.break_glass_reason {
            let hash: [u8; 32] = Sha256::digest(reason.as_bytes()).into();
            self.chain
                .record_emergency_access(&req.resident, hash.into())
                .await
                .map_err(|e| {
                    format!("break-glass refused: the emergency access could not be recorded on chain: {e}")
                })?;
            return Ok((req.categories, Vec::new()));
        }
        let (mut served, mut refused) = (0u32, Vec::new());
        for c in categories_in(req.categories) {
            match self
                .chain
                .is_permitted(&req.resident, requester.address, c, purpose)
                .await
            {
                Ok(true) => served |= 1 << c,
                Ok(false) => refused.push(RefusedCategory {
                    category: c,
                    reason: format!(
                        "no active consent for {} to category {c} for purpose {}",
                        requester.origin, req.purpose
                    ),
                }),
                // Fail closed: an unreadable consent is no consent, and says so.
                Err(e) => return Err(format!("consent could not be checked on chain: {e}")),
            }
        }
        if served == 0 {
            let why: Vec<String> = refused.into_iter().map(|r| r.reason).collect();
            return Err(format!("no consent: {}", why.join("; ")));
        }
        Ok((served, refused))
    }

    /// This node's anchored size on chain, for the consistency proof in the bundle; without
    /// one the requester can tie only a checkpoint equal to the anchored head.
    async fn own_anchored_size(&self) -> Option<u64> {
        let key = self.ledger.verifier().key.to_bytes();
        let me = self.chain.member_by_key(&key).await.ok().flatten()?;
        match self.chain.anchored_head(me.address).await {
            Ok(h) => h.map(|(size, _)| size),
            Err(e) => {
                tracing::warn!("reading this node's anchored head: {e}");
                None
            }
        }
    }

    /// Appends the AuditEvent for this read and waits until it is durable.
    async fn audit(
        &self,
        req: &FetchRequest,
        requester: &MemberInfo,
        leaves: &[u64],
    ) -> Result<u64, String> {
        let resource = audit_event(&self.institution, req, requester, leaves);
        let refused = |e: &dyn std::fmt::Display| format!("audit not written, read refused: {e}");
        let content_sha256 = canonical_sha256(&resource).map_err(|e| refused(&e))?;
        let content = to_canonical(&resource).map_err(|e| refused(&e))?;
        let prepared = Prepared {
            source_name: "consortium access audit".into(),
            records: vec![PreparedRecord {
                kind: "AuditEvent".into(),
                id: resource["id"].as_str().unwrap_or_default().to_owned(),
                content,
                content_sha256,
                effective: resource["recorded"].as_str().map(str::to_owned),
                resident: ResidentRef::Known(req.resident, ResidentScope::Consortium),
                position: None,
            }],
        };
        let receipt = self
            .ledger
            .submit_async(prepared)
            .await
            .map_err(|e| refused(&e))?
            .map_err(|e| refused(&e))?;
        receipt
            .entries
            .first()
            .map(|e| e.index)
            .ok_or_else(|| refused(&"no receipt entry"))
    }
}

#[async_trait::async_trait]
impl FetchHandler for Holder {
    async fn handle(&self, peer: PeerId, request: FetchRequest) -> FetchResponse {
        match self.answer(peer, request).await {
            Ok(answer) => FetchResponse {
                version: FETCH_VERSION,
                outcome: FetchOutcome::Records(answer),
            },
            Err(reason) => {
                tracing::info!(%peer, "record fetch refused: {reason}");
                FetchResponse::refused(reason)
            }
        }
    }
}

/// The request's own checks; returns the purpose as the contract keys it.
fn check_request(req: &FetchRequest) -> Result<B256, FetchError> {
    if req.resident == [0; 32] {
        return Err(FetchError::Invalid("the resident pseudonym is zero".into()));
    }
    if req.categories == 0 || req.categories & !ALL_CATEGORIES != 0 {
        return Err(FetchError::Invalid(format!(
            "categories {:#x} must name at least one of the categories 0 to 6 and no other",
            req.categories
        )));
    }
    if let Some(r) = &req.break_glass_reason
        && (r.trim().is_empty() || r.len() > MAX_REASON_BYTES)
    {
        return Err(FetchError::Invalid(format!(
            "a break-glass reason must say why, in 1 to {MAX_REASON_BYTES} bytes"
        )));
    }
    purpose_code(&req.purpose)
}

/// The latest version of each of the resident's consortium records in the served categories,
/// leaving out access audits and QC summaries (this node's own bookkeeping).
fn select(ledger: &Ledger, resident: &[u8; 32], served: u32) -> Result<Vec<u64>, String> {
    let size = ledger.head().map_err(|e| e.to_string())?.size;
    let records = ledger
        .resident_snapshot_where(resident, size, |e| {
            let kind = e.kind.as_str();
            e.resident_scope == Some(ResidentScope::Consortium)
                && kind != "AuditEvent"
                && !hl_indexer::summary::is_summary(kind, &e.id)
                && served & (1 << category_of(kind)) != 0
        })
        .map_err(|e| e.to_string())?;
    Ok(records
        .into_iter()
        .filter(|r| r.is_latest_at(size))
        // Erased content has nothing to disclose.
        .filter(|r| r.record.content.is_some())
        .map(|r| r.record.index)
        .collect())
}

/// The AuditEvent for a remote read, shaped as the API's (`hl_api::audit::event`): the agent is
/// the requesting institution.
fn audit_event(
    institution: &str,
    req: &FetchRequest,
    requester: &MemberInfo,
    leaves: &[u64],
) -> Value {
    use hl_api::audit::{DETAIL_BREAK_GLASS, DETAIL_LEAVES, URL_BASE};
    let recorded = hl_ledger::time_fmt::format_utc(OffsetDateTime::now_utc()).unwrap_or_default();
    let purpose = json!([{ "coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
        "code": req.purpose,
    }]}]);
    let leaves = leaves
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut detail = vec![
        json!({ "type": DETAIL_LEAVES, "valueString": if leaves.is_empty() { "none".to_owned() } else { leaves } }),
    ];
    if let Some(reason) = &req.break_glass_reason {
        detail.push(json!({ "type": DETAIL_BREAK_GLASS, "valueString": reason }));
    }
    let query = format!(
        "consortium fetch categories={:#x} purpose={}",
        req.categories, req.purpose
    );
    json!({
        "resourceType": "AuditEvent",
        "id": hex::encode(rand::random::<[u8; 16]>()),
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "RESTful Operation",
        },
        "subtype": [{ "system": "http://hl7.org/fhir/restful-interaction", "code": "operation" }],
        "action": "R",
        "recorded": recorded,
        "outcome": "0",
        "purposeOfEvent": purpose,
        "agent": [{
            "type": { "coding": [{ "system": format!("{URL_BASE}/CodeSystem/agent-role"), "code": "consortium-member" }] },
            "who": {
                "identifier": { "system": format!("{URL_BASE}/sid/member-address"), "value": requester.address.to_string() },
                "display": format!("{} ({})", requester.name, requester.origin),
            },
            "requestor": true,
            "purposeOfUse": purpose,
        }],
        "source": { "observer": { "display": institution } },
        "entity": [
            {
                "what": { "display": "resident" },
                "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person" },
                "role": { "system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient" },
            },
            {
                "what": { "display": query },
                "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object" },
                "detail": detail,
            },
        ],
    })
}
