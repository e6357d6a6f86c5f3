//! `healthledger verify` and `healthledger fsck`.

use anyhow::{Context, Result, bail};
use hl_ledger::Ledger;
use hl_ledger::note::NoteVerifier;
use hl_ledger::proof_bundle::{ProofBundle, VerifyReport};
use serde_json::json;

use crate::cli::VerifyArgs;
use crate::config::{LEDGER_FILE, Node};

/// Checks a bundle; `Err` only when it cannot be checked at all.
pub fn check(a: &VerifyArgs) -> Result<VerifyReport> {
    let bytes =
        std::fs::read(&a.bundle).with_context(|| format!("reading {}", a.bundle.display()))?;
    let pinned = match &a.key {
        Some(k) => Some(NoteVerifier::parse(k).context("--key")?),
        None => None,
    };
    let bundle = ProofBundle::parse(&bytes).with_context(|| a.bundle.display().to_string())?;
    bundle
        .verify(pinned.as_ref())
        .with_context(|| a.bundle.display().to_string())
}

pub fn verify(a: &VerifyArgs) -> Result<()> {
    let report = check(a)?;
    if a.json.json {
        super::print_json(&report)?;
    } else {
        println!(
            "checkpoint: {} size {} root {}",
            report.origin, report.size, report.root
        );
        println!(
            "signed by: {}{}",
            report.verifier_key,
            if report.key_pinned {
                " (the key you gave)"
            } else {
                " (key taken from the bundle; pass --key to pin the one you trust)"
            }
        );
        for r in &report.records {
            println!(
                "record {}: {}/{} v{}: content {}, inclusion {}",
                r.index,
                r.kind.as_deref().unwrap_or("?"),
                r.id.as_deref().unwrap_or("?"),
                r.version.map_or("?".into(), |v| v.to_string()),
                if r.content_verified {
                    "ok"
                } else {
                    "NOT VERIFIED"
                },
                if r.included { "ok" } else { "FAILED" },
            );
        }
        for f in &report.failures {
            eprintln!("FAILED: {f}");
        }
    }
    if !report.ok() {
        bail!(
            "{}: {} of {} records failed verification",
            a.bundle.display(),
            report.failures.len(),
            report.records.len()
        );
    }
    if !a.json.json {
        println!("OK: {} records verified", report.records.len());
    }
    Ok(())
}

pub fn fsck(node: &Node, json_out: bool) -> Result<()> {
    let path = node.data_dir.join(LEDGER_FILE);
    let report = Ledger::fsck_path(&path, node.signer()?.verifier())
        .with_context(|| format!("checking {}", path.display()))?;
    if json_out {
        let problems: Vec<_> = report
            .problems
            .iter()
            .map(|p| json!({"index": p.index, "problem": p.what}))
            .collect();
        super::print_json(&json!({
            "size": report.size,
            "records_checked": report.records_checked,
            "contents_checked": report.contents_checked,
            "nodes_checked": report.nodes_checked,
            "ok": report.ok(),
            "problems": problems,
        }))?;
    } else {
        for p in &report.problems {
            println!("MISMATCH {p}");
        }
        println!(
            "checked {} records, {} contents, {} tree nodes",
            report.records_checked, report.contents_checked, report.nodes_checked
        );
    }
    if !report.ok() {
        bail!("fsck found {} problems", report.problems.len());
    }
    Ok(())
}
