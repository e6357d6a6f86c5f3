//! A malicious holder (a handler that tampers with the honest answer) is caught: altered
//! content, a wrong inclusion proof, a checkpoint signed by another key, a checkpoint
//! inconsistent with the head anchored on chain. Each is rejected and the holder reported.
//! An honest holder whose next anchor lands while its answer is on its way is asked again,
//! not reported.

mod fetch_common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use fetch_common::*;
use hl_ledger::note::NoteSigner;
use hl_node::consortium::fetch::{FetchError, Holder};
use hl_node::net::{FetchHandler, FetchOutcome, FetchRequest, FetchResponse, Peer};
use serde_json::{Value, json};

/// How a malicious holder lies.
enum Lie {
    AlteredContent,
    /// A member name given twice: the last copy is the honest value, so the hash over the
    /// parsed content still matches, while a reader that keeps the first copy sees another.
    DuplicateName,
    WrongProof,
    /// Content left out (as after a legal erasure): the envelope and proof still hold.
    Withheld,
    /// The checkpoint re-signed by another key; `claim` also swaps the bundle's key for it.
    OtherKey {
        signer: Box<NoteSigner>,
        claim: bool,
    },
    /// Answers from a forked log (same key, another history than the one anchored).
    Fork(Holder),
}

struct Liar {
    honest: Holder,
    lie: Lie,
}

#[async_trait::async_trait]
impl FetchHandler for Liar {
    async fn handle(&self, peer: Peer, request: FetchRequest) -> FetchResponse {
        let mut resp = match &self.lie {
            Lie::Fork(h) => h.handle(peer, request).await,
            _ => self.honest.handle(peer, request).await,
        };
        if let FetchOutcome::Records(a) = &mut resp.outcome {
            let mut b: Value = serde_json::from_str(&a.bundle).unwrap();
            let mut forged = None;
            match &self.lie {
                Lie::DuplicateName => {
                    let honest = b["records"][0]["content"].to_string();
                    forged = Some(format!(
                        r#"{{"resourceType":"Organization",{}"#,
                        &honest[1..]
                    ));
                    b["records"][0]["content"] = json!("FORGED");
                }
                Lie::AlteredContent => {
                    b["records"][0]["content"]["status"] = json!("entered-in-error")
                }
                Lie::WrongProof => b["records"][0]["proof"][0] = json!("00".repeat(32)),
                Lie::Withheld => b["records"][0]["content"] = Value::Null,
                Lie::OtherKey { signer, claim } => {
                    let cp = b["checkpoint"].as_str().unwrap();
                    let body = format!("{}\n", cp.split("\n\n").next().unwrap());
                    b["checkpoint"] = json!(signer.sign(&body));
                    if *claim {
                        b["verifier_key"] = json!(signer.verifier().to_string());
                    }
                }
                Lie::Fork(_) => {}
            }
            a.bundle = b.to_string();
            if let Some(f) = forged {
                a.bundle = a.bundle.replacen(r#""FORGED""#, &f, 1);
            }
        }
        resp
    }
}

async fn lying_world(lie: impl FnOnce(&Inst) -> Lie) -> World {
    World::new(|h, chain| {
        Arc::new(Liar {
            honest: Holder::new(h.ledger.clone(), chain, "County Hospital"),
            lie: lie(h),
        })
    })
    .await
}

async fn expect_caught_record(w: &World) {
    history(&w.holder.ledger, "m").await;
    anchor(&w.chain, &w.holder);
    w.grant(0b11, now() + HOUR);
    let f = w.fetch(&ask(0b11)).await.unwrap();
    assert_eq!(f.dropped.len(), 1, "{:?}", f.dropped);
    assert_eq!(f.records.len(), 3, "the other records still verify");
    assert!(f.records.iter().all(|r| r.index != f.dropped[0].0));
    let reported = w.requester.reported();
    assert_eq!(reported.len(), 1, "{reported:?}");
    assert_eq!(reported[0].peer, w.holder_peer());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn altered_content_is_dropped_and_the_holder_reported() {
    let w = lying_world(|_| Lie::AlteredContent).await;
    expect_caught_record(&w).await;
    let f = w.requester.reported();
    assert!(f[0].reason.contains("content"), "{}", f[0].reason);
    w.shut().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn content_naming_a_member_twice_is_dropped_and_the_holder_reported() {
    let w = lying_world(|_| Lie::DuplicateName).await;
    expect_caught_record(&w).await;
    let f = w.requester.reported();
    assert!(f[0].reason.contains("appears twice"), "{}", f[0].reason);
    w.shut().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_inclusion_proof_is_dropped_and_the_holder_reported() {
    let w = lying_world(|_| Lie::WrongProof).await;
    expect_caught_record(&w).await;
    let f = w.requester.reported();
    assert!(f[0].reason.contains("not included"), "{}", f[0].reason);
    w.shut().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_signed_by_another_key_rejects_everything() {
    for claim in [true, false] {
        let w = lying_world(|h| Lie::OtherKey {
            signer: Box::new(NoteSigner::generate(&h.info.origin).unwrap()),
            claim,
        })
        .await;
        history(&w.holder.ledger, "m").await;
        anchor(&w.chain, &w.holder);
        w.grant(0b11, now() + HOUR);
        match w.fetch(&ask(0b11)).await {
            Err(FetchError::Rejected(r)) => assert!(
                r.contains("registered key") || r.contains("signature"),
                "{r}"
            ),
            other => panic!("expected a rejection, got {other:?}"),
        }
        assert_eq!(w.requester.reported().len(), 1);
        w.shut().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_inconsistent_with_the_anchored_head_rejects_everything() {
    let holder = Inst::new(1, "county");
    let fork = Inst::with_signer(1, "county", holder.signer.clone());
    // Both logs hold the same kinds of records, but o1 differs: another history, same key.
    history(&holder.ledger, "anchored").await;
    history(&fork.ledger, "forked").await;
    submit(
        &fork.ledger,
        vec![record("Condition", "c2", RESIDENT, json!({}))],
    )
    .await;
    let fork_ledger = fork.ledger.clone();
    let w = World::with(holder, Inst::new(2, "city"), move |h, chain| {
        Arc::new(Liar {
            honest: Holder::new(h.ledger.clone(), chain.clone(), "County Hospital"),
            lie: Lie::Fork(Holder::new(fork_ledger, chain, "County Hospital")),
        })
    })
    .await;
    anchor(&w.chain, &w.holder);
    w.grant(0b11, now() + HOUR);
    match w.fetch(&ask(0b11)).await {
        Err(FetchError::Rejected(r)) => assert!(r.contains("not consistent"), "{r}"),
        other => panic!("expected a rejection, got {other:?}"),
    }
    let reported = w.requester.reported();
    assert_eq!(reported.len(), 1);
    assert_eq!(
        reported[0].origin.as_deref(),
        Some(w.holder.info.origin.as_str())
    );
    // A checkpoint older than the anchored head (a rolled-back log) is rejected too.
    let fork_head = fork.ledger.head().unwrap();
    w.chain
        .set_anchored(w.holder.info.address, fork_head.size + 1, [7; 32]);
    assert!(matches!(
        w.fetch(&ask(0b11)).await,
        Err(FetchError::Rejected(_))
    ));
    w.shut().await;
    drop(fork);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn withheld_content_is_not_shown_and_not_held_against_the_holder() {
    let w = lying_world(|_| Lie::Withheld).await;
    history(&w.holder.ledger, "m").await;
    anchor(&w.chain, &w.holder);
    w.grant(0b11, now() + HOUR);
    let f = w.fetch(&ask(0b11)).await.unwrap();
    assert_eq!(f.erased.len(), 1);
    assert_eq!(f.records.len(), 3);
    assert!(f.records.iter().all(|r| r.index != f.erased[0]));
    assert!(f.dropped.is_empty() && w.requester.reported().is_empty());
    w.shut().await;
}

/// An honest holder whose anchoring task anchors a new head right after each of its first
/// `times` answers is made, before the answer reaches the requester.
struct AnchorsMeanwhile {
    honest: Holder,
    inst_ledger: Arc<hl_ledger::Ledger>,
    address: alloy::primitives::Address,
    chain: Arc<hl_node::consortium::fetch::MemoryChain>,
    times: usize,
    done: AtomicUsize,
}

#[async_trait::async_trait]
impl FetchHandler for AnchorsMeanwhile {
    async fn handle(&self, peer: Peer, request: FetchRequest) -> FetchResponse {
        let resp = self.honest.handle(peer, request).await;
        let n = self.done.fetch_add(1, Ordering::SeqCst);
        if n < self.times {
            // Another resident's record, then the anchor of the head that includes it.
            let id = format!("meanwhile-{n}");
            submit(
                &self.inst_ledger,
                vec![record("Observation", &id, OTHER_RESIDENT, json!({}))],
            )
            .await;
            let head = self.inst_ledger.head().unwrap();
            self.chain.set_anchored(self.address, head.size, head.root);
        }
        resp
    }
}

async fn anchoring_world(times: usize) -> World {
    World::new(|h, chain| {
        Arc::new(AnchorsMeanwhile {
            honest: Holder::new(h.ledger.clone(), chain.clone(), "County Hospital"),
            inst_ledger: h.ledger.clone(),
            address: h.info.address,
            chain,
            times,
            done: AtomicUsize::new(0),
        })
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anchor_landing_while_the_answer_travels_is_asked_again_not_reported() {
    let w = anchoring_world(1).await;
    history(&w.holder.ledger, "m").await;
    anchor(&w.chain, &w.holder);
    w.grant(0b11, now() + HOUR);
    let f = w.fetch(&ask(0b11)).await.unwrap();
    assert_eq!(f.records.len(), 4, "{:?}", f.dropped);
    assert!(f.dropped.is_empty() && w.requester.reported().is_empty());
    // Both answers were served, so both reads are in the holder's access log.
    assert_eq!(audits(&w.holder).len(), 2);
    w.shut().await;

    // A holder whose every answer is behind the chain is rejected after the second one.
    let w = anchoring_world(usize::MAX).await;
    history(&w.holder.ledger, "m").await;
    anchor(&w.chain, &w.holder);
    w.grant(0b11, now() + HOUR);
    match w.fetch(&ask(0b11)).await {
        Err(FetchError::Rejected(r)) => assert!(r.contains("anchored head"), "{r}"),
        other => panic!("expected a rejection, got {other:?}"),
    }
    assert_eq!(w.requester.reported().len(), 1);
    assert_eq!(audits(&w.holder).len(), 2);
    w.shut().await;
}
