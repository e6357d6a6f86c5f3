//! Sign-In with Ethereum (EIP-4361) for residents and regulators: the node hands out a nonce,
//! the wallet signs a message naming this node, the nonce and (for a resident) the resident,
//! and the node answers with a short-lived session token (`hls_…`).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::Principal;

pub const SESSION_PREFIX: &str = "hls_";

/// A signed-in resident or regulator.
#[derive(Debug, Clone)]
pub struct Session {
    pub principal: Principal,
    pub expires: Instant,
}

/// Outstanding nonces and live sessions, in memory: a restart signs everyone out.
#[derive(Debug, Default)]
pub struct Sessions {
    /// Keyed by the SHA-256 of the session token.
    sessions: Mutex<HashMap<String, Session>>,
    nonces: Mutex<HashMap<String, Instant>>,
}

impl Sessions {
    /// The principal of a live session token, or why not.
    pub fn lookup(&self, token: &str) -> Result<Principal, &'static str> {
        let key = super::tokens::hash(token);
        let mut map = self.sessions.lock().map_err(|_| "session store poisoned")?;
        match map.get(&key) {
            None => Err("unknown session token: sign in again"),
            Some(s) if s.expires <= Instant::now() => {
                map.remove(&key);
                Err("session expired: sign in again")
            }
            Some(s) => Ok(s.principal.clone()),
        }
    }

    /// Starts a session for `principal`; returns the token.
    pub fn start(&self, principal: Principal, ttl: Duration) -> String {
        use base64::Engine;
        let bytes: [u8; 32] = rand::random();
        let token = format!(
            "{SESSION_PREFIX}{}",
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
        );
        let now = Instant::now();
        if let Ok(mut map) = self.sessions.lock() {
            map.retain(|_, s| s.expires > now);
            map.insert(
                super::tokens::hash(&token),
                Session {
                    principal,
                    expires: now + ttl,
                },
            );
        }
        token
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
#[openapi(paths())]
pub struct Doc;

pub fn routes() -> axum::Router<crate::state::AppState> {
    axum::Router::new()
}
