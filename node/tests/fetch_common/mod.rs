//! Helpers for the record-fetch tests: institutions with a log, in-process nodes on loopback,
//! and a chain in memory.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use alloy::primitives::Address;
use hl_ledger::canonical::{canonical_sha256, to_canonical};
use hl_ledger::input::{Prepared, PreparedRecord, ResidentRef};
use hl_ledger::note::NoteSigner;
use hl_ledger::pseudonym::ResidentScope;
use hl_ledger::{Ledger, StoreOptions};
use hl_node::consortium::fetch::{
    Ask, FetchError, Fetched, Holder, MemberInfo, MemoryChain, Requester,
};
use hl_node::net::identity::{keypair, pre_shared_key};
use hl_node::net::{
    FetchHandler, FetchRequest, FetchResponse, FixedMembership, Network, NetworkParams, NotServed,
    Peer,
};
use serde_json::{Value, json};
use tokio::sync::watch;
use tokio::time::timeout;

pub const CONSORTIUM: [u8; 32] = [9; 32];
pub const RESIDENT: [u8; 32] = [0xab; 32];
pub const OTHER_RESIDENT: [u8; 32] = [0xcd; 32];
pub const HOUR: u64 = 3600;

pub struct Inst {
    pub signer: NoteSigner,
    pub ledger: Arc<Ledger>,
    pub info: MemberInfo,
    _dir: tempfile::TempDir,
}

impl Inst {
    pub fn new(n: u8, name: &str) -> Self {
        Self::with_signer(
            n,
            name,
            NoteSigner::generate(&format!("{name}.example/log")).unwrap(),
        )
    }

    pub fn with_signer(n: u8, name: &str, signer: NoteSigner) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let opts = StoreOptions {
            cache_bytes: 4 << 20,
            ..StoreOptions::default()
        };
        let ledger =
            Arc::new(Ledger::open(&dir.path().join("ledger.redb"), signer.clone(), opts).unwrap());
        let info = MemberInfo {
            address: Address::repeat_byte(n),
            key: signer.verifier().key.to_bytes(),
            origin: signer.verifier().name.clone(),
            name: name.into(),
            active: true,
        };
        Self {
            signer,
            ledger,
            info,
            _dir: dir,
        }
    }
}

pub fn record(kind: &str, id: &str, resident: [u8; 32], extra: Value) -> PreparedRecord {
    let mut v = json!({ "resourceType": kind, "id": id });
    if let (Some(o), Value::Object(e)) = (v.as_object_mut(), extra) {
        o.extend(e);
    }
    PreparedRecord {
        kind: kind.into(),
        id: id.into(),
        content: to_canonical(&v).unwrap(),
        content_sha256: canonical_sha256(&v).unwrap(),
        effective: Some("2025-01-02T03:04:05Z".into()),
        resident: ResidentRef::Known(resident, ResidentScope::Consortium),
        position: None,
    }
}

pub async fn submit(ledger: &Ledger, records: Vec<PreparedRecord>) {
    let p = Prepared {
        source_name: "test".into(),
        records,
    };
    ledger.submit_async(p).await.unwrap().unwrap();
}

/// The resident's history at a holder: two demographics/encounter records, two observations
/// (one updated), a condition, an immunization, an earlier access audit, and another
/// resident's observation.
pub async fn history(ledger: &Ledger, marker: &str) {
    submit(
        ledger,
        vec![
            record("Patient", "p1", RESIDENT, json!({ "gender": "female" })),
            record("Encounter", "e1", RESIDENT, json!({ "status": "finished" })),
            record(
                "Observation",
                "o1",
                RESIDENT,
                json!({ "status": "preliminary", "m": marker }),
            ),
            record("Observation", "o2", RESIDENT, json!({ "status": "final" })),
            record("Condition", "c1", RESIDENT, json!({ "code": "I10" })),
            record(
                "Immunization",
                "i1",
                RESIDENT,
                json!({ "status": "completed" }),
            ),
            record("AuditEvent", "a1", RESIDENT, json!({ "action": "R" })),
            record(
                "Observation",
                "x1",
                OTHER_RESIDENT,
                json!({ "status": "final" }),
            ),
        ],
    )
    .await;
    submit(
        ledger,
        vec![record(
            "Observation",
            "o1",
            RESIDENT,
            json!({ "status": "final" }),
        )],
    )
    .await;
}

/// Sets the holder's anchored head on the chain to its log's head now.
pub fn anchor(chain: &MemoryChain, inst: &Inst) {
    let head = inst.ledger.head().unwrap();
    chain.set_anchored(inst.info.address, head.size, head.root);
}

pub struct Node {
    pub net: Arc<Network>,
    pub stop: watch::Sender<bool>,
}

impl Node {
    pub async fn start(
        inst: &Inst,
        members: Arc<FixedMembership>,
        handler: Arc<dyn FetchHandler>,
        bootstrap: Option<&Node>,
    ) -> Node {
        let params = NetworkParams {
            keypair: keypair(&inst.signer).unwrap(),
            psk: pre_shared_key(&CONSORTIUM),
            listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            bootstrap: bootstrap
                .map(|n| vec![(n.net.peer_id(), n.net.listen_addrs()[0].clone())])
                .unwrap_or_default(),
            refresh_every: Duration::from_secs(60),
        };
        let (stop, stop_rx) = watch::channel(false);
        let net = Network::start(params, members, handler, stop_rx)
            .await
            .unwrap();
        Node {
            net: Arc::new(net),
            stop,
        }
    }

    pub async fn shut(self) {
        let _ = self.stop.send(true);
        timeout(Duration::from_secs(10), self.net.join())
            .await
            .expect("network stops in time")
            .unwrap();
    }
}

/// A holder node serving with `handler` and a requester node connected to it.
pub struct World {
    pub chain: Arc<MemoryChain>,
    pub holder: Inst,
    pub asker: Inst,
    pub requester: Requester,
    pub nodes: Vec<Node>,
}

impl World {
    pub async fn new(
        handler: impl FnOnce(&Inst, Arc<MemoryChain>) -> Arc<dyn FetchHandler>,
    ) -> World {
        let (holder, asker) = (Inst::new(1, "county"), Inst::new(2, "city"));
        Self::with(holder, asker, handler).await
    }

    pub async fn with(
        holder: Inst,
        asker: Inst,
        handler: impl FnOnce(&Inst, Arc<MemoryChain>) -> Arc<dyn FetchHandler>,
    ) -> World {
        let chain = Arc::new(MemoryChain::default());
        chain.add_member(holder.info.clone());
        chain.add_member(asker.info.clone());
        let members = Arc::new(FixedMembership::new([holder.info.key, asker.info.key]));
        let h = Node::start(
            &holder,
            members.clone(),
            handler(&holder, chain.clone()),
            None,
        )
        .await;
        let a = Node::start(&asker, members, Arc::new(NotServed), Some(&h)).await;
        let hp = h.net.peer_id();
        let mut peers = a.net.peers();
        timeout(Duration::from_secs(30), peers.wait_for(|p| p.contains(&hp)))
            .await
            .expect("the nodes connect")
            .unwrap();
        let requester = Requester::new(&asker.signer, chain.clone()).unwrap();
        World {
            chain,
            holder,
            asker,
            requester,
            nodes: vec![h, a],
        }
    }

    pub fn holder_peer(&self) -> Peer {
        self.nodes[0].net.peer_id()
    }

    pub async fn fetch(&self, ask: &Ask) -> Result<Fetched, FetchError> {
        timeout(
            Duration::from_secs(30),
            self.requester
                .fetch(&self.nodes[1].net, self.holder_peer(), ask),
        )
        .await
        .expect("the fetch ends in time")
    }

    pub async fn send(&self, req: FetchRequest) -> FetchResponse {
        timeout(
            Duration::from_secs(30),
            self.nodes[1].net.fetch(self.holder_peer(), req),
        )
        .await
        .expect("the fetch ends in time")
        .unwrap()
    }

    pub fn grant(&self, mask: u32, expiry: u64) {
        self.chain
            .grant(RESIDENT, self.asker.info.address, mask, "TREAT", expiry)
            .unwrap();
    }

    pub async fn shut(self) {
        for n in self.nodes {
            n.shut().await;
        }
    }
}

pub fn honest(inst: &Inst, chain: Arc<MemoryChain>) -> Arc<dyn FetchHandler> {
    Arc::new(Holder::new(inst.ledger.clone(), chain, "County Hospital"))
}

pub fn ask(categories: u32) -> Ask {
    Ask {
        resident: RESIDENT,
        categories,
        purpose: "TREAT".into(),
        break_glass_reason: None,
    }
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The holder's access audits of the resident, as JSON, in log order (the one in the seeded
/// history excluded).
pub fn audits(inst: &Inst) -> Vec<(u64, Value)> {
    let size = inst.ledger.head().unwrap().size;
    inst.ledger
        .resident_snapshot(&RESIDENT, size)
        .unwrap()
        .into_iter()
        .filter(|r| r.envelope.kind == "AuditEvent" && r.envelope.id != "a1")
        .map(|r| {
            (
                r.record.index,
                serde_json::from_slice(&r.record.content.unwrap()).unwrap(),
            )
        })
        .collect()
}

pub fn ids(f: &Fetched) -> Vec<String> {
    let mut v: Vec<String> = f
        .records
        .iter()
        .map(|r| {
            format!(
                "{}/{}/v{}",
                r.envelope.kind, r.envelope.id, r.envelope.version
            )
        })
        .collect();
    v.sort();
    v
}
