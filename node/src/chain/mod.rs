//! The consortium chain as the node sees it: an Ethereum JSON-RPC endpoint (anvil, Besu, geth)
//! and the HealthLedger contract on it, reached through alloy.

pub mod anchor;
pub mod embedded;
pub mod state;
pub mod verify;

use std::path::Path;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, Result, bail};
use hl_contracts::HealthLedger::HealthLedgerInstance;

/// An institution's chain account: its key file holds the 32-byte secp256k1 key in hex.
pub fn read_eth_key(path: &Path) -> Result<PrivateKeySigner> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading chain key {}", path.display()))?;
    let hex_key = text.trim().trim_start_matches("0x");
    let mut bytes = [0u8; 32];
    hex::decode_to_slice(hex_key, &mut bytes)
        .with_context(|| format!("chain key {} is not 64 hex digits", path.display()))?;
    PrivateKeySigner::from_bytes(&B256::from(bytes))
        .with_context(|| format!("chain key {} is not a valid secp256k1 key", path.display()))
}

/// A new random chain key, as the key file text.
pub fn new_eth_key_text() -> Result<(String, Address)> {
    let bytes: [u8; 32] = rand::random();
    let signer =
        PrivateKeySigner::from_bytes(&B256::from(bytes)).context("generating a chain key")?;
    Ok((format!("0x{}\n", hex::encode(bytes)), signer.address()))
}

/// A provider that signs with `key`, on the JSON-RPC endpoint `rpc`.
pub fn provider(rpc: &str, key: PrivateKeySigner) -> Result<DynProvider> {
    let url = rpc
        .parse()
        .with_context(|| format!("chain RPC URL '{rpc}' is not a URL"))?;
    // Nonces are asked of the chain for every transaction, never cached: anchoring and the
    // API's consent relays send from the same account, and a reorg can take a sent
    // transaction back; either leaves a cached nonce wrong and the next transaction stuck.
    Ok(ProviderBuilder::default()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(EthereumWallet::from(key))
        .connect_http(url)
        .erased())
}

/// The contract at `contract` on `rpc`, for reading only (no key needed: a regulator's view).
pub async fn read_only(rpc: &str, contract: &str) -> Result<HealthLedgerInstance<DynProvider>> {
    let url = rpc
        .parse()
        .with_context(|| format!("chain RPC URL '{rpc}' is not a URL"))?;
    let provider = ProviderBuilder::new().connect_http(url).erased();
    let address: Address = contract
        .parse()
        .with_context(|| format!("contract address '{contract}' is not an address"))?;
    let code = provider
        .get_code_at(address)
        .await
        .with_context(|| format!("reaching the chain at {rpc}"))?;
    if code.is_empty() {
        bail!("no contract at {address} on the chain at {rpc}");
    }
    Ok(HealthLedgerInstance::new(address, provider))
}

/// The contract at `address`, called and signed through `provider` as `account`.
pub struct Chain {
    pub contract: HealthLedgerInstance<DynProvider>,
    pub account: Address,
    pub confirmations: u64,
}

impl Chain {
    pub async fn connect(
        rpc: &str,
        contract: &str,
        key: PrivateKeySigner,
        confirmations: u64,
    ) -> Result<Self> {
        let account = key.address();
        let address: Address = contract
            .parse()
            .with_context(|| format!("contract address '{contract}' is not an address"))?;
        let provider = provider(rpc, key)?;
        let code = provider
            .get_code_at(address)
            .await
            .with_context(|| format!("reaching the chain at {rpc}"))?;
        if code.is_empty() {
            bail!("no contract at {address} on the chain at {rpc}");
        }
        Ok(Self {
            contract: HealthLedgerInstance::new(address, provider),
            account,
            confirmations,
        })
    }
}

/// The chain the configuration (or the flags) chooses: an RPC endpoint when one is given,
/// otherwise the embedded chain (whose RPC service is returned so the caller may serve it).
pub async fn open_configured(
    node: &crate::config::Node,
    rpc: Option<&str>,
    contract: Option<&str>,
) -> Result<(Chain, Option<hl_devchain::RpcService>)> {
    let rpc = rpc
        .map(str::to_owned)
        .or_else(|| node.config.chain.rpc.clone());
    match rpc {
        None => {
            let (chain, service) = embedded::open(node).await?;
            Ok((chain, Some(service)))
        }
        Some(rpc) => {
            let contract = contract
                .map(str::to_owned)
                .or_else(|| node.config.chain.contract.clone())
                .context("chain.rpc is set but not chain.contract: pass --contract or set it in config.toml")?;
            let key = read_eth_key(&node.path(&node.config.chain.key_file))?;
            let chain =
                Chain::connect(&rpc, &contract, key, node.config.chain.confirmations).await?;
            Ok((chain, None))
        }
    }
}
