//! The QC API (rules, summary, resident QC with audit, event streams) against a real node.

mod common;

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::Hl;
use common::api::ApiNode;
use serde_json::{Value, json};

fn first_patient(file: &std::path::Path) -> String {
    let v: Value = serde_json::from_slice(&std::fs::read(file).expect("read")).expect("json");
    v["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Patient")
        .and_then(|e| e["resource"]["id"].as_str())
        .expect("a Patient")
        .to_owned()
}

fn size(node: &ApiNode) -> u64 {
    node.get("/v1/checkpoint?format=json", None)
        .expect(200)
        .json()["size"]
        .as_u64()
        .expect("size")
}

/// (rule, severity, evidence, message) of each finding, sorted.
fn findings(v: &Value) -> Vec<(String, String, String, String)> {
    let mut f: Vec<_> = v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().expect("rule").to_owned(),
                f["severity"].as_str().expect("severity").to_owned(),
                f["evidence"].to_string(),
                f["message"].as_str().expect("message").to_owned(),
            )
        })
        .collect();
    f.sort();
    f
}

#[test]
fn rules_summary_and_resident_qc() {
    let hl = Hl::init();
    let files = hl.synth("pop", 6, 5);
    let mut args = vec!["ingest", "--no-qc"];
    args.extend(files.iter().map(|f| f.to_str().expect("utf8")));
    assert!(hl.run(&args).ok);
    let patient = first_patient(
        files
            .iter()
            .find(|f| f.ends_with("resident-000002.json"))
            .expect("a resident file"),
    );
    // Ready only once the first QC pass is done, so the summary is there at once.
    let mut node = ApiNode::start(hl);
    let (admin, clinician, ingest) = (
        node.token("admin").to_owned(),
        node.token("clinician").to_owned(),
        node.token("ingest").to_owned(),
    );

    // The catalogue: 51 rules (46 per resident, and I01–I05 over the consortium view), each
    // described, with its parameters; any staff role.
    node.get("/v1/qc/rules", None).expect(401).outcome();
    let rules = node.get("/v1/qc/rules", Some(&ingest)).expect(200).json();
    assert_eq!(rules["total"], 51);
    let list = rules["rules"].as_array().expect("rules");
    assert_eq!(list.len(), 51);
    for r in list {
        assert!(
            r["id"].as_str().is_some_and(|i| i.starts_with("QC-")),
            "{r}"
        );
        assert!(
            r["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{r}"
        );
        assert!(["F", "R", "X", "T", "I"].contains(&r["level"].as_str().expect("level")));
        assert!(["E", "W", "I"].contains(&r["severity"].as_str().expect("severity")));
        assert!(r["parameters"].is_object(), "{r}");
    }

    // The summary, from the node's pass.
    node.get("/v1/qc/summary", Some(&ingest))
        .expect(403)
        .outcome();
    node.get("/v1/qc/summary", None).expect(401);
    let summary = node.get("/v1/qc/summary", Some(&admin)).expect(200).json();
    assert_eq!(summary["residents"], 6, "{summary}");
    assert_eq!(
        summary["evaluated_from"], summary["evaluated_to"],
        "one pass evaluated everyone at one instant"
    );
    let as_of = summary["as_of"].as_str().expect("as_of").to_owned();

    // Resident QC: audited, equal to what the CLI shows.
    node.get(&format!("/v1/qc/residents/{patient}"), None)
        .expect(401);
    node.get(&format!("/v1/qc/residents/{patient}"), Some(&ingest))
        .expect(403)
        .outcome();
    node.get("/v1/qc/residents/nope-nope", Some(&clinician))
        .expect(404)
        .outcome();
    node.get("/v1/qc/residents/bad%20id!", Some(&clinician))
        .expect(400)
        .outcome();
    let before = size(&node);
    let q = node
        .get(&format!("/v1/qc/residents/{patient}"), Some(&clinician))
        .expect(200)
        .json();
    // One AuditEvent, and nothing else (the QC pass does not re-assess for it).
    assert_eq!(q["audit_leaf"], before, "{q}");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(size(&node), before + 1);
    let resident = q["resident"].as_str().expect("pseudonym").to_owned();
    assert!(
        q["score"]["value"].is_u64() && q["score"]["band"].is_string(),
        "{q}"
    );
    assert!(q["score"]["modules"].is_array() && q["programmes"].is_array());
    // The pseudonym names the same resident; that read is audited too.
    let by_pseudonym = node
        .get(&format!("/v1/qc/residents/{resident}"), Some(&admin))
        .expect(200)
        .json();
    assert_eq!(findings(&by_pseudonym), findings(&q));
    assert_eq!(by_pseudonym["audit_leaf"], before + 1);
    let at = q["at"].as_str().expect("at").to_owned();

    // The CLI on the same data (one process owns the data dir: stop first).
    assert!(node.stop(), "node did not stop cleanly");
    let report = node.hl.json(&["qc", "report", "--at", &as_of]);
    assert_eq!(report["residents"], summary["residents"]);
    for k in ["mean", "incomplete_share", "bands"] {
        assert_eq!(report["completeness"][k], summary["completeness"][k], "{k}");
    }
    let per_rule = |v: &Value| -> Vec<(String, u64, u64)> {
        v["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .map(|r| {
                (
                    r["rule"].as_str().expect("rule").to_owned(),
                    r["findings"].as_u64().expect("findings"),
                    r["residents"].as_u64().expect("residents"),
                )
            })
            .collect()
    };
    assert_eq!(per_rule(&summary), per_rule(&report));
    assert!(
        !per_rule(&summary).is_empty(),
        "synthetic data has findings"
    );
    let show = node.hl.json(&[
        "resident",
        "show",
        &format!("Patient/{patient}"),
        "--at",
        &at,
    ]);
    assert_eq!(show["resident"], resident);
    assert_eq!(findings(&show), findings(&q));
    assert_eq!(show["score"]["value"], q["score"]["value"]);
    // The AuditEvents are in the log, tied to the resident, at the leaves the API named.
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
    let bundle: Value =
        serde_json::from_slice(&std::fs::read(&out).expect("bundle")).expect("json");
    let audits: Vec<u64> = bundle["records"]
        .as_array()
        .expect("records")
        .iter()
        .filter(|r| r["envelope"]["kind"] == "AuditEvent")
        .map(|r| r["index"].as_u64().expect("index"))
        .collect();
    assert_eq!(
        audits,
        vec![before, before + 1],
        "one AuditEvent per resident QC read"
    );

    // Still serving after a restart: summary and /openapi.json list every QC route.
    let node = node.restart();
    let again = node
        .get("/v1/qc/summary", Some(node.token("auditor")))
        .expect(200)
        .json();
    assert_eq!(again["residents"], 6);
    let doc = node.get("/openapi.json", None).expect(200).json();
    for p in [
        "/v1/qc/rules",
        "/v1/qc/summary",
        "/v1/qc/residents/{resident}",
        "/v1/qc/residents/{resident}/events",
        "/v1/qc/events",
    ] {
        assert!(
            doc["paths"][p].is_object(),
            "{p} missing from /openapi.json"
        );
    }
}

const CN_SYSTEM: &str = "urn:oid:2.16.156.10011.1.3";
const CN_ID: &str = "110105198001010016";

fn patient(birth: &str) -> Value {
    json!({"resourceType": "Patient", "id": "kid", "gender": "female", "birthDate": birth,
        "name": [{"family": "李"}], "identifier": [{"system": CN_SYSTEM, "value": CN_ID}]})
}

/// Reads an SSE body line by line on a thread, so the test can wait with a deadline.
fn lines(resp: reqwest::blocking::Response) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(resp).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    rx
}

/// Lines until one satisfies `want` or `secs` pass.
fn until(rx: &mpsc::Receiver<String>, secs: u64, want: impl Fn(&str) -> bool) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut seen = Vec::new();
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match rx.recv_timeout(left) {
            Ok(l) => {
                let hit = want(&l);
                seen.push(l);
                if hit {
                    return seen;
                }
            }
            Err(_) => break,
        }
    }
    panic!("not seen within {secs} s; got {seen:#?}");
}

#[test]
fn resident_event_stream() {
    let hl = Hl::init();
    // An adult: nothing due.
    let f = hl.write("adult.json", patient("1980-01-01").to_string().as_bytes());
    assert!(hl.run(&["ingest", f.to_str().expect("utf8")]).ok);
    let node = ApiNode::start(hl);
    let clinician = node.token("clinician").to_owned();
    let client = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(90))
        .build()
        .expect("client");
    let open = |path: &str, token: Option<&str>| {
        let mut req = client.get(node.abs(path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().expect("request")
    };
    assert_eq!(open("/v1/qc/residents/kid/events", None).status(), 401);
    assert_eq!(
        open("/v1/qc/residents/kid/events", Some(node.token("ingest"))).status(),
        403
    );
    assert_eq!(
        open("/v1/qc/events", Some(node.token("ingest"))).status(),
        403
    );
    let before = size(&node);
    let resp = open("/v1/qc/residents/kid/events", Some(&clinician));
    assert_eq!(resp.status(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/event-stream")
    );
    let resident = lines(resp);
    let all = lines(open("/v1/qc/events", Some(node.token("auditor"))));
    // The subscription was audited once.
    let deadline = Instant::now() + Duration::from_secs(10);
    while size(&node) < before + 1 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(size(&node), before + 1);

    // The same resident, now recorded as a one-year-old: vaccine doses fall due.
    let today = time::OffsetDateTime::now_utc().date();
    let birth = today - time::Duration::days(365);
    let inbox = node.hl.data().join("inbox");
    std::fs::write(
        inbox.join("kid.tmp"),
        patient(&birth.to_string()).to_string(),
    )
    .expect("write");
    std::fs::rename(inbox.join("kid.tmp"), inbox.join("kid.json")).expect("rename");
    let seen = until(&resident, 30, |l| l == "event: new");
    let data = until(&resident, 5, |l| l.starts_with("data: "));
    let v: Value = serde_json::from_str(data.last().expect("data").trim_start_matches("data: "))
        .expect("json");
    assert!(v["resident"].as_str().is_some_and(|r| r.len() == 64), "{v}");
    assert!(
        v["event"]["kind"]
            .as_str()
            .is_some_and(|k| k.starts_with("Dose")),
        "{v}"
    );
    assert!(!seen.is_empty());
    // The institution stream carries it too.
    until(&all, 10, |l| l == "event: new");
    // An idle stream gets keep-alive comments.
    until(&resident, 25, |l| l.starts_with(": keep-alive"));
    // A new subscriber first gets the resident's current events.
    let again = lines(open(
        "/v1/qc/residents/Patient%2Fkid/events",
        Some(&clinician),
    ));
    until(&again, 20, |l| l == "event: current");
}
