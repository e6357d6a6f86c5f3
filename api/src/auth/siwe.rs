//! Sign-In with Ethereum (EIP-4361) for residents and regulators: the node hands out a nonce,
//! the wallet signs a message naming this node, the nonce and (for a resident) the resident,
//! and the node answers with a short-lived session token (`hls_…`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use alloy_primitives::{Address, Signature};
use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::Principal;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

#[path = "siwe_message.rs"]
pub mod message;

use message::SiweMessage;

pub const SESSION_PREFIX: &str = "hls_";
/// The resource a resident's sign-in names: `urn:healthledger:resident:<64-hex pseudonym>`.
pub const RESIDENT_URN: &str = "urn:healthledger:resident:";
/// How far in the future an `Issued At` may lie (wallet clocks drift).
const CLOCK_SKEW: time::Duration = time::Duration::minutes(5);

/// A signed-in resident or regulator.
#[derive(Debug, Clone)]
pub struct Session {
    pub principal: Principal,
    pub expires: Instant,
    pub expires_at: OffsetDateTime,
    /// When the chain last confirmed the principal (sign-in or a later re-check).
    pub checked: Instant,
}

/// Outstanding nonces and live sessions, in memory: a restart signs everyone out.
#[derive(Debug, Default)]
pub struct Sessions {
    /// Keyed by the SHA-256 of the session token.
    sessions: Mutex<HashMap<String, Session>>,
    nonces: Mutex<HashMap<String, Instant>>,
}

impl Sessions {
    /// The live session of a token, or why not.
    pub fn session(&self, token: &str) -> Result<Session, &'static str> {
        let key = super::tokens::hash(token);
        let mut map = self.sessions.lock().map_err(|_| "session store poisoned")?;
        match map.get(&key) {
            None => Err("unknown session token: sign in again"),
            Some(s) if s.expires <= Instant::now() => {
                map.remove(&key);
                Err("session expired: sign in again")
            }
            Some(s) => Ok(s.clone()),
        }
    }

    /// Starts a session for `principal`; returns the token and when it ends.
    pub fn start(&self, principal: Principal, ttl: Duration) -> (String, OffsetDateTime) {
        use base64::Engine;
        let bytes: [u8; 32] = rand::random();
        let token = format!(
            "{SESSION_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        );
        let now = Instant::now();
        let expires_at = OffsetDateTime::now_utc() + ttl;
        if let Ok(mut map) = self.sessions.lock() {
            map.retain(|_, s| s.expires > now);
            map.insert(
                super::tokens::hash(&token),
                Session {
                    principal,
                    expires: now + ttl,
                    expires_at,
                    checked: now,
                },
            );
        }
        (token, expires_at)
    }

    /// Records that the chain confirmed the session's principal now.
    pub fn confirmed(&self, token: &str) {
        let key = super::tokens::hash(token);
        if let Ok(mut map) = self.sessions.lock()
            && let Some(s) = map.get_mut(&key)
        {
            s.checked = Instant::now();
        }
    }

    /// Ends a session (its principal no longer holds on chain).
    pub fn end(&self, token: &str) {
        let key = super::tokens::hash(token);
        if let Ok(mut map) = self.sessions.lock() {
            map.remove(&key);
        }
    }

    /// A fresh nonce valid for `ttl`.
    pub fn nonce(&self, ttl: Duration) -> String {
        let bytes: [u8; 12] = rand::random();
        let nonce = hex::encode(bytes);
        let now = Instant::now();
        if let Ok(mut map) = self.nonces.lock() {
            map.retain(|_, exp| *exp > now);
            map.insert(nonce.clone(), now + ttl);
        }
        nonce
    }

    /// Uses up a nonce; false if unknown or expired.
    pub fn take_nonce(&self, nonce: &str) -> bool {
        let now = Instant::now();
        self.nonces
            .lock()
            .ok()
            .and_then(|mut m| m.remove(nonce))
            .is_some_and(|exp| exp > now)
    }
}

#[derive(utoipa::OpenApi)]
#[openapi(
    paths(nonce, sign_in, session),
    components(schemas(NonceAnswer, SignIn, SessionAnswer, WhoAmI))
)]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v1/auth/nonce", get(nonce))
        .route("/v1/auth/siwe", post(sign_in))
        .route("/v1/auth/session", get(session))
}

/// What a wallet needs to write the message.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct NonceAnswer {
    /// Put in the message's `Nonce:` line; usable once, until `expiresAt`.
    pub nonce: String,
    /// The message's domain (first line): this node's host and port.
    pub domain: String,
    /// A suitable `URI:` line: this node's base URL.
    pub uri: String,
    /// The message's `Chain ID:` line: the consortium chain's id.
    pub chain_id: u64,
    /// RFC 3339.
    pub expires_at: String,
}

/// A signed EIP-4361 message.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// The EIP-4361 message text exactly as the wallet signed it.
    pub message: String,
    /// 0x-hex 65-byte EIP-191 `personal_sign` signature of `message`.
    pub signature: String,
}

#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionAnswer {
    /// Send as `Authorization: Bearer <token>`.
    pub token: String,
    /// RFC 3339.
    pub expires_at: String,
    /// `resident` or `regulator`.
    pub role: String,
    pub address: String,
    /// Hex pseudonym of the resident, for a resident session.
    pub resident: Option<String>,
}

/// Who the bearer is.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhoAmI {
    /// ingest, clinician, admin, auditor, resident or regulator.
    pub role: String,
    /// As access logs name the caller.
    pub who: String,
    pub address: Option<String>,
    pub resident: Option<String>,
    /// RFC 3339 end of a SIWE session; none for a staff token.
    pub expires_at: Option<String>,
}

/// `host[:port]` of a base URL.
pub fn authority(base_url: &str) -> &str {
    let rest = base_url
        .split_once("://")
        .map_or(base_url, |(_, rest)| rest);
    rest.split(['/', '?', '#']).next().unwrap_or(rest)
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// A sign-in nonce and the values the message must carry.
#[utoipa::path(get, path = "/v1/auth/nonce", tag = "auth",
    responses((status = 200, description = "a fresh nonce", body = NonceAnswer)))]
async fn nonce(State(state): State<AppState>) -> Json<NonceAnswer> {
    let ttl = Duration::from_secs(state.config.nonce_ttl_secs.max(1));
    let nonce = state.sessions.nonce(ttl);
    Json(NonceAnswer {
        nonce,
        domain: authority(&state.base_url).to_owned(),
        uri: state.base_url.clone(),
        chain_id: state.chain.info().chain_id,
        expires_at: rfc3339(OffsetDateTime::now_utc() + ttl),
    })
}

/// Sign in with Ethereum (EIP-4361).
///
/// The message must name this node's domain and chain id, a nonce from `/v1/auth/nonce`
/// (used once), and be signed (EIP-191 `personal_sign`) by its address. A resident names
/// themselves in `Resources` with `urn:healthledger:resident:<64-hex pseudonym>` or a
/// `Patient/<id>` reference and must sign with the wallet bound to them on chain; without such
/// a resource the address must be a regulator listed by the contract.
#[utoipa::path(post, path = "/v1/auth/siwe", tag = "auth", request_body = SignIn,
    responses(
        (status = 200, description = "signed in", body = SessionAnswer),
        (status = 400, description = "the message is not EIP-4361"),
        (status = 401, description = "wrong domain, chain, nonce, time or signature"),
        (status = 403, description = "not the resident's bound wallet, or not a regulator"),
        (status = 503, description = "the chain cannot be reached"),
    ))]
async fn sign_in(
    State(state): State<AppState>,
    Json(body): Json<SignIn>,
) -> ApiResult<Json<SessionAnswer>> {
    let msg: SiweMessage = body
        .message
        .parse()
        .map_err(|e: message::ParseError| ApiError::bad_request(e.to_string()))?;
    let ours = authority(&state.base_url);
    if msg.domain != ours {
        return Err(ApiError::unauthenticated(format!(
            "the message signs in to domain '{}', this node is '{ours}'",
            msg.domain
        )));
    }
    let chain_id = state.chain.info().chain_id;
    if msg.chain_id != chain_id {
        return Err(ApiError::unauthenticated(format!(
            "the message names chain id {}, this node's chain is {chain_id}",
            msg.chain_id
        )));
    }
    let now = OffsetDateTime::now_utc();
    if let Some(exp) = &msg.expiration_time
        && exp.at <= now
    {
        return Err(ApiError::unauthenticated(format!(
            "the message expired at {}",
            exp.text
        )));
    }
    if let Some(nbf) = &msg.not_before
        && nbf.at > now
    {
        return Err(ApiError::unauthenticated(format!(
            "the message is not valid before {}",
            nbf.text
        )));
    }
    if msg.issued_at.at > now + CLOCK_SKEW {
        return Err(ApiError::unauthenticated(format!(
            "the message is issued in the future ({})",
            msg.issued_at.text
        )));
    }
    let signer = recover(&body.message, &body.signature)?;
    if signer != msg.address {
        return Err(ApiError::unauthenticated(format!(
            "the signature is not by {} (it recovers to {signer})",
            msg.address
        )));
    }
    // Only after the signature holds, so that nobody can burn another wallet's nonce.
    if !state.sessions.take_nonce(&msg.nonce) {
        return Err(ApiError::unauthenticated(format!(
            "nonce '{}' is unknown, expired or already used: get a new one from /v1/auth/nonce",
            msg.nonce
        )));
    }
    let principal = match resident_of(&state, &msg.resources)? {
        Some(resident) => {
            let bound = state.chain.resident_wallet(&resident.pseudonym).await?;
            match bound {
                Some(w) if w == msg.address => Principal::Resident {
                    address: msg.address,
                    pseudonym: resident.pseudonym,
                },
                Some(_) => {
                    return Err(ApiError::forbidden(format!(
                        "{} is not the wallet bound to resident {}",
                        msg.address,
                        resident.hex()
                    )));
                }
                None => {
                    return Err(ApiError::forbidden(format!(
                        "resident {} has no bound wallet: an institution must bind it first",
                        resident.hex()
                    )));
                }
            }
        }
        None => {
            if !state.chain.is_regulator(msg.address).await? {
                return Err(ApiError::forbidden(format!(
                    "{} is not a regulator on the consortium chain; a resident names themselves in Resources ({RESIDENT_URN}<pseudonym> or Patient/<id>)",
                    msg.address
                )));
            }
            Principal::Regulator {
                address: msg.address,
            }
        }
    };
    let ttl = Duration::from_secs(state.config.session_ttl_secs.max(1));
    let role = principal.role_name().to_owned();
    let resident = match &principal {
        Principal::Resident { pseudonym, .. } => Some(hex::encode(pseudonym)),
        _ => None,
    };
    let (token, expires_at) = state.sessions.start(principal, ttl);
    Ok(Json(SessionAnswer {
        token,
        expires_at: rfc3339(expires_at),
        role,
        address: msg.address.to_checksum(None),
        resident,
    }))
}

/// The address that signed `message` (EIP-191 personal_sign).
fn recover(message: &str, signature: &str) -> ApiResult<Address> {
    let hex_sig = signature.trim().trim_start_matches("0x");
    let bytes =
        hex::decode(hex_sig).map_err(|_| ApiError::unauthenticated("the signature is not hex"))?;
    let sig = Signature::from_raw(&bytes).map_err(|e| {
        ApiError::unauthenticated(format!(
            "the signature is not a 65-byte wallet signature: {e}"
        ))
    })?;
    sig.recover_address_from_msg(message.as_bytes())
        .map_err(|e| {
            ApiError::unauthenticated(format!("the signature recovers to no address: {e}"))
        })
}

/// The resident a sign-in message names in its resources, if any.
fn resident_of(
    state: &AppState,
    resources: &[String],
) -> ApiResult<Option<crate::resident::Resident>> {
    let mut found: Option<crate::resident::Resident> = None;
    for r in resources {
        let named = if let Some(hex) = r.strip_prefix(RESIDENT_URN) {
            if !(hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())) {
                return Err(ApiError::bad_request(format!(
                    "resource '{r}' must end in a 64-hex resident pseudonym"
                )));
            }
            Some(hex.to_owned())
        } else if r.starts_with("Patient/") {
            Some(r.clone())
        } else {
            r.rsplit_once("/Patient/")
                .map(|(_, id)| format!("Patient/{id}"))
        };
        let Some(named) = named else { continue };
        let resident = crate::resident::resolve(state, &named)?;
        match &found {
            Some(f) if f.pseudonym != resident.pseudonym => {
                return Err(ApiError::bad_request(
                    "the message names more than one resident; sign in as one",
                ));
            }
            _ => found = Some(resident),
        }
    }
    Ok(found)
}

/// Who the bearer is (staff token or SIWE session).
#[utoipa::path(get, path = "/v1/auth/session", tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "the caller", body = WhoAmI),
        (status = 401, description = "no, unknown or expired token"),
    ))]
async fn session(
    State(state): State<AppState>,
    principal: Principal,
    headers: HeaderMap,
) -> Json<WhoAmI> {
    let token = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .map(|(_, t)| t.trim().to_owned())
        .unwrap_or_default();
    let expires_at = state
        .sessions
        .session(&token)
        .ok()
        .map(|s| rfc3339(s.expires_at));
    let (address, resident) = match &principal {
        Principal::Resident { address, pseudonym } => (
            Some(address.to_checksum(None)),
            Some(hex::encode(pseudonym)),
        ),
        Principal::Regulator { address } => (Some(address.to_checksum(None)), None),
        Principal::Staff { .. } => (None, None),
    };
    Json(WhoAmI {
        role: principal.role_name().to_owned(),
        who: principal.who(),
        address,
        resident,
        expires_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authority_of_base_urls() {
        assert_eq!(authority("http://127.0.0.1:8080"), "127.0.0.1:8080");
        assert_eq!(authority("https://node.example/api/"), "node.example");
        assert_eq!(authority("node.example:1"), "node.example:1");
    }

    #[test]
    fn nonces_are_used_once() {
        let s = Sessions::default();
        let n = s.nonce(Duration::from_secs(60));
        assert!(s.take_nonce(&n));
        assert!(!s.take_nonce(&n));
        assert!(!s.take_nonce("never-issued"));
    }
}
