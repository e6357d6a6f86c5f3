//! The `[network]` section of the node's configuration.

use libp2p::Multiaddr;
use libp2p::multiaddr::Protocol;
use serde::{Deserialize, Serialize};

use super::NetError;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NetworkConfig {
    /// Join the consortium network (libp2p). Off by default: a node alone (or a newcomer's
    /// `healthledger dev`) has no peers, and joining needs the consortium's chain and key.
    pub enabled: bool,
    /// Where to accept peers, as a multiaddr (`/ip4/0.0.0.0/tcp/4001` to be reachable).
    pub listen: String,
    /// Peers to dial at start and keep connected, each `/ip4/…/tcp/…/p2p/<peer id>`.
    pub bootstrap: Vec<String>,
    /// Re-read the active members from the chain this often (seconds); membership events on
    /// the chain trigger a re-read sooner.
    pub allowlist_refresh_secs: u64,
    /// Keep other members' verified answers in memory at most this long (seconds; 0: never),
    /// and only while the resident's consent holds.
    #[serde(default = "default_remote_cache_secs")]
    pub remote_cache_secs: u64,
}

fn default_remote_cache_secs() -> u64 {
    120
}

impl Default for NetworkConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            listen: "/ip4/127.0.0.1/tcp/0".into(),
            bootstrap: Vec::new(),
            allowlist_refresh_secs: 30,
            remote_cache_secs: default_remote_cache_secs(),
        }
    }
}

impl NetworkConfig {
    pub fn listen_addr(&self) -> Result<Multiaddr, NetError> {
        self.listen
            .parse()
            .map_err(|e| NetError::Config(format!("network.listen '{}': {e}", self.listen)))
    }

    /// The bootstrap peers with their ids; each address must end in `/p2p/<peer id>`, since
    /// a peer is admitted by its id and an address alone says nothing about who answers.
    pub fn bootstrap_peers(&self) -> Result<Vec<(libp2p::PeerId, Multiaddr)>, NetError> {
        self.bootstrap.iter().map(|a| bootstrap_peer(a)).collect()
    }
}

pub fn bootstrap_peer(text: &str) -> Result<(libp2p::PeerId, Multiaddr), NetError> {
    let addr: Multiaddr = text
        .parse()
        .map_err(|e| NetError::Config(format!("network.bootstrap '{text}': {e}")))?;
    match addr.iter().last() {
        Some(Protocol::P2p(peer)) => Ok((peer, addr)),
        _ => Err(NetError::Config(format!(
            "network.bootstrap '{text}' does not end in /p2p/<peer id>"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_initial_config_file_leaves_the_network_off() {
        let text = crate::config::initial_config_text("A", "a.example/log");
        let c: crate::config::Config = toml::from_str(&text).unwrap();
        assert!(!c.network.enabled);
        assert_eq!(c.network.listen, NetworkConfig::default().listen);
        assert!(c.network.listen_addr().is_ok());
        assert_eq!(c.network.allowlist_refresh_secs, 30);
        assert!(c.network.bootstrap_peers().unwrap().is_empty());
    }

    #[test]
    fn bootstrap_addresses_must_name_their_peer() {
        let id = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
        let (peer, _) = bootstrap_peer(&format!("/ip4/10.0.0.2/tcp/4001/p2p/{id}")).unwrap();
        assert_eq!(peer.to_string(), id);
        let e = bootstrap_peer("/ip4/10.0.0.2/tcp/4001").unwrap_err();
        assert!(e.to_string().contains("/p2p/"), "{e}");
        assert!(bootstrap_peer("not an address").is_err());
    }
}
