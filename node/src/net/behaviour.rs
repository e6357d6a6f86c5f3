//! The protocols a connection speaks, in one libp2p behaviour.

use std::time::Duration;

use libp2p::identity::Keypair;
use libp2p::request_response::{self, ProtocolSupport};
use libp2p::swarm::NetworkBehaviour;
use libp2p::{StreamProtocol, allow_block_list, gossipsub, identify, ping};

use super::NetError;
use super::protocol::{FETCH_PROTOCOL, FetchRequest, FetchResponse, IDENTIFY_PROTOCOL, Topic};

/// Largest gossip message: checkpoints and locator batches are small.
const MAX_GOSSIP_BYTES: usize = 1 << 20;
/// Longest a fetch may take before the requester gives up.
const FETCH_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(NetworkBehaviour)]
pub struct Behaviour {
    /// First, so a connection from a non-member is refused before any protocol starts.
    pub allow: allow_block_list::Behaviour<allow_block_list::AllowedPeers>,
    pub identify: identify::Behaviour,
    pub ping: ping::Behaviour,
    pub gossipsub: gossipsub::Behaviour,
    pub fetch: request_response::cbor::Behaviour<FetchRequest, FetchResponse>,
}

impl Behaviour {
    pub fn new(key: &Keypair) -> Result<Self, NetError> {
        // Strict: every message signed by its author and carrying author and sequence number;
        // messages are held until we have checked the author is a member (validate_messages).
        let config = gossipsub::ConfigBuilder::default()
            .validation_mode(gossipsub::ValidationMode::Strict)
            .validate_messages()
            .max_transmit_size(MAX_GOSSIP_BYTES)
            .build()
            .map_err(|e| NetError::Setup(format!("gossipsub config: {e}")))?;
        let mut gossipsub =
            gossipsub::Behaviour::new(gossipsub::MessageAuthenticity::Signed(key.clone()), config)
                .map_err(|e| NetError::Setup(format!("gossipsub: {e}")))?;
        for topic in Topic::ALL {
            gossipsub
                .subscribe(&topic.ident())
                .map_err(|e| NetError::Setup(format!("subscribing to {}: {e}", topic.name())))?;
        }
        Ok(Self {
            allow: allow_block_list::Behaviour::default(),
            identify: identify::Behaviour::new(identify::Config::new(
                IDENTIFY_PROTOCOL.into(),
                key.public(),
            )),
            ping: ping::Behaviour::default(),
            gossipsub,
            fetch: request_response::cbor::Behaviour::new(
                [(StreamProtocol::new(FETCH_PROTOCOL), ProtocolSupport::Full)],
                request_response::Config::default().with_request_timeout(FETCH_TIMEOUT),
            ),
        })
    }
}
