//! `healthledger qc eval`: precision and recall of every rule against a labels file of
//! injected defects (what `healthledger synth --defect-rate` writes).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{Context, Result, bail};
use hl_indexer::qc::Finding;
use serde::{Deserialize, Serialize};

/// One line of a labels file.
#[derive(Debug, Clone, Deserialize)]
pub struct Label {
    /// The `Patient.id` of the resident with the defect.
    pub patient: String,
    pub rule: String,
}

/// Reads a JSON-lines labels file; a bad line is an error naming the line.
pub fn read_labels(path: &Path) -> Result<Vec<Label>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l).with_context(|| {
                format!(
                    "{} line {}: not a label {{\"patient\", \"rule\"}}",
                    path.display(),
                    i + 1
                )
            })
        })
        .collect()
}

/// Precision and recall of one rule.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RuleScore {
    pub rule: String,
    /// Residents labelled with the rule's defect.
    pub labelled: usize,
    /// Residents the rule fired on.
    pub fired: usize,
    pub true_positives: usize,
    pub precision: f64,
    pub recall: f64,
}

/// Scores every rule that was labelled or fired. `labels` are (resident, rule) pairs; a rule
/// counts as fired on a resident when it has at least one finding there, whatever its
/// severity. A rule with nothing labelled and nothing fired is not listed; precision of a rule
/// that never fired is 1 (it claimed nothing false), recall of a rule never labelled is 1.
pub fn score(labels: &BTreeSet<(String, String)>, findings: &[Finding]) -> Vec<RuleScore> {
    let fired: BTreeSet<(String, String)> = findings
        .iter()
        .map(|f| (f.resident.clone(), f.rule_id.to_owned()))
        .collect();
    let mut by_rule: BTreeMap<&str, RuleScore> = BTreeMap::new();
    for (_, rule) in labels {
        by_rule.entry(rule).or_default().labelled += 1;
    }
    for pair in &fired {
        let s = by_rule.entry(&pair.1).or_default();
        s.fired += 1;
        if labels.contains(pair) {
            s.true_positives += 1;
        }
    }
    by_rule
        .into_iter()
        .map(|(rule, mut s)| {
            s.rule = rule.to_owned();
            let ratio = |n: usize, d: usize| if d == 0 { 1.0 } else { n as f64 / d as f64 };
            s.precision = ratio(s.true_positives, s.fired);
            s.recall = ratio(s.true_positives, s.labelled);
            s
        })
        .collect()
}

/// Fails when a rule is below `min` in precision or recall.
pub fn check_min(scores: &[RuleScore], min: f64) -> Result<()> {
    let low: Vec<String> = scores
        .iter()
        .filter(|s| s.precision < min || s.recall < min)
        .map(|s| format!("{} (P {:.3}, R {:.3})", s.rule, s.precision, s.recall))
        .collect();
    if !low.is_empty() {
        bail!("{} rules below {min}: {}", low.len(), low.join(", "));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use hl_indexer::qc::Severity;
    use time::macros::datetime;

    fn f(resident: &str, rule: &'static str) -> Finding {
        Finding {
            rule_id: rule,
            severity: Severity::E,
            resident: resident.into(),
            evidence: vec![],
            at: datetime!(2025-01-01 0:00 UTC),
            message: String::new(),
        }
    }

    #[test]
    fn precision_and_recall_per_rule() {
        let labels: BTreeSet<_> = [("a", "QC-T03"), ("b", "QC-T03"), ("c", "QC-X01")]
            .iter()
            .map(|(r, x)| (r.to_string(), x.to_string()))
            .collect();
        // T03: fired on a (right, twice), and d (wrong); missed b. X01: right. F04: wrong.
        let findings = [
            f("a", "QC-T03"),
            f("a", "QC-T03"),
            f("d", "QC-T03"),
            f("c", "QC-X01"),
            f("c", "QC-F04"),
        ];
        let s = score(&labels, &findings);
        let t03 = s.iter().find(|s| s.rule == "QC-T03").expect("T03");
        assert_eq!((t03.labelled, t03.fired, t03.true_positives), (2, 2, 1));
        assert_eq!((t03.precision, t03.recall), (0.5, 0.5));
        let f04 = s.iter().find(|s| s.rule == "QC-F04").expect("F04");
        assert_eq!((f04.precision, f04.recall), (0.0, 1.0));
        let x01 = s.iter().find(|s| s.rule == "QC-X01").expect("X01");
        assert_eq!((x01.precision, x01.recall), (1.0, 1.0));
        assert!(check_min(&s, 0.99).is_err());
        assert!(check_min(&s[..0], 0.99).is_ok());
    }
}
