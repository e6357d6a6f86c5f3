//! Ledger API: checkpoints, inclusion and consistency proofs, anchors, proof-bundle checks.
//!
//! The checkpoint, the verifier key and `POST /v1/verify` are public: anyone may check a log
//! against its signed heads (a regulator's offline check, as a service). Proofs and anchors
//! need an authenticated caller the policy lets read the ledger.

use std::collections::HashMap;

use axum::Json;
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hl_ledger::merkle::{self, Hash};
use hl_ledger::note::{Checkpoint, NoteVerifier};
use hl_ledger::proof_bundle::{ProofBundle, decode_hash};
use serde_json::{Value, json};
use utoipa::OpenApi;

use crate::auth::Principal;
use crate::auth::policy::{Op, allow};
use crate::error::{ApiError, ApiResult};
use crate::ports::AnchorInfo;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths(checkpoint, key, inclusion, consistency, anchors, verify))]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/checkpoint", get(checkpoint))
        .route("/v1/key", get(key))
        .route("/v1/proof/inclusion", get(inclusion))
        .route("/v1/proof/consistency", get(consistency))
        .route("/v1/anchors", get(anchors))
        .route("/v1/verify", post(verify))
}

type Params = Query<HashMap<String, String>>;

/// Refuses parameters the route does not know (strict handling), naming them.
fn only(q: &HashMap<String, String>, known: &[&str]) -> ApiResult<()> {
    let mut unknown: Vec<&str> = q
        .keys()
        .map(String::as_str)
        .filter(|k| !known.contains(k))
        .collect();
    if unknown.is_empty() {
        return Ok(());
    }
    unknown.sort_unstable();
    Err(ApiError::not_supported(format!(
        "unknown parameter(s) {} (known: {})",
        unknown.join(", "),
        known.join(", ")
    )))
}

fn number(q: &HashMap<String, String>, name: &str) -> ApiResult<Option<u64>> {
    q.get(name)
        .map(|v| {
            v.trim().parse::<u64>().map_err(|_| {
                ApiError::bad_request(format!(
                    "parameter '{name}' is '{v}', not a non-negative integer"
                ))
                .at(name.to_owned())
            })
        })
        .transpose()
}

/// The latest signed checkpoint, opened with the log's own key.
fn latest(state: &AppState) -> ApiResult<(String, Checkpoint)> {
    let text = state.ledger.checkpoint()?;
    let cp = Checkpoint::open_signed(&text, state.ledger.verifier())
        .map_err(|e| ApiError::internal(format!("stored checkpoint does not verify: {e}")))?;
    Ok((text, cp))
}

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn wants_json(headers: &HeaderMap, q: &HashMap<String, String>) -> ApiResult<bool> {
    match q.get("format").map(String::as_str) {
        Some("json") => return Ok(true),
        Some("text") => return Ok(false),
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "format '{other}' is neither 'json' nor 'text'"
            ))
            .at("format"));
        }
        None => {}
    }
    Ok(headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json")))
}

/// The latest signed checkpoint (C2SP `tlog-checkpoint` in a signed note).
///
/// Plain text by default; JSON with `Accept: application/json` or `?format=json`.
#[utoipa::path(get, path = "/v1/checkpoint", tag = "ledger",
    params(("format" = Option<String>, Query, description = "`json` or `text` (default: by Accept)")),
    responses(
        (status = 200, description = "The signed note (text/plain), or {origin, size, root, checkpoint, verifierKey}", content_type = "text/plain"),
        (status = 400, description = "Unknown parameter or format"),
    ))]
async fn checkpoint(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Params,
) -> ApiResult<Response> {
    only(&q, &["format"])?;
    let json = wants_json(&headers, &q)?;
    let (note, cp) = latest(&state)?;
    if !json {
        return Ok(text(note));
    }
    Ok(Json(json!({
        "origin": cp.origin,
        "size": cp.size,
        "root": hex::encode(cp.root),
        "checkpoint": note,
        "verifierKey": state.ledger.verifier().to_string(),
    }))
    .into_response())
}

/// The log's C2SP verifier key (`<origin>+<key id>+<base64 key>`), to check its checkpoints.
#[utoipa::path(get, path = "/v1/key", tag = "ledger", responses(
    (status = 200, description = "The verifier key", content_type = "text/plain")
))]
async fn key(State(state): State<AppState>) -> Response {
    text(format!("{}\n", state.ledger.verifier()))
}

fn hexes(proof: &[Hash]) -> Vec<String> {
    proof.iter().map(hex::encode).collect()
}

/// The tree size a proof is asked against: the given one, else the latest checkpoint's.
fn tree_size(given: Option<u64>, cp: &Checkpoint, name: &str) -> ApiResult<u64> {
    match given {
        None => Ok(cp.size),
        Some(s) if s > cp.size => Err(ApiError::not_found(format!(
            "parameter '{name}' = {s}: the log has {} records in its latest checkpoint",
            cp.size
        ))
        .at(name.to_owned())),
        Some(s) => Ok(s),
    }
}

/// Inclusion proof of leaf `index` in the tree of `size` leaves (default: the latest
/// checkpoint's, which is then included so the proof checks on its own).
#[utoipa::path(get, path = "/v1/proof/inclusion", tag = "ledger", security(("bearer" = [])),
    params(
        ("index" = u64, Query, description = "Leaf index"),
        ("size" = Option<u64>, Query, description = "Tree size (default: latest checkpoint)"),
    ),
    responses(
        (status = 200, description = "{index, size, leafHash, root, proof: [hex], checkpoint?}"),
        (status = 400, description = "Missing or bad index/size, or index not below size"),
        (status = 401, description = "No or bad token"),
        (status = 404, description = "Size beyond the latest checkpoint"),
    ))]
async fn inclusion(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Params,
) -> ApiResult<Json<Value>> {
    allow(&principal, Op::Ledger)?;
    only(&q, &["index", "size"])?;
    let index = number(&q, "index")?
        .ok_or_else(|| ApiError::bad_request("parameter 'index' is required").at("index"))?;
    let (note, cp) = latest(&state)?;
    let size = tree_size(number(&q, "size")?, &cp, "size")?;
    if index >= size {
        return Err(ApiError::bad_request(format!(
            "index {index} is not in the tree of size {size} (leaves 0..{size})"
        ))
        .at("index"));
    }
    let leaf = state
        .ledger
        .leaf_hash(index)?
        .ok_or_else(|| ApiError::internal(format!("leaf {index} is missing")))?;
    let proof = state.ledger.inclusion_proof(index, size)?;
    let root = if size == cp.size {
        cp.root
    } else {
        state.ledger.root_at(size)?
    };
    let mut v = json!({
        "index": index,
        "size": size,
        "leafHash": hex::encode(leaf),
        "root": hex::encode(root),
        "proof": hexes(&proof),
    });
    if size == cp.size {
        v["checkpoint"] = json!(note);
    }
    Ok(Json(v))
}

/// Consistency proof that the tree of `new` leaves (default: the latest checkpoint's) extends
/// the tree of `old` leaves.
#[utoipa::path(get, path = "/v1/proof/consistency", tag = "ledger", security(("bearer" = [])),
    params(
        ("old" = u64, Query, description = "Older tree size (≥ 1)"),
        ("new" = Option<u64>, Query, description = "Newer tree size (default: latest checkpoint)"),
    ),
    responses(
        (status = 200, description = "{old, new, oldRoot, newRoot, proof: [hex], checkpoint?}"),
        (status = 400, description = "Missing or bad old/new, old = 0 or old > new"),
        (status = 401, description = "No or bad token"),
        (status = 404, description = "New size beyond the latest checkpoint"),
    ))]
async fn consistency(
    State(state): State<AppState>,
    principal: Principal,
    Query(q): Params,
) -> ApiResult<Json<Value>> {
    allow(&principal, Op::Ledger)?;
    only(&q, &["old", "new"])?;
    let old = number(&q, "old")?
        .ok_or_else(|| ApiError::bad_request("parameter 'old' is required").at("old"))?;
    let (note, cp) = latest(&state)?;
    let new = tree_size(number(&q, "new")?, &cp, "new")?;
    if old == 0 {
        return Err(ApiError::bad_request(
            "old = 0: every tree extends the empty tree; no proof needed",
        )
        .at("old"));
    }
    if old > new {
        return Err(ApiError::bad_request(format!(
            "old ({old}) is larger than new ({new}): a log only grows"
        ))
        .at("old"));
    }
    let proof = state.ledger.consistency_proof(old, new)?;
    let new_root = if new == cp.size {
        cp.root
    } else {
        state.ledger.root_at(new)?
    };
    let mut v = json!({
        "old": old,
        "new": new,
        "oldRoot": hex::encode(state.ledger.root_at(old)?),
        "newRoot": hex::encode(new_root),
        "proof": hexes(&proof),
    });
    if new == cp.size {
        v["checkpoint"] = json!(note);
    }
    Ok(Json(v))
}

/// Heads this node anchored on chain (transaction, block, gas, confirmation time), the log's
/// current size and how many records are not anchored yet.
#[utoipa::path(get, path = "/v1/anchors", tag = "ledger", security(("bearer" = [])),
    responses(
        (status = 200, description = "{anchors: [AnchorInfo], size, anchoredSize, lag}"),
        (status = 401, description = "No or bad token"),
        (status = 503, description = "The chain state cannot be read now"),
    ))]
async fn anchors(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Value>> {
    allow(&principal, Op::Ledger)?;
    let list = state.chain.anchors().await?;
    let anchored = state.chain.anchored_size().await?;
    let (_, cp) = latest(&state)?;
    Ok(Json(json!({
        "anchors": list,
        "size": cp.size,
        "root": hex::encode(cp.root),
        "anchoredSize": anchored,
        "lag": cp.size.saturating_sub(anchored.unwrap_or(0)),
    })))
}

/// Checks a proof bundle (as `healthledger log export` or the FHIR API write it): the
/// checkpoint's signature, every record's content hash and inclusion proof, and whether the
/// checkpoint is tied to a head this node anchored on chain — equal to one, or shown to extend
/// one by the bundle's `anchor_consistency` proof. `?key=` pins the verifier key to trust;
/// without it the bundle's own key is used (and the report says so).
#[utoipa::path(post, path = "/v1/verify", tag = "ledger",
    params(("key" = Option<String>, Query, description = "C2SP verifier key to trust")),
    request_body(content = Object, description = "A proof bundle (healthledger-proof-bundle/1)", content_type = "application/json"),
    responses(
        (status = 200, description = "{ok, failures: [text], report: VerifyReport|null, anchored: {...}}"),
        (status = 400, description = "Not a proof bundle, or a malformed key"),
    ))]
async fn verify(
    State(state): State<AppState>,
    Query(q): Params,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    only(&q, &["key"])?;
    let pinned = q
        .get("key")
        .map(|k| {
            NoteVerifier::parse(k).map_err(|e| ApiError::bad_request(format!("key: {e}")).at("key"))
        })
        .transpose()?;
    let bundle = ProofBundle::parse(&body).map_err(|e| ApiError::bad_request(e.to_string()))?;
    let (report, failures) = match bundle.verify(pinned.as_ref()) {
        Ok(r) => {
            let f = r.failures.clone();
            (Some(r), f)
        }
        // The bundle parsed but cannot be trusted at all (bad signature, wrong key…): that
        // is a verdict on the bundle, not a bad request.
        Err(e) => (None, vec![e.to_string()]),
    };
    let anchored = match &report {
        Some(_) => anchored(&state, &bundle).await,
        None => json!({ "tied": false, "reason": "the checkpoint did not verify" }),
    };
    Ok(Json(json!({
        "ok": failures.is_empty(),
        "failures": failures,
        "report": report,
        "anchored": anchored,
    })))
}

/// Whether the bundle's (verified) checkpoint is one of this node's anchored heads or is
/// proven to extend one.
async fn anchored(state: &AppState, bundle: &ProofBundle) -> Value {
    let key = state.ledger.verifier();
    let cp = match Checkpoint::open_signed(&bundle.checkpoint, key) {
        Ok(cp) => cp,
        Err(_) => {
            return json!({ "tied": false, "reason": format!("the bundle is not signed by this node's key {key}") });
        }
    };
    let list = match state.chain.anchors().await {
        Ok(l) => l,
        Err(e) => {
            return json!({ "tied": false, "checked": false, "reason": format!("anchors cannot be read now: {e}") });
        }
    };
    let root = hex::encode(cp.root);
    let same = |a: &AnchorInfo| a.root.trim_start_matches("0x").eq_ignore_ascii_case(&root);
    if let Some(a) = list.iter().find(|a| a.size == cp.size && same(a)) {
        return json!({ "tied": true, "how": "exact", "anchor": a });
    }
    let Some(ac) = &bundle.anchor_consistency else {
        return json!({
            "tied": false,
            "reason": format!("no anchored head of size {} with the checkpoint's root, and the bundle has no anchor_consistency proof", cp.size),
        });
    };
    let Some(a) = list.iter().find(|a| a.size == ac.old_size) else {
        return json!({
            "tied": false,
            "reason": format!("no anchored head of size {} known to this node", ac.old_size),
        });
    };
    let old_root = match decode_hash(a.root.trim_start_matches("0x")) {
        Ok(r) => r,
        Err(e) => return json!({ "tied": false, "reason": format!("anchored root: {e}") }),
    };
    let proof: Result<Vec<Hash>, String> = ac.proof.iter().map(|h| decode_hash(h)).collect();
    let verdict = proof.and_then(|p| {
        merkle::verify_consistency(ac.old_size, cp.size, &old_root, &cp.root, &p)
            .map_err(|e| e.to_string())
    });
    match verdict {
        Ok(()) => json!({ "tied": true, "how": "consistency", "anchor": a }),
        Err(e) => json!({
            "tied": false,
            "anchor": a,
            "reason": format!("anchor_consistency does not prove size {} extends anchored size {}: {e}", cp.size, ac.old_size),
        }),
    }
}
