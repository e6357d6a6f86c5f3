//! The wire: TCP, then the consortium's pre-shared key (pnet: a peer without it fails before
//! any handshake byte is readable), then Noise (authenticates the peer's Ed25519 key), then Yamux.

use std::time::Duration;

use libp2p::core::muxing::StreamMuxerBox;
use libp2p::core::transport::Boxed;
use libp2p::core::upgrade::Version;
use libp2p::identity::Keypair;
use libp2p::pnet::{PnetConfig, PreSharedKey};
use libp2p::{PeerId, Transport, noise, tcp, yamux};

use super::NetError;

/// How long a connection may take from TCP connect to a multiplexed, authenticated link.
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(20);

pub fn build(
    key: &Keypair,
    psk: PreSharedKey,
) -> Result<Boxed<(PeerId, StreamMuxerBox)>, NetError> {
    let noise = noise::Config::new(key).map_err(|e| NetError::Identity(format!("noise: {e}")))?;
    Ok(
        tcp::tokio::Transport::new(tcp::Config::default().nodelay(true))
            .and_then(move |socket, _| PnetConfig::new(psk).handshake(socket))
            .upgrade(Version::V1Lazy)
            .authenticate(noise)
            .multiplex(yamux::Config::default())
            .timeout(UPGRADE_TIMEOUT)
            .boxed(),
    )
}
