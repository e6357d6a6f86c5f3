//! Three member nodes and anvil on loopback (`hl_tests::localnet`): consent for one category
//! serves only that category and ends at its expiry; cross-institution QC over the merged
//! view; a member restarted mid-way catches up on checkpoints and locators. The demo
//! (`consortium_demo.rs`) covers no consent, revocation and break-glass end to end.

use std::time::Duration;

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use hl_tests::localnet::wallet::{self, GrantSpec};
use hl_tests::localnet::{Institution, Localnet, Node, SharedResident, Visit, wait};
use serde_json::{Value, json};

const WAIT: Duration = Duration::from_secs(90);
const CLINICIAN: &str = "clinician";

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_healthledger")
}

fn consortium() -> Localnet {
    Localnet::start(
        bin().as_ref(),
        &[
            Institution::new("Centre", "centre.example/log"),
            Institution::new("County Hospital", "county.example/log"),
            Institution::new("City Hospital", "city.example/log"),
        ],
    )
    .expect("the consortium starts")
}

/// Ingests `bundle` at `node` and waits until its log is anchored past it.
fn ingest(node: &Node, bundle: &Value) {
    node.ingest(bundle).expect("ingested");
    let size = node.anchors().expect("anchors")["size"]
        .as_u64()
        .expect("size");
    node.wait_anchored(size, WAIT).expect("anchored");
}

/// The chain's clock (the latest block's timestamp), which consent expiry is judged by.
fn chain_now(net: &Localnet) -> u64 {
    let b = net
        .rpc()
        .unwrap()
        .call("eth_getBlockByNumber", json!(["latest", false]))
        .unwrap();
    u64::from_str_radix(
        b["timestamp"].as_str().unwrap().trim_start_matches("0x"),
        16,
    )
    .unwrap()
}

/// The resident binds a wallet at `holder` (where Patient `pid` is) and grants `grantee`
/// `categories` for TREAT until `expiry`.
fn grant(holder: &Node, pid: &str, grantee: &Node, categories: u64, expiry: u64) {
    let w = PrivateKeySigner::random();
    wallet::bind(holder, pid, w.address()).expect("wallet bound");
    let session = wallet::sign_in(holder, &w, &[wallet::patient_resource(pid)]).expect("signed in");
    let t = wallet::typed(holder, pid, &session).expect("typed data");
    let spec = GrantSpec {
        grantee: grantee.account.parse::<Address>().unwrap(),
        categories,
        purpose: "TREAT".into(),
        expiry,
        nonce: t.nonce,
        deadline: expiry,
    };
    wallet::grant(holder, &session, &w, &t, &spec).expect("grant relayed");
}

#[test]
fn consent_for_one_category_serves_only_it_until_the_consent_expires() {
    let net = consortium();
    let (centre, county, city) = (&net.nodes[0], &net.nodes[1], &net.nodes[2]);
    let r = &SharedResident::sample(1)[0];
    let pseudonym = r.pseudonym(net.consortium_key);
    ingest(centre, &r.bundle("chc", Visit::Community, "2026-03-02"));
    ingest(county, &r.bundle("county", Visit::Hospital, "2026-05-18"));
    let token = city.token(CLINICIAN).unwrap();
    city.wait_for_holders(&pseudonym, token, &[&centre.origin, &county.origin], WAIT)
        .expect("the city learns both holders");

    // Observations only (category 1), for an hour of chain time.
    let expiry = chain_now(&net) + 3600;
    grant(centre, &r.patient_id("chc"), city, 0b10, expiry);
    let v = city.consortium_view(&pseudonym, token, &[]).unwrap();
    for h in [centre, county] {
        let answer = v.holder(&h.origin).expect("holder answered");
        assert_eq!(answer.status, "served", "{}", answer.diagnostics);
        let from = v.from_holder(&h.origin);
        assert!(!from.is_empty(), "{} served nothing", h.name);
        for rec in from {
            assert_eq!(
                rec.resource["resourceType"],
                "Observation",
                "{} served {}",
                h.name,
                rec.reference()
            );
        }
        // What it holds of that category, no more and no less.
        let held = h
            .local_everything(
                &r.patient_id(if h.origin == centre.origin {
                    "chc"
                } else {
                    "county"
                }),
                h.token(CLINICIAN).unwrap(),
            )
            .unwrap()
            .into_iter()
            .filter(|x| x["resourceType"] == "Observation")
            .count();
        assert_eq!(v.from_holder(&h.origin).len(), held, "{}", h.name);
    }

    // Two hours later on chain the consent has expired: refused, and nothing kept is shown.
    let rpc = net.rpc().unwrap();
    rpc.call("evm_increaseTime", json!([7200])).unwrap();
    rpc.call("evm_mine", json!([])).unwrap();
    let v = city.consortium_view(&pseudonym, token, &[]).unwrap();
    assert!(v.remote.is_empty(), "{} remote records", v.remote.len());
    for h in [centre, county] {
        let answer = v.holder(&h.origin).expect("holder answered");
        assert_eq!(answer.status, "refused", "{}", answer.diagnostics);
    }
}

#[test]
fn cross_institution_qc_sees_conflicts_and_a_restarted_member_catches_up() {
    let mut net = consortium();
    let r = &SharedResident::sample(2)[0];
    let pseudonym = r.pseudonym(net.consortium_key);
    {
        let (centre, county, city) = (&net.nodes[0], &net.nodes[1], &net.nodes[2]);
        ingest(centre, &r.bundle("chc", Visit::Community, "2026-03-02"));
        // The county hospital registered the same person with another birth year.
        let mut other = r.bundle("county", Visit::Hospital, "2026-05-18");
        for e in other["entry"].as_array_mut().unwrap() {
            if e["resource"]["resourceType"] == "Patient" {
                e["resource"]["birthDate"] = json!("1949-01-01");
            }
        }
        ingest(county, &other);
        let token = city.token(CLINICIAN).unwrap();
        city.wait_for_holders(&pseudonym, token, &[&centre.origin, &county.origin], WAIT)
            .unwrap();
        grant(
            centre,
            &r.patient_id("chc"),
            city,
            0x7f,
            chain_now(&net) + 86_400,
        );

        let qc = city
            .get(
                &format!("/v1/qc/residents/{pseudonym}?scope=consortium"),
                Some(token),
                &[],
            )
            .unwrap()
            .expect_json(200)
            .unwrap();
        let c = &qc["consortium"];
        let i01: Vec<&Value> = c["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "QC-I01")
            .collect();
        assert_eq!(i01.len(), 1, "{c:#}");
        let evidence = i01[0]["evidence"].to_string();
        assert!(
            evidence.contains(&centre.origin) && evidence.contains(&county.origin),
            "{evidence}"
        );
        let institutions: Vec<&str> = c["timeline"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["origin"].as_str().unwrap())
            .collect();
        assert!(institutions.contains(&centre.origin.as_str()), "{c:#}");
        assert!(institutions.contains(&county.origin.as_str()), "{c:#}");
        assert!(
            qc["audit_leaf"].is_u64(),
            "the read was audited at the city"
        );
    }

    // The city goes down; meanwhile the county sees a new resident and anchors.
    net.nodes[2].stop().unwrap();
    let r2 = &SharedResident::sample(2)[1];
    ingest(
        &net.nodes[1],
        &r2.bundle("county", Visit::Hospital, "2026-06-01"),
    );
    let county_anchored = net.nodes[1].anchors().unwrap()["anchoredSize"]
        .as_u64()
        .unwrap();
    net.nodes[2].restart().unwrap();
    let (county, city) = (&net.nodes[1], &net.nodes[2]);
    let token = city.token(CLINICIAN).unwrap();
    // Locators: the new resident's holder is known again after the restart.
    city.wait_for_holders(
        &r2.pseudonym(net.consortium_key),
        token,
        &[&county.origin],
        WAIT,
    )
    .expect("the restarted city learns the new locator");
    // Checkpoints: the county's newest anchored head reached it too.
    let book = city.data_dir().join("consortium-checkpoints.json");
    wait::until("the county's newest checkpoint at the city", WAIT, || {
        let size = std::fs::read(&book)
            .ok()
            .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
            .and_then(|v| v["origins"][county.origin.as_str()]["latest"]["size"].as_u64());
        Ok(match size {
            Some(s) if s >= county_anchored => Ok(s),
            other => Err(format!("{other:?} < {county_anchored}")),
        })
    })
    .unwrap();

    // What the operator sees: both members connected, their checkpoints, nothing refused.
    let status = wait::until("the city connected to both members again", WAIT, || {
        let s = city
            .get("/v1/consortium", Some(city.token("admin").unwrap()), &[])?
            .expect_json(200)?;
        Ok(if s["peers"].as_array().map_or(0, Vec::len) == 2 {
            Ok(s)
        } else {
            Err(s.to_string())
        })
    })
    .unwrap();
    for origin in [&net.nodes[0].origin, &county.origin] {
        assert!(
            status["checkpoints"][origin.as_str()]["size"]
                .as_u64()
                .is_some(),
            "{status:#}"
        );
    }
    assert_eq!(status["enabled"], true);
    assert_eq!(status["split_views"], json!([]));
    assert_eq!(status["reported"], json!([]));
    assert!(
        status["remote_residents"].as_u64().unwrap() >= 2,
        "{status:#}"
    );
    let metrics = city.get("/metrics", None, &[]).unwrap();
    let text = metrics.text;
    assert!(text.contains("healthledger_consortium_peers 2"), "{text}");
    assert!(
        text.contains("healthledger_consortium_split_views 0"),
        "{text}"
    );
}
