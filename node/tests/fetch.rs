//! Record fetch between in-process members on loopback, with the chain in memory: consent per
//! category, expiry and revocation, break-glass, the holder's audit record, signed requests.

mod fetch_common;

use alloy::primitives::{Address, B256};
use fetch_common::*;
use hl_node::consortium::fetch::{FetchError, Requester};
use hl_node::net::FetchOutcome;
use serde_json::Value;
use sha2::{Digest, Sha256};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_consent_the_holder_refuses_and_discloses_nothing() {
    let w = World::new(honest).await;
    history(&w.holder.ledger, "m").await;
    anchor(&w.chain, &w.holder);
    let size = w.holder.ledger.head().unwrap().size;
    match w.fetch(&ask(0b10)).await {
        Err(FetchError::Refused(reason)) => assert!(reason.contains("no consent"), "{reason}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert_eq!(
        w.holder.ledger.head().unwrap().size,
        size,
        "nothing read, nothing audited"
    );
    // Consent to another member does not count.
    w.chain
        .grant(
            RESIDENT,
            Address::repeat_byte(7),
            0b10,
            "TREAT",
            now() + HOUR,
        )
        .unwrap();
    // Nor consent for another purpose.
    w.chain
        .grant(
            RESIDENT,
            w.asker.info.address,
            0b10,
            "RESEARCH",
            now() + HOUR,
        )
        .unwrap();
    assert!(matches!(
        w.fetch(&ask(0b10)).await,
        Err(FetchError::Refused(_))
    ));
    assert!(w.requester.reported().is_empty());
    w.shut().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_for_one_category_serves_only_that_category_all_verified_and_audited() {
    let w = World::new(honest).await;
    history(&w.holder.ledger, "m").await;
    anchor(&w.chain, &w.holder);
    w.grant(0b10, now() + HOUR);
    // Asked for observations, conditions and immunizations; only observations are consented.
    let f = w.fetch(&ask(0b10110)).await.unwrap();
    assert_eq!(
        ids(&f),
        ["Observation/o1/v2", "Observation/o2/v1"],
        "latest versions of the resident's observations only"
    );
    assert!(f.dropped.is_empty(), "{:?}", f.dropped);
    assert_eq!(f.served, 0b10);
    let mut refused: Vec<u8> = f.refused.iter().map(|r| r.category).collect();
    refused.sort();
    assert_eq!(refused, [2, 4]);
    assert!(f.records.iter().all(|r| r.category == 1));
    for r in &f.records {
        let content: Value = serde_json::from_str(&r.content).unwrap();
        assert_eq!(content["id"], r.envelope.id.as_str());
        assert_eq!(r.envelope.origin, w.holder.info.origin);
    }
    // Provenance: the holder's log and its checkpoint, which is past the anchored head (the
    // audit record came after it) and includes the audit record.
    assert_eq!(f.holder_origin, w.holder.info.origin);
    let head = w.holder.ledger.head().unwrap();
    assert_eq!(
        (f.checkpoint_size, f.checkpoint_root),
        (head.size, head.root)
    );
    let audits = audits(&w.holder);
    assert_eq!(audits.len(), 1, "one audit record per read");
    let (index, audit) = &audits[0];
    assert!(
        *index < f.checkpoint_size,
        "audited before the answer was cut"
    );
    let who = audit["agent"][0]["who"].to_string();
    assert!(
        who.contains(&w.asker.info.origin) && who.contains(&w.asker.info.address.to_string()),
        "{who}"
    );
    assert_eq!(audit["purposeOfEvent"][0]["coding"][0]["code"], "TREAT");
    let mut leaves: Vec<u64> = f.records.iter().map(|r| r.index).collect();
    leaves.sort();
    let listed = leaves
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(
        audit["entity"][1]["detail"][0]["valueString"],
        listed.as_str()
    );
    assert_eq!(
        audit["entity"][1]["detail"].as_array().unwrap().len(),
        1,
        "no break-glass detail"
    );
    assert!(w.chain.emergencies().is_empty());
    assert!(w.requester.reported().is_empty());
    w.shut().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_and_revoked_consents_are_refused() {
    let w = World::new(honest).await;
    history(&w.holder.ledger, "m").await;
    anchor(&w.chain, &w.holder);
    w.grant(0b1, now() + HOUR);
    let f = w.fetch(&ask(0b1)).await.unwrap();
    assert_eq!(ids(&f), ["Encounter/e1/v1", "Patient/p1/v1"]);

    w.chain.revoke(RESIDENT, w.asker.info.address, "TREAT");
    assert!(
        matches!(w.fetch(&ask(0b1)).await, Err(FetchError::Refused(r)) if r.contains("no consent"))
    );

    w.grant(0b1, now() - 1);
    assert!(
        matches!(w.fetch(&ask(0b1)).await, Err(FetchError::Refused(r)) if r.contains("no consent"))
    );

    // A suspended grantee's consent is void.
    w.grant(0b1, now() + HOUR);
    assert!(w.fetch(&ask(0b1)).await.is_ok());
    w.chain.set_active(w.asker.info.address, false);
    assert!(matches!(
        w.fetch(&ask(0b1)).await,
        Err(FetchError::Refused(_))
    ));
    assert_eq!(
        audits(&w.holder).len(),
        2,
        "only the two served reads were audited"
    );
    w.shut().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn break_glass_is_served_recorded_on_chain_and_audited_or_refused_if_the_chain_fails() {
    let w = World::new(honest).await;
    history(&w.holder.ledger, "m").await;
    anchor(&w.chain, &w.holder);
    let reason = "unconscious patient in the emergency department";
    let mut a = ask(0b100);
    a.break_glass_reason = Some(reason.into());

    w.chain.fail_emergency_access(true);
    match w.fetch(&a).await {
        Err(FetchError::Refused(r)) => assert!(r.contains("could not be recorded on chain"), "{r}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(
        audits(&w.holder).is_empty(),
        "nothing disclosed, nothing audited"
    );

    w.chain.fail_emergency_access(false);
    let f = w.fetch(&a).await.unwrap();
    assert!(f.break_glass);
    assert_eq!(
        ids(&f),
        ["Condition/c1/v1"],
        "no consent at all, yet served"
    );
    let hash: [u8; 32] = Sha256::digest(reason.as_bytes()).into();
    assert_eq!(w.chain.emergencies(), vec![(RESIDENT, B256::from(hash))]);
    let audits = audits(&w.holder);
    assert_eq!(audits.len(), 1);
    let detail = &audits[0].1["entity"][1]["detail"];
    assert_eq!(detail[1]["type"], "break-glass-reason");
    assert_eq!(detail[1]["valueString"], reason);
    // An empty reason is no reason.
    let mut blank = ask(0b100);
    blank.break_glass_reason = Some("  ".into());
    assert!(matches!(w.fetch(&blank).await, Err(FetchError::Refused(_))));
    w.shut().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_not_signed_by_its_sender_or_replayed_is_refused() {
    let w = World::new(honest).await;
    history(&w.holder.ledger, "m").await;
    anchor(&w.chain, &w.holder);
    w.grant(0b10, now() + HOUR);
    // Signed by a key other than the sending peer's (a member's request relayed by another).
    let forger = Requester::new(&w.holder.signer, w.chain.clone()).unwrap();
    let mut forged = forger.request(&ask(0b10)).unwrap();
    forged.requester = w.asker.info.origin.clone();
    match w.send(forged).await.outcome {
        FetchOutcome::Refused(r) => assert!(r.contains("signature"), "{r}"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    // Altered after signing.
    let mut altered = w.requester.request(&ask(0b10)).unwrap();
    altered.categories = 0b11;
    assert!(
        matches!(w.send(altered).await.outcome, FetchOutcome::Refused(r) if r.contains("signature"))
    );
    // Replayed.
    let req = w.requester.request(&ask(0b10)).unwrap();
    assert!(matches!(
        w.send(req.clone()).await.outcome,
        FetchOutcome::Records(_)
    ));
    assert!(
        matches!(w.send(req).await.outcome, FetchOutcome::Refused(r) if r.contains("replayed"))
    );
    w.shut().await;
}
