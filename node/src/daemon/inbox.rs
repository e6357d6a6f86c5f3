//! The inbox: the HIS/EMR (or an operator) drops FHIR files into `<data-dir>/inbox/`; each is
//! ingested all or nothing, then moved to `inbox/done/` or, with a `.error` file beside it, to
//! `inbox/rejected/`. Producers write under another name and rename into place, so that no
//! half-written file is picked up: only `*.json` and `*.ndjson` are read.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use hl_ledger::Ledger;
use tokio::sync::watch;

use crate::config::Node;

pub async fn run(
    node: Arc<Node>,
    ledger: Arc<Ledger>,
    mut stop: watch::Receiver<bool>,
) -> Result<()> {
    let dir = node.path(&node.config.inbox.dir);
    for d in [dir.clone(), dir.join("done"), dir.join("rejected")] {
        std::fs::create_dir_all(&d).with_context(|| format!("creating {}", d.display()))?;
    }
    let input = node.input_options()?;
    let poll = Duration::from_millis(node.config.inbox.poll_ms.max(10));
    loop {
        for file in waiting_files(&dir)? {
            if *stop.borrow() {
                return Ok(());
            }
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let (input, path) = (input.clone(), file.clone());
            let prepared = tokio::task::spawn_blocking(move || {
                let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                input
                    .prepare(&name_of(&path), &bytes)
                    .map_err(|e| e.to_string())
            })
            .await
            .context("preparing an inbox file")?;
            let outcome = match prepared {
                Ok(p) => ledger
                    .submit_async(p)
                    .await
                    .unwrap_or_else(|_| Err(hl_ledger::StoreError::WriterGone.into()))
                    .map_err(|e| e.to_string()),
                Err(e) => Err(e),
            };
            match outcome {
                Ok(r) => {
                    tracing::info!(file = %name, records = r.entries.len(), size = r.size, "ingested");
                    std::fs::rename(&file, dir.join("done").join(&name))?;
                }
                Err(e) => {
                    tracing::warn!(file = %name, error = %e, "rejected");
                    std::fs::write(
                        dir.join("rejected").join(format!("{name}.error")),
                        format!("{e}\n"),
                    )?;
                    std::fs::rename(&file, dir.join("rejected").join(&name))?;
                }
            }
        }
        if super::sleep_or_stop(poll, &mut stop).await {
            return Ok(());
        }
    }
}

fn name_of(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Inbox files in name order (producers can number them to fix the ingest order).
fn waiting_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.is_file()
                && matches!(
                    p.extension().and_then(|e| e.to_str()),
                    Some("json" | "ndjson")
                )
        })
        .collect();
    out.sort();
    Ok(out)
}
