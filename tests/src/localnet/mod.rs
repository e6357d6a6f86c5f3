//! A consortium on loopback: anvil with the HealthLedger contract, and N `healthledger node`
//! processes, each an admitted and funded member with staff tokens, joined in the consortium
//! network (pre-shared key, gossip, consent-gated fetch). Everything is bounded in time and
//! every process is killed when the [`Localnet`] is dropped, also on panic.
//!
//! ```no_run
//! use hl_tests::localnet::{Institution, Localnet};
//! let net = Localnet::start(
//!     "target/debug/healthledger".as_ref(),
//!     &[Institution::new("Centre", "centre.example/log"), Institution::new("Hospital", "hospital.example/log")],
//! )?;
//! let centre = &net.nodes[0];
//! # Ok::<(), hl_tests::localnet::Error>(())
//! ```

pub mod chain;
pub mod cli;
pub mod demo;
mod error;
pub mod http;
pub mod node;
pub mod resident;
pub mod view;
pub mod wait;
pub mod wallet;

use std::path::{Path, PathBuf};
use std::time::Instant;

pub use cli::Cli;
pub use error::{Error, Result};
pub use node::Node;
pub use resident::{SharedResident, Visit};
pub use view::ConsortiumView;

use crate::{ANVIL_KEY_0, Anvil};

/// A member to create: its name (shown to people) and its log origin.
#[derive(Debug, Clone)]
pub struct Institution {
    pub name: String,
    pub origin: String,
}

impl Institution {
    pub fn new(name: &str, origin: &str) -> Self {
        Self {
            name: name.to_owned(),
            origin: origin.to_owned(),
        }
    }
}

/// A running local consortium. Fields drop in order: the nodes stop before the chain does,
/// and the data dirs go last.
pub struct Localnet {
    pub nodes: Vec<Node>,
    pub anvil: Anvil,
    pub contract: String,
    /// The file with the governor's key (anvil's account 0).
    pub governor_key: PathBuf,
    /// The key every member derives resident pseudonyms with.
    pub consortium_key: [u8; 32],
    /// How long [`Localnet::start`] took, in seconds.
    pub setup_secs: f64,
    root: tempfile::TempDir,
}

impl Localnet {
    /// Starts anvil, deploys the contract, creates, admits and funds one member per
    /// `institutions` entry (all with one consortium key), creates their staff tokens and
    /// starts their nodes, each bootstrapping to the ones started before it; returns once
    /// every node is ready.
    pub fn start(bin: &Path, institutions: &[Institution]) -> Result<Self> {
        Self::start_with(bin, institutions, &[])
    }

    /// [`Localnet::start`], with extra environment for some nodes: `env[i]` is set for the
    /// node of `institutions[i]` (for its CLI runs and its process, over the harness's own
    /// settings, e.g. `HEALTHLEDGER_NETWORK__REMOTE_CACHE_SECS`); nodes past the end of `env`
    /// get none.
    pub fn start_with(
        bin: &Path,
        institutions: &[Institution],
        env: &[&[(&str, &str)]],
    ) -> Result<Self> {
        let t0 = Instant::now();
        if institutions.is_empty() {
            return Err(Error::unexpected(
                "a consortium needs at least one institution",
            ));
        }
        let root = tempfile::Builder::new()
            .prefix("hl-localnet-")
            .tempdir()
            .map_err(|e| Error::io("creating the localnet dir", e))?;
        let anvil = Anvil::launch().map_err(Error::Chain)?;
        let governor_key = root.path().join("governor.key");
        write(&governor_key, &format!("{ANVIL_KEY_0}\n"))?;
        let rpc = chain::Rpc::new(&anvil.url)?;

        // The first member's init makes the consortium key; the others are given it.
        let shared = root.path().join("consortium.key");
        let mut clis = Vec::new();
        for (i, inst) in institutions.iter().enumerate() {
            let cli = Cli::new(bin, root.path().join(format!("node{i}")));
            let mut args = vec![
                "init",
                "--institution",
                &inst.name,
                "--origin",
                &inst.origin,
            ];
            let shared_str = chain::path_str(&shared)?.to_owned();
            if i > 0 {
                args.extend(["--consortium-key", &shared_str]);
            }
            cli.ok(&args)?;
            if i == 0 {
                let key = cli.data().join("keys/consortium.key");
                std::fs::copy(&key, &shared)
                    .map_err(|e| Error::io(format!("copying {}", key.display()), e))?;
            }
            clis.push(cli);
        }
        let consortium_key = read_key(&shared)?;

        let contract = chain::deploy(&clis[0], &anvil.url, &governor_key)?;
        let mut nodes = Vec::new();
        for (i, (inst, cli)) in institutions.iter().zip(clis).enumerate() {
            let mut cli = cli.on_chain(&anvil.url, &contract);
            let admitted = chain::admit(&cli, &governor_key, &inst.name)?;
            rpc.fund(&admitted.account)?;
            for (k, v) in [
                ("HEALTHLEDGER_NETWORK__ENABLED", "true"),
                ("HEALTHLEDGER_NETWORK__LISTEN", "/ip4/127.0.0.1/tcp/0"),
                ("HEALTHLEDGER_ANCHOR__INTERVAL_SECS", "1"),
                ("HEALTHLEDGER_API__LISTEN", "127.0.0.1:0"),
            ] {
                cli.set_env(k, v);
            }
            for (k, v) in env.get(i).copied().unwrap_or_default() {
                cli.set_env(k, v);
            }
            nodes.push(Node::prepare(
                &inst.name,
                &inst.origin,
                &admitted.account,
                cli,
            )?);
        }
        // Each node dials those started before it; readiness (the first QC pass) is awaited
        // for all at once.
        let mut peers: Vec<String> = Vec::new();
        for node in &mut nodes {
            node.spawn(&peers)?;
            peers.push(node.p2p.clone());
        }
        for node in &nodes {
            node.wait_ready()?;
        }
        Ok(Self {
            nodes,
            anvil,
            contract,
            governor_key,
            consortium_key,
            setup_secs: t0.elapsed().as_secs_f64(),
            root,
        })
    }

    /// JSON-RPC to the chain.
    pub fn rpc(&self) -> Result<chain::Rpc> {
        chain::Rpc::new(&self.anvil.url)
    }

    /// The node of the institution named `name`.
    pub fn node(&self, name: &str) -> Result<&Node> {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .ok_or_else(|| Error::unexpected(format!("no node named {name}")))
    }

    /// The directory holding every data dir (removed on drop).
    pub fn dir(&self) -> &Path {
        self.root.path()
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).map_err(|e| Error::io(format!("writing {}", path.display()), e))
}

fn read_key(path: &Path) -> Result<[u8; 32]> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Error::io(format!("reading {}", path.display()), e))?;
    let mut k = [0u8; 32];
    hex::decode_to_slice(text.trim(), &mut k)
        .map_err(|e| Error::unexpected(format!("{} is not 64 hex digits: {e}", path.display())))?;
    Ok(k)
}
