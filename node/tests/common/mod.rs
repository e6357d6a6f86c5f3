//! Runs the real `healthledger` binary against a temporary data dir.
#![allow(dead_code)]

pub mod api;
pub mod chain;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub struct Hl {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub ok: bool,
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Self {
        Self {
            ok: o.status.success(),
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_healthledger")
}

/// The repository's root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The interpreter with the pinned Python tools (FHIR validation, schemathesis): `HL_PYTHON`
/// as `scripts/test.sh` exports it, or installed once per test process by
/// `scripts/python/env.sh`.
pub fn python() -> &'static str {
    static PY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    PY.get_or_init(|| {
        if let Ok(p) = std::env::var("HL_PYTHON")
            && !p.trim().is_empty()
        {
            return p;
        }
        let out = Command::new("bash")
            .arg(repo().join("scripts/python/env.sh"))
            .stderr(std::process::Stdio::inherit())
            .output()
            .expect("run scripts/python/env.sh");
        assert!(
            out.status.success(),
            "scripts/python/env.sh failed: the tests need Python 3.9+ with venv (or HL_PYTHON)"
        );
        String::from_utf8(out.stdout)
            .expect("env.sh output")
            .trim()
            .to_owned()
    })
}

/// The third-party FHIR samples beside the repository (`../shared/data/fhir`).
pub fn shared_fhir() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data/fhir");
    assert!(p.is_dir(), "FHIR samples not found at {}", p.display());
    p
}

impl Hl {
    /// A fresh, initialised data dir.
    pub fn init() -> Self {
        Self::init_named("Test Community Health Centre")
    }

    /// A fresh data dir for the institution `name`.
    pub fn init_named(name: &str) -> Self {
        let hl = Self {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        let r = hl.run(&["init", "--institution", name]);
        assert!(r.ok, "init failed: {}", r.stderr);
        hl
    }

    pub fn data(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn cmd(&self) -> Command {
        let mut c = Command::new(bin());
        c.arg("--data-dir").arg(self.data());
        c.env_remove("HEALTHLEDGER_DATA_DIR");
        // Tests run in parallel: a node's API takes a free loopback port, never the default.
        c.env("HEALTHLEDGER_API__LISTEN", "127.0.0.1:0");
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.cmd()
            .args(args)
            .output()
            .expect("spawn healthledger")
            .into()
    }

    pub fn json(&self, args: &[&str]) -> serde_json::Value {
        let mut all = args.to_vec();
        all.push("--json");
        let r = self.run(&all);
        assert!(r.ok, "{args:?} failed: {}", r.stderr);
        serde_json::from_str(&r.stdout).expect("JSON output")
    }

    /// (size, root) of the current checkpoint.
    pub fn head(&self) -> (u64, String) {
        let v = self.json(&["log", "checkpoint"]);
        (
            v["size"].as_u64().expect("size"),
            v["root"].as_str().expect("root").to_owned(),
        )
    }

    /// `healthledger synth` into `<tempdir>/<dir>`; the files it wrote, in name order.
    pub fn synth(&self, dir: &str, residents: u32, seed: u32) -> Vec<PathBuf> {
        let out = self.dir.path().join(dir);
        let (n, s) = (residents.to_string(), seed.to_string());
        let r = self.run(&[
            "synth",
            "--residents",
            &n,
            "--seed",
            &s,
            "--out",
            out.to_str().expect("utf8 path"),
        ]);
        assert!(r.ok, "synth: {}", r.stderr);
        let mut files: Vec<PathBuf> = std::fs::read_dir(&out)
            .expect("synth dir")
            .map(|e| e.expect("entry").path())
            .collect();
        files.sort();
        files
    }

    pub fn write(&self, name: &str, contents: &[u8]) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, contents).expect("write input");
        p
    }
}

/// The runtime in-process tests drive their members on: two workers, like the CI machine.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// Polls `f` every 100 ms until it holds; fails naming `what` after 30 s.
pub async fn eventually(what: &str, f: impl Fn() -> bool) {
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        while !f() {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
    })
    .await
    .unwrap_or_else(|_| panic!("timed out waiting for {what}"));
}
