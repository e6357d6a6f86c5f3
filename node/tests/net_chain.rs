//! The network's allow-list read from a real chain (anvil): two admitted institutions connect;
//! when the governor suspends one, the other drops it on the membership event.

mod common;

use std::sync::Arc;
use std::time::Duration;

use alloy::providers::ProviderBuilder;
use common::Hl;
use common::chain::{admit, setup, use_chain};
use hl_node::net::identity::peer_id_of_key;
use hl_node::net::{
    ChainMembership, Membership, Network, NetworkConfig, NetworkParams, NotServed, PeerEvent,
};
use hl_node::service::chain::ChainAccess;
use hl_tests::{ANVIL_KEY_0, Anvil};
use tokio::sync::watch;
use tokio::time::timeout;

async fn suspend(anvil: &Anvil, contract: &str, account: &str) {
    let gov: alloy::signers::local::PrivateKeySigner = ANVIL_KEY_0.parse().unwrap();
    let p = ProviderBuilder::new()
        .wallet(gov)
        .connect_http(anvil.url.parse().unwrap());
    let c = hl_contracts::HealthLedger::new(contract.parse().unwrap(), &p);
    let receipt = c
        .suspendInstitution(account.parse().unwrap())
        .send()
        .await
        .unwrap()
        .get_receipt()
        .await
        .unwrap();
    assert!(receipt.status());
}

#[test]
fn members_admitted_on_chain_connect_and_a_suspended_one_is_dropped() {
    let anvil = Anvil::start();
    let (a, b) = (
        Hl::init_named("Community Centre"),
        Hl::init_named("County Hospital"),
    );
    let (contract, _) = setup(&a, &anvil);
    let b_account = admit(&b, &a, &anvil, &contract, "County Hospital");
    let (node_a, node_b) = (
        use_chain(&a, &anvil, &contract),
        use_chain(&b, &anvil, &contract),
    );
    let consortium = node_a.consortium_key().unwrap();

    let rt = common::runtime();
    rt.block_on(async {
        // The periodic re-read is far off: only the suspension event can explain a drop.
        let config = NetworkConfig {
            enabled: true,
            allowlist_refresh_secs: 3600,
            ..NetworkConfig::default()
        };
        let (stop_tx, stop) = watch::channel(false);
        let nodes = [Arc::new(node_a), Arc::new(node_b)];
        let keys: Vec<[u8; 32]> = nodes
            .iter()
            .map(|n| n.signer().unwrap().verifier().key.to_bytes())
            .collect();
        let mut nets: Vec<Network> = Vec::new();
        for node in nodes {
            let mut cfg = config.clone();
            if let Some(first) = nets.first() {
                cfg.bootstrap = vec![first.listen_addrs()[0].to_string()];
            }
            let params = NetworkParams::new(&cfg, &node.signer().unwrap(), &consortium).unwrap();
            let (access, _) = ChainAccess::open(node.clone()).await.unwrap();
            let membership = Arc::new(ChainMembership::new(
                Arc::new(access),
                Duration::from_millis(500),
            ));
            assert_eq!(
                membership.active_keys().await.unwrap(),
                keys.iter().copied().collect(),
                "the chain lists both members"
            );
            nets.push(
                Network::start(params, membership, Arc::new(NotServed), stop.clone())
                    .await
                    .unwrap(),
            );
        }
        let (na, nb) = (&nets[0], &nets[1]);
        let pb = peer_id_of_key(&keys[1]).unwrap();
        assert_eq!(nb.peer_id(), pb, "b's peer id is its registered log key");
        let mut peers = na.peers();
        timeout(Duration::from_secs(30), peers.wait_for(|p| p.contains(&pb)))
            .await
            .expect("a and b connect")
            .unwrap();

        let mut events = na.events();
        suspend(&anvil, &contract, &b_account).await;
        timeout(Duration::from_secs(20), async {
            loop {
                if events.recv().await.unwrap() == PeerEvent::Dropped(pb) {
                    return;
                }
            }
        })
        .await
        .expect("a drops b on the suspension event");
        timeout(
            Duration::from_secs(10),
            peers.wait_for(|p| !p.contains(&pb)),
        )
        .await
        .expect("b disconnected")
        .unwrap();

        let _ = stop_tx.send(true);
        for net in nets {
            timeout(Duration::from_secs(10), net.join())
                .await
                .unwrap()
                .unwrap();
        }
    });
}
