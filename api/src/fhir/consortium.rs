//! `Patient/{id}/$everything?scope=consortium`: this node's records of the resident followed by
//! the records other members hold and were allowed to share, each verified by the node's
//! consortium service before it gets here (content hash, inclusion proof, checkpoint signed by
//! the holder's registered key and tied to its anchored head). Remote resources carry their
//! provenance in `meta`: the holder's ledger entry (leaf, content hash, origin) and the
//! checkpoint they were proven into. An OperationOutcome entry says what each holder answered,
//! so a refusal is visible, not silent.

use axum::http::StatusCode;
use axum::response::Response;
use hl_indexer::summary::is_summary;
use serde_json::value::RawValue;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::meta::{self, Loaded};
use super::page::{self, Links, Paging};
use crate::audit::{self, URL_BASE};
use crate::auth::Access;
use crate::auth::policy::Op;
use crate::error::{ApiError, ApiResult};
use crate::ports::{ConsortiumAsk, ConsortiumRecords, HolderOutcome, PortError, RemoteRecord};
use crate::resident::{self, Resident};
use crate::state::AppState;

/// URL of the extension naming where a remote record came from and what it was proven into.
pub const PROVENANCE_URL: &str =
    "https://healthledger.example.org/fhir/StructureDefinition/consortium-provenance";

/// One page of the consortium answer.
pub struct Page<'a> {
    pub id: &'a str,
    pub paging: Paging,
    pub ignored: &'a [String],
    pub query: &'a str,
}

pub async fn everything(state: &AppState, access: &Access, p: Page<'_>) -> ApiResult<Response> {
    let resident = subject(state, p.id)?;
    access.allow(Op::ReadResident(&resident.pseudonym))?;
    // A break-glass read is on chain before anyone is asked (fail closed), not after the
    // holders have disclosed.
    audit::emergency_access(state, access, &resident).await?;
    let remote = gather(state, access, &resident).await?;
    let local = meta::resident_latest(state, &resident.pseudonym, p.paging.snapshot, |e| {
        e.kind != "AuditEvent" && !is_summary(&e.kind, &e.id)
    })?;
    let total = local.len() + remote.records.len();
    let (start, end) = window(&p.paging, total);
    let shown_local = &local[start.min(local.len())..end.min(local.len())];
    let shown_remote =
        &remote.records[start.saturating_sub(local.len())..end.saturating_sub(local.len())];
    for l in shown_local {
        meta::authorize(access, l)?;
    }
    // One AuditEvent names both what this node disclosed and what it passed on from others
    // (each holder audited its own answer to this node in its own log).
    let leaves: Vec<u64> = shown_local.iter().map(|l| l.index).collect();
    let remote_leaves: Vec<String> = shown_remote
        .iter()
        .map(|r| format!("{}#{}", r.envelope.origin, r.index))
        .collect();
    let read = audit::Read {
        interaction: "operation",
        query: p.query,
        patient_id: Some(p.id),
        leaves: &leaves,
        remote: &remote_leaves,
    };
    audit::append(state, access, &resident, &read).await?;

    let mut entries = shown_local
        .iter()
        .map(|l| page::match_entry(state, l))
        .collect::<ApiResult<Vec<_>>>()?;
    for r in shown_remote {
        entries.push(remote_entry(r)?);
    }
    entries.push(page::raw(&holders_entry(&remote))?);
    if let Some(e) = page::ignored_entry(p.ignored) {
        entries.push(page::raw(&e)?);
    }
    let links = Links {
        path: format!("/fhir/Patient/{}/$everything", p.id),
        params: vec![("scope".into(), "consortium".into())],
    };
    let body = page::bundle(state, "searchset", &links, &p.paging, total, entries);
    Ok(crate::error::fhir_body(StatusCode::OK, body))
}

/// What the other members hold of `resident` and let this node see, verified, for the
/// caller's purpose (or break-glass).
pub async fn gather(
    state: &AppState,
    access: &Access,
    resident: &Resident,
) -> ApiResult<ConsortiumRecords> {
    let consortium = state.consortium.as_ref().ok_or_else(|| {
        ApiError::from(PortError::NotConfigured(
            "this node is not in a consortium network ([network] enabled = false): ask with scope=local".into(),
        ))
    })?;
    let ask = ConsortiumAsk {
        pseudonym: resident.pseudonym,
        purpose: access.purpose.clone(),
        break_glass_reason: access.break_glass.clone(),
    };
    Ok(consortium.gather(&ask).await?)
}

/// [`subject`] for the QC API, which names residents as `resident::resolve` does: the Patient
/// id named, if one was.
pub fn subject_named<'a>(state: &AppState, s: &'a str) -> ApiResult<(Resident, Option<&'a str>)> {
    let is_pseudonym = s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    if is_pseudonym {
        return Ok((subject(state, s)?, None));
    }
    let id = s.strip_prefix("Patient/").unwrap_or(s);
    Ok((resident::resolve(state, s)?, Some(id)))
}

/// The resident the request names: a Patient of this log, or a 64-hex pseudonym, which may
/// be one this node holds nothing of (a clinician can ask for a resident only others know).
fn subject(state: &AppState, id: &str) -> ApiResult<Resident> {
    if resident::is_pseudonym(id) {
        return match resident::resolve(state, id) {
            Ok(r) => Ok(r),
            Err(e) if e.status == StatusCode::NOT_FOUND => {
                let mut pseudonym = [0u8; 32];
                hex::decode_to_slice(id, &mut pseudonym)
                    .map_err(|_| ApiError::bad_request("resident pseudonym is not hex"))?;
                Ok(Resident {
                    pseudonym,
                    scope: hl_ledger::pseudonym::ResidentScope::Consortium,
                })
            }
            Err(e) => Err(e),
        };
    }
    resident::of_patient(state, id)
}

fn window(p: &Paging, total: usize) -> (usize, usize) {
    let start = p.offset.min(total);
    (start, start.saturating_add(p.count).min(total))
}

/// A remote record as a search entry: the holder's resource with the holder's ledger entry and
/// the provenance extension in `meta`. Its fullUrl is a URN derived from (origin, type, id):
/// ids are only unique within one institution's log.
fn remote_entry(r: &RemoteRecord) -> ApiResult<Box<RawValue>> {
    let loaded = Loaded {
        index: r.index,
        env: r.envelope.clone(),
        content: Some(r.content.clone()),
    };
    // Copied around the holder's stored bytes, only `meta` parsed: a consortium page holds up
    // to a thousand of these, and re-parsing each resource was most of the requester's CPU.
    let resource = meta::resource_raw_with(&loaded, |meta| {
        meta.insert("source".into(), json!(r.envelope.origin));
        if let Some(Value::Array(ext)) = meta.get_mut("extension") {
            ext.push(json!({
                "url": PROVENANCE_URL,
                "extension": [
                    { "url": "institution", "valueString": r.institution },
                    { "url": "origin", "valueString": r.envelope.origin },
                    { "url": "checkpointSize", "valueString": r.checkpoint_size.to_string() },
                    { "url": "checkpointRoot", "valueString": r.checkpoint_root },
                    { "url": "category", "valueUnsignedInt": r.category },
                    { "url": "verified", "valueBoolean": true },
                ],
            }));
        }
    })?;
    let text = format!(
        r#"{{"fullUrl":{},"resource":{},"search":{{"mode":"match"}}}}"#,
        Value::String(full_url(
            &r.envelope.origin,
            &r.envelope.kind,
            &r.envelope.id
        )),
        resource.get()
    );
    RawValue::from_string(text).map_err(|e| ApiError::internal(format!("remote entry: {e}")))
}

/// `urn:uuid:` of SHA-256(origin, type, id), shaped as a version-8 UUID.
fn full_url(origin: &str, kind: &str, id: &str) -> String {
    let mut h = Sha256::new();
    for part in [origin, kind, id] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    let mut b: [u8; 16] = h.finalize()[..16].try_into().unwrap_or([0; 16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let x = hex::encode(b);
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..]
    )
}

/// The OperationOutcome entry: one issue per holder, information when it served, warning when
/// it refused (some categories) or could not be reached, error when its answer failed
/// verification.
fn holders_entry(c: &ConsortiumRecords) -> Value {
    let mut issue: Vec<Value> = c.holders.iter().map(holder_issue).collect();
    if issue.is_empty() {
        issue.push(json!({
            "severity": "information",
            "code": "informational",
            "diagnostics": "no other member announced records of this resident",
        }));
    }
    json!({
        "resource": { "resourceType": "OperationOutcome", "issue": issue },
        "search": { "mode": "outcome" },
    })
}

fn holder_issue(h: &HolderOutcome) -> Value {
    let who = match &h.institution {
        Some(n) => format!("{n} ({})", h.origin),
        None => h.origin.clone(),
    };
    let mut text = format!("{who}: {}", h.status);
    if h.records > 0 || h.status == "served" {
        text.push_str(&format!(", {} verified record(s)", h.records));
    }
    if h.cached {
        text.push_str(" (cached while the consent holds)");
    }
    if h.break_glass {
        text.push_str(", break-glass (recorded on chain by the holder)");
    }
    for (cat, why) in &h.refused {
        text.push_str(&format!("; category {cat} refused: {why}"));
    }
    if h.dropped > 0 {
        text.push_str(&format!(
            "; {} record(s) failed verification and were dropped, the holder was reported",
            h.dropped
        ));
    }
    if let Some(d) = &h.detail {
        text.push_str(&format!("; {d}"));
    }
    let (severity, code) = match h.status.as_str() {
        "served" if h.refused.is_empty() && h.dropped == 0 => ("information", "informational"),
        "served" => ("warning", "suppressed"),
        "refused" => ("warning", "forbidden"),
        "rejected" => ("error", "security"),
        _ => ("warning", "transient"),
    };
    json!({
        "severity": severity,
        "code": code,
        "diagnostics": text,
        "extension": [{ "url": format!("{URL_BASE}/StructureDefinition/consortium-holder"), "valueString": h.origin }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_urls_are_uuid_urns_distinct_per_origin() {
        let a = full_url("a.example/log", "Patient", "p1");
        let b = full_url("b.example/log", "Patient", "p1");
        assert_ne!(a, b);
        assert_eq!(a, full_url("a.example/log", "Patient", "p1"));
        let u = a.strip_prefix("urn:uuid:").unwrap();
        assert_eq!(u.len(), 36);
        assert_eq!(&u[14..15], "8", "version 8");
        // (origin, type, id) boundaries are length-prefixed: no two splits collide.
        assert_ne!(
            full_url("a", "bc", "d"),
            full_url("ab", "c", "d"),
            "length-prefixed parts"
        );
    }

    #[test]
    fn a_remote_entry_is_the_holders_resource_with_its_entry_and_provenance() {
        let content = r#"{"id":"o1","meta":{"tag":[{"code":"x"}]},"resourceType":"Observation","status":"final","valueQuantity":{"value":4.50}}"#;
        let r = RemoteRecord {
            index: 41,
            envelope: hl_ledger::record::Envelope {
                v: 1,
                origin: "holder.example/log".into(),
                schema: "fhir-r4".into(),
                kind: "Observation".into(),
                id: "o1".into(),
                version: 2,
                resident: Some("ab".repeat(32)),
                resident_scope: None,
                effective: None,
                recorded: "2026-01-02T03:04:05Z".into(),
                content_sha256: "cd".repeat(32),
            },
            content: content.as_bytes().to_vec(),
            category: 2,
            institution: "Holder Hospital".into(),
            checkpoint_size: 99,
            checkpoint_root: "ef".repeat(32),
        };
        let e: Value = serde_json::from_str(remote_entry(&r).expect("entry").get()).expect("json");
        assert_eq!(
            e["fullUrl"],
            full_url("holder.example/log", "Observation", "o1").as_str()
        );
        assert_eq!(e["search"]["mode"], "match");
        let res = &e["resource"];
        // Everything but meta is the holder's content, byte for byte in value.
        let mut stored: Value = serde_json::from_str(content).expect("content");
        let mut shown = res.clone();
        stored.as_object_mut().expect("o").remove("meta");
        shown.as_object_mut().expect("o").remove("meta");
        assert_eq!(shown, stored);
        let meta = &res["meta"];
        assert_eq!(meta["source"], "holder.example/log");
        assert_eq!(meta["versionId"], "2");
        assert_eq!(meta["tag"][0]["code"], "x");
        let ext = meta["extension"].as_array().expect("extensions");
        let entry = ext
            .iter()
            .find(|x| x["url"] == meta::ledger_entry_url().as_str())
            .expect("ledger entry");
        assert_eq!(entry["extension"][0]["valueString"], "41");
        let prov = ext
            .iter()
            .find(|x| x["url"] == PROVENANCE_URL)
            .expect("provenance");
        let field = |name: &str| {
            prov["extension"]
                .as_array()
                .and_then(|a| a.iter().find(|f| f["url"] == name))
                .cloned()
                .unwrap_or(Value::Null)
        };
        assert_eq!(field("institution")["valueString"], "Holder Hospital");
        assert_eq!(field("checkpointSize")["valueString"], "99");
        assert_eq!(field("category")["valueUnsignedInt"], 2);
        assert_eq!(field("verified")["valueBoolean"], true);
    }

    #[test]
    fn the_window_stays_inside_the_result() {
        let p = |offset, count| Paging {
            snapshot: 0,
            offset,
            count,
        };
        assert_eq!(window(&p(0, 10), 4), (0, 4));
        assert_eq!(window(&p(3, 10), 4), (3, 4));
        assert_eq!(window(&p(9, 10), 4), (4, 4));
        assert_eq!(window(&p(2, 1), 4), (2, 3));
    }
}
