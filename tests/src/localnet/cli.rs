//! The `healthledger` command line against one data dir, every run bounded in time.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::error::{Error, Result};

/// How long one command may run before it is killed.
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The binary, a data dir and the environment every command of that data dir gets.
#[derive(Debug, Clone)]
pub struct Cli {
    pub bin: PathBuf,
    pub data: PathBuf,
    pub env: Vec<(String, String)>,
}

/// What a finished command printed.
#[derive(Debug)]
pub struct Output {
    pub ok: bool,
    pub status: String,
    pub stdout: String,
    pub stderr: String,
}

impl Cli {
    pub fn new(bin: impl Into<PathBuf>, data: impl Into<PathBuf>) -> Self {
        Self {
            bin: bin.into(),
            data: data.into(),
            env: Vec::new(),
        }
    }

    /// The same data dir, with `HEALTHLEDGER_CHAIN__RPC` and `__CONTRACT` set.
    pub fn on_chain(&self, rpc: &str, contract: &str) -> Self {
        let mut c = self.clone();
        c.set_env("HEALTHLEDGER_CHAIN__RPC", rpc);
        c.set_env("HEALTHLEDGER_CHAIN__CONTRACT", contract);
        c
    }

    pub fn set_env(&mut self, key: &str, value: &str) {
        self.env.retain(|(k, _)| k != key);
        self.env.push((key.to_owned(), value.to_owned()));
    }

    /// `healthledger --data-dir DATA` with this data dir's environment. The caller's own
    /// `HEALTHLEDGER_DATA_DIR` is dropped, and the API takes a free port unless told otherwise,
    /// so that parallel tests never collide.
    pub fn command(&self) -> Command {
        let mut c = Command::new(&self.bin);
        c.arg("--data-dir").arg(&self.data);
        c.env_remove("HEALTHLEDGER_DATA_DIR");
        c.env("HEALTHLEDGER_API__LISTEN", "127.0.0.1:0");
        for (k, v) in &self.env {
            c.env(k, v);
        }
        c
    }

    /// Runs `healthledger ARGS`, killed after [`COMMAND_TIMEOUT`].
    pub fn run(&self, args: &[&str]) -> Result<Output> {
        let mut cmd = self.command();
        cmd.args(args);
        run_bounded(cmd, &args.join(" "), COMMAND_TIMEOUT)
    }

    /// Runs `healthledger ARGS`; its trimmed stdout, or the error it printed.
    pub fn ok(&self, args: &[&str]) -> Result<String> {
        let out = self.run(args)?;
        if out.ok {
            Ok(out.stdout.trim().to_owned())
        } else {
            Err(Error::Cli {
                args: args.join(" "),
                status: out.status,
                stderr: out.stderr.trim().to_owned(),
            })
        }
    }

    /// Runs `healthledger ARGS --json` and parses what it printed.
    pub fn json(&self, args: &[&str]) -> Result<serde_json::Value> {
        let mut all = args.to_vec();
        all.push("--json");
        let text = self.ok(&all)?;
        serde_json::from_str(&text).map_err(|e| {
            Error::unexpected(format!(
                "`healthledger {}` printed no JSON ({e}): {text}",
                all.join(" ")
            ))
        })
    }

    pub fn data(&self) -> &Path {
        &self.data
    }
}

/// Runs `cmd` to completion or kills it after `timeout`.
pub fn run_bounded(mut cmd: Command, what: &str, timeout: Duration) -> Result<Output> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::io(format!("spawning `{what}`"), e))?;
    // Readers drain both pipes so that a chatty command never blocks on a full pipe.
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut p) = pipe {
                let mut bytes = Vec::new();
                let _ = p.read_to_end(&mut bytes);
                text = String::from_utf8_lossy(&bytes).into_owned();
            }
            text
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + timeout;
    let status = loop {
        match child.try_wait() {
            Ok(Some(s)) => break s,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::Timeout {
                    what: format!("`{what}` finishing"),
                    secs: timeout.as_secs(),
                    detail: "it was killed".into(),
                });
            }
            Err(e) => return Err(Error::io(format!("waiting for `{what}`"), e)),
        }
    };
    Ok(Output {
        ok: status.success(),
        status: status.to_string(),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}
