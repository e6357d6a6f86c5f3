//! The API judged by outside tools, against a real node over loopback: the FHIR Bundles it
//! returns validate as R4 with `fhir.resources==6.4.0`; schemathesis fuzzing every route of
//! `/openapi.json` as every staff role finds no 5xx; and `healthledger dev` starts, serves what
//! its banner prints and stops cleanly.
//!
//! Python: `HL_PYTHON` (set by scripts/test.sh) names an interpreter with the pinned tools of
//! scripts/python/requirements.txt; unset, the tests run scripts/python/env.sh themselves.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::api::{ApiNode, ROLES};
use common::{Hl, python, repo};
use serde_json::Value;

/// Runs `cmd`, killing it after `limit`; (exit success, stdout + stderr).
fn run_bounded(mut cmd: Command, limit: Duration, what: &str) -> (bool, String) {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {what}: {e}"));
    let mut readers = Vec::new();
    for pipe in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        readers.push(std::thread::spawn(move || {
            let mut s = String::new();
            let _ = BufReader::new(pipe).read_to_string(&mut s);
            s
        }));
    }
    let deadline = Instant::now() + limit;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text: String = readers
        .into_iter()
        .map(|r| r.join().unwrap_or_default())
        .collect();
    let Some(status) = status else {
        panic!("{what} did not finish within {limit:?}; output so far:\n{text}");
    };
    (status.success(), text)
}

// ---------------------------------------------------------------------------------------------
// FHIR R4 validity of search and $everything Bundles

const SEARCHES: [&str; 4] = ["Observation", "Condition", "Encounter", "Immunization"];

/// Every page of a search or `$everything`, following `next` links; saves each page under `dir`.
fn all_pages(node: &ApiNode, first: &str, token: &str, dir: &Path, name: &str) -> Vec<Value> {
    let mut pages = Vec::new();
    let mut next = Some(first.to_owned());
    while let Some(url) = next.take() {
        let r = node.get(&url, Some(token));
        assert_eq!(r.status, 200, "GET {url}: {}", r.text);
        let page = r.json();
        assert_eq!(page["resourceType"], "Bundle", "GET {url}");
        assert_eq!(page["type"], "searchset", "GET {url}");
        let file = dir.join(format!("{name}-p{}.json", pages.len() + 1));
        std::fs::write(&file, &r.text).expect("save bundle");
        next = page["link"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|l| l["relation"] == "next")
            .and_then(|l| l["url"].as_str())
            .map(str::to_owned);
        pages.push(page);
        assert!(pages.len() <= 1000, "GET {first}: more than 1000 pages");
    }
    pages
}

fn resources<'a>(pages: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    pages
        .iter()
        .filter_map(|p| p["entry"].as_array())
        .flatten()
        .map(|e| &e["resource"])
        .filter(move |r| r["resourceType"] == kind)
}

/// The Synthea sample bundles with one Patient each.
fn synthea_residents() -> Vec<(PathBuf, Value)> {
    let mut out = Vec::new();
    for dir in ["synthea-smart-on-fhir", "synthea-tietai"] {
        let mut files: Vec<PathBuf> = std::fs::read_dir(common::shared_fhir().join(dir))
            .expect("samples dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        for f in files {
            let v: Value = serde_json::from_slice(&std::fs::read(&f).expect("read")).expect("json");
            out.push((f, v));
        }
    }
    out
}

#[test]
fn search_and_everything_bundles_of_the_synthea_samples_are_valid_fhir_r4() {
    let python = python();
    let hl = Hl::init();
    let samples = synthea_residents();
    let files: Vec<&str> = samples
        .iter()
        .map(|(f, _)| f.to_str().expect("utf8"))
        .collect();
    let mut args = vec!["ingest", "--no-qc"];
    args.extend(&files);
    let r = hl.run(&args);
    assert!(r.ok, "ingest: {}", r.stderr);

    let node = ApiNode::start(hl);
    let token = node.token("clinician").to_owned();
    let out = tempfile::tempdir().expect("tempdir");
    let mut saved = 0;
    let mut residents = 0;
    for (file, bundle) in &samples {
        let entries: Vec<&Value> = bundle["entry"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|e| &e["resource"])
            .collect();
        let Some(patient) = entries.iter().find(|r| r["resourceType"] == "Patient") else {
            continue; // the Organization and Practitioner bundles
        };
        residents += 1;
        let id = patient["id"].as_str().expect("Patient.id");
        // Patient search by identifier covers the resident identifier systems (here the SSN).
        let ident = patient["identifier"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|i| i["system"] == "http://hl7.org/fhir/sid/us-ssn")
            .expect("an SSN identifier");
        let (system, value) = (
            ident["system"].as_str().expect("identifier.system"),
            ident["value"].as_str().expect("identifier.value"),
        );
        let what = file.file_name().and_then(|n| n.to_str()).unwrap_or("?");

        // Small pages, so that `next` links are followed too.
        let everything = all_pages(
            &node,
            &format!("/fhir/Patient/{id}/$everything?_count=50"),
            &token,
            out.path(),
            &format!("{id}-everything"),
        );
        assert!(
            resources(&everything, "Patient").any(|p| p["id"] == id),
            "{what}: $everything lacks the Patient"
        );
        let n_everything: usize = everything
            .iter()
            .filter_map(|p| p["entry"].as_array())
            .map(Vec::len)
            .sum();
        // $everything serves the records tied to the resident: every entry but the
        // Organizations, Practitioners, roles and Locations the bundle carries along, and
        // Provenance (tied to its targets, not to a patient).
        let compartment = entries
            .iter()
            .filter(|r| {
                !matches!(
                    r["resourceType"].as_str(),
                    Some(
                        "Organization"
                            | "Practitioner"
                            | "PractitionerRole"
                            | "Location"
                            | "Provenance"
                    )
                )
            })
            .count();
        assert_eq!(
            n_everything, compartment,
            "{what}: $everything has {n_everything} entries, the resident's compartment {compartment}"
        );
        let found = all_pages(
            &node,
            &format!(
                "/fhir/Patient?identifier={}",
                urlencode(&format!("{system}|{value}"))
            ),
            &token,
            out.path(),
            &format!("{id}-patient-identifier"),
        );
        assert!(
            resources(&found, "Patient").any(|p| p["id"] == id),
            "{what}: Patient?identifier={system}|{value} does not find Patient/{id}"
        );
        for kind in SEARCHES {
            let pages = all_pages(
                &node,
                &format!("/fhir/{kind}?patient={id}&_count=50"),
                &token,
                out.path(),
                &format!("{id}-{kind}"),
            );
            let expected = entries.iter().filter(|r| r["resourceType"] == kind).count();
            assert_eq!(
                resources(&pages, kind).count(),
                expected,
                "{what}: {kind}?patient={id} should find every {kind} of the resident's bundle"
            );
        }
        saved = std::fs::read_dir(out.path()).expect("out dir").count();
    }
    assert!(residents >= 6, "only {residents} Synthea residents found");

    // One interpreter start for every file: the FHIR models take a second to import.
    let mut bundles: Vec<PathBuf> = std::fs::read_dir(out.path())
        .expect("out dir")
        .map(|e| e.expect("entry").path())
        .collect();
    bundles.sort();
    assert_eq!(bundles.len(), saved);
    let mut cmd = Command::new(python);
    cmd.arg(repo().join("scripts/python/fhir_validate.py"))
        .args(&bundles);
    let (ok, text) = run_bounded(cmd, Duration::from_secs(300), "fhir_validate.py");
    assert!(
        ok,
        "bundles served by the API are not valid FHIR R4:\n{text}"
    );
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// schemathesis: no 5xx on any route of /openapi.json

/// Test cases per operation and phase; `HL_SCHEMATHESIS_EXAMPLES` raises it for a longer run.
fn max_examples() -> String {
    std::env::var("HL_SCHEMATHESIS_EXAMPLES").unwrap_or_else(|_| "10".into())
}

/// A fixed seed keeps the run the same from one CI run to the next; set
/// `HL_SCHEMATHESIS_SEED` to explore other inputs.
fn seed() -> String {
    std::env::var("HL_SCHEMATHESIS_SEED").unwrap_or_else(|_| "20260101".into())
}

#[test]
fn schemathesis_finds_no_server_error_on_any_route_for_any_role() {
    let python = python();
    let hl = Hl::init();
    // A few residents, so that reads have something to find.
    let files = hl.synth("synth", 3, 1);
    let mut args = vec!["ingest", "--no-qc"];
    args.extend(files.iter().map(|f| f.to_str().expect("utf8")));
    let r = hl.run(&args);
    assert!(r.ok, "ingest: {}", r.stderr);
    let mut node = ApiNode::start(hl);
    let doc = node.get("/openapi.json", None).expect(200).json();
    let operations: usize = doc["paths"]
        .as_object()
        .expect("paths")
        .values()
        .map(|p| p.as_object().map_or(0, |m| m.len()))
        .sum();
    assert!(
        operations >= 4,
        "/openapi.json lists {operations} operations"
    );

    // schemathesis keeps its example database in the working directory.
    let work = tempfile::tempdir().expect("tempdir");
    for role in ROLES {
        let mut cmd = Command::new(python);
        cmd.current_dir(work.path())
            .env("NO_COLOR", "1")
            .args(["-m", "schemathesis.cli", "--no-color", "run"])
            .arg(format!("{}/openapi.json", node.url))
            .args(["--checks", "not_a_server_error"])
            // The SSE streams never end by design; node/tests/api_qc.rs tests them.
            .args(["--exclude-path-regex", "/events$"])
            .args(["--max-examples", &max_examples()])
            .args(["--seed", &seed()])
            .args(["--request-timeout", "60"])
            // One worker: hypothesis (schemathesis 4.32) races on its lambda-source cache across
            // worker threads ("AST constructor recursion depth mismatch"), a tool error, not ours.
            .args(["--workers", "1"])
            .arg("--header")
            .arg(format!("Authorization: Bearer {}", node.token(role)));
        let (ok, text) = run_bounded(
            cmd,
            // Keeps the test command bounded however many routes /openapi.json lists.
            Duration::from_secs(180),
            &format!("schemathesis as {role}"),
        );
        assert!(
            ok,
            "schemathesis as {role} found a problem ({operations} operations):\n{text}\nnode log:\n{}",
            node.log.lock().expect("log")
        );
        // "N generated, N passed" (warnings about 404s and refusals are expected: the
        // generated ids mostly name nothing, and each role may do only part of the API).
        let clean = text.lines().any(|l| {
            let l = l.trim();
            l.ends_with("passed") && l.contains(" generated, ") && !l.contains("found")
        }) && !text.contains("Failures:");
        assert!(
            clean,
            "schemathesis as {role} did not report a clean run:\n{text}"
        );
    }
    assert!(node.stop(), "node did not stop cleanly");
}

// ---------------------------------------------------------------------------------------------
// healthledger dev

/// A `healthledger dev` process and what its banner said.
struct Dev {
    child: std::process::Child,
    url: String,
    curls: Vec<String>,
    banner: String,
}

impl Dev {
    fn start(data_dir: &Path) -> Dev {
        let mut child = Command::new(common::bin())
            .arg("dev")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--residents", "5", "--listen", "127.0.0.1:0"])
            .env_remove("HEALTHLEDGER_DATA_DIR")
            .env_remove("HEALTHLEDGER_API__LISTEN")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn healthledger dev");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut banner = String::new();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                banner.push_str(&line);
                banner.push('\n');
                if line.contains("Stop with Ctrl-C") {
                    let _ = tx.send(banner.clone());
                }
            }
        });
        let Ok(banner) = rx.recv_timeout(Duration::from_secs(180)) else {
            let _ = child.kill();
            panic!("healthledger dev printed no banner within 180 s");
        };
        let url = banner
            .lines()
            .find_map(|l| l.trim().strip_prefix("API "))
            .map(|u| u.trim().to_owned())
            .unwrap_or_else(|| panic!("no API line in the banner:\n{banner}"));
        let curls: Vec<String> = banner
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with("curl "))
            .map(str::to_owned)
            .collect();
        Dev {
            child,
            url,
            curls,
            banner,
        }
    }

    /// SIGTERM; whether it exited 0 within 60 s.
    fn stop(mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(Some(s)) = self.child.try_wait() {
                return s.success();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
    }
}

/// A test that fails half-way must not leave the node running.
impl Drop for Dev {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs a printed command through the shell; (exit success, stdout).
fn shell(cmd: &str) -> (bool, String) {
    let out = Command::new("sh")
        .args(["-c", cmd])
        .output()
        .expect("spawn sh");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn have_curl() -> bool {
    Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn client() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()
        .expect("HTTP client")
}

#[test]
fn dev_serves_on_the_printed_url_and_stops_on_sigterm() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = tmp.path().join("dev-data");
    let dev = Dev::start(&data);
    let banner = dev.banner.clone();
    assert!(
        dev.url.starts_with("http://127.0.0.1:") && !dev.url.ends_with(":0"),
        "banner URL is not the bound one:\n{banner}"
    );
    for role in ROLES {
        assert!(
            banner
                .lines()
                .any(|l| l.trim().starts_with(role) && l.contains("hlt_")),
            "no {role} token in the banner:\n{banner}"
        );
    }
    assert!(banner.contains("Patient/"), "no resident:\n{banner}");
    assert_eq!(dev.curls.len(), 3, "three example commands:\n{banner}");

    let ready = client()
        .get(format!("{}/readyz", dev.url))
        .send()
        .expect("GET /readyz");
    assert_eq!(ready.status().as_u16(), 200);
    let ready: Value = ready.json().expect("readyz JSON");
    assert!(
        ready["size"].as_u64().is_some_and(|n| n > 5),
        "the dev node's log should hold the synthetic residents: {ready}"
    );

    // The first example, run as printed: it reaches the node and gets FHIR JSON back.
    let first = &dev.curls[0];
    assert!(first.contains("/fhir/metadata"), "{first}");
    let body = if have_curl() {
        let (ok, out) = shell(first);
        assert!(ok, "`{first}` failed");
        out
    } else {
        client()
            .get(format!("{}/fhir/metadata", dev.url))
            .send()
            .and_then(|r| r.text())
            .expect("GET /fhir/metadata")
    };
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{first}: {e}: {body}"));
    assert!(v["resourceType"].is_string(), "{first}: {body}");

    assert!(dev.stop(), "healthledger dev did not exit 0 on SIGTERM");

    // A second start reuses the data dir: same tokens, no second ingest.
    let size = ready["size"].as_u64();
    let again = Dev::start(&data);
    assert!(
        again.banner.contains("not ingesting again"),
        "{}",
        again.banner
    );
    let tokens = |b: &str| -> Vec<String> {
        b.lines()
            .filter(|l| l.contains("hlt_"))
            .map(|l| l.trim().to_owned())
            .filter(|l| !l.starts_with("curl"))
            .collect()
    };
    assert_eq!(tokens(&again.banner), tokens(&banner), "tokens changed");
    let ready: Value = client()
        .get(format!("{}/readyz", again.url))
        .send()
        .and_then(|r| r.json())
        .expect("readyz");
    assert!(ready["size"].as_u64() >= size, "{ready}");
    assert!(again.stop(), "second healthledger dev did not exit 0");
}

#[test]
fn dev_example_commands_work_as_printed() {
    assert!(have_curl(), "this test runs the printed curl commands");
    let tmp = tempfile::tempdir().expect("tempdir");
    let dev = Dev::start(&tmp.path().join("dev-data"));
    let mut answers = Vec::new();
    for cmd in &dev.curls {
        let (ok, out) = shell(&format!("{cmd} -w '\\n%{{http_code}}'"));
        assert!(ok, "`{cmd}` failed");
        let (body, code) = out.rsplit_once('\n').expect("status line");
        assert_eq!(code, "200", "`{cmd}`: {body}");
        answers.push(serde_json::from_str::<Value>(body).expect("JSON"));
    }
    assert_eq!(answers[0]["resourceType"], "CapabilityStatement");
    assert_eq!(answers[1]["resourceType"], "Bundle");
    assert!(
        answers[1]["entry"]
            .as_array()
            .is_some_and(|e| e.iter().any(|x| x["resource"]["resourceType"] == "Patient")),
        "$everything without the Patient"
    );
    assert!(answers[2].is_object());
    assert!(dev.stop(), "healthledger dev did not exit 0 on SIGTERM");
}
