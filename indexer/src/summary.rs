//! QC summary records: a resident's QC status written back into the log, so the status at any
//! time is covered by a signed checkpoint like every clinical record.
//!
//! A summary is a FHIR `Basic` resource, one logical resource per resident
//! (`Basic/qc-<first 32 hex of the pseudonym>`), so each new summary is a new *version* and the
//! resident's QC history is the version history of that resource. The summary lists the rules
//! that fail (id, severity, number of findings, evidence leaf indices), the number of rules
//! evaluated, the parameter-file version and the completeness score. Rules that pass are not
//! listed: with the rule count and parameter version they are implied, and listing ~50 passes
//! per resident would double the log for nothing.

use std::collections::BTreeMap;

use hl_ledger::canonical::canonical_sha256;
use hl_ledger::input::{PreparedRecord, ResidentRef};
use hl_ledger::pseudonym::ResidentScope;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::qc::{Finding, Severity};

/// The kind of a summary record.
pub const SUMMARY_KIND: &str = "Basic";
/// `Basic.code` of a summary record.
pub const SUMMARY_SYSTEM: &str = "https://healthledger.example/CodeSystem/qc";
pub const SUMMARY_CODE: &str = "qc-summary";
const EXTENSION: &str = "https://healthledger.example/StructureDefinition/qc-summary";

#[derive(Debug, thiserror::Error)]
pub enum SummaryError {
    #[error("resident {0:?} is not a 64-hex-digit pseudonym")]
    BadResident(String),
    #[error("the summary does not serialise: {0}")]
    Serialise(String),
    #[error("the record is not a QC summary: {0}")]
    NotSummary(String),
}

/// One failing rule of a resident.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleStatus {
    pub rule: String,
    pub severity: String,
    pub findings: usize,
    /// Leaf indices of the evidence of all the rule's findings, sorted, deduplicated.
    pub evidence: Vec<u64>,
}

/// A resident's QC status at one evaluation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QcSummary {
    /// Hex resident pseudonym.
    pub resident: String,
    /// Evaluation instant, RFC 3339.
    pub at: String,
    pub params_version: String,
    pub rules_evaluated: usize,
    /// Completeness score 0–100 and band, when computed.
    pub score: Option<u8>,
    pub band: Option<String>,
    /// Failing rules, by rule id.
    pub failing: Vec<RuleStatus>,
}

fn severity_text(s: Severity) -> &'static str {
    match s {
        Severity::E => "E",
        Severity::W => "W",
        Severity::I => "I",
    }
}

impl QcSummary {
    /// The summary of `findings` (one resident's, from one evaluation at `at`).
    pub fn new(
        resident: &str,
        at: OffsetDateTime,
        params_version: &str,
        rules_evaluated: usize,
        findings: &[Finding],
    ) -> Self {
        let mut by_rule: BTreeMap<(&str, &str), (usize, Vec<u64>)> = BTreeMap::new();
        for f in findings {
            let e = by_rule
                .entry((f.rule_id, severity_text(f.severity)))
                .or_default();
            e.0 += 1;
            e.1.extend(&f.evidence);
        }
        let failing = by_rule
            .into_iter()
            .map(|((rule, severity), (n, mut evidence))| {
                evidence.sort_unstable();
                evidence.dedup();
                RuleStatus {
                    rule: rule.to_owned(),
                    severity: severity.to_owned(),
                    findings: n,
                    evidence,
                }
            })
            .collect();
        Self {
            resident: resident.to_owned(),
            at: at.format(&Rfc3339).unwrap_or_default(),
            params_version: params_version.to_owned(),
            rules_evaluated,
            score: None,
            band: None,
            failing,
        }
    }

    /// Whether `other` reports the same status (everything but the evaluation time): a summary
    /// is appended only when this changes.
    pub fn same_status(&self, other: &QcSummary) -> bool {
        self.resident == other.resident
            && self.params_version == other.params_version
            && self.rules_evaluated == other.rules_evaluated
            && self.score == other.score
            && self.band == other.band
            && self.failing == other.failing
    }

    /// The logical id of a resident's summary resource.
    pub fn resource_id(resident: &str) -> String {
        format!("qc-{}", &resident[..resident.len().min(32)])
    }

    /// The FHIR `Basic` resource of this summary. The summary itself rides in one extension as
    /// canonical JSON text, so a reader needs no FHIR profile to get it back exactly.
    pub fn to_resource(&self) -> Result<Value, SummaryError> {
        let text =
            serde_json::to_string(self).map_err(|e| SummaryError::Serialise(e.to_string()))?;
        Ok(json!({
            "resourceType": SUMMARY_KIND,
            "id": Self::resource_id(&self.resident),
            "code": {"coding": [{"system": SUMMARY_SYSTEM, "code": SUMMARY_CODE}]},
            "created": self.at.get(..10).unwrap_or_default(),
            "extension": [{"url": EXTENSION, "valueString": text}],
        }))
    }

    /// Reads a summary back from the content of a summary record.
    pub fn from_resource(v: &Value) -> Result<Self, SummaryError> {
        let coded = v["code"]["coding"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["code"] == SUMMARY_CODE));
        if v["resourceType"] != SUMMARY_KIND || !coded {
            return Err(SummaryError::NotSummary("not a Basic qc-summary".into()));
        }
        let text = v["extension"]
            .as_array()
            .and_then(|x| x.iter().find(|e| e["url"] == EXTENSION))
            .and_then(|e| e["valueString"].as_str())
            .ok_or_else(|| SummaryError::NotSummary("no qc-summary extension".into()))?;
        serde_json::from_str(text).map_err(|e| SummaryError::NotSummary(e.to_string()))
    }

    /// The record to append to the log for this summary, tied to the resident.
    pub fn to_record(&self, scope: ResidentScope) -> Result<PreparedRecord, SummaryError> {
        let mut pseudonym = [0u8; 32];
        hex::decode_to_slice(&self.resident, &mut pseudonym)
            .map_err(|_| SummaryError::BadResident(self.resident.clone()))?;
        let resource = self.to_resource()?;
        let content_sha256 =
            canonical_sha256(&resource).map_err(|e| SummaryError::Serialise(e.to_string()))?;
        let content = hl_ledger::canonical::to_canonical(&resource)
            .map_err(|e| SummaryError::Serialise(e.to_string()))?;
        Ok(PreparedRecord {
            kind: SUMMARY_KIND.to_owned(),
            id: Self::resource_id(&self.resident),
            content,
            content_sha256,
            effective: Some(self.at.clone()),
            resident: ResidentRef::Known(pseudonym, scope),
            position: None,
        })
    }
}

/// Whether a record's kind and id are those of a QC summary (so a caller can tell clinical
/// changes from the node's own summaries).
pub fn is_summary(kind: &str, id: &str) -> bool {
    kind == SUMMARY_KIND && id.starts_with("qc-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    fn finding(rule: &'static str, severity: Severity, evidence: Vec<u64>) -> Finding {
        Finding {
            rule_id: rule,
            severity,
            resident: "ab".repeat(32),
            evidence,
            at: datetime!(2025-01-01 0:00 UTC),
            message: "m".into(),
        }
    }

    #[test]
    fn summary_groups_findings_and_round_trips_through_its_record() {
        let r = "ab".repeat(32);
        let s = QcSummary::new(
            &r,
            datetime!(2025-01-01 0:00 UTC),
            "2025.2",
            46,
            &[
                finding("QC-T03", Severity::E, vec![9, 4]),
                finding("QC-F04", Severity::E, vec![4]),
                finding("QC-T03", Severity::E, vec![4, 7]),
            ],
        );
        assert_eq!(
            s.failing
                .iter()
                .map(|x| (x.rule.as_str(), x.findings, x.evidence.clone()))
                .collect::<Vec<_>>(),
            [("QC-F04", 1, vec![4]), ("QC-T03", 2, vec![4, 7, 9])]
        );
        let rec = s.to_record(ResidentScope::Consortium).expect("record");
        assert_eq!((rec.kind.as_str(), rec.id.len()), ("Basic", 35));
        assert!(is_summary(&rec.kind, &rec.id));
        let back: Value = serde_json::from_slice(&rec.content).expect("json");
        let back = QcSummary::from_resource(&back).expect("summary");
        assert_eq!(back, s);
        // A later evaluation with the same findings is the same status; one more is not.
        let mut later = s.clone();
        later.at = "2025-02-01T00:00:00Z".into();
        assert!(later.same_status(&s));
        later.failing.pop();
        assert!(!later.same_status(&s));
        assert!(matches!(
            QcSummary::new("xyz", datetime!(2025-01-01 0:00 UTC), "v", 1, &[])
                .to_record(ResidentScope::Consortium),
            Err(SummaryError::BadResident(_))
        ));
        assert!(QcSummary::from_resource(&json!({"resourceType": "Basic"})).is_err());
    }
}
