//! The knowledge tree and QC at scale: full rebuild from the log (records/s, peak RSS), full
//! evaluation of every resident, and incremental QC as the node runs it (time per ingested
//! bundle: submit, catch-up, re-evaluation of the residents it touched, summary append; and
//! time per resident evaluation), p50/p99.
//!
//! `cargo bench -p hl-node --bench qc` — env: HL_BENCH_RESIDENTS (default 2000),
//! HL_BENCH_INCREMENTAL (bundles re-ingested one by one, default 300), HL_BENCH_TREE=0 to skip
//! the in-memory tree of everyone (it holds every resident's parsed records, ~3 KB per record:
//! the large runs measure the per-resident rebuild the node uses instead).

mod common;

use std::path::PathBuf;
use std::time::Instant;

use common::{env_usize, peak_rss_mib};
use hl_indexer::qc::Engine;
use hl_indexer::tree::KnowledgeTree;
use hl_node::cli::InitArgs;
use hl_node::commands::{ingest, init};
use hl_node::qc::QcState;
use hl_node::synth::{SynthOptions, write_population};
use time::macros::datetime;

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() -> anyhow::Result<()> {
    let residents = env_usize("HL_BENCH_RESIDENTS", 2000);
    let incremental = env_usize("HL_BENCH_INCREMENTAL", 300);
    let at = datetime!(2026-01-01 0:00 UTC);
    let dir = tempfile::tempdir()?;
    let synth_dir = dir.path().join("synth");
    write_population(
        &SynthOptions {
            residents,
            seed: 1,
            reference_date: time::macros::date!(2026 - 01 - 01),
            defect_rate: 0.0,
        },
        &synth_dir,
    )?;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&synth_dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    paths.sort();
    let node = init::run(
        &dir.path().join("data"),
        &InitArgs {
            institution: "Bench Hospital".into(),
            origin: None,
            consortium_key: None,
        },
    )?;
    let input = node.input_options()?;
    let ledger = node.open_ledger()?;
    for o in ingest::ingest_files(&ledger, &input, &paths, |_| {}) {
        o.result.map_err(anyhow::Error::msg)?;
    }
    let records = ledger.head()?.size;
    let rss_before = peak_rss_mib();

    let engine = Engine::shipped()?;
    if std::env::var("HL_BENCH_TREE").map_or(true, |v| v != "0") {
        in_memory(&ledger, &engine, records, rss_before, at)?;
    }

    // What `qc report` and the node do: one resident's tree at a time, read from the log, and
    // the whole assessment (46 rules, programmes, score, events).
    let assessor = hl_indexer::assess::Assessor::shipped()?;
    let t = Instant::now();
    let all_residents = hl_node::qc::all_residents(&ledger)?;
    let (mut streamed, mut per_resident) = (0, Vec::new());
    for r in &all_residents {
        let t = Instant::now();
        let tree = hl_indexer::tree::ResidentTree::from_log(&ledger, r)?;
        streamed += tree.records.len();
        assessor.assess(&tree, at);
        per_resident.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let secs = t.elapsed().as_secs_f64();
    println!(
        "full rebuild, per resident from the log + assessment: {} residents, {streamed} records in {secs:.1} s = {:.0} records/s; per resident p50 {:.2} ms, p99 {:.2} ms; peak RSS {:.0} MiB",
        all_residents.len(),
        streamed as f64 / secs,
        percentile(&mut per_resident, 0.5),
        percentile(&mut per_resident, 0.99),
        peak_rss_mib()
    );
    drop(engine);

    // Incremental, as `healthledger node` runs it: a caught-up state, then bundles one by one.
    let mut state = QcState::new(hl_indexer::assess::Assessor::shipped()?);
    state.refresh(&ledger, at)?;
    state.refresh(&ledger, at)?;
    let mut per_bundle = Vec::new();
    for p in paths
        .iter()
        .filter(|p| p.to_string_lossy().contains("resident-"))
        .take(incremental)
    {
        let prepared = input
            .prepare("bench", &std::fs::read(p)?)
            .map_err(anyhow::Error::msg)?;
        let t = Instant::now();
        ledger.submit(prepared)?;
        state.refresh(&ledger, at)?;
        per_bundle.push(t.elapsed().as_secs_f64() * 1e3);
    }
    println!(
        "incremental: {} bundles, per bundle (durable submit + catch-up + QC + summary) p50 {:.2} ms, p99 {:.2} ms",
        per_bundle.len(),
        percentile(&mut per_bundle, 0.5),
        percentile(&mut per_bundle, 0.99)
    );
    println!("peak RSS {:.0} MiB", peak_rss_mib());
    Ok(())
}

/// The whole knowledge tree in memory, rebuilt from the log, then every resident evaluated.
fn in_memory(
    ledger: &hl_ledger::Ledger,
    engine: &Engine,
    records: u64,
    rss_before: f64,
    at: time::OffsetDateTime,
) -> anyhow::Result<()> {
    let t = Instant::now();
    let tree = KnowledgeTree::rebuild(ledger)?;
    let rebuild = t.elapsed().as_secs_f64();
    println!(
        "rebuild: {records} records, {} residents in {rebuild:.2} s = {:.0} records/s; peak RSS {:.0} MiB (before the tree: {rss_before:.0} MiB)",
        tree.residents().count(),
        records as f64 / rebuild,
        peak_rss_mib()
    );

    let t = Instant::now();
    let mut per_resident = Vec::new();
    let mut findings = 0;
    for r in tree.residents() {
        let t = Instant::now();
        findings += engine.evaluate(r, at).len();
        per_resident.push(t.elapsed().as_secs_f64() * 1e3);
    }
    let all = t.elapsed().as_secs_f64();
    println!(
        "evaluate all: {} residents, {} rules, {findings} findings in {all:.2} s = {:.0} residents/s; per resident p50 {:.3} ms, p99 {:.3} ms",
        per_resident.len(),
        engine.resident_rules().count(),
        per_resident.len() as f64 / all,
        percentile(&mut per_resident, 0.5),
        percentile(&mut per_resident, 0.99)
    );
    Ok(())
}
