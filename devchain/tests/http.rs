//! The same service over HTTP on loopback, spoken to by foundry's `cast` (a separate process).

use std::path::PathBuf;
use std::sync::Arc;

use alloy::primitives::{B256, U256};
use alloy::providers::ProviderBuilder;
use alloy::rpc::client::RpcClient;
use alloy::signers::local::PrivateKeySigner;
use hl_contracts::HealthLedger;
use hl_devchain::{Chain, ChainConfig, HttpServer, RpcService};

fn cast() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../node_modules/@foundry-rs/cast-linux-amd64/bin/cast")
}

/// Runs cast on a blocking thread (the server answers on the runtime meanwhile).
async fn run_cast(args: Vec<String>) -> String {
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(cast())
            .args(&args)
            .output()
            .expect("cast runs (installed by `npm ci`)")
    })
    .await
    .expect("join");
    assert!(
        out.status.success(),
        "cast failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cast_reads_block_number_and_latest_head() {
    let dir = tempfile::tempdir().expect("tmp");
    let governor = PrivateKeySigner::from_slice(&[1; 32]).expect("key");
    let member = PrivateKeySigner::from_slice(&[2; 32]).expect("key");
    let eth = U256::from(10u128.pow(20));
    let chain = Chain::open(
        &dir.path().join("chain.redb"),
        ChainConfig::new(
            1337,
            vec![(governor.address(), eth), (member.address(), eth)],
        ),
    )
    .expect("open");
    let service = RpcService::new(Arc::new(chain));
    let server = HttpServer::bind("127.0.0.1:0".parse().expect("addr"), service.clone())
        .await
        .expect("bind");
    let url = server.url();

    assert_eq!(
        run_cast(vec!["block-number".into(), "--rpc-url".into(), url.clone()]).await,
        "0"
    );

    let gov = ProviderBuilder::new()
        .wallet(governor.clone())
        .connect_client(RpcClient::new(service.clone(), true));
    let mem = ProviderBuilder::new()
        .wallet(member.clone())
        .connect_client(RpcClient::new(service, true));
    let contract = HealthLedger::deploy(&gov, governor.address())
        .await
        .expect("deploy");
    contract
        .registerInstitution(
            member.address(),
            B256::repeat_byte(7),
            "o".into(),
            "n".into(),
        )
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("registered");
    let root = B256::repeat_byte(0xab);
    HealthLedger::new(*contract.address(), &mem)
        .anchor(5, root, vec![])
        .send()
        .await
        .expect("send")
        .get_receipt()
        .await
        .expect("anchored");

    assert_eq!(
        run_cast(vec!["block-number".into(), "--rpc-url".into(), url.clone()]).await,
        "3"
    );
    let head = run_cast(vec![
        "call".into(),
        contract.address().to_string(),
        "latestHead(address)(uint64,bytes32,uint256,uint64)".into(),
        member.address().to_string(),
        "--rpc-url".into(),
        url,
    ])
    .await;
    let lines: Vec<&str> = head.lines().collect();
    assert_eq!(lines[0], "5");
    assert_eq!(lines[1], root.to_string());
    assert_eq!(lines[2], "0");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_and_malformed_requests_get_json_rpc_errors() {
    use alloy::transports::http::reqwest;
    use serde_json::{Value, json};

    let dir = tempfile::tempdir().expect("tmp");
    let chain = Chain::open(&dir.path().join("c.redb"), ChainConfig::new(7, vec![])).expect("open");
    let server = HttpServer::bind(
        "127.0.0.1:0".parse().expect("addr"),
        RpcService::new(Arc::new(chain)),
    )
    .await
    .expect("bind");
    let client = reqwest::Client::new();
    let post = |body: String| {
        let req = client
            .post(server.url())
            .header("content-type", "application/json")
            .body(body);
        async move {
            let text = req.send().await.expect("send").text().await.expect("body");
            serde_json::from_str::<Value>(&text).expect("json")
        }
    };

    let batch = json!([
        {"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []},
        {"jsonrpc": "2.0", "id": 2, "method": "eth_mining"},
        {"jsonrpc": "2.0", "id": 3},
        {"jsonrpc": "2.0", "id": 4, "method": "eth_getBalance", "params": ["nope"]},
    ]);
    let Value::Array(answers) = post(batch.to_string()).await else {
        panic!("a batch is answered with a batch");
    };
    let by_id = |id: u64| {
        answers
            .iter()
            .find(|a| a["id"] == json!(id))
            .unwrap_or_else(|| panic!("no answer for {id}"))
            .clone()
    };
    assert_eq!(by_id(1)["result"], json!("0x7"));
    assert_eq!(by_id(2)["error"]["code"], json!(-32601));
    assert_eq!(by_id(3)["error"]["code"], json!(-32600));
    assert_eq!(by_id(4)["error"]["code"], json!(-32602));
    assert_eq!(
        post("{not json".into()).await["error"]["code"],
        json!(-32700)
    );
}
