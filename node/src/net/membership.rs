//! Who may connect: the Ed25519 keys of the consortium's active members. The swarm sees only
//! the [`Membership`] trait, so it runs (and is tested) without a chain; [`ChainMembership`]
//! reads the contract.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::B256;
use alloy::providers::Provider;
use tokio::sync::{Mutex, Notify};

use super::NetError;
use crate::service::chain::ChainAccess;

#[async_trait::async_trait]
pub trait Membership: Send + Sync + 'static {
    /// The Ed25519 public keys of the members active now.
    async fn active_keys(&self) -> Result<BTreeSet<[u8; 32]>, NetError>;

    /// Resolves when membership may have changed (an admission, suspension or reinstatement),
    /// so the allow-list is re-read without waiting for the periodic refresh.
    async fn changed(&self) -> Result<(), NetError>;
}

/// A membership set by hand: for tests, and for tools that know the members already.
#[derive(Default)]
pub struct FixedMembership {
    keys: std::sync::Mutex<BTreeSet<[u8; 32]>>,
    changed: Notify,
}

impl FixedMembership {
    pub fn new(keys: impl IntoIterator<Item = [u8; 32]>) -> Self {
        Self {
            keys: std::sync::Mutex::new(keys.into_iter().collect()),
            changed: Notify::new(),
        }
    }

    /// Replaces the members and tells the networks using this membership.
    pub fn set(&self, keys: impl IntoIterator<Item = [u8; 32]>) {
        *self.keys.lock().unwrap_or_else(|p| p.into_inner()) = keys.into_iter().collect();
        self.changed.notify_waiters();
    }

    pub fn remove(&self, key: &[u8; 32]) {
        self.keys
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
        self.changed.notify_waiters();
    }
}

#[async_trait::async_trait]
impl Membership for FixedMembership {
    async fn active_keys(&self) -> Result<BTreeSet<[u8; 32]>, NetError> {
        Ok(self.keys.lock().unwrap_or_else(|p| p.into_inner()).clone())
    }

    async fn changed(&self) -> Result<(), NetError> {
        self.changed.notified().await;
        Ok(())
    }
}

/// The members as the HealthLedger contract lists them.
pub struct ChainMembership {
    access: Arc<ChainAccess>,
    /// How often `changed` looks for new blocks.
    poll: Duration,
    /// The last block whose membership events are reflected in a read of the members (or were
    /// looked at by `changed`).
    seen: Mutex<Option<u64>>,
}

impl ChainMembership {
    pub fn new(access: Arc<ChainAccess>, poll: Duration) -> Self {
        Self {
            access,
            poll,
            seen: Mutex::new(None),
        }
    }

    async fn failed(&self, what: &str, e: impl std::fmt::Display) -> NetError {
        self.access.reset().await;
        NetError::Chain(format!("{what}: {e}"))
    }
}

#[async_trait::async_trait]
impl Membership for ChainMembership {
    async fn active_keys(&self) -> Result<BTreeSet<[u8; 32]>, NetError> {
        let chain = self
            .access
            .get()
            .await
            .map_err(|e| NetError::Chain(format!("{e:#}")))?;
        // Events up to here are reflected in this read (the views below read a later or the
        // same state), so `changed` need only look after it.
        let head = match chain.contract.provider().get_block_number().await {
            Ok(b) => b,
            Err(e) => return Err(self.failed("reading the block number", e).await),
        };
        // The contract keeps no list of members; every member was announced by an event, and
        // the views say whether its key still belongs to an active member.
        let registered = match chain
            .contract
            .InstitutionRegistered_filter()
            .from_block(0u64)
            .query()
            .await
        {
            Ok(r) => r,
            Err(e) => return Err(self.failed("reading InstitutionRegistered events", e).await),
        };
        let mut keys = BTreeSet::new();
        for (ev, _) in registered {
            let key: B256 = ev.ed25519Key;
            let member = match chain.contract.memberByKey(key).call().await {
                Ok(m) => m,
                Err(e) => return Err(self.failed("reading memberByKey", e).await),
            };
            if member.is_zero() {
                continue;
            }
            match chain.contract.isActiveMember(member).call().await {
                Ok(true) => {
                    keys.insert(key.0);
                }
                Ok(false) => {}
                Err(e) => return Err(self.failed("reading isActiveMember", e).await),
            }
        }
        let mut seen = self.seen.lock().await;
        if seen.is_none_or(|s| s < head) {
            *seen = Some(head);
        }
        Ok(keys)
    }

    async fn changed(&self) -> Result<(), NetError> {
        loop {
            tokio::time::sleep(self.poll).await;
            let chain = self
                .access
                .get()
                .await
                .map_err(|e| NetError::Chain(format!("{e:#}")))?;
            let head = match chain.contract.provider().get_block_number().await {
                Ok(b) => b,
                Err(e) => return Err(self.failed("reading the block number", e).await),
            };
            let mut seen = self.seen.lock().await;
            let Some(last) = *seen else {
                // Members never read yet: whatever happened, a read is due.
                *seen = Some(head);
                return Ok(());
            };
            if head <= last {
                continue;
            }
            let c = &chain.contract;
            let from = last + 1;
            let any = async {
                Ok::<_, alloy::contract::Error>(
                    !c.InstitutionSuspended_filter()
                        .from_block(from)
                        .to_block(head)
                        .query()
                        .await?
                        .is_empty()
                        || !c
                            .InstitutionReinstated_filter()
                            .from_block(from)
                            .to_block(head)
                            .query()
                            .await?
                            .is_empty()
                        || !c
                            .InstitutionRegistered_filter()
                            .from_block(from)
                            .to_block(head)
                            .query()
                            .await?
                            .is_empty(),
                )
            }
            .await;
            match any {
                Ok(changed) => {
                    *seen = Some(head);
                    if changed {
                        return Ok(());
                    }
                }
                Err(e) => return Err(self.failed("reading membership events", e).await),
            }
        }
    }
}
