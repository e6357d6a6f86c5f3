//! The record envelope: what a Merkle leaf commits to.
//!
//! The leaf data is the RFC 8785 canonical JSON of the [`Envelope`]; the content (the FHIR
//! resource) is bound to it through `content_sha256`, so content can be erased later while
//! every proof stays valid.

use serde::{Deserialize, Serialize};

use crate::canonical::write_string;
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
    /// The leaf data: RFC 8785 canonical JSON of the envelope, written field by field in
    /// RFC 8785 key order (this runs once per record on the writer thread).
    pub fn leaf_data(&self) -> Vec<u8> {
        fn opt(out: &mut Vec<u8>, v: Option<&str>) {
            match v {
                Some(s) => write_string(s, out),
                None => out.extend_from_slice(b"null"),
            }
        }
        let mut out = Vec::with_capacity(384);
        out.extend_from_slice(b"{\"content_sha256\":");
        write_string(&self.content_sha256, &mut out);
        out.extend_from_slice(b",\"effective\":");
        opt(&mut out, self.effective.as_deref());
        out.extend_from_slice(b",\"id\":");
        write_string(&self.id, &mut out);
        out.extend_from_slice(b",\"kind\":");
        write_string(&self.kind, &mut out);
        out.extend_from_slice(b",\"origin\":");
        write_string(&self.origin, &mut out);
        out.extend_from_slice(b",\"recorded\":");
        write_string(&self.recorded, &mut out);
        out.extend_from_slice(b",\"resident\":");
        opt(&mut out, self.resident.as_deref());
        out.extend_from_slice(b",\"resident_scope\":");
        opt(
            &mut out,
            self.resident_scope.map(|s| match s {
                ResidentScope::Consortium => "consortium",
                ResidentScope::Institution => "institution",
            }),
        );
        out.extend_from_slice(b",\"schema\":");
        write_string(&self.schema, &mut out);
        out.extend_from_slice(
            format!(",\"v\":{},\"version\":{}}}", self.v, self.version).as_bytes(),
        );
        out
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
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn leaf_data_matches_the_reference_canonicalizer(
            strings in proptest::collection::vec("\\PC{0,20}", 6),
            opt in proptest::collection::vec(proptest::option::of("\\PC{0,20}"), 2),
            scope in proptest::option::of(prop_oneof![Just(ResidentScope::Consortium), Just(ResidentScope::Institution)]),
            v: u32, version: u32,
        ) {
            let e = Envelope {
                v, origin: strings[0].clone(), schema: strings[1].clone(), kind: strings[2].clone(),
                id: strings[3].clone(), version, resident: opt[0].clone(), resident_scope: scope,
                effective: opt[1].clone(), recorded: strings[4].clone(), content_sha256: strings[5].clone(),
            };
            prop_assert_eq!(e.leaf_data(), serde_json_canonicalizer::to_vec(&e).expect("reference"));
        }
    }

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
        let s = String::from_utf8(e.leaf_data()).expect("utf8");
        assert_eq!(
            s.as_bytes(),
            serde_json_canonicalizer::to_vec(&e).expect("reference")
        );
        assert!(s.starts_with("{\"content_sha256\":\"0000"), "{s}");
        assert!(
            s.contains("\"effective\":null,\"id\":\"p1\",\"kind\":\"Patient\""),
            "{s}"
        );
        let back: Envelope = serde_json::from_str(&s).expect("parse");
        assert_eq!(back, e);
    }
}
