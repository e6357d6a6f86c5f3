//! RFC 8785 canonical JSON and the hashes taken over it.

use sha2::{Digest, Sha256};

/// A value that has no RFC 8785 form (a number outside the IEEE double range, say).
#[derive(Debug, thiserror::Error)]
#[error("cannot canonicalize JSON (RFC 8785): {0}")]
pub struct CanonicalError(String);

/// RFC 8785 bytes of any serializable value. Numbers are read as IEEE doubles, as the RFC
/// says, so `4.50` and `4.5` give the same bytes; the exact received bytes are kept apart.
pub fn to_canonical<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, CanonicalError> {
    serde_json_canonicalizer::to_vec(value).map_err(|e| CanonicalError(e.to_string()))
}

/// SHA-256 of the RFC 8785 form of `value`: the content hash of a record.
pub fn canonical_sha256<T: serde::Serialize>(value: &T) -> Result<[u8; 32], CanonicalError> {
    Ok(Sha256::digest(to_canonical(value)?).into())
}

/// SHA-256 of the RFC 8785 form of the JSON text `raw` (parsed with arbitrary precision).
pub fn canonical_sha256_of_json(raw: &[u8]) -> Result<[u8; 32], CanonicalError> {
    let v: serde_json::Value =
        serde_json::from_slice(raw).map_err(|e| CanonicalError(e.to_string()))?;
    canonical_sha256(&v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8785_orders_keys_and_normalises_numbers() {
        let v: serde_json::Value = serde_json::from_str(
            r#"{"b":[1.00, 1E-22, 1000000000000000000, -0.0, 4.50],"a":"\u20ac\n","c":{"z":true,"y":null}}"#,
        )
        .expect("valid json");
        let got = String::from_utf8(to_canonical(&v).expect("canonical")).expect("utf8");
        assert_eq!(
            got,
            "{\"a\":\"€\\n\",\"b\":[1,1e-22,1000000000000000000,0,4.5],\"c\":{\"y\":null,\"z\":true}}"
        );
    }

    #[test]
    fn numbers_beyond_double_range_are_refused() {
        assert!(canonical_sha256_of_json(b"{\"x\":1e400}").is_err());
    }
}
