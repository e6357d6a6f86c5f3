//! Consortium `$everything` (issue 6): a resident with 1,000 records spread over two holders,
//! read by a third member, all on loopback with full verification. Anvil and three release
//! `healthledger node` processes (`hl_tests::localnet`): two holders with 500 records of the
//! resident each (Observations mostly, Encounters, Conditions, MedicationRequests,
//! Immunizations, Procedures; five transaction bundles each, anchored), the resident's consent
//! (every category, TREAT) to the requester, single client.
//!
//! With the requester's cache off (`network.remote_cache_secs = 0`) every request is the whole
//! path: the requester signs a fetch per holder; each holder checks membership and consent on
//! chain per category, appends and commits its AuditEvent, proves the records (inclusion
//! proofs, signed checkpoint, consistency with its anchored head) and answers over libp2p; the
//! requester checks every record (content hash, inclusion, checkpoint signed by the registered
//! key and tied to the anchored head on chain), audits its own read and answers. Every answer
//! is checked to hold the 1,000 verified remote records, so refusals cannot pass as fast reads.
//! Then the same with the cache on (the default: the requester re-checks consent on chain and
//! serves what it verified before), and the holders' own local `$everything` for comparison.
//!
//! `cargo bench -p hl-node --bench consortium_everything`
//! (HL_BENCH_RECORDS per holder, default 500; HL_BENCH_REQUESTS per scenario, default 200;
//! HL_BENCH_WARMUP, default 20; HL_BENCH_ANCHOR_SECS, the members' anchoring interval,
//! default 30 as in the product's configuration).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use anyhow::{Context, Result, bail};
use hl_tests::localnet::wallet::{self, GrantSpec};
use hl_tests::localnet::{ConsortiumView, Institution, Localnet, Node, SharedResident};
use serde_json::{Value, json};

const HOLDERS: [(&str, &str, &str); 2] = [
    ("Bench Community Centre", "bench-centre.example/log", "chc"),
    (
        "Bench County Hospital",
        "bench-county.example/log",
        "county",
    ),
];
const REQUESTER: (&str, &str) = ("Bench City Hospital", "bench-city.example/log");
const CACHE_ENV: &str = "HEALTHLEDGER_NETWORK__REMOTE_CACHE_SECS";
/// Records per transaction bundle.
const PER_BUNDLE: usize = 100;
const ANCHOR_TIMEOUT: Duration = Duration::from_secs(120);
const GOSSIP_TIMEOUT: Duration = Duration::from_secs(90);

fn main() -> Result<()> {
    let per_holder = common::env_usize("HL_BENCH_RECORDS", 500).max(2);
    let requests = common::env_usize("HL_BENCH_REQUESTS", 200).max(1);
    let warmup = common::env_usize("HL_BENCH_WARMUP", 20);
    let anchor_secs = common::env_usize("HL_BENCH_ANCHOR_SECS", 30).to_string();
    let total = 2 * per_holder;

    let bin = Path::new(env!("CARGO_BIN_EXE_healthledger"));
    let anchor: (&str, &str) = ("HEALTHLEDGER_ANCHOR__INTERVAL_SECS", &anchor_secs);
    let t0 = Instant::now();
    let mut net = Localnet::start_with(
        bin,
        &[
            Institution::new(HOLDERS[0].0, HOLDERS[0].1),
            Institution::new(HOLDERS[1].0, HOLDERS[1].1),
            Institution::new(REQUESTER.0, REQUESTER.1),
        ],
        &[&[anchor], &[anchor], &[anchor, (CACHE_ENV, "0")]],
    )?;
    let started = t0.elapsed();
    let resident = SharedResident::sample(1).remove(0);
    let pseudonym = resident.pseudonym(net.consortium_key);
    for (i, (_, _, tag)) in HOLDERS.iter().enumerate() {
        let node = &net.nodes[i];
        let pid = resident.patient_id(tag);
        for bundle in bundles(&resident, tag, per_holder) {
            let n = bundle["entry"].as_array().map_or(0, Vec::len);
            all_created(&node.ingest(&bundle)?, n)
                .with_context(|| format!("{} ingesting", node.name))?;
        }
        if wallet::pseudonym(node, &pid)? != pseudonym {
            bail!("{} derives another pseudonym for {pid}", node.name);
        }
        let size = node.anchors()?["size"].as_u64().unwrap_or(0);
        node.wait_anchored(size, ANCHOR_TIMEOUT)?;
    }
    let ingested = t0.elapsed();
    let requester = &net.nodes[2];
    let origins = [HOLDERS[0].1, HOLDERS[1].1];
    // Before the consent, so that the answers are small refusals (the harness reads 500 at most).
    requester.wait_for_holders(
        &pseudonym,
        requester.token("clinician")?,
        &origins,
        GOSSIP_TIMEOUT,
    )?;
    grant(&net, &resident, requester)?;
    println!(
        "consortium of 3 on loopback: started in {:.1} s; {per_holder} records at each of 2 holders ingested and anchored by {:.1} s; requester sees both and has the consent by {:.1} s",
        started.as_secs_f64(),
        ingested.as_secs_f64(),
        t0.elapsed().as_secs_f64()
    );

    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let everything = format!(
        "/fhir/Patient/{pseudonym}/$everything?scope=consortium&_count={}",
        total + 10
    );
    let expect = Expect {
        per_holder,
        origins,
        cache: false,
    };
    println!(
        "\n$everything?scope=consortium of {total} records (2 × {per_holder}), single client, {requests} requests after {warmup} warm-up"
    );
    println!(
        "{:<44} {:>8} {:>8} {:>8} {:>8} {:>8}   CPU ms per request   p50 first → last tenth",
        "scenario", "p50 ms", "p95 ms", "p99 ms", "max ms", "mean ms"
    );
    let r = scenario(
        &client,
        requester,
        &everything,
        warmup,
        requests,
        &net,
        |b| expect.check(b),
    )?;
    print_row("consortium, cache off (full verification)", &r);
    let rpc_ms = eth_call_ms(&net)?;

    // The same requester with the cache on (the product's default of 120 s).
    let requester = &mut net.nodes[2];
    requester.set_env(CACHE_ENV, "120");
    requester.restart()?;
    let requester = &net.nodes[2];
    wait_served(requester, &everything, &expect)?;
    let cached = Expect {
        cache: true,
        ..expect
    };
    let r = scenario(
        &client,
        requester,
        &everything,
        warmup,
        requests,
        &net,
        |b| cached.check(b),
    )?;
    print_row("consortium, cache on (consent re-checked)", &r);
    println!("  ({} of {requests} answers from the cache)", r.cached);

    for (i, (_, _, tag)) in HOLDERS.iter().enumerate() {
        let holder = &net.nodes[i];
        let pid = resident.patient_id(tag);
        let local = format!("/fhir/Patient/{pid}/$everything?_count={}", per_holder + 10);
        let r = scenario(&client, holder, &local, warmup, requests, &net, |b| {
            local_check(b, per_holder)
        })?;
        print_row(&format!("holder {} local ({per_holder})", i + 1), &r);
    }
    println!(
        "\nCPU columns: requester / holder 1 / holder 2 / anvil (user+system time of each process during the scenario ÷ requests)"
    );
    println!("one eth_call (latestHead) from this process to anvil: p50 {rpc_ms:.2} ms");
    println!(
        "peak RSS of the bench process: {:.0} MiB",
        common::peak_rss_mib()
    );
    Ok(())
}

/// The resident's consent to the requester: a wallet bound at the first holder, every
/// category, purpose TREAT, 30 days.
fn grant(net: &Localnet, resident: &SharedResident, requester: &Node) -> Result<()> {
    let holder = &net.nodes[0];
    let pid = resident.patient_id(HOLDERS[0].2);
    let w = PrivateKeySigner::random();
    wallet::bind(holder, &pid, w.address())?;
    let session = wallet::sign_in(holder, &w, &[wallet::patient_resource(&pid)])?;
    let t = wallet::typed(holder, &pid, &session)?;
    let now = time::OffsetDateTime::now_utc().unix_timestamp().max(0) as u64;
    let spec = GrantSpec {
        grantee: requester.account.parse::<Address>()?,
        categories: 0x7f,
        purpose: "TREAT".into(),
        expiry: now + 30 * 86_400,
        nonce: t.nonce,
        deadline: now + 600,
    };
    wallet::grant(holder, &session, &w, &t, &spec)?;
    Ok(())
}

/// What every consortium answer must hold.
#[derive(Clone, Copy)]
struct Expect {
    per_holder: usize,
    origins: [&'static str; 2],
    /// Whether the requester may serve the holders' answers from its cache (it refetches once
    /// they are older than its cache's lifetime).
    cache: bool,
}

impl Expect {
    /// Checks an answer; whether it came from the requester's cache.
    fn check(&self, body: &[u8]) -> Result<bool> {
        let v = ConsortiumView::parse(serde_json::from_slice(body)?)?;
        if !v.local.is_empty() {
            bail!("the requester holds {} records itself", v.local.len());
        }
        if let Some(r) = v.remote.iter().find(|r| !r.provenance.verified) {
            bail!("{} is not marked verified", r.reference());
        }
        let mut cached = 0;
        for o in self.origins {
            let n = v.from_holder(o).len();
            let h = v.holder(o).context("a holder is not named")?;
            if n != self.per_holder || h.status != "served" {
                bail!(
                    "{o}: {n} records, expected {}: {}",
                    self.per_holder,
                    h.diagnostics
                );
            }
            if h.diagnostics.contains("cached") {
                cached += 1;
            }
        }
        if v.remote.len() != 2 * self.per_holder {
            bail!("{} remote records", v.remote.len());
        }
        match (cached, self.cache) {
            (0, _) => Ok(false),
            (2, true) => Ok(true),
            _ => bail!(
                "{cached} of 2 holders' answers came from a cache: {:?}",
                v.holders
            ),
        }
    }
}

fn local_check(body: &[u8], n: usize) -> Result<bool> {
    let b: Value = serde_json::from_slice(body)?;
    let matches = b["entry"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|e| e["search"]["mode"] == "match")
        .count();
    if matches != n {
        bail!("local $everything answered {matches} records, expected {n}");
    }
    Ok(false)
}

/// After a restart: until the requester is connected again and serves the whole answer.
fn wait_served(node: &Node, path: &str, expect: &Expect) -> Result<()> {
    let deadline = Instant::now() + GOSSIP_TIMEOUT;
    loop {
        let r = node.get(path, Some(node.token("clinician")?), &[])?;
        let seen = if r.status == 200 {
            match expect.check(r.text.as_bytes()) {
                Ok(_) => return Ok(()),
                Err(e) => e.to_string(),
            }
        } else {
            format!("status {}", r.status)
        };
        if Instant::now() >= deadline {
            bail!("the restarted requester did not serve the whole answer: {seen}");
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

struct Run {
    lat: Vec<Duration>,
    /// Answers served from the requester's cache.
    cached: usize,
    /// CPU ms per request: requester, holder 1, holder 2, anvil.
    cpu: [f64; 4],
    /// p50 ms of the first and of the last tenth of the requests.
    drift: [f64; 2],
}

/// `warmup` then `n` timed GETs of `path` at `node` with its clinician token; each answer is
/// checked after its time is taken.
fn scenario(
    client: &reqwest::blocking::Client,
    node: &Node,
    path: &str,
    warmup: usize,
    n: usize,
    net: &Localnet,
    check: impl Fn(&[u8]) -> Result<bool>,
) -> Result<Run> {
    let url = node.abs(path);
    let token = node.token("clinician")?;
    let get = || -> Result<(Duration, Vec<u8>)> {
        let t = Instant::now();
        let resp = client.get(&url).bearer_auth(token).send()?;
        let status = resp.status();
        let body = resp.bytes()?;
        let took = t.elapsed();
        if !status.is_success() {
            bail!("{status}: {}", String::from_utf8_lossy(&body));
        }
        Ok((took, body.to_vec()))
    };
    for _ in 0..warmup {
        check(&get()?.1)?;
    }
    let before = cpu_all(net)?;
    let (mut lat, mut cached) = (Vec::with_capacity(n), 0);
    for _ in 0..n {
        let (took, body) = get()?;
        lat.push(took);
        cached += usize::from(check(&body)?);
    }
    let after = cpu_all(net)?;
    let mut cpu = [0.0; 4];
    for (i, c) in cpu.iter_mut().enumerate() {
        *c = (after[i] - before[i]) / n as f64;
    }
    // Whether later requests are slower than early ones (the logs grow by an audit each).
    let tenth = (n / 10).max(1);
    let mut first = lat[..tenth].to_vec();
    let mut last = lat[n - tenth..].to_vec();
    first.sort();
    last.sort();
    let drift = [percentile(&first, 0.5), percentile(&last, 0.5)];
    lat.sort();
    Ok(Run {
        lat,
        cached,
        cpu,
        drift,
    })
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn print_row(name: &str, r: &Run) {
    let mean = r.lat.iter().map(Duration::as_secs_f64).sum::<f64>() / r.lat.len() as f64 * 1e3;
    println!(
        "{name:<44} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>8.2}   {:.1} / {:.1} / {:.1} / {:.1}   {:.1} → {:.1}",
        percentile(&r.lat, 0.50),
        percentile(&r.lat, 0.95),
        percentile(&r.lat, 0.99),
        percentile(&r.lat, 1.0),
        mean,
        r.cpu[0],
        r.cpu[1],
        r.cpu[2],
        r.cpu[3],
        r.drift[0],
        r.drift[1],
    );
}

/// CPU ms used so far by the requester, the two holders and anvil (read anew each time: the
/// requester is restarted between scenarios).
fn cpu_all(net: &Localnet) -> Result<[f64; 4]> {
    let pid = |i: usize| net.nodes[i].pid().context("a node is not running");
    Ok([
        cpu_ms(pid(2)?)?,
        cpu_ms(pid(0)?)?,
        cpu_ms(pid(1)?)?,
        cpu_ms(net.anvil.pid())?,
    ])
}

/// User + system CPU time of `pid` so far, in ms (`/proc/<pid>/stat`, clock ticks of 10 ms).
fn cpu_ms(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks =
        |i: usize| -> Result<f64> { Ok(f.get(i).context("short /proc stat")?.parse::<f64>()?) };
    // utime and stime are fields 14 and 15 of the line, 12 and 13 after the name.
    Ok((ticks(11)? + ticks(12)?) * 10.0)
}

/// The round trip of one `eth_call` from here to anvil, p50 of 50.
fn eth_call_ms(net: &Localnet) -> Result<f64> {
    let rpc = net.rpc()?;
    let mut lat = Vec::new();
    for _ in 0..50 {
        let t = Instant::now();
        rpc.latest_head(&net.contract, &net.nodes[0].account)?;
        lat.push(t.elapsed());
    }
    lat.sort();
    Ok(percentile(&lat, 0.5))
}

/// Every entry of a transaction-response created a resource, and there are `n` of them.
fn all_created(answer: &Value, n: usize) -> Result<()> {
    let entries = answer["entry"].as_array().map_or(&[][..], Vec::as_slice);
    if answer["type"] != "transaction-response" || entries.len() != n {
        bail!("expected a transaction-response with {n} entries");
    }
    if let Some(e) = entries
        .iter()
        .find(|e| e["response"]["status"] != "201 Created")
    {
        bail!("an entry was not created: {e}");
    }
    Ok(())
}

/// The resident's `n` records at the institution tagged `tag`, in transaction bundles of
/// [`PER_BUNDLE`]: the Patient (in the first), then a tenth Encounters, 6 % Conditions, 5 %
/// MedicationRequests, 5 % Immunizations, 2 % Procedures and the rest Observations (vital
/// signs and laboratory), dated over 2010–2026.
fn bundles(resident: &SharedResident, tag: &str, n: usize) -> Vec<Value> {
    let pid = resident.patient_id(tag);
    // The harness's Patient: the resident identity number every member pseudonymises alike.
    let patient = resident.bundle(tag, hl_tests::localnet::Visit::Community, "2026-01-02")["entry"]
        [0]
    .clone();
    let others = n - 1;
    let (enc, cond, med, imm, proc) = (
        (others / 10).max(1),
        others * 6 / 100,
        others * 5 / 100,
        others * 5 / 100,
        others * 2 / 100,
    );
    let mut entries = vec![patient];
    for k in 0..others {
        let at = date(k, others);
        let r = if k < enc {
            encounter(&pid, k, &at)
        } else if k < enc + cond {
            condition(&pid, k, enc, &at)
        } else if k < enc + cond + med {
            medication(&pid, k, enc, &at)
        } else if k < enc + cond + med + imm {
            immunization(&pid, k, enc, &at)
        } else if k < enc + cond + med + imm + proc {
            procedure(&pid, k, enc, &at)
        } else {
            observation(&pid, k, enc, &at)
        };
        let url = format!(
            "{}/{}",
            r["resourceType"].as_str().unwrap_or_default(),
            r["id"].as_str().unwrap_or_default()
        );
        entries.push(json!({ "resource": r, "request": { "method": "PUT", "url": url } }));
    }
    entries
        .chunks(PER_BUNDLE)
        .map(|c| json!({ "resourceType": "Bundle", "type": "transaction", "entry": c }))
        .collect()
}

/// The k-th of n dates, spread evenly over 2010-01 to 2026-12.
fn date(k: usize, n: usize) -> String {
    let month = k * (17 * 12) / n.max(1);
    let (y, m, d) = (2010 + month / 12, 1 + month % 12, 1 + k % 28);
    format!("{y:04}-{m:02}-{d:02}T09:30:00+08:00")
}

fn refs(pid: &str, k: usize, enc: usize) -> (Value, Value) {
    (
        json!({ "reference": format!("Patient/{pid}") }),
        json!({ "reference": format!("Encounter/{pid}-enc-{}", k % enc) }),
    )
}

fn encounter(pid: &str, k: usize, at: &str) -> Value {
    json!({
        "resourceType": "Encounter", "id": format!("{pid}-enc-{k}"), "status": "finished",
        "class": { "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB", "display": "ambulatory" },
        "subject": { "reference": format!("Patient/{pid}") },
        "period": { "start": at, "end": at },
    })
}

fn observation(pid: &str, k: usize, enc: usize, at: &str) -> Value {
    const CODES: [(&str, &str, &str, &str, u32); 6] = [
        (
            "8480-6",
            "Systolic blood pressure",
            "mm[Hg]",
            "vital-signs",
            120,
        ),
        (
            "8462-4",
            "Diastolic blood pressure",
            "mm[Hg]",
            "vital-signs",
            75,
        ),
        ("29463-7", "Body weight", "kg", "vital-signs", 62),
        ("8867-4", "Heart rate", "/min", "vital-signs", 64),
        (
            "2345-7",
            "Glucose [Mass/volume] in Serum or Plasma",
            "mg/dL",
            "laboratory",
            90,
        ),
        (
            "4548-4",
            "Hemoglobin A1c/Hemoglobin.total in Blood",
            "%",
            "laboratory",
            5,
        ),
    ];
    let (code, display, unit, category, base) = CODES[k % CODES.len()];
    let (subject, encounter) = refs(pid, k, enc);
    json!({
        "resourceType": "Observation", "id": format!("{pid}-obs-{k}"), "status": "final",
        "category": [{ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": category }] }],
        "code": { "coding": [{ "system": "http://loinc.org", "code": code, "display": display }] },
        "subject": subject, "encounter": encounter, "effectiveDateTime": at,
        "valueQuantity": { "value": base + (k % 17) as u32, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit },
    })
}

fn condition(pid: &str, k: usize, enc: usize, at: &str) -> Value {
    const CODES: [(&str, &str); 4] = [
        ("I10", "Essential (primary) hypertension"),
        ("E11.9", "Type 2 diabetes mellitus without complications"),
        ("J45.909", "Unspecified asthma, uncomplicated"),
        ("M54.5", "Low back pain"),
    ];
    let (code, display) = CODES[k % CODES.len()];
    let (subject, encounter) = refs(pid, k, enc);
    json!({
        "resourceType": "Condition", "id": format!("{pid}-cond-{k}"),
        "clinicalStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active" }] },
        "verificationStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed" }] },
        "code": { "coding": [{ "system": "http://hl7.org/fhir/sid/icd-10", "code": code, "display": display }] },
        "subject": subject, "encounter": encounter, "onsetDateTime": &at[..10], "recordedDate": &at[..10],
    })
}

fn medication(pid: &str, k: usize, enc: usize, at: &str) -> Value {
    const CODES: [(&str, &str); 3] = [
        ("C08CA01", "amlodipine"),
        ("A10BA02", "metformin"),
        ("C10AA05", "atorvastatin"),
    ];
    let (code, display) = CODES[k % CODES.len()];
    let (subject, encounter) = refs(pid, k, enc);
    json!({
        "resourceType": "MedicationRequest", "id": format!("{pid}-rx-{k}"), "status": "active", "intent": "order",
        "medicationCodeableConcept": { "coding": [{ "system": "http://www.whocc.no/atc", "code": code, "display": display }] },
        "subject": subject, "encounter": encounter, "authoredOn": at,
        "dosageInstruction": [{ "text": "once daily" }],
    })
}

fn immunization(pid: &str, k: usize, enc: usize, at: &str) -> Value {
    let (subject, encounter) = refs(pid, k, enc);
    json!({
        "resourceType": "Immunization", "id": format!("{pid}-imm-{k}"), "status": "completed",
        "vaccineCode": { "coding": [{ "system": "http://hl7.org/fhir/sid/cvx", "code": "141", "display": "Influenza, seasonal, injectable" }] },
        "patient": subject, "encounter": encounter, "occurrenceDateTime": at, "primarySource": true,
    })
}

fn procedure(pid: &str, k: usize, enc: usize, at: &str) -> Value {
    let (subject, encounter) = refs(pid, k, enc);
    json!({
        "resourceType": "Procedure", "id": format!("{pid}-proc-{k}"), "status": "completed",
        "code": { "coding": [{ "system": "http://snomed.info/sct", "code": "73761001", "display": "Colonoscopy" }] },
        "subject": subject, "encounter": encounter, "performedDateTime": at,
    })
}
