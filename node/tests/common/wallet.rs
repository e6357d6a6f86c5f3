//! Residents' and regulators' wallets, as a wallet app would act: EIP-4361 sign-in messages
//! signed with EIP-191 `personal_sign`, and EIP-712 consent grants and revocations.
//! Included with `#[path]` by the tests that need it.
#![allow(dead_code)]

use alloy::primitives::{Address, B256, U256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use hl_contracts::consent::{Grant, Revoke, domain};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

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

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).expect("format")
}

/// The fields of an EIP-4361 message, to vary one at a time.
#[derive(Debug, Clone)]
pub struct Siwe {
    pub domain: String,
    pub address: Address,
    pub uri: String,
    pub chain_id: u64,
    pub nonce: String,
    pub issued_at: String,
    pub expiration: Option<String>,
    pub resources: Vec<String>,
}

impl Siwe {
    /// A message with a fresh nonce from the node, as the node asks for it.
    pub fn fresh(node: &ApiNode, address: Address, resources: &[String]) -> Self {
        let n = node.get("/v1/auth/nonce", None).expect(200).json();
        let now = OffsetDateTime::now_utc();
        Self {
            domain: n["domain"].as_str().expect("domain").to_owned(),
            address,
            uri: n["uri"].as_str().expect("uri").to_owned(),
            chain_id: n["chainId"].as_u64().expect("chainId"),
            nonce: n["nonce"].as_str().expect("nonce").to_owned(),
            issued_at: rfc3339(now),
            expiration: Some(rfc3339(now + time::Duration::minutes(10))),
            resources: resources.to_vec(),
        }
    }

    pub fn text(&self) -> String {
        let mut t = format!(
            "{} wants you to sign in with your Ethereum account:\n{}\n\nSign in to HealthLedger.\n\nURI: {}\nVersion: 1\nChain ID: {}\nNonce: {}\nIssued At: {}",
            self.domain,
            self.address.to_checksum(None),
            self.uri,
            self.chain_id,
            self.nonce,
            self.issued_at
        );
        if let Some(e) = &self.expiration {
            t.push_str(&format!("\nExpiration Time: {e}"));
        }
        if !self.resources.is_empty() {
            t.push_str("\nResources:");
            for r in &self.resources {
                t.push_str(&format!("\n- {r}"));
            }
        }
        t
    }
}

/// EIP-191 personal_sign of `text`, 0x-hex.
pub fn personal_sign(signer: &PrivateKeySigner, text: &str) -> String {
    let sig = signer.sign_message_sync(text.as_bytes()).expect("sign");
    format!("0x{}", hex::encode(sig.as_bytes()))
}

/// POSTs `msg` signed by `signer`.
pub fn post_siwe(node: &ApiNode, signer: &PrivateKeySigner, msg: &Siwe) -> Resp {
    let text = msg.text();
    let body = json!({ "message": text, "signature": personal_sign(signer, &text) });
    node.post("/v1/auth/siwe", None, &body)
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
    assert!(r["txHash"].as_str().is_some_and(|h| h.len() == 66), "{r}");
    r["resident"].as_str().expect("resident").to_owned()
}

/// The EIP-712 template the node publishes for `resident`, read with `token`.
pub struct Typed {
    pub chain_id: u64,
    pub contract: Address,
    pub pseudonym: B256,
    pub nonce: u64,
}

pub fn typed(node: &ApiNode, resident: &str, token: &str) -> Typed {
    let t = node
        .get(&format!("/v1/consents/{resident}/eip712"), Some(token))
        .expect(200)
        .json();
    assert_eq!(t["domain"]["name"], "HealthLedger");
    Typed {
        chain_id: t["domain"]["chainId"].as_u64().expect("chainId"),
        contract: t["domain"]["verifyingContract"]
            .as_str()
            .expect("contract")
            .parse()
            .expect("address"),
        pseudonym: t["pseudonym"]
            .as_str()
            .expect("pseudonym")
            .parse()
            .expect("b256"),
        nonce: t["nonce"]
            .as_str()
            .expect("nonce (wallet bound)")
            .parse()
            .expect("number"),
    }
}

/// A purpose code right-padded to bytes32, as the contract tests and the API encode it.
pub fn purpose(code: &str) -> B256 {
    let mut b = [0u8; 32];
    b[..code.len()].copy_from_slice(code.as_bytes());
    B256::from(b)
}

pub const FAR: u64 = 4_000_000_000;

/// The body of POST /v1/consents/grant, signed by `signer`.
pub fn grant_body(
    signer: &PrivateKeySigner,
    t: &Typed,
    grantee: Address,
    categories: u64,
    code: &str,
    nonce: u64,
    deadline: u64,
) -> Value {
    let g = Grant {
        pseudonym: t.pseudonym,
        grantee,
        categories: U256::from(categories),
        purpose: purpose(code),
        expiry: FAR,
        nonce: U256::from(nonce),
        deadline: U256::from(deadline),
    };
    let sig = signer
        .sign_typed_data_sync(&g, &domain(t.chain_id, t.contract))
        .expect("sign");
    json!({
        "pseudonym": t.pseudonym.to_string(),
        "grantee": grantee.to_string(),
        "categories": categories,
        "purpose": code,
        "expiry": FAR,
        "nonce": nonce.to_string(),
        "deadline": deadline,
        "signature": format!("0x{}", hex::encode(sig.as_bytes())),
    })
}

/// The body of POST /v1/consents/revoke, signed by `signer`.
pub fn revoke_body(
    signer: &PrivateKeySigner,
    t: &Typed,
    grantee: Address,
    code: &str,
    nonce: u64,
) -> Value {
    let r = Revoke {
        pseudonym: t.pseudonym,
        grantee,
        purpose: purpose(code),
        nonce: U256::from(nonce),
        deadline: U256::from(FAR),
    };
    let sig = signer
        .sign_typed_data_sync(&r, &domain(t.chain_id, t.contract))
        .expect("sign");
    json!({
        "pseudonym": t.pseudonym.to_string(),
        "grantee": grantee.to_string(),
        "purpose": code,
        "nonce": nonce,
        "deadline": FAR.to_string(),
        "signature": format!("0x{}", hex::encode(sig.as_bytes())),
    })
}
