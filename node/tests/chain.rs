//! `healthledger chain …` and `healthledger anchor …` against a real chain (anvil on loopback).

mod common;

use common::Hl;
use common::chain::{run_on_chain, set_suspended, setup};
use hl_tests::Anvil;

#[test]
fn deploy_admit_ingest_anchor_and_status() {
    let anvil = Anvil::start();
    let hl = Hl::init();
    // Before admission the node is not a member; common::chain::setup then deploys, admits and
    // funds it through the same commands an operator runs.
    let (contract, account) = setup(&hl, &anvil);
    let chain = |args: &[&str]| run_on_chain(&hl, &anvil, &contract, args);
    let vkey = hl.run(&["log", "key"]).stdout.trim().to_owned();
    let status: serde_json::Value =
        serde_json::from_str(&chain(&["chain", "status", "--json"]).stdout).expect("json");
    assert_eq!(status["member_status"], "active");
    assert_eq!(status["account"], account);
    assert_eq!(status["origin"], vkey.split('+').next().expect("name"));
    // Suspended by the governor: the contract refuses its anchors, and says why.
    let seed = hl.write(
        "seed.json",
        br#"{"resourceType":"Organization","id":"o1","name":"x"}"#,
    );
    assert!(hl.run(&["ingest", seed.to_str().expect("p")]).ok);
    set_suspended(&anvil, &contract, &account, true);
    let r = chain(&["anchor", "now"]);
    assert_eq!(r.code, Some(1));
    assert!(
        r.stderr
            .contains("the contract refused the anchor: NotActiveMember"),
        "{}",
        r.stderr
    );
    set_suspended(&anvil, &contract, &account, false);
    assert_eq!(status["origin"], vkey.split('+').next().expect("name"));

    let synth = hl.dir.path().join("synth");
    assert!(
        hl.run(&[
            "synth",
            "--residents",
            "20",
            "--seed",
            "3",
            "--out",
            synth.to_str().expect("p")
        ])
        .ok
    );
    let mut files: Vec<_> = std::fs::read_dir(&synth)
        .expect("dir")
        .map(|e| e.expect("e").path())
        .collect();
    files.sort();
    let (first, rest) = files.split_at(10);
    let ingest = |fs: &[std::path::PathBuf]| {
        let r = hl.cmd().arg("ingest").args(fs).output().expect("spawn");
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
    };

    ingest(first);
    let r = chain(&["anchor", "now", "--json"]);
    assert!(r.ok, "anchor: {}", r.stderr);
    let a: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    assert_eq!(a["anchored"], true);
    let size1 = hl.head().0;
    assert_eq!(a["record"]["size"], size1);

    // Nothing new: no second transaction.
    let a: serde_json::Value =
        serde_json::from_str(&chain(&["anchor", "now", "--json"]).stdout).expect("json");
    assert_eq!(a["anchored"], false);

    // More records: the next anchor carries the consistency proof the contract checks.
    ingest(rest);
    let lag: serde_json::Value =
        serde_json::from_str(&chain(&["anchor", "status", "--json"]).stdout).expect("json");
    let (size2, root2) = hl.head();
    assert_eq!(lag["anchored_size"], size1);
    assert_eq!(lag["lag_records"], size2 - size1);
    let a: serde_json::Value =
        serde_json::from_str(&chain(&["anchor", "now", "--json"]).stdout).expect("json");
    assert_eq!(a["record"]["size"], size2);
    assert!(a["record"]["gas_used"].as_u64().expect("gas") < 120_000);
    let lag: serde_json::Value =
        serde_json::from_str(&chain(&["anchor", "status", "--json"]).stdout).expect("json");
    assert_eq!(lag["lag_records"], 0);
    assert_eq!(lag["anchored_root"], root2);
    assert_eq!(lag["last_anchor"]["size"], size2);

    // A regulator ties an exported bundle to the chain: first an exactly anchored checkpoint,
    // then (after more ingest) a newer one through the bundle's consistency proof.
    let resident = first_cn_id(&synth.join("resident-000001.json"));
    let verify_on_chain = |tag: &str| -> common::Run {
        let out = hl.dir.path().join(format!("proof-{tag}.json"));
        let r = hl.run(&[
            "log",
            "export",
            "--resident",
            &resident,
            "--out",
            out.to_str().expect("p"),
        ]);
        assert!(r.ok, "export: {}", r.stderr);
        let mut c = std::process::Command::new(common::bin());
        c.args([
            "verify",
            "--bundle",
            out.to_str().expect("p"),
            "--rpc",
            &anvil.url,
            "--contract",
            &contract,
        ]);
        c.output().expect("spawn").into()
    };
    let r = verify_on_chain("exact");
    assert!(r.ok, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("checkpoint is anchored head #1"),
        "{}",
        r.stdout
    );
    let more = hl.write(
        "more.json",
        br#"{"resourceType":"Organization","id":"o2","name":"y"}"#,
    );
    assert!(hl.run(&["ingest", more.to_str().expect("p")]).ok);
    let r = verify_on_chain("extension");
    assert!(r.ok, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("consistently extends anchored head #1"),
        "{}",
        r.stdout
    );

    // An impostor signing as this origin with another key, and a log the chain does not know:
    // both verify offline, both are refused on chain.
    for (name, words) in [
        (
            "Test Community Health Centre",
            "which is not the key registered on chain",
        ),
        ("Unknown Clinic", "is not registered on the contract"),
    ] {
        let other = Hl::init_named(name);
        let f = other.write("p.json", br#"{"resourceType":"Patient","id":"p","identifier":[{"system":"http://hl7.org/fhir/sid/us-ssn","value":"1"}]}"#);
        assert!(other.run(&["ingest", f.to_str().expect("p")]).ok);
        let out = other.dir.path().join("s.json");
        assert!(
            other
                .run(&[
                    "log",
                    "export",
                    "--resident",
                    "1",
                    "--out",
                    out.to_str().expect("p")
                ])
                .ok
        );
        let offline: common::Run = std::process::Command::new(common::bin())
            .args(["verify", "--bundle", out.to_str().expect("p")])
            .output()
            .expect("spawn")
            .into();
        assert!(offline.ok, "{}", offline.stderr);
        let r: common::Run = std::process::Command::new(common::bin())
            .args([
                "verify",
                "--bundle",
                out.to_str().expect("p"),
                "--rpc",
                &anvil.url,
                "--contract",
                &contract,
            ])
            .output()
            .expect("spawn")
            .into();
        assert_eq!(r.code, Some(1), "{name}");
        assert!(r.stderr.contains(words), "{name}: {}", r.stderr);
    }

    // Bad settings fail with one clear line.
    let r = hl
        .cmd()
        .env("HEALTHLEDGER_CHAIN__RPC", &anvil.url)
        .env(
            "HEALTHLEDGER_CHAIN__CONTRACT",
            "0x0000000000000000000000000000000000000001",
        )
        .args(["anchor", "now"])
        .output()
        .expect("spawn");
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(1));
    assert!(stderr.contains("no contract at"), "{stderr}");
    let r = hl
        .cmd()
        .env("HEALTHLEDGER_CHAIN__RPC", &anvil.url)
        .args(["anchor", "status"])
        .output()
        .expect("spawn");
    assert_eq!(r.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&r.stderr).contains("chain.rpc is set but not chain.contract"));
}

fn first_cn_id(bundle: &std::path::Path) -> String {
    let v: serde_json::Value =
        serde_json::from_slice(&std::fs::read(bundle).expect("read")).expect("json");
    v["entry"]
        .as_array()
        .expect("entries")
        .iter()
        .filter_map(|e| e["resource"]["identifier"].as_array())
        .flatten()
        .find(|i| i["system"] == "urn:oid:2.16.156.10011.1.3")
        .and_then(|i| i["value"].as_str())
        .expect("a resident id")
        .to_owned()
}
