//! The node's one way to the chain. The embedded chain lives in this process for the node's
//! lifetime (its file can be opened once); a remote chain is connected on first use and
//! reconnected after a failure, so an RPC outage at start-up is just another retry.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use alloy::primitives::{Address, B256, Signature, U256};
use alloy::providers::DynProvider;
use alloy::providers::Provider;
use alloy::rpc::types::TransactionReceipt;
use alloy::sol_types::SolStruct;
use anyhow::Result;
use hl_api::ports::{
    AnchorInfo, ChainInfo, ConsentInfo, PortError, PortResult, SignedGrant, SignedRevoke, TxInfo,
};
use hl_contracts::HealthLedger::{HealthLedgerErrors, HealthLedgerInstance};
use hl_devchain::RpcService;
use hl_ledger::pseudonym::Pseudonym;

use crate::chain::state::AnchorState;
use crate::chain::{Chain, embedded, open_configured, read_eth_key};
use crate::config::Node;

type Instance = HealthLedgerInstance<DynProvider>;

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
    /// What `info()` answers. For a remote chain the chain id comes from the chain itself,
    /// learnt on the first connection (until then, the configured id).
    info: Arc<RwLock<ChainInfo>>,
    chain_id_known: Arc<AtomicBool>,
    /// The port's own transactions go one at a time, so two relays never race for a nonce.
    send: tokio::sync::Mutex<()>,
}

impl ChainPort {
    pub fn new(access: Arc<ChainAccess>) -> Self {
        let cfg = &access.node().config.chain;
        let (contract, member, known) = match &access.embedded {
            Some(c) => (
                Some(c.contract.address().to_string()),
                Some(c.account.to_string()),
                true,
            ),
            None => (
                cfg.contract.clone(),
                read_eth_key(&access.node().path(&cfg.key_file))
                    .ok()
                    .map(|k| k.address().to_string()),
                false,
            ),
        };
        let port = Self {
            info: Arc::new(RwLock::new(ChainInfo {
                chain_id: cfg.chain_id,
                contract,
                member,
            })),
            chain_id_known: Arc::new(AtomicBool::new(known)),
            access,
            send: tokio::sync::Mutex::new(()),
        };
        // Learn a remote chain's id now, so SIWE messages name the right chain from the start.
        if !known && let Ok(rt) = tokio::runtime::Handle::try_current() {
            let (access, info, flag) = (
                port.access.clone(),
                port.info.clone(),
                port.chain_id_known.clone(),
            );
            rt.spawn(async move {
                if let Ok(chain) = access.get().await {
                    learn_chain_id(&chain, &info, &flag).await;
                }
            });
        }
        port
    }

    fn timeout(&self) -> Duration {
        Duration::from_secs(self.access.node().config.anchor.rpc_timeout_secs.max(1))
    }

    async fn chain(&self) -> PortResult<Arc<Chain>> {
        let chain = self.access.get().await.map_err(unavailable)?;
        if !self.chain_id_known.load(Ordering::Acquire) {
            learn_chain_id(&chain, &self.info, &self.chain_id_known).await;
        }
        Ok(chain)
    }

    /// A failed call: a revert is the contract's answer (422), anything else means the chain
    /// is not reachable now (503) and the connection is dropped so the next call reconnects.
    async fn failed(&self, what: &str, e: alloy::contract::Error) -> PortError {
        if let Some(reason) = e.as_decoded_interface_error::<HealthLedgerErrors>() {
            return PortError::Rejected(revert_reason(&reason));
        }
        if let Some(data) = e.as_revert_data() {
            return PortError::Rejected(format!("the contract refused {what}: revert data {data}"));
        }
        self.access.reset().await;
        PortError::Unavailable(format!("chain: {what}: {e}"))
    }

    /// Sends a transaction built by `build` and waits for its receipt (with the configured
    /// confirmations). A nonce clash with the anchoring task is retried.
    async fn transact<C, F>(&self, what: &str, build: F) -> PortResult<TxInfo>
    where
        C: alloy::sol_types::SolCall,
        F: for<'a> Fn(&'a Instance) -> alloy::contract::SolCallBuilder<&'a DynProvider, C>,
    {
        let _one_at_a_time = self.send.lock().await;
        let chain = self.chain().await?;
        let mut attempt = 0;
        let pending = loop {
            attempt += 1;
            let call = build(&chain.contract);
            let sent = tokio::time::timeout(self.timeout(), call.send()).await;
            match sent {
                Err(_) => {
                    return Err(PortError::Unavailable(format!(
                        "chain: sending {what} timed out"
                    )));
                }
                Ok(Ok(p)) => break p,
                Ok(Err(e)) => {
                    let nonce_clash = e.to_string().to_ascii_lowercase().contains("nonce");
                    if nonce_clash && attempt < 3 && e.as_revert_data().is_none() {
                        tokio::time::sleep(Duration::from_millis(200)).await;
                        continue;
                    }
                    return Err(self.failed(what, e).await);
                }
            }
        };
        let receipt = tokio::time::timeout(
            self.timeout(),
            pending
                .with_required_confirmations(chain.confirmations.max(1))
                .get_receipt(),
        )
        .await;
        let receipt = match receipt {
            Err(_) => {
                return Err(PortError::Unavailable(format!(
                    "chain: {what} was sent but not confirmed in time; it may still be mined"
                )));
            }
            Ok(Err(e)) => {
                self.access.reset().await;
                return Err(PortError::Unavailable(format!("chain: {what}: {e}")));
            }
            Ok(Ok(r)) => r,
        };
        tx_info(what, &receipt)
    }

    async fn bound_wallet(&self, chain: &Chain, pseudonym: B256) -> PortResult<Address> {
        let wallet = match chain.contract.residentWallet(pseudonym).call().await {
            Ok(w) => w,
            Err(e) => return Err(self.failed("reading residentWallet", e).await),
        };
        if wallet.is_zero() {
            return Err(PortError::Rejected(format!(
                "resident {} has no bound wallet: an institution must bind one first",
                hex::encode(pseudonym)
            )));
        }
        Ok(wallet)
    }

    /// Checks a consent signature as the contract will, for a clearer answer than a revert
    /// and without spending a transaction on a signature that cannot pass.
    async fn check_signature(
        &self,
        chain: &Chain,
        pseudonym: B256,
        nonce: U256,
        signature: &[u8],
        digest_of: impl FnOnce(&alloy::sol_types::Eip712Domain) -> B256,
    ) -> PortResult<()> {
        let wallet = self.bound_wallet(chain, pseudonym).await?;
        let next = match chain.contract.nonces(wallet).call().await {
            Ok(n) => n,
            Err(e) => return Err(self.failed("reading nonces", e).await),
        };
        if nonce != next {
            return Err(PortError::Rejected(format!(
                "signed nonce {nonce} is not the resident's next nonce {next} (already used, or signed for another message)"
            )));
        }
        if signature.len() != 65 {
            return Err(PortError::Rejected(format!(
                "signature has {} bytes; a wallet signature has 65 (r, s, v)",
                signature.len()
            )));
        }
        let sig = Signature::from_raw(signature)
            .map_err(|e| PortError::Rejected(format!("signature is malformed: {e}")))?;
        let chain_id = hl_api::ports::Chain::info(self).chain_id;
        let domain = hl_contracts::consent::domain(chain_id, *chain.contract.address());
        let signer = sig
            .recover_address_from_prehash(&digest_of(&domain))
            .map_err(|e| PortError::Rejected(format!("signature recovers to no address: {e}")))?;
        if signer != wallet {
            return Err(PortError::Rejected(format!(
                "signature is not by the resident's bound wallet: it was made by {signer}, the bound wallet is {wallet}"
            )));
        }
        Ok(())
    }
}

async fn learn_chain_id(chain: &Chain, info: &RwLock<ChainInfo>, known: &AtomicBool) {
    if let Ok(id) = chain.contract.provider().get_chain_id().await
        && let Ok(mut i) = info.write()
    {
        i.chain_id = id;
        i.contract = Some(chain.contract.address().to_string());
        i.member = Some(chain.account.to_string());
        known.store(true, Ordering::Release);
    }
}

fn unavailable(e: anyhow::Error) -> PortError {
    PortError::Unavailable(format!("chain: {e:#}"))
}

fn tx_info(what: &str, r: &TransactionReceipt) -> PortResult<TxInfo> {
    if !r.status() {
        return Err(PortError::Rejected(format!(
            "{what} reverted in transaction {}",
            r.transaction_hash
        )));
    }
    Ok(TxInfo {
        tx_hash: r.transaction_hash.to_string(),
        block_number: r.block_number.unwrap_or_default(),
    })
}

/// The contract's custom errors in words.
pub fn revert_reason(e: &HealthLedgerErrors) -> String {
    use HealthLedgerErrors as E;
    match e {
        E::WrongSigner(w) => format!(
            "signature is not by the resident's bound wallet: it was made by {}, the bound wallet is {}",
            w.signer, w.wallet
        ),
        E::SignatureExpired(d) => format!(
            "deadline passed: the signature was valid until {}",
            d.deadline
        ),
        E::InvalidSignatureLength(l) => format!("signature has {} bytes, not 65", l.length),
        E::InvalidSignatureS(_) => {
            "signature has a high s value (malleable); sign again with a standard wallet".into()
        }
        E::InvalidSignatureV(v) => format!("signature's v is {}, not 27 or 28", v.v),
        E::InvalidSignature(_) => "signature recovers to no address".into(),
        E::ResidentNotBound(r) => {
            format!("resident {} has no bound wallet", hex::encode(r.pseudonym))
        }
        E::ResidentAlreadyBound(r) => format!(
            "resident {} already has a bound wallet",
            hex::encode(r.pseudonym)
        ),
        E::NotResidentWallet(c) => format!("{} is not the resident's bound wallet", c.caller),
        E::NotActiveMember(c) => format!(
            "this node's account {} is not an active member of the consortium",
            c.caller
        ),
        E::NotGovernor(c) => format!("{} is not the consortium governor", c.caller),
        E::NoCategories(_) => "a grant must cover at least one category".into(),
        E::ExpiryNotInFuture(x) => format!("expiry {} is not in the future", x.expiry),
        E::NoActiveGrant(_) => {
            "there is no active grant for this grantee and purpose to revoke".into()
        }
        E::InvalidPseudonym(_) => "the resident pseudonym is zero".into(),
        E::ZeroAddress(_) => "an address is the zero address".into(),
        E::EmptyReason(_) => "an emergency access needs the hash of its reason".into(),
        other => format!("the contract refused: {other:?}"),
    }
}

/// A purpose code as the contract stores it: ASCII, right-padded with zero bytes to 32.
pub fn purpose_text(p: &B256) -> String {
    let end = p.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    let text = &p[..end];
    if !text.is_empty() && text.iter().all(|b| b.is_ascii_graphic()) {
        String::from_utf8_lossy(text).into_owned()
    } else {
        p.to_string()
    }
}

#[async_trait::async_trait]
impl hl_api::ports::Chain for ChainPort {
    fn info(&self) -> ChainInfo {
        match self.info.read() {
            Ok(i) => i.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    async fn anchors(&self) -> PortResult<Vec<AnchorInfo>> {
        let all = self.access.anchors.all().map_err(unavailable)?;
        Ok(all
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

    async fn resident_wallet(&self, pseudonym: &Pseudonym) -> PortResult<Option<Address>> {
        let chain = self.chain().await?;
        match chain
            .contract
            .residentWallet(B256::from(*pseudonym))
            .call()
            .await
        {
            Ok(w) => Ok((!w.is_zero()).then_some(w)),
            Err(e) => Err(self.failed("reading residentWallet", e).await),
        }
    }

    async fn bind_resident(&self, pseudonym: &Pseudonym, wallet: Address) -> PortResult<TxInfo> {
        let p = B256::from(*pseudonym);
        self.transact("bindResident", |c| c.bindResident(p, wallet))
            .await
    }

    async fn is_regulator(&self, account: Address) -> PortResult<bool> {
        let chain = self.chain().await?;
        match chain.contract.isRegulator(account).call().await {
            Ok(b) => Ok(b),
            Err(e) => Err(self.failed("reading isRegulator", e).await),
        }
    }

    async fn consents(&self, pseudonym: &Pseudonym) -> PortResult<Vec<ConsentInfo>> {
        let chain = self.chain().await?;
        let p = B256::from(*pseudonym);
        // The contract keeps no list of a resident's grants, only the grants themselves; the
        // events name every (grantee, purpose) ever granted, the views give their state now.
        let granted = chain
            .contract
            .ConsentGranted_filter()
            .topic1(p)
            .from_block(0u64)
            .query()
            .await;
        let granted = match granted {
            Ok(g) => g,
            Err(e) => return Err(self.failed("reading ConsentGranted events", e).await),
        };
        let revoked = chain
            .contract
            .ConsentRevoked_filter()
            .topic1(p)
            .from_block(0u64)
            .query()
            .await;
        let revoked = match revoked {
            Ok(r) => r,
            Err(e) => return Err(self.failed("reading ConsentRevoked events", e).await),
        };
        let mut changes: Vec<((u64, u64), Address, B256, Option<String>, Option<u64>)> = granted
            .iter()
            .map(|(ev, log)| (ev.grantee, ev.purpose, log))
            .chain(
                revoked
                    .iter()
                    .map(|(ev, log)| (ev.grantee, ev.purpose, log)),
            )
            .map(|(g, purpose, log)| {
                (
                    (
                        log.block_number.unwrap_or_default(),
                        log.log_index.unwrap_or_default(),
                    ),
                    g,
                    purpose,
                    log.transaction_hash.map(|h| h.to_string()),
                    log.block_number,
                )
            })
            .collect();
        changes.sort_by_key(|c| c.0);
        // First grant order, last change's transaction.
        let mut order: Vec<(Address, B256, Option<String>, Option<u64>)> = Vec::new();
        for (_, g, purpose, tx, block) in changes {
            match order.iter_mut().find(|o| o.0 == g && o.1 == purpose) {
                Some(o) => (o.2, o.3) = (tx, block),
                None => order.push((g, purpose, tx, block)),
            }
        }
        let now = match chain
            .contract
            .provider()
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await
        {
            Ok(Some(b)) => b.header.timestamp,
            Ok(None) => return Err(PortError::Unavailable("chain: no latest block".into())),
            Err(e) => {
                self.access.reset().await;
                return Err(PortError::Unavailable(format!(
                    "chain: reading the latest block: {e}"
                )));
            }
        };
        let mut out = Vec::with_capacity(order.len());
        for (grantee, purpose, tx_hash, block_number) in order {
            let state = match chain.contract.consent(p, grantee, purpose).call().await {
                Ok(s) => s,
                Err(e) => return Err(self.failed("reading consent", e).await),
            };
            let inst = match chain.contract.institution(grantee).call().await {
                Ok(i) => i,
                Err(e) => return Err(self.failed("reading institution", e).await),
            };
            // Status: 0 none, 1 active, 2 suspended; consent to a suspended member is void.
            let suspended = inst.status == 2;
            out.push(ConsentInfo {
                grantee: grantee.to_string(),
                grantee_name: (!inst.name.is_empty()).then_some(inst.name),
                categories: format!("{:#x}", state.categories),
                purpose: purpose_text(&purpose),
                expiry: state.expiry,
                revoked: state.revoked,
                active: !state.revoked && now < state.expiry && !suspended,
                tx_hash,
                block_number,
            });
        }
        Ok(out)
    }

    async fn consent_nonce(&self, pseudonym: &Pseudonym) -> PortResult<U256> {
        let chain = self.chain().await?;
        let wallet = self.bound_wallet(&chain, B256::from(*pseudonym)).await?;
        match chain.contract.nonces(wallet).call().await {
            Ok(n) => Ok(n),
            Err(e) => Err(self.failed("reading nonces", e).await),
        }
    }

    async fn relay_grant(&self, g: &SignedGrant) -> PortResult<TxInfo> {
        let chain = self.chain().await?;
        let message = hl_contracts::consent::Grant {
            pseudonym: g.pseudonym,
            grantee: g.grantee,
            categories: g.categories,
            purpose: g.purpose,
            expiry: g.expiry,
            nonce: g.nonce,
            deadline: g.deadline,
        };
        self.check_signature(&chain, g.pseudonym, g.nonce, &g.signature, |d| {
            message.eip712_signing_hash(d)
        })
        .await?;
        self.transact("grantConsentBySig", |c| {
            c.grantConsentBySig(
                g.pseudonym,
                g.grantee,
                g.categories,
                g.purpose,
                g.expiry,
                g.deadline,
                g.signature.clone(),
            )
        })
        .await
    }

    async fn relay_revoke(&self, r: &SignedRevoke) -> PortResult<TxInfo> {
        let chain = self.chain().await?;
        let message = hl_contracts::consent::Revoke {
            pseudonym: r.pseudonym,
            grantee: r.grantee,
            purpose: r.purpose,
            nonce: r.nonce,
            deadline: r.deadline,
        };
        self.check_signature(&chain, r.pseudonym, r.nonce, &r.signature, |d| {
            message.eip712_signing_hash(d)
        })
        .await?;
        self.transact("revokeConsentBySig", |c| {
            c.revokeConsentBySig(
                r.pseudonym,
                r.grantee,
                r.purpose,
                r.deadline,
                r.signature.clone(),
            )
        })
        .await
    }

    async fn record_emergency_access(
        &self,
        pseudonym: &Pseudonym,
        reason_hash: B256,
    ) -> PortResult<TxInfo> {
        let p = B256::from(*pseudonym);
        self.transact("recordEmergencyAccess", |c| {
            c.recordEmergencyAccess(p, reason_hash)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn purposes_read_back_as_their_code() {
        let mut b = [0u8; 32];
        b[..5].copy_from_slice(b"TREAT");
        assert_eq!(purpose_text(&B256::from(b)), "TREAT");
        assert_eq!(
            purpose_text(&B256::from([7u8; 32])),
            B256::from([7u8; 32]).to_string()
        );
        assert_eq!(purpose_text(&B256::ZERO), B256::ZERO.to_string());
    }
}
