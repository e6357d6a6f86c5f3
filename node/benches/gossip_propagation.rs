//! Checkpoint gossip propagation across 3 and 20 members started in one process, on loopback.
//!
//! Each member runs the real [`Network`] (TCP + pnet + Noise + Yamux, gossipsub) and [`Gossip`]
//! service; the chain is stood in for by a [`MemoryRegistry`] (as in `tests/gossip.rs`), so the
//! figures are the network's and the node's, not a chain's. Topology: member `i` dials member
//! `i - 1` and one random earlier member (seeded), so nobody is told about everybody.
//!
//! Two measures, each over many rounds with a new head per round and rotating authors:
//! - **end to end**: the author's anchoring task records an anchored head (`AnchorState`), and
//!   we wait until every other member's `latest_checkpoints()` holds it. This includes the
//!   author's gossip service noticing the new head (it polls every 500 ms).
//! - **network + checks**: the author's network publishes the signed announcement directly
//!   (what its gossip service does once it noticed the head); time until every other member
//!   received it, and until every one accepted it (signature, registry, book written to disk).
//!
//! `cargo bench -p hl-node --bench gossip_propagation`
//! (HL_BENCH_NODES, default "3,20"; HL_BENCH_ROUNDS, default "50,30", one per node count;
//! HL_BENCH_THREADS, tokio worker threads shared by all members, default 2 = the machine's cores).

mod common;

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use hl_ledger::note::{Checkpoint, NoteSigner};
use hl_node::chain::state::{AnchorRecord, AnchorState};
use hl_node::consortium::checkpoints::CheckpointAnnouncement;
use hl_node::consortium::gossip::{CATCH_UP_EVERY, Gossip, GossipParams, MemoryRegistry};
use hl_node::net::identity::{keypair, pre_shared_key};
use hl_node::net::{FixedMembership, Network, NetworkParams, NotServed, Peer, Topic};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::time::{Instant, timeout};

const CONSORTIUM: [u8; 32] = [7; 32];
/// A round that has not reached everyone by then is a failure, not a figure.
const ROUND_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound on everything for one node count: start, connect, all rounds, stop.
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(600);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(60);
/// Granularity of the acceptance check once a member has received the announcement.
const CHECK_EVERY: Duration = Duration::from_millis(1);
/// Also checks members whose receipt is not read yet (its watcher may run after their gossip).
const SWEEP_EVERY: Duration = Duration::from_millis(50);

struct Node {
    signer: NoteSigner,
    net: Arc<Network>,
    gossip: Gossip,
    anchors: Arc<AnchorState>,
    _dir: tempfile::TempDir,
}

impl Node {
    fn origin(&self) -> &str {
        &self.signer.verifier().name
    }
}

/// A checkpoint announcement some member received, and when.
struct Receipt {
    node: usize,
    source: Peer,
    data: Vec<u8>,
    at: Instant,
}

/// Times of one round, from its start; `None` for the author.
struct Round {
    received: Vec<Option<Duration>>,
    accepted: Vec<Option<Duration>>,
}

impl Round {
    fn first_received(&self) -> Duration {
        self.received
            .iter()
            .flatten()
            .min()
            .copied()
            .unwrap_or_default()
    }
    fn all_received(&self) -> Duration {
        self.received
            .iter()
            .flatten()
            .max()
            .copied()
            .unwrap_or_default()
    }
    fn all_accepted(&self) -> Duration {
        self.accepted
            .iter()
            .flatten()
            .max()
            .copied()
            .unwrap_or_default()
    }
}

/// Who dials whom: member `i` bootstraps to `i - 1` and one random earlier member.
fn topology(n: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<usize>> {
    (0..n)
        .map(|i| {
            let mut to = Vec::new();
            if i >= 1 {
                to.push(i - 1);
            }
            if i >= 2 {
                to.push(rng.gen_range(0..i - 1));
            }
            to
        })
        .collect()
}

/// Hops between every two members over the links (either direction).
fn distances(links: &[Vec<usize>]) -> Vec<Vec<usize>> {
    let n = links.len();
    let mut adj = vec![Vec::new(); n];
    for (i, to) in links.iter().enumerate() {
        for &j in to {
            adj[i].push(j);
            adj[j].push(i);
        }
    }
    (0..n)
        .map(|s| {
            let mut dist = vec![usize::MAX; n];
            dist[s] = 0;
            let mut q = VecDeque::from([s]);
            while let Some(u) = q.pop_front() {
                for &v in &adj[u] {
                    if dist[v] == usize::MAX {
                        dist[v] = dist[u] + 1;
                        q.push_back(v);
                    }
                }
            }
            dist
        })
        .collect()
}

async fn start(
    n: usize,
    links: &[Vec<usize>],
    stop: &watch::Receiver<bool>,
) -> Result<(Vec<Node>, Arc<MemoryRegistry>)> {
    let signers = (0..n)
        .map(|i| NoteSigner::generate(&format!("member{i}.example/log")))
        .collect::<Result<Vec<_>, _>>()?;
    let keys: Vec<[u8; 32]> = signers
        .iter()
        .map(|s| s.verifier().key.to_bytes())
        .collect();
    let membership = Arc::new(FixedMembership::new(keys.iter().copied()));
    let registry = Arc::new(MemoryRegistry::default());
    for (s, k) in signers.iter().zip(&keys) {
        registry.register(*k, &s.verifier().name);
    }
    let mut nodes: Vec<Node> = Vec::with_capacity(n);
    for (i, signer) in signers.into_iter().enumerate() {
        let params = NetworkParams {
            keypair: keypair(&signer)?,
            psk: pre_shared_key(&CONSORTIUM),
            listen: "/ip4/127.0.0.1/tcp/0".parse()?,
            bootstrap: links[i]
                .iter()
                .map(|&j| {
                    (
                        nodes[j].net.peer_id(),
                        nodes[j].net.listen_addrs()[0].clone(),
                    )
                })
                .collect(),
            refresh_every: Duration::from_secs(3600),
        };
        let net = Arc::new(
            Network::start(
                params,
                membership.clone(),
                Arc::new(NotServed),
                stop.clone(),
            )
            .await?,
        );
        let dir = tempfile::tempdir()?;
        let anchors = Arc::new(AnchorState::open(dir.path())?);
        let gossip = Gossip::start(
            GossipParams {
                data_dir: dir.path().to_owned(),
                signer: signer.clone(),
                anchors: anchors.clone(),
                ledger: None,
                catch_up_every: CATCH_UP_EVERY,
            },
            net.clone(),
            registry.clone(),
            stop.clone(),
        )?;
        nodes.push(Node {
            signer,
            net,
            gossip,
            anchors,
            _dir: dir,
        });
    }
    // Every link up, both ways, before the first round.
    timeout(CONNECT_TIMEOUT, async {
        loop {
            let up = links.iter().enumerate().all(|(i, to)| {
                to.iter().all(|&j| {
                    nodes[i].net.connected().contains(&nodes[j].net.peer_id())
                        && nodes[j].net.connected().contains(&nodes[i].net.peer_id())
                })
            });
            if up {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .context("members did not connect in time")?;
    Ok((nodes, registry))
}

/// Forwards every checkpoint announcement each member's network delivers, time-stamped.
fn watch_receipts(nodes: &[Node]) -> mpsc::UnboundedReceiver<Receipt> {
    let (tx, rx) = mpsc::unbounded_channel();
    for (i, n) in nodes.iter().enumerate() {
        let mut gossip = n.net.gossip();
        let tx = tx.clone();
        tokio::spawn(async move {
            loop {
                match gossip.recv().await {
                    Ok(m) if m.topic == Topic::Checkpoints => {
                        let r = Receipt {
                            node: i,
                            source: m.source,
                            data: m.data,
                            at: Instant::now(),
                        };
                        if tx.send(r).is_err() {
                            return;
                        }
                    }
                    Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
    }
    rx
}

/// The size of the head in an announcement by `author`, if it is one.
fn size_of(data: &[u8], author: &Node) -> Option<u64> {
    let ann: CheckpointAnnouncement = serde_json::from_slice(data).ok()?;
    Some(
        Checkpoint::open_signed(&ann.note, author.signer.verifier())
            .ok()?
            .size,
    )
}

/// Waits until every member but `author` has accepted `author`'s head of `size`.
async fn await_round(
    nodes: &[Node],
    receipts: &mut mpsc::UnboundedReceiver<Receipt>,
    author: usize,
    size: u64,
    t0: Instant,
) -> Result<Round> {
    let n = nodes.len();
    let (peer, origin) = (nodes[author].net.peer_id(), nodes[author].origin());
    let mut round = Round {
        received: vec![None; n],
        accepted: vec![None; n],
    };
    let holds = |i: usize| {
        nodes[i]
            .gossip
            .latest_checkpoints()
            .get(origin)
            .is_some_and(|cp| cp.size >= size)
    };
    let mut check = tokio::time::interval(CHECK_EVERY);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut sweep = tokio::time::interval(SWEEP_EVERY);
    let deadline = t0 + ROUND_TIMEOUT;
    loop {
        let pending: Vec<usize> = (0..n)
            .filter(|&i| i != author && round.accepted[i].is_none())
            .collect();
        // An acceptance seen by a sweep may come before its receipt is read: every member that
        // accepted it received it, so the round ends once both are in.
        let unreceived = (0..n).any(|i| i != author && round.received[i].is_none());
        if pending.is_empty() && !unreceived {
            return Ok(round);
        }
        let waiting_on_checks = pending.iter().any(|&i| round.received[i].is_some());
        tokio::select! {
            Some(r) = receipts.recv() => {
                if r.source == peer
                    && round.received[r.node].is_none()
                    && size_of(&r.data, &nodes[author]) == Some(size)
                {
                    round.received[r.node] = Some(r.at.saturating_duration_since(t0));
                }
            }
            _ = check.tick(), if waiting_on_checks => {
                let now = Instant::now();
                for &i in &pending {
                    if round.received[i].is_some() && holds(i) {
                        round.accepted[i] = Some(now - t0);
                    }
                }
            }
            _ = sweep.tick() => {
                let now = Instant::now();
                for &i in &pending {
                    if holds(i) {
                        round.accepted[i] = Some(now - t0);
                    }
                }
            }
            _ = tokio::time::sleep_until(deadline) => {
                bail!(
                    "round by member {author} (size {size}): members {pending:?} did not accept \
                     it within {ROUND_TIMEOUT:?} (or a receipt went unseen)"
                );
            }
        }
    }
}

/// Records an anchored head as the anchoring task does once it is confirmed.
fn anchored(node: &Node, size: u64, root: [u8; 32]) -> Result<()> {
    let record = AnchorRecord {
        size,
        root: hex::encode(root),
        tx_hash: format!("0x{}", hex::encode(root)),
        block_number: size + 100,
        block_hash: format!("0x{}", hex::encode([1; 32])),
        gas_used: 1,
        confirmed_at: "2025-01-01T00:00:00Z".into(),
    };
    tokio::task::block_in_place(|| node.anchors.record(&record))
}

#[derive(Default)]
struct Figures {
    end_to_end_first: Vec<Duration>,
    end_to_end_all: Vec<Duration>,
    network_received: Vec<Duration>,
    network_accepted: Vec<Duration>,
    /// Published → received, by hops from the author.
    by_hops: Vec<Vec<Duration>>,
}

async fn scenario(n: usize, rounds: usize) -> Result<Figures> {
    let mut rng = ChaCha8Rng::seed_from_u64(n as u64);
    let links = topology(n, &mut rng);
    let (stop_tx, stop) = watch::channel(false);
    let connecting = Instant::now();
    let (nodes, registry) = start(n, &links, &stop).await?;
    let hops = distances(&links);
    let diameter = hops.iter().flatten().copied().max().unwrap_or(0);
    let degree = |i: usize| hops[i].iter().filter(|&&d| d == 1).count();
    println!(
        "{n} members: {} links, at most {} per member, diameter {diameter} hops, connected in {:.2} s",
        links.iter().map(Vec::len).sum::<usize>(),
        (0..n).map(degree).max().unwrap_or(0),
        connecting.elapsed().as_secs_f64()
    );
    let mut receipts = watch_receipts(&nodes);
    let mut sizes = vec![0u64; n];
    let mut next_head = |author: usize, rng: &mut ChaCha8Rng| {
        sizes[author] += rng.gen_range(1..1000);
        let mut root = [0u8; 32];
        rng.fill(&mut root);
        registry.anchor(
            &nodes[author].signer.verifier().key.to_bytes(),
            sizes[author],
            root,
        );
        (sizes[author], root)
    };
    // Out of phase with the author's 500 ms poll and gossipsub's 1 s heartbeat.
    let pause = |rng: &mut ChaCha8Rng| Duration::from_millis(rng.gen_range(20..400));

    // Warm-up: every member publishes once (meshes formed, code paths and files warm).
    for author in 0..n {
        let (size, root) = next_head(author, &mut rng);
        let ann = CheckpointAnnouncement::sign(&nodes[author].signer, size, root, "0x00", 1);
        let t0 = Instant::now();
        let data = serde_json::to_vec(&ann)?;
        // Connected is not yet subscribed: the first publish may find no subscriber.
        let deadline = Instant::now() + Duration::from_secs(20);
        while let Err(e) = nodes[author]
            .net
            .publish(Topic::Checkpoints, data.clone())
            .await
        {
            if Instant::now() > deadline {
                return Err(e.into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        await_round(&nodes, &mut receipts, author, size, t0).await?;
    }

    let mut f = Figures {
        by_hops: vec![Vec::new(); diameter + 1],
        ..Figures::default()
    };
    for r in 0..rounds {
        let author = r % n;
        let (size, root) = next_head(author, &mut rng);
        anchored(&nodes[author], size, root)?;
        let t0 = Instant::now();
        let round = await_round(&nodes, &mut receipts, author, size, t0).await?;
        f.end_to_end_first.push(round.first_received());
        f.end_to_end_all.push(round.all_accepted());
        tokio::time::sleep(pause(&mut rng)).await;
    }
    for r in 0..rounds {
        let author = (r + 1) % n;
        let (size, root) = next_head(author, &mut rng);
        let tx_hash = format!("0x{}", hex::encode(root));
        let ann = CheckpointAnnouncement::sign(&nodes[author].signer, size, root, &tx_hash, 1);
        let data = serde_json::to_vec(&ann)?;
        let t0 = Instant::now();
        nodes[author].net.publish(Topic::Checkpoints, data).await?;
        let round = await_round(&nodes, &mut receipts, author, size, t0).await?;
        f.network_received.push(round.all_received());
        for (i, t) in round.received.iter().enumerate() {
            if let Some(t) = t {
                f.by_hops[hops[author][i]].push(*t);
            }
        }
        f.network_accepted.push(round.all_accepted());
        tokio::time::sleep(pause(&mut rng)).await;
    }
    for node in &nodes {
        let refused = node.gossip.reports();
        if !refused.is_empty() {
            bail!("a member refused announcements: {refused:?}");
        }
    }

    let _ = stop_tx.send(true);
    for node in nodes {
        timeout(Duration::from_secs(10), node.gossip.join())
            .await
            .context("gossip did not stop in time")?;
        let net = Arc::into_inner(node.net).context("the network is still shared")?;
        timeout(Duration::from_secs(10), net.join())
            .await
            .context("network did not stop in time")??;
    }
    Ok(f)
}

fn percentile(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1e3
}

fn row(nodes: usize, what: &str, mut v: Vec<Duration>) {
    if v.is_empty() {
        return;
    }
    v.sort();
    println!(
        "{:>5} {:>6}  {:<44} {:>8.1} {:>8.1} {:>8.1} {:>8.1}",
        nodes,
        v.len(),
        what,
        percentile(&v, 0.50),
        percentile(&v, 0.95),
        percentile(&v, 0.99),
        percentile(&v, 1.0),
    );
}

fn list(name: &str, default: &str) -> Result<Vec<usize>> {
    std::env::var(name)
        .unwrap_or_else(|_| default.to_owned())
        .split(',')
        .map(|s| s.trim().parse().with_context(|| format!("{name}: {s:?}")))
        .collect()
}

fn main() -> Result<()> {
    let counts = list("HL_BENCH_NODES", "3,20")?;
    let rounds = list("HL_BENCH_ROUNDS", "50,30")?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(common::env_usize("HL_BENCH_THREADS", 2).max(1))
        .enable_all()
        .build()?;
    let mut results = Vec::new();
    for (i, &n) in counts.iter().enumerate() {
        if n < 2 {
            bail!("HL_BENCH_NODES: a consortium needs at least 2 members");
        }
        let r = rounds
            .get(i)
            .or(rounds.last())
            .copied()
            .unwrap_or(30)
            .max(1);
        let f = rt
            .block_on(async { timeout(SCENARIO_TIMEOUT, scenario(n, r)).await })
            .with_context(|| format!("{n} members: not done within {SCENARIO_TIMEOUT:?}"))??;
        results.push((n, f));
    }
    println!();
    println!(
        "{:>5} {:>6}  {:<44} {:>8} {:>8} {:>8} {:>8}",
        "nodes", "rounds", "from → to", "p50 ms", "p95 ms", "p99 ms", "max ms"
    );
    for (n, f) in results {
        row(
            n,
            "anchored → accepted by all (end to end)",
            f.end_to_end_all,
        );
        row(n, "anchored → received by the first", f.end_to_end_first);
        row(n, "published → received by all", f.network_received);
        row(n, "published → accepted by all", f.network_accepted);
        for (h, v) in f.by_hops.into_iter().enumerate().skip(1) {
            row(n, &format!("published → received {h} hop(s) away"), v);
        }
    }
    println!("peak RSS {:.0} MiB", common::peak_rss_mib());
    Ok(())
}
