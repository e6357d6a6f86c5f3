//! Checkpoint and locator gossip between in-process members on loopback. The chain is stood in
//! for by a MemoryRegistry (registered origins and anchored heads) and FixedMembership.

mod common;

use std::sync::Arc;
use std::time::Duration;

use hl_ledger::input::InputOptions;
use hl_ledger::note::{Checkpoint, NoteSigner};
use hl_ledger::pseudonym::{Pseudonymizer, default_resident_systems};
use hl_ledger::record::Envelope;
use hl_ledger::{Ledger, StoreOptions};
use hl_node::chain::state::{AnchorRecord, AnchorState};
use hl_node::consortium::checkpoints::{CheckpointAnnouncement, ReportKind};
use hl_node::consortium::gossip::{Gossip, GossipParams, MemoryRegistry};
use hl_node::net::identity::{keypair, pre_shared_key};
use hl_node::net::{FixedMembership, Network, NetworkParams, NotServed, Topic};
use serde_json::json;
use tokio::sync::watch;
use tokio::time::timeout;

const CONSORTIUM: [u8; 32] = [7; 32];
const CATCH_UP: Duration = Duration::from_secs(1);
const WAIT: Duration = Duration::from_secs(30);

struct Member {
    signer: NoteSigner,
    dir: tempfile::TempDir,
}

impl Member {
    fn new(origin: &str) -> Self {
        Self {
            signer: NoteSigner::generate(origin).unwrap(),
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn key(&self) -> [u8; 32] {
        self.signer.verifier().key.to_bytes()
    }

    fn origin(&self) -> String {
        self.signer.verifier().name.clone()
    }
}

struct Consortium {
    members: Arc<FixedMembership>,
    registry: Arc<MemoryRegistry>,
}

impl Consortium {
    fn of(ms: &[&Member]) -> Self {
        let registry = Arc::new(MemoryRegistry::default());
        for m in ms {
            registry.register(m.key(), &m.origin());
        }
        Self {
            members: Arc::new(FixedMembership::new(ms.iter().map(|m| m.key()))),
            registry,
        }
    }
}

struct Node {
    net: Arc<Network>,
    gossip: Gossip,
    anchors: Arc<AnchorState>,
    stop: watch::Sender<bool>,
}

impl Node {
    async fn start(
        m: &Member,
        c: &Consortium,
        bootstrap: &[&Node],
        ledger: Option<Arc<Ledger>>,
    ) -> Node {
        let params = NetworkParams {
            keypair: keypair(&m.signer).unwrap(),
            psk: pre_shared_key(&CONSORTIUM),
            listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            bootstrap: bootstrap
                .iter()
                .map(|n| (n.net.peer_id(), n.net.listen_addrs()[0].clone()))
                .collect(),
            refresh_every: Duration::from_secs(1),
        };
        let (stop, stop_rx) = watch::channel(false);
        let net = Arc::new(
            Network::start(
                params,
                c.members.clone(),
                Arc::new(NotServed),
                stop_rx.clone(),
            )
            .await
            .unwrap(),
        );
        let anchors = Arc::new(AnchorState::open(m.dir.path()).unwrap());
        let gossip = Gossip::start(
            GossipParams {
                data_dir: m.dir.path().to_owned(),
                signer: m.signer.clone(),
                anchors: anchors.clone(),
                ledger,
                catch_up_every: CATCH_UP,
            },
            net.clone(),
            c.registry.clone(),
            stop_rx,
        )
        .unwrap();
        Node {
            net,
            gossip,
            anchors,
            stop,
        }
    }

    /// Records an anchored head as the anchoring task does once it is confirmed.
    fn anchored(&self, size: u64, root: [u8; 32]) {
        self.anchors
            .record(&AnchorRecord {
                size,
                root: hex::encode(root),
                tx_hash: format!("0x{}", hex::encode([size as u8; 32])),
                block_number: size + 100,
                block_hash: format!("0x{}", hex::encode([1; 32])),
                gas_used: 1,
                confirmed_at: "2025-01-01T00:00:00Z".into(),
            })
            .unwrap();
    }

    async fn shut(self) {
        let _ = self.stop.send(true);
        timeout(Duration::from_secs(10), self.gossip.join())
            .await
            .expect("gossip stops in time");
        let net = Arc::into_inner(self.net).expect("only the test holds the network now");
        timeout(Duration::from_secs(10), net.join())
            .await
            .expect("network stops in time")
            .unwrap();
    }
}

/// Publishes until the network has a peer to publish to (the mesh forms after connecting).
async fn publish(n: &Node, topic: Topic, data: Vec<u8>) {
    timeout(WAIT, async {
        while n.net.publish(topic, data.clone()).await.is_err() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("published");
}

fn signed(signer: &NoteSigner, size: u64, root: [u8; 32]) -> Vec<u8> {
    serde_json::to_vec(&CheckpointAnnouncement::sign(
        signer, size, root, "0xfeed", 1,
    ))
    .unwrap()
}

async fn three(a: &Member, b: &Member, c: &Member, cons: &Consortium) -> (Node, Node, Node) {
    let na = Node::start(a, cons, &[], None).await;
    let nb = Node::start(b, cons, &[&na], None).await;
    let nc = Node::start(c, cons, &[&na], None).await;
    // A message published before a peer is connected never reaches it (only the periodic
    // catch-up would, and forged notes are not re-announced), so the tests start connected.
    let (pb, pc) = (nb.net.peer_id(), nc.net.peer_id());
    common::eventually("b and c connected to a", || {
        let at_a = na.net.connected();
        at_a.contains(&pb) && at_a.contains(&pc)
    })
    .await;
    (na, nb, nc)
}

fn members() -> (Member, Member, Member) {
    (
        Member::new("centre.example/log"),
        Member::new("county.example/log"),
        Member::new("city.example/log"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anchored_checkpoint_reaches_the_others_and_is_accepted() {
    let (a, b, c) = members();
    let cons = Consortium::of(&[&a, &b, &c]);
    let (na, nb, nc) = three(&a, &b, &c, &cons).await;
    for (size, root) in [(3, [3; 32]), (5, [5; 32])] {
        cons.registry.anchor(&b.key(), size, root);
        nb.anchored(size, root);
        for n in [&na, &nc] {
            common::eventually(&format!("b's head {size} accepted"), || {
                n.gossip
                    .latest_checkpoints()
                    .get(&b.origin())
                    .is_some_and(|cp| cp.size == size)
            })
            .await;
        }
    }
    let cp = nc.gossip.latest_checkpoints()[&b.origin()].clone();
    assert_eq!(cp.root, hex::encode([5; 32]));
    assert_eq!(cp.block_number, 105);
    assert_eq!(cp.author, nb.net.peer_id().to_string());
    // The note kept is b's own signature over that head.
    let opened = Checkpoint::open_signed(&cp.note, b.signer.verifier()).unwrap();
    assert_eq!((opened.size, opened.root), (5, [5; 32]));
    assert!(na.gossip.reports().is_empty(), "{:?}", na.gossip.reports());
    assert!(!nb.gossip.latest_checkpoints().contains_key(&b.origin()));
    for n in [na, nb, nc] {
        n.shut().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checkpoints_signed_by_another_key_for_another_origin_or_never_anchored_are_refused() {
    let (a, b, c) = members();
    let cons = Consortium::of(&[&a, &b, &c]);
    let (na, nb, nc) = three(&a, &b, &c, &cons).await;
    cons.registry.anchor(&b.key(), 4, [4; 32]);
    // Same origin name, another key: what a member holding a stolen name could sign.
    let impostor = NoteSigner::generate(&b.origin()).unwrap();
    publish(&nb, Topic::Checkpoints, signed(&impostor, 4, [4; 32])).await;
    let kinds =
        |n: &Node| -> Vec<ReportKind> { n.gossip.reports().iter().map(|r| r.kind).collect() };
    for n in [&na, &nc] {
        common::eventually("the forged note refused", || {
            kinds(n).contains(&ReportKind::BadSignature)
        })
        .await;
    }
    // b's key, but c's origin.
    let as_c = NoteSigner::new(
        &c.origin(),
        ed25519_dalek::SigningKey::from_bytes(&b.signer.secret_seed()),
    )
    .unwrap();
    publish(&nb, Topic::Checkpoints, signed(&as_c, 4, [4; 32])).await;
    common::eventually("another origin refused", || {
        kinds(&na).contains(&ReportKind::WrongOrigin)
    })
    .await;
    // Properly signed, but not a head b anchored.
    publish(&nb, Topic::Checkpoints, signed(&b.signer, 9, [9; 32])).await;
    common::eventually("an unanchored head refused", || {
        kinds(&na).contains(&ReportKind::NotAnchored)
    })
    .await;
    assert!(
        na.gossip.latest_checkpoints().is_empty(),
        "nothing was accepted"
    );
    assert!(na.gossip.split_views().is_empty());
    for n in [na, nb, nc] {
        n.shut().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_roots_for_one_size_is_a_split_view_even_after_a_restart() {
    let (a, b, c) = members();
    let cons = Consortium::of(&[&a, &b, &c]);
    let (na, nb, nc) = three(&a, &b, &c, &cons).await;
    cons.registry.anchor(&b.key(), 3, [3; 32]);
    nb.anchored(3, [3; 32]);
    for n in [&na, &nc] {
        common::eventually("b's head accepted", || {
            n.gossip.latest_checkpoints().contains_key(&b.origin())
        })
        .await;
    }
    // b signs another root for the same size and shows it around.
    publish(&nb, Topic::Checkpoints, signed(&b.signer, 3, [0xee; 32])).await;
    for n in [&na, &nc] {
        common::eventually("the split view reported", || {
            !n.gossip.split_views().is_empty()
        })
        .await;
        let r = &n.gossip.split_views()[0];
        assert_eq!(r.origin.as_deref(), Some(b.origin().as_str()));
        assert_eq!(r.size, Some(3));
        let earlier =
            Checkpoint::open_signed(r.earlier_note.as_ref().unwrap(), b.signer.verifier()).unwrap();
        let now = Checkpoint::open_signed(r.note.as_ref().unwrap(), b.signer.verifier()).unwrap();
        assert_eq!(
            (earlier.root, now.root),
            ([3; 32], [0xee; 32]),
            "both signed notes kept as evidence"
        );
        assert_eq!(
            n.gossip.latest_checkpoints()[&b.origin()].root,
            hex::encode([3; 32])
        );
    }

    // a restarts: what it saw survives, so yet another root for size 3 is caught too.
    na.shut().await;
    let na = Node::start(&a, &cons, &[&nb], None).await;
    assert_eq!(na.gossip.latest_checkpoints()[&b.origin()].size, 3);
    assert_eq!(
        na.gossip.split_views().len(),
        1,
        "reports survive the restart"
    );
    publish(&nb, Topic::Checkpoints, signed(&b.signer, 3, [0xdd; 32])).await;
    common::eventually("the split view caught after the restart", || {
        na.gossip.split_views().len() == 2
    })
    .await;
    for n in [na, nb, nc] {
        n.shut().await;
    }
}

fn ledger_with_a_resident(m: &Member, observations: usize) -> (Arc<Ledger>, String) {
    let ledger = Ledger::open(
        &m.dir.path().join("log.redb"),
        m.signer.clone(),
        StoreOptions::default(),
    )
    .unwrap();
    let input = InputOptions {
        max_bytes: 1 << 20,
        pseudonymizer: Pseudonymizer::new(CONSORTIUM, default_resident_systems(), m.origin()),
    };
    let mut entries = vec![json!({
        "fullUrl": "urn:uuid:p1",
        "resource": {"resourceType": "Patient", "id": "p1",
            "identifier": [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": "999-12-3456"}]},
        "request": {"method": "PUT", "url": "Patient/p1"}
    })];
    for i in 0..observations {
        entries.push(json!({
            "fullUrl": format!("urn:uuid:o{i}"),
            "resource": {"resourceType": "Observation", "id": format!("o{i}"), "status": "final",
                "code": {"text": "bp"}, "subject": {"reference": "urn:uuid:p1"},
                "effectiveDateTime": "2025-01-02T03:04:05+08:00"},
            "request": {"method": "POST", "url": "Observation"}
        }));
    }
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
    let prepared = input
        .prepare("test", bundle.to_string().as_bytes())
        .unwrap();
    ledger.submit(prepared).unwrap();
    let env: Envelope =
        serde_json::from_slice(&ledger.record(0).unwrap().unwrap().envelope).unwrap();
    (Arc::new(ledger), env.resident.unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn locators_of_ingested_records_reach_the_others_without_identifiers() {
    let (a, b, c) = members();
    let cons = Consortium::of(&[&a, &b, &c]);
    let (ledger, resident) = tokio::task::block_in_place(|| ledger_with_a_resident(&b, 2));
    let na = Node::start(&a, &cons, &[], None).await;
    let mut raw = na.net.gossip();
    let nb = Node::start(&b, &cons, &[&na], Some(ledger)).await;
    let nc = Node::start(&c, &cons, &[&na], None).await;
    let mut want = [0u32; 7];
    want[0] = 1; // the Patient
    want[1] = 2; // the Observations
    for n in [&na, &nc] {
        common::eventually("b's locator indexed", || {
            n.gossip.holders(&resident).get(&b.origin()) == Some(&want)
        })
        .await;
    }
    assert_eq!(
        nb.gossip.holders(&resident).get(&b.origin()),
        Some(&want),
        "b counts its own"
    );
    let m = loop {
        let m = timeout(WAIT, raw.recv()).await.unwrap().unwrap();
        if m.topic == Topic::Locators {
            break m;
        }
    };
    let text = String::from_utf8(m.data).unwrap();
    assert!(text.contains(&resident));
    for secret in ["999-12-3456", "p1", "Patient", "bp"] {
        assert!(!text.contains(secret), "{secret} leaked in {text}");
    }
    for n in [na, nb, nc] {
        n.shut().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_started_late_converges_through_the_catch_up() {
    let (a, b, c) = members();
    let cons = Consortium::of(&[&a, &b, &c]);
    let (ledger, resident) = tokio::task::block_in_place(|| ledger_with_a_resident(&b, 1));
    let na = Node::start(&a, &cons, &[], None).await;
    let nb = Node::start(&b, &cons, &[&na], Some(ledger)).await;
    cons.registry.anchor(&b.key(), 2, [2; 32]);
    nb.anchored(2, [2; 32]);
    common::eventually("a has b's head and locator", || {
        na.gossip.latest_checkpoints().contains_key(&b.origin())
            && !na.gossip.holders(&resident).is_empty()
    })
    .await;
    // Everything b had to say was said before c existed.
    let nc = Node::start(&c, &cons, &[&na], None).await;
    common::eventually("c catches up on b's head", || {
        nc.gossip
            .latest_checkpoints()
            .get(&b.origin())
            .is_some_and(|cp| cp.size == 2)
    })
    .await;
    common::eventually("c catches up on b's locators", || {
        nc.gossip.holders(&resident).contains_key(&b.origin())
    })
    .await;
    assert!(nc.gossip.reports().is_empty(), "{:?}", nc.gossip.reports());
    for n in [na, nb, nc] {
        n.shut().await;
    }
}
