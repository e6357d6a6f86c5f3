//! Building blocks of the JSON the generator writes: bundles, entries, codings and quantities.

use serde_json::{Map, Value, json};

use super::SynthFile;
use super::codes::{Code, UCUM};

pub(super) fn bundle_file(name: String, entries: Vec<Value>) -> SynthFile {
    let resources = entries.len();
    // Built by hand: `json!` would deep-copy every embedded Value through the serialiser,
    // which was half of the generation time.
    let mut bundle = Map::new();
    bundle.insert("resourceType".into(), "Bundle".into());
    bundle.insert("type".into(), "transaction".into());
    bundle.insert("entry".into(), Value::Array(entries));
    let bundle = Value::Object(bundle);
    // Serialising a Value (string keys, no non-finite floats) cannot fail.
    let json = serde_json::to_vec(&bundle).expect("a JSON Value always serialises");
    SynthFile {
        name,
        json,
        resources,
    }
}

pub(super) fn entry(resource_type: &str, id: &str, resource: Value) -> Value {
    let mut entry = Map::new();
    entry.insert("fullUrl".into(), format!("urn:uuid:{id}").into());
    // Moved in, not through `json!`, which would copy the whole resource.
    entry.insert("resource".into(), resource);
    entry.insert(
        "request".into(),
        json!({"method": "PUT", "url": format!("{resource_type}/{id}")}),
    );
    Value::Object(entry)
}

pub(super) fn coded(system: &str, c: Code) -> Value {
    json!({"coding": [{"system": system, "code": c.code, "display": c.display}], "text": c.zh})
}

pub(super) fn quantity(value: Value, unit: &str, ucum: &str) -> Value {
    json!({"value": value, "unit": unit, "system": UCUM, "code": ucum})
}

/// A JSON number written exactly as `text`, so `0.50` keeps its stated precision.
pub(super) fn decimal(text: &str) -> Value {
    // With `arbitrary_precision` the number keeps its text; the callers pass literals and
    // `format!` output of finite floats, which are always valid JSON numbers.
    Value::Number(text.parse().expect("a decimal literal is a JSON number"))
}

pub(super) fn fixed(v: f64, places: usize) -> Value {
    decimal(&format!("{v:.places$}"))
}

pub(super) fn int(v: f64) -> Value {
    Value::from(v.round() as i64)
}

pub(super) fn round_to(v: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (v * scale).round() / scale
}
