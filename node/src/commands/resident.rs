//! `healthledger resident show`: one resident's longitudinal record, readable.

use anyhow::Result;
use hl_indexer::model::Resource;
use hl_indexer::tree::ResidentTree;
use hl_ledger::Ledger;
use hl_ledger::pseudonym::Pseudonymizer;
use serde_json::json;
use time::format_description::well_known::Rfc3339;

use crate::cli::{AtArg, JsonArg};
use crate::qc::resolve;

/// One line of the timeline.
struct Item {
    date: String,
    key: String,
    version: u32,
    leaf: u64,
}

fn timeline(tree: &ResidentTree) -> Vec<Item> {
    let mut items: Vec<Item> = tree
        .resources()
        .filter_map(|n| {
            let r = n.resource()?;
            if matches!(r, Resource::Patient(_)) {
                return None;
            }
            let date = r
                .clinical_dates()
                .into_iter()
                .find_map(|(_, t)| t.map(|t| t.text.clone()))
                .unwrap_or_default();
            Some(Item {
                date,
                key: n.key.to_string(),
                version: n.version,
                leaf: n.leaf,
            })
        })
        .collect();
    items.sort_by(|a, b| (&a.date, a.leaf).cmp(&(&b.date, b.leaf)));
    items
}

pub fn show(
    ledger: &Ledger,
    pseudonymizer: &Pseudonymizer,
    resident: &str,
    at: &AtArg,
    j: &JsonArg,
) -> Result<()> {
    let engine = super::qc::engine()?;
    let at = super::qc::instant(at)?;
    let pseudonym = resolve::resident(ledger, pseudonymizer, resident)?;
    let tree = ResidentTree::from_log(ledger, &pseudonym)?;
    let findings = engine.evaluate(&tree, at);
    let items = timeline(&tree);
    if j.json {
        return super::print_json(&json!({
            "resident": pseudonym,
            "at": at.format(&Rfc3339)?,
            "records": tree.records,
            "timeline": items.iter().map(|i| json!({
                "date": i.date, "record": i.key, "version": i.version, "leaf": i.leaf,
            })).collect::<Vec<_>>(),
            "findings": findings.iter().map(super::qc::finding_json).collect::<Vec<_>>(),
        }));
    }
    println!(
        "resident {pseudonym}: {} records, evaluated at {}",
        tree.records.len(),
        at.format(&Rfc3339)?
    );
    println!("\ntimeline");
    for i in &items {
        println!(
            "  {:<25} {} v{} (leaf {})",
            i.date, i.key, i.version, i.leaf
        );
    }
    println!("\nfindings ({})", findings.len());
    for f in &findings {
        println!("  {} {:?}: {}", f.rule_id, f.severity, f.message);
    }
    Ok(())
}
