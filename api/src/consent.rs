//! Consent: relay residents' EIP-712 signed grants and revocations to the contract, list
//! consents, bind wallets.
//!
//! Encodings, as the contract and a wallet see them:
//! - **purpose**: an HL7 v3 PurposeOfUse code (`TREAT`, `ETREAT`, `PUBHLTH`, `HRESCH`,
//!   `HOPERAT`, …) as `bytes32`: its ASCII bytes right-padded with zero bytes
//!   (`TREAT` = `0x5452454154000…0`). The API takes the code, or 0x + 64 hex for any other
//!   `bytes32`.
//! - **categories**: a `uint256` bitmask, bit `c` covering data category `c` (the contract's
//!   `isPermitted(pseudonym, grantee, c, purpose)` tests bit `c`). The consortium's category
//!   table assigns the meaning of each bit; the API takes the mask as a JSON number or a
//!   decimal or 0x-hex string, exactly as it was signed.
//! - **expiry**: Unix seconds from which the grant no longer applies; **deadline**: last Unix
//!   second at which the signature is accepted; **nonce**: the resident wallet's next nonce
//!   (`GET /v1/consents/{resident}/eip712`).

use alloy_primitives::{Address, B256, Bytes, U256};
use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::{OpenApi, ToSchema};

use crate::auth::policy::{Op, allow};
use crate::auth::{Access, Principal};
use crate::error::{ApiError, ApiResult};
use crate::ports::{ConsentInfo, PortError, SignedGrant, SignedRevoke, TxInfo};
use crate::resident::{Resident, resolve};
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    paths(list, eip712, grant, revoke, wallet, bind),
    components(schemas(
        ConsentList,
        GrantBody,
        RevokeBody,
        Relayed,
        WalletBody,
        WalletAnswer,
        ConsentInfo
    ))
)]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/consents/grant", post(grant))
        .route("/v1/consents/revoke", post(revoke))
        .route("/v1/consents/{resident}", get(list))
        .route("/v1/consents/{resident}/eip712", get(eip712))
        .route("/v1/residents/{resident}/wallet", get(wallet).post(bind))
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ConsentList {
    /// Hex pseudonym.
    pub resident: String,
    /// The wallet bound on chain, if any.
    pub wallet: Option<String>,
    /// Every (grantee, purpose) the resident ever granted, first grant first.
    pub consents: Vec<ConsentInfo>,
}

/// A resident's signed grant (EIP-712 `Grant`), to relay to `grantConsentBySig`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantBody {
    /// 64-hex resident pseudonym (0x optional).
    pub pseudonym: String,
    /// Grantee member's address.
    pub grantee: String,
    /// Category bitmask: JSON number, decimal string or 0x-hex string.
    #[schema(value_type = String, example = "0x5")]
    pub categories: Value,
    /// Purpose code (e.g. TREAT) or 0x + 64 hex.
    pub purpose: String,
    /// Unix seconds.
    #[schema(value_type = u64)]
    pub expiry: Value,
    #[schema(value_type = String, example = "0")]
    pub nonce: Value,
    /// Unix seconds.
    #[schema(value_type = String)]
    pub deadline: Value,
    /// 0x-hex 65-byte signature (r ‖ s ‖ v) of the EIP-712 `Grant`.
    pub signature: String,
}

/// A resident's signed revocation (EIP-712 `Revoke`), to relay to `revokeConsentBySig`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RevokeBody {
    pub pseudonym: String,
    pub grantee: String,
    pub purpose: String,
    #[schema(value_type = String, example = "1")]
    pub nonce: Value,
    #[schema(value_type = String)]
    pub deadline: Value,
    /// 0x-hex 65-byte signature of the EIP-712 `Revoke`.
    pub signature: String,
}

/// The relayed transaction, included in a block.
#[derive(Debug, Serialize, ToSchema)]
pub struct Relayed {
    pub tx_hash: String,
    pub block_number: u64,
}

impl From<TxInfo> for Relayed {
    fn from(t: TxInfo) -> Self {
        Self {
            tx_hash: t.tx_hash,
            block_number: t.block_number,
        }
    }
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletBody {
    /// The resident's wallet address.
    pub address: String,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct WalletAnswer {
    pub resident: String,
    pub wallet: Option<String>,
    /// For a binding just made.
    pub tx_hash: Option<String>,
    pub block_number: Option<u64>,
}

async fn audit_read(state: &AppState, access: &Access, r: &Resident, query: &str) -> ApiResult<()> {
    let read = crate::audit::Read {
        interaction: "read",
        query,
        patient_id: None,
        leaves: &[],
        remote: &[],
    };
    crate::audit::record(state, access, r, &read)
        .await
        .map(|_| ())
}

/// A resident whose consents the caller may read.
fn readable(state: &AppState, principal: &Principal, s: &str) -> ApiResult<Resident> {
    let r = resolve(state, s)?;
    allow(principal, Op::ReadConsent(&r.pseudonym))?;
    Ok(r)
}

/// A resident's consents as the contract holds them now.
#[utoipa::path(get, path = "/v1/consents/{resident}", tag = "consent",
    security(("bearer" = [])),
    params(("resident" = String, Path, description = "Patient id or 64-hex pseudonym")),
    responses(
        (status = 200, description = "the consents", body = ConsentList),
        (status = 401, description = "not signed in"),
        (status = 403, description = "not this resident, nor a clinician, auditor or admin"),
        (status = 404, description = "no such resident in this log"),
        (status = 503, description = "the chain cannot be reached"),
    ))]
async fn list(
    State(state): State<AppState>,
    access: Access,
    Path(resident): Path<String>,
) -> ApiResult<Json<ConsentList>> {
    let r = readable(&state, &access.principal, &resident)?;
    // Consents are contract state any member can read, but who looks at a resident's consents
    // is still an access to that resident: audited like every other read.
    audit_read(&state, &access, &r, &format!("/v1/consents/{resident}")).await?;
    let wallet = state.chain.resident_wallet(&r.pseudonym).await?;
    let consents = state.chain.consents(&r.pseudonym).await?;
    Ok(Json(ConsentList {
        resident: r.hex(),
        wallet: wallet.map(|w| w.to_checksum(None)),
        consents,
    }))
}

/// What a wallet signs to grant or revoke (EIP-712 typed data, `eth_signTypedData_v4`).
///
/// Answers the domain, the `Grant` and `Revoke` types, the resident's pseudonym and the
/// wallet's next nonce. Purpose: the code's ASCII bytes right-padded to `bytes32`; categories:
/// a bitmask, bit c = category c (see the module docs).
#[utoipa::path(get, path = "/v1/consents/{resident}/eip712", tag = "consent",
    security(("bearer" = [])),
    params(("resident" = String, Path, description = "Patient id or 64-hex pseudonym")),
    responses(
        (status = 200, description = "typed-data template"),
        (status = 403, description = "not allowed"),
        (status = 501, description = "no contract configured"),
        (status = 503, description = "the chain cannot be reached"),
    ))]
async fn eip712(
    State(state): State<AppState>,
    principal: Principal,
    Path(resident): Path<String>,
) -> ApiResult<Json<Value>> {
    let r = readable(&state, &principal, &resident)?;
    let info = state.chain.info();
    let contract = info.contract.ok_or_else(|| {
        ApiError::from(PortError::NotConfigured(
            "no contract address is configured on this node".into(),
        ))
    })?;
    let wallet = state.chain.resident_wallet(&r.pseudonym).await?;
    let nonce = match wallet {
        Some(_) => Some(state.chain.consent_nonce(&r.pseudonym).await?.to_string()),
        None => None,
    };
    let field = |name: &str, ty: &str| json!({ "name": name, "type": ty });
    Ok(Json(json!({
        "domain": {
            "name": "HealthLedger",
            "version": "1",
            "chainId": info.chain_id,
            "verifyingContract": contract,
        },
        "types": {
            "EIP712Domain": [field("name", "string"), field("version", "string"),
                field("chainId", "uint256"), field("verifyingContract", "address")],
            "Grant": [field("pseudonym", "bytes32"), field("grantee", "address"),
                field("categories", "uint256"), field("purpose", "bytes32"),
                field("expiry", "uint64"), field("nonce", "uint256"), field("deadline", "uint256")],
            "Revoke": [field("pseudonym", "bytes32"), field("grantee", "address"),
                field("purpose", "bytes32"), field("nonce", "uint256"), field("deadline", "uint256")],
        },
        "pseudonym": format!("0x{}", r.hex()),
        "wallet": wallet.map(|w| w.to_checksum(None)),
        "nonce": nonce,
        "purpose_encoding": "ASCII code right-padded with zero bytes to bytes32, e.g. TREAT = 0x5452454154 followed by 27 zero bytes",
        "categories": "uint256 bitmask; bit c covers data category c",
    })))
}

/// Relay a resident's EIP-712 signed grant to the contract (`grantConsentBySig`).
///
/// Allowed for the resident named by `pseudonym` (SIWE session) and for admin staff. The
/// signature is checked first against the resident's bound wallet and next nonce.
#[utoipa::path(post, path = "/v1/consents/grant", tag = "consent", request_body = GrantBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "included on chain", body = Relayed),
        (status = 400, description = "a field is malformed"),
        (status = 403, description = "not this resident nor an admin"),
        (status = 422, description = "refused: wrong signer, used nonce, deadline passed, …"),
        (status = 503, description = "the chain cannot be reached"),
    ))]
async fn grant(
    State(state): State<AppState>,
    principal: Principal,
    Json(b): Json<GrantBody>,
) -> ApiResult<Json<Relayed>> {
    let pseudonym = pseudonym(&b.pseudonym)?;
    allow(&principal, Op::RelayConsent(&pseudonym.0))?;
    let g = SignedGrant {
        pseudonym,
        grantee: address("grantee", &b.grantee)?,
        categories: uint("categories", &b.categories)?,
        purpose: purpose(&b.purpose)?,
        expiry: u64::try_from(uint("expiry", &b.expiry)?)
            .map_err(|_| ApiError::bad_request("expiry does not fit in 64 bits").at("expiry"))?,
        nonce: uint("nonce", &b.nonce)?,
        deadline: uint("deadline", &b.deadline)?,
        signature: signature(&b.signature)?,
    };
    if g.categories.is_zero() {
        return Err(ApiError::bad_request(
            "categories is 0: a grant must cover at least one category",
        )
        .at("categories"));
    }
    Ok(Json(state.chain.relay_grant(&g).await?.into()))
}

/// Relay a resident's EIP-712 signed revocation to the contract (`revokeConsentBySig`).
#[utoipa::path(post, path = "/v1/consents/revoke", tag = "consent", request_body = RevokeBody,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "included on chain", body = Relayed),
        (status = 400, description = "a field is malformed"),
        (status = 403, description = "not this resident nor an admin"),
        (status = 422, description = "refused: wrong signer, used nonce, nothing to revoke, …"),
        (status = 503, description = "the chain cannot be reached"),
    ))]
async fn revoke(
    State(state): State<AppState>,
    principal: Principal,
    Json(b): Json<RevokeBody>,
) -> ApiResult<Json<Relayed>> {
    let pseudonym = pseudonym(&b.pseudonym)?;
    allow(&principal, Op::RelayConsent(&pseudonym.0))?;
    let r = SignedRevoke {
        pseudonym,
        grantee: address("grantee", &b.grantee)?,
        purpose: purpose(&b.purpose)?,
        nonce: uint("nonce", &b.nonce)?,
        deadline: uint("deadline", &b.deadline)?,
        signature: signature(&b.signature)?,
    };
    Ok(Json(state.chain.relay_revoke(&r).await?.into()))
}

/// The wallet bound to a resident on chain.
#[utoipa::path(get, path = "/v1/residents/{resident}/wallet", tag = "consent",
    security(("bearer" = [])),
    params(("resident" = String, Path, description = "Patient id or 64-hex pseudonym")),
    responses(
        (status = 200, description = "the binding (wallet null when unbound)", body = WalletAnswer),
        (status = 403, description = "not allowed"),
        (status = 503, description = "the chain cannot be reached"),
    ))]
async fn wallet(
    State(state): State<AppState>,
    access: Access,
    Path(resident): Path<String>,
) -> ApiResult<Json<WalletAnswer>> {
    let r = readable(&state, &access.principal, &resident)?;
    audit_read(
        &state,
        &access,
        &r,
        &format!("/v1/residents/{resident}/wallet"),
    )
    .await?;
    let wallet = state.chain.resident_wallet(&r.pseudonym).await?;
    Ok(Json(WalletAnswer {
        resident: r.hex(),
        wallet: wallet.map(|w| w.to_checksum(None)),
        tx_hash: None,
        block_number: None,
    }))
}

/// Bind a resident's wallet on chain (`bindResident`), after an in-person identity check.
/// Admin staff only; a resident is bound once (moving it is the resident's own transaction).
#[utoipa::path(post, path = "/v1/residents/{resident}/wallet", tag = "consent",
    request_body = WalletBody, security(("bearer" = [])),
    params(("resident" = String, Path, description = "Patient id or 64-hex pseudonym")),
    responses(
        (status = 200, description = "bound", body = WalletAnswer),
        (status = 400, description = "not an address"),
        (status = 403, description = "not an admin"),
        (status = 409, description = "already bound"),
        (status = 422, description = "refused by the contract"),
        (status = 503, description = "the chain cannot be reached"),
    ))]
async fn bind(
    State(state): State<AppState>,
    principal: Principal,
    Path(resident): Path<String>,
    Json(b): Json<WalletBody>,
) -> ApiResult<Json<WalletAnswer>> {
    allow(&principal, Op::BindWallet)?;
    let r = resolve(&state, &resident)?;
    let wallet = address("address", &b.address)?;
    if wallet.is_zero() {
        return Err(ApiError::bad_request("address is the zero address").at("address"));
    }
    if let Some(w) = state.chain.resident_wallet(&r.pseudonym).await? {
        return Err(ApiError::conflict(format!(
            "resident {} is already bound to {}; only that wallet can move the binding",
            r.hex(),
            w.to_checksum(None)
        )));
    }
    let tx = state.chain.bind_resident(&r.pseudonym, wallet).await?;
    Ok(Json(WalletAnswer {
        resident: r.hex(),
        wallet: Some(wallet.to_checksum(None)),
        tx_hash: Some(tx.tx_hash),
        block_number: Some(tx.block_number),
    }))
}

fn pseudonym(s: &str) -> ApiResult<B256> {
    let h = s.trim().trim_start_matches("0x");
    let mut out = [0u8; 32];
    if h.len() != 64 || hex::decode_to_slice(h, &mut out).is_err() {
        return Err(
            ApiError::bad_request(format!("pseudonym '{s}' is not 64 hex digits")).at("pseudonym"),
        );
    }
    Ok(B256::from(out))
}

fn address(field: &str, s: &str) -> ApiResult<Address> {
    s.trim()
        .parse()
        .map_err(|_| ApiError::bad_request(format!("{field} '{s}' is not an address")).at(field))
}

/// A purpose code as `bytes32`: ASCII right-padded with zeros, or 0x + 64 hex as is.
pub fn purpose(s: &str) -> ApiResult<B256> {
    let s = s.trim();
    if let Some(h) = s.strip_prefix("0x")
        && h.len() == 64
    {
        let mut out = [0u8; 32];
        hex::decode_to_slice(h, &mut out).map_err(|_| {
            ApiError::bad_request(format!("purpose '{s}' is not hex")).at("purpose")
        })?;
        return Ok(B256::from(out));
    }
    if s.is_empty() || s.len() > 32 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(ApiError::bad_request(format!(
            "purpose '{s}' must be a code of 1 to 32 ASCII characters (e.g. TREAT) or 0x + 64 hex"
        ))
        .at("purpose"));
    }
    let mut out = [0u8; 32];
    out[..s.len()].copy_from_slice(s.as_bytes());
    Ok(B256::from(out))
}

/// A uint256 from a JSON number or a decimal or 0x-hex string.
fn uint(field: &str, v: &Value) -> ApiResult<U256> {
    let bad = || {
        ApiError::bad_request(format!(
            "{field} must be a non-negative integer (number, decimal or 0x-hex string), found {v}"
        ))
        .at(field)
    };
    match v {
        Value::Number(n) => n.to_string().parse::<U256>().map_err(|_| bad()),
        Value::String(s) => {
            let s = s.trim();
            match s.strip_prefix("0x") {
                Some(h) => U256::from_str_radix(h, 16).map_err(|_| bad()),
                None => U256::from_str_radix(s, 10).map_err(|_| bad()),
            }
        }
        _ => Err(bad()),
    }
}

fn signature(s: &str) -> ApiResult<Bytes> {
    let bytes = hex::decode(s.trim().trim_start_matches("0x"))
        .map_err(|_| ApiError::bad_request("signature is not hex").at("signature"))?;
    if bytes.len() != 65 {
        return Err(ApiError::bad_request(format!(
            "signature has {} bytes; a wallet signature has 65 (r, s, v)",
            bytes.len()
        ))
        .at("signature"));
    }
    Ok(Bytes::from(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_are_right_padded_codes() {
        let p = purpose("TREAT").expect("code");
        assert_eq!(&p[..5], b"TREAT");
        assert!(p[5..].iter().all(|b| *b == 0));
        let raw = format!("0x{}", "07".repeat(32));
        assert_eq!(purpose(&raw).expect("hex"), B256::from([7u8; 32]));
        assert!(purpose("").is_err());
        assert!(purpose("TWO WORDS").is_err());
        assert!(purpose(&"X".repeat(33)).is_err());
    }

    #[test]
    fn integers_from_numbers_and_strings() {
        assert_eq!(uint("c", &json!(5)).expect("n"), U256::from(5));
        assert_eq!(uint("c", &json!("0x10")).expect("hex"), U256::from(16));
        assert_eq!(uint("c", &json!("12")).expect("dec"), U256::from(12));
        assert!(uint("c", &json!(-1)).is_err());
        assert!(uint("c", &json!(1.5)).is_err());
        assert!(uint("c", &json!("ten")).is_err());
        assert!(uint("c", &json!([1])).is_err());
    }
}
