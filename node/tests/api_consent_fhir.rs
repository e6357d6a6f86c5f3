//! A consent a resident grants by EIP-712 signature, read back as FHIR: `Consent?patient=`
//! shows it as an R4 Consent (active, purpose, period end, the grantee as actor) and, after
//! the signed revocation, inactive. Both Bundles validate as FHIR R4 with the pinned Python
//! validator (scripts/python/fhir_validate.py; interpreter from `HL_PYTHON` or
//! scripts/python/env.sh, as in api_conformance.rs).

mod common;
#[path = "common/wallet.rs"]
mod wallet;

use std::path::PathBuf;
use std::process::Command;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use common::api::ApiNode;
use common::{Hl, python, repo};
use serde_json::Value;
use time::OffsetDateTime;
use wallet::{FAR, bind, grant_body, patient, revoke_body, sign_in, typed};

/// Validates the files as FHIR R4; panics with the validator's report if one is not.
fn validate(files: &[PathBuf]) {
    let out = Command::new(python())
        .arg(repo().join("scripts/python/fhir_validate.py"))
        .args(files)
        .output()
        .expect("run fhir_validate.py");
    assert!(
        out.status.success(),
        "Consent bundles are not valid FHIR R4:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `Consent?patient=` as the clinician; the Bundle and its one Consent.
fn consents(node: &ApiNode, pid: &str) -> (Value, Value) {
    let b = node
        .get(
            &format!("/fhir/Consent?patient={pid}"),
            Some(node.token("clinician")),
        )
        .expect(200)
        .json();
    assert_eq!(
        (b["resourceType"].as_str(), b["type"].as_str()),
        (Some("Bundle"), Some("searchset"))
    );
    assert_eq!(b["total"], 1, "{b}");
    let entries = b["entry"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{b}");
    let c = entries[0]["resource"].clone();
    assert_eq!(c["resourceType"], "Consent");
    assert_eq!(c["patient"]["reference"], format!("Patient/{pid}"));
    (b, c)
}

#[test]
fn a_signed_grant_reads_back_as_a_fhir_consent_and_its_revocation_as_inactive() {
    let hl = Hl::init();
    let ids = wallet::residents(&hl, 1);
    let pid = ids[0].clone();
    let member: Address = hl.json(&["chain", "status"])["account"]
        .as_str()
        .expect("account")
        .parse()
        .expect("address");
    let node = ApiNode::start(hl);
    let wallet = PrivateKeySigner::random();
    bind(&node, &pid, wallet.address());
    let token = sign_in(&node, &wallet, &[patient(&pid)]);

    // No consent yet: an empty searchset.
    let empty = node
        .get(
            &format!("/fhir/Consent?patient={pid}"),
            Some(node.token("clinician")),
        )
        .expect(200)
        .json();
    assert_eq!(empty["total"], 0, "{empty}");

    // The resident grants this institution categories 0 and 2 for TREAT until FAR.
    let t = typed(&node, &pid, &token);
    let grant = grant_body(&wallet, &t, member, 0b101, "TREAT", t.nonce, FAR);
    node.post("/v1/consents/grant", Some(&token), &grant)
        .expect(200);
    let (granted, c) = consents(&node, &pid);
    assert_eq!(c["status"], "active", "{c}");
    let p = &c["provision"];
    assert_eq!(p["type"], "permit");
    assert_eq!(p["purpose"][0]["code"], "TREAT");
    assert_eq!(
        p["purpose"][0]["system"],
        "http://terminology.hl7.org/CodeSystem/v3-ActReason"
    );
    let end = OffsetDateTime::from_unix_timestamp(FAR as i64).expect("time");
    assert_eq!(
        p["period"]["end"].as_str().map(|s| {
            OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
                .expect("RFC 3339")
        }),
        Some(end),
        "{p}"
    );
    let actor = &p["actor"][0]["reference"]["identifier"]["value"];
    assert!(
        actor
            .as_str()
            .is_some_and(|a| a.eq_ignore_ascii_case(&member.to_string())),
        "actor is the grantee: {p}"
    );
    assert_eq!(p["actor"][0]["role"]["coding"][0]["code"], "IRCP");

    // The resident revokes: the same Consent, now inactive.
    let t = typed(&node, &pid, &token);
    let revoke = revoke_body(&wallet, &t, member, "TREAT", t.nonce);
    node.post("/v1/consents/revoke", Some(&token), &revoke)
        .expect(200);
    let (revoked, c2) = consents(&node, &pid);
    assert_eq!(c2["status"], "inactive", "{c2}");
    assert_eq!(
        c2["id"], c["id"],
        "one consent per (resident, grantee, purpose)"
    );
    assert_ne!(
        c2["sourceReference"], c["sourceReference"],
        "the revocation is the last change"
    );

    // Both Bundles are valid FHIR R4.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for (name, b) in [("granted.json", &granted), ("revoked.json", &revoked)] {
        let f = dir.path().join(name);
        std::fs::write(&f, serde_json::to_vec_pretty(b).expect("json")).expect("write");
        files.push(f);
    }
    validate(&files);
}
