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

mod query {
    use std::collections::BTreeSet;

    use serde_json::json;
    use time::macros::date;

    use crate::testutil::resident;
    use crate::tree::{Node, ResourceKey, TimelineFilter};

    const ICD: &str = "http://hl7.org/fhir/sid/icd-10-cn";

    fn records() -> Vec<serde_json::Value> {
        let mut bp = super::bp("o1", "p", "e1", 152);
        bp["component"][1]["valueQuantity"]["value"] = json!(96);
        bp["code"]["coding"][0]["display"] = json!("Blood pressure panel");
        vec![
            super::patient("p", "111-11-1111"),
            super::encounter("e1", "p"),
            bp,
            json!({"resourceType": "Condition", "id": "c1",
                   "clinicalStatus": {"coding": [{"code": "active"}]},
                   "verificationStatus": {"coding": [{"code": "confirmed"}]},
                   "code": {"coding": [{"system": ICD, "code": "I10",
                                        "display": "Essential hypertension"}]},
                   "onsetDateTime": "2023-05-02", "recordedDate": "2023-05-03"}),
            json!({"resourceType": "Condition", "id": "c2",
                   "clinicalStatus": {"coding": [{"code": "resolved"}]},
                   "verificationStatus": {"coding": [{"code": "confirmed"}]},
                   "code": {"coding": [{"system": ICD, "code": "J06.9"}]},
                   "onsetDateTime": "2022-01-02"}),
            json!({"resourceType": "Observation", "id": "w", "status": "entered-in-error",
                   "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7",
                                        "display": "Body weight"}]},
                   "effectiveDateTime": "2024-02-01",
                   "valueQuantity": {"value": 71.50, "code": "kg"}}),
            json!({"resourceType": "Immunization", "id": "i1", "status": "completed",
                   "occurrenceDateTime": "2020-06-01",
                   "protocolApplied": [{"series": "DTaP", "doseNumberPositiveInt": 3}]}),
        ]
    }

    #[test]
    fn timeline_lists_dated_records_with_one_line_summaries() {
        let t = resident(&records());
        let all = t.timeline(&TimelineFilter::default());
        let lines: Vec<(&str, &str)> = all
            .iter()
            .map(|i| (i.id.as_str(), i.summary.as_str()))
            .collect();
        assert_eq!(
            lines,
            vec![
                ("i1", "Immunization DTaP dose 3"),
                ("c2", "Condition J06.9"),
                ("c1", "Condition I10 Essential hypertension"),
                ("e1", "Encounter (AMB, finished)"),
                ("o1", "BP 152/96 mm[Hg]"),
                ("w", "Body weight 71.5 kg [not counted]"),
            ]
        );
        // The Patient has no clinical date; leaves and versions are the records'.
        assert_eq!(
            (all[0].leaf, all[0].version, all[0].kind.as_str()),
            (6, 1, "Immunization")
        );
        let only = TimelineFilter {
            kinds: BTreeSet::from(["Condition".to_owned(), "Observation".to_owned()]),
            from: Some(date!(2023 - 01 - 01)),
            to: Some(date!(2024 - 01 - 01)),
        };
        let ids: Vec<_> = t.timeline(&only).into_iter().map(|i| i.id).collect();
        assert_eq!(ids, vec!["c1", "o1"]);
    }

    #[test]
    fn problem_list_keeps_active_confirmed_conditions() {
        let t = resident(&records());
        let p = t.problem_list();
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].key, ResourceKey::new("Condition", "c1"));
        assert_eq!(p[0].code.as_deref(), Some("I10"));
        assert_eq!(p[0].display.as_deref(), Some("Essential hypertension"));
        assert_eq!(p[0].leaf, 3);
        assert_eq!(
            p[0].onset.as_ref().map(|t| t.text.as_str()),
            Some("2023-05-02")
        );
    }

    #[test]
    fn every_node_lists_the_leaves_behind_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ledger = crate::testutil::open_ledger(&dir);
        for b in super::batches() {
            crate::testutil::submit(&ledger, &b);
        }
        let tree = super::KnowledgeTree::rebuild(&ledger).expect("rebuild");
        let a = tree.resident(&super::pseudonym_of(&tree, "pa")).expect("a");
        let oa1 = ResourceKey::new("Observation", "oa1");
        let versions: Vec<u64> = a
            .resource(&oa1)
            .expect("oa1")
            .versions
            .values()
            .copied()
            .collect();
        assert_eq!(a.leaves(Node::Resource(&oa1)), versions);
        // ea2 holds oa1 (both versions are behind it) and itself.
        let ea2 = a.leaves(Node::Encounter("ea2"));
        let ea2_leaf = a.encounter("ea2").expect("ea2").leaf;
        let mut want = versions.clone();
        want.push(ea2_leaf);
        want.sort();
        assert_eq!(ea2, want);
        let oa2 = a
            .resource(&ResourceKey::new("Observation", "oa2"))
            .expect("oa2")
            .leaf;
        assert_eq!(a.leaves(Node::Unattached), vec![oa2]);
        assert_eq!(
            a.leaves(Node::Resident),
            a.records.iter().copied().collect::<Vec<_>>()
        );
        assert!(a.leaves(Node::Encounter("nope")).is_empty());
    }
}
