//! Every error leaves the API as a FHIR `OperationOutcome` with the HTTP status that fits.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

pub const FHIR_JSON: &str = "application/fhir+json";

/// An answer that is not a success: the status, the FHIR issue type code
/// (<http://hl7.org/fhir/R4/valueset-issue-type.html>) and a sentence naming the problem.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{status}: {diagnostics}")]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub diagnostics: String,
    /// FHIRPath of the offending element, when known.
    pub expression: Option<String>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, diagnostics: impl Into<String>) -> Self {
        Self {
            status,
            code,
            diagnostics: diagnostics.into(),
            expression: None,
        }
    }

    pub fn at(mut self, expression: impl Into<String>) -> Self {
        self.expression = Some(expression.into());
        self
    }

    /// 400: the request itself is malformed.
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid", msg)
    }
    /// 400: a search or query parameter we do not support (strict handling).
    pub fn not_supported(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "not-supported", msg)
    }
    /// 422: well-formed, but not acceptable FHIR or not processable.
    pub fn unprocessable(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, "processing", msg)
    }
    /// 401: no or bad credentials.
    pub fn unauthenticated(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "login", msg)
    }
    /// 403: authenticated, but not allowed.
    pub fn forbidden(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", msg)
    }
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not-found", msg)
    }
    /// 410: the content was erased; the envelope and proofs remain.
    pub fn gone(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::GONE, "deleted", msg)
    }
    pub fn conflict(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, "conflict", msg)
    }
    pub fn too_large(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::PAYLOAD_TOO_LARGE, "too-costly", msg)
    }
    /// 503: a dependency (the chain, the writer) is not available now; retry later.
    pub fn unavailable(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "transient", msg)
    }
    /// 500: our fault. The message is logged; the client sees it too, since it names no data.
    pub fn internal(msg: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "exception", msg)
    }

    pub fn outcome(&self) -> serde_json::Value {
        let mut issue = json!({
            "severity": if self.status.is_server_error() { "fatal" } else { "error" },
            "code": self.code,
            "diagnostics": self.diagnostics,
        });
        if let Some(e) = &self.expression {
            issue["expression"] = json!([e]);
        }
        json!({ "resourceType": "OperationOutcome", "issue": [issue] })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            tracing::error!(status = %self.status, error = %self.diagnostics, "request failed");
        }
        let body = serde_json::to_vec(&self.outcome()).unwrap_or_default();
        let mut resp = (self.status, body).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
        if self.status == StatusCode::UNAUTHORIZED {
            resp.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        resp
    }
}

impl From<hl_ledger::StoreError> for ApiError {
    fn from(e: hl_ledger::StoreError) -> Self {
        Self::internal(format!("log: {e}"))
    }
}

impl From<crate::ports::PortError> for ApiError {
    fn from(e: crate::ports::PortError) -> Self {
        use crate::ports::PortError as P;
        match e {
            P::Unavailable(m) => Self::unavailable(m),
            P::Rejected(m) => Self::unprocessable(m),
            P::NotConfigured(m) => Self::new(StatusCode::NOT_IMPLEMENTED, "not-supported", m),
            P::Internal(m) => Self::internal(m),
        }
    }
}

/// A JSON response with the FHIR media type.
pub fn fhir_json(status: StatusCode, value: &serde_json::Value) -> Response {
    let body = serde_json::to_vec(value).unwrap_or_default();
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    resp
}

/// Bytes already serialized as FHIR JSON.
pub fn fhir_body(status: StatusCode, body: Vec<u8>) -> Response {
    let mut resp = (status, body).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(FHIR_JSON));
    resp
}

pub type ApiResult<T> = Result<T, ApiError>;
