//! `healthledger ingest`: files into the log, prepared on every core, written by group commit.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use anyhow::{Result, bail};
use hl_ledger::input::InputOptions;
use hl_ledger::{Ledger, PendingReceipt, Receipt};
use serde_json::json;

/// Submissions queued ahead of the one being reported; bounds memory on huge inputs.
const IN_FLIGHT: usize = 1024;

pub struct FileOutcome {
    pub file: PathBuf,
    pub result: Result<Receipt, String>,
}

type Pending = (usize, Result<PendingReceipt, String>);

/// Ingests `files`, each all or nothing, and reports per file in input order through
/// `on_done`. Files are read and prepared in parallel; the log's writer batches whatever is
/// queued into one durable commit.
pub fn ingest_files(
    ledger: &Ledger,
    input: &InputOptions,
    files: &[PathBuf],
    mut on_done: impl FnMut(&FileOutcome),
) -> Vec<FileOutcome> {
    let next = AtomicUsize::new(0);
    // One core stays with the log's writer, the single sequential stage of the pipeline.
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get().saturating_sub(1).max(1))
        .min(files.len().max(1));
    let (tx, rx) = mpsc::sync_channel::<Pending>(IN_FLIGHT);
    let mut outcomes: Vec<Option<FileOutcome>> = (0..files.len()).map(|_| None).collect();
    std::thread::scope(|s| {
        for _ in 0..workers {
            let tx = tx.clone();
            let next = &next;
            s.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    let pending = prepare_file(input, path).map(|p| ledger.submit_async(p));
                    if tx.send((i, pending)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        // Report in input order, whatever order the workers finish in.
        let mut waiting: Vec<Option<Result<_, String>>> = (0..files.len()).map(|_| None).collect();
        let mut reported = 0;
        for (i, pending) in rx {
            waiting[i] = Some(pending);
            while reported < files.len() {
                let Some(p) = waiting[reported].take() else {
                    break;
                };
                let result = p.and_then(|rx| match rx.blocking_recv() {
                    Ok(Ok(r)) => Ok(r),
                    Ok(Err(e)) => Err(e.to_string()),
                    Err(_) => Err("the log writer stopped".to_owned()),
                });
                let outcome = FileOutcome {
                    file: files[reported].clone(),
                    result,
                };
                on_done(&outcome);
                outcomes[reported] = Some(outcome);
                reported += 1;
            }
        }
    });
    outcomes.into_iter().flatten().collect()
}

fn prepare_file(input: &InputOptions, path: &Path) -> Result<hl_ledger::input::Prepared, String> {
    let name = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| format!("{name}: {e}"))?;
    if meta.len() > input.max_bytes as u64 {
        return Err(format!(
            "{name}: input is {} bytes, over the limit of {} bytes (ingest.max_input_bytes)",
            meta.len(),
            input.max_bytes
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("{name}: {e}"))?;
    input.prepare(&name, &bytes).map_err(|e| e.to_string())
}

pub fn run(ledger: &Ledger, input: &InputOptions, args: &crate::cli::IngestArgs) -> Result<()> {
    let (files, json_out) = (args.files.as_slice(), args.json.json);
    let total_bytes: u64 = files
        .iter()
        .filter_map(|f| std::fs::metadata(f).ok())
        .map(|m| m.len())
        .sum();
    let show_bar = std::io::stderr().is_terminal() && (files.len() > 20 || total_bytes > 16 << 20);
    let bar = if show_bar {
        let b = indicatif::ProgressBar::new(files.len() as u64);
        if let Ok(style) = indicatif::ProgressStyle::with_template(
            "{bar:40} {pos}/{len} files, {msg} records [{elapsed_precise}, eta {eta}]",
        ) {
            b.set_style(style);
        }
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let mut records = 0usize;
    let outcomes = ingest_files(ledger, input, files, |o| {
        bar.inc(1);
        match &o.result {
            Ok(r) => {
                records += r.entries.len();
                bar.set_message(records.to_string());
                if !json_out && !show_bar {
                    println!(
                        "{}: {} records{}",
                        o.file.display(),
                        r.entries.len(),
                        index_range(r)
                    );
                }
            }
            // A lone file's error is the command's error, printed once by main.
            Err(e) if files.len() > 1 => bar.suspend(|| eprintln!("error: {e}")),
            Err(_) => {}
        }
    });
    bar.finish_and_clear();
    let failed = outcomes.iter().filter(|o| o.result.is_err()).count();
    let qc = if args.no_qc {
        None
    } else {
        let indices: Vec<u64> = outcomes
            .iter()
            .filter_map(|o| o.result.as_ref().ok())
            .flat_map(|r| r.entries.iter().map(|e| e.index))
            .collect();
        // The records are durable already: a QC failure must not read as a failed ingest. The
        // node (or the next ingest touching these residents) brings the summaries up to date.
        match refresh_qc(ledger, indices) {
            Ok(q) => Some(q),
            Err(e) => {
                bar.suspend(|| {
                    eprintln!("warning: the records landed, but QC was not updated: {e:#}")
                });
                None
            }
        }
    };
    let checkpoint = ledger.checkpoint()?;
    let head = ledger.head()?;
    if json_out {
        let files: Vec<_> = outcomes
            .iter()
            .map(|o| match &o.result {
                Ok(r) => json!({
                    "file": o.file.display().to_string(),
                    "records": r.entries.len(),
                    "first_index": r.entries.first().map(|e| e.index),
                    "last_index": r.entries.last().map(|e| e.index),
                }),
                Err(e) => json!({"file": o.file.display().to_string(), "error": e}),
            })
            .collect();
        super::print_json(&json!({
            "files": files,
            "records_added": records,
            "qc": qc.as_ref().map(|q| json!({
                "residents_evaluated": q.evaluated,
                "findings": q.findings,
                "summaries_appended": q.appended,
            })),
            "size": head.size,
            "root": hex::encode(head.root),
            "checkpoint": checkpoint,
        }))?;
    } else {
        if show_bar {
            println!("{} files, {records} records added", files.len() - failed);
        }
        if let Some(q) = &qc {
            println!(
                "QC: {} residents evaluated, {} findings, {} QC summary records appended",
                q.evaluated, q.findings, q.appended
            );
        }
        print!("{checkpoint}");
    }
    if let [only] = outcomes.as_slice()
        && let Err(e) = &only.result
    {
        bail!("{e}");
    }
    if failed > 0 {
        bail!(
            "{failed} of {} files refused; nothing of them was written",
            files.len()
        );
    }
    Ok(())
}

fn index_range(r: &Receipt) -> String {
    match (r.entries.first(), r.entries.last()) {
        (Some(a), Some(b)) if a.index == b.index => format!(" (index {})", a.index),
        (Some(a), Some(b)) => format!(" (indices {}..={})", a.index, b.index),
        _ => String::new(),
    }
}

/// Re-assesses the residents of the records at `indices` and appends their changed summaries.
fn refresh_qc(ledger: &Ledger, indices: Vec<u64>) -> Result<crate::qc::Refresh> {
    let residents = crate::qc::residents_of(ledger, indices)?;
    let assessor = super::qc::assessor()?;
    crate::qc::refresh_residents(
        ledger,
        &assessor,
        &residents,
        time::OffsetDateTime::now_utc(),
        |_, _| {},
    )
}
