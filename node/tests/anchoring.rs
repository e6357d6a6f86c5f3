//! `healthledger node` against anvil: files dropped into the inbox are ingested and anchored;
//! while the chain is frozen (SIGSTOP) ingest goes on and anchoring catches up afterwards; a
//! reorg that drops the anchor is followed by a new anchor; SIGTERM stops the node cleanly.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use common::Hl;
use common::chain::{anchored, rpc, run_on_chain, setup};
use hl_tests::Anvil;

fn signal(pid: u32, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &pid.to_string()])
        .status()
        .expect("kill")
        .success();
    assert!(ok, "kill {sig} {pid}");
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn resources(file: &Path) -> u64 {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(file).expect("read")).expect("json");
    v["entry"].as_array().map_or(1, |e| e.len() as u64)
}

/// Moves files into the inbox the way a producer must: write elsewhere, rename into place.
fn drop_into(inbox: &Path, files: &[PathBuf]) -> u64 {
    let mut n = 0;
    for f in files {
        n += resources(f);
        std::fs::rename(f, inbox.join(f.file_name().expect("name"))).expect("rename");
    }
    n
}

struct Daemon(Child);
impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn node_ingests_the_inbox_and_anchors_through_outages_and_reorgs() {
    let anvil = Anvil::start();
    let hl = Hl::init();
    let (contract, account) = setup(&hl, &anvil);
    let files = hl.synth("staging", 30, 9);
    let inbox = hl.data().join("inbox");
    std::fs::create_dir_all(&inbox).expect("inbox");

    // Short RPC timeout: the frozen chain must turn into retries quickly.
    let mut daemon = start_node(&hl, &anvil, &contract, "node.log", 2);

    // 1. Ingest and anchor.
    let mut total = drop_into(&inbox, &files[..10]);
    wait_until("the first anchor", Duration::from_secs(60), || {
        anchored(&anvil, &contract, &account).0 == total
    });

    // 2. Freeze the chain: ingest goes on, anchoring waits, then catches up.
    signal(anvil.pid(), "-STOP");
    total += drop_into(&inbox, &files[10..20]);
    let done = inbox.join("done");
    wait_until(
        "ingest while the chain is frozen",
        Duration::from_secs(60),
        || std::fs::read_dir(&done).map_or(0, |d| d.count()) == 20,
    );
    std::thread::sleep(Duration::from_secs(3));
    signal(anvil.pid(), "-CONT");
    wait_until("anchoring to catch up", Duration::from_secs(90), || {
        anchored(&anvil, &contract, &account).0 == total
    });

    // 3. A reorg drops the block with the latest anchor: the node anchors the head again.
    let before = anchored(&anvil, &contract, &account);
    rpc(&anvil, "anvil_reorg", serde_json::json!([1, []]));
    assert!(
        anchored(&anvil, &contract, &account).0 < before.0,
        "the reorg removed the anchor"
    );
    wait_until(
        "the anchor lost in the reorg to come back",
        Duration::from_secs(60),
        || anchored(&anvil, &contract, &account) == before,
    );

    // 4. A bad file is rejected with its reason, the rest lands.
    std::fs::write(inbox.join("zz-bad.json"), b"{not json").expect("write");
    total += drop_into(&inbox, &files[20..]);
    wait_until("the last anchor", Duration::from_secs(60), || {
        anchored(&anvil, &contract, &account).0 == total
    });
    let why =
        std::fs::read_to_string(inbox.join("rejected/zz-bad.json.error")).expect("error file");
    assert!(
        why.contains("zz-bad.json") && why.contains("not JSON"),
        "{why}"
    );

    // 5. SIGTERM: a clean stop, after which the CLI sees everything and lag 0.
    signal(daemon.0.id(), "-TERM");
    let status = daemon.0.wait().expect("wait");
    assert!(status.success(), "node exit: {status}");
    let lag: serde_json::Value = serde_json::from_str(
        &run_on_chain(&hl, &anvil, &contract, &["anchor", "status", "--json"]).stdout,
    )
    .expect("json");
    assert_eq!(lag["local_size"], total);
    assert_eq!(lag["lag_records"], 0);
    assert!(hl.run(&["fsck"]).ok);
}

fn start_node(hl: &Hl, anvil: &Anvil, contract: &str, log: &str, rpc_timeout_secs: u64) -> Daemon {
    let log = std::fs::File::create(hl.dir.path().join(log)).expect("log");
    Daemon(
        hl.cmd()
            .env("HEALTHLEDGER_CHAIN__RPC", &anvil.url)
            .env("HEALTHLEDGER_CHAIN__CONTRACT", contract)
            .env("HEALTHLEDGER_ANCHOR__INTERVAL_SECS", "1")
            .env(
                "HEALTHLEDGER_ANCHOR__RPC_TIMEOUT_SECS",
                rpc_timeout_secs.to_string(),
            )
            .env("HEALTHLEDGER_INBOX__POLL_MS", "100")
            // These tests count the records they drop; QC summary records are tested in qc.rs.
            .env("HEALTHLEDGER_QC__ENABLED", "false")
            .env("HEALTHLEDGER_LOG", "info")
            .arg("node")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawn node"),
    )
}

fn hex_u64(v: &serde_json::Value) -> u64 {
    u64::from_str_radix(v.as_str().expect("hex").trim_start_matches("0x"), 16).expect("hex number")
}

#[test]
fn a_node_killed_between_send_and_receipt_does_not_anchor_twice() {
    let anvil = Anvil::start();
    let hl = Hl::init();
    let (contract, account) = setup(&hl, &anvil);
    let files = hl.synth("staging", 5, 4);
    let inbox = hl.data().join("inbox");
    std::fs::create_dir_all(&inbox).expect("inbox");

    // Blocks are mined only on request: the anchor transaction stays pending.
    rpc(&anvil, "evm_setAutomine", serde_json::json!([false]));
    let total = drop_into(&inbox, &files);
    let mut node = start_node(&hl, &anvil, &contract, "node1.log", 60);
    wait_until(
        "the anchor transaction to be sent",
        Duration::from_secs(60),
        || hex_u64(&rpc(&anvil, "txpool_status", serde_json::json!([]))["pending"]) == 1,
    );
    // Killed after sending, before any receipt; restarted while the transaction is still pending.
    node.0.kill().expect("SIGKILL");
    let _ = node.0.wait();
    let node = start_node(&hl, &anvil, &contract, "node2.log", 60);
    std::thread::sleep(Duration::from_secs(3));
    // The restarted node waits for the transaction it had sent instead of sending another.
    assert_eq!(
        hex_u64(&rpc(&anvil, "txpool_status", serde_json::json!([]))["pending"]),
        1
    );
    rpc(&anvil, "evm_mine", serde_json::json!([]));
    rpc(&anvil, "evm_setAutomine", serde_json::json!([true]));
    assert_eq!(anchored(&anvil, &contract, &account).0, total);
    std::thread::sleep(Duration::from_secs(3));
    drop(node);
    let nonce = hex_u64(&rpc(
        &anvil,
        "eth_getTransactionCount",
        serde_json::json!([account, "latest"]),
    ));
    assert_eq!(
        nonce, 1,
        "exactly one transaction from the member: the anchor"
    );
    let lag: serde_json::Value = serde_json::from_str(
        &run_on_chain(&hl, &anvil, &contract, &["anchor", "status", "--json"]).stdout,
    )
    .expect("json");
    assert_eq!(
        lag["last_anchor"]["size"], total,
        "the restarted node recorded the anchor it had sent"
    );
    assert_eq!(lag["lag_records"], 0);
}
