//! Consent through the API against a real node: a resident's wallet signs EIP-712 grants and
//! revocations exactly as a wallet app would, the node relays them to the contract, and the
//! consents list shows the chain's state. Once on the embedded chain (with the authorization
//! matrix of every consent route), once on anvil (a remote chain).

mod common;
#[path = "common/wallet.rs"]
mod wallet;

use alloy::primitives::{Address, B256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use common::Hl;
use common::api::{ApiNode, ROLES, Resp};
use hl_api::ports::Chain as _;
use hl_tests::Anvil;
use serde_json::{Value, json};
use wallet::{FAR, bind, grant_body, patient, revoke_body, sign_in, typed};

fn diagnostics(r: &Resp) -> String {
    r.outcome()["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

fn consents(node: &ApiNode, resident: &str, token: &str) -> Vec<Value> {
    let v = node
        .get(&format!("/v1/consents/{resident}"), Some(token))
        .expect(200)
        .json();
    v["consents"].as_array().expect("consents").clone()
}

#[test]
fn grants_and_revocations_signed_by_the_resident_are_relayed_and_listed() {
    let hl = Hl::init();
    let ids = wallet::residents(&hl, 2);
    let status = hl.json(&["chain", "status"]);
    let member: Address = status["account"]
        .as_str()
        .expect("account")
        .parse()
        .expect("addr");
    let regulator = PrivateKeySigner::random();
    let r = hl.run(&[
        "chain",
        "regulator",
        "--address",
        &regulator.address().to_string(),
    ]);
    assert!(r.ok, "{}", r.stderr);
    let node = ApiNode::start(hl);
    let (a, b) = (PrivateKeySigner::random(), PrivateKeySigner::random());
    bind(&node, &ids[0], a.address());
    bind(&node, &ids[1], b.address());
    let tok_a = sign_in(&node, &a, &[patient(&ids[0])]);
    let tok_b = sign_in(&node, &b, &[patient(&ids[1])]);
    let tok_reg = sign_in(&node, &regulator, &[]);
    assert!(consents(&node, &ids[0], &tok_a).is_empty());

    // The resident signs a grant (categories 0 and 2, purpose TREAT) for this institution.
    let t = typed(&node, &ids[0], &tok_a);
    assert_eq!(t.nonce, 0);
    let first = grant_body(&a, &t, member, 0b101, "TREAT", 0, FAR);
    let tx = node
        .post("/v1/consents/grant", Some(&tok_a), &first)
        .expect(200)
        .json();
    let tx_hash = tx["tx_hash"].as_str().expect("tx_hash").to_owned();
    assert!(tx["block_number"].as_u64().is_some_and(|n| n > 0));
    let list = consents(&node, &ids[0], node.token("clinician"));
    assert_eq!(list.len(), 1, "{list:?}");
    let c = &list[0];
    assert_eq!(c["grantee"], member.to_string());
    assert_eq!(c["grantee_name"], "Test Community Health Centre");
    assert_eq!(
        (c["purpose"].as_str(), c["categories"].as_str()),
        (Some("TREAT"), Some("0x5"))
    );
    assert_eq!(
        (c["active"].as_bool(), c["revoked"].as_bool()),
        (Some(true), Some(false))
    );
    assert_eq!(c["expiry"], FAR);
    assert_eq!(c["tx_hash"], tx_hash.as_str());
    assert_eq!(typed(&node, &ids[0], &tok_a).nonce, 1);

    // Signed by the wrong wallet, replayed, or past its deadline: refused, naming why.
    let forged = grant_body(&b, &t, member, 1, "PUBHLTH", 1, FAR);
    let r = node
        .post("/v1/consents/grant", Some(node.token("admin")), &forged)
        .expect(422);
    assert!(
        diagnostics(&r).contains("not by the resident's bound wallet"),
        "{}",
        r.text
    );
    let r = node
        .post("/v1/consents/grant", Some(&tok_a), &first)
        .expect(422);
    assert!(diagnostics(&r).contains("nonce"), "{}", r.text);
    let late = grant_body(&a, &t, member, 1, "PUBHLTH", 1, 1);
    let r = node
        .post("/v1/consents/grant", Some(&tok_a), &late)
        .expect(422);
    assert!(diagnostics(&r).contains("deadline passed"), "{}", r.text);
    // Malformed fields: 400 naming the field.
    let mut bad = grant_body(&a, &t, member, 1, "PUBHLTH", 1, FAR);
    bad["purpose"] = json!("TWO WORDS");
    let r = node
        .post("/v1/consents/grant", Some(&tok_a), &bad)
        .expect(400);
    assert!(diagnostics(&r).contains("purpose"));
    bad["purpose"] = json!("PUBHLTH");
    bad["signature"] = json!("0x1234");
    assert!(
        diagnostics(
            &node
                .post("/v1/consents/grant", Some(&tok_a), &bad)
                .expect(400)
        )
        .contains("signature")
    );

    // The resident revokes by signature: listed as revoked and inactive.
    let rv = revoke_body(&a, &t, member, "TREAT", 1);
    node.post("/v1/consents/revoke", Some(&tok_a), &rv)
        .expect(200);
    let list = consents(&node, &ids[0], &tok_a);
    assert_eq!(list.len(), 1);
    assert_eq!(
        (list[0]["active"].as_bool(), list[0]["revoked"].as_bool()),
        (Some(false), Some(true))
    );
    assert_ne!(
        list[0]["tx_hash"],
        tx_hash.as_str(),
        "the revocation is the last change"
    );
    let again = revoke_body(&a, &t, member, "TREAT", 2);
    let r = node
        .post("/v1/consents/revoke", Some(&tok_a), &again)
        .expect(422);
    assert!(diagnostics(&r).contains("no active grant"), "{}", r.text);

    // Who may do what. Allowed relays reach the chain and are refused there on their merits
    // (422, a used nonce); allowed bindings find the resident bound (409).
    let id0 = &ids[0];
    let stale = first.clone();
    let stale_revoke = rv.clone();
    type Call<'a> = (&'a str, Box<dyn Fn(Option<&str>) -> Resp + 'a>, u16);
    let calls: Vec<Call> = vec![
        (
            "list",
            Box::new(|t| node.get(&format!("/v1/consents/{id0}"), t)),
            200,
        ),
        (
            "eip712",
            Box::new(|t| node.get(&format!("/v1/consents/{id0}/eip712"), t)),
            200,
        ),
        (
            "wallet",
            Box::new(|t| node.get(&format!("/v1/residents/{id0}/wallet"), t)),
            200,
        ),
        (
            "bind",
            Box::new(|t| {
                node.post(
                    &format!("/v1/residents/{id0}/wallet"),
                    t,
                    &json!({ "address": b.address().to_string() }),
                )
            }),
            409,
        ),
        (
            "grant",
            Box::new(|t| node.post("/v1/consents/grant", t, &stale)),
            422,
        ),
        (
            "revoke",
            Box::new(|t| node.post("/v1/consents/revoke", t, &stale_revoke)),
            422,
        ),
    ];
    let mut who: Vec<(&str, Option<String>)> = ROLES
        .iter()
        .map(|r| (*r, Some(node.token(r).to_owned())))
        .collect();
    who.extend([
        ("resident-a", Some(tok_a.clone())),
        ("resident-b", Some(tok_b.clone())),
        ("regulator", Some(tok_reg.clone())),
        ("nobody", None),
    ]);
    let allowed = |route: &str, principal: &str| match route {
        "list" | "eip712" | "wallet" => {
            matches!(principal, "clinician" | "auditor" | "admin" | "resident-a")
        }
        "bind" => principal == "admin",
        _ => matches!(principal, "admin" | "resident-a"),
    };
    for (route, call, ok) in &calls {
        for (principal, token) in &who {
            let want = match (principal, allowed(route, principal)) {
                (&"nobody", _) => 401,
                (_, true) => *ok,
                (_, false) => 403,
            };
            let r = call(token.as_deref());
            assert_eq!(r.status, want, "{route} as {principal}: {}", r.text);
            if want != 200 {
                r.outcome();
            }
        }
    }

    // Every consent route is in the OpenAPI document.
    let doc = node.get("/openapi.json", None).expect(200).json();
    for p in [
        "/v1/consents/{resident}",
        "/v1/consents/{resident}/eip712",
        "/v1/consents/grant",
        "/v1/consents/revoke",
        "/v1/residents/{resident}/wallet",
    ] {
        assert!(
            doc["paths"][p].is_object(),
            "{p} missing from /openapi.json"
        );
    }
}

/// The same port on a remote chain (anvil): binding, a relayed grant and the consents list over
/// HTTP, then the node's ChainPort directly for a break-glass record.
#[test]
fn the_chain_port_works_against_anvil() {
    let anvil = Anvil::start();
    let hl = Hl::init();
    let ids = wallet::residents(&hl, 1);
    let (contract, account) = common::chain::setup(&hl, &anvil);
    let env = [
        ("HEALTHLEDGER_CHAIN__RPC", anvil.url.as_str()),
        ("HEALTHLEDGER_CHAIN__CONTRACT", contract.as_str()),
    ];
    let mut node = ApiNode::start_with(hl, &env);
    let a = PrivateKeySigner::random();
    let pseudonym = bind(&node, &ids[0], a.address());
    let nonce = node.get("/v1/auth/nonce", None).expect(200).json();
    assert_eq!(nonce["chainId"], 31337, "the remote chain's own id");
    let tok = sign_in(&node, &a, &[patient(&ids[0])]);
    let t = typed(&node, &ids[0], &tok);
    assert_eq!(t.contract, contract.parse::<Address>().expect("address"));
    let member: Address = account.parse().expect("address");
    let body = grant_body(&a, &t, member, 0b11, "TREAT", t.nonce, FAR);
    node.post("/v1/consents/grant", Some(&tok), &body)
        .expect(200);
    let list = consents(&node, &ids[0], &tok);
    assert_eq!(list.len(), 1);
    assert_eq!(
        (
            list[0]["grantee_name"].as_str(),
            list[0]["active"].as_bool()
        ),
        (Some("Test CHC"), Some(true))
    );
    let forged = grant_body(
        &PrivateKeySigner::random(),
        &t,
        member,
        1,
        "HRESCH",
        t.nonce + 1,
        FAR,
    );
    let r = node
        .post("/v1/consents/grant", Some(&tok), &forged)
        .expect(422);
    assert!(diagnostics(&r).contains("bound wallet"));
    assert!(node.stop(), "node did not stop cleanly");

    // The port itself, in this process, as the break-glass read path calls it.
    let mut cfg = hl_node::config::Node::load(&node.hl.data()).expect("config");
    cfg.config.chain.rpc = Some(anvil.url.clone());
    cfg.config.chain.contract = Some(contract.clone());
    let rt = common::runtime();
    rt.block_on(async {
        let (access, service) =
            hl_node::service::chain::ChainAccess::open(std::sync::Arc::new(cfg))
                .await
                .expect("open");
        assert!(service.is_none(), "no embedded chain with an RPC endpoint");
        let port = hl_node::service::chain::ChainPort::new(std::sync::Arc::new(access));
        let mut p = [0u8; 32];
        hex::decode_to_slice(&pseudonym, &mut p).expect("hex");
        assert_eq!(
            port.resident_wallet(&p).await.expect("wallet"),
            Some(a.address())
        );
        assert_eq!(port.consents(&p).await.expect("consents").len(), 1);
        assert_eq!(port.info().chain_id, 31337);
        let reason = B256::from([0xee; 32]);
        let tx = port
            .record_emergency_access(&p, reason)
            .await
            .expect("break-glass");
        let provider = ProviderBuilder::new().connect_http(anvil.url.parse().expect("url"));
        let receipt = provider
            .get_transaction_receipt(tx.tx_hash.parse().expect("hash"))
            .await
            .expect("receipt")
            .expect("mined");
        let ev = receipt
            .inner
            .logs()
            .iter()
            .find_map(|l| {
                hl_contracts::HealthLedger::EmergencyAccess::decode_log_data(l.data()).ok()
            })
            .expect("EmergencyAccess event");
        assert_eq!(
            (ev.pseudonym, ev.member, ev.reasonHash),
            (B256::from(p), member, reason)
        );
        // A zero reason is the contract's refusal, in words.
        match port.record_emergency_access(&p, B256::ZERO).await {
            Err(hl_api::ports::PortError::Rejected(m)) => assert!(m.contains("reason"), "{m}"),
            other => panic!("expected a rejection, got {other:?}"),
        }
    });
}
