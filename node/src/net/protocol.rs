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

/// A record-fetch request: who asks for which of a resident's records, for what purpose.
/// Signed by the requester's institution key, which is also its peer id, so the holder ties
/// the request to the member that sent it (see `consortium::fetch`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchRequest {
    pub version: u16,
    /// The resident's consortium pseudonym.
    pub resident: [u8; 32],
    /// Bitmask of data categories (bit `c` = category `c`, as in the contract's consents).
    pub categories: u32,
    /// Purpose-of-use code, e.g. `TREAT` (ASCII, at most 32 bytes, as the contract keys it).
    pub purpose: String,
    /// Set for an emergency (break-glass) read: why, in words.
    pub break_glass_reason: Option<String>,
    /// The requester's log origin.
    pub requester: String,
    /// Unix seconds when the request was made; the holder refuses stale ones.
    pub issued_at: i64,
    /// Random; the holder refuses a nonce it has seen (replay).
    pub nonce: [u8; 16],
    /// Ed25519 signature over [`FetchRequest::signing_bytes`].
    pub signature: Vec<u8>,
}

impl FetchRequest {
    /// The bytes the signature covers: every field but the signature, each length-prefixed,
    /// after a domain tag, so no other message of the node can be replayed as a request.
    pub fn signing_bytes(&self) -> Vec<u8> {
        fn field(out: &mut Vec<u8>, b: &[u8]) {
            out.extend_from_slice(&(b.len() as u64).to_be_bytes());
            out.extend_from_slice(b);
        }
        let mut out = Vec::with_capacity(256);
        out.extend_from_slice(b"healthledger:fetch-request:v1\n");
        out.extend_from_slice(&self.version.to_be_bytes());
        out.extend_from_slice(&self.resident);
        out.extend_from_slice(&self.categories.to_be_bytes());
        field(&mut out, self.purpose.as_bytes());
        match &self.break_glass_reason {
            None => out.push(0),
            Some(r) => {
                out.push(1);
                field(&mut out, r.as_bytes());
            }
        }
        field(&mut out, self.requester.as_bytes());
        out.extend_from_slice(&self.issued_at.to_be_bytes());
        out.extend_from_slice(&self.nonce);
        out
    }
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
    /// The holder will not answer (no consent, bad signature, not a member, …), with the
    /// reason in words.
    Refused(String),
    /// Records of the categories the holder may disclose.
    Records(FetchAnswer),
}

/// Records with their proofs, and what was not served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FetchAnswer {
    /// A `hl_ledger::proof_bundle::ProofBundle` as JSON: its records are raw JSON whose exact
    /// bytes the content hashes cover, which only a JSON text carries unchanged.
    pub bundle: String,
    /// The categories served (bitmask).
    pub served: u32,
    /// Requested categories not served, with why.
    pub refused: Vec<RefusedCategory>,
    /// Whether the holder served this as an emergency (break-glass) access.
    pub break_glass: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedCategory {
    pub category: u8,
    pub reason: String,
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
