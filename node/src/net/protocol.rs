//! What members say to each other: the gossip topics and the record-fetch exchange.

use libp2p::gossipsub::{IdentTopic, TopicHash};
use serde::{Deserialize, Serialize};

/// Request-response protocol for record fetch (CBOR).
pub const FETCH_PROTOCOL: &str = "/healthledger/fetch/1";
/// Identify's protocol version: peers of other networks are told apart in logs.
pub const IDENTIFY_PROTOCOL: &str = "/healthledger/1";
/// Version of the fetch messages; a peer answers another version with `Unsupported`.
pub const FETCH_VERSION: u16 = 1;

/// A gossip topic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Topic {
    /// Anchored checkpoints (signed note + anchor transaction).
    Checkpoints,
    /// Record locators (resident pseudonym → holder).
    Locators,
}

impl Topic {
    pub const ALL: [Topic; 2] = [Topic::Checkpoints, Topic::Locators];

    pub fn name(self) -> &'static str {
        match self {
            Topic::Checkpoints => "healthledger/checkpoints/1",
            Topic::Locators => "healthledger/locators/1",
        }
    }

    pub fn ident(self) -> IdentTopic {
        IdentTopic::new(self.name())
    }

    pub fn from_hash(hash: &TopicHash) -> Option<Topic> {
        Topic::ALL.into_iter().find(|t| t.ident().hash() == *hash)
    }
}

/// A record-fetch request. Placeholder body until the signed request is defined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchRequest {
    pub version: u16,
    pub body: Vec<u8>,
}

/// The answer to a [`FetchRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchResponse {
    pub version: u16,
    pub outcome: FetchOutcome,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum FetchOutcome {
    /// The request's version is not one this node speaks.
    Unsupported,
    /// The holder will not answer (no consent, not served, …), with the reason in words.
    Refused(String),
    /// The answer itself.
    Body(Vec<u8>),
}

impl FetchResponse {
    pub fn refused(reason: impl Into<String>) -> Self {
        Self {
            version: FETCH_VERSION,
            outcome: FetchOutcome::Refused(reason.into()),
        }
    }
}

/// Answers other members' fetch requests.
#[async_trait::async_trait]
pub trait FetchHandler: Send + Sync + 'static {
    async fn handle(&self, peer: libp2p::PeerId, request: FetchRequest) -> FetchResponse;
}

/// Refuses every request: the node joins the network before it serves records.
pub struct NotServed;

#[async_trait::async_trait]
impl FetchHandler for NotServed {
    async fn handle(&self, _peer: libp2p::PeerId, _request: FetchRequest) -> FetchResponse {
        FetchResponse::refused("this node does not serve record fetches yet")
    }
}
