//! A resident's on-chain consents as FHIR R4 `Consent` resources (`Consent?patient=`).

use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::audit::URL_BASE;
use crate::ports::ConsentInfo;

/// Code system of the consent's category bitmask (bit i = category i), as the contract holds it.
pub fn category_mask_system() -> String {
    format!("{URL_BASE}/CodeSystem/consent-category-mask")
}

/// Identifier system of a consortium member's chain address.
pub fn member_address_system() -> String {
    format!("{URL_BASE}/sid/member-address")
}

/// The policy every on-chain consent follows (the HealthLedger contract's consent rules).
pub fn policy_uri() -> String {
    format!("{URL_BASE}/ConsentPolicy/healthledger-contract")
}

/// A stable id for (resident, grantee, purpose), the key the contract holds a consent under,
/// written as a UUID so the entry's `fullUrl` can be `urn:uuid:<id>`.
pub fn consent_id(resident_hex: &str, c: &ConsentInfo) -> String {
    let h = Sha256::digest(
        format!(
            "consent:{resident_hex}:{}:{}",
            c.grantee.to_ascii_lowercase(),
            c.purpose
        )
        .as_bytes(),
    );
    let x = hex::encode(&h[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &x[..8],
        &x[8..12],
        &x[12..16],
        &x[16..20],
        &x[20..32]
    )
}

/// Identifier system of a resident's pseudonym (64 hex digits), for a resident named without
/// a Patient of this log.
pub fn resident_pseudonym_system() -> String {
    format!("{URL_BASE}/sid/resident-pseudonym")
}

/// The FHIR Consent for one on-chain consent of the resident behind `Patient/<patient_id>`
/// (or, without one, named by pseudonym).
pub fn to_fhir(c: &ConsentInfo, patient_id: Option<&str>, resident_hex: &str) -> Value {
    let patient = match patient_id {
        Some(id) => json!({ "reference": format!("Patient/{id}") }),
        None => json!({ "identifier": {
            "system": resident_pseudonym_system(),
            "value": resident_hex,
        }}),
    };
    let grantee = json!({
        "type": "Organization",
        "identifier": { "system": member_address_system(), "value": c.grantee },
        "display": c.grantee_name.clone().unwrap_or_else(|| c.grantee.clone()),
    });
    let mut provision = json!({
        "type": "permit",
        "actor": [{
            "role": { "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationType",
                "code": "IRCP",
                "display": "information recipient",
            }]},
            "reference": grantee,
        }],
        "purpose": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-ActReason",
            "code": c.purpose,
        }],
        "code": [{ "coding": [{ "system": category_mask_system(), "code": c.categories }] }],
    });
    if c.expiry > 0
        && let Ok(t) = time::OffsetDateTime::from_unix_timestamp(c.expiry as i64)
        && let Ok(end) = hl_ledger::time_fmt::format_utc(t)
    {
        provision["period"] = json!({ "end": end });
    }
    let mut v = json!({
        "resourceType": "Consent",
        "id": consent_id(resident_hex, c),
        "status": if c.active { "active" } else { "inactive" },
        "scope": { "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/consentscope",
            "code": "patient-privacy",
        }]},
        "category": [{ "coding": [{ "system": "http://loinc.org", "code": "59284-0", "display": "Patient Consent" }] }],
        "patient": patient,
        "policy": [{ "uri": policy_uri() }],
        "provision": provision,
    });
    if let Some(tx) = &c.tx_hash {
        // The last change on chain is the consent's source of truth; the block is its time.
        v["sourceReference"] = json!({
            "identifier": { "system": format!("{URL_BASE}/sid/chain-tx"), "value": tx },
            "display": match c.block_number {
                Some(b) => format!("transaction {tx} in block {b}"),
                None => format!("transaction {tx}"),
            },
        });
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(active: bool, expiry: u64) -> ConsentInfo {
        ConsentInfo {
            grantee: "0x00000000000000000000000000000000000000aB".into(),
            grantee_name: Some("Xicheng Hospital".into()),
            categories: "5".into(),
            purpose: "TREAT".into(),
            expiry,
            revoked: !active,
            active,
            tx_hash: Some("0xfeed".into()),
            block_number: Some(12),
        }
    }

    #[test]
    fn active_consent_maps_to_r4() {
        let v = to_fhir(&info(true, 1_767_225_600), Some("p1"), &"ab".repeat(32));
        assert_eq!(v["resourceType"], "Consent");
        assert_eq!(v["status"], "active");
        assert_eq!(v["scope"]["coding"][0]["code"], "patient-privacy");
        assert_eq!(v["category"][0]["coding"][0]["code"], "59284-0");
        assert_eq!(v["patient"]["reference"], "Patient/p1");
        assert!(
            v["policy"][0]["uri"].is_string(),
            "ppc-1: policy or policyRule"
        );
        let p = &v["provision"];
        assert_eq!(p["type"], "permit");
        assert_eq!(p["actor"][0]["role"]["coding"][0]["code"], "IRCP");
        assert_eq!(p["actor"][0]["reference"]["display"], "Xicheng Hospital");
        assert_eq!(
            p["actor"][0]["reference"]["identifier"]["value"],
            "0x00000000000000000000000000000000000000aB"
        );
        assert_eq!(p["purpose"][0]["code"], "TREAT");
        assert_eq!(p["code"][0]["coding"][0]["code"], "5");
        assert_eq!(p["period"]["end"], "2026-01-01T00:00:00Z");
        assert!(
            v["sourceReference"]["display"]
                .as_str()
                .is_some_and(|d| d.contains("block 12"))
        );
        // The id is a UUID, stable per (resident, grantee, purpose).
        let id = v["id"].as_str().expect("id");
        assert_eq!(id.len(), 36);
        assert_eq!(
            id,
            to_fhir(&info(false, 0), Some("p1"), &"ab".repeat(32))["id"]
        );
    }

    #[test]
    fn revoked_or_expired_is_inactive_without_end_when_no_expiry() {
        let v = to_fhir(&info(false, 0), Some("p1"), &"ab".repeat(32));
        assert_eq!(v["status"], "inactive");
        assert!(v["provision"].get("period").is_none());
        assert_ne!(
            v["id"],
            to_fhir(&info(false, 0), Some("p1"), &"cd".repeat(32))["id"]
        );
    }

    #[test]
    fn a_resident_without_a_patient_here_is_named_by_pseudonym() {
        let hex = "ab".repeat(32);
        let v = to_fhir(&info(true, 0), None, &hex);
        assert!(v["patient"].get("reference").is_none());
        assert_eq!(v["patient"]["identifier"]["value"], hex.as_str());
        assert_eq!(
            v["patient"]["identifier"]["system"],
            resident_pseudonym_system().as_str()
        );
        assert_eq!(v["id"], to_fhir(&info(true, 0), Some("p1"), &hex)["id"]);
    }
}
