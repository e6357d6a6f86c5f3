//! Records as FHIR resources: loading a leaf, deciding which permission reading it needs, and
//! the `meta` every returned resource carries (version, time, and our ledger-entry extension
//! tying it to its leaf and content hash).

use hl_ledger::pseudonym::{Pseudonym, ResidentScope};
use hl_ledger::record::Envelope;
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::audit::URL_BASE;
use crate::auth::Access;
use crate::auth::policy::Op;
use crate::error::{ApiError, ApiResult};
use crate::resident::Resident;
use crate::state::AppState;

/// URL of the `meta` extension naming a resource's leaf, content hash and log origin.
pub fn ledger_entry_url() -> String {
    format!("{URL_BASE}/StructureDefinition/ledger-entry")
}

/// One leaf of the log with its parsed envelope.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub index: u64,
    pub env: Envelope,
    /// Exact stored bytes, `None` once erased.
    pub content: Option<Vec<u8>>,
}

impl Loaded {
    pub fn resident(&self) -> Option<Resident> {
        let pseudonym: Pseudonym = self.env.resident_bytes()?;
        Some(Resident {
            pseudonym,
            scope: self
                .env
                .resident_scope
                .unwrap_or(ResidentScope::Institution),
        })
    }

    /// The stored content as JSON; 410 when it was erased.
    pub fn content_json(&self) -> ApiResult<Value> {
        let bytes = self.content.as_deref().ok_or_else(|| {
            ApiError::gone(format!(
                "{}/{} version {} was erased (leaf {}); its envelope and proofs remain",
                self.env.kind, self.env.id, self.env.version, self.index
            ))
        })?;
        serde_json::from_slice(bytes)
            .map_err(|e| ApiError::internal(format!("leaf {}: stored content: {e}", self.index)))
    }

    /// The resource as served: stored content plus `meta`.
    pub fn resource(&self) -> ApiResult<Value> {
        let mut v = self.content_json()?;
        with_meta(&mut v, self);
        Ok(v)
    }
}

pub fn load(state: &AppState, index: u64) -> ApiResult<Loaded> {
    let rec = state
        .ledger
        .record(index)?
        .ok_or_else(|| ApiError::internal(format!("leaf {index} is missing")))?;
    let env: Envelope = serde_json::from_slice(&rec.envelope)
        .map_err(|e| ApiError::internal(format!("leaf {index}: bad envelope: {e}")))?;
    Ok(Loaded {
        index,
        env,
        content: rec.content,
    })
}

/// Whether `l` is the newest version of its resource among the first `snapshot` leaves.
pub fn is_latest_at(state: &AppState, l: &Loaded, snapshot: u64) -> ApiResult<bool> {
    let next = state
        .ledger
        .version(&l.env.kind, &l.env.id, l.env.version.saturating_add(1))?;
    Ok(next.is_none_or(|i| i >= snapshot))
}

/// A resident's records among the first `snapshot` leaves, in log order: the latest version
/// (as of the snapshot) of each resource `keep` accepts, erased ones left out.
pub fn resident_latest(
    state: &AppState,
    pseudonym: &Pseudonym,
    snapshot: u64,
    keep: impl Fn(&Envelope) -> bool,
) -> ApiResult<Vec<Loaded>> {
    let mut out = Vec::new();
    for r in state
        .ledger
        .resident_snapshot_where(pseudonym, snapshot, keep)?
    {
        if r.record.content.is_some() && r.is_latest_at(snapshot) {
            out.push(Loaded {
                index: r.record.index,
                env: r.envelope,
                content: r.record.content,
            });
        }
    }
    Ok(out)
}

/// The permission reading records of `kind` of `resident` takes.
pub fn op_for<'a>(kind: &str, resident: Option<&'a Pseudonym>) -> Op<'a> {
    match resident {
        None => Op::ReadShared,
        Some(p) if kind == "AuditEvent" => Op::ReadAudit(p),
        Some(p) => Op::ReadResident(p),
    }
}

pub fn authorize(access: &Access, l: &Loaded) -> ApiResult<()> {
    let resident = l.env.resident_bytes();
    access.allow(op_for(&l.env.kind, resident.as_ref()))
}

/// Sets `meta.versionId`, `meta.lastUpdated` and our ledger-entry extension (replacing any
/// copy the stored content carried, so a sender cannot forge it).
pub fn with_meta(resource: &mut Value, l: &Loaded) {
    let Some(obj) = resource.as_object_mut() else {
        return;
    };
    let meta = obj
        .entry("meta")
        .or_insert_with(|| Value::Object(Map::new()));
    set_meta(meta, l);
}

/// The resource as served ([`Loaded::resource`]), serialized without parsing the resource:
/// its top-level members are copied as stored and only `meta` is parsed and rewritten. A page
/// of `$everything` is mostly this, so it matters.
pub fn resource_raw(l: &Loaded) -> ApiResult<Box<RawValue>> {
    resource_raw_with(l, |_| {})
}

/// [`resource_raw`] with `more` applied to the rewritten `meta` too (the consortium view adds
/// the holder's provenance there).
pub fn resource_raw_with(
    l: &Loaded,
    more: impl FnOnce(&mut Map<String, Value>),
) -> ApiResult<Box<RawValue>> {
    let bytes = l.content.as_deref().ok_or_else(|| {
        ApiError::gone(format!(
            "{}/{} version {} was erased (leaf {})",
            l.env.kind, l.env.id, l.env.version, l.index
        ))
    })?;
    let bad =
        |e: serde_json::Error| ApiError::internal(format!("leaf {}: stored content: {e}", l.index));
    let Members(members) = serde_json::from_slice(bytes).map_err(bad)?;
    let mut meta = match members.iter().find(|(k, _)| k == "meta") {
        Some((_, raw)) => serde_json::from_str(raw.get()).map_err(bad)?,
        None => Value::Object(Map::new()),
    };
    set_meta(&mut meta, l);
    if let Some(m) = meta.as_object_mut() {
        more(m);
    }
    let meta = serde_json::to_string(&meta).map_err(bad)?;
    let has_meta = members.iter().any(|(k, _)| k == "meta");
    let mut out = String::with_capacity(bytes.len() + meta.len() + 16);
    out.push('{');
    let mut first = true;
    let mut member = |out: &mut String, key: &str, value: &str| {
        if !first {
            out.push(',');
        }
        first = false;
        out.push_str(&Value::String(key.to_owned()).to_string());
        out.push(':');
        out.push_str(value);
    };
    for (k, v) in &members {
        if k == "meta" {
            member(&mut out, k, &meta);
        } else {
            member(&mut out, k, v.get());
            // Where FHIR puts meta: after the id (or the resource type when there is none).
            if !has_meta
                && (k == "id" || (k == "resourceType" && !members.iter().any(|(k, _)| k == "id")))
            {
                member(&mut out, "meta", &meta);
            }
        }
    }
    out.push('}');
    RawValue::from_string(out).map_err(bad)
}

/// A JSON object's top-level members in order, values left unparsed.
struct Members<'a>(Vec<(String, &'a RawValue)>);

impl<'de: 'a, 'a> serde::Deserialize<'de> for Members<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Members<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = map.next_entry::<String, &'de RawValue>()? {
                    out.push((k, v));
                }
                Ok(Members(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Sets our fields on a `meta` value (replacing a non-object).
fn set_meta(meta: &mut Value, l: &Loaded) {
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    let url = ledger_entry_url();
    let ext = json!({
        "url": url,
        "extension": [
            { "url": "leafIndex", "valueString": l.index.to_string() },
            { "url": "contentSha256", "valueString": l.env.content_sha256 },
            { "url": "origin", "valueString": l.env.origin },
        ],
    });
    if let Some(m) = meta.as_object_mut() {
        m.insert("versionId".into(), json!(l.env.version.to_string()));
        m.insert("lastUpdated".into(), json!(l.env.recorded));
        let mut exts: Vec<Value> = match m.remove("extension") {
            Some(Value::Array(a)) => a
                .into_iter()
                .filter(|e| e.get("url").and_then(Value::as_str) != Some(url.as_str()))
                .collect(),
            _ => Vec::new(),
        };
        exts.push(ext);
        m.insert("extension".into(), Value::Array(exts));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loaded(content: &str) -> Loaded {
        Loaded {
            index: 7,
            env: Envelope {
                v: 1,
                origin: "example.org/log".into(),
                schema: "fhir-r4".into(),
                kind: "Observation".into(),
                id: "o1".into(),
                version: 3,
                resident: Some("ab".repeat(32)),
                resident_scope: None,
                effective: None,
                recorded: "2026-01-02T03:04:05Z".into(),
                content_sha256: "cd".repeat(32),
            },
            content: Some(content.as_bytes().to_vec()),
        }
    }

    #[test]
    fn raw_resource_equals_parsed_resource() {
        for content in [
            r#"{"resourceType":"Observation","id":"o1","status":"final","valueQuantity":{"value":4.50}}"#,
            r#"{"resourceType":"Observation","meta":{"profile":["x"],"versionId":"9","extension":[{"url":"https://healthledger.example.org/fhir/StructureDefinition/ledger-entry"}]},"id":"o1"}"#,
            r#"{"resourceType":"Basic"}"#,
            r#"{"resourceType":"Patient","id":"p","meta":"not an object","name":[{"text":"é\"q\u00e9"}]}"#,
        ] {
            let l = loaded(content);
            let raw: Value =
                serde_json::from_str(resource_raw(&l).expect("raw").get()).expect("json");
            assert_eq!(raw, l.resource().expect("parsed"), "{content}");
        }
    }

    #[test]
    fn meta_is_set_and_a_forged_extension_replaced() {
        let forged = format!(
            r#"{{"resourceType":"Observation","id":"o1","meta":{{"tag":[{{"code":"x"}}],"versionId":"9","extension":[{{"url":"{}","valueString":"forged"}},{{"url":"other"}}]}}}}"#,
            ledger_entry_url()
        );
        let v = loaded(&forged).resource().expect("resource");
        let meta = &v["meta"];
        assert_eq!(meta["versionId"], "3");
        assert_eq!(meta["lastUpdated"], "2026-01-02T03:04:05Z");
        assert_eq!(meta["tag"][0]["code"], "x");
        let exts = meta["extension"].as_array().expect("extensions");
        assert_eq!(exts.len(), 2);
        assert_eq!(exts[0]["url"], "other");
        assert_eq!(exts[1]["extension"][0]["valueString"], "7");
        assert_eq!(exts[1]["extension"][1]["valueString"], "cd".repeat(32));
        assert_eq!(exts[1]["extension"][2]["valueString"], "example.org/log");
    }

    #[test]
    fn erased_content_is_gone() {
        let mut l = loaded("{}");
        l.content = None;
        assert_eq!(
            l.resource().expect_err("gone").status,
            axum::http::StatusCode::GONE
        );
    }
}
