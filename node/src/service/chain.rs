//! The node's one way to the chain. The embedded chain lives in this process for the node's
//! lifetime (its file can be opened once); a remote chain is connected on first use and
//! reconnected after a failure, so an RPC outage at start-up is just another retry.

use std::sync::Arc;

use alloy::primitives::{Address, B256, U256};
use anyhow::Result;
use hl_api::ports::{
    AnchorInfo, ChainInfo, ConsentInfo, PortError, PortResult, SignedGrant, SignedRevoke, TxInfo,
};
use hl_devchain::RpcService;
use hl_ledger::pseudonym::Pseudonym;

use crate::chain::state::AnchorState;
use crate::chain::{Chain, embedded, open_configured};
use crate::config::Node;

pub struct ChainAccess {
    node: Arc<Node>,
    embedded: Option<Arc<Chain>>,
    remote: tokio::sync::Mutex<Option<Arc<Chain>>>,
    /// What this node has anchored (`anchors.redb`), shared by anchoring and the API.
    pub anchors: Arc<AnchorState>,
}

impl ChainAccess {
    /// Opens the embedded chain when no RPC endpoint is configured; returns its JSON-RPC
    /// service too, for serving it on loopback.
    pub async fn open(node: Arc<Node>) -> Result<(Self, Option<RpcService>)> {
        let anchors = Arc::new(AnchorState::open(&node.data_dir)?);
        let (embedded, service) = match node.config.chain.rpc {
            Some(_) => (None, None),
            None => {
                let (chain, service) = embedded::open(&node).await?;
                (Some(Arc::new(chain)), Some(service))
            }
        };
        Ok((
            Self {
                node,
                embedded,
                remote: tokio::sync::Mutex::new(None),
                anchors,
            },
            service,
        ))
    }

    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The contract, connected.
    pub async fn get(&self) -> Result<Arc<Chain>> {
        if let Some(c) = &self.embedded {
            return Ok(c.clone());
        }
        let mut remote = self.remote.lock().await;
        if let Some(c) = remote.as_ref() {
            return Ok(c.clone());
        }
        let (chain, _) = open_configured(&self.node, None, None).await?;
        let chain = Arc::new(chain);
        *remote = Some(chain.clone());
        Ok(chain)
    }

    /// Forgets a remote connection after a failure so the next call reconnects.
    pub async fn reset(&self) {
        if self.embedded.is_none() {
            *self.remote.lock().await = None;
        }
    }
}

/// The chain as the HTTP API reaches it.
pub struct ChainPort {
    access: Arc<ChainAccess>,
}

impl ChainPort {
    pub fn new(access: Arc<ChainAccess>) -> Self {
        Self { access }
    }
}

fn unavailable(e: anyhow::Error) -> PortError {
    PortError::Unavailable(format!("chain: {e:#}"))
}

#[async_trait::async_trait]
impl hl_api::ports::Chain for ChainPort {
    fn info(&self) -> ChainInfo {
        let cfg = &self.access.node().config.chain;
        ChainInfo {
            chain_id: cfg.chain_id,
            contract: cfg.contract.clone(),
            member: None,
        }
    }

    async fn anchors(&self) -> PortResult<Vec<AnchorInfo>> {
        let last = self.access.anchors.last().map_err(unavailable)?;
        Ok(last
            .into_iter()
            .map(|r| AnchorInfo {
                size: r.size,
                root: r.root,
                tx_hash: r.tx_hash,
                block_number: r.block_number,
                block_hash: r.block_hash,
                gas_used: r.gas_used,
                confirmed_at: r.confirmed_at,
            })
            .collect())
    }

    async fn anchored_size(&self) -> PortResult<Option<u64>> {
        Ok(self
            .access
            .anchors
            .last()
            .map_err(unavailable)?
            .map(|r| r.size))
    }

    async fn resident_wallet(&self, _: &Pseudonym) -> PortResult<Option<Address>> {
        Err(not_yet())
    }
    async fn bind_resident(&self, _: &Pseudonym, _: Address) -> PortResult<TxInfo> {
        Err(not_yet())
    }
    async fn is_regulator(&self, _: Address) -> PortResult<bool> {
        Err(not_yet())
    }
    async fn consents(&self, _: &Pseudonym) -> PortResult<Vec<ConsentInfo>> {
        Err(not_yet())
    }
    async fn consent_nonce(&self, _: &Pseudonym) -> PortResult<U256> {
        Err(not_yet())
    }
    async fn relay_grant(&self, _: &SignedGrant) -> PortResult<TxInfo> {
        Err(not_yet())
    }
    async fn relay_revoke(&self, _: &SignedRevoke) -> PortResult<TxInfo> {
        Err(not_yet())
    }
    async fn record_emergency_access(&self, _: &Pseudonym, _: B256) -> PortResult<TxInfo> {
        Err(not_yet())
    }
}

// Placeholder while the consent routes are being built in this issue.
fn not_yet() -> PortError {
    PortError::NotConfigured("not wired yet".into())
}
