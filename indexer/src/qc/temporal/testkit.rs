//! Resources for the temporal rules' tests, in the shapes docs/qc-profile.md describes.

use serde_json::{Value, json};

use crate::qc::Params;

pub const PHS: &str = "https://healthledger.example/CodeSystem/phs-service";
pub const PHS_OBS: &str = "https://healthledger.example/CodeSystem/phs-observation";
pub const LOINC: &str = "http://loinc.org";
pub const ICD: &str = "http://hl7.org/fhir/sid/icd-10-cn";
pub const VACCINES: &str = "urn:oid:2.16.156.10011.2.3.2";

pub fn params() -> Params {
    Params::shipped().expect("shipped params")
}

pub fn patient(gender: &str, birth: &str) -> Value {
    json!({"resourceType": "Patient", "id": "p", "gender": gender, "birthDate": birth})
}

/// A finished encounter of phs-service `service` and class `class` on `start`.
pub fn visit(id: &str, service: &str, class: &str, start: &str) -> Value {
    json!({"resourceType": "Encounter", "id": id, "status": "finished",
           "class": {"code": class},
           "serviceType": {"coding": [{"system": PHS, "code": service}]},
           "period": {"start": start, "end": start}, "subject": {"reference": "Patient/p"}})
}

pub fn episode(id: &str, programme: &str, start: &str, end: Option<&str>) -> Value {
    let mut period = json!({"start": start});
    if let Some(e) = end {
        period["end"] = json!(e);
    }
    json!({"resourceType": "EpisodeOfCare", "id": id,
           "status": if end.is_some() { "finished" } else { "active" },
           "type": [{"coding": [{"system": PHS, "code": programme}]}],
           "period": period, "patient": {"reference": "Patient/p"}})
}

/// A LOINC quantity observation.
pub fn quantity(id: &str, code: &str, effective: &str, value: f64, unit: &str) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
           "code": {"coding": [{"system": LOINC, "code": code}]},
           "effectiveDateTime": effective, "subject": {"reference": "Patient/p"},
           "valueQuantity": {"value": value, "code": unit}})
}

/// A LOINC observation whose value is a date (an LMP, an EDD).
pub fn date_obs(id: &str, code: &str, effective: &str, value: &str) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
           "code": {"coding": [{"system": LOINC, "code": code}]},
           "effectiveDateTime": effective, "subject": {"reference": "Patient/p"},
           "valueDateTime": value})
}

/// A phs-observation item recorded at encounter `enc`, with an integer value.
pub fn item(id: &str, code: &str, enc: &str, effective: &str, value: i64) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
           "code": {"coding": [{"system": PHS_OBS, "code": code}]},
           "encounter": {"reference": format!("Encounter/{enc}")},
           "effectiveDateTime": effective, "subject": {"reference": "Patient/p"},
           "valueInteger": value})
}

/// A completed dose `n` of `series` on `date`.
pub fn dose(id: &str, series: &str, n: u32, date: &str) -> Value {
    json!({"resourceType": "Immunization", "id": id, "status": "completed",
           "vaccineCode": {"coding": [{"system": VACCINES, "code": "0000"}]},
           "occurrenceDateTime": date, "patient": {"reference": "Patient/p"},
           "protocolApplied": [{"series": series, "doseNumberPositiveInt": n}]})
}

/// A `not-done` record of `series` (dose `n` if given), with a status reason if `reason`.
pub fn not_done(id: &str, series: &str, n: Option<u32>, date: &str, reason: bool) -> Value {
    let mut protocol = json!({"series": series});
    if let Some(n) = n {
        protocol["doseNumberPositiveInt"] = json!(n);
    }
    let mut v = json!({"resourceType": "Immunization", "id": id, "status": "not-done",
           "vaccineCode": {"coding": [{"system": VACCINES, "code": "0000"}]},
           "occurrenceDateTime": date, "patient": {"reference": "Patient/p"},
           "protocolApplied": [protocol]});
    if reason {
        v["statusReason"] = json!({"coding": [{"code": "MEDPREC"}]});
    }
    v
}

pub fn procedure(id: &str, code: &str, date: &str) -> Value {
    json!({"resourceType": "Procedure", "id": id, "status": "completed",
           "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}]},
           "performedDateTime": date, "subject": {"reference": "Patient/p"}})
}

pub fn condition(id: &str, icd: &str, onset: Option<&str>, recorded: &str) -> Value {
    let mut v = json!({"resourceType": "Condition", "id": id,
           "code": {"coding": [{"system": ICD, "code": icd}]},
           "recordedDate": recorded, "subject": {"reference": "Patient/p"}});
    if let Some(o) = onset {
        v["onsetDateTime"] = json!(o);
    }
    v
}

/// A Task coded `code` (phs-service), authored at `authored`.
pub fn task(id: &str, code: &str, authored: &str) -> Value {
    json!({"resourceType": "Task", "id": id, "status": "requested", "intent": "order",
           "code": {"coding": [{"system": PHS, "code": code}]},
           "authoredOn": authored, "for": {"reference": "Patient/p"}})
}

/// An observation coded `code` in phs-observation, with no value (an assessment done).
pub fn assessment(id: &str, code: &str, effective: &str) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
           "code": {"coding": [{"system": PHS_OBS, "code": code}]},
           "effectiveDateTime": effective, "subject": {"reference": "Patient/p"},
           "valueString": "done"})
}
