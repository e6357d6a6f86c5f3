//! The consortium view of one resident, as the API asks for it: every member the locator index
//! names as a holder is asked (concurrently, bounded in time) and only what passed the
//! requester's verification is handed on, with what each holder answered.
//!
//! Verified answers are kept in memory (never on disk) for a short while so that paging through
//! a result does not refetch it, and only while the consent that allowed them holds: every use
//! of a kept answer first asks the chain again whether each category it served is still
//! permitted to this node, and forgets the answer otherwise. Break-glass answers are never kept.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use alloy::primitives::Address;
use async_trait::async_trait;
use hl_api::ports::{
    Consortium, ConsortiumAsk, ConsortiumRecords, ConsortiumStatus, HolderOutcome, PortError,
    PortResult, RemoteRecord,
};
use tokio::sync::OnceCell;

use super::fetch::{
    ALL_CATEGORIES, Ask, FetchChain, FetchError, Fetched, Requester, categories_in, purpose_code,
};
use super::gossip::Gossip;
use crate::net::Network;

/// Who holds records of a resident: the gossip's locator index in a node, a fixed list in
/// tests and tools.
pub trait Holders: Send + Sync + 'static {
    /// The other members holding records of `resident` (hex pseudonym): origin, and the peer
    /// to ask when known.
    fn holders_of(&self, resident: &str) -> Vec<(String, Option<libp2p::PeerId>)>;
}

impl Holders for Gossip {
    fn holders_of(&self, resident: &str) -> Vec<(String, Option<libp2p::PeerId>)> {
        self.holders(resident)
            .into_keys()
            .filter(|o| o != self.origin())
            .map(|o| {
                let peer = self.peer_of(&o);
                (o, peer)
            })
            .collect()
    }
}

/// A fixed list of holders (origin, peer), the same for every resident.
pub struct FixedHolders(pub Vec<(String, libp2p::PeerId)>);

impl Holders for FixedHolders {
    fn holders_of(&self, _resident: &str) -> Vec<(String, Option<libp2p::PeerId>)> {
        self.0.iter().map(|(o, p)| (o.clone(), Some(*p))).collect()
    }
}

/// How long one holder may take to answer before it is reported unreachable.
pub const HOLDER_TIMEOUT: Duration = Duration::from_secs(20);
/// The longest a verified answer is kept (consent permitting) unless configured otherwise.
pub const CACHE_TTL: Duration = Duration::from_secs(120);

/// Who this node is on chain, for re-checking its own consents.
pub enum Grantee {
    Fixed(Address),
    Chain(Arc<crate::service::chain::ChainAccess>),
}

struct Kept {
    at: Instant,
    fetched: Vec<Fetched>,
    /// Holders that refused or failed: not kept as answers, but told again.
    others: Vec<HolderOutcome>,
}

pub struct ConsortiumService {
    network: Arc<Network>,
    holders: Arc<dyn Holders>,
    requester: Requester,
    chain: Arc<dyn FetchChain>,
    grantee: Grantee,
    account: OnceCell<Address>,
    cache: Mutex<HashMap<([u8; 32], String), Kept>>,
    ttl: Duration,
    /// For the status: checkpoints, split views, refusals.
    gossip: Option<Arc<Gossip>>,
}

impl ConsortiumService {
    pub fn new(
        network: Arc<Network>,
        holders: Arc<dyn Holders>,
        requester: Requester,
        chain: Arc<dyn FetchChain>,
        grantee: Grantee,
    ) -> Self {
        Self {
            network,
            holders,
            requester,
            chain,
            grantee,
            account: OnceCell::new(),
            cache: Mutex::new(HashMap::new()),
            ttl: CACHE_TTL,
            gossip: None,
        }
    }

    /// Reports what `gossip` learnt in [`Consortium::status`].
    pub fn with_gossip(mut self, gossip: Arc<Gossip>) -> Self {
        self.gossip = Some(gossip);
        self
    }

    /// Keeps verified answers this long at most (0: never).
    pub fn with_cache_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    pub fn requester(&self) -> &Requester {
        &self.requester
    }

    async fn account(&self) -> Result<Address, FetchError> {
        self.account
            .get_or_try_init(|| async {
                match &self.grantee {
                    Grantee::Fixed(a) => Ok(*a),
                    Grantee::Chain(access) => access
                        .get()
                        .await
                        .map(|c| c.account)
                        .map_err(|e| FetchError::Chain(format!("{e:#}"))),
                }
            })
            .await
            .copied()
    }

    /// The kept answer for `key`, if it is young enough and every category it served is still
    /// permitted on chain; otherwise it is forgotten.
    async fn kept(&self, key: &([u8; 32], String)) -> Option<(Vec<Fetched>, Vec<HolderOutcome>)> {
        let (fetched, others) = {
            let cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            let k = cache.get(key)?;
            if k.at.elapsed() >= self.ttl {
                None
            } else {
                Some((k.fetched.clone(), k.others.clone()))
            }
        }
        .or_else(|| {
            self.forget(key);
            None
        })?;
        let served = fetched.iter().fold(0u32, |m, f| m | f.served);
        let purpose = purpose_code(&key.1).ok()?;
        let me = self.account().await.ok()?;
        for c in categories_in(served) {
            match self.chain.is_permitted(&key.0, me, c, purpose).await {
                Ok(true) => {}
                // Revoked, expired or unreadable: what it allowed is no longer kept.
                _ => {
                    self.forget(key);
                    return None;
                }
            }
        }
        Some((fetched, others))
    }

    fn forget(&self, key: &([u8; 32], String)) {
        self.cache
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(key);
    }

    /// Asks every holder of the resident other than this node.
    async fn ask_holders(&self, ask: &Ask) -> (Vec<Fetched>, Vec<HolderOutcome>) {
        let holders = self.holders.holders_of(&hex::encode(ask.resident));
        let asks = holders.into_iter().map(|(origin, peer)| async move {
            let Some(peer) = peer else {
                return Err(outcome(&origin, "unreachable", "no peer known for it"));
            };
            let fetched = tokio::time::timeout(
                HOLDER_TIMEOUT,
                self.requester.fetch(&self.network, peer, ask),
            )
            .await;
            let mut failed = match fetched {
                Ok(Ok(f)) => return Ok(f),
                Ok(Err(FetchError::Refused(why))) => outcome(&origin, "refused", &why),
                Ok(Err(FetchError::Rejected(why))) => outcome(&origin, "rejected", &why),
                Ok(Err(e)) => outcome(&origin, "unreachable", &e.to_string()),
                Err(_) => outcome(
                    &origin,
                    "unreachable",
                    &format!("no answer within {} s", HOLDER_TIMEOUT.as_secs()),
                ),
            };
            // A refusal carries no name; the registry has it (people read names, not origins).
            if let Some(key) = crate::net::identity::key_of_peer(&peer)
                && let Ok(Some(m)) = self.chain.member_by_key(&key).await
            {
                failed.institution = Some(m.name);
            }
            Err(failed)
        });
        let (mut ok, mut others) = (Vec::new(), Vec::new());
        for r in futures_util::future::join_all(asks).await {
            match r {
                Ok(f) => ok.push(f),
                Err(o) => others.push(o),
            }
        }
        (ok, others)
    }
}

fn outcome(origin: &str, status: &str, detail: &str) -> HolderOutcome {
    HolderOutcome {
        origin: origin.to_owned(),
        institution: None,
        status: status.to_owned(),
        served: 0,
        refused: Vec::new(),
        detail: Some(detail.to_owned()),
        records: 0,
        dropped: 0,
        break_glass: false,
        cached: false,
        checkpoint_size: None,
        checkpoint_root: None,
    }
}

fn served_outcome(f: &Fetched, cached: bool) -> HolderOutcome {
    HolderOutcome {
        origin: f.holder_origin.clone(),
        institution: Some(f.holder_name.clone()),
        status: "served".into(),
        served: f.served,
        refused: f
            .refused
            .iter()
            .map(|r| (r.category, r.reason.clone()))
            .collect(),
        detail: None,
        records: f.records.len(),
        dropped: f.dropped.len(),
        break_glass: f.break_glass,
        cached,
        checkpoint_size: Some(f.checkpoint_size),
        checkpoint_root: Some(hex::encode(f.checkpoint_root)),
    }
}

fn remote_records(f: &Fetched) -> impl Iterator<Item = RemoteRecord> + '_ {
    f.records.iter().map(|r| RemoteRecord {
        index: r.index,
        envelope: r.envelope.clone(),
        content: r.content.clone().into_bytes(),
        category: r.category,
        institution: f.holder_name.clone(),
        checkpoint_size: f.checkpoint_size,
        checkpoint_root: hex::encode(f.checkpoint_root),
    })
}

/// The newest `n` of `items`, as JSON.
fn newest<T: serde::Serialize>(items: &[T], n: usize) -> Vec<serde_json::Value> {
    items[items.len().saturating_sub(n)..]
        .iter()
        .filter_map(|i| serde_json::to_value(i).ok())
        .collect()
}

/// How many refusals and reports the status lists.
const STATUS_ITEMS: usize = 50;

#[async_trait]
impl Consortium for ConsortiumService {
    fn status(&self) -> ConsortiumStatus {
        let mut s = ConsortiumStatus {
            enabled: true,
            peers: self
                .network
                .connected()
                .iter()
                .map(ToString::to_string)
                .collect(),
            reported: self
                .requester
                .reported()
                .iter()
                .rev()
                .take(STATUS_ITEMS)
                .rev()
                .map(|r| {
                    serde_json::json!({
                        "peer": r.peer.to_string(),
                        "origin": r.origin,
                        "reason": r.reason,
                    })
                })
                .collect(),
            ..ConsortiumStatus::default()
        };
        if let Some(g) = &self.gossip {
            s.checkpoints = serde_json::to_value(g.latest_checkpoints()).unwrap_or_default();
            s.split_views = newest(&g.split_views(), STATUS_ITEMS);
            let refused: Vec<_> = g
                .reports()
                .into_iter()
                .filter(|r| r.kind != super::checkpoints::ReportKind::SplitView)
                .collect();
            s.refused = newest(&refused, STATUS_ITEMS);
            s.remote_residents = g.remote_residents();
        }
        s
    }

    async fn gather(&self, ask: &ConsortiumAsk) -> PortResult<ConsortiumRecords> {
        purpose_code(&ask.purpose).map_err(|e| PortError::Rejected(e.to_string()))?;
        let key = (ask.pseudonym, ask.purpose.clone());
        let break_glass = ask.break_glass_reason.is_some();
        let cached = if break_glass || self.ttl.is_zero() {
            None
        } else {
            self.kept(&key).await
        };
        let (fetched, others, from_cache) = match cached {
            Some((f, o)) => (f, o, true),
            None => {
                let a = Ask {
                    resident: ask.pseudonym,
                    categories: ALL_CATEGORIES,
                    purpose: ask.purpose.clone(),
                    break_glass_reason: ask.break_glass_reason.clone(),
                };
                let (f, o) = self.ask_holders(&a).await;
                if !break_glass && !self.ttl.is_zero() && !f.is_empty() {
                    self.cache.lock().unwrap_or_else(|p| p.into_inner()).insert(
                        key,
                        Kept {
                            at: Instant::now(),
                            fetched: f.clone(),
                            others: o.clone(),
                        },
                    );
                }
                (f, o, false)
            }
        };
        let mut out = ConsortiumRecords::default();
        for f in &fetched {
            out.holders.push(served_outcome(f, from_cache));
            out.records.extend(remote_records(f));
        }
        out.holders.extend(others);
        out.holders.sort_by(|a, b| a.origin.cmp(&b.origin));
        Ok(out)
    }
}
