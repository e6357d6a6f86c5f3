//! The gossip service: announces this node's anchored checkpoints and its record locators,
//! checks and keeps what the other members announce, and re-announces periodically (and soon
//! after a peer connects) so that a node that was down converges.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::{B256, U256};
use hl_ledger::Ledger;
use hl_ledger::note::NoteSigner;
use tokio::sync::{broadcast, watch};
use tokio::task::JoinHandle;
use tokio::time::Instant;

use super::checkpoints::{CheckpointAnnouncement, CheckpointBook, Report, VerifiedCheckpoint};
use super::locators::{Counts, LocatorAnnouncement, LocatorIndex, MAX_ENTRIES};
use crate::chain::state::{AnchorRecord, AnchorState};
use crate::net::{GossipMessage, Network, PeerEvent, Topic};
use crate::service::chain::ChainAccess;

/// Re-announce the latest checkpoint and a round of locators this often by default.
pub const CATCH_UP_EVERY: Duration = Duration::from_secs(60);
/// Look for new anchored heads and ingested records this often.
const POLL_EVERY: Duration = Duration::from_millis(500);
/// A peer that just connected needs a moment (subscriptions exchanged) before it hears gossip.
const AFTER_CONNECT: Duration = Duration::from_secs(1);
/// Locator messages per catch-up round: bounds the traffic, the rounds go round the residents.
const CATCH_UP_MESSAGES: usize = 4;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GossipError {
    #[error("reading the chain: {0}")]
    Chain(String),
    #[error("consortium state: {0}")]
    Store(String),
    #[error("refused: {0}")]
    Refused(String),
}

/// What the gossip needs from the chain: who a key belongs to and what it anchored.
#[async_trait::async_trait]
pub trait Registry: Send + Sync + 'static {
    /// The registered log origin of the institution whose Ed25519 key is `key`, if any.
    async fn origin_of(&self, key: &[u8; 32]) -> Result<Option<String>, GossipError>;
    /// Whether that institution anchored exactly `(size, root)` on chain.
    async fn is_anchored(
        &self,
        key: &[u8; 32],
        size: u64,
        root: &[u8; 32],
    ) -> Result<bool, GossipError>;
}

/// A member in a [`MemoryRegistry`]: its origin and the heads it anchored.
type MemberHeads = (String, Vec<(u64, [u8; 32])>);

/// A registry held in memory: for tests and tools that know the members and their heads.
#[derive(Default)]
pub struct MemoryRegistry {
    members: std::sync::Mutex<std::collections::HashMap<[u8; 32], MemberHeads>>,
}

impl MemoryRegistry {
    pub fn register(&self, key: [u8; 32], origin: &str) {
        self.members
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(key, (origin.to_owned(), Vec::new()));
    }

    pub fn anchor(&self, key: &[u8; 32], size: u64, root: [u8; 32]) {
        if let Some(m) = self
            .members
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(key)
        {
            m.1.push((size, root));
        }
    }
}

#[async_trait::async_trait]
impl Registry for MemoryRegistry {
    async fn origin_of(&self, key: &[u8; 32]) -> Result<Option<String>, GossipError> {
        let m = self.members.lock().unwrap_or_else(|p| p.into_inner());
        Ok(m.get(key).map(|(o, _)| o.clone()))
    }

    async fn is_anchored(
        &self,
        key: &[u8; 32],
        size: u64,
        root: &[u8; 32],
    ) -> Result<bool, GossipError> {
        let m = self.members.lock().unwrap_or_else(|p| p.into_inner());
        Ok(m.get(key)
            .is_some_and(|(_, heads)| heads.contains(&(size, *root))))
    }
}

/// The registry as the HealthLedger contract holds it.
pub struct ChainRegistry {
    access: Arc<ChainAccess>,
}

impl ChainRegistry {
    pub fn new(access: Arc<ChainAccess>) -> Self {
        Self { access }
    }

    async fn failed(&self, what: &str, e: impl std::fmt::Display) -> GossipError {
        self.access.reset().await;
        GossipError::Chain(format!("{what}: {e}"))
    }
}

#[async_trait::async_trait]
impl Registry for ChainRegistry {
    async fn origin_of(&self, key: &[u8; 32]) -> Result<Option<String>, GossipError> {
        let chain = self
            .access
            .get()
            .await
            .map_err(|e| GossipError::Chain(format!("{e:#}")))?;
        let member = match chain.contract.memberByKey(B256::from(*key)).call().await {
            Ok(m) => m,
            Err(e) => return Err(self.failed("reading memberByKey", e).await),
        };
        if member.is_zero() {
            return Ok(None);
        }
        match chain.contract.institution(member).call().await {
            Ok(i) => Ok(Some(i.origin)),
            Err(e) => Err(self.failed("reading institution", e).await),
        }
    }

    async fn is_anchored(
        &self,
        key: &[u8; 32],
        size: u64,
        root: &[u8; 32],
    ) -> Result<bool, GossipError> {
        let chain = self
            .access
            .get()
            .await
            .map_err(|e| GossipError::Chain(format!("{e:#}")))?;
        let c = &chain.contract;
        let member = match c.memberByKey(B256::from(*key)).call().await {
            Ok(m) => m,
            Err(e) => return Err(self.failed("reading memberByKey", e).await),
        };
        let latest = match c.latestHead(member).call().await {
            Ok(h) => h,
            Err(e) => return Err(self.failed("reading latestHead", e).await),
        };
        if latest.size == 0 || size > latest.size {
            return Ok(false);
        }
        if size == latest.size {
            return Ok(latest.root.0 == *root);
        }
        // Anchored sizes strictly grow with the index (the contract refuses a smaller one), so
        // an older head is found by bisection over the member's history.
        let (mut lo, mut hi) = (U256::ZERO, latest.index);
        while lo < hi {
            let mid = (lo + hi) >> 1;
            let h = match c.headAt(member, mid).call().await {
                Ok(h) => h,
                Err(e) => return Err(self.failed("reading headAt", e).await),
            };
            if h.size == size {
                return Ok(h.root.0 == *root);
            }
            if h.size < size {
                lo = mid + U256::from(1);
            } else {
                hi = mid;
            }
        }
        Ok(false)
    }
}

/// What the gossip service needs.
pub struct GossipParams {
    pub data_dir: PathBuf,
    /// This node's log key (its name is the log's origin).
    pub signer: NoteSigner,
    /// The heads this node anchored (written by the anchoring task).
    pub anchors: Arc<AnchorState>,
    /// The log whose records are announced as locators; none for a node that holds none.
    pub ledger: Option<Arc<Ledger>>,
    pub catch_up_every: Duration,
}

/// The running gossip service and what it has learnt.
pub struct Gossip {
    origin: String,
    checkpoints: Arc<CheckpointBook>,
    locators: Arc<LocatorIndex>,
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Gossip {
    /// Opens the kept state in `data_dir` and runs the service until `stop` turns true.
    pub fn start(
        params: GossipParams,
        network: Arc<Network>,
        registry: Arc<dyn Registry>,
        stop: watch::Receiver<bool>,
    ) -> Result<Self, GossipError> {
        let checkpoints = Arc::new(CheckpointBook::open(&params.data_dir)?);
        let locators = Arc::new(LocatorIndex::open(&params.data_dir)?);
        let origin = params.signer.verifier().name.clone();
        let runner = Runner {
            gossip: network.gossip(),
            events: network.events(),
            network,
            registry,
            checkpoints: checkpoints.clone(),
            locators: locators.clone(),
            announced: None,
            cursor: None,
            params,
        };
        let task = tokio::spawn(runner.run(stop));
        Ok(Self {
            origin,
            checkpoints,
            locators,
            task: std::sync::Mutex::new(Some(task)),
        })
    }

    /// The latest verified checkpoint of every other member heard from, by origin.
    pub fn latest_checkpoints(&self) -> std::collections::BTreeMap<String, VerifiedCheckpoint> {
        self.checkpoints.latest()
    }

    /// Refused announcements and split views, oldest first.
    pub fn reports(&self) -> Vec<Report> {
        self.checkpoints.reports()
    }

    pub fn split_views(&self) -> Vec<Report> {
        self.checkpoints.split_views()
    }

    /// Who holds records of `resident` (hex pseudonym), this node included, by origin.
    pub fn holders(&self, resident: &str) -> std::collections::BTreeMap<String, Counts> {
        self.locators.holders(resident, &self.origin)
    }

    /// The member that announces locators for `origin` (to ask it for records).
    pub fn peer_of(&self, origin: &str) -> Option<libp2p::PeerId> {
        self.locators.peer_of(origin)
    }

    /// Residents other members announced records of.
    pub fn remote_residents(&self) -> usize {
        self.locators.remote_residents()
    }

    /// This node's own origin.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Waits for the service to end (after `stop`); its state is written by then. Later calls
    /// return at once.
    pub async fn join(&self) {
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(task) = task
            && let Err(e) = task.await
        {
            tracing::error!("gossip task: {e}");
        }
    }
}

struct Runner {
    params: GossipParams,
    network: Arc<Network>,
    gossip: broadcast::Receiver<GossipMessage>,
    events: broadcast::Receiver<PeerEvent>,
    registry: Arc<dyn Registry>,
    checkpoints: Arc<CheckpointBook>,
    locators: Arc<LocatorIndex>,
    /// Size of the last own head published.
    announced: Option<u64>,
    /// Where the next catch-up round of locators starts.
    cursor: Option<String>,
}

impl Runner {
    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut poll = tokio::time::interval(POLL_EVERY);
        poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let every = self.params.catch_up_every.max(Duration::from_millis(100));
        let mut next_catch_up = Instant::now() + every;
        let anchors = self.params.anchors.clone();
        loop {
            if *stop.borrow() {
                break;
            }
            tokio::select! {
                // A head just anchored is announced at once; the poll is the backstop (and
                // finds newly ingested records for the locators).
                _ = anchors.recorded() => self.poll().await,
                _ = stop.changed() => {}
                m = self.gossip.recv() => match m {
                    Ok(m) => self.on_gossip(m).await,
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!("gossip: {n} messages dropped (too slow); catch-up rounds resend them");
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                },
                e = self.events.recv() => {
                    if let Ok(PeerEvent::Connected(_)) = e {
                        next_catch_up = next_catch_up.min(Instant::now() + AFTER_CONNECT);
                    }
                }
                _ = poll.tick() => self.poll().await,
                _ = tokio::time::sleep_until(next_catch_up) => {
                    self.catch_up().await;
                    next_catch_up = Instant::now() + every;
                }
            }
        }
        if let Err(e) = self.locators.flush() {
            tracing::error!("writing the locator index: {e}");
        }
    }

    async fn on_gossip(&mut self, m: GossipMessage) {
        let registry = self.registry.as_ref();
        match m.topic {
            Topic::Checkpoints => {
                if let Err(e) = self.checkpoints.receive(m.source, &m.data, registry).await {
                    tracing::warn!(author = %m.source, "checkpoint not checked: {e}");
                }
            }
            Topic::Locators => match self.locators.receive(m.source, &m.data, registry).await {
                Ok(n) => tracing::debug!(author = %m.source, n, "locators applied"),
                Err(e) => tracing::warn!(author = %m.source, "locators not applied: {e}"),
            },
        }
    }

    /// Announces a newly anchored head and the locators of newly ingested records.
    async fn poll(&mut self) {
        match self.params.anchors.last() {
            Ok(Some(r)) if self.announced.is_none_or(|a| a < r.size) => {
                if self.announce(&r).await {
                    self.announced = Some(r.size);
                }
            }
            Ok(_) => {}
            Err(e) => tracing::warn!("reading the anchored heads: {e:#}"),
        }
        if let Some(ledger) = self.params.ledger.clone() {
            let index = self.locators.clone();
            match tokio::task::spawn_blocking(move || index.scan(&ledger)).await {
                Ok(Ok(changed)) => {
                    for chunk in changed.chunks(MAX_ENTRIES) {
                        // Unpublished (no peer yet) changes go out with the catch-up rounds.
                        self.publish_locators(chunk.to_vec()).await;
                    }
                }
                Ok(Err(e)) => tracing::warn!("counting the log for locators: {e}"),
                Err(e) => tracing::warn!("counting the log for locators: {e}"),
            }
        }
        if let Err(e) = self.locators.flush() {
            tracing::warn!("writing the locator index: {e}");
        }
    }

    async fn catch_up(&mut self) {
        match self.params.anchors.last() {
            Ok(Some(r)) => {
                if self.announce(&r).await {
                    self.announced = Some(self.announced.map_or(r.size, |a| a.max(r.size)));
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!("reading the anchored heads: {e:#}"),
        }
        for _ in 0..CATCH_UP_MESSAGES {
            let (page, next) = self.locators.own_page(self.cursor.as_deref(), MAX_ENTRIES);
            self.cursor = next;
            if !page.is_empty() {
                self.publish_locators(page).await;
            }
            if self.cursor.is_none() {
                break;
            }
        }
    }

    async fn announce(&self, r: &AnchorRecord) -> bool {
        let mut root = [0u8; 32];
        if hex::decode_to_slice(&r.root, &mut root).is_err() {
            tracing::error!(
                size = r.size,
                "anchored head with a malformed root in anchors.redb"
            );
            return false;
        }
        let ann = CheckpointAnnouncement::sign(
            &self.params.signer,
            r.size,
            root,
            &r.tx_hash,
            r.block_number,
        );
        let Ok(data) = serde_json::to_vec(&ann) else {
            return false;
        };
        match self.network.publish(Topic::Checkpoints, data).await {
            Ok(()) => {
                tracing::debug!(size = r.size, "checkpoint announced");
                true
            }
            Err(e) => {
                tracing::debug!(size = r.size, "checkpoint not announced yet: {e}");
                false
            }
        }
    }

    async fn publish_locators(&self, entries: Vec<super::locators::Locator>) {
        let n = entries.len();
        let ann = LocatorAnnouncement {
            origin: self.params.signer.verifier().name.clone(),
            entries,
        };
        let Ok(data) = serde_json::to_vec(&ann) else {
            return;
        };
        if let Err(e) = self.network.publish(Topic::Locators, data).await {
            tracing::debug!(n, "locators not announced yet: {e}");
        }
    }
}

pub(crate) fn now_rfc3339() -> String {
    hl_ledger::time_fmt::format_utc(time::OffsetDateTime::now_utc()).unwrap_or_default()
}

/// Replaces `path` with `bytes` all at once: a crash leaves the old file or the new one.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), GossipError> {
    use std::io::Write;
    let err = |e: std::io::Error| GossipError::Store(format!("{}: {e}", path.display()));
    let tmp = path.with_extension("json.tmp");
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    f.write_all(bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)?;
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
    Ok(())
}
