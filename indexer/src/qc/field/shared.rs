//! What every rule level uses to read codes and to word a finding; it started with the
//! field rules, so it lives here.

use time::OffsetDateTime;

use crate::model::CodeableConcept;
use crate::qc::{Finding, Rule, Severity};
use crate::tree::{ResidentTree, ResourceNode};

pub(in crate::qc) const LOINC: &str = "http://loinc.org";

/// The LOINC codes of a concept.
pub(in crate::qc) fn loinc_codes(c: &CodeableConcept) -> impl Iterator<Item = &str> {
    c.coding
        .iter()
        .filter(|c| c.system.as_deref() == Some(LOINC))
        .filter_map(|c| c.code.as_deref())
}

/// The findings of a rule that judges each record on its own: one per message `judge` gives
/// for a record, each resting on that record alone, in record order.
pub(in crate::qc) fn per_record<'r, T, M>(
    rule: &dyn Rule,
    resident: &ResidentTree,
    at: OffsetDateTime,
    records: impl IntoIterator<Item = (&'r ResourceNode, T)>,
    mut judge: impl FnMut(&'r ResourceNode, T) -> M,
) -> Vec<Finding>
where
    M: IntoIterator<Item = String>,
{
    let mut out = Vec::new();
    for (node, record) in records {
        for message in judge(node, record) {
            out.push(finding(rule, resident, vec![node.leaf], at, message));
        }
    }
    out
}

pub(in crate::qc) fn finding(
    rule: &dyn Rule,
    resident: &ResidentTree,
    evidence: Vec<u64>,
    at: OffsetDateTime,
    message: String,
) -> Finding {
    finding_with_severity(rule, rule.severity(), resident, evidence, at, message)
}

/// [`finding`] with its own severity, for a rule that reports a lesser problem (a W part of
/// an E rule) besides its main one.
pub(in crate::qc) fn finding_with_severity(
    rule: &dyn Rule,
    severity: Severity,
    resident: &ResidentTree,
    evidence: Vec<u64>,
    at: OffsetDateTime,
    message: String,
) -> Finding {
    Finding {
        rule_id: rule.id(),
        severity,
        resident: resident.pseudonym.clone(),
        evidence,
        at,
        message,
    }
}
