//! The consortium network, with in-process nodes on loopback: pre-shared key, allow-list,
//! gossip, fetch, redial. Membership is set by hand (FixedMembership), standing in for the
//! chain.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use hl_ledger::note::NoteSigner;
use hl_node::net::identity::{keypair, pre_shared_key};
use hl_node::net::{
    Addr, FetchOutcome, FetchRequest, FixedMembership, GossipMessage, Network, NetworkParams,
    NotServed, Peer, PeerEvent, Topic,
};
use tokio::sync::{broadcast, watch};
use tokio::time::timeout;

const CONSORTIUM: [u8; 32] = [7; 32];
const REFRESH: Duration = Duration::from_secs(1);

struct Member {
    signer: NoteSigner,
}

impl Member {
    fn new(name: &str) -> Self {
        Self {
            signer: NoteSigner::generate(name).unwrap(),
        }
    }

    fn key(&self) -> [u8; 32] {
        self.signer.verifier().key.to_bytes()
    }
}

struct Node {
    net: Network,
    stop: watch::Sender<bool>,
}

impl Node {
    async fn start(
        m: &Member,
        consortium: [u8; 32],
        members: Arc<FixedMembership>,
        listen: &str,
        bootstrap: &[&Node],
    ) -> Node {
        let bootstrap = bootstrap
            .iter()
            .map(|n| (n.net.peer_id(), n.net.listen_addrs()[0].clone()))
            .collect();
        Self::start_with(m, consortium, members, listen, bootstrap).await
    }

    async fn start_with(
        m: &Member,
        consortium: [u8; 32],
        members: Arc<FixedMembership>,
        listen: &str,
        bootstrap: Vec<(Peer, Addr)>,
    ) -> Node {
        let params = NetworkParams {
            keypair: keypair(&m.signer).unwrap(),
            psk: pre_shared_key(&consortium),
            listen: listen.parse().unwrap(),
            bootstrap,
            refresh_every: REFRESH,
        };
        let (stop, stop_rx) = watch::channel(false);
        let net = Network::start(params, members, Arc::new(NotServed), stop_rx)
            .await
            .unwrap();
        Node { net, stop }
    }

    async fn shut(self) {
        let _ = self.stop.send(true);
        timeout(Duration::from_secs(10), self.net.join())
            .await
            .expect("network stops in time")
            .unwrap();
    }

    async fn wait_peers(&self, what: &str, f: impl Fn(&BTreeSet<Peer>) -> bool) {
        let mut peers = self.net.peers();
        timeout(Duration::from_secs(30), peers.wait_for(|p| f(p)))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "timed out waiting for {what}; peers: {:?}",
                    self.net.connected()
                )
            })
            .unwrap();
    }
}

/// A request that only has to travel: its signature is never checked here.
fn unsigned_request(version: u16) -> FetchRequest {
    FetchRequest {
        version,
        resident: [1; 32],
        categories: 1,
        purpose: "TREAT".into(),
        break_glass_reason: None,
        requester: "x.example/log".into(),
        issued_at: 0,
        nonce: [0; 16],
        signature: Vec::new(),
    }
}

fn members(ms: &[&Member]) -> Arc<FixedMembership> {
    Arc::new(FixedMembership::new(ms.iter().map(|m| m.key())))
}

async fn next_event(
    rx: &mut broadcast::Receiver<PeerEvent>,
    want: impl Fn(&PeerEvent) -> bool,
) -> PeerEvent {
    timeout(Duration::from_secs(30), async {
        loop {
            let e = rx.recv().await.unwrap();
            if want(&e) {
                return e;
            }
        }
    })
    .await
    .expect("the event came in time")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossip_from_one_member_reaches_the_other_two() {
    let (a, b, c) = (
        Member::new("a.example/log"),
        Member::new("b.example/log"),
        Member::new("c.example/log"),
    );
    let all = members(&[&a, &b, &c]);
    let na = Node::start(&a, CONSORTIUM, all.clone(), "/ip4/127.0.0.1/tcp/0", &[]).await;
    // A star through a's bootstrap address: what b publishes reaches c only through a.
    let nb = Node::start(&b, CONSORTIUM, all.clone(), "/ip4/127.0.0.1/tcp/0", &[&na]).await;
    let nc = Node::start(&c, CONSORTIUM, all.clone(), "/ip4/127.0.0.1/tcp/0", &[&na]).await;
    let (pb, pc) = (nb.net.peer_id(), nc.net.peer_id());
    na.wait_peers("a to see b and c", |p| p.contains(&pb) && p.contains(&pc))
        .await;
    assert!(
        !nb.net.connected().contains(&pc),
        "b and c only meet through a"
    );

    let (mut at_a, mut at_c) = (na.net.gossip(), nc.net.gossip());
    let (mut got_a, mut got_c): (Option<GossipMessage>, Option<GossipMessage>) = (None, None);
    // Until the mesh has formed (a heartbeat) publishing may find no peer; retry.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    let mut n = 0;
    while got_a.is_none() || got_c.is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gossip did not arrive: a {got_a:?} c {got_c:?}"
        );
        n += 1;
        let _ = nb
            .net
            .publish(Topic::Checkpoints, format!("checkpoint {n}").into_bytes())
            .await;
        let pause = tokio::time::sleep(Duration::from_millis(300));
        tokio::pin!(pause);
        loop {
            tokio::select! {
                m = at_a.recv() => { got_a.get_or_insert(m.unwrap()); }
                m = at_c.recv() => { got_c.get_or_insert(m.unwrap()); }
                _ = &mut pause => break,
            }
        }
    }
    for (m, via) in [(got_a.unwrap(), pb), (got_c.unwrap(), na.net.peer_id())] {
        assert_eq!(m.topic, Topic::Checkpoints);
        assert_eq!(m.source, pb, "the author is b, whoever relayed it");
        assert_eq!(m.via, via);
        assert!(
            String::from_utf8(m.data)
                .unwrap()
                .starts_with("checkpoint ")
        );
    }
    // The other topic is carried too, and a node does not hear its own message.
    let mut at_b = nb.net.gossip();
    let mut at_a = na.net.gossip();
    na.net
        .publish(Topic::Locators, b"locator".to_vec())
        .await
        .unwrap();
    let m = timeout(Duration::from_secs(10), at_b.recv())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (m.topic, m.source, m.data),
        (Topic::Locators, na.net.peer_id(), b"locator".to_vec())
    );
    assert!(
        timeout(Duration::from_millis(500), at_a.recv())
            .await
            .is_err()
    );

    for n in [na, nb, nc] {
        n.shut().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_with_another_pre_shared_key_cannot_connect() {
    let (a, x) = (Member::new("a.example/log"), Member::new("x.example/log"));
    let both = members(&[&a, &x]);
    let na = Node::start(&a, CONSORTIUM, both.clone(), "/ip4/127.0.0.1/tcp/0", &[]).await;
    let mut a_events = na.net.events();
    let nx = Node::start(&x, [8; 32], both.clone(), "/ip4/127.0.0.1/tcp/0", &[&na]).await;
    let mut x_events = nx.net.events();
    let pa = na.net.peer_id();
    next_event(
        &mut x_events,
        |e| matches!(e, PeerEvent::DialFailed(p, _) if *p == pa),
    )
    .await;
    // And it keeps failing: nothing ever connects either way.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(na.net.connected().is_empty());
    assert!(nx.net.connected().is_empty());
    while let Ok(e) = a_events.try_recv() {
        assert!(!matches!(e, PeerEvent::Connected(_)), "a saw {e:?}");
    }
    na.shut().await;
    nx.shut().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_not_on_the_allow_list_is_refused() {
    let (a, b, x) = (
        Member::new("a.example/log"),
        Member::new("b.example/log"),
        Member::new("x.example/log"),
    );
    // x holds the pre-shared key and thinks a is a member, but a does not list x.
    let na = Node::start(
        &a,
        CONSORTIUM,
        members(&[&a, &b]),
        "/ip4/127.0.0.1/tcp/0",
        &[],
    )
    .await;
    let mut a_events = na.net.events();
    let nx = Node::start(
        &x,
        CONSORTIUM,
        members(&[&a, &x]),
        "/ip4/127.0.0.1/tcp/0",
        &[&na],
    )
    .await;
    let px = nx.net.peer_id();
    next_event(&mut a_events, |e| *e == PeerEvent::Refused(px)).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!na.net.connected().contains(&px));
    nx.wait_peers("x to have no connection", |p| p.is_empty())
        .await;
    // A member is still welcome.
    let nb = Node::start(
        &b,
        CONSORTIUM,
        members(&[&a, &b]),
        "/ip4/127.0.0.1/tcp/0",
        &[&na],
    )
    .await;
    na.wait_peers("a to accept b", |p| p.contains(&nb.net.peer_id()))
        .await;
    assert!(!na.net.connected().contains(&px));
    for n in [na, nb, nx] {
        n.shut().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_member_is_dropped_and_a_reinstated_one_returns() {
    let (a, b) = (Member::new("a.example/log"), Member::new("b.example/log"));
    let a_view = members(&[&a, &b]);
    let na = Node::start(&a, CONSORTIUM, a_view.clone(), "/ip4/127.0.0.1/tcp/0", &[]).await;
    let nb = Node::start(
        &b,
        CONSORTIUM,
        members(&[&a, &b]),
        "/ip4/127.0.0.1/tcp/0",
        &[&na],
    )
    .await;
    let pb = nb.net.peer_id();
    na.wait_peers("a and b connected", |p| p.contains(&pb))
        .await;
    let mut a_events = na.net.events();

    a_view.remove(&b.key());
    next_event(&mut a_events, |e| *e == PeerEvent::Dropped(pb)).await;
    na.wait_peers("b dropped", |p| !p.contains(&pb)).await;
    nb.wait_peers("b cut off", |p| p.is_empty()).await;
    // b keeps redialling; a keeps refusing.
    next_event(&mut a_events, |e| *e == PeerEvent::Refused(pb)).await;
    assert!(!na.net.connected().contains(&pb));

    a_view.set([a.key(), b.key()]);
    na.wait_peers("b back after reinstatement", |p| p.contains(&pb))
        .await;
    na.shut().await;
    nb.shut().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_is_redialled() {
    let (a, b) = (Member::new("a.example/log"), Member::new("b.example/log"));
    let all = members(&[&a, &b]);
    let na = Node::start(&a, CONSORTIUM, all.clone(), "/ip4/127.0.0.1/tcp/0", &[]).await;
    let nb = Node::start(&b, CONSORTIUM, all.clone(), "/ip4/127.0.0.1/tcp/0", &[&na]).await;
    let pa = na.net.peer_id();
    nb.wait_peers("b connected to a", |p| p.contains(&pa)).await;
    // a's real port, without the /p2p suffix, to listen on again.
    let addr = na.net.listen_addrs()[0].to_string();
    let listen = addr.rsplit_once("/p2p/").unwrap().0.to_owned();

    na.shut().await;
    nb.wait_peers("b to notice a is gone", |p| p.is_empty())
        .await;
    // Let a few redials fail, so the backoff has grown.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let na = Node::start(&a, CONSORTIUM, all.clone(), &listen, &[]).await;
    assert_eq!(na.net.peer_id(), pa);
    nb.wait_peers("b reconnected to the restarted a", |p| p.contains(&pa))
        .await;

    // The link works, both ways: a fetch is answered (refused, as fetch is not served yet).
    let answer = nb.net.fetch(pa, unsigned_request(1)).await.unwrap();
    assert!(
        matches!(answer.outcome, FetchOutcome::Refused(_)),
        "{answer:?}"
    );
    let answer = na
        .net
        .fetch(nb.net.peer_id(), unsigned_request(99))
        .await
        .unwrap();
    assert_eq!(answer.outcome, FetchOutcome::Unsupported);
    na.shut().await;
    nb.shut().await;
}
