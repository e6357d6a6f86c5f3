//! FHIR writes refused over HTTP against a real node: every kind of bad input gets a 4xx
//! OperationOutcome naming the problem and writes nothing; only the ingest role may write.

mod common;

use common::Hl;
use common::api::{ApiNode, Resp};
use serde_json::{Value, json};

/// QC off, so that the log size changes only by what the requests write.
fn start(env: &[(&str, &str)]) -> ApiNode {
    let mut all = vec![("HEALTHLEDGER_QC__ENABLED", "false")];
    all.extend_from_slice(env);
    let mut node = ApiNode::start_with(Hl::init(), &all);
    // A refusal answered before the body was read ends the connection (the server cannot
    // reuse it with unread bytes in it); a pooled client may already have picked that
    // connection for its next request, which then fails. One connection per request here.
    node.client = reqwest::blocking::Client::builder()
        .timeout(std::time::Duration::from_secs(60))
        .pool_max_idle_per_host(0)
        .build()
        .expect("HTTP client");
    node
}

fn size(node: &ApiNode) -> u64 {
    node.get("/readyz", None).expect(200).json()["size"]
        .as_u64()
        .expect("size")
}

fn issue(r: &Resp) -> Value {
    r.outcome()["issue"][0].clone()
}

fn expression(r: &Resp) -> String {
    issue(r)["expression"][0].as_str().unwrap_or("").to_owned()
}

/// POST or PUT `body` with the given Content-Type (none if `None`).
fn send(node: &ApiNode, method: &str, path: &str, ctype: Option<&str>, body: Vec<u8>) -> Resp {
    let mut req = node
        .client
        .request(method.parse().expect("method"), node.abs(path))
        .bearer_auth(node.token("ingest"))
        .body(body);
    if let Some(t) = ctype {
        req = req.header("content-type", t);
    }
    let resp = req.send().expect("HTTP request");
    Resp {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        text: resp.text().expect("body"),
    }
}

/// (method, path, Content-Type, body, status, words in the diagnostics, expression or "").
type BadInput<'a> = (
    &'a str,
    &'a str,
    Option<&'a str>,
    Vec<u8>,
    u16,
    &'a str,
    &'a str,
);

#[test]
fn bad_input_is_refused_with_an_outcome_and_writes_nothing() {
    let limit = 64 * 1024;
    let node = start(&[("HEALTHLEDGER_API__MAX_BODY_BYTES", &limit.to_string())]);
    let before = size(&node);
    let fhir = Some("application/fhir+json");
    let bytes = |v: Value| serde_json::to_vec(&v).expect("json");
    let patient = json!({ "resourceType": "Patient", "id": "p1" });
    let big = json!({ "resourceType": "Patient", "id": "big",
        "text": { "status": "generated", "div": "x".repeat(3 * limit) } });
    let obs_to = |r: &str| {
        json!({ "resourceType": "Observation", "status": "final",
        "code": { "text": "x" }, "subject": { "reference": r } })
    };
    let cases: Vec<BadInput<'_>> = vec![
        (
            "POST",
            "/fhir/Patient",
            fhir,
            b"{\"resourceType\": \"Pat".to_vec(),
            400,
            "not valid JSON",
            "",
        ),
        (
            "POST",
            "/fhir",
            fhir,
            b"{\"resourceType\": \"Bundle\",".to_vec(),
            400,
            "not valid JSON",
            "",
        ),
        (
            "PUT",
            "/fhir/Patient/p1",
            fhir,
            b"{oops}".to_vec(),
            400,
            "not valid JSON",
            "",
        ),
        (
            "POST",
            "/fhir/Patient",
            fhir,
            b"[1, 2]".to_vec(),
            400,
            "JSON array",
            "",
        ),
        ("POST", "/fhir/Patient", fhir, Vec::new(), 400, "empty", ""),
        (
            "POST",
            "/fhir/Patient",
            fhir,
            br#"{"resourceType":"Patient","gender":"male","gender":"female"}"#.to_vec(),
            400,
            "member name \"gender\" appears twice",
            "",
        ),
        (
            "POST",
            "/fhir",
            fhir,
            b"\"a string\"".to_vec(),
            400,
            "not a JSON object",
            "",
        ),
        (
            "POST",
            "/fhir",
            fhir,
            bytes(patient.clone()),
            400,
            "POST /fhir/Patient",
            "resourceType",
        ),
        (
            "POST",
            "/fhir/Observation",
            fhir,
            bytes(patient.clone()),
            400,
            "does not match",
            "resourceType",
        ),
        (
            "POST",
            "/fhir/Patient",
            fhir,
            bytes(json!({ "id": "x" })),
            400,
            "no resourceType",
            "resourceType",
        ),
        (
            "PUT",
            "/fhir/Patient/p2",
            fhir,
            bytes(patient.clone()),
            400,
            "not the id 'p2'",
            "Patient.id",
        ),
        (
            "PUT",
            "/fhir/Patient/p1",
            fhir,
            bytes(json!({ "resourceType": "Patient" })),
            400,
            "no id",
            "Patient.id",
        ),
        (
            "PUT",
            "/fhir/Patient/bad%20id",
            fhir,
            bytes(patient.clone()),
            400,
            "not a FHIR id",
            "",
        ),
        (
            "POST",
            "/fhir/Nope",
            fhir,
            bytes(json!({ "resourceType": "Nope" })),
            404,
            "not a FHIR R4 resource type",
            "",
        ),
        (
            "POST",
            "/fhir/Bundle",
            fhir,
            bytes(json!({ "resourceType": "Bundle", "type": "collection" })),
            400,
            "not stored as one resource",
            "",
        ),
        // Invalid FHIR the ingest refuses, named by element.
        (
            "POST",
            "/fhir/Observation",
            fhir,
            bytes(json!({ "resourceType": "Observation", "status": "final",
            "code": { "text": "x" }, "effectiveDateTime": "yesterday" })),
            400,
            "not a FHIR date",
            "Observation.effectiveDateTime",
        ),
        (
            "POST",
            "/fhir/Observation",
            fhir,
            bytes(obs_to("urn:uuid:nowhere")),
            400,
            "does not resolve",
            "Observation.subject.reference",
        ),
        (
            "POST",
            "/fhir/Observation",
            fhir,
            bytes(obs_to("Patient/nobody")),
            422,
            "Patient/nobody",
            "Observation.subject.reference",
        ),
        (
            "PUT",
            "/fhir/Patient/p1",
            fhir,
            bytes(json!({ "resourceType": "Patient", "id": 5 })),
            400,
            "id must be a string",
            "Patient.id",
        ),
        // Over-size, and content types that are not FHIR JSON.
        (
            "POST",
            "/fhir/Patient",
            fhir,
            bytes(big.clone()),
            413,
            "max_body_bytes",
            "",
        ),
        ("POST", "/fhir", fhir, bytes(big), 413, "max_body_bytes", ""),
        (
            "POST",
            "/fhir/Patient",
            Some("text/plain"),
            bytes(patient.clone()),
            415,
            "text/plain",
            "",
        ),
        (
            "PUT",
            "/fhir/Patient/p1",
            Some("application/xml"),
            bytes(patient.clone()),
            415,
            "application/xml",
            "",
        ),
        (
            "POST",
            "/fhir",
            None,
            bytes(patient.clone()),
            415,
            "no Content-Type",
            "",
        ),
    ];
    for (method, path, ctype, body, status, words, expr) in cases {
        let r = send(&node, method, path, ctype, body);
        let what = format!("{method} {path} ({ctype:?})");
        assert_eq!(r.status, status, "{what}: {}", r.text);
        assert!(
            r.headers["content-type"]
                .to_str()
                .is_ok_and(|t| t.starts_with("application/fhir+json")),
            "{what}"
        );
        let i = issue(&r);
        assert!(
            i["diagnostics"].as_str().is_some_and(|d| d.contains(words)),
            "{what}: expected '{words}' in {}",
            r.text
        );
        if !expr.is_empty() {
            assert_eq!(expression(&r), expr, "{what}");
        }
        assert_eq!(size(&node), before, "{what} wrote something");
    }
    let r = send(&node, "POST", "/fhir/Patient", fhir, vec![b' '; limit + 1]);
    assert_eq!(issue(&r.expect(413))["code"], "too-costly");
    // If-Match and If-None-Exist are refused, not ignored.
    let r = node
        .client
        .put(node.abs("/fhir/Patient/p1"))
        .bearer_auth(node.token("ingest"))
        .header("content-type", "application/fhir+json")
        .header("if-match", "W/\"1\"")
        .body(bytes(patient.clone()))
        .send()
        .expect("PUT");
    assert_eq!(r.status().as_u16(), 400);
    // The same body without the refused parts lands: the refusals were about the input.
    send(&node, "PUT", "/fhir/Patient/p1", fhir, bytes(patient)).expect(201);
    assert_eq!(size(&node), before + 1);
}

#[test]
fn writes_need_the_ingest_role() {
    let node = start(&[]);
    let before = size(&node);
    let patient = json!({ "resourceType": "Patient", "id": "p1" });
    let bundle = json!({ "resourceType": "Bundle", "type": "transaction", "entry": [
        { "request": { "method": "PUT", "url": "Patient/p1" }, "resource": patient } ] });
    let routes: [(&str, &str, &Value); 3] = [
        ("POST", "/fhir", &bundle),
        ("POST", "/fhir/Patient", &patient),
        ("PUT", "/fhir/Patient/p1", &patient),
    ];
    for (method, path, body) in routes {
        let call = |token: Option<&str>| {
            let mut req = node
                .client
                .request(method.parse().expect("method"), node.abs(path))
                .header("content-type", "application/fhir+json")
                .body(serde_json::to_vec(body).expect("json"));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            let r = req.send().expect("HTTP");
            let status = r.status().as_u16();
            let v: Value = r.json().expect("OperationOutcome");
            (status, v)
        };
        let (s, v) = call(None);
        assert_eq!(
            (s, v["issue"][0]["code"].as_str()),
            (401, Some("login")),
            "{method} {path}"
        );
        let (s, _) = call(Some("hlt_not-a-real-token"));
        assert_eq!(s, 401, "{method} {path} with an unknown token");
        for role in ["clinician", "admin", "auditor"] {
            let (s, v) = call(Some(node.token(role)));
            assert_eq!(s, 403, "{method} {path} as {role}: {v}");
            assert_eq!(v["resourceType"], "OperationOutcome");
        }
    }
    assert_eq!(size(&node), before, "a refused caller wrote something");
    // The write routes are in the OpenAPI document with their request bodies.
    let doc = node.get("/openapi.json", None).expect(200).json();
    for (path, method) in [
        ("/fhir", "post"),
        ("/fhir/{type}", "post"),
        ("/fhir/{type}/{id}", "put"),
    ] {
        let op = &doc["paths"][path][method];
        assert!(
            op["requestBody"]["content"]["application/fhir+json"].is_object(),
            "{method} {path}: {op}"
        );
    }
    node.post("/fhir", Some(node.token("ingest")), &bundle)
        .expect(200);
    assert_eq!(size(&node), before + 1);
}
