use super::*;
use serde_json::json;

#[test]
fn patient_reads_demographics_and_tolerates_bad_birth_date() {
    let p = Patient::parse(&json!({
        "resourceType": "Patient", "id": "p1", "gender": "female",
        "birthDate": "1949-12-31", "deceasedDateTime": "2020-01-02",
        "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": "11010519491231002X"}],
        "name": [{"family": "王"}]
    }))
    .expect("patient");
    assert_eq!(p.gender, Some(Gender::Female));
    assert_eq!(
        p.birth_date
            .as_ref()
            .map(|d| d.date().to_string())
            .as_deref(),
        Some("1949-12-31")
    );
    assert!(p.deceased && p.has_name);
    assert_eq!(
        p.identifier_values("urn:oid:2.16.156.10011.1.3")
            .collect::<Vec<_>>(),
        ["11010519491231002X"]
    );
    let p = Patient::parse(&json!({"resourceType": "Patient", "birthDate": "1949-02-30"}))
        .expect("bad birth date is a finding, not a parse failure");
    assert_eq!(p.birth_date, None);
    assert_eq!(p.birth_date_text.as_deref(), Some("1949-02-30"));
    assert!(matches!(
        Patient::parse(&json!({"resourceType": "Patient", "gender": "M"})),
        Err(ModelError::BadCode { .. })
    ));
}

#[test]
fn synthea_resources_parse() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/fhir/synthea-tietai/Darrell_Funk_3dd33b34.json"
    );
    let text = std::fs::read_to_string(path).expect("shared Synthea bundle");
    let bundle: Value = serde_json::from_str(&text).expect("bundle JSON");
    let entries = bundle["entry"].as_array().expect("entries");
    let mut read = 0;
    for e in entries {
        let r = Resource::parse(&e["resource"]).expect("every Synthea resource parses");
        if !matches!(r, Resource::Other { .. }) {
            read += 1;
        }
    }
    assert!(read > 200, "only {read} typed resources");
    let bp = entries
        .iter()
        .filter_map(|e| Observation::parse(&e["resource"]).ok())
        .find(|o| {
            o.code
                .as_ref()
                .is_some_and(|c| c.has("http://loinc.org", "85354-9"))
        })
        .expect("a BP panel");
    let sbp = bp.component("http://loinc.org", "8480-6").expect("SBP");
    assert_eq!(sbp.unit.as_deref(), Some("mm[Hg]"));
    assert!(
        bp.encounter
            .as_ref()
            .and_then(|r| r.id_for("Encounter"))
            .is_some()
    );
}

#[test]
fn encounter_and_condition_fields() {
    let e = Encounter::parse(&json!({
        "resourceType": "Encounter", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "HH"},
        "serviceType": {"coding": [{"system": "phs-service", "code": "HTN-FU"}]},
        "period": {"start": "2024-05-10", "end": "2024-05-08"},
        "subject": {"reference": "Patient/p1"}
    }))
    .expect("encounter");
    assert_eq!(e.class.as_deref(), Some("HH"));
    assert!(
        e.service_type
            .is_some_and(|s| s.has("phs-service", "HTN-FU"))
    );
    let c = Condition::parse(&json!({
        "resourceType": "Condition",
        "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "refuted"}]},
        "code": {"text": "高血压"}, "onsetDateTime": "2020"
    }))
    .expect("condition");
    assert!(Resource::Condition(c.clone()).is_excluded());
    assert_eq!(c.onset.map(|t| t.text).as_deref(), Some("2020"));
    assert!(matches!(
        Encounter::parse(&json!({"resourceType": "Encounter", "period": {"start": 5}})),
        Err(ModelError::WrongType { path, .. }) if path == "Encounter.period.start"
    ));
}

#[test]
fn medication_request_and_statement() {
    let m = Medication::parse(&json!({
        "resourceType": "MedicationStatement", "status": "active",
        "effectivePeriod": {"start": "2024-01-01"}, "context": {"reference": "Encounter/e1"}
    }))
    .expect("statement");
    assert_eq!(m.when.map(|t| t.text).as_deref(), Some("2024-01-01"));
    assert_eq!(
        m.encounter
            .and_then(|r| r.id_for("Encounter").map(str::to_owned))
            .as_deref(),
        Some("e1")
    );
    assert!(Medication::parse(&json!({"resourceType": "Claim"})).is_err());
}
