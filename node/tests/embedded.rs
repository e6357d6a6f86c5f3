//! The default chain: with no `chain.rpc`, `healthledger node` anchors on its embedded chain
//! (deploying the contract and registering itself on first use), serves it on loopback for
//! `cast`, and the chain survives a restart.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Hl;

fn cast(args: &[&str]) -> String {
    let out = Command::new(hl_tests::foundry_bin("cast"))
        .args(args)
        .output()
        .expect("spawn cast");
    assert!(
        out.status.success(),
        "cast {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

#[test]
fn node_anchors_on_its_embedded_chain_and_cast_reads_it() {
    let hl = Hl::init();
    let synth = hl.dir.path().join("synth");
    assert!(
        hl.run(&[
            "synth",
            "--residents",
            "10",
            "--seed",
            "2",
            "--out",
            synth.to_str().expect("p")
        ])
        .ok
    );
    let files: Vec<_> = std::fs::read_dir(&synth)
        .expect("dir")
        .map(|e| e.expect("e").path())
        .collect();
    let r = hl.cmd().arg("ingest").args(&files).output().expect("spawn");
    assert!(r.status.success());
    let (size, root) = hl.head();

    // The embedded chain with no setup: `anchor now` deploys, registers and anchors.
    let a: serde_json::Value =
        serde_json::from_str(&hl.run(&["anchor", "now", "--json"]).stdout).expect("json");
    assert_eq!(a["anchored"], true);
    assert_eq!(a["record"]["size"], size);
    let status: serde_json::Value =
        serde_json::from_str(&hl.run(&["chain", "status", "--json"]).stdout).expect("json");
    assert_eq!(status["member_status"], "active");
    assert_eq!(status["anchored_size"], size);
    let (contract, account) = (
        status["contract"].as_str().expect("c").to_owned(),
        status["account"].as_str().expect("a").to_owned(),
    );

    // More records, then the node anchors them itself and serves the chain to cast.
    let more = hl.write(
        "more.json",
        br#"{"resourceType":"Organization","id":"more","name":"m"}"#,
    );
    assert!(hl.run(&["ingest", more.to_str().expect("p")]).ok);
    let port = hl_tests::free_port();
    let url = format!("http://127.0.0.1:{port}");
    let mut node = hl
        .cmd()
        .env(
            "HEALTHLEDGER_CHAIN__EMBEDDED_HTTP",
            format!("127.0.0.1:{port}"),
        )
        .env("HEALTHLEDGER_ANCHOR__INTERVAL_SECS", "1")
        .arg("node")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn node");
    let deadline = Instant::now() + Duration::from_secs(60);
    let head = loop {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            let out = cast(&[
                "call",
                &contract,
                "latestHead(address)(uint64,bytes32,uint256,uint64)",
                &account,
                "--rpc-url",
                &url,
            ]);
            let first = out
                .lines()
                .next()
                .unwrap_or_default()
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            if first == (size + 1).to_string() {
                break out;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the node did not anchor on its embedded chain"
        );
        std::thread::sleep(Duration::from_millis(300));
    };
    assert!(
        head.lines().nth(1).is_some_and(|l| l.starts_with("0x")),
        "{head}"
    );
    let blocks: u64 = cast(&["block-number", "--rpc-url", &url])
        .parse()
        .expect("number");
    assert!(blocks >= 4, "deploy, register and two anchors: {blocks}");
    assert_eq!(cast(&["chain-id", "--rpc-url", &url]), "1337042");
    let _ = Command::new("kill")
        .args(["-TERM", &node.id().to_string()])
        .status();
    assert!(node.wait().expect("wait").success());

    // Reopened from chain.redb: the anchored head and the lag are still there.
    let lag: serde_json::Value =
        serde_json::from_str(&hl.run(&["anchor", "status", "--json"]).stdout).expect("json");
    assert_eq!(lag["anchored_size"], size + 1);
    assert_eq!(lag["lag_records"], 0);
    assert_ne!(
        lag["anchored_root"], root,
        "the second anchor covers the new record"
    );
}
