//! FHIR R4 writes: `POST /fhir` (transaction, batch), create (`POST /fhir/{type}`) and update
//! (`PUT /fhir/{type}/{id}`). Every body goes through the node's ingest preparation
//! ([`hl_ledger::input::InputOptions::prepare`]), so HTTP and file ingest accept exactly the
//! same input, and is answered only once its group commit is durable. The log is append-only:
//! writing an existing `Type/id` appends its next version.

#[path = "write_bundle.rs"]
mod bundle_ops;
#[path = "write_common.rs"]
mod common;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hl_ledger::input::is_fhir_id;
use hl_ledger::resource_types::is_r4_resource_type;
use serde_json::{Map, Value};
use utoipa::OpenApi;

use crate::auth::Principal;
use crate::auth::policy::{self, Op};
use crate::error::{ApiError, ApiResult, fhir_json};
use crate::state::AppState;
use common::{Root, Written, durable, input_error, submit_error, writer_gone};

#[derive(OpenApi)]
#[openapi(paths(bundle, create, update))]
pub struct Doc;

/// Submit a Bundle: `transaction` lands whole or not at all, `batch` entry by entry.
///
/// * `transaction` (and `collection` or `document`, which file ingest takes the same way): the
///   whole Bundle is validated and written in one group commit. The answer, sent once it is
///   durable, is a `transaction-response` with one entry per input entry, in order:
///   `201 Created` for a new resource, `200 OK` for a new version of an existing `Type/id`, with
///   `location` (`Type/id/_history/version`), `etag` and `lastModified`. Any refused entry
///   refuses the Bundle: nothing is written and the `OperationOutcome` names the entry and
///   element (`Bundle.entry[3].resource.subject.reference`).
/// * `batch`: each entry is validated and written on its own; the `batch-response` carries
///   each entry's status, and a refused entry a 4xx status and an `OperationOutcome` in
///   `response.outcome`, while the others land. Entries may not refer to each other by
///   `urn:uuid` (FHIR batch semantics), but may name a `Patient/id` an earlier entry writes.
///
/// Entries take POST or PUT (the log is append-only: no DELETE, PATCH or GET entries);
/// `request.url` must name the resource's type, and for PUT its id. Conditional requests
/// (`ifNoneExist`, `ifMatch`, …, or a `?` in the URL) are refused as not supported. Resource
/// ids are kept (else taken from a `urn:uuid:` fullUrl or the PUT URL); `searchset`,
/// `history`, `message` and response Bundles are refused.
#[utoipa::path(
    post,
    path = "/fhir",
    tag = "fhir",
    security(("bearer" = [])),
    request_body(
        content = Object,
        content_type = "application/fhir+json",
        description = "A FHIR R4 Bundle of type transaction or batch (collection and document are taken as transactions)"
    ),
    responses(
        (status = 200, description = "transaction-response or batch-response Bundle", content_type = "application/fhir+json", body = Object),
        (status = 400, description = "malformed JSON, not a Bundle, or invalid FHIR (OperationOutcome names entry and element; nothing written)", content_type = "application/fhir+json", body = Object),
        (status = 401, description = "no or unknown bearer token", content_type = "application/fhir+json", body = Object),
        (status = 403, description = "the caller's role may not write (only ingest may)", content_type = "application/fhir+json", body = Object),
        (status = 413, description = "body over api.max_body_bytes", content_type = "application/fhir+json", body = Object),
        (status = 415, description = "Content-Type is not application/fhir+json or application/json", content_type = "application/fhir+json", body = Object),
        (status = 422, description = "a reference the log cannot resolve, e.g. an unknown Patient (nothing written)", content_type = "application/fhir+json", body = Object),
        (status = 503, description = "the log writer has stopped (node shutting down); nothing written", content_type = "application/fhir+json", body = Object)
    )
)]
pub async fn bundle(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    policy::allow(&principal, Op::Write)?;
    common::check_content_type(&headers)?;
    let bytes = common::body(&state, body)?;
    let answer = bundle_ops::post(&state, bytes).await?;
    Ok(fhir_json(StatusCode::OK, &answer))
}

/// Create a resource; the server assigns its id.
///
/// `resourceType` must be `{type}`; an `id` in the body is replaced by a new one (32 hex
/// digits), as FHIR create prescribes. Answered once durable: `201 Created` with `Location`
/// (`<base>/fhir/{type}/{id}/_history/1`), `ETag`, `Last-Modified` and the stored resource
/// with `meta.versionId` and `meta.lastUpdated` (`Prefer: return=minimal` leaves the body
/// out). `If-None-Exist` (conditional create) is not supported.
#[utoipa::path(
    post,
    path = "/fhir/{type}",
    tag = "fhir",
    security(("bearer" = [])),
    params(("type" = String, Path, description = "FHIR R4 resource type, e.g. Observation")),
    request_body(content = Object, content_type = "application/fhir+json", description = "A FHIR R4 resource of type {type}"),
    responses(
        (status = 201, description = "created; the stored resource", content_type = "application/fhir+json", body = Object),
        (status = 400, description = "malformed JSON, not an object, wrong resourceType, or invalid FHIR (nothing written)", content_type = "application/fhir+json", body = Object),
        (status = 401, description = "no or unknown bearer token", content_type = "application/fhir+json", body = Object),
        (status = 403, description = "the caller's role may not write", content_type = "application/fhir+json", body = Object),
        (status = 404, description = "not a FHIR R4 resource type", content_type = "application/fhir+json", body = Object),
        (status = 413, description = "body over api.max_body_bytes", content_type = "application/fhir+json", body = Object),
        (status = 415, description = "Content-Type is not FHIR JSON", content_type = "application/fhir+json", body = Object),
        (status = 422, description = "a reference the log cannot resolve (nothing written)", content_type = "application/fhir+json", body = Object),
        (status = 503, description = "the log writer has stopped; nothing written", content_type = "application/fhir+json", body = Object)
    )
)]
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    Path(kind): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    policy::allow(&principal, Op::Write)?;
    check_type(&kind)?;
    common::check_content_type(&headers)?;
    if headers.contains_key("if-none-exist") {
        return Err(ApiError::not_supported(
            "If-None-Exist (conditional create) is not supported: the log appends every version",
        ));
    }
    let bytes = common::body(&state, body)?;
    let body = common::parse_object(&bytes)?;
    check_resource_type(&body, &kind)?;
    // Server-assigned id first after resourceType, the rest as sent.
    let id = hex::encode(rand::random::<[u8; 16]>());
    let mut resource = Map::with_capacity(body.len() + 1);
    resource.insert("resourceType".into(), Value::String(kind.clone()));
    resource.insert("id".into(), Value::String(id));
    for (k, v) in body {
        if k != "id" && k != "resourceType" {
            resource.insert(k, v);
        }
    }
    let stored = serde_json::to_vec(&resource)
        .map_err(|e| ApiError::internal(format!("serializing the resource: {e}")))?;
    write_resource(&state, &kind, &headers, &stored).await
}

/// Update a resource: append the next version of `{type}/{id}` (or its first).
///
/// The body's `resourceType` must be `{type}` and its `id` must be `{id}`. The log keeps the
/// body exactly as sent. `200 OK` for a new version of an existing resource, `201 Created` for
/// the first, with `Location`, `ETag`, `Last-Modified` and the resource with
/// `meta.versionId`/`meta.lastUpdated`. `If-Match` (version-aware update) is not supported.
#[utoipa::path(
    put,
    path = "/fhir/{type}/{id}",
    tag = "fhir",
    security(("bearer" = [])),
    params(
        ("type" = String, Path, description = "FHIR R4 resource type"),
        ("id" = String, Path, description = "resource id (FHIR id: 1-64 of A-Z a-z 0-9 - .)")
    ),
    request_body(content = Object, content_type = "application/fhir+json", description = "The FHIR R4 resource {type}/{id}, with id = {id}"),
    responses(
        (status = 200, description = "a new version of an existing resource", content_type = "application/fhir+json", body = Object),
        (status = 201, description = "the first version", content_type = "application/fhir+json", body = Object),
        (status = 400, description = "malformed JSON, not an object, wrong resourceType or id, or invalid FHIR (nothing written)", content_type = "application/fhir+json", body = Object),
        (status = 401, description = "no or unknown bearer token", content_type = "application/fhir+json", body = Object),
        (status = 403, description = "the caller's role may not write", content_type = "application/fhir+json", body = Object),
        (status = 404, description = "not a FHIR R4 resource type", content_type = "application/fhir+json", body = Object),
        (status = 413, description = "body over api.max_body_bytes", content_type = "application/fhir+json", body = Object),
        (status = 415, description = "Content-Type is not FHIR JSON", content_type = "application/fhir+json", body = Object),
        (status = 422, description = "a reference the log cannot resolve (nothing written)", content_type = "application/fhir+json", body = Object),
        (status = 503, description = "the log writer has stopped; nothing written", content_type = "application/fhir+json", body = Object)
    )
)]
pub async fn update(
    State(state): State<AppState>,
    principal: Principal,
    Path((kind, id)): Path<(String, String)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    policy::allow(&principal, Op::Write)?;
    check_type(&kind)?;
    if !is_fhir_id(&id) {
        return Err(ApiError::bad_request(format!(
            "'{id}' is not a FHIR id (1-64 of A-Z a-z 0-9 - .)"
        )));
    }
    common::check_content_type(&headers)?;
    if headers.contains_key(header::IF_MATCH) {
        return Err(ApiError::not_supported(
            "If-Match (version-aware update) is not supported: the log appends every version",
        ));
    }
    let bytes = common::body(&state, body)?;
    let body = common::parse_object(&bytes)?;
    check_resource_type(&body, &kind)?;
    match body.get("id") {
        Some(Value::String(b)) if *b == id => {}
        Some(Value::String(b)) => {
            return Err(ApiError::bad_request(format!(
                "the body's id '{b}' is not the id '{id}' in the URL"
            ))
            .at(format!("{kind}.id")));
        }
        Some(_) => {
            return Err(ApiError::bad_request("id must be a string").at(format!("{kind}.id")));
        }
        None => {
            return Err(ApiError::bad_request(format!(
                "the body has no id: an update must carry id '{id}'"
            ))
            .at(format!("{kind}.id")));
        }
    }
    write_resource(&state, &kind, &headers, &bytes).await
}

/// The type in the URL: a FHIR R4 resource type we store one resource of.
fn check_type(kind: &str) -> ApiResult<()> {
    if kind == "Bundle" {
        return Err(ApiError::not_supported(
            "a Bundle is not stored as one resource: POST a transaction or batch Bundle to /fhir",
        ));
    }
    if !is_r4_resource_type(kind) {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not-supported",
            format!("'{kind}' is not a FHIR R4 resource type"),
        ));
    }
    Ok(())
}

fn check_resource_type(body: &Map<String, Value>, kind: &str) -> ApiResult<()> {
    match body.get("resourceType") {
        Some(Value::String(t)) if t == kind => Ok(()),
        Some(Value::String(t)) => Err(ApiError::bad_request(format!(
            "resourceType '{t}' does not match the type '{kind}' in the URL"
        ))
        .at("resourceType")),
        Some(_) => Err(ApiError::bad_request("resourceType must be a string").at("resourceType")),
        None => Err(ApiError::bad_request(format!(
            "the body has no resourceType (expected '{kind}')"
        ))
        .at("resourceType")),
    }
}

/// Prepares `stored` (the resource's bytes as the log keeps them), writes it durably and
/// answers with the version it became.
async fn write_resource(
    state: &AppState,
    kind: &str,
    headers: &HeaderMap,
    stored: &[u8],
) -> ApiResult<Response> {
    let root = Root::Resource(kind);
    let (st, source, bytes) = (state.clone(), format!("{kind} body"), stored.to_vec());
    let prepared = tokio::task::spawn_blocking(move || st.input.prepare(&source, &bytes))
        .await
        .map_err(|e| ApiError::internal(format!("preparing the resource: {e}")))?
        .map_err(|e| input_error(root, &e))?;
    let receipt = durable(state.ledger.submit_async(prepared))
        .await
        .map_err(|e| e.map_or_else(writer_gone, |e| submit_error(root, &e)))?;
    let written = Written::all(state, &receipt)?;
    let w = written
        .first()
        .ok_or_else(|| ApiError::internal("the resource was written without a record"))?;
    let minimal = headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.split([';', ',']).any(|t| t.trim() == "return=minimal"));
    let mut resp = if minimal {
        w.status().into_response()
    } else {
        // As a read would serve it: the stored bytes with meta and the ledger-entry extension.
        let index = receipt
            .entries
            .first()
            .map(|e| e.index)
            .ok_or_else(|| ApiError::internal("the resource was written without a record"))?;
        fhir_json(w.status(), &super::meta::load(state, index)?.resource()?)
    };
    let h = resp.headers_mut();
    let location = format!("{}/fhir/{}", state.base_url, w.location());
    for (name, value) in [
        (header::LOCATION, Some(location)),
        (header::ETAG, Some(w.etag())),
        (header::LAST_MODIFIED, w.http_date()),
    ] {
        if let Some(v) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            h.insert(name, v);
        }
    }
    Ok(resp)
}
