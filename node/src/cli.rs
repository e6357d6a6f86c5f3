//! Command-line interface.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "healthledger",
    version,
    about = "HealthLedger node: a verifiable log of residents' FHIR health records",
    propagate_version = true
)]
pub struct Cli {
    /// Data directory (config.toml, keys, ledger.redb).
    #[arg(
        long,
        global = true,
        env = "HEALTHLEDGER_DATA_DIR",
        default_value = "healthledger-data"
    )]
    pub data_dir: PathBuf,

    /// Log filter, e.g. `info` or `hl_ledger=debug`.
    #[arg(long, global = true, env = "HEALTHLEDGER_LOG", default_value = "warn")]
    pub log: String,

    /// Whether `--data-dir` (or its env var) was given rather than defaulted: `dev` works in a
    /// throw-away dir unless told otherwise. Set by `main` from clap's value source.
    #[arg(skip)]
    pub data_dir_given: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a data directory: log signing key, consortium key and a commented config.toml.
    Init(InitArgs),
    /// Ingest FHIR R4 Bundles, single resources or NDJSON files into the log.
    Ingest(IngestArgs),
    /// Checkpoints, keys, proofs and exports of the log.
    #[command(subcommand)]
    Log(LogCommand),
    /// Read records.
    #[command(subcommand)]
    Record(RecordCommand),
    /// Check a proof bundle offline: content hashes, leaves, inclusion proofs, signature.
    Verify(VerifyArgs),
    /// Recompute every content hash, leaf and tree node of the log; exit 1 on any mismatch.
    Fsck(JsonArg),
    /// The consortium chain: deploy the contract, admit members, show status.
    #[command(subcommand)]
    Chain(ChainCommand),
    /// Anchor the log's head on the consortium chain, or show how far anchoring lags.
    #[command(subcommand)]
    Anchor(AnchorCommand),
    /// Run the node: ingest files dropped into the inbox and anchor the log on the chain.
    Node,
    /// Data-quality rules, reports and their evaluation against labelled defects.
    #[command(subcommand)]
    Qc(QcCommand),
    /// One resident's longitudinal record.
    #[command(subcommand)]
    Resident(ResidentCommand),
    /// Write a deterministic synthetic FHIR R4 population.
    Synth(SynthArgs),
    /// Synthesize, ingest, checkpoint, export and verify in a throw-away data dir.
    Demo(DemoArgs),
    /// Start a ready-to-use node on loopback: synthetic residents, tokens and example requests.
    Dev(DevArgs),
    /// Staff bearer tokens for the HTTP API (stored hashed in config.toml).
    #[command(subcommand)]
    Token(TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token; prints it once (only its SHA-256 is kept in config.toml).
    Create {
        /// Who holds it, e.g. "dr-wang" (shown in access logs).
        #[arg(long)]
        name: String,
        /// ingest, clinician, admin or auditor.
        #[arg(long)]
        role: hl_api::auth::Role,
    },
    /// List token holders and roles (never the tokens).
    List(JsonArg),
}

#[derive(Debug, Args)]
pub struct JsonArg {
    /// Print JSON (a stable, documented format) instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Institution name, e.g. "Xicheng Community Health Centre".
    #[arg(long)]
    pub institution: String,
    /// Log origin (default: derived from the name, `healthledger.local/<slug>`).
    #[arg(long)]
    pub origin: Option<String>,
    /// File with the consortium's 32-byte key (64 hex digits); a new one is made if absent.
    #[arg(long)]
    pub consortium_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct IngestArgs {
    /// Files to ingest (.json or .ndjson). Each lands whole or not at all.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Do not re-evaluate QC for the residents the files touch (no QC summary records).
    #[arg(long)]
    pub no_qc: bool,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Subcommand)]
pub enum LogCommand {
    /// Print the latest signed checkpoint (C2SP signed note).
    Checkpoint(JsonArg),
    /// Print the log's C2SP verifier key.
    Key,
    /// Inclusion proof of one record.
    Proof(ProofArgs),
    /// Consistency proof between two tree sizes.
    Consistency(ConsistencyArgs),
    /// Write a proof bundle with every record of one resident.
    Export(ExportArgs),
}

#[derive(Debug, Args)]
pub struct ProofArgs {
    #[arg(long)]
    pub index: u64,
    /// Tree size to prove against (default: the current size).
    #[arg(long)]
    pub size: Option<u64>,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct ConsistencyArgs {
    #[arg(long)]
    pub old: u64,
    /// Newer tree size (default: the current size).
    #[arg(long)]
    pub new: Option<u64>,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// Resident: a 64-hex pseudonym, or an identifier value of a configured resident system.
    #[arg(long)]
    pub resident: String,
    /// Output file (default: standard output).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum RecordCommand {
    /// Print one record: envelope and content.
    Get(RecordGetArgs),
}

#[derive(Debug, Args)]
pub struct RecordGetArgs {
    #[arg(long)]
    pub index: u64,
    #[command(flatten)]
    pub json: JsonArg,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Proof bundle file (from `healthledger log export` or the API).
    #[arg(
        value_name = "BUNDLE",
        required_unless_present = "bundle_flag",
        conflicts_with = "bundle_flag"
    )]
    pub file: Option<PathBuf>,
    /// The same file, as a flag.
    #[arg(long = "bundle", id = "bundle_flag", value_name = "BUNDLE")]
    pub bundle_flag: Option<PathBuf>,
    /// The log's verifier key you trust; without it the key inside the bundle is used.
    #[arg(long)]
    pub key: Option<String>,
    #[command(flatten)]
    pub json: JsonArg,
    /// With --rpc and --contract: also check on chain that the key is the one registered for
    /// the log's origin and that the checkpoint is anchored or extends an anchored head.
    #[command(flatten)]
    pub chain: ChainOpts,
}

impl VerifyArgs {
    /// The bundle file, given as the argument or with `--bundle` (clap requires one).
    pub fn bundle(&self) -> &std::path::Path {
        self.file
            .as_deref()
            .or(self.bundle_flag.as_deref())
            .unwrap_or(std::path::Path::new("-"))
    }
}

#[derive(Debug, Args)]
pub struct SynthArgs {
    #[arg(long)]
    pub residents: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Output directory (created if missing).
    #[arg(long)]
    pub out: PathBuf,
    /// The evaluation day T (YYYY-MM-DD): every record is dated before it.
    #[arg(long, default_value = "2026-01-01")]
    pub reference_date: String,
    /// Probability (0 to 1) that a resident gets one defect of a QC rule, labelled in
    /// labels.jsonl in the output directory.
    #[arg(long, default_value = "0", allow_hyphen_values = true)]
    pub defect_rate: String,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    #[arg(long, default_value_t = 200)]
    pub residents: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Keep the demo data dir instead of deleting it.
    #[arg(long)]
    pub keep: bool,
}

#[derive(Debug, Args)]
pub struct DevArgs {
    /// Synthetic residents to ingest into a new data dir.
    #[arg(long, default_value_t = 200)]
    pub residents: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Address of the HTTP API; port 0 picks a free one.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
}

/// Where the chain is; each flag overrides `[chain]` of config.toml.
#[derive(Debug, Args, Clone, Default)]
pub struct ChainOpts {
    /// Ethereum JSON-RPC endpoint, e.g. http://127.0.0.1:8545.
    #[arg(long)]
    pub rpc: Option<String>,
    /// HealthLedger contract address.
    #[arg(long)]
    pub contract: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum ChainCommand {
    /// Deploy the HealthLedger contract; the deploying account becomes the governor.
    Deploy {
        #[arg(long)]
        rpc: Option<String>,
        /// Governor key file (hex secp256k1); default: this node's chain key.
        #[arg(long)]
        governor_key: Option<PathBuf>,
    },
    /// Admit an institution (a governor action).
    Admit {
        #[command(flatten)]
        chain: ChainOpts,
        /// Governor key file; default: this node's chain key.
        #[arg(long)]
        governor_key: Option<PathBuf>,
        /// The institution's chain account address.
        #[arg(long)]
        member: String,
        /// The institution's C2SP log verifier key (`healthledger log key`): origin and Ed25519 key.
        #[arg(long)]
        verifier_key: String,
        /// The institution's name.
        #[arg(long)]
        name: String,
    },
    /// This node's account, membership and latest anchored head.
    Status {
        #[command(flatten)]
        chain: ChainOpts,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Enable (or with --disable, disable) a regulator address (a governor action; on the
    /// embedded chain this node is the governor).
    Regulator {
        #[command(flatten)]
        chain: ChainOpts,
        /// Governor key file; default: this node's chain key.
        #[arg(long)]
        governor_key: Option<PathBuf>,
        /// The regulator's address.
        #[arg(long)]
        address: String,
        #[arg(long)]
        disable: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AnchorCommand {
    /// Anchor the current head now (with the consistency proof from the last anchored head).
    Now {
        #[command(flatten)]
        chain: ChainOpts,
        #[command(flatten)]
        json: JsonArg,
    },
    /// The last local checkpoint, the last anchored head and the lag between them.
    Status {
        #[command(flatten)]
        chain: ChainOpts,
        #[command(flatten)]
        json: JsonArg,
    },
}

/// The evaluation instant of a QC command.
#[derive(Debug, Args, Clone, Default)]
pub struct AtArg {
    /// Evaluate as of this day (YYYY-MM-DD, end of day UTC) or RFC 3339 instant; default now.
    #[arg(long)]
    pub at: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum QcCommand {
    /// List the rules: id, level, severity, and the parameters that are catalogue defaults.
    Rules(JsonArg),
    /// Findings for every resident (or one), with a count per rule.
    Report {
        /// A resident: pseudonym, Patient/<id>, system|value, or an ID-card number.
        #[arg(long)]
        resident: Option<String>,
        #[command(flatten)]
        at: AtArg,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Current resident events: overdue follow-ups, danger signs awaiting referral, doses due.
    Events {
        #[arg(long)]
        resident: Option<String>,
        #[command(flatten)]
        at: AtArg,
        #[command(flatten)]
        json: JsonArg,
    },
    /// Precision and recall of every rule against a labels file of injected defects.
    Eval {
        /// `labels.jsonl` as `healthledger synth --defect-rate` writes it.
        #[arg(long)]
        labels: PathBuf,
        /// Exit 1 if any rule is below this precision or recall.
        #[arg(long)]
        min: Option<f64>,
        #[command(flatten)]
        at: AtArg,
        #[command(flatten)]
        json: JsonArg,
    },
}

#[derive(Debug, Subcommand)]
pub enum ResidentCommand {
    /// Programmes and what is due, completeness score, events, findings, problems, timeline.
    Show(ResidentShowArgs),
}

#[derive(Debug, Args)]
pub struct ResidentShowArgs {
    /// Pseudonym, Patient/<id>, system|value, or an ID-card number.
    pub resident: String,
    /// Only these kinds in the timeline (repeatable), e.g. --kind Observation.
    #[arg(long)]
    pub kind: Vec<String>,
    /// Timeline from this day (YYYY-MM-DD).
    #[arg(long)]
    pub from: Option<String>,
    /// Timeline up to this day (YYYY-MM-DD).
    #[arg(long)]
    pub to: Option<String>,
    #[command(flatten)]
    pub at: AtArg,
    #[command(flatten)]
    pub json: JsonArg,
}

/// `synth --defect-rate`: a probability from 0 to 1. Parsed here rather than by clap, so that a
/// bad value is the one-line error every command gives.
pub fn parse_defect_rate(text: &str) -> anyhow::Result<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|p| (0.0..=1.0).contains(p))
        .with_context(|| format!("--defect-rate '{text}' is not a probability from 0 to 1"))
}

#[cfg(test)]
mod tests {
    use super::parse_defect_rate;

    #[test]
    fn synth_defect_rate_is_a_probability() {
        for (text, p) in [("0", 0.0), ("0.2", 0.2), (" 1 ", 1.0), ("1e-3", 0.001)] {
            assert_eq!(parse_defect_rate(text).ok(), Some(p), "{text}");
        }
        for text in ["", "-0.1", "1.01", "NaN", "inf", "20%", "abc"] {
            let e = parse_defect_rate(text).err().map(|e| format!("{e:#}"));
            assert!(e.is_some_and(|e| !e.contains('\n')), "{text}");
        }
    }
}
