//! Which resident a command-line argument names.

use anyhow::{Context, Result, bail};
use hl_ledger::Ledger;
use hl_ledger::pseudonym::Pseudonymizer;

/// Resolves `arg` to a resident's hex pseudonym. Accepted, in this order:
/// - the 64-hex-digit pseudonym itself;
/// - `system|value`, an identifier in one of the resident identifier systems;
/// - `Patient/<id>` or a Patient id present in the log;
/// - an identifier value (e.g. an ID-card number) tried in each resident system, which only
///   names a resident the log holds.
pub fn resident(ledger: &Ledger, pseudonymizer: &Pseudonymizer, arg: &str) -> Result<String> {
    let arg = arg.trim();
    if arg.len() == 64 && arg.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(arg.to_ascii_lowercase());
    }
    if let Some((system, value)) = arg.split_once('|') {
        return pseudonymizer
            .of_identifier(system, value)
            .map(hex::encode)
            .with_context(|| format!("{system} is not a resident identifier system of this node"));
    }
    let id = arg.strip_prefix("Patient/").unwrap_or(arg);
    if let Some((_, index)) = ledger.latest("Patient", id)? {
        let rec = ledger
            .record(index)?
            .with_context(|| format!("record {index} is missing"))?;
        let env: hl_ledger::record::Envelope =
            serde_json::from_slice(&rec.envelope).context("reading the Patient's envelope")?;
        return env
            .resident
            .with_context(|| format!("Patient/{id} has no resident pseudonym"));
    }
    for system in pseudonymizer.systems() {
        if let Some(p) = pseudonymizer.of_identifier(system, arg)
            && !ledger.resident_records(&p)?.is_empty()
        {
            return Ok(hex::encode(p));
        }
    }
    bail!("no resident '{arg}' in the log (give a pseudonym, Patient/<id>, or an identifier)")
}
