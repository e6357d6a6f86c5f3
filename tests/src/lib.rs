//! Real processes for integration tests, on loopback only, stopped when dropped.

pub mod localnet;

use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

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
    /// Starts anvil on a free port. Two processes can be handed the same "free" port; the one
    /// that loses the bind exits, so a start counts only if our child is alive once the port
    /// answers (and a lost race is retried on another port).
    pub fn start() -> Self {
        Self::launch().unwrap_or_else(|e| panic!("{e}"))
    }

    /// [`Anvil::start`], or why anvil could not be started.
    pub fn launch() -> Result<Self, String> {
        let bin = foundry_path("anvil")?;
        for _ in 0..5 {
            if let Some(anvil) = Self::try_start(&bin)? {
                return Ok(anvil);
            }
        }
        Err("anvil did not start after 5 attempts".into())
    }

    fn try_start(bin: &std::path::Path) -> Result<Option<Self>, String> {
        let port = try_free_port().map_err(|e| format!("no free loopback port: {e}"))?;
        let child = Command::new(bin)
            .args([
                "--host",
                "127.0.0.1",
                "--port",
                &port.to_string(),
                "--silent",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawning {}: {e}", bin.display()))?;
        let mut anvil = Self {
            child,
            port,
            url: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if !matches!(anvil.child.try_wait(), Ok(None)) {
                return Ok(None); // exited: the port was taken
            }
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                std::thread::sleep(Duration::from_millis(100));
                return Ok(matches!(anvil.child.try_wait(), Ok(None)).then_some(anvil));
            }
            if Instant::now() >= deadline {
                return Err(format!("anvil did not start on port {port} within 20 s"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
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
