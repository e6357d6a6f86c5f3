//! The clinically relevant time of a resource, normalized to RFC 3339 UTC.

use serde_json::Value;

use crate::time_fmt::normalize_fhir_datetime;

/// Clinically relevant time of a resource, in the first of these fields it has.
const EFFECTIVE_FIELDS: &[&str] = &[
    "effectiveDateTime",
    "effectiveInstant",
    "effectivePeriod.start",
    "occurrenceDateTime",
    "occurrencePeriod.start",
    "performedDateTime",
    "performedPeriod.start",
    "onsetDateTime",
    "onsetPeriod.start",
    "period.start",
    "authoredOn",
    "recordedDate",
    "issued",
    "date",
    "dateAsserted",
    "recorded",
    "created",
];

pub(super) fn effective_of(v: &Value) -> Result<Option<String>, (String, String)> {
    for path in EFFECTIVE_FIELDS {
        let mut cur = v;
        let mut found = true;
        for part in path.split('.') {
            match cur.get(part) {
                Some(next) => cur = next,
                None => {
                    found = false;
                    break;
                }
            }
        }
        if !found {
            continue;
        }
        let Some(s) = cur.as_str() else {
            return Err(((*path).to_owned(), "must be a string".into()));
        };
        return normalize_fhir_datetime(s)
            .map(Some)
            .map_err(|e| ((*path).to_owned(), e));
    }
    Ok(None)
}
