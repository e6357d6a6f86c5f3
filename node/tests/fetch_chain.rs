//! Record fetch against a real chain (anvil): consent granted by the resident's wallet gates
//! what the holder serves, its revocation stops it, a break-glass read is emitted on chain,
//! and the requester ties the holder's checkpoint to the head anchored on chain.

mod common;

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::ProviderBuilder;
use alloy::signers::local::PrivateKeySigner;
use common::Hl;
use common::chain::{admit, run_on_chain, setup, use_chain};
use hl_ledger::canonical::{canonical_sha256, to_canonical};
use hl_ledger::input::{Prepared, PreparedRecord, ResidentRef};
use hl_ledger::pseudonym::ResidentScope;
use hl_node::consortium::fetch::{
    Ask, FetchChain, FetchError, Holder, NodeChain, Requester, purpose_code,
};
use hl_node::net::{FixedMembership, Network, NetworkConfig, NetworkParams, NotServed};
use hl_node::service::chain::ChainAccess;
use hl_tests::{ANVIL_KEY_1, Anvil};
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::sync::watch;
use tokio::time::timeout;

const RESIDENT: [u8; 32] = [0x5a; 32];

fn record(kind: &str, id: &str) -> PreparedRecord {
    let v = json!({ "resourceType": kind, "id": id, "status": "final" });
    PreparedRecord {
        kind: kind.into(),
        id: id.into(),
        content: to_canonical(&v).unwrap(),
        content_sha256: canonical_sha256(&v).unwrap(),
        effective: None,
        resident: ResidentRef::Known(RESIDENT, ResidentScope::Consortium),
        position: None,
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn consent_on_chain_gates_the_fetch_and_break_glass_is_emitted_on_chain() {
    let anvil = Anvil::start();
    let (a, b) = (
        Hl::init_named("County Hospital"),
        Hl::init_named("City Hospital"),
    );
    let (contract, a_account) = setup(&a, &anvil);
    let b_account: Address = admit(&b, &a, &anvil, &contract, "City Hospital")
        .parse()
        .unwrap();
    let (node_a, node_b) = (
        Arc::new(use_chain(&a, &anvil, &contract)),
        Arc::new(use_chain(&b, &anvil, &contract)),
    );
    // The holder's records, then its head anchored on chain (the CLI owns the data dir then).
    {
        let ledger = node_a.open_ledger().unwrap();
        ledger
            .submit(Prepared {
                source_name: "test".into(),
                records: vec![
                    record("Patient", "p1"),
                    record("Observation", "o1"),
                    record("Observation", "o2"),
                    record("Condition", "c1"),
                ],
            })
            .unwrap();
        ledger.close();
    }
    let r = run_on_chain(&a, &anvil, &contract, &["anchor", "now"]);
    assert!(r.ok, "anchor: {}", r.stderr);
    let ledger_a = Arc::new(node_a.open_ledger().unwrap());
    let anchored_size = ledger_a.head().unwrap().size;

    let rt = common::runtime();
    rt.block_on(async {
        let (access_a, _) = ChainAccess::open(node_a.clone()).await.unwrap();
        let (access_b, _) = ChainAccess::open(node_b.clone()).await.unwrap();
        let (access_a, access_b) = (Arc::new(access_a), Arc::new(access_b));
        let chain_a = Arc::new(NodeChain::new(access_a.clone()));
        let chain_b = Arc::new(NodeChain::new(access_b));

        // The resident binds a wallet at the holder and grants the city hospital observations.
        let wallet: PrivateKeySigner = ANVIL_KEY_1.parse().unwrap();
        let c = access_a.get().await.unwrap();
        let bound = c
            .contract
            .bindResident(B256::from(RESIDENT), wallet.address())
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(bound.status());
        let p = ProviderBuilder::new()
            .wallet(wallet)
            .connect_http(anvil.url.parse().unwrap());
        let resident = hl_contracts::HealthLedger::new(contract.parse().unwrap(), &p);
        let treat = purpose_code("TREAT").unwrap();
        let granted = resident
            .grantConsent(
                B256::from(RESIDENT),
                b_account,
                U256::from(0b10),
                treat,
                now() + 3600,
            )
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(granted.status());
        assert!(
            chain_a
                .is_permitted(&RESIDENT, b_account, 1, treat)
                .await
                .unwrap()
        );
        assert!(
            !chain_a
                .is_permitted(&RESIDENT, b_account, 2, treat)
                .await
                .unwrap()
        );
        let b_key = node_b.signer().unwrap().verifier().key.to_bytes();
        let b_member = chain_a.member_by_key(&b_key).await.unwrap().unwrap();
        assert_eq!((b_member.address, b_member.active), (b_account, true));
        assert_eq!(b_member.origin, node_b.signer().unwrap().verifier().name);

        let keys = [node_a.signer().unwrap().verifier().key.to_bytes(), b_key];
        let members = Arc::new(FixedMembership::new(keys));
        let consortium = node_a.consortium_key().unwrap();
        let cfg = NetworkConfig::default();
        let (stop_tx, stop) = watch::channel(false);
        let holder = Holder::new(ledger_a.clone(), chain_a.clone(), "County Hospital");
        let na = Network::start(
            NetworkParams::new(&cfg, &node_a.signer().unwrap(), &consortium).unwrap(),
            members.clone(),
            Arc::new(holder),
            stop.clone(),
        )
        .await
        .unwrap();
        let cfg_b = NetworkConfig {
            bootstrap: vec![na.listen_addrs()[0].to_string()],
            ..NetworkConfig::default()
        };
        let nb = Network::start(
            NetworkParams::new(&cfg_b, &node_b.signer().unwrap(), &consortium).unwrap(),
            members,
            Arc::new(NotServed),
            stop,
        )
        .await
        .unwrap();
        let pa = na.peer_id();
        let mut peers = nb.peers();
        timeout(Duration::from_secs(30), peers.wait_for(|p| p.contains(&pa)))
            .await
            .expect("the nodes connect")
            .unwrap();
        let requester = Requester::new(&node_b.signer().unwrap(), chain_b).unwrap();
        let ask = |categories: u32, reason: Option<&str>| Ask {
            resident: RESIDENT,
            categories,
            purpose: "TREAT".into(),
            break_glass_reason: reason.map(str::to_owned),
        };

        let f = requester.fetch(&nb, pa, &ask(0b110, None)).await.unwrap();
        let mut kinds: Vec<&str> = f.records.iter().map(|r| r.envelope.id.as_str()).collect();
        kinds.sort();
        assert_eq!(kinds, ["o1", "o2"]);
        assert_eq!(
            f.refused.iter().map(|r| r.category).collect::<Vec<_>>(),
            [2]
        );
        assert!(f.dropped.is_empty() && requester.reported().is_empty());
        assert!(
            f.checkpoint_size > anchored_size,
            "the audit record came after the anchor: tied through the consistency proof"
        );

        let revoked = resident
            .revokeConsent(B256::from(RESIDENT), b_account, treat)
            .send()
            .await
            .unwrap()
            .get_receipt()
            .await
            .unwrap();
        assert!(revoked.status());
        match requester.fetch(&nb, pa, &ask(0b10, None)).await {
            Err(FetchError::Refused(r)) => assert!(r.contains("no consent"), "{r}"),
            other => panic!("expected a refusal, got {other:?}"),
        }

        let reason = "anaphylaxis, resident unconscious";
        let f = requester
            .fetch(&nb, pa, &ask(0b100, Some(reason)))
            .await
            .unwrap();
        assert_eq!(f.records.len(), 1);
        assert_eq!(f.records[0].envelope.id, "c1");
        let events = c
            .contract
            .EmergencyAccess_filter()
            .from_block(0u64)
            .query()
            .await
            .unwrap();
        assert_eq!(events.len(), 1);
        let (ev, _) = &events[0];
        let hash: [u8; 32] = Sha256::digest(reason.as_bytes()).into();
        assert_eq!(ev.pseudonym, B256::from(RESIDENT));
        assert_eq!(ev.member, a_account.parse::<Address>().unwrap());
        assert_eq!(ev.reasonHash, B256::from(hash));

        let _ = stop_tx.send(true);
        for n in [na, nb] {
            timeout(Duration::from_secs(10), n.join())
                .await
                .unwrap()
                .unwrap();
        }
    });
    ledger_a.close();
}
