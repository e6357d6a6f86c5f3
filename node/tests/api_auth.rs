//! Sign-In with Ethereum against a real node on its embedded chain: residents sign in with the
//! wallet an admin bound to them, regulators with an address the contract lists; every wrong
//! message, signature, nonce or session is refused with an OperationOutcome naming why.

mod common;
#[path = "common/wallet.rs"]
mod wallet;

use std::time::Duration;

use alloy::signers::local::PrivateKeySigner;
use common::Hl;
use common::api::ApiNode;
use serde_json::json;
use time::OffsetDateTime;
use wallet::{
    Fresh as _, Siwe, bind, patient, personal_sign, post_siwe, residents, rfc3339, sign_in,
};

fn set_regulator(hl: &Hl, address: &str) {
    let r = hl.run(&["chain", "regulator", "--address", address]);
    assert!(r.ok, "chain regulator: {}", r.stderr);
}

fn diagnostics(r: &common::api::Resp) -> String {
    r.outcome()["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn residents_and_regulators_sign_in_and_wrong_sign_ins_are_refused() {
    let hl = Hl::init();
    let ids = residents(&hl, 2);
    let regulator = PrivateKeySigner::random();
    set_regulator(&hl, &regulator.address().to_string());
    let node = ApiNode::start(hl);
    let (a, b) = (PrivateKeySigner::random(), PrivateKeySigner::random());

    // An admin binds A to resident 0; a second binding is a conflict; the binding reads back.
    let pseudo0 = bind(&node, &ids[0], a.address());
    let again = node
        .post(
            &format!("/v1/residents/{}/wallet", ids[0]),
            Some(node.token("admin")),
            &json!({ "address": b.address().to_string() }),
        )
        .expect(409);
    assert!(diagnostics(&again).contains("already bound"));
    let w = node
        .get(
            &format!("/v1/residents/{pseudo0}/wallet"),
            Some(node.token("clinician")),
        )
        .expect(200)
        .json();
    assert_eq!(w["wallet"], a.address().to_checksum(None));

    // A signs in as resident 0 (by Patient id, then by pseudonym) and sees their own session.
    let token = sign_in(&node, &a, &[patient(&ids[0])]);
    assert!(token.starts_with("hls_"));
    let me = node
        .get("/v1/auth/session", Some(&token))
        .expect(200)
        .json();
    assert_eq!(me["role"], "resident");
    assert_eq!(me["resident"], pseudo0.as_str());
    assert_eq!(me["address"], a.address().to_checksum(None));
    assert!(me["expiresAt"].as_str().is_some());
    let urn = format!("urn:healthledger:resident:{pseudo0}");
    sign_in(&node, &a, &[urn]);

    // A for resident 1: unbound, then bound to B → 403 both times.
    let msg = Siwe::fresh(&node, a.address(), &[patient(&ids[1])]);
    let r = post_siwe(&node, &a, &msg).expect(403);
    assert!(diagnostics(&r).contains("no bound wallet"), "{}", r.text);
    bind(&node, &ids[1], b.address());
    let msg = Siwe::fresh(&node, a.address(), &[patient(&ids[1])]);
    let r = post_siwe(&node, &a, &msg).expect(403);
    assert!(
        diagnostics(&r).contains("not the wallet bound"),
        "{}",
        r.text
    );

    // The same message twice: the nonce is used up.
    let msg = Siwe::fresh(&node, a.address(), &[patient(&ids[0])]);
    post_siwe(&node, &a, &msg).expect(200);
    let r = post_siwe(&node, &a, &msg).expect(401);
    assert!(diagnostics(&r).contains("nonce"), "{}", r.text);
    // A nonce the node never issued.
    let mut never = Siwe::fresh(&node, a.address(), &[patient(&ids[0])]);
    never.nonce = "abcdef0123456789".into();
    assert!(diagnostics(&post_siwe(&node, &a, &never).expect(401)).contains("nonce"));

    // Wrong domain, wrong chain, expired, not by the address, garbage signature: 401 each.
    let fresh = || Siwe::fresh(&node, a.address(), &[patient(&ids[0])]);
    let mut m = fresh();
    m.domain = "evil.example".into();
    assert!(diagnostics(&post_siwe(&node, &a, &m).expect(401)).contains("domain"));
    let mut m = fresh();
    m.chain_id += 1;
    assert!(diagnostics(&post_siwe(&node, &a, &m).expect(401)).contains("chain id"));
    let mut m = fresh();
    let past = OffsetDateTime::now_utc() - time::Duration::minutes(20);
    m.issued_at = rfc3339(past);
    m.expiration = Some(rfc3339(past + time::Duration::minutes(5)));
    assert!(diagnostics(&post_siwe(&node, &a, &m).expect(401)).contains("expired"));
    let m = fresh();
    let r = post_siwe(&node, &b, &m).expect(401); // B signs a message naming A
    assert!(
        diagnostics(&r).contains("signature is not by"),
        "{}",
        r.text
    );
    // ... and the nonce of that refused attempt is still good for A.
    post_siwe(&node, &a, &m).expect(200);
    let m = fresh();
    let body = json!({ "message": m.text(), "signature": "0x1234" });
    node.post("/v1/auth/siwe", None, &body)
        .expect(401)
        .outcome();
    // Not EIP-4361 at all: 400.
    let body = json!({ "message": "hello", "signature": personal_sign(&a, "hello") });
    let r = node.post("/v1/auth/siwe", None, &body).expect(400);
    assert!(diagnostics(&r).contains("EIP-4361"));
    // Lower-case (not EIP-55) address line: 400.
    let m = fresh();
    let text = m.text().replace(
        &a.address().to_checksum(None),
        &a.address().to_string().to_lowercase(),
    );
    let body = json!({ "message": text, "signature": personal_sign(&a, &text) });
    node.post("/v1/auth/siwe", None, &body).expect(400);

    // The regulator signs in without a resident; anyone else without one is refused.
    let token = sign_in(&node, &regulator, &[]);
    let me = node
        .get("/v1/auth/session", Some(&token))
        .expect(200)
        .json();
    assert_eq!(me["role"], "regulator");
    assert_eq!(me["address"], regulator.address().to_checksum(None));
    let m = Siwe::fresh(&node, a.address(), &[]);
    let r = post_siwe(&node, &a, &m).expect(403);
    assert!(diagnostics(&r).contains("not a regulator"));

    // Staff tokens are described too; no or unknown tokens are 401.
    let me = node
        .get("/v1/auth/session", Some(node.token("auditor")))
        .expect(200)
        .json();
    assert_eq!(
        (me["role"].as_str(), me["expiresAt"].as_str()),
        (Some("auditor"), None)
    );
    node.get("/v1/auth/session", None).expect(401).outcome();
    node.get("/v1/auth/session", Some("hls_nope"))
        .expect(401)
        .outcome();

    // Every auth route is in the OpenAPI document.
    let doc = node.get("/openapi.json", None).expect(200).json();
    for p in ["/v1/auth/nonce", "/v1/auth/siwe", "/v1/auth/session"] {
        assert!(
            doc["paths"][p].is_object(),
            "{p} missing from /openapi.json"
        );
    }
}

#[test]
fn a_session_ends_after_its_ttl() {
    let hl = Hl::init();
    let regulator = PrivateKeySigner::random();
    set_regulator(&hl, &regulator.address().to_string());
    let node = ApiNode::start_with(hl, &[("HEALTHLEDGER_API__SESSION_TTL_SECS", "1")]);
    let token = sign_in(&node, &regulator, &[]);
    node.get("/v1/auth/session", Some(&token)).expect(200);
    std::thread::sleep(Duration::from_millis(1500));
    let r = node.get("/v1/auth/session", Some(&token)).expect(401);
    assert!(diagnostics(&r).contains("session expired"), "{}", r.text);
    // Signing in again gives a new, live session.
    let token = sign_in(&node, &regulator, &[]);
    node.get("/v1/auth/session", Some(&token)).expect(200);
}

#[test]
fn a_regulator_removed_on_chain_is_signed_out_at_the_next_check() {
    let hl = Hl::init();
    let ids = residents(&hl, 1);
    let regulator = PrivateKeySigner::random();
    set_regulator(&hl, &regulator.address().to_string());
    let status: serde_json::Value =
        serde_json::from_str(&hl.run(&["chain", "status", "--json"]).stdout).expect("status");
    let contract = status["contract"].as_str().expect("contract").to_owned();
    let port = hl_tests::free_port();
    let rpc = format!("http://127.0.0.1:{port}");
    let node = ApiNode::start_with(
        hl,
        &[
            ("HEALTHLEDGER_API__SESSION_RECHECK_SECS", "0"),
            (
                "HEALTHLEDGER_CHAIN__EMBEDDED_HTTP",
                &format!("127.0.0.1:{port}"),
            ),
        ],
    );
    let resident = PrivateKeySigner::random();
    bind(&node, &ids[0], resident.address());
    let as_resident = sign_in(&node, &resident, &[patient(&ids[0])]);
    let as_regulator = sign_in(&node, &regulator, &[]);
    // Checked on chain on every request here: both still hold, again and again.
    for _ in 0..3 {
        node.get("/v1/auth/session", Some(&as_regulator))
            .expect(200);
        node.get(&format!("/fhir/Patient/{}", ids[0]), Some(&as_resident))
            .expect(200);
    }

    // The governor removes the regulator through the node's served chain.
    let r = node.hl.run(&[
        "chain",
        "regulator",
        "--address",
        &regulator.address().to_string(),
        "--disable",
        "--rpc",
        &rpc,
        "--contract",
        &contract,
    ]);
    assert!(r.ok, "chain regulator --disable: {}", r.stderr);
    let r = node.get("/v1/qc/summary", Some(&as_regulator)).expect(401);
    assert!(
        diagnostics(&r).contains("no longer a regulator"),
        "{}",
        r.text
    );
    // The session is gone, and signing in again is refused.
    let r = node
        .get("/v1/auth/session", Some(&as_regulator))
        .expect(401);
    assert!(diagnostics(&r).contains("unknown session"), "{}", r.text);
    let msg = Siwe::fresh(&node, regulator.address(), &[]);
    post_siwe(&node, &regulator, &msg).expect(403);
    // The resident's session is untouched.
    node.get(&format!("/fhir/Patient/{}", ids[0]), Some(&as_resident))
        .expect(200);
}
