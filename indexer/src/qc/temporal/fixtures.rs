//! Records the temporal rule tests build residents from.

use serde_json::{Value, json};
use time::macros::datetime;
use time::{Duration, OffsetDateTime};

use crate::qc::Params;

/// The evaluation instant of the tests.
pub const T: OffsetDateTime = datetime!(2025-03-01 0:00 UTC);
pub const PHS: &str = "https://healthledger.example/CodeSystem/phs-service";
pub const LOINC: &str = "http://loinc.org";
pub const PHS_OBS: &str = "https://healthledger.example/CodeSystem/phs-observation";

pub fn params() -> Params {
    Params::shipped().expect("shipped params")
}

/// The day `days` before T, as a FHIR date.
pub fn ago(days: i64) -> String {
    (T - Duration::days(days)).date().to_string()
}

pub fn patient(birth: &str) -> Value {
    json!({"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": birth})
}

pub fn dead_patient(id: &str, birth: &str, death: &str) -> Value {
    json!({"resourceType": "Patient", "id": id, "gender": "male", "birthDate": birth,
           "deceasedDateTime": death})
}

pub fn episode(id: &str, programme: &str, start: &str, end: Option<&str>) -> Value {
    let mut period = json!({"start": start});
    if let Some(end) = end {
        period["end"] = json!(end);
    }
    json!({"resourceType": "EpisodeOfCare", "id": id, "status": "active",
           "type": [{"coding": [{"system": PHS, "code": programme}]}],
           "period": period, "patient": {"reference": "Patient/p"}})
}

pub fn visit(id: &str, service: &str, start: &str) -> Value {
    json!({"resourceType": "Encounter", "id": id, "status": "finished",
           "class": {"code": "AMB"},
           "serviceType": {"coding": [{"system": PHS, "code": service}]},
           "period": {"start": start, "end": start}, "subject": {"reference": "Patient/p"}})
}

pub fn obs(id: &str, system: &str, code: &str, enc: Option<&str>, at: &str) -> Value {
    let mut o = json!({"resourceType": "Observation", "id": id, "status": "final",
           "code": {"coding": [{"system": system, "code": code}]},
           "subject": {"reference": "Patient/p"}, "effectiveDateTime": at});
    if let Some(e) = enc {
        o["encounter"] = json!({"reference": format!("Encounter/{e}")});
    }
    o
}

pub fn bp(id: &str, enc: &str, at: &str, sbp: f64, dbp: f64) -> Value {
    let mut o = obs(id, LOINC, "85354-9", Some(enc), at);
    let comp = |code: &str, v: f64| {
        json!({"code": {"coding": [{"system": LOINC, "code": code}]},
               "valueQuantity": {"value": v, "unit": "mmHg", "code": "mm[Hg]"}})
    };
    o["component"] = json!([comp("8480-6", sbp), comp("8462-4", dbp)]);
    o
}

pub fn fbg(id: &str, enc: &str, at: &str, mmol: f64) -> Value {
    let mut o = obs(id, LOINC, "14771-0", Some(enc), at);
    o["valueQuantity"] = json!({"value": mmol, "unit": "mmol/L", "code": "mmol/L"});
    o
}

/// A valid HTN follow-up on `day`: the visit and its BP panel.
pub fn htn_fu(id: &str, day: &str, sbp: f64, dbp: f64) -> [Value; 2] {
    [
        visit(id, "HTN-FU", day),
        bp(&format!("{id}-bp"), id, day, sbp, dbp),
    ]
}

/// A T2D follow-up on `day` with its BP, and a fasting glucose on `glucose_day`.
pub fn t2d_fu(id: &str, day: &str, glucose_day: &str, mmol: f64) -> [Value; 3] {
    [
        visit(id, "T2D-FU", day),
        bp(&format!("{id}-bp"), id, day, 128.0, 80.0),
        fbg(&format!("{id}-g"), id, glucose_day, mmol),
    ]
}

pub fn referral(id: &str, authored: &str, enc: Option<&str>) -> Value {
    let mut r = json!({"resourceType": "ServiceRequest", "id": id, "status": "active",
           "intent": "order", "code": {"coding": [{"system": PHS, "code": "REFERRAL"}]},
           "authoredOn": authored, "subject": {"reference": "Patient/p"}});
    if let Some(e) = enc {
        r["encounter"] = json!({"reference": format!("Encounter/{e}")});
    }
    r
}

pub fn dose(id: &str, series: &str, n: u32, at: &str) -> Value {
    json!({"resourceType": "Immunization", "id": id, "status": "completed",
           "vaccineCode": {"coding": [{"system": "urn:oid:2.16.156.10011.2.3.2", "code": "x"}]},
           "occurrenceDateTime": at, "patient": {"reference": "Patient/p"},
           "protocolApplied": [{"series": series, "doseNumberPositiveInt": n}]})
}

/// Each record of `groups`, flattened, for `resident(&…)`.
pub fn all(groups: &[&[Value]]) -> Vec<Value> {
    groups.iter().flat_map(|g| g.iter().cloned()).collect()
}
