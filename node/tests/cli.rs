//! The `healthledger` commands as a user runs them.

mod common;

use common::Hl;
use hl_ledger::merkle;
use hl_ledger::proof_bundle::decode_hash;
use serde_json::json;

fn patient_bundle(id: &str, ssn: &str, observations: usize) -> Vec<u8> {
    let mut entries = vec![json!({
        "fullUrl": format!("urn:uuid:{id}"),
        "resource": {"resourceType": "Patient", "id": id,
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": ssn}]},
        "request": {"method": "PUT", "url": format!("Patient/{id}")}
    })];
    for i in 0..observations {
        entries.push(json!({
            "fullUrl": format!("urn:uuid:{id}-o{i}"),
            "resource": {"resourceType": "Observation", "id": format!("{id}-o{i}"), "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
                "subject": {"reference": format!("urn:uuid:{id}")},
                "effectiveDateTime": "2025-06-01T10:00:00+08:00",
                "valueQuantity": {"value": 70 + i, "unit": "/min"}},
            "request": {"method": "POST", "url": "Observation"}
        }));
    }
    serde_json::to_vec(&json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}))
        .expect("json")
}

#[test]
fn init_creates_private_keys_and_refuses_twice() {
    let hl = Hl::init();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for k in ["keys/log.key", "keys/consortium.key"] {
            let mode = std::fs::metadata(hl.data().join(k))
                .expect("key")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{k}");
        }
    }
    let config = std::fs::read_to_string(hl.data().join("config.toml")).expect("config");
    assert!(config.contains("# Log origin"), "config is commented");
    assert!(config.contains("urn:oid:2.16.156.10011.1.3"));
    let again = hl.run(&["init", "--institution", "X"]);
    assert_eq!(again.code, Some(1));
    assert!(again.stderr.contains("already exists"), "{}", again.stderr);
    let key = hl.run(&["log", "key"]);
    assert!(
        key.stdout
            .starts_with("healthledger.local/test-community-health-centre+"),
        "{}",
        key.stdout
    );
}

#[test]
fn proofs_from_the_cli_verify_with_the_library() {
    let hl = Hl::init();
    let a = hl.write("a.json", &patient_bundle("p1", "100-00-0001", 6));
    let b = hl.write("b.json", &patient_bundle("p2", "100-00-0002", 9));
    let r = hl.run(&["ingest", "--no-qc", a.to_str().expect("path")]);
    assert!(r.ok, "{}", r.stderr);
    assert!(
        r.stdout.contains("a.json: 7 records (indices 0..=6)"),
        "{}",
        r.stdout
    );
    let (old_size, old_root) = hl.head();
    let r = hl.run(&["ingest", "--no-qc", b.to_str().expect("path")]);
    assert!(r.ok, "{}", r.stderr);
    let (size, root) = hl.head();
    assert_eq!((old_size, size), (7, 17));

    for index in [0u64, 3, 7, 16] {
        let p = hl.json(&["log", "proof", "--index", &index.to_string()]);
        assert_eq!(p["root"], root);
        let proof: Vec<_> = p["proof"]
            .as_array()
            .expect("proof")
            .iter()
            .map(|h| decode_hash(h.as_str().expect("hex")).expect("hash"))
            .collect();
        let leaf = decode_hash(p["leaf_hash"].as_str().expect("leaf")).expect("hash");
        // The leaf is the hash of the record's canonical envelope.
        let rec = hl.json(&["record", "get", "--index", &index.to_string()]);
        let env = hl_ledger::canonical::to_canonical(&rec["envelope"]).expect("canonical");
        assert_eq!(merkle::leaf_hash(&env), leaf);
        merkle::verify_inclusion(
            index,
            size,
            &leaf,
            &proof,
            &decode_hash(&root).expect("root"),
        )
        .expect("included");
    }
    // A proof against the older tree size.
    let p = hl.json(&["log", "proof", "--index", "2", "--size", "7"]);
    assert_eq!(p["root"], old_root);

    let c = hl.json(&["log", "consistency", "--old", "7"]);
    assert_eq!(
        (c["old_size"].as_u64(), c["new_size"].as_u64()),
        (Some(7), Some(17))
    );
    let proof: Vec<_> = c["proof"]
        .as_array()
        .expect("proof")
        .iter()
        .map(|h| decode_hash(h.as_str().expect("hex")).expect("hash"))
        .collect();
    merkle::verify_consistency(
        7,
        17,
        &decode_hash(&old_root).expect("h"),
        &decode_hash(&root).expect("h"),
        &proof,
    )
    .expect("consistent");

    let bad = hl.run(&["log", "proof", "--index", "17"]);
    assert_eq!(bad.code, Some(1));
    assert!(
        bad.stderr.contains("not below the tree size 17"),
        "{}",
        bad.stderr
    );
    let bad = hl.run(&["log", "consistency", "--old", "0"]);
    assert_eq!(bad.code, Some(1));
    assert!(bad.stderr.contains("at least 1"), "{}", bad.stderr);
}

#[test]
fn export_verify_and_tamper() {
    let hl = Hl::init();
    let a = hl.write("a.json", &patient_bundle("p1", "100-00-0001", 4));
    let b = hl.write("b.json", &patient_bundle("p2", "100-00-0002", 4));
    assert!(
        hl.run(&[
            "ingest",
            "--no-qc",
            a.to_str().expect("p"),
            b.to_str().expect("p")
        ])
        .ok
    );
    let out = hl.dir.path().join("proof.json");
    let r = hl.run(&[
        "log",
        "export",
        "--resident",
        "100-00-0002",
        "--out",
        out.to_str().expect("p"),
    ]);
    assert!(r.ok, "{}", r.stderr);
    let key = hl.run(&["log", "key"]).stdout.trim().to_owned();
    // verify needs no data dir: a regulator runs it anywhere.
    let verify = |file: &std::path::Path, key: Option<&str>| -> common::Run {
        let mut c = std::process::Command::new(common::bin());
        c.args(["verify", "--bundle", file.to_str().expect("p")]);
        if let Some(k) = key {
            c.args(["--key", k]);
        }
        c.current_dir(hl.dir.path()).output().expect("spawn").into()
    };
    let ok = verify(&out, Some(&key));
    assert!(ok.ok, "{}{}", ok.stdout, ok.stderr);
    assert!(
        ok.stdout.contains("OK: 5 records verified"),
        "{}",
        ok.stdout
    );
    // The file may also be given as the bare argument.
    let bare: common::Run = std::process::Command::new(common::bin())
        .args(["verify", out.to_str().expect("p"), "--key", &key])
        .output()
        .expect("spawn")
        .into();
    assert!(bare.ok, "{}{}", bare.stdout, bare.stderr);
    assert_eq!(bare.stdout, ok.stdout);

    let text = std::fs::read_to_string(&out).expect("bundle");
    for (what, from, to) in [
        ("content", "\"value\":71", "\"value\":72"),
        (
            "envelope",
            "\"kind\":\"Observation\"",
            "\"kind\":\"Condition\"",
        ),
        (
            "proof",
            "\"proof\": [\n        \"",
            "\"proof\": [\n        \"f",
        ),
    ] {
        let changed = text.replacen(from, to, 1);
        assert!(changed != text, "{what}: pattern not found");
        let f = hl.write(&format!("tampered-{what}.json"), changed.as_bytes());
        let r = verify(&f, None);
        assert_eq!(r.code, Some(1), "{what} tamper must fail: {}", r.stdout);
        assert!(
            r.stderr.contains("failed verification") || r.stderr.contains("error:"),
            "{}",
            r.stderr
        );
    }
    // A different trusted key refuses the whole bundle.
    let other = Hl::init();
    let other_key = other.run(&["log", "key"]).stdout.trim().to_owned();
    let r = verify(&out, Some(&other_key));
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("not by the pinned key"), "{}", r.stderr);

    let r = hl.run(&["log", "export", "--resident", "999-99-9999"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("no records for resident"), "{}", r.stderr);
}

/// Bad inputs: one clear line naming file, entry and field; exit 1; the log unchanged.
#[test]
fn bad_input_is_refused_with_a_clear_error_and_nothing_written() {
    let hl = Hl::init();
    let seed = hl.write("seed.json", &patient_bundle("p1", "100-00-0001", 2));
    assert!(hl.run(&["ingest", "--no-qc", seed.to_str().expect("p")]).ok);
    let before = hl.head();
    let good_patient = json!({"resourceType": "Patient", "id": "ok"});
    let obs = |subject: &str| json!({"resourceType": "Observation", "id": "o", "status": "final", "code": {"text": "x"}, "subject": {"reference": subject}});
    let bundle = |entries: serde_json::Value| {
        json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}).to_string()
    };
    let cases: Vec<(&str, String, &str)> = vec![
        ("not-json.json", "{\"resourceType\": \"Patient\", ".into(), "not JSON"),
        ("array.json", "[1, 2]".into(), "not a FHIR resource"),
        ("empty.json", "".into(), "input is empty"),
        ("unknown-type.json", json!({"resourceType": "Dragon", "id": "x"}).to_string(), "resourceType: unknown FHIR R4 resourceType 'Dragon'"),
        ("no-resource.json", bundle(json!([{"resource": good_patient}, {"fullUrl": "urn:uuid:1", "request": {"method": "POST", "url": "Patient"}}])), "entry 1: resource: entry has no resource"),
        ("unresolved.json", bundle(json!([{"resource": good_patient}, {"resource": obs("Patient/ghost")}])), "entry 1: resource.subject.reference: reference to Patient/ghost cannot be resolved"),
        ("dangling-uuid.json", bundle(json!([{"resource": obs("urn:uuid:ffffffff-0000-0000-0000-000000000000")}])), "entry 0: subject.reference: urn:uuid:ffffffff-0000-0000-0000-000000000000 does not resolve"),
        ("duplicate-url.json", bundle(json!([{"fullUrl": "urn:uuid:a", "resource": good_patient}, {"fullUrl": "urn:uuid:a", "resource": good_patient}])), "entry 1: fullUrl: duplicate fullUrl urn:uuid:a (also entry 0)"),
        ("bad-id.json", json!({"resourceType": "Patient", "id": "no spaces allowed"}).to_string(), "id: 'no spaces allowed' is not a FHIR id"),
        ("bad-date.json", json!({"resourceType": "Observation", "id": "d", "status": "final", "code": {"text": "x"}, "effectiveDateTime": "yesterday"}).to_string(), "effectiveDateTime: 'yesterday' is not a FHIR date"),
        ("no-type.json", json!({"resourceType": "Bundle", "entry": []}).to_string(), "type: Bundle has no type"),
        ("searchset.json", json!({"resourceType": "Bundle", "type": "searchset", "entry": []}).to_string(), "searchset"),
        ("ndjson-bundle.ndjson", format!("{}\n{}\n", good_patient, bundle(json!([]))), "line 2: NDJSON lines must be single resources"),
        ("duplicate-name.json", "{\"resourceType\":\"Observation\",\"id\":\"dn\",\"status\":\"final\",\"valueQuantity\":{\"value\":120,\"value\":80}}".into(), "member name \"value\" appears twice"),
        ("huge-number.json", "{\"resourceType\":\"Observation\",\"id\":\"h\",\"valueQuantity\":{\"value\":1e400}}".into(), "cannot canonicalize"),
    ];
    for (name, body, words) in cases {
        let f = hl.write(name, body.as_bytes());
        let r = hl.run(&["ingest", "--no-qc", f.to_str().expect("p")]);
        assert_eq!(r.code, Some(1), "{name} must be refused: {}", r.stdout);
        let line = r.stderr.trim();
        assert_eq!(line.lines().count(), 1, "{name}: one line: {line}");
        assert!(
            line.starts_with("error: ") && line.contains(name),
            "{name}: names the file: {line}"
        );
        assert!(
            line.contains(words),
            "{name}: expected '{words}' in: {line}"
        );
        assert_eq!(hl.head(), before, "{name} changed the log");
    }

    // Over-size input against a configured limit (environment override of config.toml).
    let big = hl.write("big.json", &patient_bundle("p9", "100-00-0009", 50));
    let r = hl
        .cmd()
        .env("HEALTHLEDGER_INGEST__MAX_INPUT_BYTES", "1000")
        .args(["ingest", "--no-qc", big.to_str().expect("p")])
        .output()
        .expect("spawn");
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1));
    assert!(stderr.contains("over the limit of 1000 bytes"), "{stderr}");
    assert_eq!(hl.head(), before);

    // NDJSON of single resources lands whole.
    let nd = hl.write(
        "two.ndjson",
        format!("{}\n{}\n", good_patient, obs("Patient/ok")).as_bytes(),
    );
    let r = hl.run(&["ingest", "--no-qc", nd.to_str().expect("p")]);
    assert!(r.ok, "{}", r.stderr);
    assert_eq!(hl.head().0, before.0 + 2);

    // Several files: the bad one is named, the good ones land, exit is still 1.
    let good = hl.write("good.json", &patient_bundle("p3", "100-00-0003", 1));
    let bad = hl.write("bad.json", b"nope");
    let r = hl.run(&[
        "ingest",
        "--no-qc",
        good.to_str().expect("p"),
        bad.to_str().expect("p"),
    ]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr.contains("bad.json") && r.stderr.contains("1 of 2 files refused"),
        "{}",
        r.stderr
    );
    assert_eq!(hl.head().0, before.0 + 4);

    let r = hl.run(&["ingest", "--no-qc", "/nonexistent/file.json"]);
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("/nonexistent/file.json"), "{}", r.stderr);
    let fsck = hl.run(&["fsck"]);
    assert!(fsck.ok, "{}", fsck.stdout);
}

#[test]
fn fsck_names_a_tampered_record() {
    let hl = Hl::init();
    let a = hl.write("a.json", &patient_bundle("p1", "100-00-0001", 5));
    assert!(hl.run(&["ingest", "--no-qc", a.to_str().expect("p")]).ok);
    {
        // Change one stored content byte through the store API, as a rogue admin could.
        let node_key = std::fs::read_to_string(hl.data().join("keys/log.key")).expect("key");
        let signer = hl_ledger::note::NoteSigner::from_secret_text(&node_key).expect("signer");
        let ledger =
            hl_ledger::Ledger::open(&hl.data().join("ledger.redb"), signer, Default::default())
                .expect("open");
        let rec = ledger.record(4).expect("read").expect("present");
        let mut content = rec.content.expect("content");
        let at = content
            .iter()
            .position(|&b| b == b'7')
            .expect("a 7 in the value");
        content[at] = b'8';
        ledger
            .overwrite_content_unchecked(4, &content)
            .expect("tamper");
    }
    let r = hl.run(&["fsck", "--json"]);
    assert_eq!(r.code, Some(1));
    let v: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(v["ok"], false);
    assert_eq!(v["problems"].as_array().expect("problems").len(), 1);
    assert_eq!(v["problems"][0]["index"], 4);
    let r = hl.run(&["fsck"]);
    assert!(
        r.stdout.contains("MISMATCH record 4: content hash"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("fsck found 1 problems"), "{}", r.stderr);
}

#[test]
fn commands_without_a_data_dir_say_what_to_do() {
    let dir = tempfile::tempdir().expect("tempdir");
    let r: common::Run = std::process::Command::new(common::bin())
        .args([
            "--data-dir",
            dir.path().join("none").to_str().expect("p"),
            "log",
            "checkpoint",
        ])
        .output()
        .expect("spawn")
        .into();
    assert_eq!(r.code, Some(1));
    assert!(r.stderr.contains("healthledger init"), "{}", r.stderr);
    assert_eq!(r.stderr.trim().lines().count(), 1);
}

#[test]
fn synth_defect_rate_writes_labels_and_refuses_a_bad_rate() {
    let hl = Hl::init();
    let out = hl.dir.path().join("qc");
    let out = out.to_str().expect("utf8 path");
    let r = hl.run(&[
        "synth",
        "--residents",
        "40",
        "--seed",
        "2",
        "--defect-rate",
        "0.5",
        "--out",
        out,
    ]);
    assert!(r.ok, "{}", r.stderr);
    assert!(r.stdout.contains("residents with a defect"), "{}", r.stdout);
    let labels = std::fs::read_to_string(std::path::Path::new(out).join("labels.jsonl"))
        .expect("labels file");
    assert!(labels.lines().count() >= 8, "{labels}");
    for line in labels.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert!(
            v["rule"].as_str().is_some_and(|r| r.starts_with("QC-")),
            "{line}"
        );
        assert_eq!(v["id_card"].as_str().map(str::len), Some(18), "{line}");
    }
    for bad in ["1.5", "-0.1", "lots"] {
        let r = hl.run(&[
            "synth",
            "--residents",
            "1",
            "--defect-rate",
            bad,
            "--out",
            out,
        ]);
        assert_eq!(r.code, Some(1), "{bad}");
        assert_eq!(r.stderr.trim().lines().count(), 1, "{}", r.stderr);
        assert!(r.stderr.contains("--defect-rate"), "{}", r.stderr);
    }
}
