//! `POST /fhir`: a transaction (and a collection or document, as file ingest takes them) lands
//! whole or not at all; a batch lands entry by entry.

use axum::body::Bytes;
use hl_ledger::input::Prepared;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Value, json};

use super::common::{Root, Written, durable, input_error, malformed, submit_error, writer_gone};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// What the body says about itself before its entries are read.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "resourceType", borrow)]
    resource_type: Option<&'a RawValue>,
    #[serde(rename = "type", borrow)]
    kind: Option<&'a RawValue>,
    #[serde(borrow)]
    entry: Option<&'a RawValue>,
}

#[derive(Deserialize, Default)]
struct EntryRequest {
    request: Option<RequestIn>,
}

/// `Bundle.entry.request`: the fields the log acts on, and the conditional ones it cannot honour.
#[derive(Deserialize, Default)]
struct RequestIn {
    method: Option<String>,
    url: Option<String>,
    #[serde(rename = "ifNoneMatch")]
    if_none_match: Option<Value>,
    #[serde(rename = "ifModifiedSince")]
    if_modified_since: Option<Value>,
    #[serde(rename = "ifMatch")]
    if_match: Option<Value>,
    #[serde(rename = "ifNoneExist")]
    if_none_exist: Option<Value>,
}

/// What a body becomes once parsed and prepared: CPU work, done off the async workers.
enum Plan {
    Transaction(Prepared),
    Batch(Vec<ApiResult<Prepared>>),
}

/// The answer to `POST /fhir`: a transaction-response or batch-response Bundle.
pub async fn post(state: &AppState, bytes: Bytes) -> ApiResult<Value> {
    let st = state.clone();
    let plan = tokio::task::spawn_blocking(move || plan(&st, &bytes))
        .await
        .map_err(|e| ApiError::internal(format!("preparing the Bundle: {e}")))??;
    match plan {
        Plan::Transaction(prepared) => transaction(state, prepared).await,
        Plan::Batch(entries) => batch(state, entries).await,
    }
}

fn plan(state: &AppState, bytes: &[u8]) -> ApiResult<Plan> {
    let head: Head<'_> = serde_json::from_slice(bytes).map_err(|e| {
        if e.is_data() {
            ApiError::bad_request("the body is not a JSON object: POST /fhir takes a Bundle")
        } else {
            malformed(&e)
        }
    })?;
    let rt = head
        .resource_type
        .and_then(|r| serde_json::from_str::<Value>(r.get()).ok());
    match rt.as_ref().and_then(Value::as_str) {
        Some("Bundle") => {}
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "POST /fhir takes a Bundle of type transaction or batch, not a {other}: create a single resource with POST /fhir/{other}"
            ))
            .at("resourceType"));
        }
        None => {
            return Err(ApiError::bad_request(
                "the body has no resourceType: POST /fhir takes a Bundle",
            )
            .at("resourceType"));
        }
    }
    let kind = head
        .kind
        .and_then(|r| serde_json::from_str::<Value>(r.get()).ok());
    if kind.as_ref().and_then(Value::as_str) == Some("batch") {
        let entries: Vec<&RawValue> = match head.entry {
            None => Vec::new(),
            Some(raw) => serde_json::from_str(raw.get()).map_err(|e| {
                ApiError::bad_request(format!("Bundle.entry is not a list of entries: {e}"))
                    .at("Bundle.entry")
            })?,
        };
        if entries.is_empty() {
            return Err(ApiError::bad_request("Bundle has no entries").at("Bundle.entry"));
        }
        return Ok(Plan::Batch(
            entries
                .iter()
                .enumerate()
                .map(|(i, raw)| prepare_entry(state, raw, i))
                .collect(),
        ));
    }
    let prepared = state
        .input
        .prepare("POST /fhir", bytes)
        .map_err(|e| input_error(Root::Bundle { entry: None }, &e))?;
    // Prepare accepted the entries, so they parse; their requests are checked against the
    // resources they carry.
    let requests: Vec<EntryRequest> = head
        .entry
        .map(|raw| serde_json::from_str(raw.get()))
        .transpose()
        .map_err(|e| ApiError::bad_request(format!("Bundle.entry: {e}")).at("Bundle.entry"))?
        .unwrap_or_default();
    for (i, (rec, req)) in prepared.records.iter().zip(&requests).enumerate() {
        check_request(req.request.as_ref(), &rec.kind, &rec.id, i)?;
    }
    Ok(Plan::Transaction(prepared))
}

/// Writes the whole Bundle as one submission: one group commit carries all of it or none.
async fn transaction(state: &AppState, prepared: Prepared) -> ApiResult<Value> {
    let receipt = durable(state.ledger.submit_async(prepared))
        .await
        .map_err(|e| {
            e.map_or_else(writer_gone, |e| {
                submit_error(Root::Bundle { entry: None }, &e)
            })
        })?;
    let written = Written::all(state, &receipt)?;
    Ok(response_bundle(
        state,
        "transaction-response",
        written.iter().map(|w| entry_for(state, w)).collect(),
    ))
}

/// Each entry is its own submission; all are queued before any is awaited, so they share group
/// commits and an entry may refer to a Patient an earlier entry writes.
async fn batch(state: &AppState, entries: Vec<ApiResult<Prepared>>) -> ApiResult<Value> {
    let steps: Vec<_> = entries
        .into_iter()
        .map(|p| p.map(|p| state.ledger.submit_async(p)))
        .collect();
    let mut out = Vec::with_capacity(steps.len());
    for (i, step) in steps.into_iter().enumerate() {
        let root = Root::Bundle { entry: Some(i) };
        let result = match step {
            Err(e) => Err(e),
            Ok(pending) => match durable(pending).await {
                Ok(receipt) => Written::all(state, &receipt),
                Err(e) => Err(e.map_or_else(writer_gone, |e| submit_error(root, &e))),
            },
        };
        out.push(match result {
            Ok(written) => match written.first() {
                Some(w) => entry_for(state, w),
                None => failed(&ApiError::internal(
                    "the entry was written without a record",
                )),
            },
            Err(e) => failed(&e),
        });
    }
    Ok(response_bundle(state, "batch-response", out))
}

/// One batch entry as a Bundle of its own, so that it is validated exactly as file ingest
/// validates an entry; the resource keeps the exact bytes it was sent with.
fn prepare_entry(state: &AppState, raw: &RawValue, i: usize) -> ApiResult<Prepared> {
    let root = Root::Bundle { entry: Some(i) };
    let wrapped = format!(
        "{{\"resourceType\":\"Bundle\",\"type\":\"batch\",\"entry\":[{}]}}",
        raw.get()
    );
    let prepared = state
        .input
        .prepare(&format!("POST /fhir entry {i}"), wrapped.as_bytes())
        .map_err(|e| input_error(root, &e))?;
    let req: EntryRequest = serde_json::from_str(raw.get()).unwrap_or_default();
    if let Some(rec) = prepared.records.first() {
        check_request(req.request.as_ref(), &rec.kind, &rec.id, i)?;
    }
    Ok(prepared)
}

/// The parts of `entry.request` the log cannot honour are refused rather than ignored: the
/// URL must name the resource's type (and, for PUT, its id), and conditional requests are not
/// supported.
fn check_request(req: Option<&RequestIn>, kind: &str, id: &str, i: usize) -> ApiResult<()> {
    let Some(req) = req else { return Ok(()) };
    let at = |f: &str| format!("Bundle.entry[{i}].request.{f}");
    for (name, v) in [
        ("ifNoneExist", &req.if_none_exist),
        ("ifMatch", &req.if_match),
        ("ifNoneMatch", &req.if_none_match),
        ("ifModifiedSince", &req.if_modified_since),
    ] {
        if v.is_some() {
            return Err(ApiError::not_supported(format!(
                "entry {i}: request.{name}: conditional requests are not supported: the log appends every version"
            ))
            .at(at(name)));
        }
    }
    let Some(url) = req.url.as_deref() else {
        return Ok(());
    };
    let path = url.split(['?', '#']).next().unwrap_or("");
    if url.contains('?') {
        return Err(ApiError::not_supported(format!(
            "entry {i}: request.url: conditional '{url}' is not supported: name the resource as Type or Type/id"
        ))
        .at(at("url")));
    }
    let mut parts = path.trim_start_matches('/').split('/');
    let url_kind = parts.next().unwrap_or("");
    if url_kind != kind {
        return Err(ApiError::bad_request(format!(
            "entry {i}: request.url: '{url}' names type '{url_kind}' but the resource is a {kind}"
        ))
        .at(at("url")));
    }
    if req.method.as_deref() == Some("PUT")
        && let Some(url_id) = parts.next()
        && url_id != id
    {
        return Err(ApiError::bad_request(format!(
            "entry {i}: request.url: PUT {url} does not match the resource's id '{id}'"
        ))
        .at(at("url")));
    }
    Ok(())
}

fn entry_for(state: &AppState, w: &Written) -> Value {
    json!({
        "fullUrl": format!("{}/fhir/{}/{}", state.base_url, w.kind, w.id),
        "response": w.response(),
    })
}

fn failed(e: &ApiError) -> Value {
    let status = e.status;
    json!({ "response": {
        "status": format!("{} {}", status.as_u16(), status.canonical_reason().unwrap_or("")),
        "outcome": e.outcome(),
    }})
}

fn response_bundle(state: &AppState, kind: &str, entries: Vec<Value>) -> Value {
    let now = hl_ledger::time_fmt::format_utc(time::OffsetDateTime::now_utc()).unwrap_or_default();
    json!({
        "resourceType": "Bundle",
        "id": hex::encode(rand::random::<[u8; 16]>()),
        "type": kind,
        "timestamp": now,
        "link": [{ "relation": "self", "url": format!("{}/fhir", state.base_url) }],
        "entry": entries,
    })
}
