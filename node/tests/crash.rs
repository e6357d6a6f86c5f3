//! SIGKILL the ingest at random instants: every acknowledged record survives, the tree verifies
//! and every head after a crash is an append-only extension of the head before it.

mod common;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Hl;
use hl_ledger::note::NoteSigner;
use hl_ledger::record::Envelope;
use hl_ledger::{Ledger, StoreOptions, merkle};

/// A tiny deterministic generator, seeded from the clock and printed so a failure can be replayed.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

/// Resource ids of each entry of a synth bundle, in order.
fn entry_ids(path: &PathBuf) -> Vec<String> {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(path).expect("read")).expect("json");
    v["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["resource"]["id"].as_str().expect("id").to_owned())
        .collect()
}

#[test]
fn acknowledged_records_survive_sigkill() {
    let seed = std::env::var("CRASH_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    println!("CRASH_SEED={seed}");
    let mut rng = Lcg(seed);

    let hl = Hl::init();
    let synth = hl.dir.path().join("synth");
    let r = hl.run(&[
        "synth",
        "--residents",
        "60",
        "--seed",
        "7",
        "--out",
        synth.to_str().expect("p"),
    ]);
    assert!(r.ok, "{}", r.stderr);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&synth)
        .expect("dir")
        .map(|e| e.expect("e").path())
        .collect();
    files.sort();

    let key = std::fs::read_to_string(hl.data().join("keys/log.key")).expect("key");
    let open = || {
        Ledger::open(
            &hl.data().join("ledger.redb"),
            NoteSigner::from_secret_text(&key).expect("key"),
            StoreOptions::default(),
        )
        .expect("reopen after crash")
    };

    // (first index, expected ids) of every acknowledged file.
    let mut acked: Vec<(u64, Vec<String>)> = Vec::new();
    let mut prev_head = (0u64, merkle::empty_root());
    let mut kills = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    // Round 0 runs to the end and times a whole ingest; later rounds are killed at a random
    // point within that time, so the kills land mid-ingest however fast the machine is.
    let mut full_ingest_ms = u64::MAX;
    for round in 0..12 {
        if Instant::now() > deadline {
            break;
        }
        // Each round sends the whole population again: later rounds make new versions.
        let mut child = hl
            .cmd()
            .arg("ingest")
            .args(&files)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let reader = std::thread::spawn(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                match line {
                    Ok(l) => lines.push(l),
                    Err(_) => break,
                }
            }
            lines
        });
        let started = Instant::now();
        if round == 0 {
            let _ = child.wait();
            full_ingest_ms = started.elapsed().as_millis().max(10) as u64;
        } else {
            std::thread::sleep(Duration::from_millis(rng.next(full_ingest_ms * 9 / 10)));
        }
        let killed = matches!(child.try_wait(), Ok(None));
        let _ = child.kill(); // SIGKILL
        let _ = child.wait();
        kills += usize::from(killed);
        let lines = reader.join().expect("reader");
        for line in lines {
            // "<file>: N records (indices a..=b)" is printed only after the commit is durable.
            let Some((file, rest)) = line.split_once(": ") else {
                continue;
            };
            let Some(first) = rest
                .split("indices ")
                .nth(1)
                .and_then(|r| r.split("..").next())
            else {
                continue;
            };
            let path = PathBuf::from(file);
            acked.push((first.parse().expect("index"), entry_ids(&path)));
        }

        let ledger = open();
        let head = ledger.head().expect("head");
        // Append-only across the crash.
        if prev_head.0 > 0 {
            let proof = ledger
                .consistency_proof(prev_head.0, head.size)
                .expect("proof");
            merkle::verify_consistency(prev_head.0, head.size, &prev_head.1, &head.root, &proof)
                .unwrap_or_else(|e| panic!("round {round}: history changed across a crash: {e}"));
        }
        for (first, ids) in &acked {
            for (k, id) in ids.iter().enumerate() {
                let index = first + k as u64;
                let rec = ledger
                    .record(index)
                    .expect("read")
                    .unwrap_or_else(|| panic!("acknowledged record {index} lost"));
                let env: Envelope = serde_json::from_slice(&rec.envelope).expect("envelope");
                assert_eq!(&env.id, id, "record {index}");
                let proof = ledger.inclusion_proof(index, head.size).expect("proof");
                merkle::verify_inclusion(
                    index,
                    head.size,
                    &merkle::leaf_hash(&rec.envelope),
                    &proof,
                    &head.root,
                )
                .expect("included");
            }
        }
        prev_head = (head.size, head.root);
        drop(ledger);
    }
    let ledger = open();
    let report = ledger.fsck().expect("fsck");
    assert!(report.ok(), "{:?}", report.problems);
    println!(
        "{kills} kills mid-ingest, {} files acknowledged, final size {}",
        acked.len(),
        report.size
    );
    assert!(
        kills >= 5,
        "the test must actually kill ingests mid-way (only {kills})"
    );
    assert!(!acked.is_empty(), "some files must have been acknowledged");
}
