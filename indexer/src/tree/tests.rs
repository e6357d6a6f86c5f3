use serde_json::{Value, json};

use super::*;
use crate::model::Resource;
use crate::testutil::{open_ledger, submit};

fn patient(id: &str, ssn: &str) -> Value {
    json!({"resourceType": "Patient", "id": id, "gender": "female", "birthDate": "1950-01-01",
           "identifier": [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": ssn}]})
}

fn encounter(id: &str, pat: &str) -> Value {
    json!({"resourceType": "Encounter", "id": id, "status": "finished",
           "class": {"code": "AMB"}, "subject": {"reference": format!("Patient/{pat}")},
           "period": {"start": "2024-01-01T08:00:00Z", "end": "2024-01-01T09:00:00Z"}})
}

fn bp(id: &str, pat: &str, enc: &str, sbp: u32) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
           "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
           "subject": {"reference": format!("Patient/{pat}")},
           "encounter": {"reference": format!("Encounter/{enc}")},
           "effectiveDateTime": "2024-01-01T08:30:00Z",
           "component": [
             {"code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
              "valueQuantity": {"value": sbp, "code": "mm[Hg]"}},
             {"code": {"coding": [{"system": "http://loinc.org", "code": "8462-4"}]},
              "valueQuantity": {"value": 80, "code": "mm[Hg]"}}]})
}

/// The submissions of the tests: two residents, a resource of no resident, a second version
/// that moves an observation to another encounter, and an act whose encounter is unknown.
fn batches() -> Vec<Vec<Value>> {
    vec![
        vec![
            patient("pa", "111-11-1111"),
            encounter("ea1", "pa"),
            bp("oa1", "pa", "ea1", 150),
        ],
        vec![
            json!({"resourceType": "Organization", "id": "org1", "name": "CHC"}),
            patient("pb", "222-22-2222"),
            encounter("eb1", "pb"),
            bp("ob1", "pb", "eb1", 120),
        ],
        vec![
            encounter("ea2", "pa"),
            bp("oa1", "pa", "ea2", 135),
            bp("oa2", "pa", "nope", 128),
        ],
    ]
}

fn pseudonym_of(tree: &KnowledgeTree, patient_id: &str) -> String {
    tree.residents()
        .find(|r| {
            r.resource(&ResourceKey::new("Patient", patient_id))
                .is_some()
        })
        .map(|r| r.pseudonym.clone())
        .expect("resident of patient")
}

#[test]
fn incremental_application_equals_full_rebuild() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = open_ledger(&dir);
    let mut incremental = KnowledgeTree::new();
    let mut all_touched = Vec::new();
    for b in batches() {
        submit(&ledger, &b);
        all_touched.push(incremental.catch_up(&ledger).expect("catch up"));
    }
    let rebuilt = KnowledgeTree::rebuild(&ledger).expect("rebuild");
    assert_eq!(incremental, rebuilt);
    assert_eq!(rebuilt.size(), ledger.head().expect("head").size);
    // Batch 1 touches only resident b: a new record re-evaluates only its resident.
    let b = pseudonym_of(&rebuilt, "pb");
    assert_eq!(all_touched[1], vec![b]);
    // Record by record, applied in one go, gives the same tree again.
    let mut one_by_one = KnowledgeTree::new();
    for i in 0..ledger.head().expect("head").size {
        let rec = ledger.record(i).expect("read").expect("record");
        let env = serde_json::from_slice(&rec.envelope).expect("envelope");
        one_by_one
            .apply(i, &env, rec.content.as_deref())
            .expect("apply");
    }
    assert_eq!(one_by_one, rebuilt);
}

#[test]
fn catch_up_derives_each_touched_residents_index_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = open_ledger(&dir);
    let mut records = vec![patient("pa", "111-11-1111"), encounter("ea1", "pa")];
    records.extend((0..40).map(|i| bp(&format!("o{i}"), "pa", "ea1", 120 + i)));
    records.push(patient("pb", "222-22-2222"));
    submit(&ledger, &records);
    let before = resident::REINDEXES.with(std::cell::Cell::get);
    let mut tree = KnowledgeTree::new();
    let touched = tree.catch_up(&ledger).expect("catch up");
    assert_eq!(touched.len(), 2);
    assert_eq!(resident::REINDEXES.with(std::cell::Cell::get) - before, 2);
    let a = tree.resident(&pseudonym_of(&tree, "pa")).expect("a");
    assert_eq!(a.encounter("ea1").expect("ea1").acts.len(), 40);
    // A single `apply` leaves its resident indexed at once.
    let mut one = KnowledgeTree::new();
    for i in 0..2 {
        let rec = ledger.record(i).expect("read").expect("record");
        let env = serde_json::from_slice(&rec.envelope).expect("envelope");
        one.apply(i, &env, rec.content.as_deref()).expect("apply");
    }
    let a = one.resident(&pseudonym_of(&one, "pa")).expect("a");
    assert!(a.encounter("ea1").is_some());
}

#[test]
fn latest_version_wins_and_every_leaf_is_kept() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = open_ledger(&dir);
    for b in batches() {
        submit(&ledger, &b);
    }
    let tree = KnowledgeTree::rebuild(&ledger).expect("rebuild");
    let a = tree
        .resident(&pseudonym_of(&tree, "pa"))
        .expect("resident a");
    let oa1 = a
        .resource(&ResourceKey::new("Observation", "oa1"))
        .expect("oa1");
    assert_eq!(oa1.version, 2);
    assert_eq!(oa1.versions.len(), 2);
    assert_eq!(Some(&oa1.leaf), oa1.versions.get(&2));
    // The latest version's receipt time comes from its envelope (QC-F08 reads it).
    let rec = ledger.record(oa1.leaf).expect("read").expect("record");
    let env: hl_ledger::record::Envelope = serde_json::from_slice(&rec.envelope).expect("envelope");
    assert_eq!(
        oa1.recorded,
        Some(
            time::OffsetDateTime::parse(
                &env.recorded,
                &time::format_description::well_known::Rfc3339
            )
            .expect("recorded")
        )
    );
    // Version 2 moved oa1 from ea1 to ea2.
    let ea1 = a.encounter("ea1").expect("ea1");
    let ea2 = a.encounter("ea2").expect("ea2");
    assert!(ea1.acts.is_empty());
    assert!(ea2.acts.contains(&ResourceKey::new("Observation", "oa1")));
    let Some(Resource::Observation(o)) = oa1.resource() else {
        panic!("oa1 is an observation");
    };
    assert_eq!(
        o.component("http://loinc.org", "8480-6")
            .and_then(|q| q.value),
        Some(135.0)
    );
    // An act naming an encounter the resident does not have is kept, unattached.
    assert_eq!(
        a.unattached().collect::<Vec<_>>(),
        vec![&ResourceKey::new("Observation", "oa2")]
    );
    // The tree lists exactly the records the log indexes for the resident.
    let mut pseudonym = [0u8; 32];
    hex::decode_to_slice(&a.pseudonym, &mut pseudonym).expect("hex");
    let logged = ledger.resident_records(&pseudonym).expect("records");
    assert_eq!(a.records.iter().copied().collect::<Vec<_>>(), logged);
    // The Organization belongs to no resident.
    assert!(
        tree.shared(&ResourceKey::new("Organization", "org1"))
            .is_some()
    );
    // Acts are the two encounters and two observations (Encounter is an act in §1.3).
    assert_eq!(a.acts().count(), 4);
}

#[test]
fn out_of_order_application_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = open_ledger(&dir);
    submit(&ledger, &batches()[0]);
    let rec = ledger.record(1).expect("read").expect("record");
    let env = serde_json::from_slice(&rec.envelope).expect("envelope");
    let mut tree = KnowledgeTree::new();
    assert!(matches!(
        tree.apply(1, &env, rec.content.as_deref()),
        Err(TreeError::OutOfOrder {
            expected: 0,
            got: 1
        })
    ));
}

#[test]
fn synthea_bundle_builds_a_tree() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/fhir/synthea-tietai/Darrell_Funk_3dd33b34.json"
    );
    let bytes = std::fs::read(path).expect("shared Synthea bundle");
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = open_ledger(&dir);
    let opts = hl_ledger::input::InputOptions {
        max_bytes: 1 << 24,
        pseudonymizer: hl_ledger::pseudonym::Pseudonymizer::new(
            [2; 32],
            hl_ledger::pseudonym::default_resident_systems(),
            "test.example/indexer".into(),
        ),
    };
    ledger
        .submit(opts.prepare("synthea", &bytes).expect("valid bundle"))
        .expect("submitted");
    let tree = KnowledgeTree::rebuild(&ledger).expect("rebuild");
    let residents: Vec<_> = tree.residents().collect();
    assert_eq!(residents.len(), 1);
    let r = residents[0];
    assert_eq!(r.encounters().count(), 10);
    // Synthea links acts by `urn:uuid:`; all its observations resolve to an encounter.
    assert!(
        r.unattached().all(|k| k.kind != "Observation"),
        "unattached: {:?}",
        r.unattached().collect::<Vec<_>>()
    );
    assert!(
        r.resources()
            .all(|n| !matches!(n.content, Content::Unreadable(_)))
    );
}
