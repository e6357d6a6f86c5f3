//! Checkpoint gossip checked against a real chain (anvil) through `ChainRegistry`: a head
//! anchored with `healthledger anchor now` reaches the other members and is accepted with its
//! on-chain anchor; a head never anchored, a note under a member's origin signed by another key,
//! and a note from a key not registered on chain are refused.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::Hl;
use common::chain::{admit, anchored, run_on_chain, setup, use_chain};
use hl_ledger::canonical::{canonical_sha256, to_canonical};
use hl_ledger::input::{Prepared, PreparedRecord, ResidentRef};
use hl_ledger::note::NoteSigner;
use hl_ledger::pseudonym::ResidentScope;
use hl_node::chain::state::{AnchorRecord, AnchorState};
use hl_node::consortium::checkpoints::{CheckpointAnnouncement, ReportKind};
use hl_node::consortium::gossip::{ChainRegistry, Gossip, GossipParams, Registry};
use hl_node::net::identity::{keypair, pre_shared_key};
use hl_node::net::{FixedMembership, Network, NetworkConfig, NetworkParams, NotServed, Topic};
use hl_node::service::chain::ChainAccess;
use hl_tests::Anvil;
use serde_json::json;
use tokio::sync::watch;
use tokio::time::timeout;

const WAIT: Duration = Duration::from_secs(30);

fn record(id: &str) -> PreparedRecord {
    let v = json!({ "resourceType": "Observation", "id": id, "status": "final" });
    PreparedRecord {
        kind: "Observation".into(),
        id: id.into(),
        content: to_canonical(&v).unwrap(),
        content_sha256: canonical_sha256(&v).unwrap(),
        effective: None,
        resident: ResidentRef::Known([0x5a; 32], ResidentScope::Consortium),
        position: None,
    }
}

/// Appends `n` records to `hl`'s log and anchors the new head on chain with the CLI; the size.
fn ingest_and_anchor(
    hl: &Hl,
    node: &hl_node::config::Node,
    anvil: &Anvil,
    contract: &str,
    n: usize,
) -> u64 {
    let ledger = node.open_ledger().unwrap();
    let first = ledger.head().unwrap().size;
    ledger
        .submit(Prepared {
            source_name: "test".into(),
            records: (0..n)
                .map(|i| record(&format!("o{}", first as usize + i)))
                .collect(),
        })
        .unwrap();
    let size = ledger.head().unwrap().size;
    ledger.close();
    // The CLI needs the store to itself.
    drop(ledger);
    let r = run_on_chain(hl, anvil, contract, &["anchor", "now"]);
    assert!(r.ok, "anchor: {}", r.stderr);
    size
}

async fn publish(net: &Network, ann: &CheckpointAnnouncement) {
    let data = serde_json::to_vec(ann).unwrap();
    timeout(WAIT, async {
        while net.publish(Topic::Checkpoints, data.clone()).await.is_err() {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    })
    .await
    .expect("published");
}

fn root_of(r: &AnchorRecord) -> [u8; 32] {
    hex::decode(&r.root).unwrap().try_into().unwrap()
}

#[test]
fn checkpoints_are_checked_against_the_heads_anchored_on_chain() {
    let anvil = Anvil::start();
    let (a, b, c) = (
        Hl::init_named("Community Centre"),
        Hl::init_named("County Hospital"),
        Hl::init_named("City Hospital"),
    );
    let (contract, a_account) = setup(&a, &anvil);
    admit(&b, &a, &anvil, &contract, "County Hospital");
    admit(&c, &a, &anvil, &contract, "City Hospital");
    let nodes = [&a, &b, &c].map(|h| Arc::new(use_chain(h, &anvil, &contract)));
    // Three anchored heads, so that older ones are found in the member's history on chain.
    let sizes: Vec<u64> = [2, 3, 1]
        .into_iter()
        .map(|n| ingest_and_anchor(&a, &nodes[0], &anvil, &contract, n))
        .collect();
    let heads = AnchorState::open(&nodes[0].data_dir)
        .unwrap()
        .all()
        .unwrap();
    assert_eq!(heads.iter().map(|h| h.size).collect::<Vec<_>>(), sizes);
    let latest = heads.last().unwrap().clone();
    assert_eq!(
        anchored(&anvil, &contract, &a_account),
        (latest.size, latest.root.clone()),
        "the CLI anchored the head it recorded"
    );

    let signers: Vec<NoteSigner> = nodes.iter().map(|n| n.signer().unwrap()).collect();
    let a_key = signers[0].verifier().key.to_bytes();
    let a_origin = signers[0].verifier().name.clone();
    // Holds a peer key, but was never admitted on chain.
    let outsider = NoteSigner::generate("outsider.example/log").unwrap();
    let consortium = nodes[0].consortium_key().unwrap();

    let rt = common::runtime();
    rt.block_on(async {
        let mut accesses = Vec::new();
        let mut registries = Vec::new();
        for node in &nodes {
            let (access, _) = ChainAccess::open(node.clone()).await.unwrap();
            let access = Arc::new(access);
            registries.push(Arc::new(ChainRegistry::new(access.clone())));
            accesses.push(access);
        }

        // The registry itself, read by another member.
        let reg = &registries[1];
        assert_eq!(reg.origin_of(&a_key).await.unwrap(), Some(a_origin.clone()));
        let outsider_key = outsider.verifier().key.to_bytes();
        assert_eq!(reg.origin_of(&outsider_key).await.unwrap(), None);
        for h in &heads {
            let root = root_of(h);
            assert!(
                reg.is_anchored(&a_key, h.size, &root).await.unwrap(),
                "{h:?}"
            );
            assert!(!reg.is_anchored(&a_key, h.size, &[0xee; 32]).await.unwrap());
            assert!(!reg.is_anchored(&outsider_key, h.size, &root).await.unwrap());
        }
        let (s0, s1, s2) = (sizes[0], sizes[1], sizes[2]);
        for size in [s0 - 1, s0 + 1, s1 - 1, s2 + 1] {
            assert!(
                !reg.is_anchored(&a_key, size, &[0; 32]).await.unwrap(),
                "size {size}"
            );
        }

        // The network lets the outsider in (a fixed allow-list) so only the registry can refuse it.
        let keys = signers
            .iter()
            .chain([&outsider])
            .map(|s| s.verifier().key.to_bytes());
        let members = Arc::new(FixedMembership::new(keys));
        let (stop_tx, stop) = watch::channel(false);
        let mut nets: Vec<Arc<Network>> = Vec::new();
        let mut gossips = Vec::new();
        for (i, signer) in signers.iter().enumerate() {
            let cfg = NetworkConfig {
                bootstrap: nets
                    .iter()
                    .take(1)
                    .map(|n| n.listen_addrs()[0].to_string())
                    .collect(),
                ..NetworkConfig::default()
            };
            let params = NetworkParams::new(&cfg, signer, &consortium).unwrap();
            let net = Arc::new(
                Network::start(params, members.clone(), Arc::new(NotServed), stop.clone())
                    .await
                    .unwrap(),
            );
            // The heads the anchoring task (here: the CLI before) recorded.
            let anchors = accesses[i].anchors.clone();
            let gossip = Gossip::start(
                GossipParams {
                    data_dir: nodes[i].data_dir.clone(),
                    signer: signer.clone(),
                    anchors,
                    ledger: None,
                    catch_up_every: Duration::from_secs(1),
                },
                net.clone(),
                registries[i].clone(),
                stop.clone(),
            )
            .unwrap();
            nets.push(net);
            gossips.push(gossip);
        }
        let x = Network::start(
            NetworkParams {
                keypair: keypair(&outsider).unwrap(),
                psk: pre_shared_key(&consortium),
                listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
                bootstrap: vec![(nets[0].peer_id(), nets[0].listen_addrs()[0].clone())],
                refresh_every: Duration::from_secs(3600),
            },
            members.clone(),
            Arc::new(NotServed),
            stop.clone(),
        )
        .await
        .unwrap();
        let want: Vec<_> = nets[1..]
            .iter()
            .map(|n| n.peer_id())
            .chain([x.peer_id()])
            .collect();
        common::eventually("b, c and the outsider connected to a", || {
            let at_a = nets[0].connected();
            want.iter().all(|p| at_a.contains(p))
        })
        .await;

        // a's gossip announces the head the CLI anchored; b and c accept it from the chain.
        for g in &gossips[1..] {
            common::eventually("a's anchored head accepted", || {
                g.latest_checkpoints()
                    .get(&a_origin)
                    .is_some_and(|cp| cp.size == latest.size)
            })
            .await;
            let cp = &g.latest_checkpoints()[&a_origin];
            assert_eq!(cp.root, latest.root);
            assert_eq!(cp.tx_hash, latest.tx_hash);
            assert_eq!(cp.block_number, latest.block_number);
            assert_eq!(cp.author, nets[0].peer_id().to_string());
        }

        // An older anchored head is found in a's history on chain: accepted, not reported.
        // Then a head a signed but never anchored. Each hop keeps a's order, so once the
        // second is reported the first has been judged.
        let (older, never) = (&heads[0], latest.size + 3);
        publish(
            &nets[0],
            &CheckpointAnnouncement::sign(
                &signers[0],
                older.size,
                root_of(older),
                &older.tx_hash,
                older.block_number,
            ),
        )
        .await;
        publish(
            &nets[0],
            &CheckpointAnnouncement::sign(&signers[0], never, [9; 32], "0xfeed", 1),
        )
        .await;
        let kinds = |g: &Gossip| -> Vec<(ReportKind, Option<u64>)> {
            g.reports().iter().map(|r| (r.kind, r.size)).collect()
        };
        for g in &gossips[1..] {
            common::eventually("the unanchored head refused", || {
                kinds(g).contains(&(ReportKind::NotAnchored, Some(never)))
            })
            .await;
            assert_eq!(
                kinds(g),
                [(ReportKind::NotAnchored, Some(never))],
                "the older head was anchored"
            );
        }

        // a's origin, signed by a key that is registered nowhere.
        let forger = NoteSigner::generate(&a_origin).unwrap();
        publish(
            &nets[0],
            &CheckpointAnnouncement::sign(&forger, latest.size, [0xee; 32], "0xfeed", 1),
        )
        .await;
        // A key not registered on chain, announcing its own log.
        publish(
            &x,
            &CheckpointAnnouncement::sign(&outsider, 1, [1; 32], "0xfeed", 1),
        )
        .await;
        for g in &gossips[1..] {
            common::eventually("the forged and the outsider's notes refused", || {
                let k: Vec<ReportKind> = g.reports().iter().map(|r| r.kind).collect();
                k.contains(&ReportKind::BadSignature) && k.contains(&ReportKind::NotMember)
            })
            .await;
            let cp = &g.latest_checkpoints();
            assert_eq!(cp.len(), 1, "only a's anchored head was kept: {cp:?}");
            assert_eq!(cp[&a_origin].root, latest.root);
            assert!(g.split_views().is_empty());
        }
        let outsider_report = gossips[1]
            .reports()
            .into_iter()
            .find(|r| r.kind == ReportKind::NotMember)
            .unwrap();
        assert_eq!(outsider_report.author, x.peer_id().to_string());

        let _ = stop_tx.send(true);
        for g in gossips {
            timeout(Duration::from_secs(10), g.join())
                .await
                .expect("gossip stops");
        }
        for net in nets
            .into_iter()
            .map(|n| Arc::into_inner(n).unwrap())
            .chain([x])
        {
            timeout(Duration::from_secs(10), net.join())
                .await
                .expect("network stops")
                .unwrap();
        }
    });
}
