//! `healthledger demo`: the whole record-log story in one command, in a throw-away data dir.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use hl_ledger::pseudonym::CN_RESIDENT_ID_SYSTEM;

use crate::cli::{DemoArgs, ExportArgs, InitArgs, JsonArg, VerifyArgs};
use crate::synth;

pub fn run(a: &DemoArgs) -> Result<()> {
    let tmp = tempfile::Builder::new()
        .prefix("healthledger-demo-")
        .tempdir()
        .context("creating a temporary data dir")?;
    let root = tmp.path().to_owned();
    let result = run_in(&root, a);
    if a.keep {
        let kept = tmp.keep();
        println!("\ndata dir kept at {}", kept.display());
        println!(
            "try: healthledger --data-dir {} log checkpoint",
            kept.display()
        );
    }
    result
}

fn run_in(root: &Path, a: &DemoArgs) -> Result<()> {
    let data_dir = root.join("data");
    let synth_dir = root.join("synth");

    println!("== 1. init: a new institution with its own Ed25519 log key");
    let node = super::init::run(
        &data_dir,
        &InitArgs {
            institution: "Demo Community Health Centre".into(),
            origin: None,
            consortium_key: None,
        },
    )?;
    let ledger = node.open_ledger()?;
    println!("   origin {}", ledger.origin());
    println!("   key    {}", ledger.verifier());

    println!("== 2. synth: {} residents (seed {})", a.residents, a.seed);
    let opts = synth::SynthOptions::new(a.residents, a.seed, time::macros::date!(2026 - 01 - 01));
    let written = synth::write_population(&opts, &synth_dir)?;
    println!(
        "   {} bundles, {} FHIR resources in {}",
        written.files,
        written.resources,
        synth_dir.display()
    );

    println!("== 3. ingest (each bundle all or nothing, durable before it is acknowledged)");
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&synth_dir)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    paths.sort();
    let input = node.input_options()?;
    let started = Instant::now();
    let outcomes = super::ingest::ingest_files(&ledger, &input, &paths, |_| {});
    let secs = started.elapsed().as_secs_f64();
    let mut added = 0;
    for o in &outcomes {
        match &o.result {
            Ok(r) => added += r.entries.len(),
            Err(e) => bail!("ingest refused {}: {e}", o.file.display()),
        }
    }
    println!(
        "   {added} records in {secs:.2} s ({:.0} records/s)",
        added as f64 / secs.max(1e-9)
    );

    println!(
        "== 4. quality control: 46 rules, programmes and completeness for every resident, as of {}",
        opts.reference_date
    );
    let at = opts.reference_date.with_hms(23, 59, 59)?.assume_utc();
    let assessor = super::qc::assessor()?;
    let residents = crate::qc::all_residents(&ledger)?;
    let started = Instant::now();
    let (mut findings, mut scores, mut events, mut changed) = (0, Vec::new(), 0, Vec::new());
    for r in &residents {
        let tree = hl_indexer::tree::ResidentTree::from_log(&ledger, r)?;
        let (x, summary) = crate::qc::evaluate_resident(&ledger, &assessor, &tree, at)?;
        findings += x.findings.len();
        events += x.events.len();
        scores.push(x.score);
        changed.extend(summary);
    }
    let summary = assessor.scorer.summary(&scores);
    let appended = crate::qc::append_summaries(&ledger, &changed)?;
    println!(
        "   {} residents in {:.2} s: {findings} findings, {events} events; completeness mean {:.1}, {:.1}% under 60",
        residents.len(),
        started.elapsed().as_secs_f64(),
        summary.mean,
        100.0 * summary.incomplete_share
    );
    println!(
        "   {} QC summary records appended: the QC status is now covered by the checkpoint",
        appended
    );

    println!("== 5. the signed checkpoint (C2SP tlog-checkpoint + signed-note)");
    for line in ledger.checkpoint()?.lines() {
        println!("   {line}");
    }

    println!(
        "== 6. anchor it on the embedded chain (contract deployed, institution registered on first use)"
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let anchored = rt.block_on(async {
        let (chain, _) = crate::chain::embedded::open(&node).await?;
        let state = crate::chain::state::AnchorState::open(&node.data_dir)?;
        crate::chain::anchor::anchor_once(&ledger, &chain, &state).await
    })?;
    if let crate::chain::anchor::AnchorOutcome::Anchored(r) = &anchored {
        println!(
            "   size {} anchored in tx {} (block {}, {} gas); the contract checked nothing was rewritten",
            r.size, r.tx_hash, r.block_number, r.gas_used
        );
    }

    let first = synth_dir.join("resident-000001.json");
    let resident_id = first_cn_id(&first)?;
    let bundle_path = root.join("resident-proof.json");
    println!("== 7. export every record of resident {resident_id} with inclusion proofs");
    let n = super::log::export(
        &ledger,
        &node.pseudonymizer()?,
        &ExportArgs {
            resident: resident_id,
            out: Some(bundle_path.clone()),
        },
        None,
    )?;
    println!("   {n} records -> {}", bundle_path.display());
    ledger.close();

    println!("== 8. verify the bundle offline, pinned to the institution's key");
    super::verify::verify(&VerifyArgs {
        file: Some(bundle_path.clone()),
        bundle_flag: None,
        key: Some(node.signer()?.verifier().to_string()),
        json: JsonArg { json: false },
        chain: Default::default(),
    })?;

    println!("== 9. tamper with one byte of the bundle: verification must fail");
    let text = std::fs::read_to_string(&bundle_path)?;
    let tampered = tamper_first_digit(&text).context("no digit to change in the bundle")?;
    let tampered_path = root.join("resident-proof-tampered.json");
    std::fs::write(&tampered_path, tampered)?;
    let report = super::verify::check(&VerifyArgs {
        file: Some(tampered_path),
        bundle_flag: None,
        key: None,
        json: JsonArg { json: false },
        chain: Default::default(),
    })?;
    if report.ok() {
        bail!("a tampered bundle verified: this is a bug");
    }
    for f in &report.failures {
        println!("   refused as expected: {f}");
    }
    println!("\nDemo finished: every step behaved as expected.");
    Ok(())
}

fn first_cn_id(bundle: &Path) -> Result<String> {
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(bundle)?)?;
    v["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| e["resource"]["identifier"].as_array())
        .flatten()
        .find(|i| i["system"] == CN_RESIDENT_ID_SYSTEM)
        .and_then(|i| i["value"].as_str())
        .map(str::to_owned)
        .with_context(|| format!("no resident id in {}", bundle.display()))
}

/// Changes the first digit inside a content's value (`"value":` then a number).
fn tamper_first_digit(text: &str) -> Option<String> {
    let at = text.find("\"valueQuantity\"")?;
    let digit = text[at..].find(|c: char| c.is_ascii_digit())? + at;
    let mut bytes = text.as_bytes().to_vec();
    bytes[digit] = if bytes[digit] == b'9' {
        b'1'
    } else {
        bytes[digit] + 1
    };
    String::from_utf8(bytes).ok()
}
