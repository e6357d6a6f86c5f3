//! `healthledger chain …` and `healthledger anchor …`.

use std::path::{Path, PathBuf};

use alloy::primitives::{Address, B256};
use anyhow::{Context, Result, bail};
use hl_contracts::HealthLedger;
use hl_ledger::note::NoteVerifier;
use serde_json::json;

use crate::chain::anchor::{AnchorOutcome, anchor_once, anchored_head};
use crate::chain::state::AnchorState;
use crate::chain::{self, Chain};
use crate::cli::{AnchorCommand, ChainCommand, ChainOpts};
use crate::config::Node;

fn runtime() -> Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn rpc_of(node: Option<&Node>, flag: &Option<String>) -> Result<String> {
    flag.clone()
        .or_else(|| node.and_then(|n| n.config.chain.rpc.clone()))
        .context("no chain RPC endpoint: pass --rpc or set chain.rpc in config.toml")
}

fn contract_of(node: &Node, flag: &Option<String>) -> Result<String> {
    flag.clone()
        .or_else(|| node.config.chain.contract.clone())
        .context("no contract address: pass --contract or set chain.contract in config.toml")
}

fn key_path(node: Option<&Node>, flag: &Option<PathBuf>) -> Result<PathBuf> {
    match (flag, node) {
        (Some(p), _) => Ok(p.clone()),
        (None, Some(n)) => Ok(n.path(&n.config.chain.key_file)),
        (None, None) => bail!("no key: pass --governor-key or use an initialised --data-dir"),
    }
}

async fn connect(node: &Node, opts: &ChainOpts) -> Result<Chain> {
    let (chain, _) =
        chain::open_configured(node, opts.rpc.as_deref(), opts.contract.as_deref()).await?;
    Ok(chain)
}

pub fn run_chain(data_dir: &Path, cmd: &ChainCommand) -> Result<()> {
    let node = Node::load(data_dir).ok();
    let rt = runtime()?;
    match cmd {
        ChainCommand::Deploy { rpc, governor_key } => rt.block_on(async {
            let key = chain::read_eth_key(&key_path(node.as_ref(), governor_key)?)?;
            let governor = key.address();
            let rpc = rpc_of(node.as_ref(), rpc)?;
            let provider = chain::provider(&rpc, key)?;
            let contract = HealthLedger::deploy(provider, governor)
                .await
                .with_context(|| format!("deploying the HealthLedger contract on {rpc}"))?;
            println!("{}", contract.address());
            eprintln!(
                "deployed; governor {governor}. Set chain.contract = \"{}\" in config.toml",
                contract.address()
            );
            Ok(())
        }),
        ChainCommand::Admit {
            chain: opts,
            governor_key,
            member,
            verifier_key,
            name,
        } => rt.block_on(async {
            let node = node
                .as_ref()
                .context("chain admit needs an initialised --data-dir (for the chain settings)")?;
            let key = chain::read_eth_key(&key_path(Some(node), governor_key)?)?;
            let c = Chain::connect(
                &rpc_of(Some(node), &opts.rpc)?,
                &contract_of(node, &opts.contract)?,
                key,
                node.config.chain.confirmations,
            )
            .await?;
            let member: Address = member
                .parse()
                .with_context(|| format!("--member '{member}' is not an address"))?;
            let vkey = NoteVerifier::parse(verifier_key).context("--verifier-key")?;
            let receipt = c
                .contract
                .registerInstitution(
                    member,
                    B256::from(vkey.key.to_bytes()),
                    vkey.name.clone(),
                    name.clone(),
                )
                .send()
                .await
                .context("sending registerInstitution (is this key the governor's?)")?
                .get_receipt()
                .await?;
            if !receipt.status() {
                bail!(
                    "registerInstitution reverted in {}",
                    receipt.transaction_hash
                );
            }
            println!(
                "admitted {member} as {} ({name}) in {}",
                vkey.name, receipt.transaction_hash
            );
            Ok(())
        }),
        ChainCommand::Regulator {
            chain: opts,
            governor_key,
            address,
            disable,
        } => rt.block_on(async {
            let node = node
                .as_ref()
                .context("chain regulator needs an initialised --data-dir")?;
            let account: Address = address
                .parse()
                .with_context(|| format!("--address '{address}' is not an address"))?;
            let c = match governor_key {
                Some(_) => {
                    Chain::connect(
                        &rpc_of(Some(node), &opts.rpc)?,
                        &contract_of(node, &opts.contract)?,
                        chain::read_eth_key(&key_path(Some(node), governor_key)?)?,
                        node.config.chain.confirmations,
                    )
                    .await?
                }
                None => connect(node, opts).await?,
            };
            let receipt = c
                .contract
                .setRegulator(account, !disable)
                .send()
                .await
                .context("sending setRegulator (is this key the governor's?)")?
                .get_receipt()
                .await?;
            if !receipt.status() {
                bail!("setRegulator reverted in {}", receipt.transaction_hash);
            }
            let verb = if *disable { "disabled" } else { "enabled" };
            println!("regulator {account} {verb} in {}", receipt.transaction_hash);
            Ok(())
        }),
        ChainCommand::Status { chain: opts, json } => rt.block_on(async {
            let node = node
                .as_ref()
                .context("chain status needs an initialised --data-dir")?;
            let c = connect(node, opts).await?;
            let inst = c.contract.institution(c.account).call().await?;
            let head = anchored_head(&c).await?;
            let status = ["none", "active", "suspended"]
                .get(inst.status as usize)
                .copied()
                .unwrap_or("unknown");
            if json.json {
                super::print_json(&json!({
                    "contract": c.contract.address().to_string(),
                    "account": c.account.to_string(),
                    "member_status": status,
                    "origin": inst.origin,
                    "anchored_size": head.map(|h| h.0),
                    "anchored_root": head.map(|h| hex::encode(h.1)),
                }))?;
            } else {
                println!("contract  {}", c.contract.address());
                println!("account   {}", c.account);
                println!(
                    "member    {status}{}",
                    if inst.origin.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", inst.origin)
                    }
                );
                match head {
                    Some((size, root)) => {
                        println!("anchored  size {size} root {}", hex::encode(root))
                    }
                    None => println!("anchored  nothing yet"),
                }
            }
            Ok(())
        }),
    }
}

pub fn run_anchor(data_dir: &Path, cmd: &AnchorCommand) -> Result<()> {
    let node = Node::load(data_dir)?;
    let rt = runtime()?;
    let ledger = node.open_ledger()?;
    let state = AnchorState::open(&node.data_dir)?;
    rt.block_on(async {
        match cmd {
            AnchorCommand::Now { chain: opts, json } => {
                let c = connect(&node, opts).await?;
                let outcome = anchor_once(&ledger, &c, &state).await?;
                match (&outcome, json.json) {
                    (AnchorOutcome::UpToDate { size }, true) => {
                        super::print_json(&json!({"anchored": false, "size": size}))?
                    }
                    (AnchorOutcome::UpToDate { size }, false) => {
                        println!("already anchored: size {size}")
                    }
                    (AnchorOutcome::Anchored(r), true) => {
                        super::print_json(&json!({"anchored": true, "record": r}))?
                    }
                    (AnchorOutcome::Anchored(r), false) => println!(
                        "anchored size {} root {} in tx {} (block {}, {} gas)",
                        r.size, r.root, r.tx_hash, r.block_number, r.gas_used
                    ),
                }
                Ok(())
            }
            AnchorCommand::Status { chain: opts, json } => {
                let head = ledger.head()?;
                let c = connect(&node, opts).await?;
                let on_chain = anchored_head(&c).await?;
                let last = state.last()?;
                let anchored = on_chain.map_or(0, |h| h.0);
                if json.json {
                    super::print_json(&json!({
                        "local_size": head.size,
                        "local_root": hex::encode(head.root),
                        "anchored_size": anchored,
                        "anchored_root": on_chain.map(|h| hex::encode(h.1)),
                        "lag_records": head.size.saturating_sub(anchored),
                        "last_anchor": last,
                    }))?;
                } else {
                    println!(
                        "local checkpoint  size {} root {}",
                        head.size,
                        hex::encode(head.root)
                    );
                    match on_chain {
                        Some((size, root)) => {
                            println!("anchored head     size {size} root {}", hex::encode(root))
                        }
                        None => println!("anchored head     none"),
                    }
                    println!(
                        "lag               {} records",
                        head.size.saturating_sub(anchored)
                    );
                    if let Some(r) = last {
                        println!(
                            "last anchor tx    {} block {} at {}",
                            r.tx_hash, r.block_number, r.confirmed_at
                        );
                    }
                }
                Ok(())
            }
        }
    })
}
