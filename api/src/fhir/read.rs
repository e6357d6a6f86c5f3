//! Instance reads: read, vread and `_history` of one resource, and the dispatch of
//! `/fhir/{type}/{id}/{op}` to `_history` or `$everything`.

use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use hl_ledger::resource_types::is_r4_resource_type;
use serde_json::{Value, json};
use utoipa::OpenApi;

use super::everything;
use super::meta::{self, Loaded};
use super::page::{self, Disclosure, Links, PAGING, Paging};
use super::params::Params;
use crate::auth::Access;
use crate::auth::policy::Op;
use crate::error::{ApiError, ApiResult, fhir_body, fhir_json};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths(read, vread, history_doc))]
pub struct Doc;

/// 404 for a type R4 does not define, 400 for an id FHIR does not allow.
pub fn check_target(ty: &str, id: &str) -> ApiResult<()> {
    if !is_r4_resource_type(ty) {
        return Err(ApiError::not_found(format!(
            "'{ty}' is not a FHIR R4 resource type"
        )));
    }
    if !hl_ledger::input::is_fhir_id(id) {
        return Err(ApiError::bad_request(format!(
            "'{id}' is not a FHIR id (1-64 of A-Z a-z 0-9 - .)"
        )));
    }
    Ok(())
}

/// Read the latest version of a resource. Its `meta` carries the version, the time it was
/// recorded and the ledger-entry extension (leaf index, content SHA-256, log origin).
/// `_proof=true` answers the proof bundle of the record instead.
#[utoipa::path(get, path = "/fhir/{type}/{id}", tag = "fhir",
    params(
        ("type" = String, Path, description = "FHIR R4 resource type"),
        ("id" = String, Path, description = "Resource id"),
        ("_proof" = Option<bool>, Query, description = "Answer a healthledger-proof-bundle/1 of the record instead"),
    ),
    responses(
        (status = 200, description = "The resource (or its proof bundle)", content_type = "application/fhir+json"),
        (status = 400, description = "Bad id or parameter"),
        (status = 401, description = "No or bad token"),
        (status = 403, description = "Not allowed"),
        (status = 404, description = "Unknown type or id"),
        (status = 410, description = "Content erased"),
    ),
    security(("bearer" = []))
)]
pub async fn read(
    State(state): State<AppState>,
    access: Access,
    Path((ty, id)): Path<(String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Response> {
    check_target(&ty, &id)?;
    access.allow(Op::ReadShared)?;
    let proof = simple_params(q.as_deref(), &headers)?;
    let (_, index) = state
        .ledger
        .latest(&ty, &id)?
        .ok_or_else(|| ApiError::not_found(format!("{ty}/{id} is not in this log")))?;
    single(
        &state,
        &access,
        meta::load(&state, index)?,
        "read",
        &uri,
        proof,
    )
    .await
}

/// Read one version of a resource (`_proof=true` as for read).
#[utoipa::path(get, path = "/fhir/{type}/{id}/_history/{vid}", tag = "fhir",
    params(
        ("type" = String, Path, description = "FHIR R4 resource type"),
        ("id" = String, Path, description = "Resource id"),
        ("vid" = u32, Path, description = "Version id (1, 2, …)"),
        ("_proof" = Option<bool>, Query, description = "Answer a proof bundle of the record instead"),
    ),
    responses(
        (status = 200, description = "That version", content_type = "application/fhir+json"),
        (status = 400, description = "Bad id, version or parameter"),
        (status = 401, description = "No or bad token"),
        (status = 403, description = "Not allowed"),
        (status = 404, description = "Unknown type, id or version"),
        (status = 410, description = "Content erased"),
    ),
    security(("bearer" = []))
)]
pub async fn vread(
    State(state): State<AppState>,
    access: Access,
    Path((ty, id, vid)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Response> {
    check_target(&ty, &id)?;
    let version: u32 = vid
        .parse()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or_else(|| ApiError::bad_request(format!("version id '{vid}' is not 1, 2, …")))?;
    access.allow(Op::ReadShared)?;
    let proof = simple_params(q.as_deref(), &headers)?;
    let index = state.ledger.version(&ty, &id, version)?.ok_or_else(|| {
        ApiError::not_found(format!("{ty}/{id} has no version {version} in this log"))
    })?;
    single(
        &state,
        &access,
        meta::load(&state, index)?,
        "vread",
        &uri,
        proof,
    )
    .await
}

/// `_proof` and `_format`, nothing else.
fn simple_params(q: Option<&str>, headers: &HeaderMap) -> ApiResult<bool> {
    let mut params = Params::parse(q, headers)?;
    let proof = params.take_proof()?;
    params.take_format()?;
    params.finish(&["_proof", "_format"])?;
    Ok(proof)
}

async fn single(
    state: &AppState,
    access: &Access,
    l: Loaded,
    interaction: &'static str,
    uri: &Uri,
    proof: bool,
) -> ApiResult<Response> {
    meta::authorize(access, &l)?;
    let resource = l.resource()?;
    let query = page::audit_query(uri);
    let patient_id = (l.env.kind == "Patient").then_some(l.env.id.as_str());
    let d = Disclosure {
        interaction,
        query: &query,
        patient_id,
        subject: None,
    };
    page::disclose(state, access, &d, std::slice::from_ref(&l)).await?;
    if proof {
        return page::proof(state, &[l.index]).await;
    }
    let mut resp = fhir_json(StatusCode::OK, &resource);
    if let Ok(v) = HeaderValue::from_str(&format!("W/\"{}\"", l.env.version)) {
        resp.headers_mut().insert(header::ETAG, v);
    }
    Ok(resp)
}

/// `/fhir/{type}/{id}/{op}`: `_history` for any type, `$everything` for Patient.
pub async fn instance_op(
    State(state): State<AppState>,
    access: Access,
    Path((ty, id, op)): Path<(String, String, String)>,
    RawQuery(q): RawQuery,
    headers: HeaderMap,
    uri: Uri,
) -> ApiResult<Response> {
    check_target(&ty, &id)?;
    match op.as_str() {
        "_history" => history(&state, &access, &ty, &id, q.as_deref(), &headers, &uri).await,
        "$everything" if ty == "Patient" => {
            everything::everything(&state, &access, &id, q.as_deref(), &headers, &uri).await
        }
        "$everything" => Err(ApiError::not_supported(format!(
            "$everything is supported on Patient only, not on {ty}"
        ))),
        o if o.starts_with('$') => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not-supported",
            format!("operation '{o}' is not supported (only Patient/{{id}}/$everything)"),
        )),
        o => Err(ApiError::not_found(format!(
            "no route for /fhir/{ty}/{id}/{o} (did you mean _history?)"
        ))),
    }
}

/// Every version of a resource, newest first (Bundle type `history`), paged.
#[utoipa::path(get, path = "/fhir/{type}/{id}/_history", tag = "fhir", operation_id = "history",
    params(
        ("type" = String, Path, description = "FHIR R4 resource type"),
        ("id" = String, Path, description = "Resource id"),
        ("_count" = Option<usize>, Query, description = "Page size"),
        ("_offset" = Option<usize>, Query, description = "Entries to skip (from next links)"),
        ("_snapshot" = Option<u64>, Query, description = "Log size the paging is computed at (from next links)"),
        ("_proof" = Option<bool>, Query, description = "Answer a proof bundle of the page's records instead"),
    ),
    responses(
        (status = 200, description = "Bundle of type history", content_type = "application/fhir+json"),
        (status = 400, description = "Bad id or parameter"),
        (status = 401, description = "No or bad token"),
        (status = 403, description = "Not allowed"),
        (status = 404, description = "Unknown type or id"),
    ),
    security(("bearer" = []))
)]
#[allow(dead_code)]
async fn history_doc() {}

async fn history(
    state: &AppState,
    access: &Access,
    ty: &str,
    id: &str,
    q: Option<&str>,
    headers: &HeaderMap,
    uri: &Uri,
) -> ApiResult<Response> {
    access.allow(Op::ReadShared)?;
    let mut params = Params::parse(q, headers)?;
    let paging = Paging::take(&mut params, state)?;
    let proof = params.take_proof()?;
    params.take_format()?;
    let supported = [&PAGING[..], &["_proof", "_format"]].concat();
    params.finish(&supported)?;
    let (latest, _) = state
        .ledger
        .latest(ty, id)?
        .ok_or_else(|| ApiError::not_found(format!("{ty}/{id} is not in this log")))?;
    let mut versions = Vec::new();
    for v in (1..=latest).rev() {
        if let Some(index) = state.ledger.version(ty, id, v)?
            && index < paging.snapshot
        {
            versions.push(index);
        }
    }
    let shown = paging
        .slice(&versions)
        .iter()
        .map(|&i| meta::load(state, i))
        .collect::<ApiResult<Vec<_>>>()?;
    let query = page::audit_query(uri);
    let d = Disclosure {
        interaction: "history-instance",
        query: &query,
        patient_id: (ty == "Patient").then_some(id),
        subject: None,
    };
    page::disclose(state, access, &d, &shown).await?;
    if proof {
        let indices: Vec<u64> = shown.iter().map(|l| l.index).collect();
        return page::proof(state, &indices).await;
    }
    let entries = shown
        .iter()
        .map(|l| history_entry(state, l))
        .collect::<ApiResult<Vec<_>>>()?;
    let links = Links {
        path: format!("/fhir/{ty}/{id}/_history"),
        params: Vec::new(),
    };
    let b = page::bundle(state, "history", &links, &paging, versions.len(), entries);
    Ok(fhir_body(StatusCode::OK, b))
}

fn history_entry(state: &AppState, l: &Loaded) -> ApiResult<Value> {
    let (kind, id, v) = (&l.env.kind, &l.env.id, l.env.version);
    let mut e = json!({
        "fullUrl": format!("{}/fhir/{kind}/{id}", state.base_url),
        "request": if v == 1 {
            json!({ "method": "POST", "url": kind })
        } else {
            json!({ "method": "PUT", "url": format!("{kind}/{id}") })
        },
        "response": {
            "status": match (l.content.is_some(), v) {
                (false, _) => "410 Gone",
                (true, 1) => "201 Created",
                (true, _) => "200 OK",
            },
            "etag": format!("W/\"{v}\""),
            "lastModified": l.env.recorded,
        },
    });
    if l.content.is_some() {
        e["resource"] = l.resource()?;
    }
    Ok(e)
}
