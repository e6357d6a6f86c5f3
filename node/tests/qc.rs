//! QC through the real binary: ingest re-evaluates the residents it touches and appends a QC
//! summary record only when a resident's status changes; `qc report`, `qc rules`, `qc eval`
//! and `resident show` read the log; `healthledger node` keeps summaries current.

mod common;

use std::process::Stdio;
use std::time::{Duration, Instant};

use common::Hl;
use serde_json::{Value, json};

const ID_CARD: &str = "urn:oid:2.16.156.10011.1.3";

/// A transaction Bundle of one resident: a man (valid GB 11643 id) with, if `pregnant`, a
/// pregnancy diagnosis (QC-X01).
fn bundle(patient: &str, id_card: &str, pregnant: bool) -> Vec<u8> {
    let mut entries = vec![json!({
        "fullUrl": format!("urn:uuid:{patient}"),
        "resource": {"resourceType": "Patient", "id": patient, "gender": "male",
            "birthDate": "1980-01-01", "name": [{"family": "张", "given": ["伟"]}],
            "identifier": [{"system": ID_CARD, "value": id_card}]},
        "request": {"method": "PUT", "url": format!("Patient/{patient}")}
    })];
    if pregnant {
        entries.push(json!({
            "fullUrl": format!("urn:uuid:{patient}-c"),
            "resource": {"resourceType": "Condition", "id": format!("{patient}-c"),
                "subject": {"reference": format!("urn:uuid:{patient}")},
                "recordedDate": "2024-03-01",
                "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cn", "code": "O24.4"}]}},
            "request": {"method": "PUT", "url": format!("Condition/{patient}-c")}
        }));
    }
    serde_json::to_vec(&json!({"resourceType": "Bundle", "type": "transaction", "entry": entries}))
        .expect("bundle")
}

/// Two valid GB 11643 ids of men born 1980-01-01 (odd 17th digit).
const MAN_A: &str = "110105198001010016";
const MAN_B: &str = "110105198001010032";

fn x01_residents(report: &Value) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["rule"] == "QC-X01")
        .map(|f| f["resident"].as_str().expect("resident").to_owned())
        .collect()
}

#[test]
fn ingest_appends_a_summary_when_the_status_changes_and_commands_read_it() {
    let hl = Hl::init();
    let a = hl.write("a.json", &bundle("pa", MAN_A, true));
    let out = hl.json(&["ingest", a.to_str().expect("path")]);
    assert_eq!(out["records_added"], 2);
    assert_eq!(out["qc"]["residents_evaluated"], 1);
    assert_eq!(out["qc"]["summaries_appended"], 1);
    assert_eq!(out["size"], 3, "2 records + 1 QC summary");

    // The summary is a record of the resident, covered by the checkpoint like any other.
    let rec = hl.json(&["record", "get", "--index", "2"]);
    assert_eq!(rec["envelope"]["kind"], "Basic");
    let content: Value = if rec["content"].is_string() {
        serde_json::from_str(rec["content"].as_str().expect("text")).expect("content")
    } else {
        rec["content"].clone()
    };
    let text = content["extension"][0]["valueString"]
        .as_str()
        .expect("summary text");
    let summary: Value = serde_json::from_str(text).expect("summary json");
    assert_eq!(summary["failing"][0]["rule"], "QC-X01");
    assert_eq!(summary["failing"][0]["evidence"], json!([0, 1]));

    // The same data again is a new version of each resource: the finding now rests on the new
    // versions' leaves, so the status (which cites them) changes and a summary follows.
    let again = hl.json(&["ingest", a.to_str().expect("path")]);
    assert_eq!(again["qc"]["summaries_appended"], 1);
    assert_eq!(again["size"], 6);

    // Another resident, clean: evaluated alone, with a summary of its own (no failing rule).
    let b = hl.write("b.json", &bundle("pb", MAN_B, false));
    let out = hl.json(&["ingest", b.to_str().expect("path")]);
    assert_eq!(out["qc"]["residents_evaluated"], 1);
    assert_eq!(out["qc"]["summaries_appended"], 1);

    // The diagnosis corrected (entered-in-error): the status changes, a new summary version.
    let fixed = json!({"resourceType": "Bundle", "type": "transaction", "entry": [{
        "fullUrl": "urn:uuid:pa-c",
        "resource": {"resourceType": "Condition", "id": "pa-c",
            "subject": {"reference": "Patient/pa"}, "recordedDate": "2024-03-01",
            "verificationStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "entered-in-error"}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cn", "code": "O24.4"}]}},
        "request": {"method": "PUT", "url": "Condition/pa-c"}}]});
    let f = hl.write("fix.json", &serde_json::to_vec(&fixed).expect("json"));
    let out = hl.json(&["ingest", f.to_str().expect("path")]);
    assert_eq!(out["qc"]["summaries_appended"], 1);

    // Reports: before the correction (the summary history is in the log) and now.
    let report = hl.json(&["qc", "report", "--at", "2025-01-01"]);
    assert_eq!(report["residents"], 2);
    assert!(x01_residents(&report).is_empty(), "{report}");
    let show = hl.json(&["resident", "show", &format!("{ID_CARD}|{MAN_A}")]);
    // 2 + 2 versions, 1 correction and 3 summaries.
    assert_eq!(show["records"].as_array().expect("records").len(), 8);
    let by_patient = hl.json(&["resident", "show", "Patient/pb"]);
    assert_ne!(by_patient["resident"], show["resident"]);
    let by_card = hl.json(&["resident", "show", MAN_B]);
    assert_eq!(by_card["resident"], by_patient["resident"]);

    // The resident view carries the score with its reasons, the programmes and the timeline,
    // filtered on request.
    let score = &show["score"];
    assert!(score["value"].as_u64().expect("score") <= 100, "{score}");
    assert_eq!(score["modules"].as_array().expect("modules").len(), 5);
    assert!(show["programmes"].is_array() && show["events"].is_array());
    let only = hl.json(&["resident", "show", "Patient/pa", "--kind", "Condition"]);
    let kinds: Vec<_> = only["timeline"]
        .as_array()
        .expect("timeline")
        .iter()
        .map(|i| i["kind"].as_str().expect("kind").to_owned())
        .collect();
    assert_eq!(kinds, ["Condition"]);
    let report = hl.json(&["qc", "report"]);
    let bands = &report["completeness"]["bands"];
    let total: u64 = ["A", "B", "C", "D"]
        .iter()
        .map(|b| bands[b].as_u64().expect("band"))
        .sum();
    assert_eq!(total, 2);
    let events = hl.json(&["qc", "events", "--resident", "Patient/pa"]);
    assert!(events["events"].is_array());

    let rules = hl.json(&["qc", "rules"]);
    let rules = rules["rules"].as_array().expect("rules");
    assert!(rules.len() >= 45, "{}", rules.len());
    let scenario = rules
        .iter()
        .filter(|r| r["level"] == "X" || r["level"] == "T")
        .count();
    assert!(scenario >= 32, "{scenario}");

    // Bad inputs: one line, non-zero exit.
    for args in [
        vec!["resident", "show", "nobody"],
        vec!["qc", "report", "--at", "yesterday"],
        vec!["qc", "eval", "--labels", "/nonexistent/labels.jsonl"],
        vec!["resident", "show", "Patient/pa", "--from", "2024-13-01"],
    ] {
        let r = hl.run(&args);
        assert!(!r.ok, "{args:?} should fail");
        assert_eq!(r.stderr.trim().lines().count(), 1, "{args:?}: {}", r.stderr);
    }
}

#[test]
fn qc_eval_scores_rules_against_labels() {
    let hl = Hl::init();
    for (name, patient, card, pregnant) in [("a", "pa", MAN_A, true), ("b", "pb", MAN_B, false)] {
        let f = hl.write(&format!("{name}.json"), &bundle(patient, card, pregnant));
        assert!(hl.run(&["ingest", "--no-qc", f.to_str().expect("path")]).ok);
    }
    // The label is right for pa: X01 precision and recall 1.
    let labels = hl.write("labels.jsonl", br#"{"patient": "pa", "rule": "QC-X01"}"#);
    let out = hl.json(&[
        "qc",
        "eval",
        "--labels",
        labels.to_str().expect("path"),
        "--min",
        "0.99",
    ]);
    let x01 = out["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .find(|r| r["rule"] == "QC-X01")
        .expect("X01 scored")
        .clone();
    assert_eq!(
        (x01["precision"].as_f64(), x01["recall"].as_f64()),
        (Some(1.0), Some(1.0))
    );
    // Labelled on the wrong resident: the rule misses it and fires elsewhere; --min fails.
    let wrong = hl.write("wrong.jsonl", br#"{"patient": "pb", "rule": "QC-X01"}"#);
    let r = hl.run(&[
        "qc",
        "eval",
        "--labels",
        wrong.to_str().expect("path"),
        "--min",
        "0.99",
    ]);
    assert!(!r.ok);
    assert!(r.stderr.contains("QC-X01"), "{}", r.stderr);
    // Another institution's record of the same person (same ID card) with another birth date:
    // shown as a conflict, never merged.
    let other = json!({"resourceType": "Patient", "id": "pa-elsewhere", "gender": "male",
        "birthDate": "1980-01-02", "identifier": [{"system": ID_CARD, "value": MAN_A}]});
    let f = hl.write("other.json", &serde_json::to_vec(&other).expect("json"));
    assert!(hl.run(&["ingest", "--no-qc", f.to_str().expect("path")]).ok);
    let show = hl.json(&["resident", "show", "Patient/pa"]);
    let conflicts = show["identity_conflicts"].as_array().expect("conflicts");
    assert_eq!(conflicts.len(), 1, "{conflicts:?}");
    assert_eq!(conflicts[0]["field"], "BirthDate");
    assert_eq!(conflicts[0]["values"].as_array().expect("values").len(), 2);

    let bad = hl.write("bad.jsonl", b"{\"patient\": 1}\n");
    let r = hl.run(&["qc", "eval", "--labels", bad.to_str().expect("path")]);
    assert!(!r.ok && r.stderr.contains("line 1"), "{}", r.stderr);
}

#[test]
fn the_node_appends_summaries_for_what_the_inbox_brings() {
    let hl = Hl::init();
    let inbox = hl.data().join("inbox");
    std::fs::create_dir_all(&inbox).expect("inbox");
    let staged = hl.write("a.json", &bundle("pa", MAN_A, true));
    let mut node = hl
        .cmd()
        .env("HEALTHLEDGER_INBOX__POLL_MS", "50")
        .env("HEALTHLEDGER_ANCHOR__INTERVAL_SECS", "3600")
        .env("HEALTHLEDGER_ANCHOR__EVERY_RECORDS", "1000000")
        .arg("node")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn node");
    std::fs::rename(&staged, inbox.join("a.json")).expect("drop into inbox");
    let deadline = Instant::now() + Duration::from_secs(60);
    // The store is single-process: wait for the file to be done, stop the node, then read.
    while !inbox.join("done/a.json").exists() {
        assert!(Instant::now() < deadline, "the inbox file was not ingested");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &node.id().to_string()])
        .status();
    let status = node.wait().expect("node exits");
    assert!(status.success());
    let (size, _) = hl.head();
    assert_eq!(size, 3, "2 records and the resident's QC summary");
    let rec = hl.json(&["record", "get", "--index", "2"]);
    assert_eq!(rec["envelope"]["kind"], "Basic");
}
