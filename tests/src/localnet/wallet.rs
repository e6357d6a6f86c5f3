//! A resident's wallet, as a wallet app acts: EIP-4361 sign-in messages signed with EIP-191
//! `personal_sign`, and EIP-712 consent grants and revocations the node relays to the
//! contract.

use alloy::primitives::{Address, B256, U256};
use alloy::signers::SignerSync;
use alloy::signers::local::PrivateKeySigner;
use hl_contracts::consent::{Grant, Revoke, domain};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::error::{Error, Result};
use super::node::Node;

/// A time far in the future (2096), for expiries and deadlines that must not bite.
pub const FAR: u64 = 4_000_000_000;

/// A purpose-of-use code right-padded to bytes32, as the contract keys consents.
pub fn purpose(code: &str) -> B256 {
    let mut b = [0u8; 32];
    let n = code.len().min(32);
    b[..n].copy_from_slice(&code.as_bytes()[..n]);
    B256::from(b)
}

/// The EIP-712 template a node publishes for a resident (`GET /v1/consents/{r}/eip712`).
#[derive(Debug, Clone)]
pub struct Typed {
    pub chain_id: u64,
    pub contract: Address,
    pub pseudonym: B256,
    /// The bound wallet's next nonce.
    pub nonce: u64,
}

impl Typed {
    pub fn from_json(t: &Value) -> Result<Self> {
        let bad = |what: &str| Error::unexpected(format!("EIP-712 template without {what}: {t}"));
        if t["domain"]["name"] != "HealthLedger" {
            return Err(bad("domain name HealthLedger"));
        }
        Ok(Self {
            chain_id: t["domain"]["chainId"]
                .as_u64()
                .ok_or_else(|| bad("chainId"))?,
            contract: t["domain"]["verifyingContract"]
                .as_str()
                .and_then(|c| c.parse().ok())
                .ok_or_else(|| bad("verifyingContract"))?,
            pseudonym: t["pseudonym"]
                .as_str()
                .and_then(|p| p.parse().ok())
                .ok_or_else(|| bad("pseudonym"))?,
            nonce: t["nonce"]
                .as_str()
                .and_then(|n| n.parse().ok())
                .ok_or_else(|| bad("nonce (is a wallet bound?)"))?,
        })
    }
}

/// What a resident grants.
#[derive(Debug, Clone)]
pub struct GrantSpec {
    pub grantee: Address,
    /// Bit `c` allows data category `c`.
    pub categories: u64,
    /// HL7 v3 PurposeOfUse code, e.g. `TREAT`.
    pub purpose: String,
    /// Unix time the consent ends.
    pub expiry: u64,
    pub nonce: u64,
    /// Last Unix second the signature is accepted.
    pub deadline: u64,
}

fn sig_hex(sig: &alloy::primitives::Signature) -> String {
    format!("0x{}", hex::encode(sig.as_bytes()))
}

/// The body of `POST /v1/consents/grant`, signed by `signer`.
pub fn signed_grant(signer: &PrivateKeySigner, t: &Typed, g: &GrantSpec) -> Result<Value> {
    let msg = Grant {
        pseudonym: t.pseudonym,
        grantee: g.grantee,
        categories: U256::from(g.categories),
        purpose: purpose(&g.purpose),
        expiry: g.expiry,
        nonce: U256::from(g.nonce),
        deadline: U256::from(g.deadline),
    };
    let sig = signer
        .sign_typed_data_sync(&msg, &domain(t.chain_id, t.contract))
        .map_err(|e| Error::unexpected(format!("signing the grant: {e}")))?;
    Ok(json!({
        "pseudonym": t.pseudonym.to_string(),
        "grantee": g.grantee.to_string(),
        "categories": g.categories,
        "purpose": g.purpose,
        "expiry": g.expiry,
        "nonce": g.nonce.to_string(),
        "deadline": g.deadline,
        "signature": sig_hex(&sig),
    }))
}

/// The body of `POST /v1/consents/revoke` for (grantee, purpose), signed by `signer`.
pub fn signed_revoke(
    signer: &PrivateKeySigner,
    t: &Typed,
    grantee: Address,
    code: &str,
    nonce: u64,
    deadline: u64,
) -> Result<Value> {
    let msg = Revoke {
        pseudonym: t.pseudonym,
        grantee,
        purpose: purpose(code),
        nonce: U256::from(nonce),
        deadline: U256::from(deadline),
    };
    let sig = signer
        .sign_typed_data_sync(&msg, &domain(t.chain_id, t.contract))
        .map_err(|e| Error::unexpected(format!("signing the revocation: {e}")))?;
    Ok(json!({
        "pseudonym": t.pseudonym.to_string(),
        "grantee": grantee.to_string(),
        "purpose": code,
        "nonce": nonce,
        "deadline": deadline.to_string(),
        "signature": sig_hex(&sig),
    }))
}

/// EIP-191 `personal_sign` of `text`, 0x-hex.
pub fn personal_sign(signer: &PrivateKeySigner, text: &str) -> Result<String> {
    signer
        .sign_message_sync(text.as_bytes())
        .map(|s| sig_hex(&s))
        .map_err(|e| Error::unexpected(format!("personal_sign: {e}")))
}

pub fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
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
    /// A message as the node asks for it, from the answer of `GET /v1/auth/nonce`, issued now
    /// and valid for ten minutes.
    pub fn from_nonce(n: &Value, address: Address, resources: &[String]) -> Result<Self> {
        let field = |k: &str| {
            n[k].as_str()
                .map(str::to_owned)
                .ok_or_else(|| Error::unexpected(format!("/v1/auth/nonce without {k}: {n}")))
        };
        let now = OffsetDateTime::now_utc();
        Ok(Self {
            domain: field("domain")?,
            address,
            uri: field("uri")?,
            chain_id: n["chainId"]
                .as_u64()
                .ok_or_else(|| Error::unexpected(format!("/v1/auth/nonce without chainId: {n}")))?,
            nonce: field("nonce")?,
            issued_at: rfc3339(now),
            expiration: Some(rfc3339(now + time::Duration::minutes(10))),
            resources: resources.to_vec(),
        })
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

    /// The body of `POST /v1/auth/siwe`: this message signed by `signer`.
    pub fn signed(&self, signer: &PrivateKeySigner) -> Result<Value> {
        let text = self.text();
        Ok(json!({ "message": text, "signature": personal_sign(signer, &text)? }))
    }
}

/// The SIWE resource naming a Patient.
pub fn patient_resource(id: &str) -> String {
    format!("Patient/{id}")
}

/// The resident's pseudonym (64 hex) as `node` derives it for `patient` (a Patient id there),
/// read by its clinician from `GET /v1/residents/{patient}/wallet`.
pub fn pseudonym(node: &Node, patient: &str) -> Result<String> {
    let w = node
        .get(
            &format!("/v1/residents/{patient}/wallet"),
            Some(node.token("clinician")?),
            &[],
        )?
        .expect_json(200)?;
    w["resident"]
        .as_str()
        .map(|p| p.trim_start_matches("0x").to_owned())
        .ok_or_else(|| Error::unexpected(format!("no resident in {w}")))
}

/// Binds `wallet` to the resident `patient` (a Patient id or pseudonym) at `node` as its
/// admin; the resident's pseudonym (64 hex).
pub fn bind(node: &Node, patient: &str, wallet: Address) -> Result<String> {
    let r = node
        .post(
            &format!("/v1/residents/{patient}/wallet"),
            Some(node.token("admin")?),
            &json!({ "address": wallet.to_string() }),
            &[],
        )?
        .expect_json(200)?;
    if r["wallet"].as_str() != Some(wallet.to_checksum(None).as_str()) {
        return Err(Error::unexpected(format!(
            "binding answered another wallet: {r}"
        )));
    }
    r["resident"]
        .as_str()
        .map(|p| p.trim_start_matches("0x").to_owned())
        .ok_or_else(|| Error::unexpected(format!("binding answered no resident: {r}")))
}

/// Signs in at `node` with `signer` naming `resources`; the session token.
pub fn sign_in(node: &Node, signer: &PrivateKeySigner, resources: &[String]) -> Result<String> {
    let n = node.get("/v1/auth/nonce", None, &[])?.expect_json(200)?;
    let msg = Siwe::from_nonce(&n, signer.address(), resources)?;
    let r = node
        .post("/v1/auth/siwe", None, &msg.signed(signer)?, &[])?
        .expect_json(200)?;
    r["token"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| Error::unexpected(format!("sign-in answered no token: {r}")))
}

/// The EIP-712 template for `resident` at `node`, read with `token`.
pub fn typed(node: &Node, resident: &str, token: &str) -> Result<Typed> {
    let t = node
        .get(&format!("/v1/consents/{resident}/eip712"), Some(token), &[])?
        .expect_json(200)?;
    Typed::from_json(&t)
}

/// A relayed consent transaction.
#[derive(Debug, Clone)]
pub struct Relayed {
    pub tx_hash: String,
    pub block: u64,
}

fn relayed(r: Value) -> Result<Relayed> {
    match (r["tx_hash"].as_str(), r["block_number"].as_u64()) {
        (Some(tx), Some(block)) => Ok(Relayed {
            tx_hash: tx.to_owned(),
            block,
        }),
        _ => Err(Error::unexpected(format!(
            "relay answered no transaction: {r}"
        ))),
    }
}

/// Signs the grant `g` with `signer` and has `node` relay it, authorised by `token` (the
/// resident's session or an admin).
pub fn grant(
    node: &Node,
    token: &str,
    signer: &PrivateKeySigner,
    t: &Typed,
    g: &GrantSpec,
) -> Result<Relayed> {
    let body = signed_grant(signer, t, g)?;
    relayed(
        node.post("/v1/consents/grant", Some(token), &body, &[])?
            .expect_json(200)?,
    )
}

/// Signs the revocation of (grantee, purpose) with `signer`, using the wallet's next nonce
/// from `t`, and has `node` relay it.
pub fn revoke(
    node: &Node,
    token: &str,
    signer: &PrivateKeySigner,
    t: &Typed,
    grantee: Address,
    code: &str,
) -> Result<Relayed> {
    let body = signed_revoke(signer, t, grantee, code, t.nonce, FAR)?;
    relayed(
        node.post("/v1/consents/revoke", Some(token), &body, &[])?
            .expect_json(200)?,
    )
}
