//! What record fetch needs from the chain, behind [`FetchChain`]: the node reads the contract
//! ([`NodeChain`]); in-process tests use [`MemoryChain`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use alloy::primitives::{Address, B256};
use hl_api::ports::Chain as _;
use hl_ledger::merkle::Hash;

use super::{FetchError, purpose_code};
use crate::service::chain::{ChainAccess, ChainPort};

/// A member as the contract registers it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInfo {
    pub address: Address,
    /// Its Ed25519 log key (= its peer id).
    pub key: [u8; 32],
    /// The origin line of its log.
    pub origin: String,
    pub name: String,
    /// Registered and not suspended.
    pub active: bool,
}

#[async_trait::async_trait]
pub trait FetchChain: Send + Sync + 'static {
    /// The member registered with this Ed25519 key (active or not), if any.
    async fn member_by_key(&self, key: &[u8; 32]) -> Result<Option<MemberInfo>, FetchError>;

    /// The contract's `isPermitted(resident, grantee, category, purpose)`.
    async fn is_permitted(
        &self,
        resident: &[u8; 32],
        grantee: Address,
        category: u8,
        purpose: B256,
    ) -> Result<bool, FetchError>;

    /// The member's latest anchored head (size, root), if it anchored any.
    async fn anchored_head(&self, member: Address) -> Result<Option<(u64, Hash)>, FetchError>;

    /// Emits `EmergencyAccess(resident, this node, reason_hash)` and waits until it is mined.
    async fn record_emergency_access(
        &self,
        resident: &[u8; 32],
        reason_hash: B256,
    ) -> Result<(), FetchError>;
}

/// The HealthLedger contract, through the node's chain connection.
pub struct NodeChain {
    access: Arc<ChainAccess>,
    /// Transactions go through the API's port: it serialises them and retries nonce clashes.
    port: ChainPort,
}

impl NodeChain {
    pub fn new(access: Arc<ChainAccess>) -> Self {
        Self {
            port: ChainPort::new(access.clone()),
            access,
        }
    }

    async fn contract(&self) -> Result<Arc<crate::chain::Chain>, FetchError> {
        self.access
            .get()
            .await
            .map_err(|e| FetchError::Chain(format!("{e:#}")))
    }

    async fn failed(&self, what: &str, e: impl std::fmt::Display) -> FetchError {
        self.access.reset().await;
        FetchError::Chain(format!("{what}: {e}"))
    }
}

#[async_trait::async_trait]
impl FetchChain for NodeChain {
    async fn member_by_key(&self, key: &[u8; 32]) -> Result<Option<MemberInfo>, FetchError> {
        let chain = self.contract().await?;
        let address = match chain.contract.memberByKey(B256::from(*key)).call().await {
            Ok(a) => a,
            Err(e) => return Err(self.failed("reading memberByKey", e).await),
        };
        if address.is_zero() {
            return Ok(None);
        }
        let inst = match chain.contract.institution(address).call().await {
            Ok(i) => i,
            Err(e) => return Err(self.failed("reading institution", e).await),
        };
        Ok(Some(MemberInfo {
            address,
            key: inst.ed25519Key.0,
            origin: inst.origin,
            name: inst.name,
            // Status: 0 none, 1 active, 2 suspended.
            active: inst.status == 1,
        }))
    }

    async fn is_permitted(
        &self,
        resident: &[u8; 32],
        grantee: Address,
        category: u8,
        purpose: B256,
    ) -> Result<bool, FetchError> {
        let chain = self.contract().await?;
        let call = chain
            .contract
            .isPermitted(B256::from(*resident), grantee, category, purpose);
        match call.call().await {
            Ok(b) => Ok(b),
            Err(e) => Err(self.failed("reading isPermitted", e).await),
        }
    }

    async fn anchored_head(&self, member: Address) -> Result<Option<(u64, Hash)>, FetchError> {
        let chain = self.contract().await?;
        match chain.contract.latestHead(member).call().await {
            // Size 0 is the contract's "no head".
            Ok(h) if h.size == 0 => Ok(None),
            Ok(h) => Ok(Some((h.size, h.root.0))),
            Err(e) => Err(self.failed("reading latestHead", e).await),
        }
    }

    async fn record_emergency_access(
        &self,
        resident: &[u8; 32],
        reason_hash: B256,
    ) -> Result<(), FetchError> {
        self.port
            .record_emergency_access(resident, reason_hash)
            .await
            .map(|_| ())
            .map_err(|e| FetchError::Chain(e.to_string()))
    }
}

/// A chain kept in memory: members, grants, anchored heads and emergency accesses set by hand.
#[derive(Default)]
pub struct MemoryChain {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    members: Vec<MemberInfo>,
    grants: HashMap<([u8; 32], Address, B256), Grant>,
    heads: HashMap<Address, (u64, Hash)>,
    emergencies: Vec<([u8; 32], B256)>,
    emergency_fails: bool,
}

#[derive(Debug, Clone, Copy)]
struct Grant {
    mask: u32,
    expiry: u64,
    revoked: bool,
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl MemoryChain {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub fn add_member(&self, m: MemberInfo) {
        let mut i = self.lock();
        i.members.retain(|x| x.address != m.address);
        i.members.push(m);
    }

    pub fn set_active(&self, member: Address, active: bool) {
        for m in self
            .lock()
            .members
            .iter_mut()
            .filter(|m| m.address == member)
        {
            m.active = active;
        }
    }

    /// Grants (or replaces) consent, as `grantConsent` does; `expiry` in Unix seconds.
    pub fn grant(
        &self,
        resident: [u8; 32],
        grantee: Address,
        mask: u32,
        purpose: &str,
        expiry: u64,
    ) -> Result<(), FetchError> {
        let p = purpose_code(purpose)?;
        self.lock().grants.insert(
            (resident, grantee, p),
            Grant {
                mask,
                expiry,
                revoked: false,
            },
        );
        Ok(())
    }

    pub fn revoke(&self, resident: [u8; 32], grantee: Address, purpose: &str) {
        if let Ok(p) = purpose_code(purpose)
            && let Some(g) = self.lock().grants.get_mut(&(resident, grantee, p))
        {
            g.revoked = true;
        }
    }

    pub fn set_anchored(&self, member: Address, size: u64, root: Hash) {
        self.lock().heads.insert(member, (size, root));
    }

    /// Emergency accesses recorded so far: (resident, reason hash).
    pub fn emergencies(&self) -> Vec<([u8; 32], B256)> {
        self.lock().emergencies.clone()
    }

    /// Makes `record_emergency_access` fail (an RPC outage), or work again.
    pub fn fail_emergency_access(&self, fail: bool) {
        self.lock().emergency_fails = fail;
    }
}

#[async_trait::async_trait]
impl FetchChain for MemoryChain {
    async fn member_by_key(&self, key: &[u8; 32]) -> Result<Option<MemberInfo>, FetchError> {
        Ok(self.lock().members.iter().find(|m| &m.key == key).cloned())
    }

    async fn is_permitted(
        &self,
        resident: &[u8; 32],
        grantee: Address,
        category: u8,
        purpose: B256,
    ) -> Result<bool, FetchError> {
        let i = self.lock();
        let Some(g) = i.grants.get(&(*resident, grantee, purpose)) else {
            return Ok(false);
        };
        let suspended = i.members.iter().any(|m| m.address == grantee && !m.active);
        Ok(!g.revoked
            && now_secs() < g.expiry
            && category < 32
            && g.mask & (1 << category) != 0
            && !suspended)
    }

    async fn anchored_head(&self, member: Address) -> Result<Option<(u64, Hash)>, FetchError> {
        Ok(self.lock().heads.get(&member).copied())
    }

    async fn record_emergency_access(
        &self,
        resident: &[u8; 32],
        reason_hash: B256,
    ) -> Result<(), FetchError> {
        let mut i = self.lock();
        if i.emergency_fails {
            return Err(FetchError::Chain("the chain is unreachable".into()));
        }
        i.emergencies.push((*resident, reason_hash));
        Ok(())
    }
}
