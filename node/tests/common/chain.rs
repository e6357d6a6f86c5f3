//! A chain for node tests: anvil with the contract deployed and this node admitted and funded.

use alloy::providers::{Provider, ProviderBuilder};
use hl_tests::{ANVIL_KEY_0, Anvil};

use super::Hl;

/// JSON-RPC call to the test chain.
pub fn rpc(anvil: &Anvil, method: &str, params: serde_json::Value) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let p = ProviderBuilder::new().connect_http(anvil.url.parse().expect("url"));
        p.raw_request::<_, serde_json::Value>(method.to_owned().into(), params)
            .await
            .expect(method)
    })
}

/// Deploys the contract, admits `hl`'s institution and funds its account; returns
/// (contract address, member account).
pub fn setup(hl: &Hl, anvil: &Anvil) -> (String, String) {
    let gk = hl.write("governor.key", format!("{ANVIL_KEY_0}\n").as_bytes());
    let gk = gk.to_str().expect("path");
    let r = hl.run(&["chain", "deploy", "--rpc", &anvil.url, "--governor-key", gk]);
    assert!(r.ok, "deploy: {}", r.stderr);
    let contract = r.stdout.trim().to_owned();
    let with_chain = |args: &[&str]| run_on_chain(hl, anvil, &contract, args);
    let status: serde_json::Value =
        serde_json::from_str(&with_chain(&["chain", "status", "--json"]).stdout).expect("json");
    let account = status["account"].as_str().expect("account").to_owned();
    let vkey = hl.run(&["log", "key"]).stdout.trim().to_owned();
    let r = with_chain(&[
        "chain",
        "admit",
        "--governor-key",
        gk,
        "--member",
        &account,
        "--verifier-key",
        &vkey,
        "--name",
        "Test CHC",
    ]);
    assert!(r.ok, "admit: {}", r.stderr);
    rpc(
        anvil,
        "anvil_setBalance",
        serde_json::json!([account, "0x56BC75E2D63100000"]),
    );
    (contract, account)
}

/// (size, root hex) of the latest head the contract holds for `account`.
pub fn anchored(anvil: &Anvil, contract: &str, account: &str) -> (u64, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let p = ProviderBuilder::new().connect_http(anvil.url.parse().expect("url"));
        let c = hl_contracts::HealthLedger::new(contract.parse().expect("address"), &p);
        let h = c
            .latestHead(account.parse().expect("address"))
            .call()
            .await
            .expect("latestHead");
        (h.size, hex::encode(h.root.0))
    })
}

/// Runs `healthledger ARGS` against the test chain and contract.
pub fn run_on_chain(hl: &Hl, anvil: &Anvil, contract: &str, args: &[&str]) -> super::Run {
    hl.cmd()
        .env("HEALTHLEDGER_CHAIN__RPC", &anvil.url)
        .env("HEALTHLEDGER_CHAIN__CONTRACT", contract)
        .args(args)
        .output()
        .expect("spawn")
        .into()
}

/// The governor suspends (`true`) or reinstates (`false`) the member `account`.
pub fn set_suspended(anvil: &Anvil, contract: &str, account: &str, suspended: bool) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let gov: alloy::signers::local::PrivateKeySigner = ANVIL_KEY_0.parse().expect("key");
        let p = ProviderBuilder::new()
            .wallet(gov)
            .connect_http(anvil.url.parse().expect("url"));
        let c = hl_contracts::HealthLedger::new(contract.parse().expect("address"), &p);
        let member: alloy::primitives::Address = account.parse().expect("address");
        let sent = if suspended {
            c.suspendInstitution(member).send().await
        } else {
            c.reinstateInstitution(member).send().await
        };
        let receipt = sent.expect("send").get_receipt().await.expect("mined");
        assert!(receipt.status(), "suspend/reinstate reverted");
    });
}

/// Admits `hl`'s institution with the governor key kept in `gov`'s data dir.
pub fn admit(hl: &Hl, gov: &Hl, anvil: &Anvil, contract: &str, name: &str) -> String {
    let status = run_on_chain(hl, anvil, contract, &["chain", "status", "--json"]);
    let status: serde_json::Value = serde_json::from_str(&status.stdout).expect("chain status");
    let account = status["account"].as_str().expect("chain status").to_owned();
    let vkey = hl.run(&["log", "key"]).stdout.trim().to_owned();
    let gk = gov.dir.path().join("governor.key");
    let r = run_on_chain(
        hl,
        anvil,
        contract,
        &[
            "chain",
            "admit",
            "--governor-key",
            gk.to_str().unwrap(),
            "--member",
            &account,
            "--verifier-key",
            &vkey,
            "--name",
            name,
        ],
    );
    assert!(r.ok, "admit: {}", r.stderr);
    account
}

/// Points `hl`'s config at the test chain (in the file: the test process's env is shared).
pub fn use_chain(hl: &Hl, anvil: &Anvil, contract: &str) -> hl_node::config::Node {
    let path = hl.data().join("config.toml");
    let text = std::fs::read_to_string(&path).expect("config");
    let text = text
        .replace(
            "# rpc = \"http://127.0.0.1:8545\"",
            &format!("rpc = \"{}\"", anvil.url),
        )
        .replace(
            "# contract = \"0x...\"",
            &format!("contract = \"{contract}\""),
        );
    std::fs::write(&path, text).expect("config");
    let node = hl_node::config::Node::load(&hl.data()).expect("config");
    assert_eq!(node.config.chain.rpc.as_deref(), Some(anvil.url.as_str()));
    node
}
