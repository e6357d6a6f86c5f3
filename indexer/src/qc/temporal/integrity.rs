//! Ledger integrity of a resident's record versions (QC-I06).

use serde::Deserialize;
use time::OffsetDateTime;

use super::super::field::finding_with_severity;
use super::super::params::{Params, ParamsError, Severity};
use super::super::{Finding, ResidentView, Rule, rule_meta};
use crate::tree::Content;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct I06Params {
    severity: Severity,
    erased_severity: Severity,
}

/// QC-I06: what the knowledge tree can verify about the integrity of each of the resident's
/// resources, from the log alone.
///
/// Reported:
/// - a version whose content bytes, when the tree read them from the local log, did not hash
///   (SHA-256 of RFC 8785 canonical JSON) to the `content_sha256` of its envelope, i.e. the
///   stored content is not the content that was recorded (an edit in place);
/// - a resource whose version numbers have a gap or go backwards in log order (the ledger
///   numbers the versions of `Kind/id` 1, 2, 3… as it appends them, so either means a record
///   is missing or out of place);
/// - a latest version that cannot be read (in the log but not a readable resource of its
///   kind), with the rule's severity, or whose content was erased, with `erased_severity`:
///   lawful erasure keeps the envelope and every proof valid, but nothing is left to check the
///   hash against or to use.
///
/// What this does not prove: the hash is compared with the envelope the tree read from the
/// same store, so content and envelope rewritten together are not detected here; that the
/// envelope is the leaf included under a signed and anchored checkpoint is the ledger's
/// check (inclusion proofs, `fsck`, anchoring), not the tree's. The content is checked when
/// the tree applies the record (`catch_up` or a rebuild), not again afterwards. Provenance
/// resources are not read: on this ledger an edit always appends a new version, so an edit
/// without one can only show up as a hash mismatch. Trees built without envelopes (test
/// fixtures) have no hashes to compare.
pub struct I06LedgerIntegrity {
    severity: Severity,
    erased_severity: Severity,
}

impl I06LedgerIntegrity {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: I06Params = params.section("I06")?;
        Ok(Self {
            severity: p.severity,
            erased_severity: p.erased_severity,
        })
    }
}

impl Rule for I06LedgerIntegrity {
    rule_meta!("QC-I06", I);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let mut out = Vec::new();
        let mut push = |severity, evidence, message| {
            out.push(finding_with_severity(
                self, severity, resident, evidence, at, message,
            ));
        };
        for n in resident.resources() {
            let key = &n.key;
            for v in &n.content_mismatch {
                let leaf = n.versions.get(v).copied().unwrap_or(n.leaf);
                push(
                    self.severity,
                    vec![leaf],
                    format!(
                        "Version {v} of {key} no longer matches the content hash recorded in the ledger, so it was changed after it was recorded."
                    ),
                );
            }
            let max = n.versions.keys().next_back().copied().unwrap_or(0);
            let missing: Vec<String> = (1..max)
                .filter(|v| !n.versions.contains_key(v))
                .map(|v| v.to_string())
                .collect();
            if !missing.is_empty() {
                push(
                    self.severity,
                    n.versions.values().copied().collect(),
                    format!(
                        "{key} is at version {max} but the log holds no version {} of it.",
                        missing.join(", ")
                    ),
                );
            }
            let in_order: Vec<(&u32, &u64)> = n.versions.iter().collect();
            for w in in_order.windows(2) {
                let ((v1, l1), (v2, l2)) = (w[0], w[1]);
                if l2 < l1 {
                    push(
                        self.severity,
                        vec![*l1, *l2],
                        format!(
                            "Version {v2} of {key} was logged before version {v1} (records {l2} and {l1})."
                        ),
                    );
                }
            }
            match &n.content {
                Content::Read(_) => {}
                Content::Erased => push(
                    self.erased_severity,
                    vec![n.leaf],
                    format!(
                        "The content of {key} (version {}) has been erased from the log, so it can no longer be checked or used.",
                        n.version
                    ),
                ),
                Content::Unreadable(reason) => push(
                    self.severity,
                    vec![n.leaf],
                    format!(
                        "The latest version ({}) of {key} is in the log but cannot be read: {reason}.",
                        n.version
                    ),
                ),
            }
        }
        out
    }
}

#[cfg(test)]
#[path = "integrity_tests.rs"]
mod tests;
