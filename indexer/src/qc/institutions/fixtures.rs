//! Institutions for the consortium rules' tests: each one's records as FHIR JSON, sent with
//! their envelopes and built into a tree as the node builds a member's answer.

use hl_ledger::pseudonym::{CN_RESIDENT_ID_SYSTEM, ResidentScope};
use hl_ledger::record::{ENVELOPE_VERSION, Envelope, SCHEMA_FHIR_R4};
use serde_json::{Value, json};

pub use crate::qc::temporal::fixtures::{PHS_OBS, T, episode, htn_fu, params, visit};
use crate::qc::{CrossFinding, InstitutionView, Severity, evaluate_cross_institution};
use crate::tree::ResidentTree;

pub const ICD: &str = "http://hl7.org/fhir/sid/icd-10-cn";
pub const ARCHIVE: &str = "urn:oid:2.16.156.10011.1.2";
/// A valid GB 11643 number: a woman born 1949-12-31.
pub const CARD: &str = "11010519491231002X";

pub fn resident() -> String {
    "ab".repeat(32)
}

/// Institution `origin` holding `resources` (leaf = 10 + position, so leaves of different
/// institutions coincide, as they do in real logs).
pub fn view(origin: &str, name: &str, resources: &[Value]) -> InstitutionView {
    let resident = resident();
    let records: Vec<(Envelope, Vec<u8>)> = resources
        .iter()
        .map(|r| {
            let envelope = Envelope {
                v: ENVELOPE_VERSION,
                origin: origin.into(),
                schema: SCHEMA_FHIR_R4.into(),
                kind: r["resourceType"].as_str().expect("kind").into(),
                id: r["id"].as_str().expect("id").into(),
                version: 1,
                resident: Some(resident.clone()),
                resident_scope: Some(ResidentScope::Consortium),
                effective: None,
                recorded: "2025-01-01T00:00:00Z".into(),
                content_sha256: hex::encode(
                    hl_ledger::canonical::canonical_sha256(r).expect("canonical"),
                ),
            };
            (envelope, serde_json::to_vec(r).expect("json"))
        })
        .collect();
    let tree = ResidentTree::from_records(
        &resident,
        records
            .iter()
            .enumerate()
            .map(|(i, (e, c))| (10 + i as u64, e, Some(c.as_slice()))),
    )
    .expect("tree");
    InstitutionView {
        origin: origin.into(),
        name: name.into(),
        tree,
    }
}

/// The community centre and the county hospital.
pub fn two(a: &[Value], b: &[Value]) -> [InstitutionView; 2] {
    [
        view("centre.example/log", "Riverside Community Centre", a),
        view("county.example/log", "County Hospital", b),
    ]
}

/// The findings of `rule` over `views` with the shipped parameters at `T`.
pub fn findings(rule: &str, views: &[InstitutionView]) -> Vec<CrossFinding> {
    evaluate_cross_institution(views, &params(), T)
        .expect("shipped rules")
        .into_iter()
        .filter(|f| f.rule_id == rule)
        .collect()
}

/// The first record of each institution of [`two`].
pub const CENTRE_10: (&str, u64) = ("centre.example/log", 10);
pub const COUNTY_10: (&str, u64) = ("county.example/log", 10);

/// The one finding of `f`: its severity, its evidence as (origin, leaf), its message.
pub fn only(f: &[CrossFinding]) -> (Severity, Vec<(&str, u64)>, &str) {
    assert_eq!(f.len(), 1, "{f:?}");
    let evidence = f[0]
        .evidence
        .iter()
        .map(|(o, l)| (o.as_str(), *l))
        .collect();
    (f[0].severity, evidence, &f[0].message)
}

pub fn patient(id: &str, gender: &str, birth: &str) -> Value {
    json!({"resourceType": "Patient", "id": id, "gender": gender, "birthDate": birth,
           "identifier": [{"system": CN_RESIDENT_ID_SYSTEM, "value": CARD}]})
}

/// A Patient holding health archive number `number`.
pub fn archived(id: &str, number: &str) -> Value {
    let mut p = patient(id, "female", "1949-12-31");
    p["identifier"]
        .as_array_mut()
        .expect("identifiers")
        .push(json!({"system": ARCHIVE, "value": number}));
    p
}

/// A Condition with an ICD-10 `code`, recorded on `recorded`, with `verification` status.
pub fn condition(id: &str, code: &str, recorded: &str, verification: &str) -> Value {
    json!({"resourceType": "Condition", "id": id,
           "clinicalStatus": {"coding": [{"code": "active"}]},
           "verificationStatus": {"coding": [{"code": verification}]},
           "code": {"coding": [{"system": ICD, "code": code}]},
           "recordedDate": recorded, "subject": {"reference": "Patient/p"}})
}

/// A health check on `day` whose past-illness item says none (无).
pub fn check_says_none(id: &str, day: &str) -> [Value; 2] {
    [
        visit(id, "HEALTH-CHECK", day),
        json!({"resourceType": "Observation", "id": format!("{id}-hx"), "status": "final",
               "code": {"coding": [{"system": PHS_OBS, "code": "HX-ILLNESS"}]},
               "encounter": {"reference": format!("Encounter/{id}")},
               "effectiveDateTime": day, "subject": {"reference": "Patient/p"},
               "valueCodeableConcept": {"coding": [{"system": PHS_OBS, "code": "NONE", "display": "无"}]}}),
    ]
}

pub fn with(mut v: Value, field: &str, value: Value) -> Value {
    v[field] = value;
    v
}
