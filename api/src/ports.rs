//! What the API needs from the rest of the node, as traits the node implements: the chain
//! (anchors, wallets, regulators, consents, emergency access) and the QC service. Keeping them
//! abstract keeps this crate free of alloy's contract stack and lets tests run without a chain.

use alloy_primitives::{Address, B256, Bytes, U256};
use async_trait::async_trait;
use hl_ledger::pseudonym::Pseudonym;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, thiserror::Error)]
pub enum PortError {
    /// The chain or service cannot be reached now; retrying may help (503).
    #[error("{0}")]
    Unavailable(String),
    /// The request was refused on its merits, e.g. a signature by the wrong wallet or an
    /// expired deadline (422).
    #[error("{0}")]
    Rejected(String),
    /// This node is not set up for it, e.g. no contract configured (501).
    #[error("{0}")]
    NotConfigured(String),
    #[error("{0}")]
    Internal(String),
}

pub type PortResult<T> = Result<T, PortError>;

/// A transaction the node sent and saw included.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TxInfo {
    /// 0x-hex transaction hash.
    pub tx_hash: String,
    pub block_number: u64,
}

/// A head anchored on chain.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AnchorInfo {
    pub size: u64,
    /// Hex root hash.
    pub root: String,
    pub tx_hash: String,
    pub block_number: u64,
    pub block_hash: String,
    pub gas_used: u64,
    /// RFC 3339 time the node saw it confirmed.
    pub confirmed_at: String,
}

/// One consent as the contract holds it, for (resident, grantee, purpose).
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ConsentInfo {
    /// 0x-hex grantee (member) address.
    pub grantee: String,
    /// Name of the grantee institution, if it is a registered member.
    pub grantee_name: Option<String>,
    /// Category bitmask (bit i = category i).
    pub categories: String,
    /// Purpose code (e.g. TREAT), decoded from its bytes32.
    pub purpose: String,
    /// Unix seconds after which the grant permits nothing (the contract requires every grant
    /// to expire; 0 only for a pair never granted).
    pub expiry: u64,
    pub revoked: bool,
    /// Whether it permits anything now (not revoked, not expired).
    pub active: bool,
    /// Transaction and block of the last change.
    pub tx_hash: Option<String>,
    pub block_number: Option<u64>,
}

/// A resident's EIP-712 signed grant, as relayed to `grantConsentBySig`.
#[derive(Debug, Clone)]
pub struct SignedGrant {
    pub pseudonym: B256,
    pub grantee: Address,
    pub categories: U256,
    pub purpose: B256,
    pub expiry: u64,
    pub nonce: U256,
    pub deadline: U256,
    pub signature: Bytes,
}

/// A resident's EIP-712 signed revocation, as relayed to `revokeConsentBySig`.
#[derive(Debug, Clone)]
pub struct SignedRevoke {
    pub pseudonym: B256,
    pub grantee: Address,
    pub purpose: B256,
    pub nonce: U256,
    pub deadline: U256,
    pub signature: Bytes,
}

/// The chain facts the API shows: where the contract is, who this node is on it.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ChainInfo {
    pub chain_id: u64,
    /// 0x-hex contract address, if one is configured.
    pub contract: Option<String>,
    /// 0x-hex address this node sends transactions from.
    pub member: Option<String>,
}

#[async_trait]
pub trait Chain: Send + Sync + 'static {
    fn info(&self) -> ChainInfo;
    /// Heads this node anchored, oldest first.
    async fn anchors(&self) -> PortResult<Vec<AnchorInfo>>;
    /// Size of the last head the contract holds for this node.
    async fn anchored_size(&self) -> PortResult<Option<u64>>;
    /// The wallet bound to a resident, if any.
    async fn resident_wallet(&self, pseudonym: &Pseudonym) -> PortResult<Option<Address>>;
    /// Binds (or, when already bound, fails) a resident's wallet; sent by this member.
    async fn bind_resident(&self, pseudonym: &Pseudonym, wallet: Address) -> PortResult<TxInfo>;
    async fn is_regulator(&self, account: Address) -> PortResult<bool>;
    /// Every consent the resident has given, with its current state.
    async fn consents(&self, pseudonym: &Pseudonym) -> PortResult<Vec<ConsentInfo>>;
    /// The resident's next EIP-712 nonce.
    async fn consent_nonce(&self, pseudonym: &Pseudonym) -> PortResult<U256>;
    async fn relay_grant(&self, grant: &SignedGrant) -> PortResult<TxInfo>;
    async fn relay_revoke(&self, revoke: &SignedRevoke) -> PortResult<TxInfo>;
    /// Emits `EmergencyAccess(pseudonym, member, reasonHash)` for a break-glass read.
    async fn record_emergency_access(
        &self,
        pseudonym: &Pseudonym,
        reason_hash: B256,
    ) -> PortResult<TxInfo>;
}

/// One QC event for the SSE stream: a resident's follow-up fell overdue, a dose is due…
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct QcEvent {
    /// Hex pseudonym of the resident.
    pub resident: String,
    /// The event as `hl_indexer::events::Event` serializes it.
    #[schema(value_type = Object)]
    pub event: serde_json::Value,
}

#[async_trait]
pub trait Qc: Send + Sync + 'static {
    /// The rule catalogue with parameters (JSON array).
    fn rules(&self) -> serde_json::Value;
    /// One resident's findings, programmes, completeness score and events (JSON object), as
    /// of now.
    async fn resident(&self, pseudonym: &Pseudonym) -> PortResult<serde_json::Value>;
    /// Cross-institution QC of a resident (the I rules of the catalogue) over this node's
    /// records and the verified records of other members, with the merged timeline, each item
    /// naming its institution (JSON object). Evidence and timeline items name records as
    /// `origin#leaf`.
    async fn consortium(
        &self,
        pseudonym: &Pseudonym,
        remote: &[RemoteRecord],
    ) -> PortResult<serde_json::Value>;
    /// Institution summary: counts per rule, score distribution, share under 60 (JSON object).
    async fn summary(&self) -> PortResult<serde_json::Value>;
    /// New events as they arise, for every resident.
    fn subscribe(&self) -> tokio::sync::broadcast::Receiver<QcEvent>;
}

/// What to gather from the other members for one resident.
#[derive(Debug, Clone)]
pub struct ConsortiumAsk {
    pub pseudonym: Pseudonym,
    /// Purpose-of-use code the consents are checked for (e.g. TREAT).
    pub purpose: String,
    /// A break-glass read: the holders serve without consent and record it on chain.
    pub break_glass_reason: Option<String>,
}

/// One record another member holds, verified before it got here: content hash, inclusion
/// proof into the holder's checkpoint, checkpoint signed by the holder's registered key and
/// tied to its head anchored on chain.
#[derive(Debug, Clone)]
pub struct RemoteRecord {
    /// The holder's leaf index and envelope (its `origin` names the holder's log).
    pub index: u64,
    pub envelope: hl_ledger::record::Envelope,
    /// The content exactly as the holder stored it.
    pub content: Vec<u8>,
    pub category: u8,
    /// Registered name of the holder institution.
    pub institution: String,
    /// The checkpoint the record was proven into.
    pub checkpoint_size: u64,
    /// Hex root of that checkpoint.
    pub checkpoint_root: String,
}

/// What one holder answered.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct HolderOutcome {
    /// The holder's log origin.
    pub origin: String,
    /// Registered name, when the answer got far enough to learn it.
    pub institution: Option<String>,
    /// served (some or all categories), refused, unreachable or rejected (failed verification).
    pub status: String,
    /// Category bitmask served.
    pub served: u32,
    /// Categories refused, with the holder's reason.
    pub refused: Vec<(u8, String)>,
    /// Why it was refused, unreachable or rejected.
    pub detail: Option<String>,
    /// Records verified and shown.
    pub records: usize,
    /// Records that failed verification and were dropped (the holder is reported).
    pub dropped: usize,
    pub break_glass: bool,
    /// Whether this came from the requester's consent-bounded cache.
    pub cached: bool,
    pub checkpoint_size: Option<u64>,
    pub checkpoint_root: Option<String>,
}

/// The verified records of one resident held by other members, and each holder's answer.
#[derive(Debug, Clone, Default)]
pub struct ConsortiumRecords {
    pub holders: Vec<HolderOutcome>,
    pub records: Vec<RemoteRecord>,
}

/// The consortium network as the API reaches it.
#[async_trait]
pub trait Consortium: Send + Sync + 'static {
    /// Asks every member the locator index names as a holder of the resident (other than this
    /// node) and returns only verified records.
    async fn gather(&self, ask: &ConsortiumAsk) -> PortResult<ConsortiumRecords>;
    /// Peers, the members' latest checkpoints, split views and refusals.
    fn status(&self) -> ConsortiumStatus;
}

/// What an operator (or a regulator) checks of the consortium network.
#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
pub struct ConsortiumStatus {
    /// Whether this node is in a consortium network (`[network] enabled`); all else is empty
    /// when not.
    pub enabled: bool,
    /// Peer ids of the members connected now.
    pub peers: Vec<String>,
    /// The latest verified checkpoint of every other member heard from, by origin.
    #[schema(value_type = Object)]
    pub checkpoints: serde_json::Value,
    /// Split views seen: two roots for one size signed by one member, both notes kept.
    #[schema(value_type = Vec<Object>)]
    pub split_views: Vec<serde_json::Value>,
    /// Refused checkpoint announcements (bad signature, wrong origin, not anchored…), newest last.
    #[schema(value_type = Vec<Object>)]
    pub refused: Vec<serde_json::Value>,
    /// Members whose record answers failed verification, newest last.
    #[schema(value_type = Vec<Object>)]
    pub reported: Vec<serde_json::Value>,
    /// Residents other members announced records of.
    pub remote_residents: usize,
}
