//! One `healthledger node` process of a local consortium: its API and network addresses read
//! from its stderr, staff tokens per role, a blocking HTTP client, stop and restart on the same
//! data dir. The process is killed when the handle is dropped (also on panic).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use serde_json::Value;

use super::cli::Cli;
use super::error::{Error, Result};
use super::http::{self, Resp};
use super::wait;

/// Staff roles a node gets a token for.
pub const ROLES: [&str; 4] = ["ingest", "clinician", "admin", "auditor"];
/// How long a node may take to print its addresses, and then to be ready.
pub const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a node may take to stop after SIGTERM before it is killed.
pub const STOP_TIMEOUT: Duration = Duration::from_secs(30);
/// Lines of the node's log quoted in error messages.
const LOG_TAIL: usize = 40;
/// The most of a node's log kept in memory.
const MAX_LOG_BYTES: usize = 8 << 20;

/// A member node of the local consortium.
pub struct Node {
    pub name: String,
    pub origin: String,
    /// The institution's chain account (0x…), as admitted.
    pub account: String,
    /// `http://127.0.0.1:<port>`.
    pub url: String,
    /// The network address peers dial, ending in `/p2p/<peer id>`.
    pub p2p: String,
    /// Staff token per role name (see [`ROLES`]).
    pub tokens: BTreeMap<String, String>,
    cli: Cli,
    bootstrap: Vec<String>,
    child: Mutex<Option<Child>>,
    log: Arc<Mutex<String>>,
    client: Client,
}

/// What the stderr reader saw.
enum Seen {
    Api(String),
    Network(String),
}

impl Node {
    /// Creates the staff tokens of the node whose data dir `cli` names. Not started yet.
    pub(crate) fn prepare(name: &str, origin: &str, account: &str, cli: Cli) -> Result<Self> {
        let mut tokens = BTreeMap::new();
        for role in ROLES {
            let token = cli.ok(&[
                "token",
                "create",
                "--name",
                &format!("localnet-{role}"),
                "--role",
                role,
            ])?;
            tokens.insert(role.to_owned(), token);
        }
        Ok(Self {
            name: name.to_owned(),
            origin: origin.to_owned(),
            account: account.to_owned(),
            url: String::new(),
            p2p: String::new(),
            tokens,
            cli,
            bootstrap: Vec::new(),
            child: Mutex::new(None),
            log: Arc::new(Mutex::new(String::new())),
            client: http::client()?,
        })
    }

    /// Starts the process dialling `bootstrap` and waits until it printed where its API and
    /// network listen (not until it is ready: see [`Node::wait_ready`]). The first start takes
    /// free ports; later starts keep them, so that peers and URLs stay valid.
    pub(crate) fn spawn(&mut self, bootstrap: &[String]) -> Result<()> {
        self.bootstrap = bootstrap.to_vec();
        let mut cmd = self.cli.command();
        if !self.bootstrap.is_empty() {
            // figment reads an environment value `["…", "…"]` as a list.
            let list = serde_json::to_string(&self.bootstrap)
                .map_err(|e| Error::unexpected(format!("bootstrap list: {e}")))?;
            cmd.env("HEALTHLEDGER_NETWORK__BOOTSTRAP", list);
        }
        cmd.args(["--log", "info", "node"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::io(format!("spawning node {}", self.name), e))?;
        let stderr = child.stderr.take();
        *self.child_slot() = Some(child);
        let (tx, rx) = mpsc::channel();
        let log = self.log.clone();
        std::thread::spawn(move || {
            let Some(stderr) = stderr else { return };
            for line in BufReader::new(stderr)
                .lines()
                .map_while(std::result::Result::ok)
            {
                let seen = if let Some(url) = line.split("API listening on ").nth(1) {
                    Some(Seen::Api(url.trim().to_owned()))
                } else {
                    line.split("network listening on ")
                        .nth(1)
                        .map(|a| Seen::Network(a.trim().to_owned()))
                };
                {
                    let mut l = log.lock().unwrap_or_else(|p| p.into_inner());
                    if l.len() > MAX_LOG_BYTES {
                        // Long runs keep the recent half: failures quote the tail.
                        let cut = l.len() - MAX_LOG_BYTES / 2;
                        let cut = (cut..l.len()).find(|i| l.is_char_boundary(*i)).unwrap_or(0);
                        l.drain(..cut);
                    }
                    l.push_str(&line);
                    l.push('\n');
                }
                if let Some(s) = seen {
                    let _ = tx.send(s);
                }
            }
        });
        let (mut api, mut net) = (None, None);
        let deadline = Instant::now() + START_TIMEOUT;
        while api.is_none() || net.is_none() {
            match rx.recv_timeout(Duration::from_millis(100)) {
                Ok(Seen::Api(u)) => api = api.or(Some(u)),
                Ok(Seen::Network(a)) => net = net.or(Some(a)),
                Err(mpsc::RecvTimeoutError::Timeout) => {}
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(self.failed("stopped before printing its addresses"));
                }
            }
            if let Some(status) = self.exited() {
                return Err(self.failed(&format!("exited ({status}) while starting")));
            }
            if Instant::now() >= deadline {
                return Err(self.failed(&format!(
                    "printed no API and network address within {} s",
                    START_TIMEOUT.as_secs()
                )));
            }
        }
        let (url, p2p) = (api.unwrap_or_default(), net.unwrap_or_default());
        // Keep the ports for restarts: peers bootstrap to this address.
        if let Some(port) = url.rsplit(':').next() {
            self.cli
                .set_env("HEALTHLEDGER_API__LISTEN", &format!("127.0.0.1:{port}"));
        }
        if let Some((listen, _peer)) = p2p.split_once("/p2p/") {
            self.cli.set_env("HEALTHLEDGER_NETWORK__LISTEN", listen);
        }
        self.url = url;
        self.p2p = p2p;
        Ok(())
    }

    /// Waits until `/readyz` answers 200 (the first QC pass is done).
    pub fn wait_ready(&self) -> Result<()> {
        wait::until(&format!("node {} ready", self.name), START_TIMEOUT, || {
            if let Some(status) = self.exited() {
                return Err(self.failed(&format!("exited ({status}) before it was ready")));
            }
            match self.get("/readyz", None, &[]) {
                Ok(r) if r.status == 200 => Ok(Ok(())),
                Ok(r) => Ok(Err(format!("/readyz {}", r.status))),
                Err(e) => Ok(Err(e.to_string())),
            }
        })
        .map_err(|e| self.failed(&e.to_string()))
    }

    /// The exit status if the process has ended.
    fn exited(&self) -> Option<String> {
        match self.child_slot().as_mut()?.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            Ok(None) => None,
            Err(e) => Some(format!("unknown: {e}")),
        }
    }

    fn child_slot(&self) -> std::sync::MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn failed(&self, what: &str) -> Error {
        Error::Node {
            node: self.name.clone(),
            detail: format!(
                "{what}; last lines of its log:\n{}",
                self.log_tail(LOG_TAIL)
            ),
        }
    }

    /// The last `n` lines the node wrote on stderr.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Everything the node wrote on stderr so far (all its starts).
    pub fn log(&self) -> String {
        self.log.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// The process id while the node runs.
    pub fn pid(&self) -> Option<u32> {
        self.child_slot().as_ref().map(Child::id)
    }

    /// The node's data dir.
    pub fn data_dir(&self) -> &std::path::Path {
        self.cli.data()
    }

    /// The CLI on this node's data dir, with the node's chain settings.
    pub fn cli(&self) -> &Cli {
        &self.cli
    }

    /// Sets `key` in this node's environment for its later CLI runs and starts (e.g. a setting
    /// to change before [`Node::restart`]).
    pub fn set_env(&mut self, key: &str, value: &str) {
        self.cli.set_env(key, value);
    }

    /// The token of `role`.
    pub fn token(&self, role: &str) -> Result<&str> {
        self.tokens
            .get(role)
            .map(String::as_str)
            .ok_or_else(|| Error::unexpected(format!("node {} has no {role} token", self.name)))
    }

    pub fn abs(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.url)
        }
    }

    /// GET `path` with an optional bearer token and extra headers.
    pub fn get(&self, path: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Result<Resp> {
        let what = format!("GET {path} at {}", self.name);
        http::send(self.client.get(self.abs(path)), what, token, headers)
    }

    /// POST `body` as FHIR JSON (what every route of the API accepts).
    pub fn post(
        &self,
        path: &str,
        token: Option<&str>,
        body: &Value,
        headers: &[(&str, &str)],
    ) -> Result<Resp> {
        let what = format!("POST {path} at {}", self.name);
        let bytes =
            serde_json::to_vec(body).map_err(|e| Error::unexpected(format!("{what}: {e}")))?;
        let req = self
            .client
            .post(self.abs(path))
            .header("content-type", "application/fhir+json")
            .body(bytes);
        http::send(req, what, token, headers)
    }

    /// Writes a FHIR transaction Bundle with the ingest token; the transaction-response.
    pub fn ingest(&self, bundle: &Value) -> Result<Value> {
        self.post("/fhir", Some(self.token("ingest")?), bundle, &[])?
            .expect_json(200)
    }

    /// `{"size","anchoredSize","lag"}` of `/v1/anchors`.
    pub fn anchors(&self) -> Result<Value> {
        self.get("/v1/anchors", Some(self.token("auditor")?), &[])?
            .expect_json(200)
    }

    /// Waits until the node has anchored every record of its log (lag 0) at least up to `size`;
    /// returns the anchored size.
    pub fn wait_anchored(&self, size: u64, timeout: Duration) -> Result<u64> {
        wait::until(&format!("{} anchoring its log", self.name), timeout, || {
            let a = self.anchors()?;
            let anchored = a["anchoredSize"].as_u64().unwrap_or(0);
            if anchored >= size && a["lag"].as_u64() == Some(0) {
                Ok(Ok(anchored))
            } else {
                Ok(Err(format!("{a}")))
            }
        })
    }

    /// Stops the node with SIGTERM and waits for it; whether it exited 0. Killed after
    /// [`STOP_TIMEOUT`].
    pub fn stop(&mut self) -> Result<bool> {
        let Some(mut child) = self.child_slot().take() else {
            return Ok(true);
        };
        let term = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        if !term.is_ok_and(|s| s.success()) {
            let _ = child.kill();
        }
        let deadline = Instant::now() + STOP_TIMEOUT;
        loop {
            match child.try_wait() {
                Ok(Some(status)) => return Ok(status.success()),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Ok(false);
                }
            }
        }
    }

    /// Stops the node and starts it again on the same data dir, ports and bootstrap peers;
    /// waits until it is ready. Errors if it did not stop cleanly.
    pub fn restart(&mut self) -> Result<()> {
        if !self.stop()? {
            return Err(self.failed("did not stop cleanly"));
        }
        let bootstrap = self.bootstrap.clone();
        self.spawn(&bootstrap)?;
        self.wait_ready()
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut c) = self.child_slot().take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
