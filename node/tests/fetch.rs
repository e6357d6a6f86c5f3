//! Record fetch between in-process members on loopback, with the chain in memory: consent per
//! category, expiry and revocation, break-glass, the holder's audit record, and a requester
//! that rejects and reports every way a holder can lie.

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256};
use hl_ledger::canonical::{canonical_sha256, to_canonical};
use hl_ledger::input::{Prepared, PreparedRecord, ResidentRef};
use hl_ledger::note::NoteSigner;
use hl_ledger::pseudonym::ResidentScope;
use hl_ledger::{Ledger, StoreOptions};
use hl_node::consortium::fetch::{
    Ask, FetchError, Fetched, Holder, MemberInfo, MemoryChain, Requester,
};
use hl_node::net::identity::{keypair, pre_shared_key};
use hl_node::net::{
    FetchHandler, FetchOutcome, FetchRequest, FetchResponse, FixedMembership, Network,
    NetworkParams, NotServed, Peer,
};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio::time::timeout;

const CONSORTIUM: [u8; 32] = [9; 32];
const RESIDENT: [u8; 32] = [0xab; 32];
const OTHER_RESIDENT: [u8; 32] = [0xcd; 32];
const HOUR: u64 = 3600;

struct Inst {
    signer: NoteSigner,
    ledger: Arc<Ledger>,
    info: MemberInfo,
    _dir: tempfile::TempDir,
}

impl Inst {
    fn new(n: u8, name: &str) -> Self {
        Self::with_signer(
            n,
            name,
            NoteSigner::generate(&format!("{name}.example/log")).unwrap(),
        )
    }

    fn with_signer(n: u8, name: &str, signer: NoteSigner) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let opts = StoreOptions {
            cache_bytes: 4 << 20,
            ..StoreOptions::default()
        };
        let ledger =
            Arc::new(Ledger::open(&dir.path().join("ledger.redb"), signer.clone(), opts).unwrap());
        let info = MemberInfo {
            address: Address::repeat_byte(n),
            key: signer.verifier().key.to_bytes(),
            origin: signer.verifier().name.clone(),
            name: name.into(),
            active: true,
        };
        Self {
            signer,
            ledger,
            info,
            _dir: dir,
        }
    }
}

fn record(kind: &str, id: &str, resident: [u8; 32], extra: Value) -> PreparedRecord {
    let mut v = json!({ "resourceType": kind, "id": id });
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    PreparedRecord {
        kind: kind.into(),
        id: id.into(),
        content: to_canonical(&v).unwrap(),
        content_sha256: canonical_sha256(&v).unwrap(),
        effective: Some("2025-01-02T03:04:05Z".into()),
        resident: ResidentRef::Known(resident, ResidentScope::Consortium),
        position: None,
    }
}

async fn submit(ledger: &Ledger, records: Vec<PreparedRecord>) {
    let p = Prepared {
        source_name: "test".into(),
        records,
    };
    ledger.submit_async(p).await.unwrap().unwrap();
}

/// The resident's history at a holder: two demographics/encounter records, two observations
/// (one updated), a condition, an immunization, an earlier access audit, and another
/// resident's observation.
async fn history(ledger: &Ledger, marker: &str) {
    submit(
        ledger,
        vec![
            record("Patient", "p1", RESIDENT, json!({ "gender": "female" })),
            record("Encounter", "e1", RESIDENT, json!({ "status": "finished" })),
            record(
                "Observation",
                "o1",
                RESIDENT,
                json!({ "status": "preliminary", "m": marker }),
            ),
            record("Observation", "o2", RESIDENT, json!({ "status": "final" })),
            record("Condition", "c1", RESIDENT, json!({ "code": "I10" })),
            record(
                "Immunization",
                "i1",
                RESIDENT,
                json!({ "status": "completed" }),
            ),
            record("AuditEvent", "a1", RESIDENT, json!({ "action": "R" })),
            record(
                "Observation",
                "x1",
                OTHER_RESIDENT,
                json!({ "status": "final" }),
            ),
        ],
    )
    .await;
    submit(
        ledger,
        vec![record(
            "Observation",
            "o1",
            RESIDENT,
            json!({ "status": "final" }),
        )],
    )
    .await;
}

/// Sets the holder's anchored head on the chain to its log's head now.
fn anchor(chain: &MemoryChain, inst: &Inst) {
    let head = inst.ledger.head().unwrap();
    chain.set_anchored(inst.info.address, head.size, head.root);
}

struct Node {
    net: Network,
    stop: watch::Sender<bool>,
}

impl Node {
    async fn start(
        inst: &Inst,
        members: Arc<FixedMembership>,
        handler: Arc<dyn FetchHandler>,
        bootstrap: Option<&Node>,
    ) -> Node {
        let params = NetworkParams {
            keypair: keypair(&inst.signer).unwrap(),
            psk: pre_shared_key(&CONSORTIUM),
            listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            bootstrap: bootstrap
                .map(|n| vec![(n.net.peer_id(), n.net.listen_addrs()[0].clone())])
                .unwrap_or_default(),
            refresh_every: Duration::from_secs(60),
        };
        let (stop, stop_rx) = watch::channel(false);
        let net = Network::start(params, members, handler, stop_rx)
            .await
            .unwrap();
        Node { net, stop }
    }

    async fn shut(self) {
        let _ = self.stop.send(true);
        timeout(Duration::from_secs(10), self.net.join())
            .await
            .expect("network stops in time")
            .unwrap();
    }
}

/// A holder node serving with `handler` and a requester node connected to it.
struct World {
    chain: Arc<MemoryChain>,
    holder: Inst,
    asker: Inst,
    requester: Requester,
    nodes: Vec<Node>,
}

impl World {
    async fn new(handler: impl FnOnce(&Inst, Arc<MemoryChain>) -> Arc<dyn FetchHandler>) -> World {
        let (holder, asker) = (Inst::new(1, "county"), Inst::new(2, "city"));
        Self::with(holder, asker, handler).await
    }

    async fn with(
        holder: Inst,
        asker: Inst,
        handler: impl FnOnce(&Inst, Arc<MemoryChain>) -> Arc<dyn FetchHandler>,
    ) -> World {
        let chain = Arc::new(MemoryChain::default());
        chain.add_member(holder.info.clone());
        chain.add_member(asker.info.clone());
        let members = Arc::new(FixedMembership::new([holder.info.key, asker.info.key]));
        let h = Node::start(
            &holder,
            members.clone(),
            handler(&holder, chain.clone()),
            None,
        )
        .await;
        let a = Node::start(&asker, members, Arc::new(NotServed), Some(&h)).await;
        let hp = h.net.peer_id();
        let mut peers = a.net.peers();
        timeout(Duration::from_secs(30), peers.wait_for(|p| p.contains(&hp)))
            .await
            .expect("the nodes connect")
            .unwrap();
        let requester = Requester::new(&asker.signer, chain.clone()).unwrap();
        World {
            chain,
            holder,
            asker,
            requester,
            nodes: vec![h, a],
        }
    }

    fn holder_peer(&self) -> Peer {
        self.nodes[0].net.peer_id()
    }

    async fn fetch(&self, ask: &Ask) -> Result<Fetched, FetchError> {
        timeout(
            Duration::from_secs(30),
            self.requester
                .fetch(&self.nodes[1].net, self.holder_peer(), ask),
        )
        .await
        .expect("the fetch ends in time")
    }

    async fn send(&self, req: FetchRequest) -> FetchResponse {
        timeout(
            Duration::from_secs(30),
            self.nodes[1].net.fetch(self.holder_peer(), req),
        )
        .await
        .expect("the fetch ends in time")
        .unwrap()
    }

    fn grant(&self, mask: u32, expiry: u64) {
        self.chain
            .grant(RESIDENT, self.asker.info.address, mask, "TREAT", expiry)
            .unwrap();
    }

    async fn shut(self) {
        for n in self.nodes {
            n.shut().await;
        }
    }
}

fn honest(inst: &Inst, chain: Arc<MemoryChain>) -> Arc<dyn FetchHandler> {
    Arc::new(Holder::new(inst.ledger.clone(), chain, "County Hospital"))
}

fn ask(categories: u32) -> Ask {
    Ask {
        resident: RESIDENT,
        categories,
        purpose: "TREAT".into(),
        break_glass_reason: None,
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The holder's access audits of the resident, as JSON, in log order (the one in the seeded
/// history excluded).
fn audits(inst: &Inst) -> Vec<(u64, Value)> {
    let size = inst.ledger.head().unwrap().size;
    inst.ledger
        .resident_snapshot(&RESIDENT, size)
        .unwrap()
        .into_iter()
        .filter(|r| r.envelope.kind == "AuditEvent" && r.envelope.id != "a1")
        .map(|r| {
            (
                r.record.index,
                serde_json::from_slice(&r.record.content.unwrap()).unwrap(),
            )
        })
        .collect()
}

fn ids(f: &Fetched) -> Vec<String> {
    let mut v: Vec<String> = f
        .records
        .iter()
        .map(|r| {
            format!(
                "{}/{}/v{}",
                r.envelope.kind, r.envelope.id, r.envelope.version
            )
        })
        .collect();
    v.sort();
    v
}

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

/// How a malicious holder lies.
enum Lie {
    AlteredContent,
    WrongProof,
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
            match &self.lie {
                Lie::AlteredContent => {
                    b["records"][0]["content"]["status"] = json!("entered-in-error")
                }
                Lie::WrongProof => b["records"][0]["proof"][0] = json!("00".repeat(32)),
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
