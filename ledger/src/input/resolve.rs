//! Which resident a resource belongs to: its compartment reference (`subject`, `patient`, `for`,
//! `beneficiary`) resolved within the input, by identifier, or left for the writer to resolve
//! against Patients already in the log.

use std::collections::HashMap;

use serde_json::Value;

use super::{InputOptions, ResidentRef, is_fhir_id};
use crate::pseudonym::{Pseudonym, ResidentScope};

impl InputOptions {
    /// The resident a non-Patient resource belongs to, from its compartment reference.
    pub(super) fn resident_of(
        &self,
        v: &Value,
        by_url: &HashMap<&str, (Pseudonym, ResidentScope)>,
        by_id: &HashMap<&str, (Pseudonym, ResidentScope)>,
        non_patient_urls: &HashMap<&str, &str>,
    ) -> Result<ResidentRef, (String, String)> {
        // `for` is where a Task names its patient (a CDC case notice).
        for field in ["subject", "patient", "beneficiary", "for"] {
            let Some(r) = v.get(field).filter(|r| r.is_object()) else {
                continue;
            };
            let path = format!("{field}.reference");
            if let Some(reference) = r.get("reference").and_then(Value::as_str) {
                return self.resolve(reference, &path, by_url, by_id, non_patient_urls);
            }
            // A logical reference by identifier names the resident directly.
            if let Some(ident) = r.get("identifier")
                && r.get("type")
                    .and_then(Value::as_str)
                    .is_none_or(|t| t == "Patient")
                && let (Some(system), Some(value)) = (
                    ident.get("system").and_then(Value::as_str),
                    ident.get("value").and_then(Value::as_str),
                )
                && let Some(ps) = self.pseudonymizer.of_identifier(system, value)
            {
                return Ok(ResidentRef::Known(ps, ResidentScope::Consortium));
            }
            return Ok(ResidentRef::None);
        }
        Ok(ResidentRef::None)
    }

    fn resolve(
        &self,
        reference: &str,
        path: &str,
        by_url: &HashMap<&str, (Pseudonym, ResidentScope)>,
        by_id: &HashMap<&str, (Pseudonym, ResidentScope)>,
        non_patient_urls: &HashMap<&str, &str>,
    ) -> Result<ResidentRef, (String, String)> {
        if let Some(&(ps, scope)) = by_url.get(reference) {
            return Ok(ResidentRef::Known(ps, scope));
        }
        if non_patient_urls.contains_key(reference) || reference.starts_with('#') {
            return Ok(ResidentRef::None);
        }
        if reference.starts_with("urn:uuid:") || reference.starts_with("urn:oid:") {
            return Err((
                path.to_owned(),
                format!("{reference} does not resolve to an entry of this Bundle"),
            ));
        }
        if let Some(query) = reference.strip_prefix("Patient?identifier=") {
            let (system, value) = query.split_once('|').unwrap_or(("", query));
            return self
                .pseudonymizer
                .of_identifier(system, value)
                .map(|ps| ResidentRef::Known(ps, ResidentScope::Consortium))
                .ok_or_else(|| {
                    (
                        path.to_owned(),
                        format!("conditional reference {reference} does not use a resident identifier system"),
                    )
                });
        }
        // `Patient/id`, `Patient/id/_history/n` or `<base>/Patient/id[/_history/n]`.
        let trimmed = match reference.find("/_history/") {
            Some(p) => &reference[..p],
            None => reference,
        };
        let mut parts = trimmed.rsplit('/');
        let (Some(id), Some(kind)) = (parts.next(), parts.next()) else {
            return Err((
                path.to_owned(),
                format!("'{reference}' is not a FHIR reference"),
            ));
        };
        if kind != "Patient" {
            return Ok(ResidentRef::None);
        }
        if let Some(&(ps, scope)) = by_id.get(id) {
            return Ok(ResidentRef::Known(ps, scope));
        }
        if !is_fhir_id(id) {
            return Err((
                path.to_owned(),
                format!("'{reference}' is not a FHIR reference"),
            ));
        }
        Ok(ResidentRef::Stored {
            patient_id: id.to_owned(),
            field: path.to_owned(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::input::{InputOptions, ResidentRef};
    use crate::pseudonym::{Pseudonymizer, default_resident_systems};

    #[test]
    fn a_task_belongs_to_the_patient_it_is_for() {
        let opts = InputOptions {
            max_bytes: 1 << 20,
            pseudonymizer: Pseudonymizer::new([1; 32], default_resident_systems(), "o".into()),
        };
        let bundle = json!({"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:p", "request": {"method": "PUT", "url": "Patient/p"},
             "resource": {"resourceType": "Patient", "id": "p",
                "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": "11010519491231002X"}]}},
            {"fullUrl": "urn:uuid:t", "request": {"method": "PUT", "url": "Task/t"},
             "resource": {"resourceType": "Task", "id": "t", "status": "requested",
                "intent": "order", "for": {"reference": "urn:uuid:p"}}},
            {"fullUrl": "urn:uuid:o", "request": {"method": "PUT", "url": "Task/o"},
             "resource": {"resourceType": "Task", "id": "o", "status": "requested",
                "intent": "order"}}
        ]});
        let p = opts
            .prepare("t", &serde_json::to_vec(&bundle).expect("json"))
            .expect("valid");
        let ResidentRef::Known(patient, _) = &p.records[0].resident else {
            panic!("the Patient has a resident");
        };
        assert!(matches!(&p.records[1].resident, ResidentRef::Known(r, _) if r == patient));
        assert_eq!(p.records[2].resident, ResidentRef::None);
    }
}
