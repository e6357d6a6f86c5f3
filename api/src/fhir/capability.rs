//! `GET /fhir/metadata`: the CapabilityStatement, built from the same tables the handlers
//! use (the search table, the paging and proof parameters), so it cannot drift from them.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use hl_ledger::resource_types::R4_RESOURCE_TYPES;
use serde_json::{Value, json};
use utoipa::OpenApi;

use super::meta::ledger_entry_url;
use super::search::SEARCHES;
use crate::audit::URL_BASE;
use crate::error::fhir_json;
use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(paths(metadata))]
pub struct Doc;

/// Standard definitions of the search parameters we implement.
fn definition(kind: &str, name: &str) -> String {
    let id = match (kind, name) {
        ("Patient", "identifier") => "Patient-identifier",
        ("Encounter", "date") => "clinical-date",
        (_, "patient") => "clinical-patient",
        (_, "code") => "clinical-code",
        (_, "date") => "clinical-date",
        _ => name,
    };
    format!("http://hl7.org/fhir/SearchParameter/{id}")
}

/// Parameters every read answer takes, with what they do.
fn common_params() -> Vec<Value> {
    vec![
        json!({ "name": "_count", "type": "number", "documentation": "Page size of searches, _history and $everything; the node's default applies when absent, larger values are cut to its maximum." }),
        json!({ "name": "_snapshot", "type": "number", "definition": format!("{URL_BASE}/SearchParameter/snapshot"), "documentation": "Log size a paged answer is computed at; next links carry the size of the first page so the pages of one search stay stable while the log grows." }),
        json!({ "name": "_offset", "type": "number", "definition": format!("{URL_BASE}/SearchParameter/offset"), "documentation": "Entries to skip; written into next links." }),
        json!({ "name": "_proof", "type": "token", "definition": format!("{URL_BASE}/SearchParameter/proof"), "documentation": "true: answer, instead of the resource or Bundle, the self-contained proof bundle (application/json, format healthledger-proof-bundle/1) of exactly the records the answer would disclose: envelopes, contents, inclusion proofs, the signed checkpoint, the log key and, when the log is anchored, the consistency proof from the anchored head. `healthledger verify FILE` checks it offline. On read, vread, _history, search and $everything (not on Consent, whose source is the chain)." }),
    ]
}

/// The CapabilityStatement of this server (FHIR R4, JSON, bearer tokens).
#[utoipa::path(get, path = "/fhir/metadata", tag = "fhir", responses(
    (status = 200, description = "CapabilityStatement", content_type = "application/fhir+json")
))]
pub async fn metadata(State(state): State<AppState>) -> Response {
    fhir_json(StatusCode::OK, &statement(&state))
}

pub fn statement(state: &AppState) -> Value {
    let version = env!("CARGO_PKG_VERSION");
    let mut resources = Vec::with_capacity(R4_RESOURCE_TYPES.len());
    for kind in R4_RESOURCE_TYPES {
        let mut interaction = vec![
            json!({ "code": "read" }),
            json!({ "code": "vread" }),
            json!({ "code": "history-instance" }),
            json!({ "code": "create" }),
            json!({ "code": "update" }),
        ];
        let mut r = json!({
            "type": kind,
            "versioning": "versioned",
            "readHistory": true,
        });
        if let Some((_, params)) = SEARCHES.iter().find(|(k, _)| *k == kind) {
            interaction.push(json!({ "code": "search-type" }));
            r["searchParam"] = params
                .iter()
                .map(|(name, ty, doc)| {
                    json!({ "name": name, "type": ty, "definition": definition(kind, name), "documentation": doc })
                })
                .collect();
        }
        if kind == "Patient" {
            r["operation"] = json!([{
                "name": "everything",
                "definition": "http://hl7.org/fhir/OperationDefinition/Patient-everything",
                "documentation": "Every current record of the resident in log order, without the access log (AuditEvent) and QC summaries; paged with _count and next links; each page is authorized and audited on its own; _proof=true answers the proof bundle of the page.",
            }]);
        }
        if kind == "Consent" {
            r["documentation"] = json!(
                "Consents are read from the consortium contract (search by patient only); they are granted and revoked by the resident's signature through the consent API."
            );
        }
        r["interaction"] = Value::Array(interaction);
        resources.push(r);
    }
    json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": hl_ledger::time_fmt::format_utc(time::OffsetDateTime::now_utc()).unwrap_or_default(),
        "publisher": state.institution,
        "kind": "instance",
        "software": { "name": "HealthLedger", "version": version },
        "implementation": {
            "description": format!("HealthLedger node of {}", state.institution),
            "url": format!("{}/fhir", state.base_url),
        },
        "fhirVersion": "4.0.1",
        "format": ["json"],
        "rest": [{
            "mode": "server",
            "documentation": format!(
                "Every resource served carries meta.versionId, meta.lastUpdated (the time the record was committed to the log) and the extension {} with sub-extensions leafIndex (leaf index in this node's Merkle log), contentSha256 (hex SHA-256 of the RFC 8785 canonical JSON of the resource as stored, before meta is added) and origin (the log's origin). Searches are strict: an unknown or unsupported parameter is refused with 400 unless the request says 'Prefer: handling=lenient'. Every read of a resident's data appends an AuditEvent to the log before it is answered. A clinician may read in an emergency with the header X-Break-Glass-Reason; it is audited and emitted on chain.",
                ledger_entry_url()
            ),
            "security": {
                "cors": false,
                "service": [{
                    "coding": [{ "system": format!("{URL_BASE}/CodeSystem/security-service"), "code": "bearer", "display": "HTTP Bearer token" }],
                    "text": "Authorization: Bearer <token> (RFC 6750): a staff token (hlt_…) or a Sign-In with Ethereum session (hls_…)",
                }],
                "description": "Staff roles ingest, clinician, admin, auditor; residents and regulators sign in with Ethereum (EIP-4361). Purpose of use in X-Purpose-Of-Use.",
            },
            "resource": resources,
            "interaction": [{ "code": "transaction" }, { "code": "batch" }],
            "searchParam": common_params(),
        }],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn definitions_name_standard_parameters() {
        assert_eq!(
            definition("Observation", "patient"),
            "http://hl7.org/fhir/SearchParameter/clinical-patient"
        );
        assert_eq!(
            definition("Patient", "identifier"),
            "http://hl7.org/fhir/SearchParameter/Patient-identifier"
        );
        assert!(common_params().iter().any(|p| p["name"] == "_proof"));
    }
}
