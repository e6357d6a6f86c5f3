//! The record envelope: what a Merkle leaf commits to.
//!
//! The leaf data is the RFC 8785 canonical JSON of the [`Envelope`]; the content (the FHIR
//! resource) is bound to it through `content_sha256`, so content can be erased later while
//! every proof stays valid.

use serde::{Deserialize, Serialize};

use crate::canonical::{CanonicalError, to_canonical};
use crate::pseudonym::ResidentScope;

/// Envelope format version.
pub const ENVELOPE_VERSION: u32 = 1;
/// The schema of record contents.
pub const SCHEMA_FHIR_R4: &str = "fhir-r4";

/// See `ledger/README.md` for the meaning of every field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub v: u32,
    pub origin: String,
    pub schema: String,
    pub kind: String,
    pub id: String,
    pub version: u32,
    /// Hex of the 32-byte resident pseudonym, or null.
    pub resident: Option<String>,
    /// Whether `resident` links across the consortium or only within this institution.
    pub resident_scope: Option<ResidentScope>,
    /// RFC 3339 UTC, or null.
    pub effective: Option<String>,
    /// RFC 3339 UTC time the record was committed to the log.
    pub recorded: String,
    /// Hex SHA-256 of the RFC 8785 canonical JSON of the content.
    pub content_sha256: String,
}

impl Envelope {
    /// The leaf data: RFC 8785 canonical JSON of the envelope.
    pub fn leaf_data(&self) -> Result<Vec<u8>, CanonicalError> {
        to_canonical(self)
    }

    pub fn resident_bytes(&self) -> Option<[u8; 32]> {
        let h = self.resident.as_deref()?;
        let mut out = [0u8; 32];
        hex::decode_to_slice(h, &mut out).ok()?;
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaf_data_is_canonical_and_stable() {
        let e = Envelope {
            v: 1,
            origin: "o".into(),
            schema: SCHEMA_FHIR_R4.into(),
            kind: "Patient".into(),
            id: "p1".into(),
            version: 2,
            resident: Some("ab".repeat(32)),
            resident_scope: Some(ResidentScope::Consortium),
            effective: None,
            recorded: "2026-01-01T00:00:00Z".into(),
            content_sha256: "00".repeat(32),
        };
        let s = String::from_utf8(e.leaf_data().expect("canonical")).expect("utf8");
        assert!(s.starts_with("{\"content_sha256\":\"0000"), "{s}");
        assert!(
            s.contains("\"effective\":null,\"id\":\"p1\",\"kind\":\"Patient\""),
            "{s}"
        );
        let back: Envelope = serde_json::from_str(&s).expect("parse");
        assert_eq!(back, e);
    }
}
