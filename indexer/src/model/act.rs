//! The internal act model of DOMAIN.md §1.3, as far as the FHIR views fill it.
//!
//! An [`Act`] is one version of one clinical fact, projected from its record. Fields that need
//! data the log does not yet carry (participations, custodian, episode links, security labels)
//! are left out rather than filled with guesses; they come with EpisodeOfCare and Provenance.

use super::datatypes::Quantity;
use super::datatypes::{CodeableConcept, FhirTime};
use super::resources::{Component, Resource};

/// HL7 v3 act mood: whether the act happened, is intended, requested, proposed, a goal or a
/// risk. Obligations (INT/RQO) are fulfilled by EVN acts, which is how T rules read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mood {
    Evn,
    Int,
    Rqo,
    Prp,
    Gol,
    Rsk,
}

/// The values an act carries.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ActPayload {
    pub value: Option<Quantity>,
    pub components: Vec<Component>,
}

/// One version of one clinical fact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Act {
    /// FHIR `resourceType`.
    pub kind: String,
    pub id: String,
    pub version: u32,
    /// Leaf index of the record this act was read from: the evidence a finding cites.
    pub leaf: u64,
    /// Hex resident pseudonym (the MPI id of §1.3).
    pub resident: String,
    pub mood: Mood,
    pub status: Option<String>,
    pub code: Option<CodeableConcept>,
    pub effective_start: Option<FhirTime>,
    pub effective_end: Option<FhirTime>,
    /// Logical id of the Encounter the act was recorded in.
    pub encounter: Option<String>,
    pub payload: ActPayload,
}

impl Act {
    /// Projects a resource version onto an act; `None` for kinds that are not acts (Patient,
    /// and kinds no view reads).
    pub fn from_resource(
        resource: &Resource,
        kind: &str,
        id: &str,
        version: u32,
        leaf: u64,
        resident: &str,
    ) -> Option<Self> {
        let encounter = resource
            .encounter_ref()
            .and_then(|r| r.id_for("Encounter"))
            .map(str::to_owned);
        let (mood, status, code, start, end, payload) = match resource {
            Resource::Encounter(e) => (
                Mood::Evn,
                e.status.clone(),
                e.service_type.clone().or_else(|| e.types.first().cloned()),
                e.period.as_ref().and_then(|p| p.start.clone()),
                e.period.as_ref().and_then(|p| p.end.clone()),
                ActPayload::default(),
            ),
            Resource::Observation(o) => (
                Mood::Evn,
                o.status.clone(),
                o.code.clone(),
                o.effective.clone(),
                None,
                ActPayload {
                    value: o.value.clone(),
                    components: o.components.clone(),
                },
            ),
            Resource::Condition(c) => (
                Mood::Evn,
                c.clinical_status.clone(),
                c.code.clone(),
                c.onset.clone(),
                c.abatement.clone(),
                ActPayload::default(),
            ),
            Resource::Immunization(i) => (
                Mood::Evn,
                i.status.clone(),
                i.vaccine_code.clone(),
                i.occurrence.clone(),
                None,
                ActPayload::default(),
            ),
            Resource::Medication(m) => (
                // A request's intent is its mood; a statement reports what happened.
                match m.intent.as_deref() {
                    None => Mood::Evn,
                    Some("plan") => Mood::Int,
                    Some("proposal") => Mood::Prp,
                    Some(_) => Mood::Rqo,
                },
                m.status.clone(),
                m.medication.clone(),
                m.when.clone(),
                None,
                ActPayload::default(),
            ),
            Resource::EpisodeOfCare(x) => (
                Mood::Evn,
                x.status.clone(),
                x.types.first().cloned(),
                x.period.as_ref().and_then(|p| p.start.clone()),
                x.period.as_ref().and_then(|p| p.end.clone()),
                ActPayload::default(),
            ),
            Resource::Procedure(x) => (
                Mood::Evn,
                x.status.clone(),
                x.code.clone(),
                x.performed.clone(),
                x.performed_end.clone(),
                ActPayload::default(),
            ),
            Resource::Request(x) => (
                Mood::Rqo,
                x.status.clone(),
                x.code.clone(),
                x.authored_on.clone(),
                None,
                ActPayload::default(),
            ),
            Resource::Communication(x) => (
                Mood::Evn,
                x.status.clone(),
                None,
                x.sent.clone(),
                None,
                ActPayload::default(),
            ),
            Resource::CarePlan(x) => (
                Mood::Int,
                x.status.clone(),
                None,
                x.period.as_ref().and_then(|p| p.start.clone()),
                x.period.as_ref().and_then(|p| p.end.clone()),
                ActPayload::default(),
            ),
            Resource::Patient(_) | Resource::Other { .. } => return None,
        };
        Some(Self {
            kind: kind.to_owned(),
            id: id.to_owned(),
            version,
            leaf,
            resident: resident.to_owned(),
            mood,
            status,
            code,
            effective_start: start,
            effective_end: end,
            encounter,
            payload,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn request_intent_sets_mood_and_observation_keeps_payload() {
        let r = Resource::parse(&json!({
            "resourceType": "MedicationRequest", "intent": "plan", "status": "active",
            "authoredOn": "2024-01-02", "encounter": {"reference": "Encounter/e1"}
        }))
        .expect("request");
        let a = Act::from_resource(&r, "MedicationRequest", "m1", 2, 7, "ab").expect("act");
        assert_eq!((a.mood, a.leaf, a.version), (Mood::Int, 7, 2));
        assert_eq!(a.encounter.as_deref(), Some("e1"));
        let o = Resource::parse(&json!({
            "resourceType": "Observation", "status": "final",
            "valueQuantity": {"value": 5.6, "code": "mmol/L"}
        }))
        .expect("observation");
        let a = Act::from_resource(&o, "Observation", "o1", 1, 0, "ab").expect("act");
        assert_eq!(a.mood, Mood::Evn);
        assert_eq!(a.payload.value.and_then(|q| q.value), Some(5.6));
        let p = Resource::parse(&json!({"resourceType": "Patient"})).expect("patient");
        assert!(Act::from_resource(&p, "Patient", "p", 1, 0, "ab").is_none());
    }
}
