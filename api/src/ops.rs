//! Operations: liveness, readiness, Prometheus metrics and the OpenAPI document.

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use utoipa::OpenApi;

use crate::error::ApiError;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths(healthz, readyz, metrics, openapi_json))]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/openapi.json", get(openapi_json))
}

/// The process is up.
#[utoipa::path(get, path = "/healthz", tag = "ops", responses((status = 200, description = "alive")))]
async fn healthz() -> impl IntoResponse {
    axum::Json(json!({ "status": "ok" }))
}

/// The node serves: the log is open and readable and start-up is done.
#[utoipa::path(get, path = "/readyz", tag = "ops", responses(
    (status = 200, description = "ready"),
    (status = 503, description = "starting or the log is unreadable")
))]
async fn readyz(State(state): State<AppState>) -> Result<Response, ApiError> {
    if !state.is_ready() {
        return Err(ApiError::unavailable("starting up"));
    }
    let head = state
        .ledger
        .head()
        .map_err(|e| ApiError::unavailable(format!("log unreadable: {e}")))?;
    Ok(axum::Json(json!({ "status": "ready", "size": head.size })).into_response())
}

/// Prometheus text format.
#[utoipa::path(get, path = "/metrics", tag = "ops", responses((status = 200, description = "Prometheus metrics", content_type = "text/plain")))]
async fn metrics(State(state): State<AppState>) -> Response {
    let size = state
        .ledger
        .head()
        .map(|h| h.size as f64)
        .unwrap_or(f64::NAN);
    let mut gauges = vec![("healthledger_log_size", "Records in the log.", size)];
    if let Some(c) = &state.consortium {
        let s = c.status();
        gauges.extend([
            (
                "healthledger_consortium_peers",
                "Consortium members connected.",
                s.peers.len() as f64,
            ),
            (
                "healthledger_consortium_split_views",
                "Split views seen (two roots for one size from one member); any is an incident.",
                s.split_views.len() as f64,
            ),
            (
                "healthledger_consortium_refused_announcements",
                "Checkpoint announcements refused (newest 50 at most).",
                s.refused.len() as f64,
            ),
            (
                "healthledger_consortium_reported_members",
                "Member answers that failed verification (newest 50 at most).",
                s.reported.len() as f64,
            ),
        ]);
    }
    let text = state.metrics.render(&gauges);
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        text,
    )
        .into_response()
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "ops", responses((status = 200, description = "OpenAPI 3.1 document")))]
async fn openapi_json() -> impl IntoResponse {
    axum::Json(crate::server::openapi())
}
