//! `healthledger dev`: the newcomer's one command. A node on loopback with an institution,
//! staff tokens for every role, a synthetic population ingested with QC and anchored on the
//! embedded chain, and a banner with the URLs, tokens and example requests that work as printed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use hl_api::auth::Role;
use hl_ledger::Ledger;
use hl_ledger::record::Envelope;

use crate::cli::{DevArgs, InitArgs};
use crate::config::{CONFIG_FILE, Node};
use crate::synth;

pub const INSTITUTION: &str = "HealthLedger Dev Community Health Centre";

/// The dev tokens' secrets, kept in the data dir (owner-only) so that a reused dir prints the
/// same tokens; config.toml keeps only their hashes, as for every token.
const TOKENS_FILE: &str = "dev-tokens.json";

/// How many records to look at for an example resident before giving up.
const PATIENT_SCAN_LIMIT: u64 = 100_000;

pub fn run(data_dir: Option<&Path>, a: &DevArgs) -> Result<()> {
    match data_dir {
        Some(dir) => serve(dir, a, false),
        None => {
            let tmp = tempfile::Builder::new()
                .prefix("healthledger-dev-")
                .tempdir()
                .context("creating a temporary data dir")?;
            // Dropped (removed) when the node stops, by Ctrl-C, SIGTERM or an error.
            serve(tmp.path(), a, true)
        }
    }
}

fn serve(dir: &Path, a: &DevArgs, throwaway: bool) -> Result<()> {
    port_free(&a.listen)?;
    if throwaway {
        println!(
            "data dir {} (throw-away: removed when the node stops; --data-dir DIR keeps one)",
            dir.display()
        );
    } else {
        println!("data dir {}", dir.display());
    }
    let mut node = if dir.join(CONFIG_FILE).exists() {
        Node::load(dir)?
    } else {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        println!("init: {INSTITUTION}");
        super::init::run(
            dir,
            &InitArgs {
                institution: INSTITUTION.into(),
                origin: None,
                consortium_key: None,
            },
        )?
    };
    let tokens = staff_tokens(dir)?;
    // Tokens were appended to config.toml: load it again so the API knows them.
    if !tokens.is_empty() {
        node = Node::load(dir)?;
    }

    let ledger = node.open_ledger()?;
    let prepared = populate(&node, &ledger, a)
        .and_then(|()| example_patient(&ledger))
        .and_then(|example| anchor(&node, &ledger).map(|()| example));
    // The node opens the log itself: this handle must be gone (closed and dropped) first.
    ledger.close();
    drop(ledger);
    let example = prepared?;

    node.config.api.enabled = true;
    node.config.api.listen = a.listen.clone();
    let listen = a.listen.clone();
    let result = crate::daemon::run_with(node, |url| match url {
        Some(url) => banner(url, &tokens, &example),
        None => println!("the API did not start"),
    });
    result.map_err(|e| {
        let taken = e
            .chain()
            .filter_map(|c| c.downcast_ref::<std::io::Error>())
            .any(|io| io.kind() == std::io::ErrorKind::AddrInUse);
        if taken { in_use(&listen, e) } else { e }
    })
}

/// Fails early, before minutes of setup, when `--listen` is taken; the node's own bind still
/// decides (something may take the port in between).
fn port_free(listen: &str) -> Result<()> {
    match std::net::TcpListener::bind(listen) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AddrInUse => Err(in_use(listen, e.into())),
        Err(e) => Err(e).with_context(|| format!("--listen '{listen}'")),
    }
}

fn in_use(listen: &str, e: anyhow::Error) -> anyhow::Error {
    e.context(format!(
        "{listen} is taken (another node?): pick a free port with --listen 127.0.0.1:0"
    ))
}

/// One token per staff role: the ones kept in the data dir if config.toml still has them,
/// new ones otherwise.
fn staff_tokens(dir: &Path) -> Result<BTreeMap<&'static str, String>> {
    let path = dir.join(TOKENS_FILE);
    let kept: BTreeMap<String, String> = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .with_context(|| format!("{} is not a JSON map of role to token", path.display()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    let config = Node::load(dir)?.config.api.tokens;
    let mut out = BTreeMap::new();
    let mut created = false;
    for role in Role::ALL {
        let still_valid = kept.get(role.as_str()).filter(|secret| {
            hl_api::auth::tokens::find(&config, secret).is_some_and(|t| t.role == role)
        });
        let secret = match still_valid {
            Some(s) => s.clone(),
            None => {
                created = true;
                let taken = |n: &str| config.iter().any(|t| t.name == n);
                let base = format!("dev-{}", role.as_str());
                let name = (1..)
                    .map(|i| {
                        if i == 1 {
                            base.clone()
                        } else {
                            format!("{base}-{i}")
                        }
                    })
                    .find(|n| !taken(n))
                    .unwrap_or(base);
                super::token::create(dir, &name, role)?
            }
        };
        out.insert(role.as_str(), secret);
    }
    if created {
        match std::fs::remove_file(&path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).with_context(|| format!("replacing {}", path.display())),
        }
        super::init::write_secret(&path, &(serde_json::to_string_pretty(&out)? + "\n"))?;
    }
    Ok(out)
}

/// Synthesizes and ingests a population (with QC) into an empty log; leaves a log with
/// records as it is.
fn populate(node: &Node, ledger: &Ledger, a: &DevArgs) -> Result<()> {
    let size = ledger.head()?.size;
    if size > 0 {
        println!("log has {size} records: not ingesting again");
        return Ok(());
    }
    let started = Instant::now();
    let tmp = tempfile::Builder::new()
        .prefix("healthledger-dev-synth-")
        .tempdir()
        .context("creating a temporary synth dir")?;
    let opts = synth::SynthOptions::new(a.residents, a.seed, time::macros::date!(2026 - 01 - 01));
    synth::write_population(&opts, tmp.path())?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(tmp.path())?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    files.sort();
    let outcomes = super::ingest::ingest_files(ledger, &node.input_options()?, &files, |_| {});
    let mut indices = Vec::new();
    for o in &outcomes {
        match &o.result {
            Ok(r) => indices.extend(r.entries.iter().map(|e| e.index)),
            Err(e) => bail!("ingest refused {}: {e}", o.file.display()),
        }
    }
    let residents = crate::qc::residents_of(ledger, indices.clone())?;
    let qc = crate::qc::refresh_residents(
        ledger,
        &super::qc::assessor()?,
        &residents,
        time::OffsetDateTime::now_utc(),
        |_, _| {},
    )?;
    println!(
        "ingested {} synthetic residents (seed {}): {} records, {} QC findings, in {:.1} s",
        a.residents,
        a.seed,
        indices.len(),
        qc.findings,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// An example resident to show: the first Patient in the log.
fn example_patient(ledger: &Ledger) -> Result<String> {
    let size = ledger.head()?.size.min(PATIENT_SCAN_LIMIT);
    for index in 0..size {
        let Some(rec) = ledger.record(index)? else {
            continue;
        };
        let env: Envelope = serde_json::from_slice(&rec.envelope)
            .with_context(|| format!("leaf {index}: bad envelope"))?;
        if env.kind == "Patient" {
            return Ok(env.id);
        }
    }
    bail!("the log has no Patient in its first {size} records: nothing to show")
}

/// Anchors the log's head on the chain before serving, so the banner's data is anchored.
fn anchor(node: &Node, ledger: &Ledger) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let outcome = rt.block_on(async {
        let (chain, _) = crate::chain::embedded::open(node).await?;
        let state = crate::chain::state::AnchorState::open(&node.data_dir)?;
        crate::chain::anchor::anchor_once(ledger, &chain, &state).await
    })?;
    match outcome {
        crate::chain::anchor::AnchorOutcome::Anchored(r) => println!(
            "anchored size {} on the embedded chain (tx {}, block {})",
            r.size, r.tx_hash, r.block_number
        ),
        crate::chain::anchor::AnchorOutcome::UpToDate { size } => {
            println!("size {size} is anchored already")
        }
    }
    Ok(())
}

/// The example requests, as a shell runs them: `$everything` is single-quoted.
pub fn examples(url: &str, tokens: &BTreeMap<&str, String>, patient: &str) -> [String; 3] {
    let bearer = |role: &str| {
        format!(
            "-H 'Authorization: Bearer {}'",
            tokens.get(role).map_or("", String::as_str)
        )
    };
    [
        format!("curl -s {url}/fhir/metadata"),
        format!(
            "curl -s {} '{url}/fhir/Patient/{patient}/$everything'",
            bearer("clinician")
        ),
        format!("curl -s {} {url}/v1/qc/summary", bearer("admin")),
    ]
}

fn banner(url: &str, tokens: &BTreeMap<&str, String>, patient: &str) {
    let mut b = String::new();
    b.push_str("\nHealthLedger dev node is serving\n");
    b.push_str(&format!("  API       {url}\n"));
    b.push_str(&format!("  OpenAPI   {url}/openapi.json\n"));
    b.push_str(&format!("  FHIR      {url}/fhir/metadata\n"));
    b.push_str("  staff tokens (Authorization: Bearer <token>):\n");
    for role in Role::ALL {
        if let Some(t) = tokens.get(role.as_str()) {
            b.push_str(&format!("    {:<10} {t}\n", role.as_str()));
        }
    }
    b.push_str(&format!("  resident  Patient/{patient}\n"));
    b.push_str("  try:\n");
    for cmd in examples(url, tokens, patient) {
        b.push_str(&format!("    {cmd}\n"));
    }
    b.push_str("  API reference: docs/api.md. Stop with Ctrl-C.\n");
    print!("{b}");
    use std::io::Write;
    let _ = std::io::stdout().flush();
}
