//! `healthledger init`: a new data directory.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result, bail};
use hl_ledger::note::NoteSigner;

use crate::cli::InitArgs;
use crate::config::{CONFIG_FILE, Node, initial_config_text};

/// `healthledger.local/<slug of the name>`.
pub fn default_origin(name: &str) -> String {
    let mut slug = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    let slug = slug.trim_end_matches('-');
    if slug.is_empty() {
        // A name in another script gives no ASCII slug; a stable hash still names the log.
        let h = hl_ledger::merkle::leaf_hash(name.as_bytes());
        format!("healthledger.local/{}", &hex::encode(h)[..12])
    } else {
        format!("healthledger.local/{slug}")
    }
}

/// Writes `contents` to a new file readable only by its owner.
pub fn write_secret(path: &Path, contents: &str) -> Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(contents.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

pub fn run(data_dir: &Path, args: &InitArgs) -> Result<Node> {
    if args.institution.trim().is_empty() {
        bail!("--institution must not be empty");
    }
    let config_path = data_dir.join(CONFIG_FILE);
    if config_path.exists() {
        bail!(
            "{} already exists: this data dir is initialised",
            config_path.display()
        );
    }
    let origin = args
        .origin
        .clone()
        .unwrap_or_else(|| default_origin(&args.institution));
    let signer = NoteSigner::generate(&origin).with_context(|| format!("origin '{origin}'"))?;
    let consortium = match &args.consortium_key {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("reading consortium key {}", p.display()))?;
            let mut k = [0u8; 32];
            hex::decode_to_slice(text.trim(), &mut k)
                .with_context(|| format!("consortium key {} is not 64 hex digits", p.display()))?;
            k
        }
        None => rand::random(),
    };
    let keys = data_dir.join("keys");
    std::fs::create_dir_all(&keys).with_context(|| format!("creating {}", keys.display()))?;
    write_secret(&keys.join("log.key"), &(signer.to_secret_text() + "\n"))?;
    write_secret(
        &keys.join("consortium.key"),
        &(hex::encode(consortium) + "\n"),
    )?;
    let (eth_key, _) = crate::chain::new_eth_key_text()?;
    write_secret(&keys.join("eth.key"), &eth_key)?;
    std::fs::write(
        &config_path,
        initial_config_text(&args.institution, &origin),
    )
    .with_context(|| format!("writing {}", config_path.display()))?;
    let node = Node::load(data_dir)?;
    // Create the store now so that a bad key or path shows up at init, not at first ingest.
    node.open_ledger()?.close();
    Ok(node)
}

#[cfg(test)]
mod tests {
    #[test]
    fn origins_from_names() {
        assert_eq!(
            super::default_origin("Xicheng Community Health Centre"),
            "healthledger.local/xicheng-community-health-centre"
        );
        assert!(super::default_origin("西城社区卫生服务中心").starts_with("healthledger.local/"));
    }
}
