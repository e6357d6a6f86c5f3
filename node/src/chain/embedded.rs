//! The default chain: `hl-devchain` in this process, in `<data-dir>/chain.redb`. Its genesis
//! funds this institution's account; on first use the node deploys the contract with itself as
//! governor and registers itself, so a single node anchors with no setup at all. The contract's
//! address follows from the deployer and nonce 0, so nothing has to be written to the config.

use std::sync::Arc;

use alloy::network::EthereumWallet;
use alloy::primitives::{Address, B256, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::client::RpcClient;
use anyhow::{Context, Result, bail};
use hl_contracts::HealthLedger;
use hl_contracts::HealthLedger::HealthLedgerInstance;
use hl_devchain::{ChainConfig, RpcService};

use super::{Chain, read_eth_key};
use crate::config::Node;

pub const CHAIN_FILE: &str = "chain.redb";

/// The embedded chain and the contract on it, deployed and this node registered if new.
pub async fn open(node: &Node) -> Result<(Chain, RpcService)> {
    let key = read_eth_key(&node.path(&node.config.chain.key_file))?;
    let account = key.address();
    let path = node.data_dir.join(CHAIN_FILE);
    // Plenty for any number of anchors: gas is paid, but only to itself.
    let funds = U256::from(10u128).pow(U256::from(27u8));
    let chain = hl_devchain::Chain::open(
        &path,
        ChainConfig::new(node.config.chain.chain_id, vec![(account, funds)]),
    )
    .map_err(|e| match e {
        hl_devchain::ChainError::InUse => crate::config::in_use("embedded chain", &path),
        e => {
            anyhow::Error::new(e).context(format!("opening the embedded chain {}", path.display()))
        }
    })?;
    let service = RpcService::new(Arc::new(chain));
    // Nonces from the chain, never cached (see `super::provider`).
    let provider: DynProvider = ProviderBuilder::default()
        .with_gas_estimation()
        .with_simple_nonce_management()
        .fetch_chain_id()
        .wallet(EthereumWallet::from(key))
        .connect_client(RpcClient::new(service.clone(), true))
        .erased();
    let address: Address = account.create(0);
    if provider.get_code_at(address).await?.is_empty() {
        let deployed = HealthLedger::deploy(provider.clone(), account)
            .await
            .context("deploying the contract on the embedded chain")?;
        if *deployed.address() != address {
            bail!(
                "the embedded chain's contract is at {}, expected {address}",
                deployed.address()
            );
        }
        let signer = node.signer()?;
        let receipt = deployed
            .registerInstitution(
                account,
                B256::from(signer.verifier().key.to_bytes()),
                node.config.institution.origin.clone(),
                node.config.institution.name.clone(),
            )
            .send()
            .await?
            .get_receipt()
            .await?;
        if !receipt.status() {
            bail!("registering this institution on the embedded chain reverted");
        }
        tracing::info!(contract = %address, "embedded chain: contract deployed, institution registered");
    }
    Ok((
        Chain {
            contract: HealthLedgerInstance::new(address, provider),
            account,
            confirmations: 1,
        },
        service,
    ))
}
