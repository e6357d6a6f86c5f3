//! FHIR writes over HTTP against a real node: transaction (atomic), batch (per entry), create
//! and update (versions), and graceful shutdown losing no acknowledged write. Bad input and
//! roles: `api_fhir_write_refusals.rs`.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::Hl;
use common::api::{ApiNode, Resp};
use hl_ledger::Ledger;
use serde_json::{Value, json};

/// QC would append summary records for the residents a write touches; off, the log grows by
/// exactly what the requests wrote.
const NO_QC: (&str, &str) = ("HEALTHLEDGER_QC__ENABLED", "false");

fn start(env: &[(&str, &str)]) -> ApiNode {
    let mut all = vec![NO_QC];
    all.extend_from_slice(env);
    ApiNode::start_with(Hl::init(), &all)
}

fn size(node: &ApiNode) -> u64 {
    node.get("/readyz", None).expect(200).json()["size"]
        .as_u64()
        .expect("size")
}

fn synthea(name: &str) -> Value {
    let p = common::shared_fhir()
        .join("synthea-smart-on-fhir")
        .join(name);
    serde_json::from_slice(&std::fs::read(&p).expect("sample")).expect("sample JSON")
}

const BUSTER: &str = "Buster_Hoeger_ad2e3fc5-2b5d-4cb9-8d03-9ea0f4ac8423.json";

/// The log of a stopped node.
fn open_log(hl: &Hl) -> Ledger {
    hl_node::config::Node::load(&hl.data())
        .expect("config")
        .open_ledger()
        .expect("open the log")
}

/// `Type/id/_history/v` → (type, id, version).
fn parse_location(loc: &str) -> (String, String, u32) {
    let parts: Vec<&str> = loc.split('/').collect();
    assert_eq!(parts.len(), 4, "location {loc}");
    assert_eq!(parts[2], "_history", "location {loc}");
    (
        parts[0].to_owned(),
        parts[1].to_owned(),
        parts[3].parse().expect("version"),
    )
}

/// The stored content of `Type/id` version `v`.
fn stored(log: &Ledger, kind: &str, id: &str, v: u32) -> Option<Vec<u8>> {
    let index = log.version(kind, id, v).expect("read")?;
    log.record(index).expect("read").and_then(|r| r.content)
}

fn issue(r: &Resp) -> Value {
    r.outcome()["issue"][0].clone()
}

fn expression(r: &Resp) -> String {
    issue(r)["expression"][0].as_str().unwrap_or("").to_owned()
}

#[test]
fn a_transaction_lands_whole_and_a_resend_makes_second_versions() {
    let mut node = start(&[]);
    let ingest = node.token("ingest").to_owned();
    let bundle = synthea(BUSTER);
    let n = bundle["entry"].as_array().expect("entries").len();
    let before = size(&node);

    let r = node.post("/fhir", Some(&ingest), &bundle).expect(200);
    let answer = r.json();
    assert_eq!(answer["resourceType"], "Bundle");
    assert_eq!(answer["type"], "transaction-response");
    let entries = answer["entry"].as_array().expect("entries");
    assert_eq!(entries.len(), n);
    assert_eq!(size(&node), before + n as u64, "the whole bundle landed");
    for (e, input) in entries.iter().zip(bundle["entry"].as_array().expect("in")) {
        let resp = &e["response"];
        assert_eq!(resp["status"], "201 Created", "{e}");
        let (kind, id, v) = parse_location(resp["location"].as_str().expect("location"));
        assert_eq!(
            kind,
            input["resource"]["resourceType"].as_str().expect("type")
        );
        assert_eq!(id, input["resource"]["id"].as_str().expect("id"));
        assert_eq!(v, 1);
        assert_eq!(resp["etag"], "W/\"1\"");
        assert!(
            resp["lastModified"]
                .as_str()
                .is_some_and(|t| t.ends_with('Z')),
            "{e}"
        );
    }

    // The same resources again: the log appends their second versions.
    let again = node
        .post("/fhir", Some(&ingest), &bundle)
        .expect(200)
        .json();
    assert_eq!(size(&node), before + 2 * n as u64);
    for e in again["entry"].as_array().expect("entries") {
        assert_eq!(e["response"]["status"], "200 OK", "{e}");
        assert_eq!(e["response"]["etag"], "W/\"2\"", "{e}");
        assert!(
            e["response"]["location"]
                .as_str()
                .is_some_and(|l| l.ends_with("/_history/2"))
        );
    }

    assert!(node.stop(), "node did not stop cleanly");
    // Every location answered is in the log with the resource that was sent.
    let first_index;
    {
        let log = open_log(&node.hl);
        for (e, input) in entries.iter().zip(bundle["entry"].as_array().expect("in")) {
            let (kind, id, v) = parse_location(e["response"]["location"].as_str().expect("loc"));
            let content = stored(&log, &kind, &id, v).expect("the answered version is in the log");
            let content: Value = serde_json::from_slice(&content).expect("stored JSON");
            assert_eq!(content, input["resource"], "{kind}/{id}");
        }
        let (kind, id, _) = parse_location(entries[0]["response"]["location"].as_str().expect("l"));
        first_index = log.version(&kind, &id, 1).expect("read").expect("present");
    }
    // And the CLI reads the same record.
    let rec = node
        .hl
        .json(&["record", "get", "--index", &first_index.to_string()]);
    assert_eq!(rec["content"], bundle["entry"][0]["resource"]);
}

/// One change that spoils a good Bundle.
type Change = Box<dyn Fn(&mut Value)>;

#[test]
fn a_transaction_with_one_bad_entry_writes_nothing() {
    let node = start(&[]);
    let ingest = node.token("ingest").to_owned();
    let good = synthea(BUSTER);
    let before = size(&node);

    // A reference to a Patient neither in the Bundle nor in the log: refused by the writer.
    let mut b = good.clone();
    b["entry"][3]["resource"]["subject"] = json!({ "reference": "Patient/nobody" });
    let r = node.post("/fhir", Some(&ingest), &b).expect(422);
    assert_eq!(expression(&r), "Bundle.entry[3].resource.subject.reference");
    assert!(
        issue(&r)["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("Patient/nobody")),
        "{}",
        r.text
    );

    // Invalid FHIR in one entry, each refused before anything is queued.
    let cases: Vec<(Change, &str)> = vec![
        (
            Box::new(|b| b["entry"][5]["resource"]["resourceType"] = json!("Nope")),
            "Bundle.entry[5].resource.resourceType",
        ),
        (
            Box::new(|b| b["entry"][2]["resource"]["id"] = json!("not an id!")),
            "Bundle.entry[2].resource.id",
        ),
        (
            Box::new(|b| b["entry"][4]["request"]["method"] = json!("DELETE")),
            "Bundle.entry[4].request.method",
        ),
        (
            Box::new(|b| b["entry"][6]["request"]["url"] = json!("Observation")),
            "Bundle.entry[6].request.url",
        ),
        (
            Box::new(|b| b["entry"][7]["request"]["ifNoneExist"] = json!("identifier=x")),
            "Bundle.entry[7].request.ifNoneExist",
        ),
        (
            Box::new(|b| {
                b["entry"][4]["resource"]["subject"]["reference"] = json!("urn:uuid:gone")
            }),
            "Bundle.entry[4].resource.subject.reference",
        ),
        (
            Box::new(|b| b["entry"][1]["fullUrl"] = b["entry"][0]["fullUrl"].clone()),
            "Bundle.entry[1].fullUrl",
        ),
        (Box::new(|b| b["type"] = json!("searchset")), "Bundle.type"),
        (Box::new(|b| b["entry"] = json!([])), "Bundle.entry"),
    ];
    for (change, expr) in cases {
        let mut b = good.clone();
        change(&mut b);
        let r = node.post("/fhir", Some(&ingest), &b);
        assert_eq!(r.status, 400, "{expr}: {}", r.text);
        assert_eq!(expression(&r), expr, "{}", r.text);
        assert_eq!(issue(&r)["severity"], "error");
    }
    assert_eq!(size(&node), before, "a refused transaction wrote something");

    // The good bundle still lands afterwards.
    node.post("/fhir", Some(&ingest), &good).expect(200);
    assert_eq!(
        size(&node),
        before + good["entry"].as_array().expect("e").len() as u64
    );
}

/// A quantity whose decimal has a trailing zero (parsed, not a Rust float literal, so that
/// the zero survives into the request).
fn decimal_kg() -> Value {
    serde_json::from_str(r#"{ "value": 70.50, "unit": "kg" }"#).expect("json")
}

#[test]
fn a_batch_lands_its_good_entries_and_names_each_bad_one() {
    let mut node = start(&[]);
    let ingest = node.token("ingest").to_owned();
    let before = size(&node);
    let obs = |id: &str, patient: &str| {
        json!({ "request": { "method": "PUT", "url": format!("Observation/{id}") }, "resource": {
            "resourceType": "Observation", "id": id, "status": "final",
            "code": { "text": "weight" }, "subject": { "reference": patient },
            "effectiveDateTime": "2025-02-03", "valueQuantity": decimal_kg() } })
    };
    let batch = json!({ "resourceType": "Bundle", "type": "batch", "entry": [
        { "request": { "method": "PUT", "url": "Patient/b1" }, "resource": {
            "resourceType": "Patient", "id": "b1", "name": [{ "family": "Batch" }] } },
        obs("o1", "Patient/b1"),
        obs("o2", "Patient/nobody"),
        { "request": { "method": "POST", "url": "Nope" }, "resource": { "resourceType": "Nope" } },
        obs("o3", "urn:uuid:not-in-a-batch"),
        { "request": { "method": "GET", "url": "Patient/b1" } },
        obs("o4", "Patient/b1"),
    ]});
    let r = node.post("/fhir", Some(&ingest), &batch).expect(200);
    let answer = r.json();
    assert_eq!(answer["type"], "batch-response");
    let entries = answer["entry"].as_array().expect("entries");
    let statuses: Vec<&str> = entries
        .iter()
        .map(|e| e["response"]["status"].as_str().expect("status"))
        .collect();
    assert_eq!(
        statuses,
        [
            "201 Created",
            "201 Created",
            "422 Unprocessable Entity",
            "400 Bad Request",
            "400 Bad Request",
            "400 Bad Request",
            "201 Created"
        ],
        "{}",
        r.text
    );
    let expr = |i: usize| {
        let o = &entries[i]["response"]["outcome"];
        assert_eq!(o["resourceType"], "OperationOutcome", "{o}");
        o["issue"][0]["expression"][0]
            .as_str()
            .expect("expression")
            .to_owned()
    };
    assert_eq!(expr(2), "Bundle.entry[2].resource.subject.reference");
    assert_eq!(expr(3), "Bundle.entry[3].resource.resourceType");
    assert_eq!(expr(4), "Bundle.entry[4].resource.subject.reference");
    assert_eq!(expr(5), "Bundle.entry[5].request.method");
    assert!(
        entries[2]["response"]["outcome"]["issue"][0]["diagnostics"]
            .as_str()
            .is_some_and(|d| d.contains("Patient/nobody"))
    );
    assert_eq!(
        size(&node),
        before + 3,
        "exactly the three good entries landed"
    );
    assert!(node.stop());
    let log = open_log(&node.hl);
    for (kind, id) in [
        ("Patient", "b1"),
        ("Observation", "o1"),
        ("Observation", "o4"),
    ] {
        assert!(stored(&log, kind, id, 1).is_some(), "{kind}/{id}");
    }
    assert!(log.latest("Observation", "o2").expect("read").is_none());
    // Exact decimals survive (70.50 is stored as sent).
    let o1 = String::from_utf8(stored(&log, "Observation", "o1", 1).expect("o1")).expect("utf8");
    assert!(o1.contains("70.50"), "{o1}");
}

#[test]
fn create_assigns_an_id_and_update_appends_versions() {
    let mut node = start(&[]);
    let ingest = node.token("ingest").to_owned();
    let before = size(&node);
    let patient = json!({ "resourceType": "Patient", "id": "client-chosen",
        "meta": { "versionId": "7" }, "name": [{ "family": "Create" }], "birthDate": "1980-04-01" });
    let r = node
        .post("/fhir/Patient", Some(&ingest), &patient)
        .expect(201);
    let location = r.headers["location"].to_str().expect("location").to_owned();
    let prefix = format!("{}/fhir/Patient/", node.url);
    let rest = location.strip_prefix(&prefix).expect("absolute Location");
    let (id, version) = rest.split_once("/_history/").expect("versioned Location");
    assert_eq!(version, "1");
    assert!(
        id.len() == 32 && id.bytes().all(|b| b.is_ascii_hexdigit()),
        "server-assigned id: {id}"
    );
    assert_eq!(r.headers["etag"], "W/\"1\"");
    assert!(
        r.headers["last-modified"]
            .to_str()
            .is_ok_and(|d| d.ends_with(" GMT"))
    );
    assert!(
        r.headers["content-type"]
            .to_str()
            .is_ok_and(|t| t.starts_with("application/fhir+json"))
    );
    let body = r.json();
    assert_eq!(body["id"], id);
    assert_eq!(body["meta"]["versionId"], "1");
    assert!(body["meta"]["lastUpdated"].is_string());
    assert_eq!(body["name"][0]["family"], "Create");

    // Update: the next version, kept exactly as sent.
    let v2_text = format!(
        "{{\"resourceType\":\"Patient\", \"id\":\"{id}\",\n  \"name\":[{{\"family\":\"Updated\"}}], \"birthDate\":\"1980-04-01\"}}"
    );
    let v2 = node
        .client
        .put(node.abs(&format!("/fhir/Patient/{id}")))
        .bearer_auth(&ingest)
        .header("content-type", "application/json; charset=utf-8")
        .body(v2_text.clone())
        .send()
        .expect("PUT");
    assert_eq!(v2.status().as_u16(), 200);
    assert_eq!(v2.headers()["etag"], "W/\"2\"");
    assert!(
        v2.headers()["location"]
            .to_str()
            .is_ok_and(|l| l.ends_with(&format!("/fhir/Patient/{id}/_history/2")))
    );
    let v2_body: Value = v2.json().expect("json");
    assert_eq!(v2_body["meta"]["versionId"], "2");
    assert_eq!(v2_body["name"][0]["family"], "Updated");

    // PUT of an id the log does not hold yet: its first version, 201.
    let r = node
        .put(
            "/fhir/Patient/fresh-1",
            Some(&ingest),
            &json!({ "resourceType": "Patient", "id": "fresh-1" }),
        )
        .expect(201);
    assert_eq!(r.headers["etag"], "W/\"1\"");

    // An Observation created against the new Patient; Prefer: return=minimal has no body.
    let obs = json!({ "resourceType": "Observation", "status": "final", "code": { "text": "x" },
        "subject": { "reference": format!("Patient/{id}") }, "effectiveDateTime": "2025-01-01" });
    let r = node
        .client
        .post(node.abs("/fhir/Observation"))
        .bearer_auth(&ingest)
        .header("content-type", "application/fhir+json")
        .header("prefer", "return=minimal")
        .body(serde_json::to_vec(&obs).expect("json"))
        .send()
        .expect("POST");
    assert_eq!(r.status().as_u16(), 201);
    assert!(r.headers().contains_key("location"));
    assert!(r.text().expect("body").is_empty());
    assert_eq!(size(&node), before + 4);

    assert!(node.stop());
    let log = open_log(&node.hl);
    let v1: Value =
        serde_json::from_slice(&stored(&log, "Patient", id, 1).expect("v1")).expect("json");
    assert_eq!(v1["id"], id, "the stored resource carries the assigned id");
    assert_eq!(
        stored(&log, "Patient", id, 2).expect("v2"),
        v2_text.as_bytes(),
        "an update is kept byte for byte"
    );
    assert!(
        log.latest("Patient", "client-chosen")
            .expect("read")
            .is_none()
    );
    assert_eq!(
        log.latest("Patient", id).expect("read").map(|(v, _)| v),
        Some(2)
    );
}

#[test]
fn shutdown_during_writes_loses_no_acknowledged_transaction() {
    let mut node = start(&[]);
    let files = node.hl.synth("synth", 6, 11);
    let bundles: Arc<Vec<Vec<u8>>> = Arc::new(
        files
            .iter()
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .map(|p| std::fs::read(p).expect("synth file"))
            .collect(),
    );
    assert!(bundles.len() >= 6);
    let url = format!("{}/fhir", node.url);
    let token = node.token("ingest").to_owned();
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for t in 0..4 {
        let (url, token, bundles, stop) =
            (url.clone(), token.clone(), bundles.clone(), stop.clone());
        workers.push(std::thread::spawn(move || {
            let client = reqwest::blocking::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()
                .expect("client");
            // Locations of every acknowledged entry, and how many requests failed.
            let mut acked: Vec<String> = Vec::new();
            let mut refused = 0;
            let mut i = t;
            let deadline = Instant::now() + Duration::from_secs(60);
            while Instant::now() < deadline {
                let body = bundles[i % bundles.len()].clone();
                i += 1;
                let r = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/fhir+json")
                    .body(body)
                    .send();
                match r {
                    Ok(r) if r.status().is_success() => {
                        let v: Value = r.json().expect("transaction-response");
                        for e in v["entry"].as_array().expect("entries") {
                            acked.push(e["response"]["location"].as_str().expect("loc").to_owned());
                        }
                    }
                    // Refused or cut off by the stop: not acknowledged, so allowed to be absent.
                    _ => {
                        refused += 1;
                        if stop.load(Ordering::Acquire) {
                            break;
                        }
                        std::thread::sleep(Duration::from_millis(20));
                    }
                }
            }
            (acked, refused)
        }));
    }
    // Let every worker get some writes in, then stop the node under load.
    let started = Instant::now();
    while size(&node) < 200 && started.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, Ordering::Release);
    assert!(node.stop(), "node did not stop cleanly under load");
    let (mut acked, mut refused) = (Vec::new(), 0);
    for w in workers {
        let (a, r) = w.join().expect("worker");
        acked.extend(a);
        refused += r;
    }
    eprintln!(
        "{} entries acknowledged, {refused} requests refused or cut off by the stop",
        acked.len()
    );
    assert!(
        !acked.is_empty(),
        "no write was acknowledged before the stop"
    );

    let log = open_log(&node.hl);
    let head = log.head().expect("head");
    assert!(head.size >= acked.len() as u64);
    for loc in &acked {
        let (kind, id, v) = parse_location(loc);
        assert!(
            log.version(&kind, &id, v).expect("read").is_some(),
            "acknowledged {loc} is not in the log"
        );
    }
    let report = log.fsck().expect("fsck");
    assert!(report.problems.is_empty(), "{report:?}");
}
