//! The FHIR read side over HTTP against a real node: CapabilityStatement, read / vread /
//! `_history` with the ledger-entry meta, searches with paging and strict/lenient handling,
//! `$everything` audited page by page, and `_proof=true` bundles that `healthledger verify`
//! accepts (and refuses after one changed byte).

mod common;

use std::collections::{BTreeMap, BTreeSet};

use common::Hl;
use common::api::{ApiNode, Resp};
use serde_json::{Value, json};

const BUSTER: &str =
    "synthea-smart-on-fhir/Buster_Hoeger_ad2e3fc5-2b5d-4cb9-8d03-9ea0f4ac8423.json";
const SSN: &str = "999-59-2277";
const EXT: &str = "https://healthledger.example.org/fhir/StructureDefinition/ledger-entry";

struct Fixture {
    node: ApiNode,
    /// The source bundle's resources.
    resources: Vec<Value>,
    patient: String,
    /// The Observation that got a second version.
    updated_obs: String,
}

impl Fixture {
    fn of_kind(&self, kind: &str) -> Vec<&Value> {
        self.resources
            .iter()
            .filter(|r| r["resourceType"] == kind)
            .collect()
    }
}

/// A node holding one Synthea resident, with one Observation updated to version 2.
fn fixture() -> Fixture {
    let hl = Hl::init();
    let path = common::shared_fhir().join(BUSTER);
    let bundle: Value =
        serde_json::from_slice(&std::fs::read(&path).expect("bundle")).expect("json");
    let resources: Vec<Value> = bundle["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["resource"].clone())
        .collect();
    let r = hl.run(&["ingest", "--no-qc", path.to_str().expect("utf8")]);
    assert!(r.ok, "ingest: {}", r.stderr);
    let patient = resources
        .iter()
        .find(|r| r["resourceType"] == "Patient")
        .expect("patient")["id"]
        .as_str()
        .expect("id")
        .to_owned();
    let mut obs = resources
        .iter()
        .find(|r| r["resourceType"] == "Observation")
        .expect("observation")
        .clone();
    obs["subject"] = json!({ "reference": format!("Patient/{patient}") });
    obs.as_object_mut().expect("object").remove("encounter");
    obs["valueQuantity"]["value"] = json!(190.5);
    let updated_obs = obs["id"].as_str().expect("id").to_owned();
    let file = hl.write("obs-v2.json", &serde_json::to_vec(&obs).expect("json"));
    let r = hl.run(&["ingest", "--no-qc", file.to_str().expect("utf8")]);
    assert!(r.ok, "ingest v2: {}", r.stderr);
    Fixture {
        node: ApiNode::start(hl),
        resources,
        patient,
        updated_obs,
    }
}

/// The ledger-entry extension of a served resource: (leaf index, content sha256, origin).
fn entry_ext(resource: &Value) -> (u64, String, String) {
    let ext = resource["meta"]["extension"]
        .as_array()
        .expect("meta.extension")
        .iter()
        .find(|e| e["url"] == EXT)
        .unwrap_or_else(|| panic!("no ledger-entry extension: {resource}"));
    let sub = |name: &str| {
        ext["extension"]
            .as_array()
            .expect("sub-extensions")
            .iter()
            .find(|e| e["url"] == name)
            .and_then(|e| e["valueString"].as_str())
            .unwrap_or_else(|| panic!("no {name}"))
            .to_owned()
    };
    (
        sub("leafIndex").parse().expect("decimal"),
        sub("contentSha256"),
        sub("origin"),
    )
}

fn sha_hex(v: &Value) -> String {
    hex::encode(hl_ledger::canonical::canonical_sha256(v).expect("canonical"))
}

/// Follows every `next` link from `path`; the match entries of every page, the page count,
/// and checks that `total` stays the same on every page.
fn walk(node: &ApiNode, token: &str, path: &str) -> (Vec<Value>, usize) {
    let mut url = path.to_owned();
    let mut out = Vec::new();
    let mut pages = 0;
    let mut total = None;
    loop {
        let b = node.get(&url, Some(token)).expect(200).json();
        assert_eq!(b["resourceType"], "Bundle");
        assert_eq!(b["type"], "searchset");
        let t = b["total"].as_u64().expect("total");
        assert_eq!(*total.get_or_insert(t), t, "total changed between pages");
        pages += 1;
        for e in b["entry"].as_array().expect("entry") {
            if e["search"]["mode"] == "match" {
                out.push(e["resource"].clone());
            }
        }
        match b["link"]
            .as_array()
            .expect("links")
            .iter()
            .find(|l| l["relation"] == "next")
        {
            Some(next) => {
                let next = next["url"].as_str().expect("url");
                assert!(next.starts_with(&node.url), "next link is absolute: {next}");
                assert!(next.contains("_snapshot="), "{next}");
                url = next.to_owned();
            }
            None => break,
        }
        assert!(pages < 1000, "endless paging");
    }
    assert_eq!(
        out.len() as u64,
        total.unwrap_or(0),
        "walked entries == total"
    );
    (out, pages)
}

fn ids(resources: &[Value]) -> BTreeSet<String> {
    let set: BTreeSet<String> = resources
        .iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["resourceType"].as_str().expect("type"),
                r["id"].as_str().expect("id")
            )
        })
        .collect();
    assert_eq!(set.len(), resources.len(), "a record came twice");
    set
}

fn expected_ids(rs: &[&Value]) -> BTreeSet<String> {
    rs.iter()
        .map(|r| {
            format!(
                "{}/{}",
                r["resourceType"].as_str().expect("type"),
                r["id"].as_str().expect("id")
            )
        })
        .collect()
}

/// The resident's AuditEvents, read by the auditor.
fn audit_events(node: &ApiNode, patient: &str) -> Vec<Value> {
    walk(
        node,
        node.token("auditor"),
        &format!("/fhir/AuditEvent?patient={patient}&_count=1000"),
    )
    .0
}

/// (query, leaves) of an AuditEvent.
fn audit_detail(ev: &Value) -> (String, Vec<u64>) {
    let entity = &ev["entity"][1];
    let query = entity["what"]["display"]
        .as_str()
        .expect("query")
        .to_owned();
    let leaves = entity["detail"]
        .as_array()
        .expect("detail")
        .iter()
        .find(|d| d["type"] == "leaves")
        .and_then(|d| d["valueString"].as_str())
        .expect("leaves");
    let leaves = if leaves == "none" {
        Vec::new()
    } else {
        leaves
            .split(',')
            .map(|l| l.parse().expect("leaf"))
            .collect()
    };
    (query, leaves)
}

fn verify(hl: &Hl, name: &str, bytes: &[u8]) -> common::Run {
    let file = hl.write(name, bytes);
    std::process::Command::new(common::bin())
        .args(["verify", "--bundle", file.to_str().expect("utf8")])
        .output()
        .expect("run verify")
        .into()
}

#[test]
fn metadata_read_vread_history_and_errors() {
    let f = fixture();
    let n = &f.node;
    let clin = n.token("clinician");

    let cs = n.get("/fhir/metadata", None).expect(200).json();
    assert_eq!(cs["resourceType"], "CapabilityStatement");
    assert_eq!(cs["fhirVersion"], "4.0.1");
    assert_eq!(cs["format"], json!(["json"]));
    let rest = &cs["rest"][0];
    assert_eq!(
        rest["security"]["service"][0]["coding"][0]["code"],
        "bearer"
    );
    assert!(
        rest["searchParam"]
            .as_array()
            .expect("params")
            .iter()
            .any(|p| p["name"] == "_proof")
    );
    let res = |t: &str| {
        rest["resource"]
            .as_array()
            .expect("resources")
            .iter()
            .find(|r| r["type"] == t)
            .cloned()
            .expect(t)
    };
    assert_eq!(res("Patient")["operation"][0]["name"], "everything");
    let obs = res("Observation");
    let obs_params: Vec<&str> = obs["searchParam"]
        .as_array()
        .expect("params")
        .iter()
        .map(|p| p["name"].as_str().expect("name"))
        .collect();
    assert_eq!(obs_params, ["patient", "code", "date"]);
    assert!(
        res("Organization").get("searchParam").is_none(),
        "no search claimed on Organization"
    );

    let doc = n.get("/openapi.json", None).expect(200).json();
    for route in [
        "/fhir/metadata",
        "/fhir/{type}",
        "/fhir/{type}/{id}",
        "/fhir/{type}/{id}/_history",
        "/fhir/{type}/{id}/_history/{vid}",
        "/fhir/Patient/{id}/$everything",
    ] {
        assert!(
            doc["paths"][route]["get"].is_object(),
            "{route} not in /openapi.json"
        );
    }

    // Read: meta version, time and ledger-entry; the hash is the stored content's.
    let r = n
        .get(&format!("/fhir/Patient/{}", f.patient), Some(clin))
        .expect(200);
    assert_eq!(r.headers["etag"], "W/\"1\"");
    let p = r.json();
    assert_eq!(p["meta"]["versionId"], "1");
    assert!(
        p["meta"]["lastUpdated"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z'))
    );
    let (leaf, sha, origin) = entry_ext(&p);
    let source = f.of_kind("Patient")[0];
    assert_eq!(
        sha,
        sha_hex(source),
        "contentSha256 is the hash of the resource as stored"
    );
    assert!(!origin.is_empty());
    let mut stripped = p.clone();
    for k in ["versionId", "lastUpdated", "extension"] {
        stripped["meta"].as_object_mut().expect("meta").remove(k);
    }
    assert_eq!(sha_hex(&stripped), sha);

    // vread and history of the updated Observation.
    let o = &f.updated_obs;
    let v2 = n
        .get(&format!("/fhir/Observation/{o}"), Some(clin))
        .expect(200)
        .json();
    assert_eq!(v2["meta"]["versionId"], "2");
    assert_eq!(v2["valueQuantity"]["value"], json!(190.5));
    let v1 = n
        .get(&format!("/fhir/Observation/{o}/_history/1"), Some(clin))
        .expect(200)
        .json();
    assert_eq!(v1["meta"]["versionId"], "1");
    assert!(entry_ext(&v1).0 < entry_ext(&v2).0);
    let h = n
        .get(&format!("/fhir/Observation/{o}/_history"), Some(clin))
        .expect(200)
        .json();
    assert_eq!(h["type"], "history");
    assert_eq!(h["total"], 2);
    let versions: Vec<&str> = h["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["resource"]["meta"]["versionId"].as_str().expect("v"))
        .collect();
    assert_eq!(versions, ["2", "1"], "newest first");
    assert_eq!(h["entry"][1]["request"]["method"], "POST");
    let paged = n
        .get(
            &format!("/fhir/Observation/{o}/_history?_count=1"),
            Some(clin),
        )
        .expect(200)
        .json();
    assert_eq!(paged["entry"].as_array().expect("entries").len(), 1);
    assert!(
        paged["link"]
            .as_array()
            .expect("links")
            .iter()
            .any(|l| l["relation"] == "next")
    );

    // The read was audited before it was answered: an AuditEvent names the leaf.
    let events = audit_events(n, &f.patient);
    assert!(
        events.iter().any(|e| {
            let (q, leaves) = audit_detail(e);
            q == format!("Patient/{}", f.patient) && leaves == [leaf]
        }),
        "no AuditEvent for the Patient read"
    );

    // Shared records: any reading role, no resident.
    let org = f.of_kind("Organization")[0]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    n.get(
        &format!("/fhir/Organization/{org}"),
        Some(n.token("auditor")),
    )
    .expect(200);

    // Errors: OperationOutcome with the right status.
    let pat = format!("/fhir/Patient/{}", f.patient);
    assert_eq!(
        n.get(&pat, None).expect(401).outcome()["issue"][0]["code"],
        "login"
    );
    n.get(&pat, Some(n.token("ingest"))).expect(403).outcome();
    n.get(
        &format!("/fhir/Organization/{org}"),
        Some(n.token("ingest")),
    )
    .expect(403)
    .outcome();
    n.get(&format!("/fhir/Observation/{o}"), Some(n.token("auditor")))
        .expect(403)
        .outcome();
    n.get(&format!("/fhir/Observation/{o}"), Some(n.token("admin")))
        .expect(403)
        .outcome();
    n.get("/fhir/Patient/no-such-patient", Some(clin))
        .expect(404)
        .outcome();
    n.get("/fhir/Nonsense/x", Some(clin)).expect(404).outcome();
    n.get("/fhir/Patient/bad_id", Some(clin))
        .expect(400)
        .outcome();
    n.get(&format!("/fhir/Observation/{o}/_history/3"), Some(clin))
        .expect(404)
        .outcome();
    n.get(&format!("/fhir/Observation/{o}/_history/x"), Some(clin))
        .expect(400)
        .outcome();
    n.get(&format!("{pat}?foo=1"), Some(clin))
        .expect(400)
        .outcome();
    n.get(&format!("{pat}/$nope"), Some(clin))
        .expect(404)
        .outcome();
    n.get(&format!("/fhir/Observation/{o}/$everything"), Some(clin))
        .expect(400)
        .outcome();
    // Only a clinician may break the glass. (The on-chain emergency event of a clinician's
    // break-glass read needs the chain port, which is not wired in this node yet.)
    let r = n.get_with(
        &pat,
        Some(n.token("auditor")),
        &[("x-break-glass-reason", "patient unconscious in ER")],
    );
    assert_eq!(r.status, 403, "{}", r.text);
    r.outcome();
}

#[test]
fn searches_page_every_record_once_and_are_strict_unless_lenient() {
    let f = fixture();
    let n = &f.node;
    let clin = n.token("clinician");
    let pid = &f.patient;

    // Patient by resident identifier, with and without the system.
    for q in [
        format!("http://hl7.org/fhir/sid/us-ssn|{SSN}"),
        SSN.to_owned(),
    ] {
        let (found, _) = walk(
            n,
            clin,
            &format!("/fhir/Patient?identifier={}", q.replace('|', "%7C")),
        );
        assert_eq!(
            ids(&found),
            BTreeSet::from([format!("Patient/{pid}")]),
            "{q}"
        );
    }
    let (none, _) = walk(n, clin, "/fhir/Patient?identifier=999-00-0000");
    assert!(none.is_empty());
    let r = n
        .get(
            "/fhir/Patient?identifier=http://hospital.smarthealthit.org%7Cx",
            Some(clin),
        )
        .expect(400);
    let diag = r.outcome()["issue"][0]["diagnostics"]
        .as_str()
        .expect("diag")
        .to_owned();
    assert!(diag.contains("http://hl7.org/fhir/sid/us-ssn"), "{diag}");

    // Every resident-scoped search, paged small, gets each record exactly once; only the
    // latest version matches.
    for (kind, extra) in [
        ("Observation", ""),
        ("Condition", ""),
        ("Encounter", ""),
        ("Immunization", ""),
    ] {
        let (found, pages) = walk(
            n,
            clin,
            &format!("/fhir/{kind}?patient=Patient/{pid}&_count=4{extra}"),
        );
        assert_eq!(ids(&found), expected_ids(&f.of_kind(kind)), "{kind}");
        assert_eq!(pages, found.len().div_ceil(4).max(1), "{kind}");
    }
    let (obs, _) = walk(
        n,
        clin,
        &format!("/fhir/Observation?patient={pid}&_count=1000"),
    );
    let updated = obs
        .iter()
        .find(|o| o["id"] == f.updated_obs.as_str())
        .expect("updated obs");
    assert_eq!(updated["meta"]["versionId"], "2");

    // code and date.
    let height: Vec<&Value> = f
        .of_kind("Observation")
        .into_iter()
        .filter(|o| o["code"]["coding"][0]["code"] == "8302-2")
        .collect();
    assert!(!height.is_empty());
    for code in [
        "http://loinc.org%7C8302-2",
        "8302-2",
        "http://snomed.info/sct%7Cx,8302-2",
    ] {
        let (found, _) = walk(
            n,
            clin,
            &format!("/fhir/Observation?patient={pid}&code={code}&_count=2"),
        );
        assert_eq!(ids(&found), expected_ids(&height), "{code}");
    }
    let year = |r: &Value, k: &str| r[k].as_str().map(|s| s[..4].to_owned());
    let in_2015_16: Vec<&Value> = f
        .of_kind("Observation")
        .into_iter()
        .filter(|o| {
            matches!(
                year(o, "effectiveDateTime").as_deref(),
                Some("2015" | "2016")
            )
        })
        .collect();
    let (found, _) = walk(
        n,
        clin,
        &format!("/fhir/Observation?patient={pid}&date=ge2015-01-01&date=lt2017&_count=3"),
    );
    assert_eq!(ids(&found), expected_ids(&in_2015_16));
    let enc_years: BTreeMap<String, usize> =
        f.of_kind("Encounter")
            .iter()
            .fold(BTreeMap::new(), |mut m, e| {
                *m.entry(year(&e["period"], "start").expect("start"))
                    .or_default() += 1;
                m
            });
    let (busiest, count) = enc_years
        .iter()
        .max_by_key(|(_, c)| **c)
        .expect("encounters");
    let (found, _) = walk(
        n,
        clin,
        &format!("/fhir/Encounter?patient={pid}&date={busiest}"),
    );
    assert_eq!(found.len(), *count, "Encounters within {busiest}");
    let (found, _) = walk(
        n,
        clin,
        &format!("/fhir/Encounter?patient={pid}&date=ne{busiest}"),
    );
    assert_eq!(found.len(), f.of_kind("Encounter").len() - count);

    // Strict by default, lenient on request.
    let strict = n
        .get(
            &format!("/fhir/Observation?patient={pid}&foo=1"),
            Some(clin),
        )
        .expect(400);
    assert!(
        strict.outcome()["issue"][0]["diagnostics"]
            .as_str()
            .expect("diag")
            .contains("'foo'")
    );
    let strict = n
        .get(&format!("/fhir/Condition?patient={pid}&code=x"), Some(clin))
        .expect(400);
    assert!(
        strict.outcome()["issue"][0]["diagnostics"]
            .as_str()
            .expect("diag")
            .contains("'code'")
    );
    let lenient = n
        .get_with(
            &format!("/fhir/Condition?patient={pid}&code=x"),
            Some(clin),
            &[("prefer", "handling=lenient")],
        )
        .expect(200)
        .json();
    let entries = lenient["entry"].as_array().expect("entries");
    assert_eq!(
        entries
            .iter()
            .filter(|e| e["search"]["mode"] == "match")
            .count(),
        f.of_kind("Condition").len()
    );
    let outcome = entries
        .iter()
        .find(|e| e["search"]["mode"] == "outcome")
        .expect("outcome entry");
    assert!(
        outcome["resource"]["issue"][0]["diagnostics"]
            .as_str()
            .expect("diag")
            .contains("'code'")
    );
    n.get(
        &format!("/fhir/Observation?patient={pid}&date=ap2015"),
        Some(clin),
    )
    .expect(400)
    .outcome();
    n.get(
        &format!("/fhir/Observation?patient={pid}&date=2015-13"),
        Some(clin),
    )
    .expect(400)
    .outcome();
    n.get(
        &format!("/fhir/Observation?patient={pid}&_count=x"),
        Some(clin),
    )
    .expect(400)
    .outcome();
    n.get(
        &format!("/fhir/Observation?patient={pid}&_snapshot=999999999"),
        Some(clin),
    )
    .expect(400)
    .outcome();
    n.get("/fhir/Observation", Some(clin)).expect(400).outcome();
    n.get("/fhir/Organization?name=x", Some(clin))
        .expect(400)
        .outcome();
    n.get("/fhir/Observation?patient=Patient/nobody", Some(clin))
        .expect(404)
        .outcome();
    n.get(&format!("/fhir/Observation?patient={pid}"), None)
        .expect(401)
        .outcome();
    n.get(
        &format!("/fhir/Observation?patient={pid}"),
        Some(n.token("ingest")),
    )
    .expect(403)
    .outcome();
    n.get(&format!("/fhir/AuditEvent?patient={pid}"), Some(clin))
        .expect(403)
        .outcome();

    // Consents come from the chain port: its answer or its error, never a 500.
    let r = n.get(&format!("/fhir/Consent?patient={pid}"), Some(clin));
    match r.status {
        200 => assert_eq!(r.json()["type"], "searchset"),
        501 | 503 => {
            r.outcome();
        }
        s => panic!("Consent search: {s} {}", r.text),
    }
}

#[test]
fn everything_pages_are_each_audited_and_proof_bundles_verify() {
    let f = fixture();
    let n = &f.node;
    let clin = n.token("clinician");
    let pid = &f.patient;
    let before = audit_events(n, pid).len();

    let (all, pages) = walk(
        n,
        clin,
        &format!("/fhir/Patient/{pid}/$everything?_count=10"),
    );
    let resident_kinds: Vec<&Value> = f
        .resources
        .iter()
        .filter(|r| {
            !matches!(
                r["resourceType"].as_str(),
                Some("Organization" | "Practitioner")
            )
        })
        .collect();
    assert_eq!(ids(&all), expected_ids(&resident_kinds));
    assert!(pages >= 7, "{pages} pages");
    assert!(all.iter().all(|r| r["resourceType"] != "AuditEvent"));
    let walked: Vec<u64> = all.iter().map(|r| entry_ext(r).0).collect();
    assert!(walked.windows(2).all(|w| w[0] < w[1]), "log order");

    // One AuditEvent per page, naming exactly that page's leaves.
    let events = audit_events(n, pid);
    let mine: Vec<Vec<u64>> = events
        .iter()
        .map(audit_detail)
        .filter(|(q, _)| q.contains("$everything"))
        .map(|(_, l)| l)
        .collect();
    assert_eq!(mine.len(), pages, "one AuditEvent per page");
    assert_eq!(mine.concat(), walked);
    // The walk's pages plus the auditor's own read of the access log.
    assert_eq!(events.len(), before + 1 + pages);

    // _proof=true on $everything, read and search: bundles that verify, and fail after one
    // changed character of a record's content.
    let proof = n
        .get(
            &format!("/fhir/Patient/{pid}/$everything?_count=10&_proof=true"),
            Some(clin),
        )
        .expect(200);
    assert!(
        proof.headers["content-type"]
            .to_str()
            .expect("ct")
            .starts_with("application/json")
    );
    let b = proof.json();
    assert_eq!(b["format"], "healthledger-proof-bundle/1");
    let leaves: Vec<u64> = b["records"]
        .as_array()
        .expect("records")
        .iter()
        .map(|r| r["index"].as_u64().expect("index"))
        .collect();
    assert_eq!(leaves, walked[..10]);
    let ok = verify(&n.hl, "everything.proof.json", proof.text.as_bytes());
    assert!(ok.ok, "verify: {}{}", ok.stdout, ok.stderr);
    assert!(
        ok.stdout.contains("OK: 10 records verified"),
        "{}",
        ok.stdout
    );
    let mut bad = b.clone();
    let content = &mut bad["records"][3]["content"];
    let id = content["id"].as_str().expect("id").to_owned();
    let last = id.chars().last().expect("char");
    content["id"] = json!(format!(
        "{}{}",
        &id[..id.len() - 1],
        if last == '0' { '1' } else { '0' }
    ));
    let r = verify(
        &n.hl,
        "tampered.proof.json",
        &serde_json::to_vec(&bad).expect("json"),
    );
    assert!(!r.ok, "a changed record must fail: {}", r.stdout);
    assert!(r.stderr.contains("content does not match"), "{}", r.stderr);

    let read: Resp = n
        .get(&format!("/fhir/Patient/{pid}?_proof=true"), Some(clin))
        .expect(200);
    let rb = read.json();
    assert_eq!(rb["records"].as_array().expect("records").len(), 1);
    let stored = &rb["records"][0]["content"];
    let served = n
        .get(&format!("/fhir/Patient/{pid}"), Some(clin))
        .expect(200)
        .json();
    assert_eq!(sha_hex(stored), entry_ext(&served).1);
    assert!(verify(&n.hl, "read.proof.json", read.text.as_bytes()).ok);
    let search = n
        .get(
            &format!("/fhir/Immunization?patient={pid}&_proof=true"),
            Some(clin),
        )
        .expect(200);
    let sb = search.json();
    assert_eq!(
        sb["records"].as_array().expect("records").len(),
        f.of_kind("Immunization").len()
    );
    assert!(verify(&n.hl, "search.proof.json", search.text.as_bytes()).ok);

    // Every page re-authenticates.
    n.get(
        &format!("/fhir/Patient/{pid}/$everything?_count=10&_offset=10"),
        None,
    )
    .expect(401)
    .outcome();
    n.get(
        &format!("/fhir/Patient/{pid}/$everything"),
        Some(n.token("auditor")),
    )
    .expect(403)
    .outcome();
    n.get(
        &format!("/fhir/Patient/{pid}/$everything?start=2020"),
        Some(clin),
    )
    .expect(400)
    .outcome();
}
