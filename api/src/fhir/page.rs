//! What every read answer shares: paging over a fixed log snapshot, Bundles with absolute
//! links, the disclosure step (authorize, emergency access on chain, audit) that runs before
//! any resident data leaves, and proof bundles in place of Bundles (`_proof=true`).

use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::meta::{self, Loaded};
use super::params::{Params, encode};
use crate::audit;
use crate::auth::Access;
use crate::error::{ApiError, ApiResult};
use crate::resident::Resident;
use crate::state::AppState;

/// Paging parameters every paged read accepts.
pub const PAGING: [&str; 3] = ["_count", "_offset", "_snapshot"];

/// One page of a result computed over the first `snapshot` leaves, so the pages of one
/// search agree while the log grows (every read appends an AuditEvent, for one).
#[derive(Debug, Clone, Copy)]
pub struct Paging {
    pub snapshot: u64,
    pub offset: usize,
    pub count: usize,
}

impl Paging {
    pub fn take(params: &mut Params, state: &AppState) -> ApiResult<Self> {
        let head = state.ledger.head()?.size;
        let num = |name: &str, v: Option<String>| -> ApiResult<Option<u64>> {
            v.map(|s| {
                s.parse::<u64>().map_err(|_| {
                    ApiError::bad_request(format!(
                        "{name} must be a non-negative integer, not '{s}'"
                    ))
                    .at(name.to_owned())
                })
            })
            .transpose()
        };
        let snapshot = num("_snapshot", params.take_one("_snapshot")?)?.unwrap_or(head);
        if snapshot > head {
            return Err(ApiError::bad_request(format!(
                "_snapshot {snapshot} is beyond the log's size {head}"
            ))
            .at("_snapshot"));
        }
        let max = state.config.max_page_size.max(1);
        let count = num("_count", params.take_one("_count")?)?
            .map_or(state.config.default_page_size, |c| {
                usize::try_from(c).unwrap_or(usize::MAX)
            })
            .min(max);
        let offset = num("_offset", params.take_one("_offset")?)?.unwrap_or(0);
        Ok(Self {
            snapshot,
            offset: usize::try_from(offset).unwrap_or(usize::MAX),
            count,
        })
    }

    /// The slice of `all` this page shows.
    pub fn slice<'a, T>(&self, all: &'a [T]) -> &'a [T] {
        let start = self.offset.min(all.len());
        let end = start.saturating_add(self.count).min(all.len());
        &all[start..end]
    }
}

/// The links of a paged answer: `path` (e.g. `/fhir/Observation`) and the parameters that
/// were used, to which the paging parameters are added.
#[derive(Debug, Clone)]
pub struct Links {
    pub path: String,
    pub params: Vec<(String, String)>,
}

impl Links {
    fn url(&self, state: &AppState, p: &Paging, offset: usize) -> String {
        let mut q: Vec<String> = self
            .params
            .iter()
            .map(|(k, v)| format!("{}={}", encode(k), encode(v)))
            .collect();
        q.push(format!("_count={}", p.count));
        q.push(format!("_snapshot={}", p.snapshot));
        q.push(format!("_offset={offset}"));
        format!("{}{}?{}", state.base_url, self.path, q.join("&"))
    }
}

/// A `searchset` (or `history`) Bundle of one page, serialized. Entries may be
/// pre-serialized (`Box<RawValue>`), so that a page of stored resources is copied, not
/// re-parsed.
pub fn bundle<E: serde::Serialize>(
    state: &AppState,
    kind: &str,
    links: &Links,
    p: &Paging,
    total: usize,
    entries: Vec<E>,
) -> Vec<u8> {
    let mut link = vec![
        json!({ "relation": "self", "url": links.url(state, p, p.offset) }),
        json!({ "relation": "first", "url": links.url(state, p, 0) }),
    ];
    if p.offset > 0 {
        let prev = p.offset.saturating_sub(p.count.max(1));
        link.push(json!({ "relation": "previous", "url": links.url(state, p, prev) }));
    }
    let next = p.offset.saturating_add(p.count);
    if p.count > 0 && next < total {
        link.push(json!({ "relation": "next", "url": links.url(state, p, next) }));
    }
    #[derive(serde::Serialize)]
    struct Out<'a, E> {
        #[serde(rename = "resourceType")]
        resource_type: &'static str,
        id: String,
        meta: Value,
        #[serde(rename = "type")]
        kind: &'a str,
        total: usize,
        link: Vec<Value>,
        entry: Vec<E>,
    }
    let out = Out {
        resource_type: "Bundle",
        id: hex::encode(rand::random::<[u8; 16]>()),
        meta: json!({ "lastUpdated": now() }),
        kind,
        total,
        link,
        entry: entries,
    };
    // Serializing Values and raw JSON into memory cannot fail.
    serde_json::to_vec(&out).unwrap_or_default()
}

fn now() -> String {
    hl_ledger::time_fmt::format_utc(time::OffsetDateTime::now_utc()).unwrap_or_default()
}

/// A search result entry, serialized around the stored resource (see `meta::resource_raw`).
pub fn match_entry(state: &AppState, l: &Loaded) -> ApiResult<Box<RawValue>> {
    let full_url = format!("{}/fhir/{}/{}", state.base_url, l.env.kind, l.env.id);
    let resource = meta::resource_raw(l)?;
    let text = format!(
        r#"{{"fullUrl":{},"resource":{},"search":{{"mode":"match"}}}}"#,
        Value::String(full_url),
        resource.get()
    );
    RawValue::from_string(text).map_err(|e| ApiError::internal(format!("search entry: {e}")))
}

/// Any JSON value as a pre-serialized entry.
pub fn raw(v: &Value) -> ApiResult<Box<RawValue>> {
    serde_json::value::to_raw_value(v).map_err(|e| ApiError::internal(format!("entry: {e}")))
}

/// The entry telling a lenient caller what was ignored.
pub fn ignored_entry(ignored: &[String]) -> Option<Value> {
    if ignored.is_empty() {
        return None;
    }
    let issue: Vec<Value> = ignored
        .iter()
        .map(|k| {
            json!({
                "severity": "warning",
                "code": "not-supported",
                "diagnostics": format!("parameter '{k}' is not supported and was ignored (Prefer: handling=lenient)"),
                "expression": [k],
            })
        })
        .collect();
    Some(json!({
        "resource": { "resourceType": "OperationOutcome", "issue": issue },
        "search": { "mode": "outcome" },
    }))
}

/// The request as the audit record names it: path below `/fhir/` and the query.
pub fn audit_query(uri: &Uri) -> String {
    let path = uri.path().strip_prefix("/fhir/").unwrap_or(uri.path());
    match uri.query() {
        Some(q) => format!("{path}?{q}"),
        None => path.to_owned(),
    }
}

/// What a read is, for the audit record.
#[derive(Debug, Clone)]
pub struct Disclosure<'a> {
    pub interaction: &'static str,
    pub query: &'a str,
    pub patient_id: Option<&'a str>,
    /// The resident the request is about; audited even when nothing matched, since an empty
    /// answer about a named resident discloses something too.
    pub subject: Option<Resident>,
}

/// Runs before any record of a resident leaves: checks every record against the policy, then
/// appends one AuditEvent per resident naming exactly the leaves disclosed (which, for a
/// break-glass read, first emits the emergency access on chain; see `audit::record`).
pub async fn disclose(
    state: &AppState,
    access: &Access,
    d: &Disclosure<'_>,
    records: &[Loaded],
) -> ApiResult<()> {
    let groups = check(access, d, records)?;
    audit_groups(state, access, d, &groups).await
}

/// Every record checked against the policy; the residents concerned with their leaves.
fn check(
    access: &Access,
    d: &Disclosure<'_>,
    records: &[Loaded],
) -> ApiResult<Vec<(Resident, Vec<u64>)>> {
    let mut groups: Vec<(Resident, Vec<u64>)> = Vec::new();
    if let Some(s) = d.subject {
        groups.push((s, Vec::new()));
    }
    for l in records {
        meta::authorize(access, l)?;
        let Some(r) = l.resident() else { continue };
        match groups.iter_mut().find(|(g, _)| g.pseudonym == r.pseudonym) {
            Some((_, leaves)) => leaves.push(l.index),
            None => groups.push((r, vec![l.index])),
        }
    }
    Ok(groups)
}

async fn audit_groups(
    state: &AppState,
    access: &Access,
    d: &Disclosure<'_>,
    groups: &[(Resident, Vec<u64>)],
) -> ApiResult<()> {
    for (r, leaves) in groups {
        let read = audit::Read {
            interaction: d.interaction,
            query: d.query,
            patient_id: d.patient_id,
            leaves,
            remote: &[],
        };
        audit::record(state, access, r, &read).await?;
    }
    Ok(())
}

/// How a page of records is answered.
pub struct Answer<'a> {
    /// `_proof=true`: the proof bundle instead of the Bundle.
    pub proof: bool,
    /// Bundle type: searchset or history.
    pub kind: &'static str,
    pub links: &'a Links,
    pub paging: Paging,
    pub total: usize,
    pub ignored: &'a [String],
}

/// Discloses `shown` and answers it. The answer is built on a blocking thread while the
/// AuditEvent is being made durable, and released only once it is: the audit's fsync no longer
/// adds to every page's latency, and nothing leaves unaudited.
pub async fn disclose_and_answer(
    state: &AppState,
    access: &Access,
    d: &Disclosure<'_>,
    shown: &[Loaded],
    a: Answer<'_>,
) -> ApiResult<Response> {
    let groups = check(access, d, shown)?;
    let anchored = if a.proof {
        state.chain.anchored_size().await.ok().flatten()
    } else {
        None
    };
    let (st, records, links, paging, total, ignored, proof, kind) = (
        state.clone(),
        shown.to_vec(),
        a.links.clone(),
        a.paging,
        a.total,
        a.ignored.to_vec(),
        a.proof,
        a.kind,
    );
    let build = tokio::task::spawn_blocking(move || -> ApiResult<Response> {
        if proof {
            let indices: Vec<u64> = records.iter().map(|l| l.index).collect();
            return proof_response(&st, &indices, anchored);
        }
        let mut entries = records
            .iter()
            .map(|l| match_entry(&st, l))
            .collect::<ApiResult<Vec<_>>>()?;
        if let Some(e) = ignored_entry(&ignored) {
            entries.push(raw(&e)?);
        }
        let body = bundle(&st, kind, &links, &paging, total, entries);
        Ok(crate::error::fhir_body(StatusCode::OK, body))
    });
    let (audited, built) = tokio::join!(audit_groups(state, access, d, &groups), build);
    audited?;
    built.map_err(|e| ApiError::internal(format!("building the answer: {e}")))?
}

/// The self-contained proof bundle of `indices` (`_proof=true`), tied to the last anchored
/// head when the chain knows one.
pub async fn proof(state: &AppState, indices: &[u64]) -> ApiResult<Response> {
    let anchored = state.chain.anchored_size().await.ok().flatten();
    proof_response(state, indices, anchored)
}

fn proof_response(state: &AppState, indices: &[u64], anchored: Option<u64>) -> ApiResult<Response> {
    let bundle = state.ledger.proof_bundle(indices, anchored)?;
    let body = serde_json::to_vec(&bundle)
        .map_err(|e| ApiError::internal(format!("proof bundle: {e}")))?;
    let mut resp = (StatusCode::OK, body).into_response();
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Ok(resp)
}
