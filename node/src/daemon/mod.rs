//! `healthledger node`: the long-running node. It ingests files dropped into the inbox, keeps
//! the QC status of every resident current in the log, and anchors the log on the chain; the HTTP API joins it later. One process owns the data
//! dir (the store is single-writer), so other commands wait until it stops.

mod anchoring;
mod inbox;
mod qc;

use std::sync::Arc;

use anyhow::{Context, Result};
use tokio::sync::watch;

use crate::config::Node;

pub fn run(node: Node) -> Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let ledger = Arc::new(node.open_ledger()?);
    let node = Arc::new(node);
    let result = rt.block_on(async {
        let (stop_tx, stop) = watch::channel(false);
        let inbox = tokio::spawn(inbox::run(node.clone(), ledger.clone(), stop.clone()));
        let qc = tokio::spawn(qc::run(node.clone(), ledger.clone(), stop.clone()));
        let anchoring = tokio::spawn(anchoring::run(node.clone(), ledger.clone(), stop));
        tracing::info!(origin = %ledger.origin(), "node running");
        eprintln!(
            "healthledger node: running ({}); stop with Ctrl-C or SIGTERM",
            ledger.origin()
        );
        wait_for_signal().await;
        tracing::info!("stopping: finishing the file in progress");
        let _ = stop_tx.send(true);
        inbox.await.context("inbox task")??;
        anchoring.await.context("anchoring task")??;
        qc.await.context("QC task")??;
        Ok::<_, anyhow::Error>(())
    });
    // Every acknowledged write is durable already; close waits for the writer to drain.
    ledger.close();
    result
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
