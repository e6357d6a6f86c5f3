//! `healthledger log …` and `healthledger record get`.

use std::io::Write;

use anyhow::{Context, Result, bail};
use hl_ledger::Ledger;
use hl_ledger::note::Checkpoint;
use hl_ledger::pseudonym::{Pseudonym, Pseudonymizer};
use serde_json::json;
use serde_json::value::RawValue;

use crate::cli::{ConsistencyArgs, ExportArgs, ProofArgs, RecordGetArgs};

pub fn checkpoint(ledger: &Ledger, json_out: bool) -> Result<()> {
    let note = ledger.checkpoint()?;
    if json_out {
        let cp = Checkpoint::open_signed(&note, ledger.verifier())?;
        super::print_json(&json!({
            "origin": cp.origin,
            "size": cp.size,
            "root": hex::encode(cp.root),
            "note": note,
        }))?;
    } else {
        print!("{note}");
    }
    Ok(())
}

pub fn proof(ledger: &Ledger, a: &ProofArgs) -> Result<()> {
    let size = match a.size {
        Some(s) => s,
        None => ledger.head()?.size,
    };
    if a.index >= size {
        bail!("--index {} is not below the tree size {size}", a.index);
    }
    let leaf = ledger
        .leaf_hash(a.index)?
        .with_context(|| format!("no record at index {}", a.index))?;
    let proof = ledger.inclusion_proof(a.index, size)?;
    let root = ledger.root_at(size)?;
    let proof_hex: Vec<String> = proof.iter().map(hex::encode).collect();
    if a.json.json {
        super::print_json(&json!({
            "index": a.index,
            "size": size,
            "leaf_hash": hex::encode(leaf),
            "proof": proof_hex,
            "root": hex::encode(root),
        }))?;
    } else {
        println!("index {} of size {size}", a.index);
        println!("leaf_hash {}", hex::encode(leaf));
        for h in proof_hex {
            println!("proof {h}");
        }
        println!("root {}", hex::encode(root));
    }
    Ok(())
}

pub fn consistency(ledger: &Ledger, a: &ConsistencyArgs) -> Result<()> {
    let new = match a.new {
        Some(n) => n,
        None => ledger.head()?.size,
    };
    let proof = ledger.consistency_proof(a.old, new)?;
    let (old_root, new_root) = (ledger.root_at(a.old)?, ledger.root_at(new)?);
    let proof_hex: Vec<String> = proof.iter().map(hex::encode).collect();
    if a.json.json {
        super::print_json(&json!({
            "old_size": a.old,
            "new_size": new,
            "old_root": hex::encode(old_root),
            "new_root": hex::encode(new_root),
            "proof": proof_hex,
        }))?;
    } else {
        println!("old {} root {}", a.old, hex::encode(old_root));
        println!("new {new} root {}", hex::encode(new_root));
        for h in proof_hex {
            println!("proof {h}");
        }
    }
    Ok(())
}

/// A resident given as a pseudonym or as an identifier value of a configured system.
pub fn resolve_resident(ledger: &Ledger, p: &Pseudonymizer, id: &str) -> Result<Pseudonym> {
    let id = id.trim();
    if id.len() == 64 && id.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut out = [0u8; 32];
        hex::decode_to_slice(id, &mut out)?;
        return Ok(out);
    }
    for system in p.systems() {
        if let Some(ps) = p.of_identifier(system, id)
            && !ledger.resident_records(&ps)?.is_empty()
        {
            return Ok(ps);
        }
    }
    bail!(
        "no records for resident '{id}' (give a 64-hex pseudonym or an identifier of {})",
        p.systems().join(", ")
    )
}

/// Writes a resident's proof bundle; with `anchored_size` (the last head this node anchored)
/// the bundle also carries the consistency proof that ties a newer checkpoint to the chain.
pub fn export(
    ledger: &Ledger,
    p: &Pseudonymizer,
    a: &ExportArgs,
    anchored_size: Option<u64>,
) -> Result<usize> {
    let resident = resolve_resident(ledger, p, &a.resident)?;
    let bundle = ledger.export_resident(&resident, anchored_size)?;
    if bundle.records.is_empty() {
        bail!("no records for resident {}", hex::encode(resident));
    }
    let text = serde_json::to_string_pretty(&bundle)?;
    match &a.out {
        Some(path) => std::fs::write(path, text + "\n")
            .with_context(|| format!("writing {}", path.display()))?,
        None => writeln!(std::io::stdout().lock(), "{text}")?,
    }
    Ok(bundle.records.len())
}

pub fn record_get(ledger: &Ledger, a: &RecordGetArgs) -> Result<()> {
    let rec = ledger
        .record(a.index)?
        .with_context(|| format!("no record at index {}", a.index))?;
    let envelope = RawValue::from_string(String::from_utf8(rec.envelope)?)?;
    let content = match rec.content {
        Some(c) => Some(RawValue::from_string(String::from_utf8(c)?)?),
        None => None,
    };
    if a.json.json {
        super::print_json(&json!({
            "index": a.index,
            "envelope": envelope,
            "content": content,
        }))?;
    } else {
        let env: serde_json::Value = serde_json::from_str(envelope.get())?;
        println!("record {}", a.index);
        println!("envelope {}", serde_json::to_string_pretty(&env)?);
        match content {
            Some(c) => println!("content {}", c.get()),
            None => println!("content (erased)"),
        }
    }
    Ok(())
}
