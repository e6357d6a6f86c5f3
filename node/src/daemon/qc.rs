//! The QC task: keeps the knowledge tree at the log's head, re-evaluates the residents new
//! records touch, and now and then every resident (obligations fall due with time alone).
//! What it finds is shared with the HTTP API through [`QcShared`].

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hl_ledger::Ledger;
use time::OffsetDateTime;
use tokio::sync::watch;

use crate::config::Node;
use crate::qc::{QcShared, QcState};

pub async fn run(
    node: Arc<Node>,
    ledger: Arc<Ledger>,
    shared: Arc<QcShared>,
    mut stop: watch::Receiver<bool>,
) -> Result<()> {
    if !node.config.qc.enabled {
        // Nothing to wait for: readers are told QC is off.
        shared.mark_first_pass();
        return Ok(());
    }
    let mut state = QcState::with_shared(crate::commands::qc::assessor()?, shared.clone());
    // New resident events, as they arise, for the node's log; the API hears them through
    // `shared`.
    let events = state.events.subscribe();
    let state = Arc::new(Mutex::new(state));
    let poll = Duration::from_millis(node.config.inbox.poll_ms.max(10));
    let every = Duration::from_secs(node.config.qc.reevaluate_secs);
    let mut last_full = Instant::now();
    loop {
        let full = !every.is_zero() && last_full.elapsed() >= every;
        let (state, ledger) = (state.clone(), ledger.clone());
        let done = tokio::task::spawn_blocking(move || -> Result<_> {
            let mut s = state
                .lock()
                .map_err(|_| anyhow::anyhow!("QC state poisoned by an earlier panic"))?;
            let at = OffsetDateTime::now_utc();
            if full {
                s.reevaluate_all(&ledger, at)
            } else {
                s.refresh(&ledger, at)
            }
        })
        .await
        .context("QC task")?;
        match done {
            Ok(r) => {
                if r.evaluated > 0 {
                    tracing::info!(
                        residents = r.evaluated,
                        findings = r.findings,
                        summaries = r.appended,
                        "QC evaluated"
                    );
                }
                shared.mark_first_pass();
            }
            // The log is the truth and the tree can always be rebuilt from it: report and retry.
            Err(e) => tracing::warn!(error = %format!("{e:#}"), "QC evaluation failed"),
        }
        for e in events.try_iter() {
            tracing::info!(
                resident = %&e.resident[..e.resident.len().min(12)],
                kind = ?e.kind,
                due = %e.due,
                "{}",
                e.message
            );
        }
        if full {
            last_full = Instant::now();
        }
        if super::sleep_or_stop(poll, &mut stop).await {
            return Ok(());
        }
    }
}
