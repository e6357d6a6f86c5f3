//! The local-consortium harness (`hl_tests::localnet`) itself: a member restarted on its data
//! dir comes back at the same API and network addresses, the members that bootstrapped to it
//! reach it again, and dropping the consortium leaves no process behind.

use std::time::Duration;

use hl_tests::localnet::{Institution, Localnet, SharedResident, Visit};

fn alive(pid: u32) -> bool {
    // A reaped process has no /proc entry; a zombie would still have one but says so.
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        !s.rsplit(')')
            .next()
            .is_some_and(|r| r.trim_start().starts_with('Z'))
    })
}

#[test]
fn a_restarted_member_is_reached_again_and_nothing_outlives_the_consortium() {
    let mut net = Localnet::start(
        env!("CARGO_BIN_EXE_healthledger").as_ref(),
        &[
            Institution::new("Centre", "centre.example/log"),
            Institution::new("Hospital", "hospital.example/log"),
        ],
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let r = &SharedResident::sample(1)[0];
    let pseudonym = r.pseudonym(net.consortium_key);
    net.nodes[0]
        .ingest(&r.bundle("c", Visit::Community, "2026-01-05"))
        .unwrap();
    let wait = Duration::from_secs(60);
    let origin = net.nodes[0].origin.clone();
    let token = net.nodes[1].token("clinician").unwrap().to_owned();
    let v = net.nodes[1]
        .wait_for_holders(&pseudonym, &token, &[&origin], wait)
        .unwrap();
    assert_eq!(v.holder(&origin).unwrap().status, "refused", "no consent");

    // The hospital bootstrapped to the centre: the centre comes back where it was.
    let (url, p2p) = (net.nodes[0].url.clone(), net.nodes[0].p2p.clone());
    let before = net.nodes[0].pid().unwrap();
    net.nodes[0].restart().unwrap_or_else(|e| panic!("{e}"));
    assert_ne!(net.nodes[0].pid(), Some(before), "a new process");
    assert!(!alive(before), "the first process ended");
    assert_eq!((&net.nodes[0].url, &net.nodes[0].p2p), (&url, &p2p));
    let centre = &net.nodes[0];
    let held = centre
        .local_everything(&r.patient_id("c"), centre.token("clinician").unwrap())
        .unwrap();
    assert_eq!(
        held.len(),
        Visit::Community.records(),
        "the records survived"
    );
    let v = net.nodes[1]
        .wait_for_holders(&pseudonym, &token, &[&origin], wait)
        .unwrap();
    assert_eq!(v.holder(&origin).unwrap().status, "refused");

    let pids: Vec<u32> = net.nodes.iter().filter_map(|n| n.pid()).collect();
    let anvil = net.anvil.pid();
    assert_eq!(pids.len(), 2);
    drop(net);
    for pid in pids.into_iter().chain([anvil]) {
        assert!(!alive(pid), "process {pid} outlived the consortium");
    }
}
