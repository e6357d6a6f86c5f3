//! What the write handlers share: the request body checks, input and store errors as
//! `OperationOutcome`s that point at the offending element, and the answer for a written
//! resource version.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use hl_ledger::ijson::IJsonError;
use hl_ledger::input::{InputError, Location};
use hl_ledger::{PendingReceipt, Receipt, StoreError, SubmitError};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Media types a FHIR JSON body may come as (`application/json+fhir` is the DSTU2 name some
/// clients still send).
const JSON_TYPES: [&str; 3] = [
    "application/fhir+json",
    "application/json",
    "application/json+fhir",
];

/// Refuses a body that is not FHIR JSON by its Content-Type (415).
pub fn check_content_type(headers: &HeaderMap) -> ApiResult<()> {
    let unsupported = |what: String| {
        ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "not-supported",
            format!("{what}: send the body as application/fhir+json (or application/json)"),
        )
    };
    let Some(v) = headers.get(header::CONTENT_TYPE) else {
        return Err(unsupported("no Content-Type".into()));
    };
    let text = v
        .to_str()
        .map_err(|_| unsupported("Content-Type is not ASCII".into()))?;
    let essence = text.split(';').next().unwrap_or("").trim();
    if JSON_TYPES.iter().any(|t| essence.eq_ignore_ascii_case(t)) {
        Ok(())
    } else {
        Err(unsupported(format!(
            "Content-Type '{essence}' is not FHIR JSON"
        )))
    }
}

/// The body, or 413 naming the limit (axum refuses to buffer more than `api.max_body_bytes`).
pub fn body(state: &AppState, body: Result<Bytes, BytesRejection>) -> ApiResult<Bytes> {
    body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::too_large(format!(
                "the body is over the limit of {} bytes (api.max_body_bytes)",
                state.config.max_body_bytes
            ))
        } else {
            ApiError::new(e.status(), "invalid", e.body_text())
        }
    })
}

/// Parses a body that must be one JSON object: malformed JSON and other JSON values are 400s.
pub fn parse_object(bytes: &[u8]) -> ApiResult<serde_json::Map<String, Value>> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "the body is empty: send a FHIR resource",
        ));
    }
    // I-JSON here too: the handlers re-serialize the body (to set its id), which would keep
    // only the last copy of a duplicated member before the log's own check could see it.
    match hl_ledger::ijson::parse(bytes) {
        Ok(Value::Object(m)) => Ok(m),
        Ok(other) => Err(ApiError::bad_request(format!(
            "the body is a JSON {}, not a FHIR resource (a JSON object)",
            json_kind(&other)
        ))),
        Err(IJsonError::Syntax(e)) => Err(malformed(&e)),
        Err(e @ IJsonError::DuplicateName(_)) => Err(ApiError::bad_request(e.to_string())),
    }
}

pub fn malformed(e: &serde_json::Error) -> ApiError {
    ApiError::bad_request(format!("the body is not valid JSON: {e}"))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// What the body's element paths are rooted at, for `OperationOutcome.issue.expression`.
#[derive(Debug, Clone, Copy)]
pub enum Root<'a> {
    /// A Bundle; `entry` replaces the input's own entry index (a batch entry is prepared as
    /// entry 0 of a Bundle of its own).
    Bundle { entry: Option<usize> },
    /// A single resource of this type.
    Resource(&'a str),
}

/// Entry-level elements; any other field the input names is inside the entry's resource.
fn is_entry_field(f: &str) -> bool {
    [
        "resource", "request", "response", "fullUrl", "search", "link",
    ]
    .iter()
    .any(|e| f == *e || f.strip_prefix(e).is_some_and(|r| r.starts_with('.')))
}

/// FHIRPath of the element `loc` names, and the same place in words.
pub fn locate(root: Root<'_>, loc: &Location) -> (String, String) {
    let field = loc.field.as_deref();
    match root {
        Root::Bundle { entry: over } => {
            let Some(i) = over.or(loc.entry) else {
                let f = field.unwrap_or("");
                return if f.is_empty() {
                    ("Bundle".into(), String::new())
                } else {
                    (format!("Bundle.{f}"), format!("{f}: "))
                };
            };
            // A batch entry's own Bundle has no fields of its own worth naming.
            let field = field.filter(|_| loc.entry.is_some());
            let base = format!("Bundle.entry[{i}]");
            match field {
                None => (base, format!("entry {i}: ")),
                Some(f) if is_entry_field(f) => {
                    (format!("{base}.{f}"), format!("entry {i}: {f}: "))
                }
                Some(f) => (
                    format!("{base}.resource.{f}"),
                    format!("entry {i}: resource.{f}: "),
                ),
            }
        }
        Root::Resource(kind) => {
            let f = field
                .map(|f| f.strip_prefix("resource.").unwrap_or(f))
                .filter(|f| *f != "resource");
            match f {
                None => (kind.to_owned(), String::new()),
                Some(f) => (format!("{kind}.{f}"), format!("{f}: ")),
            }
        }
    }
}

/// A refused input: 400 (it is not acceptable FHIR) naming the element.
pub fn input_error(root: Root<'_>, e: &InputError) -> ApiError {
    input_error_with(StatusCode::BAD_REQUEST, "invalid", root, e)
}

fn input_error_with(
    status: StatusCode,
    code: &'static str,
    root: Root<'_>,
    e: &InputError,
) -> ApiError {
    let (expr, words) = locate(root, &e.location);
    ApiError::new(status, code, format!("{words}{}", e.reason)).at(expr)
}

/// A submission the store did not write. References the log cannot resolve are the client's
/// (422); a stopped writer is the node shutting down (503, retry elsewhere or later).
pub fn submit_error(root: Root<'_>, e: &SubmitError) -> ApiError {
    match e {
        SubmitError::Input(e) => {
            input_error_with(StatusCode::UNPROCESSABLE_ENTITY, "processing", root, e)
        }
        SubmitError::Store(StoreError::WriterGone) => writer_gone(),
        SubmitError::Store(e) => ApiError::internal(format!("nothing was written: {e}")),
    }
}

pub fn writer_gone() -> ApiError {
    ApiError::unavailable(
        "the log writer has stopped (the node is shutting down); nothing was written: retry",
    )
}

/// Waits until the submission is durable.
pub async fn durable(pending: PendingReceipt) -> Result<Receipt, Option<SubmitError>> {
    match pending.await {
        Ok(Ok(r)) => Ok(r),
        Ok(Err(e)) => Err(Some(e)),
        Err(_) => Err(None),
    }
}

/// One written resource version.
#[derive(Debug, Clone)]
pub struct Written {
    pub kind: String,
    pub id: String,
    pub version: u32,
    /// When its group commit was stamped, RFC 3339 UTC.
    pub recorded: String,
}

impl Written {
    /// Every record of a receipt, with the commit time from the first one's envelope (a
    /// submission lands in one group commit, so they share it).
    pub fn all(state: &AppState, receipt: &Receipt) -> ApiResult<Vec<Written>> {
        let Some(first) = receipt.entries.first() else {
            return Ok(Vec::new());
        };
        let recorded = crate::resident::envelope(state, first.index)?.recorded;
        Ok(receipt
            .entries
            .iter()
            .map(|e| Written {
                kind: e.kind.clone(),
                id: e.id.clone(),
                version: e.version,
                recorded: recorded.clone(),
            })
            .collect())
    }

    pub fn status(&self) -> StatusCode {
        if self.version == 1 {
            StatusCode::CREATED
        } else {
            StatusCode::OK
        }
    }

    pub fn status_line(&self) -> String {
        let s = self.status();
        format!("{} {}", s.as_u16(), s.canonical_reason().unwrap_or(""))
    }

    /// `Type/id/_history/version`, relative to the FHIR base.
    pub fn location(&self) -> String {
        format!("{}/{}/_history/{}", self.kind, self.id, self.version)
    }

    pub fn etag(&self) -> String {
        format!("W/\"{}\"", self.version)
    }

    /// `Bundle.entry.response` of a transaction or batch answer.
    pub fn response(&self) -> Value {
        json!({
            "status": self.status_line(),
            "location": self.location(),
            "etag": self.etag(),
            "lastModified": self.recorded,
        })
    }

    /// `resource` with the server-managed `meta.versionId` and `meta.lastUpdated` of this
    /// version (answered only: the log keeps the resource as received).
    /// `Last-Modified` as an HTTP date.
    pub fn http_date(&self) -> Option<String> {
        let t = OffsetDateTime::parse(&self.recorded, &Rfc3339).ok()?;
        t.format(time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        ))
        .ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(entry: Option<usize>, field: Option<&str>) -> Location {
        Location {
            entry,
            line: None,
            field: field.map(str::to_owned),
        }
    }

    #[test]
    fn input_locations_become_fhirpath() {
        let b = Root::Bundle { entry: None };
        let at = |root, l: &Location| locate(root, l).0;
        assert_eq!(
            at(b, &loc(Some(3), Some("resource.subject.reference"))),
            "Bundle.entry[3].resource.subject.reference"
        );
        assert_eq!(
            at(b, &loc(Some(3), Some("subject.reference"))),
            "Bundle.entry[3].resource.subject.reference"
        );
        assert_eq!(
            at(b, &loc(Some(1), Some("id"))),
            "Bundle.entry[1].resource.id"
        );
        assert_eq!(
            at(b, &loc(Some(1), Some("resourceType"))),
            "Bundle.entry[1].resource.resourceType"
        );
        assert_eq!(
            at(b, &loc(Some(2), Some("fullUrl"))),
            "Bundle.entry[2].fullUrl"
        );
        assert_eq!(
            at(b, &loc(Some(0), Some("request.method"))),
            "Bundle.entry[0].request.method"
        );
        assert_eq!(at(b, &loc(None, Some("type"))), "Bundle.type");
        let batch = Root::Bundle { entry: Some(7) };
        assert_eq!(
            at(batch, &loc(Some(0), Some("subject.reference"))),
            "Bundle.entry[7].resource.subject.reference"
        );
        assert_eq!(at(batch, &loc(None, None)), "Bundle.entry[7]");
        let r = Root::Resource("Observation");
        assert_eq!(
            at(r, &loc(None, Some("resource.subject.reference"))),
            "Observation.subject.reference"
        );
        assert_eq!(at(r, &loc(None, Some("resource"))), "Observation");
        assert_eq!(
            at(r, &loc(None, Some("effectiveDateTime"))),
            "Observation.effectiveDateTime"
        );
    }

    #[test]
    fn http_date_of_a_commit_time() {
        let w = Written {
            kind: "Patient".into(),
            id: "p".into(),
            version: 2,
            recorded: "2026-03-05T07:08:09.123Z".into(),
        };
        assert_eq!(
            w.http_date().as_deref(),
            Some("Thu, 05 Mar 2026 07:08:09 GMT")
        );
        assert_eq!(w.status_line(), "200 OK");
        assert_eq!(w.location(), "Patient/p/_history/2");
    }
}
