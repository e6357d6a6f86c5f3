//! The chain without RPC: instant mining, Ethereum's validation, receipts, and persistence.

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope, TxLegacy};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, Bytes, TxKind, U256};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolConstructor, SolEvent};
use hl_contracts::HealthLedger;
use hl_devchain::{Chain, ChainConfig, ChainError};

const CHAIN_ID: u64 = 4242;
const ETH: u128 = 1_000_000_000_000_000_000;

fn key(n: u8) -> PrivateKeySigner {
    PrivateKeySigner::from_slice(&[n; 32]).expect("key")
}

fn open(dir: &std::path::Path, funded: &[Address]) -> Chain {
    let genesis = funded.iter().map(|a| (*a, U256::from(100 * ETH))).collect();
    Chain::open(&dir.join("chain.redb"), ChainConfig::new(CHAIN_ID, genesis)).expect("open")
}

fn eip1559(
    signer: &PrivateKeySigner,
    nonce: u64,
    to: TxKind,
    value: u128,
    input: Bytes,
) -> Vec<u8> {
    let mut tx = TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 10_000_000,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1,
        to,
        value: U256::from(value),
        input,
        ..Default::default()
    };
    let sig = signer.sign_transaction_sync(&mut tx).expect("sign");
    TxEnvelope::from(tx.into_signed(sig)).encoded_2718()
}

#[test]
fn each_transaction_is_mined_in_its_own_block() {
    let dir = tempfile::tempdir().expect("tmp");
    let (alice, bob) = (key(1), key(2));
    let chain = open(dir.path(), &[alice.address()]);
    assert_eq!(chain.block_number().expect("n"), 0);
    let genesis = chain.block(0).expect("read").expect("genesis");

    let raw = eip1559(&alice, 0, TxKind::Call(bob.address()), ETH, Bytes::new());
    let hash = chain.send_raw_transaction(&raw).expect("mined");
    let receipt = chain.receipt(hash).expect("read").expect("receipt");
    assert!(receipt.status());
    assert_eq!(receipt.gas_used, 21_000);
    assert_eq!(receipt.block_number, Some(1));
    // Base fee 1 gwei + tip 1 wei.
    assert_eq!(receipt.effective_gas_price, 1_000_000_001);
    let block1 = chain.block(1).expect("read").expect("block 1");
    assert_eq!(block1.header.parent_hash, genesis.header.hash);
    assert_eq!(block1.header.hash, block1.header.inner.hash_slow());
    assert!(block1.header.timestamp > genesis.header.timestamp);
    assert_eq!(
        chain.account(bob.address()).expect("bob"),
        (U256::from(ETH), 0)
    );
    let (balance, nonce) = chain.account(alice.address()).expect("alice");
    assert_eq!(nonce, 1);
    assert_eq!(balance, U256::from(99 * ETH - 21_000 * 1_000_000_001));
    let tx = chain.transaction(hash).expect("read").expect("tx");
    assert_eq!(tx.block_hash, Some(block1.header.hash));

    // A legacy (EIP-155) transaction too, and timestamps keep increasing within one second.
    let mut legacy = TxLegacy {
        chain_id: Some(CHAIN_ID),
        nonce: 1,
        gas_price: 1_000_000_000,
        gas_limit: 21_000,
        to: TxKind::Call(bob.address()),
        value: U256::from(1),
        input: Bytes::new(),
    };
    let sig = alice.sign_transaction_sync(&mut legacy).expect("sign");
    let raw = TxEnvelope::from(legacy.into_signed(sig)).encoded_2718();
    chain.send_raw_transaction(&raw).expect("legacy mined");
    let block2 = chain.block(2).expect("read").expect("block 2");
    assert!(block2.header.timestamp > block1.header.timestamp);
    assert_eq!(block2.header.parent_hash, block1.header.hash);

    // Replays, unfunded senders and foreign chain ids are refused and seal nothing.
    let replay = eip1559(&alice, 0, TxKind::Call(bob.address()), ETH, Bytes::new());
    assert!(matches!(
        chain.send_raw_transaction(&replay),
        Err(ChainError::Rejected(_))
    ));
    let poor = eip1559(&key(3), 0, TxKind::Call(bob.address()), 1, Bytes::new());
    assert!(matches!(
        chain.send_raw_transaction(&poor),
        Err(ChainError::Rejected(_))
    ));
    assert!(matches!(
        chain.send_raw_transaction(b"\x02junk"),
        Err(ChainError::Decode(_))
    ));
    assert_eq!(chain.block_number().expect("n"), 2);
}

#[test]
fn contract_state_survives_reopening() {
    let dir = tempfile::tempdir().expect("tmp");
    let gov = key(1);
    let member = Address::repeat_byte(0x11);
    let contract;
    let code;
    {
        let chain = open(dir.path(), &[gov.address()]);
        let mut init = HealthLedger::BYTECODE.to_vec();
        init.extend(HealthLedger::constructorCall::new((gov.address(),)).abi_encode());
        let raw = eip1559(&gov, 0, TxKind::Create, 0, init.into());
        let hash = chain.send_raw_transaction(&raw).expect("deploy");
        let receipt = chain.receipt(hash).expect("read").expect("receipt");
        assert!(receipt.status(), "deployment failed: {receipt:?}");
        contract = receipt.contract_address.expect("created");
        assert_eq!(contract, gov.address().create(0));
        // The constructor announces the governor: logs carry address, topics and data.
        let logs = receipt.inner.logs();
        assert_eq!(logs.len(), 1);
        assert_eq!(logs[0].address(), contract);
        assert_eq!(
            logs[0].topics()[0],
            HealthLedger::GovernorTransferred::SIGNATURE_HASH
        );
        code = chain.code(contract).expect("code");
        assert!(!code.is_empty());

        let call = HealthLedger::registerInstitutionCall {
            member,
            ed25519Key: [7u8; 32].into(),
            origin: "test.example/chc".into(),
            name: "Test CHC".into(),
        };
        let raw = eip1559(&gov, 1, TxKind::Call(contract), 0, call.abi_encode().into());
        let hash = chain.send_raw_transaction(&raw).expect("register");
        assert!(
            chain
                .receipt(hash)
                .expect("read")
                .expect("receipt")
                .status()
        );
    }
    let chain = open(dir.path(), &[]);
    assert_eq!(chain.block_number().expect("n"), 2);
    assert_eq!(chain.code(contract).expect("code"), code);
    assert_eq!(chain.account(gov.address()).expect("gov").1, 2);
    let read = |input: Vec<u8>| {
        let req = TransactionRequest::default()
            .to(contract)
            .input(Bytes::from(input).into());
        let r = chain.call(&req).expect("call");
        assert!(r.is_success(), "{r:?}");
        r.into_output().expect("output")
    };
    let out = read(HealthLedger::governorCall {}.abi_encode());
    assert_eq!(
        HealthLedger::governorCall::abi_decode_returns(&out).expect("decode"),
        gov.address()
    );
    // The registration (contract storage) is there after the restart: the member may anchor.
    let anchor = HealthLedger::anchorCall {
        size: 5,
        root: [9u8; 32].into(),
        consistencyProof: vec![],
    };
    let req = TransactionRequest::default()
        .from(member)
        .to(contract)
        .input(Bytes::from(anchor.abi_encode()).into());
    assert!(chain.call(&req).expect("call").is_success());
    let stranger = req.from(Address::repeat_byte(0x22));
    assert!(!chain.call(&stranger).expect("call").is_success());

    // A different chain id is refused rather than silently mixing chains.
    drop(chain);
    let other = Chain::open(&dir.path().join("chain.redb"), ChainConfig::new(1, vec![]));
    assert!(matches!(
        other,
        Err(ChainError::WrongChainId {
            stored: CHAIN_ID,
            given: 1
        })
    ));
}
