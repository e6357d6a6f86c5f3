//! `GET /fhir/Patient/{id}/$everything` for a resident with 1,000 records, over loopback HTTP
//! against the release `healthledger node`: p50/p99 with and without `_proof=true`, at 1 and
//! 64 concurrent clients. Every request is a real read: it is authorised and appends its
//! AuditEvent to the log (durable) before the answer leaves.
//!
//! `cargo bench -p hl-node --bench http_everything`
//! (HL_BENCH_RECORDS, default 1000; HL_BENCH_REQUESTS per scenario, default 400).

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::json;

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_healthledger")
}

fn hl(data: &std::path::Path, args: &[&str]) -> Result<String> {
    let out = Command::new(bin())
        .arg("--data-dir")
        .arg(data)
        .args(args)
        .env("HEALTHLEDGER_API__LISTEN", "127.0.0.1:0")
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

/// One resident: a Patient and `n - 1` Observations (blood pressure over the years).
fn resident(n: usize) -> serde_json::Value {
    let mut entries = vec![json!({
        "fullUrl": "urn:uuid:bench-patient",
        "resource": {
            "resourceType": "Patient", "id": "bench-patient",
            "identifier": [{ "system": "urn:bench:mrn", "value": "B-1" }],
            "name": [{ "family": "Bench", "given": ["Resident"] }],
            "gender": "female", "birthDate": "1960-05-01"
        },
        "request": { "method": "PUT", "url": "Patient/bench-patient" }
    })];
    for i in 1..n {
        let day = 1 + (i % 28);
        let month = 1 + (i / 28) % 12;
        let year = 1990 + i / 336;
        entries.push(json!({
            "fullUrl": format!("urn:uuid:obs-{i}"),
            "resource": {
                "resourceType": "Observation", "id": format!("bench-obs-{i}"),
                "status": "final",
                "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs" }] }],
                "code": { "coding": [{ "system": "http://loinc.org", "code": "8480-6", "display": "Systolic blood pressure" }] },
                "subject": { "reference": "urn:uuid:bench-patient" },
                "effectiveDateTime": format!("{year:04}-{month:02}-{day:02}T09:00:00+08:00"),
                "valueQuantity": { "value": 120 + (i % 40), "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]" }
            },
            "request": { "method": "PUT", "url": format!("Observation/bench-obs-{i}") }
        }));
    }
    json!({ "resourceType": "Bundle", "type": "transaction", "entry": entries })
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn main() -> Result<()> {
    let records = common::env_usize("HL_BENCH_RECORDS", 1000);
    let requests = common::env_usize("HL_BENCH_REQUESTS", 400);
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    hl(&data, &["init", "--institution", "Everything Bench"])?;
    let token = hl(
        &data,
        &["token", "create", "--name", "bench", "--role", "clinician"],
    )?
    .trim()
    .to_owned();
    let file = dir.path().join("resident.json");
    std::fs::write(&file, serde_json::to_vec(&resident(records))?)?;
    hl(
        &data,
        &["ingest", "--no-qc", file.to_str().context("path")?],
    )?;

    let mut child = Command::new(bin())
        .arg("--data-dir")
        .arg(&data)
        .args(["--log", "warn", "node"])
        .env("HEALTHLEDGER_API__LISTEN", "127.0.0.1:0")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()?;
    let stderr = child.stderr.take().context("stderr")?;
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines
            .next()
            .context("node exited before its API started")??;
        if let Some(u) = line.split("API listening on ").nth(1) {
            break u.trim().to_owned();
        }
    };
    std::thread::spawn(move || for _ in lines {});

    let client = reqwest::blocking::Client::builder()
        .pool_max_idle_per_host(128)
        .timeout(Duration::from_secs(60))
        .build()?;
    let base = format!("{url}/fhir/Patient/bench-patient/$everything?_count={records}");
    // Warm up, and check the answer is the whole record.
    let warm: serde_json::Value = client.get(&base).bearer_auth(&token).send()?.json()?;
    let got = warm["entry"].as_array().map_or(0, Vec::len);
    if got != records {
        bail!("$everything returned {got} entries, expected {records}: {warm}");
    }
    println!("$everything of {records} records, {requests} requests per scenario");
    println!(
        "{:<8} {:<7} {:>9} {:>9} {:>10}",
        "clients", "proofs", "p50 ms", "p99 ms", "req/s"
    );
    for clients in [1usize, 64] {
        for proof in [false, true] {
            let target = Arc::new(if proof {
                format!("{base}&_proof=true")
            } else {
                base.clone()
            });
            let per = requests.div_ceil(clients);
            let started = Instant::now();
            let handles: Vec<_> = (0..clients)
                .map(|_| {
                    let (client, target, token) = (client.clone(), target.clone(), token.clone());
                    std::thread::spawn(move || -> Result<Vec<Duration>> {
                        let mut lat = Vec::with_capacity(per);
                        for _ in 0..per {
                            let t = Instant::now();
                            let resp = client.get(target.as_str()).bearer_auth(&token).send()?;
                            let status = resp.status();
                            let body = resp.bytes()?;
                            if !status.is_success() {
                                bail!("{status}: {}", String::from_utf8_lossy(&body));
                            }
                            lat.push(t.elapsed());
                        }
                        Ok(lat)
                    })
                })
                .collect();
            let mut all = Vec::new();
            for h in handles {
                all.extend(h.join().map_err(|_| anyhow::anyhow!("client panicked"))??);
            }
            let secs = started.elapsed().as_secs_f64();
            all.sort();
            println!(
                "{clients:<8} {:<7} {:>9.2} {:>9.2} {:>10.1}",
                if proof { "yes" } else { "no" },
                percentile(&all, 0.50),
                percentile(&all, 0.99),
                all.len() as f64 / secs
            );
        }
    }
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let _ = child.wait();
    Ok(())
}
