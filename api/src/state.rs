//! The state every handler shares.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hl_ledger::Ledger;
use hl_ledger::input::InputOptions;

use crate::auth::Principal;
use crate::auth::siwe::{SESSION_PREFIX, Sessions};
use crate::auth::tokens::{self, STAFF_PREFIX};
use crate::config::ApiConfig;
use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::ports::{Chain, Consortium, Qc};

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

/// What the node plugs into the API: the chain, the QC service and, in a consortium, the
/// network.
pub struct Ports {
    pub chain: Arc<dyn Chain>,
    pub qc: Arc<dyn Qc>,
    pub consortium: Option<Arc<dyn Consortium>>,
}

pub struct Inner {
    pub ledger: Arc<Ledger>,
    /// How bodies are validated, tied to residents and pseudonymised (the node's ingest
    /// settings), so HTTP ingest and file ingest accept the same input.
    pub input: InputOptions,
    pub config: ApiConfig,
    /// Public base URL, without a trailing slash.
    pub base_url: String,
    /// Name of this institution, for CapabilityStatement and audit records.
    pub institution: String,
    pub chain: Arc<dyn Chain>,
    pub qc: Arc<dyn Qc>,
    /// The consortium network; `None` when this node is not in one (`[network] enabled`).
    pub consortium: Option<Arc<dyn Consortium>>,
    pub sessions: Sessions,
    pub metrics: Metrics,
    ready: AtomicBool,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

impl AppState {
    pub fn new(
        ledger: Arc<Ledger>,
        input: InputOptions,
        config: ApiConfig,
        base_url: String,
        institution: String,
        ports: Ports,
    ) -> Self {
        let Ports {
            chain,
            qc,
            consortium,
        } = ports;
        Self(Arc::new(Inner {
            ledger,
            input,
            config,
            base_url: base_url.trim_end_matches('/').to_owned(),
            institution,
            chain,
            qc,
            consortium,
            sessions: Sessions::default(),
            metrics: Metrics::default(),
            ready: AtomicBool::new(false),
        }))
    }

    /// Marks the node ready (the log is open and the first QC pass is done) or not.
    pub fn set_ready(&self, ready: bool) {
        self.0.ready.store(ready, Ordering::Release);
    }

    pub fn is_ready(&self) -> bool {
        self.0.ready.load(Ordering::Acquire)
    }

    /// Asks the chain whether a session's principal still holds: the resident's wallet is
    /// still the one bound, the regulator still listed. Fails closed: if the chain cannot be
    /// asked, the request is refused with the chain's error and the session stays for later.
    async fn recheck(&self, token: &str, principal: &Principal) -> Result<(), ApiError> {
        let lapsed = match principal {
            Principal::Resident { address, pseudonym } => {
                match self.chain.resident_wallet(pseudonym).await? {
                    Some(w) if w == *address => None,
                    Some(w) => Some(format!(
                        "resident {} is now bound to wallet {w}, not {address}",
                        hex::encode(pseudonym)
                    )),
                    None => Some(format!(
                        "resident {} no longer has a bound wallet",
                        hex::encode(pseudonym)
                    )),
                }
            }
            Principal::Regulator { address } => (!self.chain.is_regulator(*address).await?)
                .then(|| format!("{address} is no longer a regulator on the consortium chain")),
            Principal::Staff { .. } => None,
        };
        match lapsed {
            None => {
                self.sessions.confirmed(token);
                Ok(())
            }
            Some(why) => {
                self.sessions.end(token);
                Err(ApiError::unauthenticated(format!(
                    "{why}: session ended, sign in again"
                )))
            }
        }
    }

    /// Resolves a bearer token to who holds it.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, ApiError> {
        if token.starts_with(STAFF_PREFIX) {
            let t = tokens::find(&self.config.tokens, token)
                .ok_or_else(|| ApiError::unauthenticated("unknown or revoked staff token"))?;
            Ok(Principal::Staff {
                name: t.name.clone(),
                role: t.role,
            })
        } else if token.starts_with(SESSION_PREFIX) {
            let session = self
                .sessions
                .session(token)
                .map_err(ApiError::unauthenticated)?;
            let every = Duration::from_secs(self.config.session_recheck_secs);
            if session.checked.elapsed() >= every {
                self.recheck(token, &session.principal).await?;
            }
            Ok(session.principal)
        } else {
            Err(ApiError::unauthenticated(
                "bearer token is neither a staff token (hlt_…) nor a session (hls_…)",
            ))
        }
    }
}
