//! The `[api]` section of the node's config file.

use serde::{Deserialize, Serialize};

use crate::auth::Role;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ApiConfig {
    /// Serve the API; off, the node runs without HTTP.
    pub enabled: bool,
    /// Address to listen on, `host:port`; port 0 picks a free one (printed at start).
    pub listen: String,
    /// Public base URL used in `next` links and `fullUrl`s; defaults to `http://<listen>`.
    pub base_url: Option<String>,
    /// Largest request body, bytes.
    pub max_body_bytes: usize,
    /// A request that takes longer is answered 503 (writes already queued still land).
    pub request_timeout_secs: u64,
    /// Lifetime of a Sign-In with Ethereum session, seconds.
    pub session_ttl_secs: u64,
    /// A session's resident wallet binding or regulator listing is asked of the chain again
    /// when this many seconds have passed since the last check (0: on every request), so that
    /// a rebinding or a regulator's removal ends the session within this time.
    pub session_recheck_secs: u64,
    /// Lifetime of a SIWE nonce, seconds.
    pub nonce_ttl_secs: u64,
    /// Default `_count` of searches and `$everything` pages, and the largest allowed.
    pub default_page_size: usize,
    pub max_page_size: usize,
    /// Staff bearer tokens, stored as SHA-256 hashes (`healthledger token create`).
    pub tokens: Vec<StaffToken>,
}

impl Default for ApiConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            listen: "127.0.0.1:8080".into(),
            base_url: None,
            max_body_bytes: 16 * 1024 * 1024,
            request_timeout_secs: 30,
            session_ttl_secs: 900,
            session_recheck_secs: 30,
            nonce_ttl_secs: 300,
            default_page_size: 100,
            max_page_size: 1000,
            tokens: Vec::new(),
        }
    }
}

/// One staff token: who holds it, what it may do, and the hex SHA-256 of the token text.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct StaffToken {
    pub name: String,
    pub role: Role,
    pub sha256: String,
}
