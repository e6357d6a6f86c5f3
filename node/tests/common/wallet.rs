//! Residents' and regulators' wallets against an [`ApiNode`], as a wallet app would act:
//! EIP-4361 sign-in messages signed with EIP-191 `personal_sign`, and EIP-712 consent grants
//! and revocations (the messages and signatures are `hl_tests::localnet::wallet`'s).
//! Included with `#[path]` by the tests that need it.
#![allow(dead_code)]

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use hl_tests::localnet::wallet::{self, GrantSpec};
pub use hl_tests::localnet::wallet::{FAR, Siwe, Typed};
use serde_json::{Value, json};

use crate::common::Hl;
use crate::common::api::{ApiNode, Resp};

/// Ingests `n` synthetic residents (before the node starts); returns their Patient ids.
pub fn residents(hl: &Hl, n: u32) -> Vec<String> {
    let mut ids = Vec::new();
    for f in hl.synth("synth", n, 5) {
        let r = hl.run(&["ingest", "--no-qc", f.to_str().expect("path")]);
        assert!(r.ok, "ingest {}: {}", f.display(), r.stderr);
        let v: Value = serde_json::from_slice(&std::fs::read(&f).expect("read")).expect("json");
        if let Some(p) = v["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["resource"]["resourceType"] == "Patient")
        {
            ids.push(p["resource"]["id"].as_str().expect("id").to_owned());
        }
    }
    assert_eq!(ids.len(), n as usize, "one Patient per resident file");
    ids
}

pub fn rfc3339(t: time::OffsetDateTime) -> String {
    wallet::rfc3339(t)
}

/// A message with a fresh nonce from the node, as the node asks for it.
pub trait Fresh {
    fn fresh(node: &ApiNode, address: Address, resources: &[String]) -> Self;
}

impl Fresh for Siwe {
    fn fresh(node: &ApiNode, address: Address, resources: &[String]) -> Self {
        let n = node.get("/v1/auth/nonce", None).expect(200).json();
        Siwe::from_nonce(&n, address, resources).expect("nonce answer")
    }
}

/// EIP-191 personal_sign of `text`, 0x-hex.
pub fn personal_sign(signer: &PrivateKeySigner, text: &str) -> String {
    wallet::personal_sign(signer, text).expect("sign")
}

/// POSTs `msg` signed by `signer`.
pub fn post_siwe(node: &ApiNode, signer: &PrivateKeySigner, msg: &Siwe) -> Resp {
    node.post("/v1/auth/siwe", None, &msg.signed(signer).expect("sign"))
}

/// Signs in with `signer` naming `resources`; the session token.
pub fn sign_in(node: &ApiNode, signer: &PrivateKeySigner, resources: &[String]) -> String {
    let msg = Siwe::fresh(node, signer.address(), resources);
    let r = post_siwe(node, signer, &msg).expect(200).json();
    r["token"].as_str().expect("token").to_owned()
}

/// The SIWE resource naming a Patient.
pub fn patient(id: &str) -> String {
    format!("Patient/{id}")
}

/// Binds `wallet` to the resident `patient_id` as admin; the resident's hex pseudonym.
pub fn bind(node: &ApiNode, patient_id: &str, wallet: Address) -> String {
    let r = node
        .post(
            &format!("/v1/residents/{patient_id}/wallet"),
            Some(node.token("admin")),
            &json!({ "address": wallet.to_string() }),
        )
        .expect(200)
        .json();
    assert_eq!(
        r["wallet"].as_str().expect("wallet"),
        wallet.to_checksum(None)
    );
    assert!(r["tx_hash"].as_str().is_some_and(|h| h.len() == 66), "{r}");
    r["resident"].as_str().expect("resident").to_owned()
}

/// The EIP-712 template the node publishes for `resident`, read with `token`.
pub fn typed(node: &ApiNode, resident: &str, token: &str) -> Typed {
    let t = node
        .get(&format!("/v1/consents/{resident}/eip712"), Some(token))
        .expect(200)
        .json();
    Typed::from_json(&t).expect("EIP-712 template (wallet bound)")
}

/// The body of POST /v1/consents/grant, signed by `signer` (expiry [`FAR`]).
pub fn grant_body(
    signer: &PrivateKeySigner,
    t: &Typed,
    grantee: Address,
    categories: u64,
    code: &str,
    nonce: u64,
    deadline: u64,
) -> Value {
    let g = GrantSpec {
        grantee,
        categories,
        purpose: code.to_owned(),
        expiry: FAR,
        nonce,
        deadline,
    };
    wallet::signed_grant(signer, t, &g).expect("sign")
}

/// The body of POST /v1/consents/revoke, signed by `signer`.
pub fn revoke_body(
    signer: &PrivateKeySigner,
    t: &Typed,
    grantee: Address,
    code: &str,
    nonce: u64,
) -> Value {
    wallet::signed_revoke(signer, t, grantee, code, nonce, FAR).expect("sign")
}
