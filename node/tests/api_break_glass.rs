//! Break-glass end to end on the embedded chain: a clinician's emergency read of a resident's
//! whole record is answered, audited with purpose ETREAT and the reason, and emitted on chain
//! as `EmergencyAccess(pseudonym, member, sha256(reason))`; anyone else breaking the glass, a
//! too-short reason and ETREAT without a reason are refused and leave no trace on chain.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};

use alloy::sol_types::SolEvent;
use common::Hl;
use common::api::ApiNode;
use hl_contracts::HealthLedger::EmergencyAccess;
use serde_json::{Value, json};

const REASON: &str = "unconscious patient in ED";
const BREAK_GLASS: &str = "X-Break-Glass-Reason";

/// SHA-256 of `s` by coreutils, so the test does not share the node's hashing code.
fn sha256_hex(s: &str) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sha256sum");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(s.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("sha256sum output");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("utf8")[..64].to_owned()
}

/// JSON-RPC on the node's embedded chain.
fn rpc(url: &str, method: &str, params: Value) -> Value {
    let body = json!({ "jsonrpc": "2.0", "id": 1, "method": method, "params": params });
    let v: Value = reqwest::blocking::Client::new()
        .post(url)
        .json(&body)
        .send()
        .expect("RPC request")
        .json()
        .expect("RPC JSON");
    assert!(v.get("error").is_none(), "{method}: {v}");
    v["result"].clone()
}

/// The `EmergencyAccess` logs of the contract for `pseudonym` (hex, no 0x).
fn emergency_logs(url: &str, contract: &str, pseudonym: &str) -> Vec<Value> {
    let topic0 = format!("0x{}", hex::encode(EmergencyAccess::SIGNATURE_HASH));
    let logs = rpc(
        url,
        "eth_getLogs",
        json!([{ "fromBlock": "0x0", "toBlock": "latest", "address": contract,
            "topics": [topic0, format!("0x{pseudonym}")] }]),
    );
    logs.as_array().expect("logs").clone()
}

fn diagnostics(r: &common::api::Resp) -> String {
    r.outcome()["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn a_clinician_breaks_the_glass_and_it_is_audited_and_on_chain() {
    let hl = Hl::init();
    let files = hl.synth("synth", 1, 7);
    let mut args = vec!["ingest", "--no-qc"];
    args.extend(files.iter().map(|f| f.to_str().expect("utf8")));
    assert!(hl.run(&args).ok);
    let v: Value =
        serde_json::from_slice(&std::fs::read(files.last().expect("a resident")).expect("read"))
            .expect("json");
    let pid = v["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .find(|e| e["resource"]["resourceType"] == "Patient")
        .and_then(|e| e["resource"]["id"].as_str())
        .expect("a Patient")
        .to_owned();
    let member = hl.json(&["chain", "status"])["account"]
        .as_str()
        .expect("account")
        .to_lowercase();
    let port = hl_tests::free_port();
    let rpc_url = format!("http://127.0.0.1:{port}");
    let node = ApiNode::start_with(
        hl,
        &[(
            "HEALTHLEDGER_CHAIN__EMBEDDED_HTTP",
            format!("127.0.0.1:{port}").as_str(),
        )],
    );
    let (clin, auditor) = (node.token("clinician"), node.token("auditor"));
    let pseudonym = node
        .get(&format!("/v1/residents/{pid}/wallet"), Some(clin))
        .expect(200)
        .json()["resident"]
        .as_str()
        .expect("pseudonym")
        .to_owned();
    let contract = node
        .get(&format!("/v1/consents/{pid}/eip712"), Some(clin))
        .expect(200)
        .json()["domain"]["verifyingContract"]
        .as_str()
        .expect("contract")
        .to_lowercase();
    assert!(emergency_logs(&rpc_url, &contract, &pseudonym).is_empty());
    let everything = format!("/fhir/Patient/{pid}/$everything");

    // The emergency read: the whole record.
    let r = node
        .get_with(&everything, Some(clin), &[(BREAK_GLASS, REASON)])
        .expect(200)
        .json();
    assert_eq!(r["type"], "searchset");
    assert!(r["total"].as_u64().is_some_and(|t| t > 1), "{}", r["total"]);

    // Its AuditEvent, as the auditor lists it: purpose ETREAT, the reason, the clinician.
    let audits = node
        .get(&format!("/fhir/AuditEvent?patient={pid}"), Some(auditor))
        .expect(200)
        .json();
    let events: Vec<&Value> = audits["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| &e["resource"])
        .collect();
    let with_reason: Vec<&&Value> = events
        .iter()
        .filter(|e| {
            e["entity"].as_array().into_iter().flatten().any(|en| {
                en["detail"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .any(|d| d["type"] == "break-glass-reason" && d["valueString"] == REASON)
            })
        })
        .collect();
    assert_eq!(with_reason.len(), 1, "one break-glass AuditEvent: {audits}");
    let e = with_reason[0];
    assert_eq!(e["purposeOfEvent"][0]["coding"][0]["code"], "ETREAT", "{e}");
    assert_eq!(
        e["agent"][0]["purposeOfUse"][0]["coding"][0]["code"],
        "ETREAT"
    );
    assert_eq!(e["agent"][0]["type"]["coding"][0]["code"], "clinician");
    assert_eq!(
        e["entity"][0]["what"]["reference"],
        format!("Patient/{pid}")
    );
    assert!(
        e["entity"][1]["what"]["display"]
            .as_str()
            .is_some_and(|q| q.contains("$everything")),
        "{e}"
    );

    // On chain: one EmergencyAccess for this resident, by this member, with sha256(reason).
    let logs = emergency_logs(&rpc_url, &contract, &pseudonym);
    assert_eq!(logs.len(), 1, "{logs:?}");
    let log = &logs[0];
    assert_eq!(
        log["topics"][2].as_str().expect("member topic"),
        format!("0x{:0>64}", member.trim_start_matches("0x")),
    );
    assert_eq!(
        log["data"].as_str().expect("data"),
        format!("0x{}", sha256_hex(REASON))
    );

    // A break-glass read of the resident's QC status is an emergency read too: on chain
    // and in the access log with its reason, like any other.
    let qc = node
        .get_with(
            &format!("/v1/qc/residents/{pid}"),
            Some(clin),
            &[(BREAK_GLASS, REASON)],
        )
        .expect(200)
        .json();
    let leaf = qc["audit_leaf"].as_u64().expect("audit_leaf");
    assert_eq!(emergency_logs(&rpc_url, &contract, &pseudonym).len(), 2);
    let audits = node
        .get(&format!("/fhir/AuditEvent?patient={pid}"), Some(auditor))
        .expect(200)
        .json();
    let qc_event = audits["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| &e["resource"])
        .find(|e| {
            e["meta"]["extension"]
                .to_string()
                .contains(&format!("\"{leaf}\""))
        })
        .expect("the QC read's AuditEvent");
    assert_eq!(qc_event["purposeOfEvent"][0]["coding"][0]["code"], "ETREAT");
    assert!(qc_event.to_string().contains(REASON), "{qc_event}");

    // Refused: anyone but a clinician breaking the glass (403), a reason under 5 characters
    // and ETREAT without a reason (400), and a break-glass read for another purpose (400).
    for role in ["ingest", "admin", "auditor"] {
        let r = node
            .get_with(
                &everything,
                Some(node.token(role)),
                &[(BREAK_GLASS, REASON)],
            )
            .expect(403);
        assert!(diagnostics(&r).contains("only a clinician"), "{}", r.text);
    }
    let r = node
        .get_with(&everything, Some(clin), &[(BREAK_GLASS, "ED")])
        .expect(400);
    assert!(diagnostics(&r).contains("at least 5"), "{}", r.text);
    let r = node
        .get_with(&everything, Some(clin), &[("X-Purpose-Of-Use", "ETREAT")])
        .expect(400);
    assert!(diagnostics(&r).contains("break-glass reason"), "{}", r.text);
    let r = node
        .get_with(
            &everything,
            Some(clin),
            &[(BREAK_GLASS, REASON), ("X-Purpose-Of-Use", "TREAT")],
        )
        .expect(400);
    assert!(diagnostics(&r).contains("ETREAT"), "{}", r.text);
    // None of them reached the chain or the access log.
    assert_eq!(emergency_logs(&rpc_url, &contract, &pseudonym).len(), 2);
    let after = node
        .get(&format!("/fhir/AuditEvent?patient={pid}"), Some(auditor))
        .expect(200)
        .json();
    // The one new AuditEvent is the auditor's own first listing.
    assert_eq!(
        after["total"].as_u64(),
        audits["total"].as_u64().map(|t| t + 1),
        "refused reads append no AuditEvent"
    );
}
