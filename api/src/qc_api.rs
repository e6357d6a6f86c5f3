//! QC API: rules, per-resident findings and score, institution summary, event stream (SSE).
//!
//! A resident's QC status is resident data: every read of it, the event stream included (once,
//! when it opens), appends an AuditEvent before anything is answered.

use std::collections::{BTreeSet, VecDeque};
use std::convert::Infallible;
use std::time::Duration;

use axum::Json;
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::routing::get;
use futures_util::Stream;
use serde_json::{Value, json};
use tokio::sync::broadcast;
use utoipa::OpenApi;

use crate::audit;
use crate::auth::policy::{Op, allow};
use crate::auth::{Access, Principal};
use crate::error::ApiResult;
use crate::ports::QcEvent;
use crate::resident::{self, Resident};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths(rules, summary, resident_qc, resident_events, events))]
pub struct Doc;

/// How often an idle event stream gets a comment, so proxies and clients keep it open.
pub const KEEP_ALIVE: Duration = Duration::from_secs(10);

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/qc/rules", get(rules))
        .route("/v1/qc/summary", get(summary))
        .route("/v1/qc/residents/{resident}", get(resident_qc))
        .route("/v1/qc/residents/{resident}/events", get(resident_events))
        .route("/v1/qc/events", get(events))
}

/// The QC rule catalogue: id, level, severity, description and parameters of every rule.
#[utoipa::path(get, path = "/v1/qc/rules", tag = "qc", security(("bearer" = [])),
    responses(
        (status = 200, description = "{total, rules: [{id, level, severity, description, parameters, regional_defaults, params_version}]}"),
        (status = 401, description = "No or bad token"),
    ))]
async fn rules(State(state): State<AppState>, _principal: Principal) -> Json<Value> {
    // Any authenticated caller: the catalogue names no resident.
    let rules = state.qc.rules();
    let total = rules.as_array().map_or(0, Vec::len);
    Json(json!({ "total": total, "rules": rules }))
}

/// The institution's QC summary from the node's last evaluation of each resident: findings per
/// rule and per severity, completeness score distribution (bands, mean), share of archives
/// under 60, residents assessed and as of when.
#[utoipa::path(get, path = "/v1/qc/summary", tag = "qc", security(("bearer" = [])),
    responses(
        (status = 200, description = "{as_of, residents, completeness: {mean, incomplete_share, bands}, severities, rules}"),
        (status = 401, description = "No or bad token"),
        (status = 403, description = "Role may not read the institution's QC"),
        (status = 501, description = "QC is off on this node"),
        (status = 503, description = "The first QC pass is still running"),
    ))]
async fn summary(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Value>> {
    allow(&principal, Op::QcInstitution)?;
    Ok(Json(state.qc.summary().await?))
}

/// The resident a path names, and the Patient id if it named one (for the audit record).
fn named<'a>(state: &AppState, s: &'a str) -> ApiResult<(Resident, Option<&'a str>)> {
    let r = resident::resolve(state, s)?;
    let is_pseudonym = s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit());
    let patient = (!is_pseudonym).then(|| s.strip_prefix("Patient/").unwrap_or(s));
    Ok((r, patient))
}

#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ScopeQuery {
    scope: Option<String>,
}

fn query_of(uri: &Uri) -> String {
    uri.path_and_query()
        .map_or_else(|| uri.path().to_owned(), |p| p.as_str().to_owned())
}

/// Leaf indices a JSON list of items with `evidence` arrays discloses.
fn evidence(items: &Value) -> BTreeSet<u64> {
    let mut out = BTreeSet::new();
    collect_leaves(items, &mut out);
    out
}

/// Every leaf index a QC answer cites, wherever it sits (findings' and events' evidence,
/// obligations met, score parts, problem list, timeline), so the audit record names all that
/// the answer discloses.
fn collect_leaves(v: &Value, out: &mut BTreeSet<u64>) {
    match v {
        Value::Array(items) => items.iter().for_each(|i| collect_leaves(i, out)),
        Value::Object(map) => {
            for (k, v) in map {
                match (k.as_str(), v) {
                    ("evidence" | "leaves", Value::Array(xs)) => {
                        out.extend(xs.iter().filter_map(Value::as_u64));
                    }
                    ("leaf", Value::Number(n)) => out.extend(n.as_u64()),
                    _ => collect_leaves(v, out),
                }
            }
        }
        _ => {}
    }
}

/// One resident's QC as of now: findings (rule, severity, evidence leaves, message), the
/// completeness score with its band and parts, programmes and events. Audited.
#[utoipa::path(get, path = "/v1/qc/residents/{resident}", tag = "qc", security(("bearer" = [])),
    params(
        ("resident" = String, Path, description = "Patient id, Patient/<id> or 64-hex pseudonym"),
        ("scope" = Option<String>, Query, description = "local (default), or consortium: adds `consortium` with the cross-institution findings (QC-I rules) and the merged timeline over the verified records other members share, and what each holder answered"),
    ),
    responses(
        (status = 200, description = "{resident, at, score: {value, band, modules}, programmes, events, findings, records, audit_leaf[, consortium: {holders, findings, timeline, records}]}"),
        (status = 400, description = "Neither a Patient id nor a pseudonym"),
        (status = 401, description = "No or bad token"),
        (status = 403, description = "Not allowed to read this resident's QC"),
        (status = 404, description = "No such resident in this log"),
        (status = 501, description = "scope=consortium on a node that is not in a consortium network"),
        (status = 503, description = "The read could not be audited, so it was refused"),
    ))]
async fn resident_qc(
    State(state): State<AppState>,
    access: Access,
    Path(who): Path<String>,
    Query(q): Query<ScopeQuery>,
    uri: Uri,
) -> ApiResult<Json<Value>> {
    let consortium = match q.scope.as_deref() {
        None | Some("local") => false,
        Some("consortium") => true,
        Some(other) => {
            return Err(crate::error::ApiError::bad_request(format!(
                "scope must be 'local' or 'consortium', not '{other}'"
            ))
            .at("scope"));
        }
    };
    let (r, patient) = if consortium {
        crate::fhir::consortium::subject_named(&state, &who)?
    } else {
        named(&state, &who)?
    };
    access.allow(Op::QcResident(&r.pseudonym))?;
    let mut v = state.qc.resident(&r.pseudonym).await?;
    let mut remote = Vec::new();
    if consortium {
        // The merged timeline shows other members' clinical records: the same permission as
        // reading them (clinicians, the resident), not only QC's.
        access.allow(Op::ReadResident(&r.pseudonym))?;
        audit::emergency_access(&state, &access, &r).await?;
        let gathered = crate::fhir::consortium::gather(&state, &access, &r).await?;
        let mut c = state.qc.consortium(&r.pseudonym, &gathered.records).await?;
        c["holders"] = json!(gathered.holders);
        remote = gathered
            .records
            .iter()
            .map(|x| format!("{}#{}", x.envelope.origin, x.index))
            .collect();
        v["consortium"] = c;
    }
    let leaves: Vec<u64> = evidence(&v).into_iter().collect();
    let read = audit::Read {
        interaction: "operation",
        query: &query_of(&uri),
        patient_id: patient,
        leaves: &leaves,
        remote: &remote,
    };
    let leaf = if consortium {
        audit::append(&state, &access, &r, &read).await?
    } else {
        audit::record(&state, &access, &r, &read).await?
    };
    v["audit_leaf"] = json!(leaf);
    Ok(Json(v))
}

fn sse_event(name: &'static str, e: &QcEvent) -> SseEvent {
    let data = json!({ "resident": e.resident, "event": e.event });
    SseEvent::default()
        .event(name)
        .data(serde_json::to_string(&data).unwrap_or_default())
}

/// First `initial`, then what `rx` brings for `resident` (every resident when `None`), until
/// the QC service stops.
/// The institution-wide stream discloses each event's resident and evidence as it goes, so
/// each event is audited for its resident before it is sent (a resident stream is audited
/// once, when it opens).
type AuditEach = Option<(AppState, Access)>;

fn stream(
    initial: Vec<QcEvent>,
    rx: broadcast::Receiver<QcEvent>,
    resident: Option<String>,
    audit_each: AuditEach,
) -> impl Stream<Item = Result<SseEvent, Infallible>> {
    let queue: VecDeque<QcEvent> = initial.into();
    futures_util::stream::unfold(
        (queue, rx, resident, audit_each),
        |(mut queue, mut rx, resident, audit_each)| async move {
            if let Some(e) = queue.pop_front() {
                let ev = sse_event("current", &e);
                return Some((Ok(ev), (queue, rx, resident, audit_each)));
            }
            loop {
                match rx.recv().await {
                    Ok(e) if resident.as_ref().is_none_or(|r| *r == e.resident) => {
                        if let Some((state, access)) = &audit_each
                            && let Err(err) = audit_event(state, access, &e).await
                        {
                            // Fail closed: a stream that cannot audit stops.
                            tracing::warn!(error = %err, "QC event stream ended: audit failed");
                            return None;
                        }
                        let ev = sse_event("new", &e);
                        return Some((Ok(ev), (queue, rx, resident, audit_each)));
                    }
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        let ev = SseEvent::default()
                            .event("lagged")
                            .data(json!({ "missed": n }).to_string());
                        return Some((Ok(ev), (queue, rx, resident, audit_each)));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                }
            }
        },
    )
}

async fn audit_event(state: &AppState, access: &Access, e: &QcEvent) -> ApiResult<u64> {
    let r = resident::resolve(state, &e.resident)?;
    let leaves: Vec<u64> = evidence(&e.event).into_iter().collect();
    let read = audit::Read {
        interaction: "operation",
        query: "/v1/qc/events",
        patient_id: None,
        leaves: &leaves,
        remote: &[],
    };
    audit::record(state, access, &r, &read).await
}

fn sse(
    s: impl Stream<Item = Result<SseEvent, Infallible>> + Send + 'static,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>> + Send + 'static> {
    Sse::new(s).keep_alive(KeepAlive::new().interval(KEEP_ALIVE).text("keep-alive"))
}

/// One resident's events as Server-Sent Events: first its current events (`event: current`),
/// then new ones as the QC service finds them (`event: new`), with keep-alive comments. The
/// subscription is audited once, when it opens.
#[utoipa::path(get, path = "/v1/qc/residents/{resident}/events", tag = "qc", security(("bearer" = [])),
    params(("resident" = String, Path, description = "Patient id, Patient/<id> or 64-hex pseudonym")),
    responses(
        (status = 200, description = "text/event-stream of {resident, event}", content_type = "text/event-stream"),
        (status = 401, description = "No or bad token"),
        (status = 403, description = "Not allowed to read this resident's QC"),
        (status = 404, description = "No such resident in this log"),
    ))]
async fn resident_events(
    State(state): State<AppState>,
    access: Access,
    Path(who): Path<String>,
    uri: Uri,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>> + Send + 'static>> {
    let (r, patient) = named(&state, &who)?;
    access.allow(Op::QcResident(&r.pseudonym))?;
    // Subscribe before assessing, so nothing that arises in between is missed.
    let rx = state.qc.subscribe();
    let v = state.qc.resident(&r.pseudonym).await?;
    let leaves: Vec<u64> = evidence(&v["events"]).into_iter().collect();
    let read = audit::Read {
        interaction: "operation",
        query: &query_of(&uri),
        patient_id: patient,
        leaves: &leaves,
        remote: &[],
    };
    audit::record(&state, &access, &r, &read).await?;
    let hex = r.hex();
    let initial = v["events"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|e| QcEvent {
            resident: hex.clone(),
            event: e.clone(),
        })
        .collect();
    Ok(sse(stream(initial, rx, Some(hex), None)))
}

/// Every resident's new events as Server-Sent Events (`event: new`), with keep-alive comments.
#[utoipa::path(get, path = "/v1/qc/events", tag = "qc", security(("bearer" = [])),
    responses(
        (status = 200, description = "text/event-stream of {resident, event}", content_type = "text/event-stream"),
        (status = 401, description = "No or bad token"),
        (status = 403, description = "Role may not read the institution's QC"),
    ))]
async fn events(
    State(state): State<AppState>,
    access: Access,
) -> ApiResult<Sse<impl Stream<Item = Result<SseEvent, Infallible>> + Send + 'static>> {
    access.allow(Op::QcInstitution)?;
    let rx = state.qc.subscribe();
    Ok(sse(stream(Vec::new(), rx, None, Some((state, access)))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn evidence_collects_every_leaf_once() {
        let v = json!([{"evidence": [3, 1]}, {"evidence": [3, 7]}, {"message": "none"}]);
        assert_eq!(evidence(&v).into_iter().collect::<Vec<_>>(), vec![1, 3, 7]);
        let nested = json!({"findings": [{"evidence": [9]}], "programmes": [{"obligations": [
            {"evidence": [4]}]}], "problems": [{"leaf": 5}], "score": {"modules": [{"evidence": [2]}]}});
        assert_eq!(
            evidence(&nested).into_iter().collect::<Vec<_>>(),
            vec![2, 4, 5, 9]
        );
        assert!(evidence(&json!(null)).is_empty());
    }
}
