//! The consortium demo of issue 6 (`scripts/consortium-demo`) as CI runs it: anvil and three
//! `healthledger node` processes on loopback; no consent → refused, consent → served and
//! verified, revoked → refused, break-glass → served, audited and on chain. The demo checks
//! every step itself and fails naming the one that misbehaved; here its figures are checked
//! against each other and the city hospital's answers are validated as FHIR R4.

mod common;

use std::process::Command;

#[test]
fn the_consortium_demo_behaves_at_every_step() {
    let mut out = Vec::new();
    let result = hl_tests::localnet::demo::run(env!("CARGO_BIN_EXE_healthledger"), &mut out);
    let printed = String::from_utf8_lossy(&out);
    println!("{printed}");
    let summary = result.unwrap_or_else(|e| panic!("{e}\n\nwhat the demo printed:\n{printed}"));
    assert_eq!(summary.refused_without_consent, 2);
    assert_eq!(summary.refused_after_revocation, 2);
    assert_eq!(
        summary.served_with_consent,
        [
            summary.ingested[0] / summary.residents,
            summary.ingested[1] / summary.residents
        ],
        "each holder serves the resident's records it ingested"
    );
    assert_eq!(
        summary.served_break_glass,
        summary.served_with_consent.iter().sum::<usize>()
    );
    assert_eq!(summary.break_glass_audits, 2);
    // One read per step, plus the ones made while waiting for gossip to name the holders.
    assert!(
        summary.city_reads >= 4,
        "the city's access log holds its clinician's read of each step: {}",
        summary.city_reads
    );
    assert!(
        summary.emergency_events >= 3,
        "{} EmergencyAccess events",
        summary.emergency_events
    );

    // Every answer of the consortium view, remote records and holders' outcome included, is
    // a valid FHIR R4 Bundle.
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = Vec::new();
    for (step, bundle) in &summary.answers {
        let f = dir.path().join(format!("step-{step}.json"));
        std::fs::write(&f, serde_json::to_vec(bundle).expect("JSON")).expect("write");
        files.push(f);
    }
    assert_eq!(files.len(), 4, "one answer per step");
    let r = Command::new(common::python())
        .arg(common::repo().join("scripts/python/fhir_validate.py"))
        .args(&files)
        .output()
        .expect("run fhir_validate.py");
    assert!(
        r.status.success(),
        "not valid FHIR R4:\n{}{}",
        String::from_utf8_lossy(&r.stdout),
        String::from_utf8_lossy(&r.stderr)
    );
}
