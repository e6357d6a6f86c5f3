//! The task that owns the swarm: it applies the allow-list, keeps bootstrap peers connected
//! (redialling with exponential backoff), passes gossip on to the node, and carries fetches.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use libp2p::gossipsub::{self, MessageAcceptance};
use libp2p::request_response::{self, OutboundRequestId, ResponseChannel};
use libp2p::swarm::SwarmEvent;
use libp2p::swarm::dial_opts::{DialOpts, PeerCondition};
use libp2p::{Multiaddr, PeerId, Swarm};
use tokio::sync::{broadcast, mpsc, oneshot, watch};
use tokio::time::Instant;

use super::behaviour::{Behaviour, BehaviourEvent};
use super::identity::peer_id_of_key;
use super::membership::Membership;
use super::protocol::{
    FETCH_VERSION, FetchHandler, FetchOutcome, FetchRequest, FetchResponse, Topic,
};
use super::{GossipMessage, NetError, PeerEvent};

/// First redial delay after a bootstrap peer is lost; doubled per failure up to the cap.
const BACKOFF_START: Duration = Duration::from_millis(500);
const BACKOFF_CAP: Duration = Duration::from_secs(60);
/// How long to wait before looking again for membership changes after the chain failed.
const WATCH_RETRY: Duration = Duration::from_secs(5);

pub(crate) enum Command {
    Publish {
        topic: Topic,
        data: Vec<u8>,
        reply: oneshot::Sender<Result<(), NetError>>,
    },
    Fetch {
        peer: PeerId,
        request: FetchRequest,
        reply: oneshot::Sender<Result<FetchResponse, NetError>>,
    },
    Respond {
        channel: ResponseChannel<FetchResponse>,
        response: FetchResponse,
    },
}

struct Bootstrap {
    peer: PeerId,
    addr: Multiaddr,
    failures: u32,
    /// When to dial next; `None` while connected or a dial is under way.
    next_dial: Option<Instant>,
}

pub(crate) struct Driver {
    pub swarm: Swarm<Behaviour>,
    pub commands: mpsc::Receiver<Command>,
    /// For fetch handler tasks to hand their answers back to the swarm.
    pub respond: mpsc::Sender<Command>,
    pub gossip: broadcast::Sender<GossipMessage>,
    pub events: broadcast::Sender<PeerEvent>,
    pub peers: watch::Sender<BTreeSet<PeerId>>,
    pub membership: Arc<dyn Membership>,
    pub fetch_handler: Arc<dyn FetchHandler>,
    pub refresh_every: Duration,
    bootstrap: Vec<Bootstrap>,
    allowed: HashSet<PeerId>,
    fetches: HashMap<OutboundRequestId, oneshot::Sender<Result<FetchResponse, NetError>>>,
}

impl Driver {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        swarm: Swarm<Behaviour>,
        commands: mpsc::Receiver<Command>,
        respond: mpsc::Sender<Command>,
        gossip: broadcast::Sender<GossipMessage>,
        events: broadcast::Sender<PeerEvent>,
        peers: watch::Sender<BTreeSet<PeerId>>,
        membership: Arc<dyn Membership>,
        fetch_handler: Arc<dyn FetchHandler>,
        refresh_every: Duration,
        bootstrap: Vec<(PeerId, Multiaddr)>,
    ) -> Self {
        let now = Instant::now();
        Self {
            swarm,
            commands,
            respond,
            gossip,
            events,
            peers,
            membership,
            fetch_handler,
            refresh_every,
            bootstrap: bootstrap
                .into_iter()
                .map(|(peer, addr)| Bootstrap {
                    peer,
                    addr,
                    failures: 0,
                    next_dial: Some(now),
                })
                .collect(),
            allowed: HashSet::new(),
            fetches: HashMap::new(),
        }
    }

    /// Replaces the allow-list; connections to peers no longer on it are closed.
    pub fn apply_members(&mut self, keys: &BTreeSet<[u8; 32]>) {
        let now: HashSet<PeerId> = keys
            .iter()
            .filter_map(|k| match peer_id_of_key(k) {
                Ok(p) => Some(p),
                Err(e) => {
                    tracing::warn!("a member's registered key is unusable: {e}");
                    None
                }
            })
            .collect();
        let allow = &mut self.swarm.behaviour_mut().allow;
        for gone in self.allowed.difference(&now) {
            allow.disallow_peer(*gone);
            tracing::info!(peer = %gone, "no longer an active member: disconnecting");
            let _ = self.events.send(PeerEvent::Dropped(*gone));
        }
        for new in now.difference(&self.allowed) {
            allow.allow_peer(*new);
        }
        // A bootstrap peer that just became a member is dialled now, not after its backoff.
        let connected = self.peers.borrow().clone();
        for b in &mut self.bootstrap {
            if now.contains(&b.peer)
                && !self.allowed.contains(&b.peer)
                && !connected.contains(&b.peer)
            {
                b.failures = 0;
                b.next_dial = Some(Instant::now());
            }
        }
        self.allowed = now;
    }

    pub async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let (refreshed_tx, mut refreshed) = mpsc::channel::<Option<BTreeSet<[u8; 32]>>>(4);
        let (changed_tx, mut changed) = mpsc::channel::<()>(1);
        let watcher = tokio::spawn(watch_membership(self.membership.clone(), changed_tx));
        let mut tick =
            tokio::time::interval_at(Instant::now() + self.refresh_every, self.refresh_every);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut refreshing = false;
        loop {
            if *stop.borrow() {
                break;
            }
            let next_dial = self
                .bootstrap
                .iter()
                .filter_map(|b| b.next_dial)
                .min()
                .unwrap_or_else(|| Instant::now() + Duration::from_secs(3600));
            tokio::select! {
                _ = stop.changed() => {}
                event = self.swarm.select_next_some() => self.on_swarm_event(event),
                Some(cmd) = self.commands.recv() => self.on_command(cmd),
                _ = tick.tick(), if !refreshing => {
                    refreshing = true;
                    spawn_refresh(self.membership.clone(), refreshed_tx.clone());
                }
                Some(()) = changed.recv(), if !refreshing => {
                    refreshing = true;
                    spawn_refresh(self.membership.clone(), refreshed_tx.clone());
                }
                Some(keys) = refreshed.recv() => {
                    refreshing = false;
                    if let Some(keys) = keys {
                        self.apply_members(&keys);
                    }
                }
                _ = tokio::time::sleep_until(next_dial) => self.dial_due(),
            }
        }
        watcher.abort();
        for (_, reply) in self.fetches.drain() {
            let _ = reply.send(Err(NetError::Stopped));
        }
        tracing::info!("network stopped");
    }

    fn dial_due(&mut self) {
        let now = Instant::now();
        for b in &mut self.bootstrap {
            if b.next_dial.is_some_and(|t| t <= now) {
                b.next_dial = None;
                let opts = DialOpts::peer_id(b.peer)
                    .addresses(vec![b.addr.clone()])
                    .condition(PeerCondition::DisconnectedAndNotDialing)
                    .build();
                if let Err(e) = self.swarm.dial(opts) {
                    // Already connected or dialling: that connection's outcome decides.
                    // Anything else (not a member yet) is retried later.
                    if !matches!(e, libp2p::swarm::DialError::DialPeerConditionFalse(_)) {
                        tracing::debug!(peer = %b.peer, "dial refused: {e}");
                        schedule(b);
                    }
                }
            }
        }
    }

    fn bootstrap_lost(&mut self, peer: PeerId) {
        if let Some(b) = self.bootstrap.iter_mut().find(|b| b.peer == peer)
            && b.next_dial.is_none()
        {
            schedule(b);
        }
    }

    fn on_swarm_event(&mut self, event: SwarmEvent<BehaviourEvent>) {
        match event {
            SwarmEvent::ConnectionEstablished {
                peer_id,
                num_established,
                ..
            } => {
                if let Some(b) = self.bootstrap.iter_mut().find(|b| b.peer == peer_id) {
                    b.failures = 0;
                    b.next_dial = None;
                }
                if num_established.get() == 1 {
                    tracing::info!(peer = %peer_id, "peer connected");
                    self.peers.send_modify(|p| {
                        p.insert(peer_id);
                    });
                    let _ = self.events.send(PeerEvent::Connected(peer_id));
                }
            }
            SwarmEvent::ConnectionClosed {
                peer_id,
                num_established: 0,
                cause,
                ..
            } => {
                tracing::info!(peer = %peer_id, cause = ?cause, "peer disconnected");
                self.peers.send_modify(|p| {
                    p.remove(&peer_id);
                });
                let _ = self.events.send(PeerEvent::Disconnected(peer_id));
                self.bootstrap_lost(peer_id);
            }
            SwarmEvent::OutgoingConnectionError { peer_id, error, .. } => {
                tracing::debug!(peer = ?peer_id, "dial failed: {error}");
                if let Some(peer) = peer_id {
                    let _ = self
                        .events
                        .send(PeerEvent::DialFailed(peer, error.to_string()));
                    if !self.peers.borrow().contains(&peer) {
                        self.bootstrap_lost(peer);
                    }
                }
            }
            SwarmEvent::IncomingConnectionError {
                send_back_addr,
                error,
                peer_id,
                ..
            } => {
                tracing::info!(from = %send_back_addr, peer = ?peer_id, "refused a connection: {error}");
                if let Some(peer) = peer_id {
                    let _ = self.events.send(PeerEvent::Refused(peer));
                }
            }
            SwarmEvent::NewListenAddr { address, .. } => {
                tracing::info!(%address, "network listening");
            }
            SwarmEvent::Behaviour(BehaviourEvent::Gossipsub(e)) => self.on_gossip(e),
            SwarmEvent::Behaviour(BehaviourEvent::Fetch(e)) => self.on_fetch(e),
            SwarmEvent::Behaviour(BehaviourEvent::Identify(e)) => {
                tracing::trace!("identify: {e:?}");
            }
            _ => {}
        }
    }

    fn on_gossip(&mut self, event: gossipsub::Event) {
        let gossipsub::Event::Message {
            propagation_source,
            message_id,
            message,
        } = event
        else {
            return;
        };
        // Only members author gossip: a message a member relays from anyone else (say a
        // member suspended a moment ago) is rejected and not passed on.
        let topic = Topic::from_hash(&message.topic);
        let author = message.source.filter(|s| self.allowed.contains(s));
        let acceptance = match (topic, author) {
            (Some(_), Some(_)) => MessageAcceptance::Accept,
            _ => MessageAcceptance::Reject,
        };
        self.swarm
            .behaviour_mut()
            .gossipsub
            .report_message_validation_result(&message_id, &propagation_source, acceptance);
        if let (Some(topic), Some(source)) = (topic, author) {
            let _ = self.gossip.send(GossipMessage {
                topic,
                source,
                via: propagation_source,
                data: message.data,
            });
        } else {
            tracing::warn!(via = %propagation_source, author = ?message.source, "rejected gossip from a non-member or on an unknown topic");
        }
    }

    fn on_fetch(&mut self, event: request_response::Event<FetchRequest, FetchResponse>) {
        match event {
            request_response::Event::Message { peer, message, .. } => match message {
                request_response::Message::Request {
                    request, channel, ..
                } => {
                    if request.version != FETCH_VERSION {
                        let response = FetchResponse {
                            version: FETCH_VERSION,
                            outcome: FetchOutcome::Unsupported,
                        };
                        let _ = self
                            .swarm
                            .behaviour_mut()
                            .fetch
                            .send_response(channel, response);
                        return;
                    }
                    // Answering may take chain reads and disk: off the swarm's task.
                    let (handler, respond) = (self.fetch_handler.clone(), self.respond.clone());
                    tokio::spawn(async move {
                        let response = handler.handle(peer, request).await;
                        let _ = respond.send(Command::Respond { channel, response }).await;
                    });
                }
                request_response::Message::Response {
                    request_id,
                    response,
                } => {
                    if let Some(reply) = self.fetches.remove(&request_id) {
                        let _ = reply.send(Ok(response));
                    }
                }
            },
            request_response::Event::OutboundFailure {
                request_id, error, ..
            } => {
                if let Some(reply) = self.fetches.remove(&request_id) {
                    let _ = reply.send(Err(NetError::Fetch(error.to_string())));
                }
            }
            request_response::Event::InboundFailure { peer, error, .. } => {
                tracing::debug!(%peer, "inbound fetch failed: {error}");
            }
            request_response::Event::ResponseSent { .. } => {}
        }
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::Publish { topic, data, reply } => {
                let r = self
                    .swarm
                    .behaviour_mut()
                    .gossipsub
                    .publish(topic.ident(), data)
                    .map(|_| ())
                    .map_err(|e| NetError::Publish(e.to_string()));
                let _ = reply.send(r);
            }
            Command::Fetch {
                peer,
                request,
                reply,
            } => {
                if !self.allowed.contains(&peer) {
                    let _ = reply.send(Err(NetError::Fetch(format!(
                        "{peer} is not an active member"
                    ))));
                    return;
                }
                let id = self
                    .swarm
                    .behaviour_mut()
                    .fetch
                    .send_request(&peer, request);
                self.fetches.insert(id, reply);
            }
            Command::Respond { channel, response } => {
                // The requester may have gone: nothing to do then.
                let _ = self
                    .swarm
                    .behaviour_mut()
                    .fetch
                    .send_response(channel, response);
            }
        }
    }
}

fn schedule(b: &mut Bootstrap) {
    let exp = BACKOFF_START.saturating_mul(1u32 << b.failures.min(16));
    let delay = exp.min(BACKOFF_CAP);
    // Jitter, so members restarted together do not redial in lockstep.
    let jitter = delay.mul_f64(rand::random::<f64>() * 0.1);
    b.failures = b.failures.saturating_add(1);
    b.next_dial = Some(Instant::now() + delay + jitter);
    tracing::debug!(peer = %b.peer, ?delay, "redialling later");
}

fn spawn_refresh(membership: Arc<dyn Membership>, done: mpsc::Sender<Option<BTreeSet<[u8; 32]>>>) {
    tokio::spawn(async move {
        let keys = match membership.active_keys().await {
            Ok(keys) => Some(keys),
            // Keep the last list: an RPC outage must not cut the consortium apart.
            Err(e) => {
                tracing::warn!("reading the members failed, keeping the last allow-list: {e}");
                None
            }
        };
        let _ = done.send(keys).await;
    });
}

async fn watch_membership(membership: Arc<dyn Membership>, changed: mpsc::Sender<()>) {
    loop {
        match membership.changed().await {
            Ok(()) => {
                if changed.send(()).await.is_err() {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!("watching membership events: {e}");
                tokio::time::sleep(WATCH_RETRY).await;
            }
        }
    }
}
