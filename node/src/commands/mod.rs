pub mod chain;
pub mod demo;
pub mod dev;
pub mod ingest;
pub mod init;
pub mod log;
pub mod qc;
pub mod resident;
pub mod token;
pub mod verify;

/// Prints a JSON document, pretty, on standard output: the `--json` form of every command.
pub fn print_json(value: &impl serde::Serialize) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}
