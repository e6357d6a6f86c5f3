//! The access audit: every read of a resident's data appends an `AuditEvent` record, tied to
//! the resident, to the log before the data is answered (fail closed), so the access log is
//! in the anchored log too and the resident can list it (`AuditEvent?patient=`).

use hl_ledger::canonical::{canonical_sha256, to_canonical};
use hl_ledger::input::{Prepared, PreparedRecord, ResidentRef};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use time::OffsetDateTime;

use crate::auth::Access;
use crate::error::{ApiError, ApiResult};
use crate::resident::Resident;
use crate::state::AppState;

/// Base of the extension and code-system URLs this API defines (documented in docs/api.md).
pub const URL_BASE: &str = "https://healthledger.example.org/fhir";
/// `AuditEvent.entity.detail.type` listing the leaf indices that were disclosed.
pub const DETAIL_LEAVES: &str = "leaves";
/// `AuditEvent.entity.detail.type` carrying a break-glass reason.
pub const DETAIL_BREAK_GLASS: &str = "break-glass-reason";
/// `AuditEvent.entity.detail.type` listing other members' records disclosed (`origin#leaf`).
pub const DETAIL_REMOTE_LEAVES: &str = "remote-leaves";

/// What was read, for the audit record.
#[derive(Debug, Clone)]
pub struct Read<'a> {
    /// FHIR restful interaction: read, vread, history-instance, search-type, operation.
    pub interaction: &'static str,
    /// The request as the caller made it, e.g. `Patient/p1/$everything?_count=100&page=2`.
    pub query: &'a str,
    /// Patient id the request named, if it named one.
    pub patient_id: Option<&'a str>,
    /// Leaf indices whose content (or QC status) was disclosed.
    pub leaves: &'a [u64],
    /// Records of other members disclosed with them (consortium view), as `origin#leaf`.
    pub remote: &'a [String],
}

/// The AuditEvent resource for one read.
pub fn event(state: &AppState, access: &Access, read: &Read<'_>, at: OffsetDateTime) -> Value {
    let id = hex::encode(rand::random::<[u8; 16]>());
    let recorded = hl_ledger::time_fmt::format_utc(at).unwrap_or_default();
    let purpose = json!([{ "coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
        "code": access.purpose,
    }]}]);
    let mut entity = vec![json!({
        "what": match read.patient_id {
            Some(p) => json!({ "reference": format!("Patient/{p}") }),
            None => json!({ "display": "resident" }),
        },
        "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "1", "display": "Person" },
        "role": { "system": "http://terminology.hl7.org/CodeSystem/object-role", "code": "1", "display": "Patient" },
    })];
    let leaves = read
        .leaves
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let mut detail = vec![
        json!({ "type": DETAIL_LEAVES, "valueString": if leaves.is_empty() { "none".to_owned() } else { leaves } }),
    ];
    if !read.remote.is_empty() {
        detail.push(json!({ "type": DETAIL_REMOTE_LEAVES, "valueString": read.remote.join(",") }));
    }
    if let Some(reason) = &access.break_glass {
        detail.push(json!({ "type": DETAIL_BREAK_GLASS, "valueString": reason }));
    }
    entity.push(json!({
        "what": { "display": read.query },
        "type": { "system": "http://terminology.hl7.org/CodeSystem/audit-entity-type", "code": "2", "display": "System Object" },
        "query": base64_query(read.query),
        "detail": detail,
    }));
    json!({
        "resourceType": "AuditEvent",
        "id": id,
        "type": {
            "system": "http://terminology.hl7.org/CodeSystem/audit-event-type",
            "code": "rest",
            "display": "RESTful Operation",
        },
        "subtype": [{ "system": "http://hl7.org/fhir/restful-interaction", "code": read.interaction }],
        "action": "R",
        "recorded": recorded,
        "outcome": "0",
        "purposeOfEvent": purpose,
        "agent": [{
            "type": { "coding": [{ "system": format!("{URL_BASE}/CodeSystem/agent-role"), "code": access.principal.role_name() }] },
            "who": { "display": access.principal.who() },
            "requestor": true,
            "purposeOfUse": purpose,
        }],
        "source": { "observer": { "display": state.institution } },
        "entity": entity,
    })
}

fn base64_query(q: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(q.as_bytes())
}

/// Appends the AuditEvent for `read` of `resident` and waits until it is durable. Returns the
/// audit record's leaf index. A break-glass read is first emitted on chain
/// (`EmergencyAccess` with the reason's SHA-256). Any failure refuses the read: nothing is
/// disclosed unaudited, and no emergency read goes unrecorded on chain.
pub async fn record(
    state: &AppState,
    access: &Access,
    resident: &Resident,
    read: &Read<'_>,
) -> ApiResult<u64> {
    emergency_access(state, access, resident).await?;
    append(state, access, resident, read).await
}

/// [`record`] without the chain event: for a read whose break-glass access was already
/// emitted with [`emergency_access`] (the consortium view emits it before it asks anyone).
pub async fn append(
    state: &AppState,
    access: &Access,
    resident: &Resident,
    read: &Read<'_>,
) -> ApiResult<u64> {
    let at = OffsetDateTime::now_utc();
    let resource = event(state, access, read, at);
    let content_sha256 =
        canonical_sha256(&resource).map_err(|e| ApiError::internal(format!("audit event: {e}")))?;
    let content =
        to_canonical(&resource).map_err(|e| ApiError::internal(format!("audit event: {e}")))?;
    let id = resource["id"].as_str().unwrap_or_default().to_owned();
    let prepared = Prepared {
        source_name: "access audit".into(),
        records: vec![PreparedRecord {
            kind: "AuditEvent".into(),
            id,
            content,
            content_sha256,
            effective: resource["recorded"].as_str().map(str::to_owned),
            resident: ResidentRef::Known(resident.pseudonym, resident.scope),
            position: None,
        }],
    };
    let receipt = state
        .ledger
        .submit_async(prepared)
        .await
        .map_err(|_| ApiError::unavailable("the log writer stopped; read refused (not audited)"))?
        .map_err(|e| ApiError::unavailable(format!("audit not written, read refused: {e}")))?;
    receipt
        .entries
        .first()
        .map(|e| e.index)
        .ok_or_else(|| ApiError::internal("audit receipt without entry"))
}

/// For a break-glass read (an [`Access`] with a reason), emits `EmergencyAccess(pseudonym,
/// member, sha256(reason))` on chain; nothing for any other read. Every route that discloses a
/// resident's data reaches it through [`record`]: an emergency read whose chain event cannot be
/// written is refused (fail closed).
pub async fn emergency_access(
    state: &AppState,
    access: &Access,
    resident: &Resident,
) -> ApiResult<()> {
    let Some(reason) = &access.break_glass else {
        return Ok(());
    };
    let hash: [u8; 32] = Sha256::digest(reason.as_bytes()).into();
    state
        .chain
        .record_emergency_access(&resident.pseudonym, hash.into())
        .await
        .map_err(|e| {
            ApiError::unavailable(format!(
                "break-glass read refused: the emergency access could not be recorded on chain: {e}"
            ))
        })?;
    Ok(())
}
