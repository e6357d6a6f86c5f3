//! The contract on a real chain (anvil on a free loopback port), fed real checkpoints and
//! consistency proofs from an `hl-ledger` log.

use alloy::primitives::{Address, B256, FixedBytes};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::signers::local::PrivateKeySigner;
use ed25519_dalek::SigningKey;
use hl_contracts::HealthLedger;
use hl_contracts::HealthLedger::HealthLedgerInstance;
use hl_ledger::input::{Prepared, PreparedRecord, ResidentRef};
use hl_ledger::note::NoteSigner;
use hl_ledger::{Ledger, StoreOptions};
use hl_tests::{ANVIL_KEY_0 as GOVERNOR_KEY, ANVIL_KEY_1 as MEMBER_KEY, Anvil};

fn ledger_with(dir: &std::path::Path, signer: &NoteSigner) -> Ledger {
    Ledger::open(
        &dir.join("log.redb"),
        signer.clone(),
        StoreOptions::default(),
    )
    .expect("open")
}

async fn append(ledger: &Ledger, from: u64, n: u64) {
    let records = (from..from + n)
        .map(|k| {
            let content = format!("{{\"resourceType\":\"Basic\",\"id\":\"b{k}\"}}").into_bytes();
            PreparedRecord {
                kind: "Basic".into(),
                id: format!("b{k}"),
                content_sha256: hl_ledger::canonical::canonical_sha256_of_json(&content)
                    .expect("json"),
                content,
                effective: None,
                resident: ResidentRef::None,
                position: None,
            }
        })
        .collect();
    let receipt = ledger.submit_async(Prepared {
        source_name: "test".into(),
        records,
    });
    receipt.await.expect("writer").expect("write");
}

fn b256(h: [u8; 32]) -> B256 {
    FixedBytes(h)
}

/// anvil with the contract deployed by the governor (account 0) and account 1 registered as a
/// member whose log key is `log_key`.
struct Fixture {
    _anvil: Anvil,
    url: alloy::transports::http::reqwest::Url,
    gov: DynProvider,
    /// The contract, called by the governor.
    contract: HealthLedgerInstance<DynProvider>,
    /// The contract, called by the member.
    as_member: HealthLedgerInstance<DynProvider>,
    member_addr: Address,
    log_key: NoteSigner,
}

async fn fixture(origin: &str, key_seed: u8) -> Fixture {
    let anvil = Anvil::start();
    let url: alloy::transports::http::reqwest::Url = anvil.url.parse().expect("url");
    let governor: PrivateKeySigner = GOVERNOR_KEY.parse().expect("key");
    let member: PrivateKeySigner = MEMBER_KEY.parse().expect("key");
    let member_addr = member.address();
    let gov = ProviderBuilder::new()
        .wallet(governor.clone())
        .connect_http(url.clone())
        .erased();
    let mem = ProviderBuilder::new()
        .wallet(member)
        .connect_http(url.clone())
        .erased();
    let deployed = HealthLedger::deploy(gov.clone(), governor.address())
        .await
        .expect("deploy");
    let address = *deployed.address();
    let log_key = NoteSigner::new(origin, SigningKey::from_bytes(&[key_seed; 32])).expect("name");
    deployed
        .registerInstitution(
            member_addr,
            b256(log_key.verifier().key.to_bytes()),
            origin.into(),
            "Test member".into(),
        )
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("registered");
    Fixture {
        _anvil: anvil,
        url,
        contract: HealthLedgerInstance::new(address, gov.clone()),
        as_member: HealthLedgerInstance::new(address, mem),
        gov,
        member_addr,
        log_key,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ledger_checkpoints_anchor_and_rewrites_are_refused() {
    let Fixture {
        _anvil,
        gov,
        contract,
        as_member,
        member_addr,
        log_key,
        ..
    } = fixture("test.example/chc", 7).await;
    assert!(
        contract
            .isActiveMember(member_addr)
            .call()
            .await
            .expect("call")
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = ledger_with(dir.path(), &log_key);

    // Three checkpoints of the real log, each anchored with the proof from the last anchored head.
    let mut anchored = 0u64;
    for (batch, n) in [(0, 5u64), (1, 300), (2, 1000)] {
        append(&ledger, anchored, n).await;
        let head = ledger.head().expect("head");
        let proof: Vec<B256> = if anchored == 0 {
            vec![]
        } else {
            ledger
                .consistency_proof(anchored, head.size)
                .expect("proof")
                .into_iter()
                .map(b256)
                .collect()
        };
        let receipt = as_member
            .anchor(head.size, b256(head.root), proof)
            .send()
            .await
            .expect("send")
            .get_receipt()
            .await
            .expect("mined");
        assert!(receipt.status(), "anchor {batch} reverted");
        println!(
            "anchor {batch}: size {} gas {}",
            head.size, receipt.gas_used
        );
        let latest = as_member
            .latestHead(member_addr)
            .call()
            .await
            .expect("call");
        assert_eq!((latest.size, latest.root), (head.size, b256(head.root)));
        anchored = head.size;
    }
    assert_eq!(
        as_member.headCount(member_addr).call().await.expect("call"),
        alloy::primitives::U256::from(3)
    );

    // A rewritten history: same length plus one, but an old record changed. Its proof from the
    // anchored head cannot verify, so the contract refuses it.
    let forged_dir = tempfile::tempdir().expect("tempdir");
    let forged = ledger_with(forged_dir.path(), &log_key);
    append(&forged, 1, anchored + 1).await; // shifted contents: every leaf differs
    let fhead = forged.head().expect("head");
    let fproof: Vec<B256> = forged
        .consistency_proof(anchored, fhead.size)
        .expect("proof")
        .into_iter()
        .map(b256)
        .collect();
    let refused = as_member
        .anchor(fhead.size, b256(fhead.root), fproof)
        .call()
        .await;
    assert!(refused.is_err(), "a rewritten history was accepted");
    // Shrinking is refused too, and a non-member cannot anchor at all.
    let small = ledger.root_at(10).expect("root");
    assert!(
        as_member
            .anchor(10, b256(small), vec![])
            .call()
            .await
            .is_err()
    );
    let as_governor = HealthLedger::new(*contract.address(), &gov);
    assert!(
        as_governor
            .anchor(1, b256([1; 32]), vec![])
            .call()
            .await
            .is_err()
    );
    // The chain is unchanged by the refusals.
    let latest = as_member
        .latestHead(member_addr)
        .call()
        .await
        .expect("call");
    assert_eq!(latest.size, anchored);
    assert!(gov.get_block_number().await.expect("block") >= 5);
}

/// A resident's wallet signs consent off chain (EIP-712, as a wallet app would); a member relays
/// it. The Rust types of `hl_contracts::consent` must hash exactly as the contract does.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_signed_by_the_resident_and_relayed_by_a_member() {
    use alloy::primitives::U256;
    use alloy::signers::SignerSync;
    use hl_contracts::consent::{Grant, Revoke, domain};

    let Fixture {
        _anvil,
        gov,
        contract,
        as_member,
        member_addr,
        ..
    } = fixture("test.example/a", 3).await;

    // The member binds the resident's wallet after an in-person identity check.
    let resident = PrivateKeySigner::random();
    let pseudonym = b256([0x42; 32]);
    let r = as_member
        .bindResident(pseudonym, resident.address())
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("mined");
    assert!(r.status());

    let chain_id = gov.get_chain_id().await.expect("chain id");
    let dom = domain(chain_id, *contract.address());
    assert_eq!(
        contract.DOMAIN_SEPARATOR().call().await.expect("call"),
        dom.separator()
    );

    let purpose = b256([7; 32]);
    let far = 4_000_000_000u64; // 2096: neither the expiry nor the deadline is near
    let grant = |nonce: u64, deadline: u64| Grant {
        pseudonym,
        grantee: member_addr,
        categories: U256::from(0b101u8),
        purpose,
        expiry: far,
        nonce: U256::from(nonce),
        deadline: U256::from(deadline),
    };
    let relay_grant = |g: Grant, sig: [u8; 65]| {
        as_member.grantConsentBySig(
            g.pseudonym,
            g.grantee,
            g.categories,
            g.purpose,
            g.expiry,
            g.deadline,
            sig.to_vec().into(),
        )
    };
    let permitted = |category: u8| as_member.isPermitted(pseudonym, member_addr, category, purpose);

    // Signed by the bound wallet, relayed by the member: categories 0 and 2, not 1.
    let g = grant(0, far);
    let sig = resident
        .sign_typed_data_sync(&g, &dom)
        .expect("sign")
        .as_bytes();
    let r = relay_grant(g.clone(), sig)
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("mined");
    assert!(r.status(), "grantConsentBySig reverted");
    assert!(permitted(0).call().await.expect("call"));
    assert!(!permitted(1).call().await.expect("call"));
    assert!(permitted(2).call().await.expect("call"));

    // Replaying the same signature fails (its nonce is used); so do an expired deadline and a
    // signature by any other wallet.
    assert!(relay_grant(g, sig).call().await.is_err(), "replay accepted");
    let expired = grant(1, 1);
    let sig = resident
        .sign_typed_data_sync(&expired, &dom)
        .expect("sign")
        .as_bytes();
    assert!(
        relay_grant(expired, sig).call().await.is_err(),
        "expired deadline accepted"
    );
    let stranger = PrivateKeySigner::random();
    let forged = grant(1, far);
    let sig = stranger
        .sign_typed_data_sync(&forged, &dom)
        .expect("sign")
        .as_bytes();
    assert!(
        relay_grant(forged, sig).call().await.is_err(),
        "wrong signer accepted"
    );

    // Revoked by signature: no longer permitted.
    let rv = Revoke {
        pseudonym,
        grantee: member_addr,
        purpose,
        nonce: U256::from(1u8),
        deadline: U256::from(far),
    };
    let sig = resident
        .sign_typed_data_sync(&rv, &dom)
        .expect("sign")
        .as_bytes();
    let r = as_member
        .revokeConsentBySig(
            rv.pseudonym,
            rv.grantee,
            rv.purpose,
            rv.deadline,
            sig.to_vec().into(),
        )
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("mined");
    assert!(r.status(), "revokeConsentBySig reverted");
    assert!(!permitted(0).call().await.expect("call"));
}

/// Time-bound consent expires on chain time; a break-glass access is an event anyone sees; a
/// wrong consistency proof is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_expiry_break_glass_and_wrong_proofs() {
    use alloy::primitives::U256;
    use alloy::sol_types::SolEvent;

    let Fixture {
        _anvil,
        url,
        gov,
        contract,
        as_member,
        member_addr,
        log_key,
    } = fixture("test.example/b", 4).await;

    // Consent granted directly by the resident's wallet, valid for one hour of chain time.
    let resident = PrivateKeySigner::random();
    let pseudonym = b256([0x51; 32]);
    as_member
        .bindResident(pseudonym, resident.address())
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("bound");
    let _: serde_json::Value = gov
        .raw_request(
            "anvil_setBalance".into(),
            (resident.address(), "0xDE0B6B3A7640000"),
        )
        .await
        .expect("fund");
    let as_resident_provider = ProviderBuilder::new().wallet(resident).connect_http(url);
    let as_resident = HealthLedger::new(*contract.address(), &as_resident_provider);
    let now = gov
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .expect("block")
        .expect("latest")
        .header
        .timestamp;
    let purpose = b256([9; 32]);
    let r = as_resident
        .grantConsent(pseudonym, member_addr, U256::from(1u8), purpose, now + 3600)
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("mined");
    assert!(r.status());
    let permitted = || as_member.isPermitted(pseudonym, member_addr, 0, purpose);
    assert!(permitted().call().await.expect("call"));
    let _: serde_json::Value = gov
        .raw_request("evm_increaseTime".into(), (3601u64,))
        .await
        .expect("warp");
    let _: serde_json::Value = gov.raw_request("evm_mine".into(), ()).await.expect("mine");
    assert!(
        !permitted().call().await.expect("call"),
        "expired consent still permitted"
    );

    // Break-glass: always recorded as an event with the member and the reason's hash.
    let reason = b256([0xee; 32]);
    let r = as_member
        .recordEmergencyAccess(pseudonym, reason)
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("mined");
    let ev = r
        .inner
        .logs()
        .iter()
        .find_map(|l| HealthLedger::EmergencyAccess::decode_log_data(l.data()).ok())
        .expect("EmergencyAccess event");
    assert_eq!(
        (ev.pseudonym, ev.member, ev.reasonHash),
        (pseudonym, member_addr, reason)
    );

    // Anchoring with a proof that has one hash flipped, or one hash too few, is refused.
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = ledger_with(dir.path(), &log_key);
    append(&ledger, 0, 37).await;
    let old = ledger.head().expect("head");
    as_member
        .anchor(old.size, b256(old.root), vec![])
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("first anchor");
    append(&ledger, 37, 100).await;
    let new = ledger.head().expect("head");
    let proof: Vec<B256> = ledger
        .consistency_proof(old.size, new.size)
        .expect("proof")
        .into_iter()
        .map(b256)
        .collect();
    let mut flipped = proof.clone();
    flipped[0].0[0] ^= 1;
    assert!(
        as_member
            .anchor(new.size, b256(new.root), flipped)
            .call()
            .await
            .is_err()
    );
    assert!(
        as_member
            .anchor(new.size, b256(new.root), proof[1..].to_vec())
            .call()
            .await
            .is_err()
    );
    assert!(
        as_member
            .anchor(new.size, b256(new.root), proof)
            .call()
            .await
            .is_ok(),
        "the right proof passes"
    );
}
