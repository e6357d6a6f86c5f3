//! The node's one configuration file, `<data-dir>/config.toml`, overridable by environment
//! variables `HEALTHLEDGER_<SECTION>__<KEY>` (for example `HEALTHLEDGER_INGEST__MAX_INPUT_BYTES`).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use hl_ledger::input::{DEFAULT_MAX_INPUT_BYTES, InputOptions};
use hl_ledger::note::NoteSigner;
use hl_ledger::pseudonym::{Pseudonymizer, default_resident_systems};
use hl_ledger::{Ledger, StoreOptions};
use serde::{Deserialize, Serialize};

pub const CONFIG_FILE: &str = "config.toml";
pub const LEDGER_FILE: &str = "ledger.redb";

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub institution: Institution,
    #[serde(default)]
    pub keys: Keys,
    #[serde(default)]
    pub identity: Identity,
    #[serde(default)]
    pub ingest: Ingest,
    #[serde(default)]
    pub store: Store,
    #[serde(default)]
    pub chain: ChainConfig,
    #[serde(default)]
    pub anchor: AnchorConfig,
    #[serde(default)]
    pub inbox: InboxConfig,
    #[serde(default)]
    pub qc: QcConfig,
    #[serde(default)]
    pub api: hl_api::ApiConfig,
    #[serde(default)]
    pub network: crate::net::NetworkConfig,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QcConfig {
    /// Re-evaluate the residents new records touch and append QC summary records.
    pub enabled: bool,
    /// Re-evaluate every resident this often (seconds), since follow-ups fall due with time
    /// alone; 0 turns it off.
    pub reevaluate_secs: u64,
}

impl Default for QcConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            reevaluate_secs: 86_400,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnchorConfig {
    /// Anchor at least this often (seconds) while new records wait.
    pub interval_secs: u64,
    /// Anchor as soon as this many records wait.
    pub every_records: u64,
    /// Give up one anchoring attempt after this long (seconds) and retry with backoff.
    pub rpc_timeout_secs: u64,
}

impl Default for AnchorConfig {
    fn default() -> Self {
        Self {
            interval_secs: 30,
            every_records: 10_000,
            rpc_timeout_secs: 30,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboxConfig {
    /// Directory watched by `healthledger node` for FHIR files to ingest.
    pub dir: PathBuf,
    /// How often it looks, in milliseconds.
    pub poll_ms: u64,
}

impl Default for InboxConfig {
    fn default() -> Self {
        Self {
            dir: "inbox".into(),
            poll_ms: 500,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChainConfig {
    /// Ethereum JSON-RPC endpoint of the consortium chain; without it the embedded chain is used.
    pub rpc: Option<String>,
    /// Chain id of the embedded chain.
    pub chain_id: u64,
    /// Where `healthledger node` serves the embedded chain's JSON-RPC (e.g. "127.0.0.1:8545"),
    /// for cast, ethers.js or other members' tools; not served when absent.
    pub embedded_http: Option<String>,
    /// Address of the HealthLedger contract.
    pub contract: Option<String>,
    /// This institution's chain account key (hex secp256k1).
    pub key_file: PathBuf,
    /// Blocks to wait after inclusion before a head counts as anchored.
    pub confirmations: u64,
}

impl Default for ChainConfig {
    fn default() -> Self {
        Self {
            rpc: None,
            chain_id: 1_337_042,
            embedded_http: None,
            contract: None,
            key_file: "keys/eth.key".into(),
            confirmations: 1,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Institution {
    pub name: String,
    /// Log origin, also the name of the checkpoint signing key.
    pub origin: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Keys {
    pub log_key: PathBuf,
    pub consortium_key: PathBuf,
}

impl Default for Keys {
    fn default() -> Self {
        Self {
            log_key: "keys/log.key".into(),
            consortium_key: "keys/consortium.key".into(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub resident_systems: Vec<String>,
}

impl Default for Identity {
    fn default() -> Self {
        Self {
            resident_systems: default_resident_systems(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ingest {
    pub max_input_bytes: usize,
}

impl Default for Ingest {
    fn default() -> Self {
        Self {
            max_input_bytes: DEFAULT_MAX_INPUT_BYTES,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Store {
    pub cache_mb: usize,
    pub max_group_records: usize,
}

impl Default for Store {
    fn default() -> Self {
        let d = StoreOptions::default();
        Self {
            cache_mb: d.cache_bytes / (1024 * 1024),
            max_group_records: d.max_group_records,
        }
    }
}

/// The commented config file `init` writes.
pub fn initial_config_text(name: &str, origin: &str) -> String {
    let q = |s: &str| toml::Value::String(s.to_owned()).to_string();
    let systems = default_resident_systems()
        .iter()
        .map(|s| format!("    {},", q(s)))
        .collect::<Vec<_>>()
        .join("\n");
    let store = Store::default();
    format!(
        r#"# HealthLedger node configuration.
# Every value can be overridden by an environment variable HEALTHLEDGER_<SECTION>__<KEY>,
# e.g. HEALTHLEDGER_INGEST__MAX_INPUT_BYTES=1048576. Relative paths are relative to the data dir.

[institution]
# Shown to people.
name = {name}
# Log origin: the first line of every checkpoint and the name of the signing key. Never change
# it once records exist: the log's identity (and every proof) depends on it.
origin = {origin}

[keys]
# Ed25519 log signing key (C2SP signer key text). Keep it secret (mode 0600).
log_key = "keys/log.key"
# 32-byte consortium key (hex) for resident pseudonyms; every member must hold the same one.
consortium_key = "keys/consortium.key"

[identity]
# Patient.identifier systems that identify a resident across the consortium, in order of
# preference. A Patient with none of them gets a pseudonym valid only in this institution.
resident_systems = [
{systems}
]

[ingest]
# Largest accepted input file or request body, in bytes.
max_input_bytes = {max}

[store]
# Page cache of the store, in MiB.
cache_mb = {cache}
# Most records one group commit takes.
max_group_records = {group}

[chain]
# Without `rpc`, the node anchors on its embedded chain (revm, in chain.redb; the contract is
# deployed and this institution registered on first use). A consortium sets `rpc` to its chain
# (any Ethereum JSON-RPC endpoint: anvil, Besu QBFT, geth) and `contract` to the HealthLedger
# contract there (`healthledger chain deploy` prints its address).
# rpc = "http://127.0.0.1:8545"
# contract = "0x..."
chain_id = 1337042
# Serve the embedded chain's JSON-RPC on loopback while `healthledger node` runs (for cast):
# embedded_http = "127.0.0.1:8545"
# This institution's chain account (hex secp256k1 key, mode 0600); the governor admits its address.
key_file = "keys/eth.key"
# Blocks to wait after inclusion before a head counts as anchored.
confirmations = 1

[anchor]
# `healthledger node` anchors at least this often (seconds) while new records wait...
interval_secs = 30
# ...and as soon as this many records wait.
every_records = 10000
# One attempt gives up after this long and is retried with backoff (up to 60 s).
rpc_timeout_secs = 30

[inbox]
# `healthledger node` ingests *.json and *.ndjson files dropped here (write them under another
# name and rename into place), then moves them to done/ or rejected/ (with a .error file).
dir = "inbox"
poll_ms = 500

[qc]
# `healthledger node` re-evaluates the QC rules for the residents new records touch and appends
# a QC summary record (Basic/qc-<pseudonym>) whenever a resident's status changes...
enabled = true
# ...and re-evaluates every resident this often (seconds; 0 = never), as follow-ups and doses
# fall due with time alone.
reevaluate_secs = 86400

[network]
# Join the consortium network (libp2p; peers are admitted by their log key registered on chain).
enabled = false
listen = "/ip4/127.0.0.1/tcp/0"
# Members to dial and keep connected: "/ip4/10.0.0.2/tcp/4001/p2p/<peer id>".
bootstrap = []
# Re-read the active members from the chain this often (seconds).
allowlist_refresh_secs = 30
# Keep other members' verified records in memory at most this long (seconds; 0 = never), and
# only while the resident's consent holds (checked on chain at every use).
remote_cache_secs = 120

[api]
# `healthledger node` serves the HTTP API (FHIR R4 under /fhir, /v1/..., /openapi.json) here.
# Keep it on loopback behind the institution's reverse proxy (TLS, client limits).
enabled = true
listen = "127.0.0.1:8080"
# Public base URL for `next` links and fullUrls, when the proxy's differs from http://<listen>:
# base_url = "https://ledger.example.org"
# Largest request body (bytes) and longest request (seconds).
max_body_bytes = 16777216
request_timeout_secs = 30
# Sign-In with Ethereum sessions of residents and regulators last this long (seconds).
session_ttl_secs = 900
# A session's wallet binding or regulator listing is checked on chain again after this many
# seconds (0: every request); a rebound wallet or removed regulator is signed out then.
session_recheck_secs = 30
# Page size of searches and $everything: default and most.
default_page_size = 100
max_page_size = 1000
# Staff bearer tokens are appended below by `healthledger token create` (only their SHA-256).
"#,
        name = q(name),
        origin = q(origin),
        max = DEFAULT_MAX_INPUT_BYTES,
        cache = store.cache_mb,
        group = store.max_group_records,
    )
}

/// A data directory with its configuration loaded.
pub struct Node {
    pub data_dir: PathBuf,
    pub config: Config,
}

impl Node {
    pub fn load(data_dir: &Path) -> Result<Self> {
        let path = data_dir.join(CONFIG_FILE);
        if !path.exists() {
            bail!(
                "no {} in data dir {} (run `healthledger init --institution NAME` first)",
                CONFIG_FILE,
                data_dir.display()
            );
        }
        let config: Config = Figment::from(Serialized::defaults(DefaultsOnly::default()))
            .merge(Toml::file_exact(&path))
            .merge(
                Env::prefixed("HEALTHLEDGER_")
                    .filter(|k| k.as_str().contains("__"))
                    .split("__"),
            )
            .extract()
            .with_context(|| format!("reading {}", path.display()))?;
        if config.identity.resident_systems.is_empty() {
            bail!(
                "{}: identity.resident_systems must not be empty",
                path.display()
            );
        }
        Ok(Self {
            data_dir: data_dir.to_owned(),
            config,
        })
    }

    pub fn path(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_owned()
        } else {
            self.data_dir.join(p)
        }
    }

    pub fn signer(&self) -> Result<NoteSigner> {
        let path = self.path(&self.config.keys.log_key);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading log key {}", path.display()))?;
        let signer = NoteSigner::from_secret_text(&text)
            .with_context(|| format!("log key {}", path.display()))?;
        if signer.verifier().name != self.config.institution.origin {
            bail!(
                "log key {} is named '{}' but institution.origin is '{}'",
                path.display(),
                signer.verifier().name,
                self.config.institution.origin
            );
        }
        Ok(signer)
    }

    pub fn consortium_key(&self) -> Result<[u8; 32]> {
        let path = self.path(&self.config.keys.consortium_key);
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading consortium key {}", path.display()))?;
        let mut key = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut key)
            .with_context(|| format!("consortium key {} is not 64 hex digits", path.display()))?;
        Ok(key)
    }

    pub fn pseudonymizer(&self) -> Result<Pseudonymizer> {
        Ok(Pseudonymizer::new(
            self.consortium_key()?,
            self.config.identity.resident_systems.clone(),
            self.config.institution.origin.clone(),
        ))
    }

    pub fn input_options(&self) -> Result<InputOptions> {
        Ok(InputOptions {
            max_bytes: self.config.ingest.max_input_bytes,
            pseudonymizer: self.pseudonymizer()?,
        })
    }

    pub fn open_ledger(&self) -> Result<Ledger> {
        let path = self.data_dir.join(LEDGER_FILE);
        let opts = StoreOptions {
            max_group_records: self.config.store.max_group_records,
            cache_bytes: self.config.store.cache_mb.saturating_mul(1024 * 1024),
        };
        Ledger::open(&path, self.signer()?, opts).map_err(|e| match e {
            hl_ledger::StoreError::InUse => in_use("log", &path),
            e => anyhow::Error::new(e).context(format!("opening the log {}", path.display())),
        })
    }
}

/// A store of the data dir that another process holds: most likely the node itself.
pub fn in_use(what: &str, path: &Path) -> anyhow::Error {
    anyhow::anyhow!(
        "the {what} {} is in use by another process: is `healthledger node` running on this data dir? Stop it first, or ask its HTTP API instead (e.g. GET /v1/checkpoint, /v1/anchors, /v1/qc/summary)",
        path.display()
    )
}

/// Defaults for every section but `institution`, which the file must give.
#[derive(Default, Serialize)]
struct DefaultsOnly {
    keys: Keys,
    identity: Identity,
    ingest: Ingest,
    store: Store,
    chain: ChainConfig,
    anchor: AnchorConfig,
    inbox: InboxConfig,
    api: hl_api::ApiConfig,
    network: crate::net::NetworkConfig,
}
