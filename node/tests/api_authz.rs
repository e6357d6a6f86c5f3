//! The authorization matrix (issue 5): every operation of `/openapi.json` as every kind of
//! caller, against a real node on its embedded chain. Each request targets resident A's data;
//! resident-scoped routes get a second row targeting resident B's, which resident A must be
//! refused. Requests are valid in every other way (existing ids, fresh signatures, bodies that
//! would be written), so the role is the only reason to refuse one.
//!
//! The expected statuses are `api/src/auth/policy.rs` written out by hand ([`rule`]), not asked
//! of the library: a policy change fails here until this table follows it, and so does an
//! operation added to `/openapi.json` without a row.

mod common;
#[path = "common/wallet.rs"]
mod wallet;

use std::collections::BTreeSet;
use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use common::Hl;
use common::api::{ApiNode, Resp};
use reqwest::blocking::Client;
use serde_json::{Value, json};
use wallet::{
    FAR, Fresh as _, Siwe, bind, grant_body, patient, post_siwe, revoke_body, sign_in, typed,
};

/// Callers, in column order: no token, the four staff roles, residents A and B (SIWE), and a
/// regulator (SIWE).
const WHO: [&str; 8] = [
    "none",
    "ingest",
    "clinician",
    "admin",
    "auditor",
    "resident-a",
    "resident-b",
    "regulator",
];

/// `policy::allow` by hand, as the callers each route lets through. `res` is the resident the
/// request is about (a resident acts only on their own records); `residents` is any resident.
/// Routes that check two ops (FHIR reads check `ReadShared`, then the record's op) list the
/// callers both let through.
mod rule {
    pub type Rule = Option<&'static [&'static str]>;
    /// No token needed.
    pub const PUBLIC: Rule = None;
    /// Any authenticated caller: `Op::Ledger`, and routes that take any `Principal`.
    pub const ANY: Rule = Some(&[
        "ingest",
        "clinician",
        "admin",
        "auditor",
        "residents",
        "regulator",
    ]);
    pub const WRITE: Rule = Some(&["ingest"]);
    pub const READ_SHARED: Rule = Some(&["clinician", "admin", "auditor", "residents"]);
    /// `ReadShared` ∩ `ReadResident(res)`.
    pub const READ_RESIDENT: Rule = Some(&["clinician", "res"]);
    /// `ReadShared` ∩ `ReadAudit(res)`.
    pub const READ_AUDIT: Rule = Some(&["auditor", "res"]);
    /// `ReadConsent(res)` (and `ReadShared`, which lets the same callers through).
    pub const READ_CONSENT: Rule = Some(&["clinician", "auditor", "admin", "res"]);
    pub const RELAY_CONSENT: Rule = Some(&["admin", "res"]);
    pub const BIND_WALLET: Rule = Some(&["admin"]);
    pub const QC_RESIDENT: Rule = Some(&["clinician", "auditor", "admin", "regulator", "res"]);
    pub const QC_INSTITUTION: Rule = Some(&["clinician", "auditor", "admin", "regulator"]);
    pub const CONSORTIUM: Rule = QC_INSTITUTION;
}

/// A resident of the test population.
struct Res {
    /// `resident-a` or `resident-b` (the caller column that is this resident).
    who: &'static str,
    tag: &'static str,
    pid: String,
    pseudonym: String,
    /// `system|value` of their national id.
    identifier: String,
    /// An AuditEvent of theirs.
    audit_id: String,
    signer: PrivateKeySigner,
}

type Call<'a> = Box<dyn Fn(Option<&str>) -> Resp + 'a>;

struct Case<'a> {
    method: &'static str,
    path: &'static str,
    /// Whose data: "A", "B" or "" (none / shared).
    target: String,
    /// The resident column `res` stands for.
    res: Option<&'static str>,
    rule: rule::Rule,
    ok: u16,
    sse: bool,
    call: Call<'a>,
}

struct Cases<'a>(Vec<Case<'a>>);

impl<'a> Cases<'a> {
    #[allow(clippy::too_many_arguments)]
    fn add(
        &mut self,
        method: &'static str,
        path: &'static str,
        target: &str,
        res: Option<&'static str>,
        rule: rule::Rule,
        ok: u16,
        call: Call<'a>,
    ) {
        self.0.push(Case {
            method,
            path,
            target: target.to_owned(),
            res,
            rule,
            ok,
            sse: path.ends_with("/events"),
            call,
        });
    }
}

impl Case<'_> {
    fn expected(&self, who: &str) -> u16 {
        let Some(allowed) = self.rule else {
            return self.ok;
        };
        if who == "none" {
            return 401;
        }
        let is_resident = who.starts_with("resident-");
        let yes = allowed.iter().any(|a| {
            *a == who
                || (*a == "residents" && is_resident)
                || (*a == "res" && self.res == Some(who))
        });
        if yes { self.ok } else { 403 }
    }
}

/// The Patient's national id as `system|value`, from the synthesised files.
fn identifier(hl: &Hl, pid: &str) -> String {
    for f in std::fs::read_dir(hl.dir.path().join("synth")).expect("synth dir") {
        let v: Value =
            serde_json::from_slice(&std::fs::read(f.expect("entry").path()).expect("read"))
                .expect("json");
        for e in v["entry"].as_array().into_iter().flatten() {
            let r = &e["resource"];
            if r["resourceType"] == "Patient" && r["id"] == pid {
                let i = r["identifier"]
                    .as_array()
                    .expect("identifiers")
                    .iter()
                    .find(|i| i["system"] == "urn:oid:2.16.156.10011.1.3")
                    .expect("a national id");
                return format!(
                    "{}|{}",
                    i["system"].as_str().expect("system"),
                    i["value"].as_str().expect("value")
                );
            }
        }
    }
    panic!("Patient {pid} not in the synthesised files");
}

fn organization(hl: &Hl) -> String {
    let f = hl.dir.path().join("synth/institution.json");
    let v: Value = serde_json::from_slice(&std::fs::read(f).expect("read")).expect("json");
    v["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Organization")
        .and_then(|e| e["resource"]["id"].as_str())
        .expect("an Organization")
        .to_owned()
}

fn enc(s: &str) -> String {
    s.replace('|', "%7C").replace(':', "%3A")
}

/// Opens an event stream: status and headers only, then drops it.
fn open_stream(node: &ApiNode, client: &Client, path: &str, token: Option<&str>) -> Resp {
    let mut req = client.get(node.abs(path));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().expect("stream request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = if resp.status().is_success() {
        String::new()
    } else {
        resp.text().expect("body")
    };
    Resp {
        status,
        headers,
        text,
    }
}

fn observation(pid: &str, id: Option<&str>) -> Value {
    let mut o = json!({ "resourceType": "Observation", "status": "final",
        "code": { "coding": [{ "system": "http://loinc.org", "code": "29463-7", "display": "Body weight" }] },
        "subject": { "reference": format!("Patient/{pid}") }, "effectiveDateTime": "2025-03-04",
        "valueQuantity": { "value": 70, "unit": "kg", "system": "http://unitsofmeasure.org", "code": "kg" } });
    if let Some(id) = id {
        o["id"] = json!(id);
    }
    o
}

/// Grants TREAT (as the resident's signature relayed by admin) unless it is active.
fn ensure_granted(node: &ApiNode, r: &Res, admin: &str, member: Address) {
    let list = node
        .get(&format!("/v1/consents/{}", r.pid), Some(admin))
        .expect(200)
        .json();
    let active = list["consents"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|c| c["purpose"] == "TREAT" && c["active"] == true);
    if !active {
        let t = typed(node, &r.pid, admin);
        let g = grant_body(&r.signer, &t, member, 0b11, "TREAT", t.nonce, FAR);
        node.post("/v1/consents/grant", Some(admin), &g).expect(200);
    }
}

/// Every (METHOD, path) operation `/openapi.json` lists.
fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for m in [
            "get", "put", "post", "delete", "patch", "head", "options", "trace",
        ] {
            if item.get(m).is_some() {
                ops.insert((m.to_uppercase(), path.clone()));
            }
        }
    }
    ops
}

#[test]
fn every_route_answers_every_caller_as_the_policy_says() {
    let hl = Hl::init();
    let ids = wallet::residents(&hl, 3);
    let org = organization(&hl);
    let member: Address = hl.json(&["chain", "status"])["account"]
        .as_str()
        .expect("account")
        .parse()
        .expect("address");
    let regulator = PrivateKeySigner::random();
    let r = hl.run(&[
        "chain",
        "regulator",
        "--address",
        &regulator.address().to_string(),
    ]);
    assert!(r.ok, "chain regulator: {}", r.stderr);
    let ident: Vec<String> = ids[..2].iter().map(|p| identifier(&hl, p)).collect();
    let node = ApiNode::start(hl);
    let (clin, admin, auditor) = (
        node.token("clinician"),
        node.token("admin"),
        node.token("auditor"),
    );

    // Residents A and B: bound, signed in, each with an AuditEvent (a clinician's read).
    let mut res = Vec::new();
    for (i, (who, tag)) in [("resident-a", "A"), ("resident-b", "B")]
        .into_iter()
        .enumerate()
    {
        let signer = PrivateKeySigner::random();
        let pseudonym = bind(&node, &ids[i], signer.address());
        node.get(&format!("/fhir/Patient/{}", ids[i]), Some(clin))
            .expect(200);
        let audits = node
            .get(
                &format!("/fhir/AuditEvent?patient={}", ids[i]),
                Some(auditor),
            )
            .expect(200)
            .json();
        let audit_id = audits["entry"][0]["resource"]["id"]
            .as_str()
            .expect("an AuditEvent")
            .to_owned();
        res.push(Res {
            who,
            tag,
            pid: ids[i].clone(),
            pseudonym,
            identifier: ident[i].clone(),
            audit_id,
            signer,
        });
    }
    let (a, b) = (&res[0], &res[1]);
    let unbound = ids[2].clone();
    let mut tokens: Vec<(&str, Option<String>)> = vec![("none", None)];
    for role in ["ingest", "clinician", "admin", "auditor"] {
        tokens.push((role, Some(node.token(role).to_owned())));
    }
    tokens.push((
        "resident-a",
        Some(sign_in(&node, &a.signer, &[patient(&a.pid)])),
    ));
    tokens.push((
        "resident-b",
        Some(sign_in(&node, &b.signer, &[patient(&b.pid)])),
    ));
    tokens.push(("regulator", Some(sign_in(&node, &regulator, &[]))));
    assert_eq!(
        tokens.iter().map(|t| t.0).collect::<Vec<_>>(),
        WHO,
        "columns"
    );

    // A's Patient leaf and its proof bundle, for the ledger routes.
    let pa = node
        .get(&format!("/fhir/Patient/{}", a.pid), Some(clin))
        .expect(200)
        .json();
    let leaf: u64 = pa["meta"]["extension"]
        .as_array()
        .expect("meta.extension")
        .iter()
        .flat_map(|e| e["extension"].as_array().into_iter().flatten())
        .find(|e| e["url"] == "leafIndex")
        .and_then(|e| e["valueString"].as_str())
        .expect("leafIndex")
        .parse()
        .expect("number");
    let bundle = node
        .get(&format!("/fhir/Patient/{}?_proof=true", a.pid), Some(clin))
        .expect(200)
        .json();
    let sse_client = Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .expect("client");

    let mut cases = Cases(Vec::new());
    let (n, sc) = (&node, &sse_client);
    // One row: METHOD "path" [target] (resident `res` stands for), rule => status, request.
    macro_rules! row {
        ($m:literal $p:literal [$target:expr] $res:expr, $rule:expr => $ok:literal, $call:expr) => {
            cases.add($m, $p, &$target, $res, $rule, $ok, Box::new($call))
        };
    }
    use rule::*;

    row! { "GET" "/healthz" [""] None, PUBLIC => 200, |t| n.get("/healthz", t) };
    row! { "GET" "/readyz" [""] None, PUBLIC => 200, |t| n.get("/readyz", t) };
    row! { "GET" "/metrics" [""] None, PUBLIC => 200, |t| n.get("/metrics", t) };
    row! { "GET" "/openapi.json" [""] None, PUBLIC => 200, |t| n.get("/openapi.json", t) };
    // FHIR: capability; writes (a valid Observation of A); reads of A's and of B's records.
    row! { "GET" "/fhir/metadata" [""] None, PUBLIC => 200, |t| n.get("/fhir/metadata", t) };
    let tx = json!({ "resourceType": "Bundle", "type": "transaction", "entry": [{
        "fullUrl": "urn:uuid:2b7c6a4e-0d7e-4c55-9a39-0c4cfc5a7a11",
        "request": { "method": "POST", "url": "Observation" },
        "resource": observation(&a.pid, None) }] });
    row! { "POST" "/fhir" ["A"] None, WRITE => 200, move |t| n.post("/fhir", t, &tx) };
    let obs = observation(&a.pid, None);
    row! { "POST" "/fhir/{type}" ["A"] None, WRITE => 201, move |t| n.post("/fhir/Observation", t, &obs) };
    let put = observation(&a.pid, Some("authz-put"));
    row! { "PUT" "/fhir/{type}/{id}" ["A"] None, WRITE => 201, move |t| n.put("/fhir/Observation/authz-put", t, &put) };
    row! { "GET" "/fhir/{type}/{id}" ["Organization"] None, READ_SHARED => 200,
    move |t| n.get(&format!("/fhir/Organization/{org}"), t) };
    for r in &res {
        let (s, tg, pid) = (Some(r.who), r.tag, &r.pid);
        row! { "GET" "/fhir/{type}/{id}" [format!("Patient {tg}")] s, READ_RESIDENT => 200,
        move |t| n.get(&format!("/fhir/Patient/{pid}"), t) };
        row! { "GET" "/fhir/{type}/{id}" [format!("AuditEvent {tg}")] s, READ_AUDIT => 200,
        move |t| n.get(&format!("/fhir/AuditEvent/{}", r.audit_id), t) };
        row! { "GET" "/fhir/{type}/{id}/_history" [format!("Patient {tg}")] s, READ_RESIDENT => 200,
        move |t| n.get(&format!("/fhir/Patient/{pid}/_history"), t) };
        row! { "GET" "/fhir/{type}/{id}/_history/{vid}" [format!("Patient {tg}")] s, READ_RESIDENT => 200,
        move |t| n.get(&format!("/fhir/Patient/{pid}/_history/1"), t) };
        row! { "GET" "/fhir/Patient/{id}/$everything" [tg] s, READ_RESIDENT => 200,
        move |t| n.get(&format!("/fhir/Patient/{pid}/$everything"), t) };
        row! { "GET" "/fhir/{type}" [format!("Observation?patient={tg}")] s, READ_RESIDENT => 200,
        move |t| n.get(&format!("/fhir/Observation?patient={pid}"), t) };
        row! { "GET" "/fhir/{type}" [format!("Patient?identifier={tg}")] s, READ_RESIDENT => 200,
        move |t| n.get(&format!("/fhir/Patient?identifier={}", enc(&r.identifier)), t) };
        row! { "GET" "/fhir/{type}" [format!("AuditEvent?patient={tg}")] s, READ_AUDIT => 200,
        move |t| n.get(&format!("/fhir/AuditEvent?patient={pid}"), t) };
        row! { "GET" "/fhir/{type}" [format!("Consent?patient={tg}")] s, READ_CONSENT => 200,
        move |t| n.get(&format!("/fhir/Consent?patient={pid}"), t) };
    }
    // Ledger: public checks, and proofs of A's Patient leaf for anyone signed in.
    row! { "GET" "/v1/checkpoint" [""] None, PUBLIC => 200, |t| n.get("/v1/checkpoint", t) };
    row! { "GET" "/v1/key" [""] None, PUBLIC => 200, |t| n.get("/v1/key", t) };
    row! { "POST" "/v1/verify" ["A"] None, PUBLIC => 200, move |t| n.post("/v1/verify", t, &bundle) };
    row! { "GET" "/v1/proof/inclusion" ["A"] None, ANY => 200,
    move |t| n.get(&format!("/v1/proof/inclusion?index={leaf}"), t) };
    row! { "GET" "/v1/proof/consistency" [""] None, ANY => 200, |t| n.get("/v1/proof/consistency?old=1", t) };
    row! { "GET" "/v1/anchors" [""] None, ANY => 200, |t| n.get("/v1/anchors", t) };
    // QC; event streams are opened and dropped.
    row! { "GET" "/v1/qc/rules" [""] None, ANY => 200, |t| n.get("/v1/qc/rules", t) };
    row! { "GET" "/v1/qc/summary" [""] None, QC_INSTITUTION => 200, |t| n.get("/v1/qc/summary", t) };
    // This node is not in a consortium network: the callers allowed learn so (enabled: false).
    row! { "GET" "/v1/consortium" [""] None, CONSORTIUM => 200, |t| n.get("/v1/consortium", t) };
    row! { "GET" "/v1/qc/events" [""] None, QC_INSTITUTION => 200, move |t| open_stream(n, sc, "/v1/qc/events", t) };
    for r in &res {
        let (s, pid) = (Some(r.who), &r.pid);
        row! { "GET" "/v1/qc/residents/{resident}" [r.tag] s, QC_RESIDENT => 200,
        move |t| n.get(&format!("/v1/qc/residents/{pid}"), t) };
        row! { "GET" "/v1/qc/residents/{resident}/events" [r.tag] s, QC_RESIDENT => 200,
        move |t| open_stream(n, sc, &format!("/v1/qc/residents/{pid}/events"), t) };
    }
    // Consent and wallets. Grants and revocations are signed afresh for every call with the
    // wallet's next nonce; a revocation first makes sure there is a grant to revoke.
    for r in &res {
        let (s, pid) = (Some(r.who), &r.pid);
        row! { "GET" "/v1/consents/{resident}" [r.tag] s, READ_CONSENT => 200,
        move |t| n.get(&format!("/v1/consents/{}", r.pseudonym), t) };
        row! { "GET" "/v1/consents/{resident}/eip712" [r.tag] s, READ_CONSENT => 200,
        move |t| n.get(&format!("/v1/consents/{pid}/eip712"), t) };
        row! { "GET" "/v1/residents/{resident}/wallet" [r.tag] s, READ_CONSENT => 200,
        move |t| n.get(&format!("/v1/residents/{pid}/wallet"), t) };
        row! { "POST" "/v1/consents/grant" [r.tag] s, RELAY_CONSENT => 200, move |t| {
            let ty = typed(n, pid, admin);
            n.post("/v1/consents/grant", t, &grant_body(&r.signer, &ty, member, 0b11, "TREAT", ty.nonce, FAR))
        } };
        row! { "POST" "/v1/consents/revoke" [r.tag] s, RELAY_CONSENT => 200, move |t| {
            ensure_granted(n, r, admin, member);
            let ty = typed(n, pid, admin);
            n.post("/v1/consents/revoke", t, &revoke_body(&r.signer, &ty, member, "TREAT", ty.nonce))
        } };
    }
    // Binding needs an unbound resident: the third one, with a new wallet every call.
    row! { "POST" "/v1/residents/{resident}/wallet" ["C (unbound)"] None, BIND_WALLET => 200, move |t| {
        let w = PrivateKeySigner::random().address().to_string();
        n.post(&format!("/v1/residents/{unbound}/wallet"), t, &json!({ "address": w }))
    } };
    // Sign-in is public; a fresh message signed by A's wallet every call.
    row! { "GET" "/v1/auth/nonce" [""] None, PUBLIC => 200, |t| n.get("/v1/auth/nonce", t) };
    row! { "POST" "/v1/auth/siwe" ["A"] None, PUBLIC => 200,
    move |_| post_siwe(n, &a.signer, &Siwe::fresh(n, a.signer.address(), &[patient(&a.pid)])) };
    row! { "GET" "/v1/auth/session" [""] None, ANY => 200, |t| n.get("/v1/auth/session", t) };
    let cases = cases.0;

    // Every operation of the document has a row, and every row an operation.
    let doc = node.get("/openapi.json", None).expect(200).json();
    let documented = operations(&doc);
    let covered: BTreeSet<(String, String)> = cases
        .iter()
        .map(|c| (c.method.to_owned(), c.path.to_owned()))
        .collect();
    let missing: Vec<_> = documented.difference(&covered).collect();
    assert!(
        missing.is_empty(),
        "operations in /openapi.json with no row in the authorization matrix: {missing:?}"
    );
    let stale: Vec<_> = covered.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "rows for operations /openapi.json does not list: {stale:?}"
    );

    // Run it: every caller on every row, collecting what differs.
    let mut table = String::new();
    let mut failures = Vec::new();
    table.push_str(&format!("{:<60}", "operation [target]"));
    for w in WHO {
        table.push_str(&format!(" {w:>10}"));
    }
    table.push('\n');
    for c in &cases {
        let label = format!("{} {} [{}]", c.method, c.path, c.target);
        table.push_str(&format!("{label:<60}"));
        for (who, token) in &tokens {
            let want = c.expected(who);
            let r = (c.call)(token.as_deref());
            let mut cell = r.status.to_string();
            let mut wrong = None;
            if r.status != want {
                wrong = Some(format!("status {} (want {want}): {}", r.status, r.text));
            } else if want == 401 || want == 403 {
                let code = if want == 401 { "login" } else { "forbidden" };
                let v: Value = serde_json::from_str(&r.text).unwrap_or(Value::Null);
                if v["resourceType"] != "OperationOutcome" || v["issue"][0]["code"] != code {
                    wrong = Some(format!("not an OperationOutcome '{code}': {}", r.text));
                }
            } else if c.sse {
                let ct = r.headers.get("content-type").and_then(|v| v.to_str().ok());
                if !ct.is_some_and(|v| v.starts_with("text/event-stream")) {
                    wrong = Some(format!("content-type {ct:?}, not text/event-stream"));
                }
            }
            if let Some(w) = wrong {
                cell = format!("{}≠{want}", r.status);
                failures.push(format!("{label} as {who}: {w}"));
            }
            table.push_str(&format!(" {cell:>10}"));
        }
        table.push('\n');
    }
    eprintln!("{table}");
    assert!(
        failures.is_empty(),
        "authorization matrix (got≠want marks a miss):\n{table}\n{}",
        failures.join("\n")
    );
}
