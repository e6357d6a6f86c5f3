//! The anchoring service: anchors the log every `anchor.interval_secs` or as soon as
//! `anchor.every_records` records wait, with the consistency proof from the head the contract
//! holds. While the chain is unreachable it retries with exponential backoff (ingest goes on);
//! a head lost in a reorg is anchored again, because every round starts from what the
//! contract holds, and a transaction sent before a crash is waited for, not sent twice.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hl_ledger::Ledger;
use tokio::sync::watch;

use crate::chain::anchor::{AnchorOutcome, anchor_once};
use crate::config::Node;
use crate::service::chain::ChainAccess;
use hl_devchain::{HttpServer, RpcService};

const MAX_BACKOFF: Duration = Duration::from_secs(60);

pub async fn run(
    node: Arc<Node>,
    ledger: Arc<Ledger>,
    chain: Arc<ChainAccess>,
    service: Option<RpcService>,
    mut stop: watch::Receiver<bool>,
) -> Result<()> {
    let state = chain.anchors.clone();
    let _http = match (service, &node.config.chain.embedded_http) {
        (Some(service), Some(addr)) => {
            let addr = addr
                .parse()
                .with_context(|| format!("chain.embedded_http '{addr}' is not host:port"))?;
            let server = HttpServer::bind(addr, service)
                .await
                .with_context(|| format!("serving the embedded chain on {addr}"))?;
            tracing::info!(url = %server.url(), "embedded chain JSON-RPC served");
            eprintln!(
                "healthledger node: embedded chain JSON-RPC on {}",
                server.url()
            );
            Some(server)
        }
        _ => None,
    };
    let cfg = &node.config.anchor;
    let interval = Duration::from_secs(cfg.interval_secs.max(1));
    let timeout = Duration::from_secs(cfg.rpc_timeout_secs.max(1));
    let mut backoff = Duration::from_secs(1);
    let mut next_try = Instant::now();
    let mut last_success = Instant::now() - interval;
    loop {
        if super::sleep_or_stop(Duration::from_millis(200), &mut stop).await {
            return Ok(());
        }
        let anchored = state.last()?.map_or(0, |r| r.size);
        let size = ledger.head()?.size;
        let due = last_success.elapsed() >= interval
            || size.saturating_sub(anchored) >= cfg.every_records;
        if size == 0 || !due || Instant::now() < next_try {
            continue;
        }
        let attempt = async {
            let c = chain.get().await?;
            anchor_once(&ledger, &c, &state).await
        };
        match tokio::time::timeout(timeout, attempt).await {
            Ok(Ok(outcome)) => {
                if let AnchorOutcome::Anchored(r) = &outcome {
                    tracing::info!(size = r.size, tx = %r.tx_hash, block = r.block_number, gas = r.gas_used, "anchored");
                }
                backoff = Duration::from_secs(1);
                last_success = Instant::now();
            }
            Ok(Err(e)) => {
                chain.reset().await;
                tracing::warn!(error = %format!("{e:#}"), retry_in = ?backoff, "anchoring failed");
                next_try = Instant::now() + backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
            Err(_) => {
                chain.reset().await;
                tracing::warn!(retry_in = ?backoff, "anchoring timed out (chain unreachable?)");
                next_try = Instant::now() + backoff;
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}
