//! Durable ingest throughput of `synth` data, against a "parse + canonicalize + hash only"
//! baseline run on the same files with the same threads; then disk bytes per record and peak RSS.
//!
//! `cargo bench -p hl-node --bench ingest` — env: HL_BENCH_RESIDENTS (default 2000),
//! HL_BENCH_RUNS (default 3, medians reported), HL_BENCH_SKIP_BASELINE=1 to measure only the
//! durable ingest (for the large runs).

mod common;

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use common::{env_usize, peak_rss_mib};
use hl_node::cli::InitArgs;
use hl_node::commands::{ingest, init};
use hl_node::synth::{SynthOptions, write_population};

fn main() -> anyhow::Result<()> {
    // `cargo bench` passes `--bench`; this harness takes its settings from the environment.
    if let Ok(filter) = std::env::var("HEALTHLEDGER_LOG") {
        tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .init();
    }
    let residents = env_usize("HL_BENCH_RESIDENTS", 2000);
    let skip_baseline = std::env::var("HL_BENCH_SKIP_BASELINE").is_ok_and(|v| v == "1");
    let dir = tempfile::tempdir()?;
    let synth_dir = dir.path().join("synth");
    let t = Instant::now();
    let written = write_population(
        &SynthOptions::new(residents, 1, time::macros::date!(2026 - 01 - 01)),
        &synth_dir,
    )?;
    let (files, resources) = (written.files, written.resources);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&synth_dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    paths.sort();
    let bytes: u64 = paths
        .iter()
        .map(|p| std::fs::metadata(p).map_or(0, |m| m.len()))
        .sum();
    println!(
        "synth: {residents} residents, {files} files, {resources} resources, {:.1} MiB in {:.1} s",
        bytes as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );

    let runs = env_usize("HL_BENCH_RUNS", 3).max(1);
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
    let mut baseline = Vec::new();
    let mut durable = Vec::new();
    let mut last_db = (0u64, 0usize);
    for run in 0..runs {
        let data = dir.path().join(format!("data-{run}"));
        let node = init::run(
            &data,
            &InitArgs {
                institution: "Bench Hospital".into(),
                origin: None,
                consortium_key: None,
            },
        )?;
        let input = node.input_options()?;
        if !skip_baseline {
            // Same files, same threads, same read + parse + canonicalize + hash; no store.
            let t = Instant::now();
            let next = AtomicUsize::new(0);
            let done = AtomicUsize::new(0);
            std::thread::scope(|s| {
                for _ in 0..threads {
                    s.spawn(|| {
                        while let Some(p) = paths.get(next.fetch_add(1, Ordering::Relaxed)) {
                            let bytes = std::fs::read(p).expect("read");
                            let prepared = input.prepare("bench", &bytes).expect("valid");
                            done.fetch_add(prepared.records.len(), Ordering::Relaxed);
                        }
                    });
                }
            });
            baseline.push(done.load(Ordering::Relaxed) as f64 / t.elapsed().as_secs_f64());
        }
        let ledger = node.open_ledger()?;
        let t = Instant::now();
        let outcomes = ingest::ingest_files(&ledger, &input, &paths, |_| {});
        let secs = t.elapsed().as_secs_f64();
        let mut records = 0;
        for o in &outcomes {
            match &o.result {
                Ok(r) => records += r.entries.len(),
                Err(e) => anyhow::bail!("{e}"),
            }
        }
        durable.push(records as f64 / secs);
        ledger.close();
        drop(ledger);
        last_db = (std::fs::metadata(data.join("ledger.redb"))?.len(), records);
        std::fs::remove_dir_all(&data)?;
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let d = median(&mut durable);
    println!(
        "durable ingest (group commit, fsync per commit), median of {runs}: {d:.0} records/s {:?}",
        durable.iter().map(|x| x.round()).collect::<Vec<_>>()
    );
    if !baseline.is_empty() {
        let b = median(&mut baseline);
        println!(
            "baseline (read + parse + canonicalize + hash, {threads} threads), median of {runs}: {b:.0} records/s {:?}",
            baseline.iter().map(|x| x.round()).collect::<Vec<_>>()
        );
        println!("ratio durable / baseline: {:.2}", d / b);
    }
    let (db, records) = last_db;
    println!(
        "disk: {:.1} MiB ledger.redb, {:.0} bytes/record (input {:.0} bytes/record)",
        db as f64 / 1048576.0,
        db as f64 / records as f64,
        bytes as f64 / records as f64
    );
    println!("peak RSS: {:.0} MiB", peak_rss_mib());
    Ok(())
}
