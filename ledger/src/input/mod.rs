//! Turning received FHIR R4 input (a Bundle, a single resource or NDJSON) into records ready
//! for the log: validated, canonicalized, hashed, tied to a resident where the input alone
//! allows it. Everything here is pure and may run on any thread; references to Patients that
//! were ingested earlier are resolved by the store's writer.

mod effective;
mod resolve;

use effective::effective_of;

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::canonical::canonical_sha256;
use crate::pseudonym::{Pseudonym, Pseudonymizer, ResidentScope};
use crate::resource_types::is_r4_resource_type;

/// Default cap on one input file or request body.
pub const DEFAULT_MAX_INPUT_BYTES: usize = 64 * 1024 * 1024;

/// Where in the input a problem was found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// 0-based Bundle entry index.
    pub entry: Option<usize>,
    /// 1-based NDJSON line.
    pub line: Option<usize>,
    /// FHIR path of the field, e.g. `resource.subject.reference`.
    pub field: Option<String>,
}

/// A refused input: names the source, the entry or line, the field, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{source_name}{}: {reason}", fmt_location(.location))]
pub struct InputError {
    pub source_name: String,
    pub location: Location,
    pub reason: String,
}

fn fmt_location(l: &Location) -> String {
    let mut s = String::new();
    if let Some(line) = l.line {
        s.push_str(&format!(": line {line}"));
    }
    if let Some(e) = l.entry {
        s.push_str(&format!(": entry {e}"));
    }
    if let Some(f) = &l.field {
        s.push_str(&format!(": {f}"));
    }
    s
}

/// How a record is tied to a resident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResidentRef {
    /// Belongs to no resident (Organization, Practitioner, a Group-subject Observation…).
    None,
    /// Known from the input itself.
    Known(Pseudonym, ResidentScope),
    /// A `Patient/<id>` that must already be in the log; resolved by the writer.
    Stored { patient_id: String, field: String },
}

/// One resource, ready for the log.
#[derive(Debug, Clone)]
pub struct PreparedRecord {
    pub kind: String,
    pub id: String,
    /// The exact bytes received for this resource.
    pub content: Vec<u8>,
    pub content_sha256: [u8; 32],
    pub effective: Option<String>,
    pub resident: ResidentRef,
    /// Entry index (Bundle) or 0-based line (NDJSON), for error messages from the writer.
    pub position: Option<usize>,
}

/// One received file or body, all of whose records land together or not at all.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub source_name: String,
    pub records: Vec<PreparedRecord>,
}

/// Limits and identity settings for preparing input.
#[derive(Debug, Clone)]
pub struct InputOptions {
    pub max_bytes: usize,
    pub pseudonymizer: Pseudonymizer,
}

#[derive(Deserialize)]
struct BundleIn<'a> {
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(borrow, default)]
    entry: Vec<EntryIn<'a>>,
}

#[derive(Deserialize)]
struct EntryIn<'a> {
    #[serde(rename = "fullUrl")]
    full_url: Option<String>,
    #[serde(borrow)]
    resource: Option<&'a RawValue>,
    request: Option<RequestIn>,
}

#[derive(Deserialize)]
struct RequestIn {
    method: Option<String>,
    url: Option<String>,
}

/// A resource parsed from the input with the data later steps need.
struct Parsed {
    kind: String,
    id: String,
    raw: Vec<u8>,
    value: Value,
    full_url: Option<String>,
    position: Option<usize>,
    is_line: bool,
}

impl InputOptions {
    fn err(&self, source: &str, location: Location, reason: impl Into<String>) -> InputError {
        InputError {
            source_name: source.to_owned(),
            location,
            reason: reason.into(),
        }
    }

    /// Validates, canonicalizes and hashes every resource of `bytes`.
    pub fn prepare(&self, source: &str, bytes: &[u8]) -> Result<Prepared, InputError> {
        let at = Location::default;
        if bytes.len() > self.max_bytes {
            return Err(self.err(
                source,
                at(),
                format!(
                    "input is {} bytes, over the limit of {} bytes",
                    bytes.len(),
                    self.max_bytes
                ),
            ));
        }
        let mut values = serde_json::Deserializer::from_slice(bytes).into_iter::<&RawValue>();
        let first = match values.next() {
            None => return Err(self.err(source, at(), "input is empty")),
            Some(Err(e)) => return Err(self.err(source, at(), format!("not JSON: {e}"))),
            Some(Ok(v)) => v,
        };
        let parsed = match values.next() {
            None => self.parse_single(source, first)?,
            Some(second) => {
                let mut lines = vec![first];
                lines.push(second.map_err(|e| self.err(source, at(), format!("not NDJSON: {e}")))?);
                for v in values {
                    lines.push(v.map_err(|e| self.err(source, at(), format!("not NDJSON: {e}")))?);
                }
                self.parse_ndjson(source, &lines)?
            }
        };
        self.finish(source, parsed)
    }

    fn parse_single(&self, source: &str, raw: &RawValue) -> Result<Vec<Parsed>, InputError> {
        let kind =
            resource_type_of(raw.get()).map_err(|r| self.err(source, Location::default(), r))?;
        if kind != "Bundle" {
            return Ok(vec![
                self.parse_resource(source, raw, None, None, None, false)?,
            ]);
        }
        let bundle: BundleIn<'_> = serde_json::from_str(raw.get()).map_err(|e| {
            self.err(
                source,
                Location::default(),
                format!("malformed Bundle: {e}"),
            )
        })?;
        let btype = bundle.kind.as_deref().unwrap_or("");
        match btype {
            "transaction" | "batch" | "collection" | "document" => {}
            "searchset" | "history" => {
                return Err(self.err(
                    source,
                    field_at("type"),
                    format!("Bundle type '{btype}' is a query result, not records to ingest: send the resources in a transaction, batch or collection Bundle"),
                ));
            }
            "transaction-response" | "batch-response" => {
                return Err(self.err(
                    source,
                    field_at("type"),
                    format!("Bundle type '{btype}' is a server response, not records to ingest"),
                ));
            }
            "message" => {
                return Err(self.err(
                    source,
                    field_at("type"),
                    "Bundle type 'message' is not supported: send the message's resources in a transaction or collection Bundle",
                ));
            }
            "" => return Err(self.err(source, field_at("type"), "Bundle has no type")),
            other => {
                return Err(self.err(
                    source,
                    field_at("type"),
                    format!("unknown Bundle type '{other}'"),
                ));
            }
        }
        let mut out = Vec::with_capacity(bundle.entry.len());
        let mut seen_urls: HashMap<&str, usize> = HashMap::new();
        for (i, e) in bundle.entry.iter().enumerate() {
            let loc = |f: &str| Location {
                entry: Some(i),
                line: None,
                field: Some(f.to_owned()),
            };
            if let Some(url) = e.full_url.as_deref()
                && let Some(prev) = seen_urls.insert(url, i)
            {
                return Err(self.err(
                    source,
                    loc("fullUrl"),
                    format!("duplicate fullUrl {url} (also entry {prev})"),
                ));
            }
            let method = e.request.as_ref().and_then(|r| r.method.as_deref());
            if let Some(m) = method
                && !matches!(m, "POST" | "PUT")
            {
                return Err(self.err(
                    source,
                    loc("request.method"),
                    format!("{m} entries are not accepted: the log is append-only and takes only POST or PUT of a resource"),
                ));
            }
            let Some(res) = e.resource else {
                return Err(self.err(source, loc("resource"), "entry has no resource"));
            };
            let url_id = e
                .request
                .as_ref()
                .and_then(|r| r.url.as_deref())
                .and_then(|u| u.split_once('/').map(|(_, id)| id.to_owned()))
                .filter(|id| !id.contains(['/', '?']));
            out.push(self.parse_resource(
                source,
                res,
                Some(i),
                e.full_url.clone(),
                url_id,
                false,
            )?);
        }
        if out.is_empty() {
            return Err(self.err(source, field_at("entry"), "Bundle has no entries"));
        }
        Ok(out)
    }

    fn parse_ndjson(&self, source: &str, lines: &[&RawValue]) -> Result<Vec<Parsed>, InputError> {
        lines
            .iter()
            .enumerate()
            .map(|(i, raw)| {
                let p = self.parse_resource(source, raw, Some(i), None, None, true)?;
                if p.kind == "Bundle" {
                    return Err(self.err(
                        source,
                        Location {
                            line: Some(i + 1),
                            ..Default::default()
                        },
                        "NDJSON lines must be single resources, not Bundles",
                    ));
                }
                Ok(p)
            })
            .collect()
    }

    fn parse_resource(
        &self,
        source: &str,
        raw: &RawValue,
        position: Option<usize>,
        full_url: Option<String>,
        url_id: Option<String>,
        is_line: bool,
    ) -> Result<Parsed, InputError> {
        let loc = |f: &str| {
            let mut l = position_location(position, is_line);
            l.field = Some(f.to_owned());
            l
        };
        let value = crate::ijson::parse(raw.get().as_bytes())
            .map_err(|e| self.err(source, loc("resource"), e.to_string()))?;
        let Some(obj) = value.as_object() else {
            return Err(self.err(source, loc("resource"), "a resource must be a JSON object"));
        };
        let kind = match obj.get("resourceType") {
            Some(Value::String(k)) => k.clone(),
            Some(_) => {
                return Err(self.err(source, loc("resourceType"), "resourceType must be a string"));
            }
            None => return Err(self.err(source, loc("resourceType"), "missing resourceType")),
        };
        if !is_r4_resource_type(&kind) {
            return Err(self.err(
                source,
                loc("resourceType"),
                format!("unknown FHIR R4 resourceType '{kind}'"),
            ));
        }
        let id = match obj.get("id") {
            Some(Value::String(id)) => id.clone(),
            Some(_) => return Err(self.err(source, loc("id"), "id must be a string")),
            None => match full_url
                .as_deref()
                .and_then(|u| u.strip_prefix("urn:uuid:"))
            {
                Some(uuid) => uuid.to_owned(),
                None => match url_id {
                    Some(id) => id,
                    None => uuid_v4(),
                },
            },
        };
        if !is_fhir_id(&id) {
            return Err(self.err(
                source,
                loc("id"),
                format!("'{id}' is not a FHIR id (1-64 of A-Z a-z 0-9 - .)"),
            ));
        }
        Ok(Parsed {
            kind,
            id,
            raw: raw.get().as_bytes().to_vec(),
            value,
            full_url,
            position,
            is_line,
        })
    }

    /// Hashes, pseudonymizes and resolves references within the input.
    fn finish(&self, source: &str, parsed: Vec<Parsed>) -> Result<Prepared, InputError> {
        // Patients first, so that any entry may point at any Patient of the same input.
        let mut by_url: HashMap<&str, (Pseudonym, ResidentScope)> = HashMap::new();
        let mut by_id: HashMap<&str, (Pseudonym, ResidentScope)> = HashMap::new();
        let mut non_patient_urls: HashMap<&str, &str> = HashMap::new();
        for p in &parsed {
            if p.kind == "Patient" {
                let r = self.pseudonymizer.of_patient(&p.value);
                by_id.insert(p.id.as_str(), r);
                if let Some(u) = &p.full_url {
                    by_url.insert(u.as_str(), r);
                }
            } else if let Some(u) = &p.full_url {
                non_patient_urls.insert(u.as_str(), p.kind.as_str());
            }
        }
        let mut records = Vec::with_capacity(parsed.len());
        for p in &parsed {
            let loc = |f: &str| {
                let mut l = position_location(p.position, p.is_line);
                l.field = Some(f.to_owned());
                l
            };
            let resident = if p.kind == "Patient" {
                let (ps, scope) = by_id[p.id.as_str()];
                ResidentRef::Known(ps, scope)
            } else {
                self.resident_of(&p.value, &by_url, &by_id, &non_patient_urls)
                    .map_err(|(field, reason)| self.err(source, loc(&field), reason))?
            };
            let content_sha256 = canonical_sha256(&p.value)
                .map_err(|e| self.err(source, loc("resource"), e.to_string()))?;
            let effective = effective_of(&p.value)
                .map_err(|(field, reason)| self.err(source, loc(&field), reason))?;
            records.push(PreparedRecord {
                kind: p.kind.clone(),
                id: p.id.clone(),
                content: p.raw.clone(),
                content_sha256,
                effective,
                resident,
                position: p.position,
            });
        }
        Ok(Prepared {
            source_name: source.to_owned(),
            records,
        })
    }
}

fn field_at(f: &str) -> Location {
    Location {
        field: Some(f.to_owned()),
        ..Default::default()
    }
}

fn position_location(position: Option<usize>, is_line: bool) -> Location {
    if is_line {
        Location {
            line: position.map(|p| p + 1),
            ..Default::default()
        }
    } else {
        Location {
            entry: position,
            ..Default::default()
        }
    }
}

/// Location of a prepared record, for errors raised after preparation.
pub fn record_location(position: Option<usize>, field: &str) -> Location {
    let mut l = position_location(position, false);
    l.field = Some(field.to_owned());
    l
}

fn resource_type_of(json: &str) -> Result<String, String> {
    #[derive(Deserialize)]
    struct Head {
        #[serde(rename = "resourceType")]
        resource_type: Option<Value>,
    }
    let head: Head = serde_json::from_str(json).map_err(|e| format!("not a FHIR resource: {e}"))?;
    match head.resource_type {
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err("resourceType must be a string".into()),
        None => Err("not a FHIR resource: missing resourceType".into()),
    }
}

/// FHIR `id`: `[A-Za-z0-9\-\.]{1,64}`.
pub fn is_fhir_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

fn uuid_v4() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}
