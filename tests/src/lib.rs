//! Real processes for integration tests, on loopback only, stopped when dropped.

pub mod localnet;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// anvil's well-known development keys (accounts 0 and 1 of its default mnemonic).
pub const ANVIL_KEY_0: &str = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
pub const ANVIL_KEY_1: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";

/// The repository root.
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A foundry tool from the pinned npm packages (`npm ci` installs them).
pub fn foundry_bin(tool: &str) -> PathBuf {
    foundry_path(tool).unwrap_or_else(|e| panic!("{e}"))
}

/// [`foundry_bin`], or why it is not there.
pub fn foundry_path(tool: &str) -> Result<PathBuf, String> {
    let p = repo_root().join(format!(
        "node_modules/@foundry-rs/{tool}-linux-amd64/bin/{tool}"
    ));
    if p.exists() {
        Ok(p)
    } else {
        Err(format!(
            "{tool} not installed at {} (run `npm ci` at the repo root)",
            p.display()
        ))
    }
}

/// A port that was free a moment ago on 127.0.0.1.
pub fn free_port() -> u16 {
    try_free_port().unwrap_or_else(|e| panic!("no free loopback port: {e}"))
}

fn try_free_port() -> std::io::Result<u16> {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
}

/// An anvil chain on a free loopback port, killed on drop.
pub struct Anvil {
    child: Child,
    pub port: u16,
    pub url: String,
}

impl Anvil {
    /// Starts anvil on a port the system picks (`--port 0`), read from anvil's own
    /// "Listening on" line. Choosing a "free" port ourselves raced with tests starting anvil
    /// in parallel: two could be handed the same port, and the one that lost the bind looked
    /// alive long enough to be used against the other's chain.
    pub fn start() -> Self {
        Self::launch().unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Anvil::start`], or why anvil could not be started.
    pub fn launch() -> Result<Self, String> {
        let bin = foundry_path("anvil")?;
        let mut child = Command::new(&bin)
            .args(["--host", "127.0.0.1", "--port", "0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", bin.display()))?;
        let Some(stdout) = child.stdout.take() else {
            let _ = child.kill();
            return Err("anvil's output is not piped".into());
        };
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            for line in lines.by_ref() {
                let Ok(line) = line else { return };
                if let Some(addr) = line.trim().strip_prefix("Listening on ") {
                    let _ = tx.send(addr.to_owned());
                    break;
                }
            }
            // anvil logs every request: keep reading so that it never blocks on a full pipe.
            for _ in lines {}
        });
        let mut anvil = Self {
            child,
            port: 0,
            url: String::new(),
        };
        let addr = rx
            .recv_timeout(Duration::from_secs(20))
            .map_err(|_| "anvil did not say where it listens within 20 s".to_owned())?;
        anvil.port = addr
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .ok_or_else(|| format!("anvil listens on '{addr}', which names no port"))?;
        anvil.url = format!("http://127.0.0.1:{}", anvil.port);
        Ok(anvil)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Anvil {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
