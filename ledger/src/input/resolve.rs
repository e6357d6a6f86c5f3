//! Which resident a resource belongs to: its compartment reference (`subject`, `patient`,
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
        for field in ["subject", "patient", "beneficiary"] {
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
