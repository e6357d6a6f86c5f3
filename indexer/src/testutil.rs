//! Test fixtures: small logs in a tempdir and residents built from JSON resources.

use ed25519_dalek::SigningKey;
use hl_ledger::input::InputOptions;
use hl_ledger::note::NoteSigner;
use hl_ledger::pseudonym::{Pseudonymizer, default_resident_systems};
use hl_ledger::{Ledger, StoreOptions};
use serde_json::{Value, json};
use time::OffsetDateTime;

use crate::tree::{Content, ResidentTree, ResourceKey};

const ORIGIN: &str = "test.example/indexer";

pub fn open_ledger(dir: &tempfile::TempDir) -> Ledger {
    let signer = NoteSigner::new(ORIGIN, SigningKey::from_bytes(&[1; 32])).expect("key name");
    Ledger::open(
        &dir.path().join("log.redb"),
        signer,
        StoreOptions::default(),
    )
    .expect("open")
}

/// Submits a transaction Bundle of `resources`, each PUT to its `Kind/id`.
pub fn submit(ledger: &Ledger, resources: &[Value]) {
    let entries: Vec<Value> = resources
        .iter()
        .map(|r| {
            let url = format!("{}/{}", r["resourceType"].as_str().expect("kind"), r["id"].as_str().expect("id"));
            json!({"fullUrl": format!("urn:uuid:{}", r["id"].as_str().expect("id")), "resource": r, "request": {"method": "PUT", "url": url}})
        })
        .collect();
    let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": entries});
    let bytes = serde_json::to_vec(&bundle).expect("serialise");
    let opts = InputOptions {
        max_bytes: 1 << 22,
        pseudonymizer: Pseudonymizer::new([2; 32], default_resident_systems(), ORIGIN.into()),
    };
    let prepared = opts.prepare("test", &bytes).expect("valid input");
    ledger.submit(prepared).expect("submitted");
}

/// A resident built directly from resources (version 1 each, leaf = position), for rule tests
/// that need no log.
pub fn resident(resources: &[Value]) -> ResidentTree {
    resident_recorded(resources, None)
}

/// [`resident`], every record received by the log at `recorded`.
pub fn resident_recorded(resources: &[Value], recorded: Option<OffsetDateTime>) -> ResidentTree {
    let mut t = ResidentTree::new("00");
    for (i, r) in resources.iter().enumerate() {
        let key = ResourceKey::new(
            r["resourceType"].as_str().unwrap_or_default(),
            r["id"].as_str().unwrap_or_default(),
        );
        let bytes = serde_json::to_vec(r).expect("serialise");
        t.put(
            key,
            i as u64,
            1,
            recorded,
            Content::read(Some(&bytes)),
            None,
        );
    }
    t.reindex();
    t
}

/// Evaluates a rule over a bare tree with the shipped parameters, as the engine would.
pub trait Check {
    fn check(&self, t: &ResidentTree, at: OffsetDateTime) -> Vec<crate::qc::Finding>;
}

impl<R: crate::qc::Rule> Check for R {
    fn check(&self, t: &ResidentTree, at: OffsetDateTime) -> Vec<crate::qc::Finding> {
        let params = crate::qc::Params::shipped().expect("shipped params");
        self.evaluate(&crate::qc::ResidentView::new(t, &params), at)
    }
}

/// The tree of the shared Synthea bundles `files` (paths under `shared/data/fhir/`), each
/// submitted to a fresh log and the tree rebuilt from it, as a node would read them.
pub fn synthea_tree(files: &[&str]) -> crate::tree::KnowledgeTree {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = open_ledger(&dir);
    let opts = InputOptions {
        max_bytes: 1 << 24,
        pseudonymizer: Pseudonymizer::new([2; 32], default_resident_systems(), ORIGIN.into()),
    };
    for file in files {
        let path = format!(
            "{}/../../shared/data/fhir/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(&path).expect("shared Synthea bundle");
        let prepared = opts.prepare("synthea", &bytes).expect("valid bundle");
        ledger.submit(prepared).expect("submitted");
    }
    crate::tree::KnowledgeTree::rebuild(&ledger).expect("rebuild")
}
