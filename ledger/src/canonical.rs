//! RFC 8785 (JCS) canonical JSON and the hashes taken over it.
//!
//! Written by hand because it sits on the ingest hot path: it walks a parsed
//! `serde_json::Value` once and writes straight into a buffer, about four times faster than
//! going through a generic serializer. `serde_json_canonicalizer` is the reference it is
//! property-tested against.

use serde_json::{Number, Value};
use sha2::{Digest, Sha256};

/// A value that has no RFC 8785 form (a number outside the IEEE double range, say).
#[derive(Debug, thiserror::Error)]
#[error("cannot canonicalize JSON (RFC 8785): {0}")]
pub struct CanonicalError(String);

/// RFC 8785 bytes of a JSON value. Numbers are read as IEEE doubles, as the RFC says, so
/// `4.50` and `4.5` give the same bytes; the exact received bytes are kept apart.
pub fn to_canonical(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(512);
    write_value(value, &mut out)?;
    Ok(out)
}

/// SHA-256 of the RFC 8785 form of `value`: the content hash of a record.
pub fn canonical_sha256(value: &Value) -> Result<[u8; 32], CanonicalError> {
    Ok(Sha256::digest(to_canonical(value)?).into())
}

/// SHA-256 of the RFC 8785 form of the JSON text `raw` (parsed with arbitrary precision). A
/// text that is not I-JSON (a member name twice in one object) has no such form.
pub fn canonical_sha256_of_json(raw: &[u8]) -> Result<[u8; 32], CanonicalError> {
    let v = crate::ijson::parse(raw).map_err(|e| CanonicalError(e.to_string()))?;
    canonical_sha256(&v)
}

pub fn write_value(v: &Value, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(n, out)?,
        Value::String(s) => write_string(s, out),
        Value::Array(a) => {
            out.push(b'[');
            for (i, x) in a.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(x, out)?;
            }
            out.push(b']');
        }
        Value::Object(m) => {
            let mut entries: Vec<(&String, &Value)> = m.iter().collect();
            entries.sort_unstable_by(|a, b| utf16_cmp(a.0, b.0));
            out.push(b'{');
            for (i, (k, x)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(k, out);
                out.push(b':');
                write_value(x, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// RFC 8785 §3.2.3: keys sort by their UTF-16 code units.
fn utf16_cmp(a: &str, b: &str) -> std::cmp::Ordering {
    if a.is_ascii() && b.is_ascii() {
        a.as_bytes().cmp(b.as_bytes())
    } else {
        a.encode_utf16().cmp(b.encode_utf16())
    }
}

/// RFC 8785 §3.2.2.3: ECMAScript `Number.prototype.toString` of the IEEE double.
fn write_number(n: &Number, out: &mut Vec<u8>) -> Result<(), CanonicalError> {
    let text = n.as_str();
    // Integers of at most 15 digits are exact doubles and print as themselves.
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty()
        && digits.len() <= 15
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits.len() == 1 || !digits.starts_with('0'))
    {
        if digits == "0" {
            out.push(b'0'); // -0 prints as 0
        } else {
            out.extend_from_slice(text.as_bytes());
        }
        return Ok(());
    }
    let f: f64 = text
        .parse()
        .map_err(|_| CanonicalError(format!("'{text}' is not a number")))?;
    if !f.is_finite() {
        return Err(CanonicalError(format!(
            "number {text} is outside the IEEE double range"
        )));
    }
    let mut buf = ryu_js::Buffer::new();
    out.extend_from_slice(buf.format_finite(f).as_bytes());
    Ok(())
}

/// RFC 8785 §3.2.2.2: only `"`, `\` and control characters are escaped, with the short forms
/// where JSON has them and lowercase `\u00xx` otherwise.
pub fn write_string(s: &str, out: &mut Vec<u8>) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let esc: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'\r' => b"\\r",
            b'\t' => b"\\t",
            0x08 => b"\\b",
            0x0c => b"\\f",
            0..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                out.extend_from_slice(b"\\u00");
                out.push(HEX[(b >> 4) as usize]);
                out.push(HEX[(b & 0xf) as usize]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(esc);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

const HEX: &[u8; 16] = b"0123456789abcdef";

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn canon(text: &str) -> String {
        let v: Value = serde_json::from_str(text).expect("valid json");
        String::from_utf8(to_canonical(&v).expect("canonical")).expect("utf8")
    }

    #[test]
    fn rfc8785_orders_keys_and_normalises_numbers() {
        assert_eq!(
            canon(
                r#"{"b":[1.00, 1E-22, 1000000000000000000, -0.0, -0, 4.50, 0.000001, 1e21],"a":"\u20ac\n\u001f","c":{"z":true,"y":null}}"#
            ),
            "{\"a\":\"€\\n\\u001f\",\"b\":[1,1e-22,1000000000000000000,0,0,4.5,0.000001,1e+21],\"c\":{\"y\":null,\"z\":true}}"
        );
    }

    #[test]
    fn rfc8785_appendix_sorting_example() {
        // RFC 8785 §3.2.3: keys sorted by UTF-16 code units, not by UTF-8 bytes.
        let text = "{\"\\u20ac\":\"Euro Sign\",\"\\r\":\"Carriage Return\",\"\\ufb33\":\"Hebrew Letter Dalet With Dagesh\",\"1\":\"One\",\"\\ud83d\\ude00\":\"Emoji: Grinning Face\",\"\\u0080\":\"Control\",\"\\u00f6\":\"Latin Small Letter O With Diaeresis\"}";
        let got = canon(text);
        let keys: Vec<&str> = [
            "\\r",
            "1",
            "\u{80}",
            "\u{f6}",
            "\u{20ac}",
            "\u{1f600}",
            "\u{fb33}",
        ]
        .to_vec();
        let mut at = 0;
        for k in keys {
            let pos = got[at..]
                .find(&format!("\"{k}\":"))
                .unwrap_or_else(|| panic!("{k} out of order in {got}"));
            at += pos + 1;
        }
    }

    #[test]
    fn numbers_beyond_double_range_are_refused() {
        assert!(canonical_sha256_of_json(b"{\"x\":1e400}").is_err());
    }

    fn json_value() -> impl Strategy<Value = Value> {
        let num = prop_oneof![
            any::<i64>().prop_map(|i| i.to_string()),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| format!("{f:e}")),
            (any::<i32>(), 0u32..6, -30i32..30)
                .prop_map(|(m, z, e)| format!("{m}.{}5e{e}", "0".repeat(z as usize))),
            Just("-0".to_owned()),
            Just("100000000000000000000".to_owned()),
        ];
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            num.prop_map(|n| serde_json::from_str(&n).expect("number")),
            "\\PC{0,12}".prop_map(Value::String),
            proptest::collection::vec(0u32..0x11_0000, 0..6)
                .prop_map(|cs| Value::String(cs.into_iter().filter_map(char::from_u32).collect())),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                proptest::collection::vec(("\\PC{0,6}", inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn matches_the_reference_canonicalizer(v in json_value()) {
            let ours = to_canonical(&v).expect("canonical");
            let reference = serde_json_canonicalizer::to_vec(&v).expect("reference");
            prop_assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&reference));
        }
    }
}
