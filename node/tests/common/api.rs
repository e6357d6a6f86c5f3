//! A `healthledger node` with its HTTP API on a free loopback port, staff tokens for every
//! role, and a small blocking client. The node is stopped (SIGTERM, then SIGKILL) on drop.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::blocking::Client;
use reqwest::header::HeaderMap;
use serde_json::Value;

use super::Hl;

pub const ROLES: [&str; 4] = ["ingest", "clinician", "admin", "auditor"];

pub struct ApiNode {
    pub hl: Hl,
    child: Option<Child>,
    /// `http://127.0.0.1:<port>`
    pub url: String,
    /// Staff token per role name.
    pub tokens: HashMap<&'static str, String>,
    /// Everything the node wrote on stderr so far.
    pub log: Arc<Mutex<String>>,
    pub client: Client,
}

/// One HTTP answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub text: String,
}

impl Resp {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.text)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.text))
    }

    /// Asserts the status; on failure shows the body.
    pub fn expect(self, status: u16) -> Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    /// Asserts an error answer is a FHIR OperationOutcome.
    pub fn outcome(&self) -> Value {
        let v = self.json();
        assert_eq!(v["resourceType"], "OperationOutcome", "{}", self.text);
        v
    }
}

impl ApiNode {
    /// Starts a node on `hl` (already initialised) with tokens for every staff role.
    pub fn start(hl: Hl) -> Self {
        Self::start_with(hl, &[])
    }

    pub fn start_with(hl: Hl, env: &[(&str, &str)]) -> Self {
        let mut tokens = HashMap::new();
        for role in ROLES {
            let r = hl.run(&[
                "token",
                "create",
                "--name",
                &format!("test-{role}"),
                "--role",
                role,
            ]);
            assert!(r.ok, "token create: {}", r.stderr);
            tokens.insert(role, r.stdout.trim().to_owned());
        }
        let mut cmd = hl.cmd();
        cmd.arg("--log")
            .arg("info")
            .arg("node")
            .env("HEALTHLEDGER_ANCHOR__INTERVAL_SECS", "1")
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().expect("spawn healthledger node");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        {
            let log = log.clone();
            std::thread::spawn(move || {
                let mut tx = Some(tx);
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(url) = line.split("API listening on ").nth(1)
                        && let Some(tx) = tx.take()
                    {
                        let _ = tx.send(url.trim().to_owned());
                    }
                    let mut l = log.lock().expect("log");
                    l.push_str(&line);
                    l.push('\n');
                }
            });
        }
        let url = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(url) => url,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "node did not start its API; log:\n{}",
                    log.lock().expect("log")
                );
            }
        };
        let client = Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("HTTP client");
        let node = Self {
            hl,
            child: Some(child),
            url,
            tokens,
            log,
            client,
        };
        node.wait_ready();
        node
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if self.get("/readyz", None).status == 200 {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!(
            "node never became ready; log:\n{}",
            self.log.lock().expect("log")
        );
    }

    pub fn token(&self, role: &str) -> &str {
        &self.tokens[role]
    }

    /// GET `path` (relative to the base URL) with an optional bearer token.
    pub fn get(&self, path: &str, token: Option<&str>) -> Resp {
        self.send(self.client.get(self.abs(path)), token)
    }

    pub fn get_with(&self, path: &str, token: Option<&str>, headers: &[(&str, &str)]) -> Resp {
        let mut req = self.client.get(self.abs(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        self.send(req, token)
    }

    pub fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        self.post_bytes(path, token, serde_json::to_vec(body).expect("JSON"))
    }

    pub fn post_bytes(&self, path: &str, token: Option<&str>, body: Vec<u8>) -> Resp {
        let req = self
            .client
            .post(self.abs(path))
            .header("content-type", "application/fhir+json")
            .body(body);
        self.send(req, token)
    }

    pub fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Resp {
        let req = self
            .client
            .put(self.abs(path))
            .header("content-type", "application/fhir+json")
            .body(serde_json::to_vec(body).expect("JSON"));
        self.send(req, token)
    }

    pub fn abs(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.url)
        }
    }

    fn send(&self, mut req: reqwest::blocking::RequestBuilder, token: Option<&str>) -> Resp {
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().expect("HTTP request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().expect("HTTP body");
        Resp {
            status,
            headers,
            text,
        }
    }

    /// Stops the node cleanly and starts it again on the same data dir. The harness creates its
    /// role tokens on every start and token names are unique, so the previous start's tokens
    /// are dropped from config.toml first.
    pub fn restart(&mut self) -> ApiNode {
        assert!(self.stop(), "node did not stop cleanly");
        let hl = std::mem::replace(
            &mut self.hl,
            Hl {
                dir: tempfile::tempdir().expect("tempdir"),
            },
        );
        let config = hl.data().join("config.toml");
        let text = std::fs::read_to_string(&config).expect("config");
        let kept: Vec<&str> = text
            .split("[[api.tokens]]")
            .enumerate()
            .filter(|(i, chunk)| *i == 0 || !chunk.contains("name = \"test-"))
            .map(|(_, c)| c)
            .collect();
        std::fs::write(&config, kept.join("[[api.tokens]]")).expect("config");
        ApiNode::start(hl)
    }

    /// Stops the node with SIGTERM and waits for it; returns whether it exited 0.
    pub fn stop(&mut self) -> bool {
        let Some(mut child) = self.child.take() else {
            return true;
        };
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return status.success();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }
}

impl Drop for ApiNode {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
