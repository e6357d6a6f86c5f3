//! `healthledger token`: staff bearer tokens for the HTTP API. The token is printed once; the
//! config keeps its SHA-256 in an `[[api.tokens]]` entry appended to config.toml, so the
//! operator's comments and layout stay as they were.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::cli::TokenCommand;
use crate::config::{CONFIG_FILE, Node};

pub fn run(dir: &Path, cmd: &TokenCommand) -> Result<()> {
    match cmd {
        TokenCommand::Create { name, role } => {
            let secret = create(dir, name, *role)?;
            println!("{secret}");
            eprintln!(
                "token for '{name}' (role {}) added to {}; it is shown only now",
                role.as_str(),
                dir.join(CONFIG_FILE).display()
            );
            Ok(())
        }
        TokenCommand::List(j) => {
            let node = Node::load(dir)?;
            let tokens = &node.config.api.tokens;
            if j.json {
                let list: Vec<_> = tokens
                    .iter()
                    .map(|t| serde_json::json!({ "name": t.name, "role": t.role }))
                    .collect();
                return super::print_json(&list);
            }
            for t in tokens {
                println!("{:<24} {}", t.name, t.role.as_str());
            }
            Ok(())
        }
    }
}

/// Adds a token for `name` to the data dir's config and returns its secret text.
pub fn create(dir: &Path, name: &str, role: hl_api::auth::Role) -> Result<String> {
    let node = Node::load(dir)?;
    if name.trim().is_empty() || name.chars().any(|c| c.is_control()) {
        bail!("token name must be a non-empty single line");
    }
    if node.config.api.tokens.iter().any(|t| t.name == name) {
        bail!("a token named '{name}' exists already");
    }
    let (secret, stored) = hl_api::auth::tokens::create(name, role);
    let entry = format!(
        "\n[[api.tokens]]\nname = {}\nrole = \"{}\"\nsha256 = \"{}\"\n",
        toml::Value::String(stored.name.clone()),
        stored.role.as_str(),
        stored.sha256
    );
    let path = dir.join(CONFIG_FILE);
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .with_context(|| format!("opening {}", path.display()))?;
    f.write_all(entry.as_bytes())
        .and_then(|_| f.sync_all())
        .with_context(|| format!("writing {}", path.display()))?;
    // The file must still load, with the new token in it.
    let reloaded = Node::load(dir)?;
    if !reloaded.config.api.tokens.contains(&stored) {
        bail!("{} did not keep the new token", path.display());
    }
    Ok(secret)
}
