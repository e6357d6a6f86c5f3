//! The JSON-RPC service driven by an ordinary alloy provider, in-process: the same client code
//! as against anvil.

use std::sync::Arc;

use alloy::primitives::{Address, B256, U256};
use alloy::providers::{Provider, ProviderBuilder};
use alloy::rpc::client::RpcClient;
use alloy::rpc::types::Filter;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::SolEvent;
use hl_contracts::HealthLedger;
use hl_devchain::{Chain, ChainConfig, RpcService};

const CHAIN_ID: u64 = 3_133_742;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alloy_provider_deploys_registers_and_anchors() {
    let dir = tempfile::tempdir().expect("tmp");
    let governor = PrivateKeySigner::from_slice(&[1; 32]).expect("key");
    let member = PrivateKeySigner::from_slice(&[2; 32]).expect("key");
    let member_addr = member.address();
    let eth = U256::from(10u128.pow(20));
    let chain = Chain::open(
        &dir.path().join("chain.redb"),
        ChainConfig::new(
            CHAIN_ID,
            vec![(governor.address(), eth), (member_addr, eth)],
        ),
    )
    .expect("open");
    let service = RpcService::new(Arc::new(chain));
    let gov = ProviderBuilder::new()
        .wallet(governor.clone())
        .connect_client(RpcClient::new(service.clone(), true));
    let mem = ProviderBuilder::new()
        .wallet(member)
        .connect_client(RpcClient::new(service.clone(), true));

    assert_eq!(gov.get_chain_id().await.expect("chain id"), CHAIN_ID);
    assert_eq!(gov.get_block_number().await.expect("number"), 0);
    assert_eq!(gov.get_balance(member_addr).await.expect("balance"), eth);

    let contract = HealthLedger::deploy(&gov, governor.address())
        .await
        .expect("deploy");
    assert!(
        !gov.get_code_at(*contract.address())
            .await
            .expect("code")
            .is_empty()
    );
    let receipt = contract
        .registerInstitution(
            member_addr,
            B256::repeat_byte(7),
            "test.example/chc".into(),
            "Test CHC".into(),
        )
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("registered");
    assert!(receipt.status());

    let as_member = HealthLedger::new(*contract.address(), &mem);
    let root = B256::repeat_byte(0xab);
    let receipt = as_member
        .anchor(5, root, vec![])
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("anchored");
    assert!(receipt.status());
    let anchor_block = receipt.block_number.expect("block");
    assert_eq!(gov.get_block_number().await.expect("number"), anchor_block);

    let head = contract
        .latestHead(member_addr)
        .call()
        .await
        .expect("latestHead");
    assert_eq!(head.size, 5);
    assert_eq!(head.root, root);

    // A non-extension reverts: eth_estimateGas returns the revert (code 3) to alloy.
    let err = as_member
        .anchor(3, root, vec![])
        .send()
        .await
        .expect_err("a smaller head must be refused");
    assert!(err.to_string().contains("revert"), "{err}");

    let filter = Filter::new()
        .address(*contract.address())
        .event_signature(HealthLedger::Anchored::SIGNATURE_HASH)
        .from_block(0)
        .to_block(anchor_block);
    let logs = gov.get_logs(&filter).await.expect("logs");
    assert_eq!(logs.len(), 1);
    let event = HealthLedger::Anchored::decode_log(&logs[0].inner).expect("decode");
    assert_eq!(event.member, member_addr);
    assert_eq!(event.size, 5);
    assert_eq!(event.root, root);
    assert_eq!(logs[0].transaction_hash, Some(receipt.transaction_hash));
    // Topic filters work too: nothing anchored by another address.
    let other = filter.topic1(Address::repeat_byte(9).into_word());
    assert!(gov.get_logs(&other).await.expect("logs").is_empty());

    let tx = gov
        .get_transaction_by_hash(receipt.transaction_hash)
        .await
        .expect("tx")
        .expect("known");
    assert_eq!(tx.block_number, Some(anchor_block));
    let block = gov
        .get_block_by_number(anchor_block.into())
        .full()
        .await
        .expect("block")
        .expect("known");
    assert_eq!(block.header.hash, receipt.block_hash.expect("hash"));
    assert_eq!(block.transactions.len(), 1);

    // Unknown methods are JSON-RPC "method not found".
    let err = gov
        .raw_request::<_, serde_json::Value>("eth_mining".into(), ())
        .await
        .expect_err("unknown method");
    assert!(
        err.as_error_resp().is_some_and(|e| e.code == -32601),
        "{err}"
    );
}
