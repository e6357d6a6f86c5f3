//! The durable log through its library API.

use ed25519_dalek::SigningKey;
use hl_ledger::input::{InputOptions, ResidentRef};
use hl_ledger::merkle;
use hl_ledger::note::{Checkpoint, NoteSigner};
use hl_ledger::pseudonym::{Pseudonymizer, default_resident_systems};
use hl_ledger::record::Envelope;
use hl_ledger::{Ledger, StoreError, StoreOptions, SubmitError};
use serde_json::json;

const ORIGIN: &str = "test.example/log";

fn signer() -> NoteSigner {
    NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[1; 32])).expect("key name")
}

fn input() -> InputOptions {
    InputOptions {
        max_bytes: 1 << 20,
        pseudonymizer: Pseudonymizer::new([2; 32], default_resident_systems(), ORIGIN.into()),
    }
}

fn open(dir: &tempfile::TempDir) -> Ledger {
    Ledger::open(
        &dir.path().join("log.redb"),
        signer(),
        StoreOptions::default(),
    )
    .expect("open")
}

fn bundle(patient_id: &str, ssn: &str, obs: usize) -> Vec<u8> {
    let mut entries = vec![json!({
        "fullUrl": format!("urn:uuid:{patient_id}"),
        "resource": {"resourceType": "Patient", "id": patient_id,
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": ssn}]},
        "request": {"method": "PUT", "url": format!("Patient/{patient_id}")}
    })];
    for i in 0..obs {
        entries.push(json!({
            "fullUrl": format!("urn:uuid:{patient_id}-obs-{i}"),
            "resource": {"resourceType": "Observation", "id": format!("{patient_id}-obs-{i}"),
                "status": "final", "code": {"text": "bp"},
                "subject": {"reference": format!("urn:uuid:{patient_id}")},
                "effectiveDateTime": "2025-01-02T03:04:05+08:00",
                "valueQuantity": {"value": 120.50, "unit": "mm[Hg]"}},
            "request": {"method": "POST", "url": "Observation"}
        }));
    }
    // json! goes through f64; write the received decimal as a sender would, with its zero.
    serde_json::to_string(
        &json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}),
    )
    .expect("json")
    .replace("120.5", "120.50")
    .into_bytes()
}

#[test]
fn ingest_prove_reopen_and_fsck() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = open(&dir);
    let prepared = input()
        .prepare("a.json", &bundle("p1", "111-22-3333", 4))
        .expect("valid");
    let receipt = ledger.submit(prepared).expect("written");
    assert_eq!(receipt.size, 5);
    assert_eq!(
        receipt.entries.iter().map(|e| e.index).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    let cp = Checkpoint::open_signed(&receipt.checkpoint, ledger.verifier()).expect("signed");
    assert_eq!(
        (cp.size, cp.root, cp.origin.as_str()),
        (5, receipt.root, ORIGIN)
    );

    // Every record's stored envelope hashes to its leaf and proves into the checkpoint.
    for i in 0..5 {
        let rec = ledger.record(i).expect("read").expect("present");
        let leaf = merkle::leaf_hash(&rec.envelope);
        let proof = ledger.inclusion_proof(i, 5).expect("proof");
        merkle::verify_inclusion(i, 5, &leaf, &proof, &cp.root).expect("included");
        let env: Envelope = serde_json::from_slice(&rec.envelope).expect("envelope");
        assert_eq!(env.origin, ORIGIN);
        assert!(env.resident.is_some());
    }
    // The exact received bytes are kept: 120.50 stays 120.50.
    let obs = ledger.record(1).expect("read").expect("present");
    assert!(
        String::from_utf8(obs.content.expect("content"))
            .expect("utf8")
            .contains("120.50")
    );
    let env: Envelope = serde_json::from_slice(&obs.envelope).expect("envelope");
    assert_eq!(env.effective.as_deref(), Some("2025-01-01T19:04:05Z"));

    // A second bundle: a new version of the Patient and a reference to a stored Patient.
    let second = json!({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Observation", "id": "later", "status": "final",
            "code": {"text": "hr"}, "subject": {"reference": "Patient/p1"}}},
        {"resource": {"resourceType": "Patient", "id": "p1", "active": true,
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": "111-22-3333"}]}}
    ]});
    let r2 = ledger
        .submit(
            input()
                .prepare("b.json", &serde_json::to_vec(&second).expect("json"))
                .expect("valid"),
        )
        .expect("written");
    assert_eq!(r2.entries[1].version, 2);
    assert_eq!(ledger.latest("Patient", "p1").expect("read"), Some((2, 6)));
    let p1 = ledger.record(0).expect("read").expect("present");
    let env0: Envelope = serde_json::from_slice(&p1.envelope).expect("envelope");
    let resident = env0.resident_bytes().expect("resident");
    assert_eq!(
        ledger.resident_records(&resident).expect("read"),
        vec![0, 1, 2, 3, 4, 5, 6]
    );

    let proof = ledger.consistency_proof(5, 7).expect("proof");
    merkle::verify_consistency(5, 7, &receipt.root, &r2.root, &proof).expect("consistent");
    drop(ledger);

    let ledger = open(&dir);
    assert_eq!(ledger.head().expect("head").size, 7);
    let report = ledger.fsck().expect("fsck");
    assert!(report.ok(), "{:?}", report.problems);
    assert_eq!(report.records_checked, 7);
    assert_eq!(report.contents_checked, 7);
}

#[test]
fn unresolvable_patient_changes_nothing_and_spares_the_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = open(&dir);
    ledger
        .submit(
            input()
                .prepare("a.json", &bundle("p1", "1", 1))
                .expect("valid"),
        )
        .expect("ok");
    let before = ledger.head().expect("head");
    let orphan = json!({"resourceType": "Observation", "id": "o", "status": "final",
        "code": {"text": "x"}, "subject": {"reference": "Patient/nobody"}});
    let prepared = input()
        .prepare("orphan.json", &serde_json::to_vec(&orphan).expect("json"))
        .expect("parses");
    assert!(matches!(
        prepared.records[0].resident,
        ResidentRef::Stored { .. }
    ));
    // Queue the orphan and a good bundle together: one fails, the other lands.
    let bad = ledger.submit_async(prepared);
    let good = ledger.submit_async(
        input()
            .prepare("c.json", &bundle("p2", "2", 1))
            .expect("valid"),
    );
    let err = bad.blocking_recv().expect("reply").expect_err("refused");
    let msg = err.to_string();
    assert!(
        msg.contains("orphan.json")
            && msg.contains("Patient/nobody")
            && msg.contains("subject.reference"),
        "{msg}"
    );
    assert!(matches!(err, SubmitError::Input(_)));
    let ok = good.blocking_recv().expect("reply").expect("written");
    assert_eq!(ok.size, before.size + 2);
    assert!(ledger.fsck().expect("fsck").ok());
}

#[test]
fn tampered_content_and_nodes_are_named_by_fsck() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = open(&dir);
    ledger
        .submit(
            input()
                .prepare("a.json", &bundle("p1", "1", 6))
                .expect("valid"),
        )
        .expect("ok");
    let rec = ledger.record(3).expect("read").expect("present");
    let mut content = rec.content.expect("content");
    let pos = content.iter().position(|&b| b == b'5').expect("a digit 5");
    content[pos] = b'6';
    ledger
        .overwrite_content_unchecked(3, &content)
        .expect("tamper");
    let report = ledger.fsck().expect("fsck");
    assert_eq!(report.problems.len(), 1, "{:?}", report.problems);
    assert_eq!(report.problems[0].index, Some(3));
    assert!(report.problems[0].what.contains("content hash"));

    // A changed interior node is found too, and the store refuses to open on a head mismatch.
    ledger
        .overwrite_node_unchecked(1, 2, [0; 32])
        .expect("tamper");
    let report = ledger.fsck().expect("fsck");
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.index == Some(4) && p.what.contains("level 1")),
        "{:?}",
        report.problems
    );
    drop(ledger);
    match Ledger::open(
        &dir.path().join("log.redb"),
        signer(),
        StoreOptions::default(),
    ) {
        Err(StoreError::Corrupt(msg)) => assert!(msg.contains("does not match"), "{msg}"),
        other => panic!("expected a corrupt store, got {other:?}"),
    }
}

#[test]
fn wrong_key_or_origin_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    drop(open(&dir));
    let path = dir.path().join("log.redb");
    let other_key = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[9; 32])).expect("name");
    assert!(matches!(
        Ledger::open(&path, other_key, StoreOptions::default()),
        Err(StoreError::WrongKey { .. })
    ));
    let other_origin =
        NoteSigner::new("other/log", SigningKey::from_bytes(&[1; 32])).expect("name");
    assert!(matches!(
        Ledger::open(&path, other_origin, StoreOptions::default()),
        Err(StoreError::WrongOrigin { .. })
    ));
}

#[test]
fn exported_proof_bundle_verifies_and_any_change_fails() {
    use hl_ledger::proof_bundle::ProofBundle;
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = open(&dir);
    ledger
        .submit(
            input()
                .prepare("a.json", &bundle("p1", "1", 3))
                .expect("valid"),
        )
        .expect("ok");
    ledger
        .submit(
            input()
                .prepare("b.json", &bundle("p2", "2", 5))
                .expect("valid"),
        )
        .expect("ok");
    let env: Envelope =
        serde_json::from_slice(&ledger.record(4).expect("read").expect("p2").envelope)
            .expect("env");
    let resident = env.resident_bytes().expect("resident");
    let bundle = ledger.export_resident(&resident, Some(3)).expect("export");
    let ext = bundle
        .anchor_consistency
        .clone()
        .expect("consistency from size 3");
    assert_eq!(ext.old_size, 3);
    let proof: Vec<_> = ext
        .proof
        .iter()
        .map(|h| hl_ledger::proof_bundle::decode_hash(h).expect("hex"))
        .collect();
    merkle::verify_consistency(
        3,
        10,
        &ledger.root_at(3).expect("root"),
        &ledger.head().expect("head").root,
        &proof,
    )
    .expect("consistent");
    assert_eq!(bundle.records.len(), 6);
    let bytes = serde_json::to_vec_pretty(&bundle).expect("json");
    let parsed = ProofBundle::parse(&bytes).expect("parse");
    let report = parsed.verify(Some(ledger.verifier())).expect("checkable");
    assert!(report.ok(), "{:?}", report.failures);
    assert!(
        report
            .records
            .iter()
            .all(|r| r.included && r.content_verified)
    );

    // Change one character of a content value: that record fails, and only on its content.
    let text = String::from_utf8(bytes).expect("utf8");
    let changed = text.replacen("120.50", "121.50", 1);
    assert_ne!(changed, text);
    let report = ProofBundle::parse(changed.as_bytes())
        .expect("parse")
        .verify(None)
        .expect("checkable");
    assert_eq!(report.failures.len(), 1, "{:?}", report.failures);
    assert!(report.failures[0].contains("content does not match"));

    // A different pinned key refuses the bundle outright.
    let other = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[5; 32])).expect("name");
    assert!(parsed.verify(Some(other.verifier())).is_err());
}

#[test]
fn a_filtered_resident_snapshot_keeps_only_what_it_accepts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = open(&dir);
    let first = input()
        .prepare("a.json", &bundle("p1", "111-22-3333", 3))
        .expect("valid");
    ledger.submit(first).expect("written");
    let again = input()
        .prepare("b.json", &bundle("p1", "111-22-3333", 0))
        .expect("valid");
    ledger.submit(again).expect("written");
    let size = ledger.head().expect("head").size;
    let rec = ledger.record(0).expect("read").expect("present");
    let env: Envelope = serde_json::from_slice(&rec.envelope).expect("envelope");
    let resident = env.resident_bytes().expect("resident");

    let all = ledger.resident_snapshot(&resident, size).expect("read");
    assert_eq!(
        all.iter().map(|r| r.record.index).collect::<Vec<_>>(),
        vec![0, 1, 2, 3, 4]
    );
    let patients = ledger
        .resident_snapshot_where(&resident, size, |e| e.kind == "Patient")
        .expect("read");
    assert_eq!(
        patients
            .iter()
            .map(|r| (r.record.index, r.next_version))
            .collect::<Vec<_>>(),
        vec![(0, Some(4)), (4, None)]
    );
    let observations = ledger
        .resident_snapshot_where(&resident, size, |e| e.kind == "Observation")
        .expect("read");
    assert_eq!(observations.len(), 3);
    for (o, a) in observations.iter().zip(&all[1..4]) {
        assert_eq!(o.record.content, a.record.content);
        assert!(o.record.content.is_some());
        assert!(o.is_latest_at(size));
    }
    // A snapshot at an earlier size still ends at that size.
    let early = ledger
        .resident_snapshot_where(&resident, 4, |e| e.kind == "Patient")
        .expect("read");
    assert_eq!(early.len(), 1);
    assert!(early[0].is_latest_at(4));
}
