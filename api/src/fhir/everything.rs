//! `Patient/{id}/$everything`: the resident's whole record in log order, paged; every page
//! is authorized and audited on its own (one AuditEvent naming exactly that page's leaves).

use axum::http::{HeaderMap, Uri};
use axum::response::Response;
use hl_indexer::summary::is_summary;
use utoipa::OpenApi;

use super::meta;
use super::page::{self, Disclosure, Links, PAGING, Paging};
use super::params::Params;
use crate::auth::Access;
use crate::auth::policy::Op;
use crate::error::{ApiError, ApiResult};
use crate::resident;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths(everything_doc))]
pub struct Doc;

/// Every current record of the Patient's resident (latest versions, log order), without the
/// access log (AuditEvent) and QC summary records; Bundle type `searchset`, paged with
/// `_count` and `next` links over a fixed log snapshot. Every page is authorized and appends
/// its own AuditEvent before it is answered. `_proof=true` answers the proof bundle of the
/// page's records instead. `scope=consortium` adds what the other members hold (see
/// [`super::consortium`]).
#[utoipa::path(get, path = "/fhir/Patient/{id}/$everything", tag = "fhir", operation_id = "patient_everything",
    params(
        ("id" = String, Path, description = "Patient id"),
        ("_count" = Option<usize>, Query, description = "Page size (default and maximum from the node's config)"),
        ("_offset" = Option<usize>, Query, description = "Entries to skip (from next links)"),
        ("_snapshot" = Option<u64>, Query, description = "Log size the result is computed at (from next links)"),
        ("_proof" = Option<bool>, Query, description = "Answer a proof bundle of the page's records instead (scope=local only)"),
        ("scope" = Option<String>, Query, description = "local (default): this node's records; consortium: with the verified records other members hold and the resident's consent lets them share (each with its provenance), and an OperationOutcome entry saying what each holder answered"),
    ),
    responses(
        (status = 200, description = "Bundle of type searchset (or a proof bundle)", content_type = "application/fhir+json"),
        (status = 400, description = "Bad id or unsupported parameter"),
        (status = 401, description = "No or bad token"),
        (status = 403, description = "Not allowed"),
        (status = 404, description = "Unknown Patient"),
        (status = 501, description = "scope=consortium on a node that is not in a consortium network"),
        (status = 503, description = "The access audit (or a break-glass chain event) could not be written"),
    ),
    security(("bearer" = []))
)]
#[allow(dead_code)]
async fn everything_doc() {}

pub async fn everything(
    state: &AppState,
    access: &Access,
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
    let scope = params.take_one("scope")?;
    let supported = [&PAGING[..], &["_proof", "_format", "scope"]].concat();
    let ignored = params.finish(&supported)?;
    match scope.as_deref() {
        None | Some("local") => {}
        Some("consortium") if proof => {
            return Err(ApiError::not_supported(
                "_proof=true is answered for this node's records only (scope=local); every remote record in a consortium answer was verified against its holder's anchored checkpoint, named in its meta",
            )
            .at("_proof"));
        }
        Some("consortium") => {
            let c = super::consortium::Page {
                id,
                paging,
                ignored: &ignored,
                query: &page::audit_query(uri),
            };
            return super::consortium::everything(state, access, c).await;
        }
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "scope must be 'local' or 'consortium', not '{other}'"
            ))
            .at("scope"));
        }
    }
    let resident = resident::of_patient(state, id)?;
    access.allow(Op::ReadResident(&resident.pseudonym))?;
    let all = meta::resident_latest(state, &resident.pseudonym, paging.snapshot, |e| {
        e.kind != "AuditEvent" && !is_summary(&e.kind, &e.id)
    })?;
    let shown = paging.slice(&all);
    let query = page::audit_query(uri);
    let d = Disclosure {
        interaction: "operation",
        query: &query,
        patient_id: Some(id),
        subject: Some(resident),
    };
    let links = Links {
        path: format!("/fhir/Patient/{id}/$everything"),
        params: Vec::new(),
    };
    let a = page::Answer {
        proof,
        kind: "searchset",
        links: &links,
        paging,
        total: all.len(),
        ignored: &ignored,
    };
    page::disclose_and_answer(state, access, &d, shown, a).await
}
