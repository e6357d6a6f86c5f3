//! Resident pseudonyms: `HMAC-SHA256(consortium_key, "resident:v1:" + normalized identifier)`.
//!
//! The normalized identifier is `<system>|<value>` with the value trimmed (and, for the Chinese
//! resident identity number, its check letter upper-cased), so that the same person gets the
//! same pseudonym at every member that shares the consortium key, and two identifier systems
//! never collide. A Patient with none of the configured systems gets a pseudonym scoped to this
//! institution (`resident:v1:local:` + origin) and is marked as not linkable across members.

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::Sha256;

/// The Chinese resident identity card number (公民身份号码), OID used by WS/T health documents.
pub const CN_RESIDENT_ID_SYSTEM: &str = "urn:oid:2.16.156.10011.1.3";
/// US social security number, which identifies the residents of the Synthea sample data.
pub const US_SSN_SYSTEM: &str = "http://hl7.org/fhir/sid/us-ssn";

/// The default ordered list of identifier systems that identify a resident consortium-wide.
pub fn default_resident_systems() -> Vec<String> {
    vec![CN_RESIDENT_ID_SYSTEM.to_owned(), US_SSN_SYSTEM.to_owned()]
}

pub type Pseudonym = [u8; 32];

/// Whether a pseudonym links a resident across the consortium or only within this institution.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResidentScope {
    Consortium,
    Institution,
}

#[derive(Clone)]
pub struct Pseudonymizer {
    key: [u8; 32],
    systems: Vec<String>,
    origin: String,
}

impl std::fmt::Debug for Pseudonymizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the consortium key.
        f.debug_struct("Pseudonymizer")
            .field("systems", &self.systems)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl Pseudonymizer {
    pub fn new(key: [u8; 32], systems: Vec<String>, origin: String) -> Self {
        Self {
            key,
            systems,
            origin,
        }
    }

    pub fn systems(&self) -> &[String] {
        &self.systems
    }

    fn hmac(&self, parts: &[&str]) -> Pseudonym {
        // A key of any length is valid for HMAC; this cannot fail.
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        for p in parts {
            mac.update(p.as_bytes());
        }
        mac.finalize().into_bytes().into()
    }

    /// Pseudonym of a resident identifier, if `system` is one of the configured resident systems.
    pub fn of_identifier(&self, system: &str, value: &str) -> Option<Pseudonym> {
        if !self.systems.iter().any(|s| s == system) {
            return None;
        }
        let value = normalize_value(system, value);
        Some(self.hmac(&["resident:v1:", system, "|", &value]))
    }

    /// The pseudonym of a Patient resource and whether it links across the consortium.
    pub fn of_patient(&self, patient: &Value) -> (Pseudonym, ResidentScope) {
        let identifiers = patient
            .get("identifier")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            .unwrap_or_default();
        // The configured order decides which identifier wins when a Patient has several.
        for system in &self.systems {
            for ident in identifiers {
                if ident.get("system").and_then(Value::as_str) == Some(system.as_str())
                    && let Some(value) = ident.get("value").and_then(Value::as_str)
                    && !value.trim().is_empty()
                {
                    let p = self.of_identifier(system, value);
                    if let Some(p) = p {
                        return (p, ResidentScope::Consortium);
                    }
                }
            }
        }
        let local = identifiers
            .iter()
            .find_map(|i| {
                let value = i.get("value").and_then(Value::as_str)?;
                let system = i.get("system").and_then(Value::as_str).unwrap_or("");
                Some(format!("{system}|{}", value.trim()))
            })
            .or_else(|| {
                patient
                    .get("id")
                    .and_then(Value::as_str)
                    .map(|id| format!("Patient/{id}"))
            })
            .unwrap_or_default();
        (
            self.hmac(&["resident:v1:local:", &self.origin, "|", &local]),
            ResidentScope::Institution,
        )
    }
}

fn normalize_value(system: &str, value: &str) -> String {
    let v = value.trim();
    if system == CN_RESIDENT_ID_SYSTEM {
        v.to_ascii_uppercase()
    } else {
        v.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn p() -> Pseudonymizer {
        Pseudonymizer::new([7; 32], default_resident_systems(), "example/log".into())
    }

    #[test]
    fn chinese_id_is_normalised_and_linkable() {
        let a = json!({"resourceType":"Patient","identifier":[{"system":CN_RESIDENT_ID_SYSTEM,"value":" 11010519491231002x "}]});
        let b = json!({"resourceType":"Patient","identifier":[{"system":"urn:other","value":"1"},{"system":CN_RESIDENT_ID_SYSTEM,"value":"11010519491231002X"}]});
        let (pa, sa) = p().of_patient(&a);
        let (pb, sb) = p().of_patient(&b);
        assert_eq!(pa, pb);
        assert_eq!(
            (sa, sb),
            (ResidentScope::Consortium, ResidentScope::Consortium)
        );
        assert_eq!(
            Some(pa),
            p().of_identifier(CN_RESIDENT_ID_SYSTEM, "11010519491231002x")
        );
    }

    #[test]
    fn configured_order_decides_between_systems() {
        let both = json!({"identifier":[{"system":US_SSN_SYSTEM,"value":"999-11-2222"},{"system":CN_RESIDENT_ID_SYSTEM,"value":"110105194912310028"}]});
        let (pseudo, _) = p().of_patient(&both);
        assert_eq!(
            Some(pseudo),
            p().of_identifier(CN_RESIDENT_ID_SYSTEM, "110105194912310028")
        );
    }

    #[test]
    fn unknown_systems_fall_back_to_an_institution_scope() {
        let pat = json!({"id":"x","identifier":[{"system":"urn:oid:1.2.3","value":"42"}]});
        let (a, scope) = p().of_patient(&pat);
        assert_eq!(scope, ResidentScope::Institution);
        let other_origin =
            Pseudonymizer::new([7; 32], default_resident_systems(), "other/log".into());
        assert_ne!(
            a,
            other_origin.of_patient(&pat).0,
            "local pseudonyms differ per institution"
        );
        let no_ident = json!({"id":"x"});
        assert_ne!(p().of_patient(&no_ident).0, a);
    }

    #[test]
    fn key_changes_pseudonym() {
        let other = Pseudonymizer::new([8; 32], default_resident_systems(), "example/log".into());
        assert_ne!(
            p().of_identifier(US_SSN_SYSTEM, "1"),
            other.of_identifier(US_SSN_SYSTEM, "1")
        );
    }
}
