//! The labels of injected defects: `labels.jsonl` in the output directory, one line per
//! resident with a defect, in resident order, so that a QC run can be scored against them.

use serde_json::json;

/// One injected defect: which resident, which rule it should trigger, and the records it is
/// in (`Kind/id`; for a removed visit, the episode or resident the missing visit belonged to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    /// `Patient.id`.
    pub patient: String,
    /// The identity card number as written in the Patient (after the defect, for QC-F01).
    pub id_card: String,
    /// Catalogue id, e.g. `QC-T03`.
    pub rule: &'static str,
    pub records: Vec<String>,
}

impl Label {
    /// The label as one line of JSON, without the newline.
    pub fn json_line(&self) -> String {
        json!({
            "patient": self.patient,
            "id_card": self.id_card,
            "rule": self.rule,
            "records": self.records,
        })
        .to_string()
    }
}
