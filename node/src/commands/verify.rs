//! `healthledger verify` and `healthledger fsck`.

use anyhow::{Context, Result, bail};
use hl_ledger::Ledger;
use hl_ledger::note::{Checkpoint, NoteVerifier};
use hl_ledger::proof_bundle::{ProofBundle, VerifyReport};
use serde_json::json;

use crate::chain::verify::{ChainVerdict, verify_on_chain};
use crate::cli::VerifyArgs;
use crate::config::{LEDGER_FILE, Node};

/// Checks a bundle; `Err` only when it cannot be checked at all.
pub fn check(a: &VerifyArgs) -> Result<VerifyReport> {
    let bytes =
        std::fs::read(a.bundle()).with_context(|| format!("reading {}", a.bundle().display()))?;
    let pinned = match &a.key {
        Some(k) => Some(NoteVerifier::parse(k).context("--key")?),
        None => None,
    };
    let bundle = ProofBundle::parse(&bytes).with_context(|| a.bundle().display().to_string())?;
    bundle
        .verify(pinned.as_ref())
        .with_context(|| a.bundle().display().to_string())
}

/// The on-chain part of `verify --rpc --contract`.
fn check_chain(a: &VerifyArgs, rpc: &str, contract: &str) -> Result<ChainVerdict> {
    let bundle = ProofBundle::parse(&std::fs::read(a.bundle())?)?;
    let key = NoteVerifier::parse(&bundle.verifier_key)?;
    let cp = Checkpoint::open_signed(&bundle.checkpoint, &key)?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(async {
        let c = crate::chain::read_only(rpc, contract).await?;
        verify_on_chain(&c, &cp, &key, bundle.anchor_consistency.as_ref()).await
    })
}

pub fn verify(a: &VerifyArgs) -> Result<()> {
    let report = check(a)?;
    let on_chain = match (&a.chain.rpc, &a.chain.contract) {
        (Some(rpc), Some(contract)) if report.ok() => Some(
            check_chain(a, rpc, contract)
                .with_context(|| format!("{}: on-chain check", a.bundle().display()))?,
        ),
        (None, None) | (Some(_), Some(_)) => None,
        _ => bail!("--rpc and --contract go together"),
    };
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
            a.bundle().display(),
            report.failures.len(),
            report.records.len()
        );
    }
    if let Some(v) = &on_chain {
        if a.json.json {
            super::print_json(&json!({"on_chain": v}))?;
        } else if v.exact {
            println!(
                "on chain: key registered for {} ({}), checkpoint is anchored head #{}",
                report.origin, v.member_status, v.head_index
            );
        } else {
            println!(
                "on chain: key registered for {} ({}), checkpoint consistently extends anchored head #{} (size {})",
                report.origin, v.member_status, v.head_index, v.head_size
            );
        }
    }
    if !a.json.json {
        println!("OK: {} records verified", report.records.len());
    }
    Ok(())
}

pub fn fsck(node: &Node, json_out: bool) -> Result<()> {
    let path = node.data_dir.join(LEDGER_FILE);
    let report = Ledger::fsck_path(&path, node.signer()?.verifier()).map_err(|e| match e {
        hl_ledger::StoreError::InUse => crate::config::in_use("log", &path),
        e => anyhow::Error::new(e).context(format!("checking {}", path.display())),
    })?;
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
