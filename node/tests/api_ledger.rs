//! The ledger API (checkpoint, key, proofs, anchors, bundle verification) against a real node.

mod common;

use std::time::{Duration, Instant};

use common::Hl;
use common::api::ApiNode;
use hl_ledger::merkle::{self, Hash};
use hl_ledger::note::{Checkpoint, NoteVerifier};
use serde_json::Value;

fn hash(v: &Value) -> Hash {
    hl_ledger::proof_bundle::decode_hash(v.as_str().expect("hex string")).expect("32-byte hash")
}

fn hashes(v: &Value) -> Vec<Hash> {
    v.as_array()
        .expect("proof array")
        .iter()
        .map(hash)
        .collect()
}

/// The national id of the first resident in a synthetic bundle.
fn first_cn_id(file: &std::path::Path) -> String {
    let v: Value = serde_json::from_slice(&std::fs::read(file).expect("read")).expect("json");
    v["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["resource"]["identifier"].as_array())
        .flatten()
        .find(|i| i["system"] == "urn:oid:2.16.156.10011.1.3")
        .and_then(|i| i["value"].as_str())
        .expect("a resident id")
        .to_owned()
}

fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(t) = f() {
            return t;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn checkpoint_proofs_anchors_and_verify() {
    let hl = Hl::init();
    let files = hl.synth("pop", 4, 11);
    let mut args = vec!["ingest", "--no-qc"];
    args.extend(files.iter().map(|f| f.to_str().expect("utf8")));
    assert!(hl.run(&args).ok);
    let (size0, root0) = hl.head();
    let resident = first_cn_id(
        files
            .iter()
            .find(|f| f.ends_with("resident-000001.json"))
            .expect("a resident file"),
    );
    let mut node = ApiNode::start(hl);
    let auditor = node.token("auditor").to_owned();

    // The checkpoint, as text and as JSON, verifies with the published key.
    let key_text = node.get("/v1/key", None).expect(200).text;
    let key = NoteVerifier::parse(key_text.trim()).expect("C2SP verifier key");
    let note = node.get("/v1/checkpoint", None).expect(200);
    assert!(
        note.headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/plain")
    );
    let cp = Checkpoint::open_signed(&note.text, &key).expect("checkpoint verifies");
    assert!(cp.size >= size0);
    let j = node
        .get_with("/v1/checkpoint", None, &[("accept", "application/json")])
        .expect(200)
        .json();
    let cp_json = Checkpoint::open_signed(j["checkpoint"].as_str().expect("text"), &key)
        .expect("JSON checkpoint verifies");
    assert_eq!(j["size"], cp_json.size);
    assert_eq!(j["root"], hex::encode(cp_json.root));
    assert_eq!(j["origin"], cp_json.origin);
    assert_eq!(j["verifierKey"], key_text.trim());
    let j2 = node
        .get("/v1/checkpoint?format=json", None)
        .expect(200)
        .json();
    assert!(j2["size"].as_u64().expect("size") >= cp_json.size);
    node.get("/v1/checkpoint?format=xml", None)
        .expect(400)
        .outcome();

    // Inclusion proofs verify against the checkpoint they come with.
    let r = node
        .get("/v1/proof/inclusion?index=3", Some(&auditor))
        .expect(200)
        .json();
    let cp = Checkpoint::open_signed(r["checkpoint"].as_str().expect("checkpoint"), &key)
        .expect("signed");
    assert_eq!(r["size"], cp.size);
    merkle::verify_inclusion(
        3,
        cp.size,
        &hash(&r["leafHash"]),
        &hashes(&r["proof"]),
        &cp.root,
    )
    .expect("inclusion proof verifies");
    assert!(
        merkle::verify_inclusion(
            2,
            cp.size,
            &hash(&r["leafHash"]),
            &hashes(&r["proof"]),
            &cp.root
        )
        .is_err(),
        "the proof must not fit another leaf"
    );
    // Against an older size, it verifies against the root the CLI saw then.
    let old = node
        .get(
            &format!("/v1/proof/inclusion?index=0&size={size0}"),
            Some(&auditor),
        )
        .expect(200)
        .json();
    assert_eq!(old["root"], root0);
    merkle::verify_inclusion(
        0,
        size0,
        &hash(&old["leafHash"]),
        &hashes(&old["proof"]),
        &hash(&old["root"]),
    )
    .expect("old inclusion proof");

    // Grow the log through the inbox, then prove the new head extends the old one.
    let inbox = node.hl.data().join("inbox");
    let more = node.hl.synth("more", 1, 99);
    std::fs::copy(&more[0], inbox.join("more.tmp")).expect("copy");
    std::fs::rename(inbox.join("more.tmp"), inbox.join("more.json")).expect("rename");
    let grown = wait_for("the inbox file to land", 60, || {
        let j = node.get("/v1/checkpoint?format=json", None).json();
        let s = j["size"].as_u64().expect("size");
        (s > cp.size).then_some(s)
    });
    let c = node
        .get(
            &format!("/v1/proof/consistency?old={size0}"),
            Some(&auditor),
        )
        .expect(200)
        .json();
    let new_cp = Checkpoint::open_signed(c["checkpoint"].as_str().expect("checkpoint"), &key)
        .expect("signed");
    assert!(new_cp.size >= grown);
    assert_eq!(c["old"], size0);
    assert_eq!(c["oldRoot"], root0);
    merkle::verify_consistency(
        size0,
        new_cp.size,
        &hash(&serde_json::json!(root0)),
        &new_cp.root,
        &hashes(&c["proof"]),
    )
    .expect("consistency proof verifies");
    let c2 = node
        .get(
            &format!("/v1/proof/consistency?old=2&new={size0}"),
            Some(&auditor),
        )
        .expect(200)
        .json();
    merkle::verify_consistency(
        2,
        size0,
        &hash(&c2["oldRoot"]),
        &hash(&serde_json::json!(root0)),
        &hashes(&c2["proof"]),
    )
    .expect("consistency between two old sizes");

    // Bad parameters name the problem.
    for (path, status, words) in [
        ("/v1/proof/inclusion", 400, "'index' is required"),
        ("/v1/proof/inclusion?index=abc", 400, "'index'"),
        ("/v1/proof/inclusion?index=-1", 400, "'index'"),
        ("/v1/proof/inclusion?index=5&size=5", 400, "not in the tree"),
        ("/v1/proof/inclusion?index=0&size=999999", 404, "'size'"),
        ("/v1/proof/inclusion?index=0&page=2", 400, "page"),
        ("/v1/proof/consistency?new=3", 400, "'old' is required"),
        ("/v1/proof/consistency?old=5&new=3", 400, "larger than new"),
        ("/v1/proof/consistency?old=0", 400, "old = 0"),
        ("/v1/proof/consistency?old=1&new=999999", 404, "'new'"),
    ] {
        let r = node.get(path, Some(&auditor)).expect(status);
        let o = r.outcome();
        let text = o["issue"][0]["diagnostics"].as_str().expect("diagnostics");
        assert!(text.contains(words), "{path}: {text}");
    }
    // Proofs and anchors need a token; every staff role may read the ledger.
    node.get("/v1/proof/inclusion?index=0", None)
        .expect(401)
        .outcome();
    node.get("/v1/anchors", Some("hlt_nonsense")).expect(401);
    for role in common::api::ROLES {
        node.get("/v1/proof/inclusion?index=0", Some(node.token(role)))
            .expect(200);
    }

    // The node anchors (ApiNode sets a 1 s interval); the anchors list shows it.
    let a = wait_for("an anchor", 90, || {
        let a = node.get("/v1/anchors", Some(&auditor)).expect(200).json();
        (!a["anchors"].as_array().expect("anchors").is_empty()).then_some(a)
    });
    let first = &a["anchors"][0];
    assert!(
        first["tx_hash"].as_str().expect("tx").starts_with("0x"),
        "{a}"
    );
    assert!(first["block_number"].as_u64().expect("block") >= 1, "{a}");
    assert!(first["block_hash"].as_str().is_some_and(|h| !h.is_empty()));
    assert!(first["gas_used"].as_u64().expect("gas") > 0);
    assert!(
        first["confirmed_at"]
            .as_str()
            .is_some_and(|t| t.contains('T'))
    );
    let (size, anchored) = (
        a["size"].as_u64().expect("size"),
        a["anchoredSize"].as_u64().expect("anchored size"),
    );
    assert_eq!(a["lag"].as_u64(), Some(size - anchored));
    // Wait until the whole log is anchored, so the export below ties to it.
    wait_for("the head to be anchored", 90, || {
        let a = node.get("/v1/anchors", Some(&auditor)).expect(200).json();
        (a["lag"] == 0).then_some(())
    });

    // A bundle exported with the CLI (one process owns the data dir: stop first) verifies
    // over HTTP and is tied to the anchored head.
    assert!(node.stop(), "node did not stop cleanly");
    let out = node.hl.dir.path().join("bundle.json");
    let r = node.hl.run(&[
        "log",
        "export",
        "--resident",
        &resident,
        "--out",
        out.to_str().expect("utf8"),
    ]);
    assert!(r.ok, "export: {}", r.stderr);
    let node = node.restart();
    let bundle = std::fs::read(&out).expect("bundle");
    let v = node
        .post_bytes("/v1/verify", None, bundle.clone())
        .expect(200)
        .json();
    assert_eq!(v["ok"], true, "{v}");
    assert!(v["failures"].as_array().expect("failures").is_empty());
    assert!(
        !v["report"]["records"]
            .as_array()
            .expect("records")
            .is_empty()
    );
    assert_eq!(v["anchored"]["tied"], true, "{v}");
    // Pinned to this log's key: still fine; to another key: refused, with the reason.
    let pinned = format!(
        "/v1/verify?key={}",
        urlencode(node.get("/v1/key", None).text.trim())
    );
    let v = node
        .post_bytes(&pinned, None, bundle.clone())
        .expect(200)
        .json();
    assert_eq!(
        (v["ok"].clone(), v["report"]["key_pinned"].clone()),
        (true.into(), true.into())
    );
    let other = Hl::init();
    let other_key = other.run(&["log", "key"]).stdout.trim().to_owned();
    let v = node
        .post_bytes(
            &format!("/v1/verify?key={}", urlencode(&other_key)),
            None,
            bundle.clone(),
        )
        .expect(200)
        .json();
    assert_eq!(v["ok"], false);
    assert!(
        v["failures"][0]
            .as_str()
            .expect("failure")
            .contains("pinned key"),
        "{v}"
    );
    // One byte of content changed: not ok, and the failure names the record.
    let text = String::from_utf8(bundle.clone()).expect("utf8");
    let at = text.find("\"content\": {").expect("a record with content") + 20;
    let mut tampered = bundle.clone();
    let pos = (at..tampered.len())
        .find(|&i| tampered[i].is_ascii_digit() || tampered[i].is_ascii_lowercase())
        .expect("a byte to change");
    tampered[pos] = if tampered[pos] == b'1' {
        b'2'
    } else if tampered[pos].is_ascii_digit() {
        b'1'
    } else {
        tampered[pos].to_ascii_uppercase()
    };
    let v = node
        .post_bytes("/v1/verify", None, tampered)
        .expect(200)
        .json();
    assert_eq!(v["ok"], false, "{v}");
    let failures = v["failures"].as_array().expect("failures");
    assert!(
        failures
            .iter()
            .any(|f| f.as_str().is_some_and(|f| f.contains("content"))),
        "{v}"
    );
    // Not a bundle at all, or a bad key: 400 OperationOutcome.
    node.post_bytes("/v1/verify", None, b"{\"format\":1}".to_vec())
        .expect(400)
        .outcome();
    node.post_bytes("/v1/verify", None, b"not json".to_vec())
        .expect(400)
        .outcome();
    node.post_bytes("/v1/verify?key=nope", None, bundle)
        .expect(400)
        .outcome();

    // Every route is in the OpenAPI document.
    let doc = node.get("/openapi.json", None).expect(200).json();
    for p in [
        "/v1/checkpoint",
        "/v1/key",
        "/v1/proof/inclusion",
        "/v1/proof/consistency",
        "/v1/anchors",
        "/v1/verify",
    ] {
        assert!(
            doc["paths"][p].is_object(),
            "{p} missing from /openapi.json"
        );
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
