//! A chain for node tests: anvil with the contract deployed and this node admitted and funded.
//! Deploying, admitting and reading the chain are `hl_tests::localnet::chain`'s.

use alloy::providers::ProviderBuilder;
use hl_tests::localnet::Cli;
use hl_tests::localnet::chain::{self as lchain, Rpc};
use hl_tests::{ANVIL_KEY_0, Anvil};

use super::Hl;

fn cli(hl: &Hl) -> Cli {
    Cli::new(super::bin(), hl.data())
}

/// JSON-RPC call to the test chain.
pub fn rpc(anvil: &Anvil, method: &str, params: serde_json::Value) -> serde_json::Value {
    Rpc::new(&anvil.url)
        .and_then(|r| r.call(method, params))
        .unwrap_or_else(|e| panic!("{method}: {e}"))
}

/// Deploys the contract, admits `hl`'s institution and funds its account; returns
/// (contract address, member account).
pub fn setup(hl: &Hl, anvil: &Anvil) -> (String, String) {
    let gk = hl.write("governor.key", format!("{ANVIL_KEY_0}\n").as_bytes());
    let contract =
        lchain::deploy(&cli(hl), &anvil.url, &gk).unwrap_or_else(|e| panic!("deploy: {e}"));
    let m = lchain::admit(&cli(hl).on_chain(&anvil.url, &contract), &gk, "Test CHC")
        .unwrap_or_else(|e| panic!("admit: {e}"));
    Rpc::new(&anvil.url)
        .and_then(|r| r.fund(&m.account))
        .unwrap_or_else(|e| panic!("fund: {e}"));
    (contract, m.account)
}

/// (size, root hex) of the latest head the contract holds for `account`.
pub fn anchored(anvil: &Anvil, contract: &str, account: &str) -> (u64, String) {
    Rpc::new(&anvil.url)
        .and_then(|r| r.latest_head(contract, account))
        .unwrap_or_else(|e| panic!("latestHead: {e}"))
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
    let gk = gov.dir.path().join("governor.key");
    lchain::admit(&cli(hl).on_chain(&anvil.url, contract), &gk, name)
        .unwrap_or_else(|e| panic!("admit: {e}"))
        .account
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
