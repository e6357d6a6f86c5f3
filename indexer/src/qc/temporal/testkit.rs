//! Resources for the temporal rules' tests, in the shapes docs/qc-profile.md describes.

use serde_json::{Value, json};

use crate::qc::Params;

pub const VACCINES: &str = "urn:oid:2.16.156.10011.2.3.2";

pub fn params() -> Params {
    Params::shipped().expect("shipped params")
}

pub fn patient(gender: &str, birth: &str) -> Value {
    json!({"resourceType": "Patient", "id": "p", "gender": gender, "birthDate": birth})
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
