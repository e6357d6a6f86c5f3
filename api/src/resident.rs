//! Which resident a request is about: from `Patient/<id>` (the latest version's envelope
//! carries the pseudonym) or a 64-hex pseudonym.

use hl_ledger::pseudonym::{Pseudonym, ResidentScope};
use hl_ledger::record::Envelope;

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// A resident the log knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resident {
    pub pseudonym: Pseudonym,
    pub scope: ResidentScope,
}

impl Resident {
    pub fn hex(&self) -> String {
        hex::encode(self.pseudonym)
    }
}

/// The envelope of leaf `index`.
pub fn envelope(state: &AppState, index: u64) -> ApiResult<Envelope> {
    let rec = state
        .ledger
        .record(index)?
        .ok_or_else(|| ApiError::internal(format!("leaf {index} is missing")))?;
    serde_json::from_slice(&rec.envelope)
        .map_err(|e| ApiError::internal(format!("leaf {index}: bad envelope: {e}")))
}

/// The resident of the Patient resource `id` (its latest version).
pub fn of_patient(state: &AppState, id: &str) -> ApiResult<Resident> {
    let (_, index) = state
        .ledger
        .latest("Patient", id)?
        .ok_or_else(|| ApiError::not_found(format!("Patient/{id} is not in this log")))?;
    let env = envelope(state, index)?;
    match (env.resident_bytes(), env.resident_scope) {
        (Some(pseudonym), Some(scope)) => Ok(Resident { pseudonym, scope }),
        _ => Err(ApiError::internal(format!(
            "Patient/{id} (leaf {index}) has no resident in its envelope"
        ))),
    }
}

/// Whether `s` has the form of a resident pseudonym (64 hex digits).
pub fn is_pseudonym(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

/// A resident named by a 64-hex pseudonym, `Patient/<id>` or a bare Patient id.
pub fn resolve(state: &AppState, s: &str) -> ApiResult<Resident> {
    let s = s.trim();
    if is_pseudonym(s) {
        let mut pseudonym = [0u8; 32];
        hex::decode_to_slice(s, &mut pseudonym)
            .map_err(|_| ApiError::bad_request("resident pseudonym is not hex"))?;
        let first = state
            .ledger
            .resident_records(&pseudonym)?
            .first()
            .copied()
            .ok_or_else(|| ApiError::not_found(format!("no records of resident {s}")))?;
        let scope = envelope(state, first)?
            .resident_scope
            .unwrap_or(ResidentScope::Institution);
        return Ok(Resident { pseudonym, scope });
    }
    let id = s.strip_prefix("Patient/").unwrap_or(s);
    if !hl_ledger::input::is_fhir_id(id) {
        return Err(ApiError::bad_request(format!(
            "'{s}' is neither a 64-hex resident pseudonym nor a Patient id"
        )));
    }
    of_patient(state, id)
}
