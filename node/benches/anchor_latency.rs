//! Time from a record's acknowledgement (its group commit is durable) to its head being
//! anchored on the embedded chain: consistency proof, signed transaction, EVM execution with
//! the on-chain proof check, block sealed and persisted. `healthledger node` adds up to
//! `anchor.interval_secs` of waiting on top (or none once `anchor.every_records` wait).
//!
//! `cargo bench -p hl-node --bench anchor_latency` (HL_BENCH_ROUNDS, default 300).

use std::time::Instant;

use hl_node::chain::anchor::{AnchorOutcome, anchor_once};
use hl_node::chain::{embedded, state::AnchorState};
use hl_node::cli::InitArgs;
use hl_node::commands::init;
use hl_node::synth::{SynthOptions, resident_bundle};

fn main() -> anyhow::Result<()> {
    let rounds: usize = std::env::var("HL_BENCH_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(300);
    let dir = tempfile::tempdir()?;
    let node = init::run(
        &dir.path().join("data"),
        &InitArgs {
            institution: "Latency Bench".into(),
            origin: None,
            consortium_key: None,
        },
    )?;
    let ledger = node.open_ledger()?;
    let input = node.input_options()?;
    let opts = SynthOptions::new(rounds, 11, time::macros::date!(2026 - 01 - 01));
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (latencies, records, gas) = rt.block_on(async {
        let (chain, _) = embedded::open(&node).await?;
        let state = AnchorState::open(&node.data_dir)?;
        let (mut lat, mut records, mut gas) = (Vec::with_capacity(rounds), 0usize, 0u64);
        for n in 0..rounds {
            let file = resident_bundle(&opts, n);
            let prepared = input.prepare(&file.name, &file.json)?;
            let receipt = ledger.submit_async(prepared).await??;
            let acked = Instant::now();
            records += receipt.entries.len();
            match anchor_once(&ledger, &chain, &state).await? {
                AnchorOutcome::Anchored(r) => gas += r.gas_used,
                AnchorOutcome::UpToDate { .. } => anyhow::bail!("nothing new to anchor"),
            }
            lat.push(acked.elapsed().as_secs_f64() * 1000.0);
        }
        Ok::<_, anyhow::Error>((lat, records, gas))
    })?;
    let mut sorted = latencies.clone();
    sorted.sort_by(f64::total_cmp);
    let pct =
        |p: f64| sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1];
    println!(
        "{rounds} anchors of {records} records (one resident bundle each, log growing to {records}):"
    );
    println!(
        "ack -> anchored: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; mean gas per anchor {}",
        pct(0.50),
        pct(0.99),
        sorted[sorted.len() - 1],
        gas / rounds as u64
    );
    ledger.close();
    Ok(())
}
