//! The consortium view as the API gathers it (in-process members on loopback, chain in memory):
//! verified answers kept only while the consent holds, refusals and break-glass told per holder.

mod fetch_common;

use std::sync::Arc;
use std::time::Duration;

use fetch_common::*;
use hl_api::ports::{Consortium, ConsortiumAsk, ConsortiumRecords, HolderOutcome};
use hl_node::consortium::fetch::Requester;
use hl_node::consortium::view::{ConsortiumService, FixedHolders, Grantee};

fn service(w: &World, ttl: Duration) -> ConsortiumService {
    ConsortiumService::new(
        w.nodes[1].net.clone(),
        Arc::new(FixedHolders(vec![(
            w.holder.info.origin.clone(),
            w.holder_peer(),
        )])),
        Requester::new(&w.asker.signer, w.chain.clone()).unwrap(),
        w.chain.clone(),
        Grantee::Fixed(w.asker.info.address),
    )
    .with_cache_ttl(ttl)
}

fn asking(break_glass: Option<&str>) -> ConsortiumAsk {
    ConsortiumAsk {
        pseudonym: RESIDENT,
        purpose: if break_glass.is_some() {
            "ETREAT".into()
        } else {
            "TREAT".into()
        },
        break_glass_reason: break_glass.map(str::to_owned),
    }
}

async fn gather(s: &ConsortiumService, bg: Option<&str>) -> ConsortiumRecords {
    tokio::time::timeout(Duration::from_secs(60), s.gather(&asking(bg)))
        .await
        .expect("gathered in time")
        .expect("gathered")
}

fn only(c: &ConsortiumRecords) -> &HolderOutcome {
    assert_eq!(c.holders.len(), 1, "{:?}", c.holders);
    &c.holders[0]
}

fn kinds(c: &ConsortiumRecords) -> Vec<String> {
    let mut k: Vec<String> = c
        .records
        .iter()
        .map(|r| format!("{}/{}", r.envelope.kind, r.envelope.id))
        .collect();
    k.sort();
    k
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kept_answer_is_served_only_while_the_consent_holds() {
    let w = World::new(honest).await;
    history(&w.holder.ledger, "m").await;
    anchor(&w.chain, &w.holder);
    let anchored = w.holder.ledger.head().unwrap().size;
    let s = service(&w, Duration::from_secs(600));

    // No consent: refused, nothing kept, nothing read at the holder.
    let c = gather(&s, None).await;
    assert_eq!(only(&c).status, "refused", "{:?}", c.holders);
    assert_eq!(
        only(&c).institution.as_deref(),
        Some("county"),
        "named from the registry"
    );
    assert!(c.records.is_empty());
    assert!(audits(&w.holder).is_empty());

    // Observations only: exactly those, verified, with their provenance.
    w.grant(0b10, now() + HOUR);
    let c = gather(&s, None).await;
    let h = only(&c);
    assert_eq!(
        (h.status.as_str(), h.served, h.cached),
        ("served", 0b10, false)
    );
    assert_eq!(
        h.refused.len(),
        6,
        "the other six categories: {:?}",
        h.refused
    );
    assert_eq!(kinds(&c), ["Observation/o1", "Observation/o2"]);
    assert!(c.records.iter().all(|r| r.institution == "county"
        && r.envelope.origin == w.holder.info.origin
        && (anchored..=w.holder.ledger.head().unwrap().size).contains(&r.checkpoint_size)));
    assert_eq!(audits(&w.holder).len(), 1);

    // Asked again: the kept answer, the holder not asked (no new audit at the holder).
    let again = gather(&s, None).await;
    assert!(only(&again).cached);
    assert_eq!(kinds(&again), kinds(&c));
    assert_eq!(audits(&w.holder).len(), 1);

    // Revoked: the kept answer is forgotten and the holder refuses.
    w.chain.revoke(RESIDENT, w.asker.info.address, "TREAT");
    let after = gather(&s, None).await;
    assert_eq!(only(&after).status, "refused");
    assert!(
        after.records.is_empty(),
        "nothing kept outlives the consent"
    );
    assert_eq!(audits(&w.holder).len(), 1);
    w.shut().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_consent_ends_the_kept_answer_and_break_glass_is_never_kept() {
    let w = World::new(honest).await;
    history(&w.holder.ledger, "m").await;
    anchor(&w.chain, &w.holder);
    let s = service(&w, Duration::from_secs(600));
    w.grant(0b1, now() + 2);
    let c = gather(&s, None).await;
    assert_eq!(kinds(&c), ["Encounter/e1", "Patient/p1"]);
    tokio::time::sleep(Duration::from_millis(3100)).await;
    let expired = gather(&s, None).await;
    assert_eq!(only(&expired).status, "refused", "{:?}", expired.holders);
    assert!(expired.records.is_empty());

    // Break-glass: everything, recorded on chain by the holder, asked afresh every time.
    let before = audits(&w.holder).len();
    let bg = gather(&s, Some("unconscious on arrival")).await;
    let h = only(&bg);
    assert!(h.break_glass && !h.cached && h.status == "served");
    assert_eq!(bg.records.len(), 6, "{:?}", kinds(&bg));
    let bg2 = gather(&s, Some("unconscious on arrival")).await;
    assert!(!only(&bg2).cached);
    assert_eq!(audits(&w.holder).len(), before + 2);
    assert_eq!(w.chain.emergencies().len(), 2);
    // And it opened nothing for ordinary reads.
    assert_eq!(only(&gather(&s, None).await).status, "refused");
    w.shut().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_cache_every_request_asks_the_holder() {
    let w = World::new(honest).await;
    history(&w.holder.ledger, "m").await;
    anchor(&w.chain, &w.holder);
    let s = service(&w, Duration::ZERO);
    w.grant(0b100, now() + HOUR);
    for n in 1..=2 {
        let c = gather(&s, None).await;
        assert_eq!(kinds(&c), ["Condition/c1"]);
        assert!(!only(&c).cached);
        assert_eq!(audits(&w.holder).len(), n);
    }
    w.shut().await;
}
