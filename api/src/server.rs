//! The router: every module's routes, the OpenAPI document that lists them, and the layers
//! every request passes (body limit, timeout, request log and metrics, errors as
//! `OperationOutcome`).

use std::future::Future;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{DefaultBodyLimit, MatchedPath, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower::ServiceBuilder;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;

use crate::error::{ApiError, FHIR_JSON};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "HealthLedger node API",
        description = "FHIR R4 facade with proofs, ledger proofs and anchors, QC, consent and access audit of one HealthLedger node.",
        license(name = "Apache-2.0")
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "fhir", description = "FHIR R4 REST API"),
        (name = "ledger", description = "Checkpoints, proofs, anchors, verification"),
        (name = "qc", description = "Data quality: findings, scores, events"),
        (name = "consent", description = "Residents' consents, relayed to the contract"),
        (name = "auth", description = "Sign-In with Ethereum for residents and regulators"),
        (name = "ops", description = "Health, readiness, metrics, this document")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "Staff token (hlt_…, `healthledger token create`) or SIWE session (hls_…)",
                    ))
                    .build(),
            ),
        );
    }
}

/// The OpenAPI document of every route.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(crate::ops::Doc::openapi());
    doc.merge(crate::fhir::openapi());
    doc.merge(crate::ledger_api::Doc::openapi());
    doc.merge(crate::qc_api::Doc::openapi());
    doc.merge(crate::consent::Doc::openapi());
    doc.merge(crate::consortium_api::Doc::openapi());
    doc.merge(crate::auth::siwe::Doc::openapi());
    doc
}

pub fn router(state: AppState) -> Router {
    let timeout = Duration::from_secs(state.config.request_timeout_secs.max(1));
    let limit = state.config.max_body_bytes;
    Router::new()
        .merge(crate::ops::routes())
        .merge(crate::fhir::routes())
        .merge(crate::ledger_api::routes())
        .merge(crate::qc_api::routes())
        .merge(crate::consent::routes())
        .merge(crate::consortium_api::routes())
        .merge(crate::auth::siwe::routes())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(
            ServiceBuilder::new()
                .layer(TraceLayer::new_for_http())
                .layer(middleware::from_fn_with_state(state.clone(), observe))
                .layer(middleware::map_response(outcome_for_plain_errors))
                .layer(HandleErrorLayer::new(|_: tower::BoxError| async {
                    ApiError::unavailable("the request took too long; retry")
                }))
                .timeout(timeout)
                .layer(DefaultBodyLimit::max(limit)),
        )
        .with_state(state)
}

/// Serves until `shutdown` resolves, then lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn not_found(req: Request) -> ApiError {
    ApiError::not_found(format!(
        "no route for {} {}",
        req.method(),
        req.uri().path()
    ))
}

async fn method_not_allowed(req: Request) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "not-supported",
        format!("{} is not allowed on {}", req.method(), req.uri().path()),
    )
}

/// Request metrics and one structured log line per request.
async fn observe(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let method = req.method().clone();
    let resp = next.run(req).await;
    let secs = started.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    state.metrics.observe(&route, status, secs);
    tracing::info!(%method, %route, status, ms = secs * 1e3, "request");
    resp
}

/// axum's own rejections (bad path or query, over-size body, …) are plain text; clients of a
/// FHIR server expect an `OperationOutcome`, so they get one with the same status and text.
async fn outcome_for_plain_errors(resp: Response) -> Response {
    let status = resp.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return resp;
    }
    let is_fhir = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with(FHIR_JSON));
    if is_fhir {
        return resp;
    }
    let (_, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 64 * 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    let code = match status {
        StatusCode::PAYLOAD_TOO_LARGE => "too-costly",
        StatusCode::UNSUPPORTED_MEDIA_TYPE | StatusCode::NOT_ACCEPTABLE => "not-supported",
        s if s.is_server_error() => "exception",
        _ => "invalid",
    };
    let text = if text.trim().is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    ApiError::new(status, code, text).into_response()
}

/// A response body type alias used by streaming handlers.
pub type BodyStream = Body;
