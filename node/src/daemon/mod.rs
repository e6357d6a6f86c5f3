//! `healthledger node`: the long-running node. It ingests files dropped into the inbox, keeps
//! the QC status of every resident current in the log, and anchors the log on the chain; the HTTP API joins it later. One process owns the data
//! dir (the store is single-writer), so other commands wait until it stops.

mod anchoring;
pub mod api;
mod inbox;
mod qc;

use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::sync::watch;

use crate::config::Node;
use crate::service::chain::{ChainAccess, ChainPort};
use crate::service::qc::QcPort;

pub fn run(node: Node) -> Result<()> {
    run_with(node, |_| {})
}

/// [`run`], calling `on_serving` with the API's bound URL (`None` with the API off) once the
/// node is ready (every task runs and the first QC pass is done), so that `healthledger dev`
/// can print its banner with the real port.
pub fn run_with(node: Node, on_serving: impl FnOnce(Option<&str>)) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let ledger = Arc::new(node.open_ledger()?);
    let node = Arc::new(node);
    let result = rt.block_on(async {
        let (stop_tx, stop) = watch::channel(false);
        let (chain, rpc_service) = ChainAccess::open(node.clone()).await?;
        let chain = Arc::new(chain);
        let qc_shared = Arc::new(crate::qc::QcShared::new());
        let network = if node.config.network.enabled {
            Some(start_network(&node, ledger.clone(), chain.clone(), stop.clone()).await?)
        } else {
            None
        };
        let gossip = match &network {
            Some(net) => Some(Arc::new(start_gossip(
                &node,
                &ledger,
                &chain,
                net.clone(),
                stop.clone(),
            )?)),
            None => None,
        };
        let consortium: Option<Arc<dyn hl_api::ports::Consortium>> = match (&network, &gossip) {
            (Some(net), Some(g)) => Some(consortium_view(&node, &chain, net, g)?),
            _ => None,
        };
        let (api, api_url) = if node.config.api.enabled {
            let chain_port = Arc::new(ChainPort::new(chain.clone()));
            let qc_port = Arc::new(QcPort::new(
                ledger.clone(),
                qc_shared.clone(),
                node.config.qc.enabled,
                node.config.institution.name.clone(),
                stop.clone(),
            )?);
            let (listener, url) = api::bind(&node.config.api.listen).await?;
            let state = api::state(
                &node,
                ledger.clone(),
                url.clone(),
                chain_port,
                qc_port,
                consortium,
            )?;
            // Ready means correct answers: the QC summary covers every resident only after the
            // first QC pass over the log.
            let (ready, first_pass) = (state.clone(), qc_shared.clone());
            tokio::spawn(async move {
                first_pass.first_pass().await;
                ready.set_ready(true);
            });
            tracing::info!(%url, "API listening");
            eprintln!("healthledger node: API listening on {url}");
            let task = tokio::spawn(api::run(listener, state, stop.clone()));
            (Some(task), Some(url))
        } else {
            (None, None)
        };
        let inbox = tokio::spawn(inbox::run(node.clone(), ledger.clone(), stop.clone()));
        let qc_ready = qc_shared.clone();
        let qc = tokio::spawn(qc::run(
            node.clone(),
            ledger.clone(),
            qc_shared,
            stop.clone(),
        ));
        let anchoring = tokio::spawn(anchoring::run(
            node.clone(),
            ledger.clone(),
            chain.clone(),
            rpc_service,
            stop,
        ));
        tracing::info!(origin = %ledger.origin(), "node running");
        eprintln!(
            "healthledger node: running ({}); stop with Ctrl-C or SIGTERM",
            ledger.origin()
        );
        // The banner of `healthledger dev` promises working commands: print it once the API
        // answers correctly (after the first QC pass), unless the node is stopped first.
        tokio::select! {
            _ = qc_ready.first_pass() => {
                on_serving(api_url.as_deref());
                wait_for_signal().await;
            }
            _ = wait_for_signal() => {}
        }
        tracing::info!("stopping: finishing the file in progress");
        let _ = stop_tx.send(true);
        if let Some(api) = api {
            api.await.context("API task")??;
        }
        inbox.await.context("inbox task")??;
        anchoring.await.context("anchoring task")??;
        qc.await.context("QC task")??;
        if let Some(gossip) = gossip {
            gossip.join().await;
        }
        if let Some(network) = network {
            network.join().await.context("network task")?;
        }
        Ok::<_, anyhow::Error>(())
    });
    // Every acknowledged write is durable already; close waits for the writer to drain.
    ledger.close();
    result
}

/// Joins the consortium network, admitting the active members read from the chain.
async fn start_network(
    node: &Node,
    ledger: Arc<hl_ledger::Ledger>,
    chain: Arc<ChainAccess>,
    stop: watch::Receiver<bool>,
) -> Result<Arc<crate::net::Network>> {
    use crate::consortium::fetch::{Holder, NodeChain};
    use crate::net::{ChainMembership, Network, NetworkParams};
    let cfg = &node.config.network;
    let params = NetworkParams::new(cfg, &node.signer()?, &node.consortium_key()?)?;
    // Membership events are looked for every few seconds; the full re-read is the backstop.
    let poll = std::time::Duration::from_secs(cfg.allowlist_refresh_secs.clamp(1, 5));
    let membership = Arc::new(ChainMembership::new(chain.clone(), poll));
    let holder = Holder::new(
        ledger,
        Arc::new(NodeChain::new(chain)),
        node.config.institution.name.clone(),
    );
    let network = Network::start(params, membership, Arc::new(holder), stop).await?;
    for addr in network.listen_addrs() {
        tracing::info!(%addr, "network listening");
        eprintln!("healthledger node: network listening on {addr}");
    }
    Ok(Arc::new(network))
}

/// The consortium view the API serves: asks the holders the gossip names, verifies against the
/// chain.
fn consortium_view(
    node: &Node,
    chain: &Arc<ChainAccess>,
    network: &Arc<crate::net::Network>,
    gossip: &Arc<crate::consortium::gossip::Gossip>,
) -> Result<Arc<dyn hl_api::ports::Consortium>> {
    use crate::consortium::fetch::{NodeChain, Requester};
    use crate::consortium::view::{ConsortiumService, Grantee};
    let fetch_chain = Arc::new(NodeChain::new(chain.clone()));
    let requester = Requester::new(&node.signer()?, fetch_chain.clone())
        .context("setting up the record requester")?;
    Ok(Arc::new(
        ConsortiumService::new(
            network.clone(),
            gossip.clone() as Arc<dyn crate::consortium::view::Holders>,
            requester,
            fetch_chain,
            Grantee::Chain(chain.clone()),
        )
        .with_cache_ttl(std::time::Duration::from_secs(
            node.config.network.remote_cache_secs,
        ))
        .with_gossip(gossip.clone()),
    ))
}

/// Gossips this node's anchored checkpoints and record locators, and keeps the other members'.
fn start_gossip(
    node: &Node,
    ledger: &Arc<hl_ledger::Ledger>,
    chain: &Arc<ChainAccess>,
    network: Arc<crate::net::Network>,
    stop: watch::Receiver<bool>,
) -> Result<crate::consortium::gossip::Gossip> {
    use crate::consortium::gossip::{CATCH_UP_EVERY, ChainRegistry, Gossip, GossipParams};
    let params = GossipParams {
        data_dir: node.data_dir.clone(),
        signer: node.signer()?,
        anchors: chain.anchors.clone(),
        ledger: Some(ledger.clone()),
        catch_up_every: CATCH_UP_EVERY,
    };
    let registry = Arc::new(ChainRegistry::new(chain.clone()));
    Gossip::start(params, network, registry, stop).context("starting the gossip service")
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Sleeps for `d` unless asked to stop first; returns whether to stop.
pub(crate) async fn sleep_or_stop(
    d: std::time::Duration,
    stop: &mut watch::Receiver<bool>,
) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}
