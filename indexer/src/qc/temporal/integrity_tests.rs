use hl_ledger::record::{ENVELOPE_VERSION, Envelope, SCHEMA_FHIR_R4};
use serde_json::{Value, json};
use time::macros::datetime;

use super::*;
use crate::qc::ResidentView;
use crate::qc::temporal::testkit::*;
use crate::testutil::{Check, open_ledger, resident, submit};
use crate::tree::{KnowledgeTree, ResidentTree, ResourceKey};

const T: OffsetDateTime = datetime!(2025-03-01 0:00 UTC);
const RESIDENT: &str = "aa";

fn rule() -> I06LedgerIntegrity {
    I06LedgerIntegrity::new(&params()).expect("I06")
}

fn bp(sbp: u32) -> Value {
    json!({"resourceType": "Observation", "id": "bp", "status": "final",
           "code": {"coding": [{"system": LOINC, "code": "8867-4"}]},
           "effectiveDateTime": "2024-05-01", "valueQuantity": {"value": sbp, "code": "/min"}})
}

fn sha(v: &Value) -> String {
    hex::encode(hl_ledger::canonical::canonical_sha256(v).expect("canonical"))
}

/// Applies version `version` of `Observation/bp` as record `index`, its envelope anchoring
/// `anchored` and the log holding `stored`.
fn apply(
    tree: &mut KnowledgeTree,
    index: u64,
    version: u32,
    anchored: &Value,
    stored: Option<&[u8]>,
) {
    let envelope = Envelope {
        v: ENVELOPE_VERSION,
        origin: "test.example/indexer".into(),
        schema: SCHEMA_FHIR_R4.into(),
        kind: "Observation".into(),
        id: "bp".into(),
        version,
        resident: Some(RESIDENT.into()),
        resident_scope: None,
        effective: None,
        recorded: "2024-05-01T00:00:00Z".into(),
        content_sha256: sha(anchored),
    };
    tree.apply(index, &envelope, stored).expect("applied");
}

fn evaluate(t: &ResidentTree) -> Vec<Finding> {
    let params = params();
    rule().evaluate(&ResidentView::new(t, &params), T)
}

#[test]
fn i06_passes_every_record_of_a_real_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let ledger = open_ledger(&dir);
    submit(
        &ledger,
        &[
            json!({"resourceType": "Patient", "id": "p", "gender": "female",
                   "birthDate": "1950-01-01",
                   "identifier": [{"system": "http://hl7.org/fhir/sid/us-ssn", "value": "111-11-1111"}]}),
            json!({"resourceType": "Observation", "id": "o", "status": "final",
                   "subject": {"reference": "Patient/p"},
                   "code": {"coding": [{"system": LOINC, "code": "29463-7"}]},
                   "effectiveDateTime": "2024-05-01T08:00:00+08:00",
                   "valueQuantity": {"value": 61.50, "code": "kg"}}),
        ],
    );
    let tree = KnowledgeTree::rebuild(&ledger).expect("rebuild");
    let residents: Vec<_> = tree.residents().collect();
    assert_eq!(residents.len(), 1);
    assert_eq!(evaluate(residents[0]), vec![]);
}

#[test]
fn i06_fails_a_version_changed_after_it_was_recorded() {
    // The catalogue's example: a BP changed in place after anchoring. The reading here is a
    // heart rate, the point is the same.
    let mut tree = KnowledgeTree::new();
    let v1 = serde_json::to_vec(&bp(98)).expect("json");
    apply(&mut tree, 0, 1, &bp(98), Some(&v1));
    let edited = serde_json::to_vec(&bp(78)).expect("json");
    apply(&mut tree, 1, 2, &bp(168), Some(&edited));
    let r = tree.resident(RESIDENT).expect("resident");
    let f = evaluate(r);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].rule_id, f[0].severity), ("QC-I06", Severity::E));
    assert_eq!(f[0].evidence, [1]);
    assert!(
        f[0].message
            .starts_with("Version 2 of Observation/bp no longer matches"),
        "{}",
        f[0].message
    );
    // A correct third version does not clear the record of the changed second one.
    let v3 = serde_json::to_vec(&bp(80)).expect("json");
    apply(&mut tree, 2, 3, &bp(80), Some(&v3));
    assert_eq!(
        evaluate(tree.resident(RESIDENT).expect("resident")).len(),
        1
    );
}

#[test]
fn i06_reports_erased_and_unreadable_content() {
    let mut tree = KnowledgeTree::new();
    apply(&mut tree, 0, 1, &bp(70), None);
    let f = evaluate(tree.resident(RESIDENT).expect("resident"));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].severity, Severity::W);
    assert!(f[0].message.contains("has been erased"), "{}", f[0].message);
    // In the log and hashing as anchored, but not an Observation the rules can read.
    let bad = json!({"resourceType": "Observation", "id": "bp", "effectiveDateTime": 5});
    let mut tree = KnowledgeTree::new();
    apply(
        &mut tree,
        0,
        1,
        &bad,
        Some(&serde_json::to_vec(&bad).expect("json")),
    );
    let f = evaluate(tree.resident(RESIDENT).expect("resident"));
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].severity, Severity::E);
    assert!(f[0].message.contains("cannot be read"), "{}", f[0].message);
}

#[test]
fn i06_fails_a_version_gap_and_a_regression() {
    let key = ResourceKey::new("Observation", "bp");
    let bytes = serde_json::to_vec(&bp(70)).expect("json");
    let mut gap = ResidentTree::new(RESIDENT);
    gap.put(key.clone(), 3, 1, None, Content::read(Some(&bytes)), None);
    gap.put(key.clone(), 9, 3, None, Content::read(Some(&bytes)), None);
    let f = evaluate(&gap);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].evidence, [3, 9]);
    assert!(
        f[0].message
            .contains("at version 3 but the log holds no version 2"),
        "{}",
        f[0].message
    );
    let mut back = ResidentTree::new(RESIDENT);
    back.put(key.clone(), 9, 2, None, Content::read(Some(&bytes)), None);
    back.put(key, 12, 1, None, Content::read(Some(&bytes)), None);
    let f = evaluate(&back);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message
            .contains("Version 2 of Observation/bp was logged before version 1")
    );
    // The fixtures of the other rules' tests are whole.
    assert_eq!(rule().check(&resident(&[bp(70)]), T), vec![]);
}

#[test]
fn temporal_rules_are_registered_last_in_id_order() {
    let rules = crate::qc::rules(&params()).expect("rules");
    let lines = crate::qc::listing(&rules);
    let tail: Vec<&str> = lines[lines.len() - 16..]
        .iter()
        .map(|l| l.split(" [D]").next().unwrap_or(l))
        .map(|l| l.trim_end_matches(" (consortium view only)"))
        .collect();
    assert_eq!(
        tail,
        [
            "QC-T11 T E",
            "QC-T12 T W",
            "QC-T13 T E",
            "QC-T14 T E",
            "QC-T15 T E",
            "QC-T16 T E",
            "QC-T17 T E",
            "QC-T18 T W",
            "QC-T19 T E",
            "QC-T20 T W",
            "QC-I01 I E",
            "QC-I02 I E",
            "QC-I03 I W",
            "QC-I04 I E",
            "QC-I05 I W",
            "QC-I06 I E",
        ]
    );
    // A misspelt section of these rules is refused, not silently defaulted.
    let typo = crate::qc::DEFAULT_PARAMS.replace("[T17]", "[T17x]");
    assert!(Params::parse(&typo).is_ok_and(|p| crate::qc::rules(&p).is_err()));
}
