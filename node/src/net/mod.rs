//! The consortium network (libp2p): members connect over TCP with the consortium's
//! pre-shared key, Noise and Yamux; each node's peer id is its institution's Ed25519 log key,
//! and only the keys of active members on chain may stay connected. Members gossip on two
//! topics and fetch records by request-response. libp2p's API changes with every release, so
//! it stays behind this module: the rest of the node sees [`Network`] only.

mod behaviour;
pub mod config;
mod driver;
pub mod identity;
pub mod membership;
pub mod protocol;
mod transport;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use libp2p::identity::Keypair;
use libp2p::multiaddr::Protocol;
use libp2p::pnet::PreSharedKey;
use libp2p::swarm::SwarmEvent;
use libp2p::{Multiaddr, PeerId, Swarm};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::task::JoinHandle;

pub use config::NetworkConfig;
pub use libp2p::{Multiaddr as Addr, PeerId as Peer};
pub use membership::{ChainMembership, FixedMembership, Membership};
pub use protocol::{
    FetchAnswer, FetchHandler, FetchOutcome, FetchRequest, FetchResponse, NotServed,
    RefusedCategory, Topic,
};

use driver::{Command, Driver};

/// Connections are kept while idle (members exchange little most of the time); a lost one
/// is redialled.
const IDLE_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// Longest the first read of the members may take before the network starts with none.
const FIRST_REFRESH_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetError {
    #[error("network configuration: {0}")]
    Config(String),
    #[error("network identity: {0}")]
    Identity(String),
    #[error("network setup: {0}")]
    Setup(String),
    #[error("reading members from the chain: {0}")]
    Chain(String),
    #[error("publishing gossip: {0}")]
    Publish(String),
    #[error("record fetch: {0}")]
    Fetch(String),
    #[error("the network has stopped")]
    Stopped,
}

/// A gossip message received from a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GossipMessage {
    pub topic: Topic,
    /// The member that wrote and signed it.
    pub source: PeerId,
    /// The member that passed it to us.
    pub via: PeerId,
    pub data: Vec<u8>,
}

/// What happened to a peer connection, for logs, metrics and tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerEvent {
    Connected(PeerId),
    Disconnected(PeerId),
    /// An inbound connection was refused (not an active member).
    Refused(PeerId),
    /// A dial failed (unreachable, wrong pre-shared key, not a member, …).
    DialFailed(PeerId, String),
    /// A peer left the allow-list (suspended) and was disconnected.
    Dropped(PeerId),
}

/// What a network needs to start.
pub struct NetworkParams {
    pub keypair: Keypair,
    pub psk: PreSharedKey,
    pub listen: Multiaddr,
    pub bootstrap: Vec<(PeerId, Multiaddr)>,
    pub refresh_every: Duration,
}

impl NetworkParams {
    /// From the node's configuration, log key and consortium key.
    pub fn new(
        config: &NetworkConfig,
        signer: &hl_ledger::note::NoteSigner,
        consortium_key: &[u8; 32],
    ) -> Result<Self, NetError> {
        Ok(Self {
            keypair: identity::keypair(signer)?,
            psk: identity::pre_shared_key(consortium_key),
            listen: config.listen_addr()?,
            bootstrap: config.bootstrap_peers()?,
            refresh_every: Duration::from_secs(config.allowlist_refresh_secs.max(1)),
        })
    }
}

/// A running network: a handle to the task that owns the swarm.
pub struct Network {
    peer_id: PeerId,
    listen_addrs: Vec<Multiaddr>,
    commands: mpsc::Sender<Command>,
    gossip: broadcast::Sender<GossipMessage>,
    events: broadcast::Sender<PeerEvent>,
    peers: watch::Receiver<BTreeSet<PeerId>>,
    task: std::sync::Mutex<Option<JoinHandle<()>>>,
}

impl Network {
    /// Listens, reads the members once, and runs the network on the current tokio runtime
    /// until `stop` turns true.
    pub async fn start(
        params: NetworkParams,
        membership: Arc<dyn Membership>,
        fetch_handler: Arc<dyn FetchHandler>,
        stop: watch::Receiver<bool>,
    ) -> Result<Self, NetError> {
        let peer_id = params.keypair.public().to_peer_id();
        let transport = transport::build(&params.keypair, params.psk)?;
        let behaviour = behaviour::Behaviour::new(&params.keypair)?;
        let mut swarm = Swarm::new(
            transport,
            behaviour,
            peer_id,
            libp2p::swarm::Config::with_tokio_executor().with_idle_connection_timeout(IDLE_TIMEOUT),
        );
        swarm
            .listen_on(params.listen.clone())
            .map_err(|e| NetError::Setup(format!("listening on {}: {e}", params.listen)))?;
        let listen_addrs = first_listen_addrs(&mut swarm, &params.listen).await?;

        let (commands_tx, commands) = mpsc::channel(256);
        let (gossip, _) = broadcast::channel(1024);
        let (events, _) = broadcast::channel(256);
        let (peers_tx, peers) = watch::channel(BTreeSet::new());
        let mut driver = Driver::new(
            swarm,
            commands,
            commands_tx.clone(),
            gossip.clone(),
            events.clone(),
            peers_tx,
            membership.clone(),
            fetch_handler,
            params.refresh_every,
            params.bootstrap,
        );
        // Dialling before the allow-list is known would only be refused.
        match tokio::time::timeout(FIRST_REFRESH_TIMEOUT, membership.active_keys()).await {
            Ok(Ok(keys)) => driver.apply_members(&keys),
            Ok(Err(e)) => tracing::warn!("starting with no members known: {e}"),
            Err(_) => tracing::warn!("starting with no members known: reading them timed out"),
        }
        let task = tokio::spawn(driver.run(stop));
        let listen_addrs = listen_addrs
            .into_iter()
            .map(|a| a.with(Protocol::P2p(peer_id)))
            .collect();
        Ok(Self {
            peer_id,
            listen_addrs,
            commands: commands_tx,
            gossip,
            events,
            peers,
            task: std::sync::Mutex::new(Some(task)),
        })
    }

    pub fn peer_id(&self) -> PeerId {
        self.peer_id
    }

    /// Where this node accepts peers, each ending in `/p2p/<its peer id>` (a bootstrap entry).
    pub fn listen_addrs(&self) -> &[Multiaddr] {
        &self.listen_addrs
    }

    /// Publishes `data` on `topic`, signed by this node.
    pub async fn publish(&self, topic: Topic, data: Vec<u8>) -> Result<(), NetError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Publish { topic, data, reply })
            .await
            .map_err(|_| NetError::Stopped)?;
        answer.await.map_err(|_| NetError::Stopped)?
    }

    /// Asks `peer` for records.
    pub async fn fetch(
        &self,
        peer: PeerId,
        request: FetchRequest,
    ) -> Result<FetchResponse, NetError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(Command::Fetch {
                peer,
                request,
                reply,
            })
            .await
            .map_err(|_| NetError::Stopped)?;
        answer.await.map_err(|_| NetError::Stopped)?
    }

    /// Gossip received from members from now on (authored by an active member, verified).
    pub fn gossip(&self) -> broadcast::Receiver<GossipMessage> {
        self.gossip.subscribe()
    }

    /// Peer connection events from now on.
    pub fn events(&self) -> broadcast::Receiver<PeerEvent> {
        self.events.subscribe()
    }

    /// The connected peers, kept current.
    pub fn peers(&self) -> watch::Receiver<BTreeSet<PeerId>> {
        self.peers.clone()
    }

    pub fn connected(&self) -> BTreeSet<PeerId> {
        self.peers.borrow().clone()
    }

    /// Waits for the network task to end (after `stop`). Later calls return at once.
    pub async fn join(&self) -> Result<(), NetError> {
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        match task {
            Some(t) => t
                .await
                .map_err(|e| NetError::Setup(format!("network task: {e}"))),
            None => Ok(()),
        }
    }
}

/// Drives the swarm until the listener reports its addresses (port 0 becomes a real port).
async fn first_listen_addrs(
    swarm: &mut Swarm<behaviour::Behaviour>,
    wanted: &Multiaddr,
) -> Result<Vec<Multiaddr>, NetError> {
    let wait = async {
        loop {
            match swarm.select_next_some().await {
                SwarmEvent::NewListenAddr { address, .. } => return Ok(vec![address]),
                SwarmEvent::ListenerError { error, .. } => {
                    return Err(NetError::Setup(format!("listening on {wanted}: {error}")));
                }
                SwarmEvent::ListenerClosed { reason, .. } => {
                    return Err(NetError::Setup(format!(
                        "listening on {wanted}: closed ({reason:?})"
                    )));
                }
                _ => {}
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), wait)
        .await
        .map_err(|_| NetError::Setup(format!("listening on {wanted}: no address in 10 s")))?
}
