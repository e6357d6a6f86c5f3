//! Ingest over HTTP: a real `healthledger node` (the release binary) takes `synth` transaction
//! bundles from concurrent clients on loopback; records/s, requests/s and p50/p99 request
//! latency, every request answered only once durable.
//!
//! `cargo bench -p hl-node --bench http_ingest` — env: HL_BENCH_RESIDENTS (default 2000),
//! HL_BENCH_CLIENTS (default 64), HL_BENCH_QC=1 to keep the node's QC task on (it re-evaluates
//! the residents each write touches and appends their summaries; off by default so the number
//! is the write path's).

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use common::{env_usize, peak_rss_mib};

const BIN: &str = env!("CARGO_BIN_EXE_healthledger");

fn hl(data: &Path) -> Command {
    let mut c = Command::new(BIN);
    c.arg("--data-dir").arg(data);
    c.env_remove("HEALTHLEDGER_DATA_DIR");
    c
}

fn run(data: &Path, args: &[&str]) -> Result<String> {
    let out = hl(data)
        .args(args)
        .output()
        .with_context(|| format!("running healthledger {args:?}"))?;
    if !out.status.success() {
        bail!(
            "healthledger {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The node, stopped with SIGTERM on drop.
struct NodeProc(Child);

impl Drop for NodeProc {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_node(data: &Path, qc: bool) -> Result<(NodeProc, String)> {
    let mut child = hl(data)
        .args(["--log", "warn", "node"])
        .env("HEALTHLEDGER_API__LISTEN", "127.0.0.1:0")
        .env(
            "HEALTHLEDGER_QC__ENABLED",
            if qc { "true" } else { "false" },
        )
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .context("starting healthledger node")?;
    let stderr = child.stderr.take().context("node stderr")?;
    let node = NodeProc(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            match line.split("API listening on ").nth(1) {
                Some(url) => {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(url.trim().to_owned());
                    }
                }
                None => eprintln!("node: {line}"),
            }
        }
    });
    let url = rx
        .recv_timeout(Duration::from_secs(60))
        .context("the node did not start its API within 60 s")?;
    Ok((node, url))
}

/// Peak resident memory of process `pid`, MiB.
fn peak_rss_of(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn log_size(client: &reqwest::blocking::Client, url: &str) -> Result<u64> {
    let v: serde_json::Value = client.get(format!("{url}/readyz")).send()?.json()?;
    v["size"].as_u64().context("readyz without size")
}

fn main() -> Result<()> {
    let residents = env_usize("HL_BENCH_RESIDENTS", 2000);
    let clients = env_usize("HL_BENCH_CLIENTS", 64).max(1);
    let qc = std::env::var("HL_BENCH_QC").is_ok_and(|v| v == "1");
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    run(&data, &["init", "--institution", "HTTP Bench Hospital"])?;
    let token = run(
        &data,
        &["token", "create", "--name", "bench", "--role", "ingest"],
    )?
    .trim()
    .to_owned();

    let synth = dir.path().join("synth");
    let t = Instant::now();
    run(
        &data,
        &[
            "synth",
            "--residents",
            &residents.to_string(),
            "--seed",
            "1",
            "--out",
            synth.to_str().context("temp path is not UTF-8")?,
        ],
    )?;
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&synth)?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    paths.retain(|p| p.extension().is_some_and(|e| e == "json"));
    paths.sort();
    let bodies: Vec<Vec<u8>> = paths
        .iter()
        .map(std::fs::read)
        .collect::<std::io::Result<_>>()?;
    let bytes: usize = bodies.iter().map(Vec::len).sum();
    println!(
        "synth: {residents} residents, {} bundles, {:.1} MiB in {:.1} s",
        bodies.len(),
        bytes as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );

    let (node, url) = start_node(&data, qc)?;
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(120))
        .pool_max_idle_per_host(clients)
        .build()?;
    let ready = Instant::now();
    while client
        .get(format!("{url}/readyz"))
        .send()
        .map_or(true, |r| !r.status().is_success())
    {
        if ready.elapsed() > Duration::from_secs(60) {
            bail!("the node never became ready");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let size_before = log_size(&client, &url)?;

    let next = AtomicUsize::new(0);
    let records = AtomicUsize::new(0);
    let latencies = Mutex::new(Vec::with_capacity(bodies.len()));
    let failure: Mutex<Option<String>> = Mutex::new(None);
    let endpoint = format!("{url}/fhir");
    let started = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..clients {
            s.spawn(|| {
                let mut mine = Vec::new();
                while let Some(body) = bodies.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let t = Instant::now();
                    let r = client
                        .post(&endpoint)
                        .bearer_auth(&token)
                        .header("content-type", "application/fhir+json")
                        .body(body.clone())
                        .send()
                        .and_then(|r| {
                            let status = r.status();
                            r.text().map(|t| (status, t))
                        });
                    let (status, text) = match r {
                        Ok(x) => x,
                        Err(e) => {
                            *failure.lock().unwrap_or_else(|p| p.into_inner()) =
                                Some(format!("request failed: {e}"));
                            break;
                        }
                    };
                    mine.push(t.elapsed().as_secs_f64() * 1000.0);
                    if !status.is_success() {
                        *failure.lock().unwrap_or_else(|p| p.into_inner()) =
                            Some(format!("{status}: {text}"));
                        break;
                    }
                    let n = serde_json::from_str::<serde_json::Value>(&text)
                        .ok()
                        .and_then(|v| v["entry"].as_array().map(Vec::len))
                        .unwrap_or(0);
                    records.fetch_add(n, Ordering::Relaxed);
                }
                latencies
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .extend(mine);
            });
        }
    });
    let secs = started.elapsed().as_secs_f64();
    if let Some(f) = failure.into_inner().unwrap_or_else(|p| p.into_inner()) {
        bail!("a request failed: {f}");
    }
    let records = records.into_inner();
    let size_after = log_size(&client, &url)?;
    let mut lat = latencies.into_inner().unwrap_or_else(|p| p.into_inner());
    lat.sort_by(f64::total_cmp);
    let pct = |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1];
    println!(
        "{clients} clients, {} transaction bundles, {records} records acknowledged (log grew by {}; QC {}):",
        lat.len(),
        size_after - size_before,
        if qc { "on" } else { "off" }
    );
    println!(
        "  {:.0} records/s, {:.1} requests/s, {:.1} MiB/s of request bodies, in {secs:.2} s",
        records as f64 / secs,
        lat.len() as f64 / secs,
        bytes as f64 / 1048576.0 / secs
    );
    println!(
        "  request latency: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        pct(0.50),
        pct(0.99),
        pct(1.0)
    );
    println!(
        "  peak RSS: node {:.0} MiB, load generator {:.0} MiB",
        peak_rss_of(node.0.id()),
        peak_rss_mib()
    );
    if (size_after - size_before) < records as u64 {
        bail!("the log grew by less than the records acknowledged");
    }
    drop(node);
    Ok(())
}
