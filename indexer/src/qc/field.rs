//! Field-level rules (DOMAIN.md §4.2).

use time::OffsetDateTime;

use super::params::{Params, ParamsError, Range, Severity};
use super::{Finding, Level, Rule};
use crate::identity::{IdCardIssue, id_card_issues};
use crate::model::{Quantity, Resource};
use crate::tree::ResidentTree;

const LOINC: &str = "http://loinc.org";

fn finding(
    rule: &dyn Rule,
    resident: &ResidentTree,
    evidence: Vec<u64>,
    at: OffsetDateTime,
    message: String,
) -> Finding {
    Finding {
        rule_id: rule.id(),
        severity: rule.severity(),
        resident: resident.pseudonym.clone(),
        evidence,
        at,
        message,
    }
}

/// QC-F01: every id-card identifier passes GB 11643 (checksum and a real birth date).
/// Agreement with the record's birth date and sex is QC-R05, not this rule.
pub struct F01IdCardValid {
    severity: Severity,
}

impl F01IdCardValid {
    pub fn new(params: &Params) -> Self {
        Self {
            severity: params.f01.severity,
        }
    }
}

impl Rule for F01IdCardValid {
    fn id(&self) -> &'static str {
        "QC-F01"
    }
    fn level(&self) -> Level {
        Level::F
    }
    fn severity(&self) -> Severity {
        self.severity
    }
    fn evaluate(&self, resident: &ResidentTree, at: OffsetDateTime) -> Vec<Finding> {
        let mut out = Vec::new();
        for (node, patient) in resident.patients() {
            for issue in id_card_issues(patient, false) {
                if let IdCardIssue::Invalid { value, error } = issue {
                    out.push(finding(
                        self,
                        resident,
                        vec![node.leaf],
                        at,
                        format!("The ID-card number {value} is not valid: {error}."),
                    ));
                }
            }
        }
        out
    }
}

/// QC-F03: name, gender and birth date present, the birth date a real date between the
/// configured minimum and `T`. The address and managing-organisation parts of the catalogue
/// rule are not checked yet: the Patient view does not read them.
pub struct F03CoreDemographics {
    severity: Severity,
    min_birth_date: time::Date,
}

impl F03CoreDemographics {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        Ok(Self {
            severity: params.f03.severity,
            min_birth_date: params.min_birth_date()?,
        })
    }
}

impl Rule for F03CoreDemographics {
    fn id(&self) -> &'static str {
        "QC-F03"
    }
    fn level(&self) -> Level {
        Level::F
    }
    fn severity(&self) -> Severity {
        self.severity
    }
    fn evaluate(&self, resident: &ResidentTree, at: OffsetDateTime) -> Vec<Finding> {
        let mut out = Vec::new();
        for (node, p) in resident.patients() {
            let mut problems = Vec::new();
            if !p.has_name {
                problems.push("no name".to_owned());
            }
            if p.gender.is_none() {
                problems.push("no gender".to_owned());
            }
            match (&p.birth_date_text, &p.birth_date) {
                (None, _) => problems.push("no birth date".to_owned()),
                (Some(t), None) => problems.push(format!("birth date {t} is not a date")),
                (Some(t), Some(d)) if d.date() < self.min_birth_date => {
                    problems.push(format!("birth date {t} is before {}", self.min_birth_date))
                }
                (Some(t), Some(d)) if d.start > at => {
                    problems.push(format!("birth date {t} is in the future"))
                }
                _ => {}
            }
            if !problems.is_empty() {
                out.push(finding(
                    self,
                    resident,
                    vec![node.leaf],
                    at,
                    format!("The resident record has {}.", problems.join(", ")),
                ));
            }
        }
        out
    }
}

/// QC-F07: measured values lie within hard plausible limits. Entered-in-error observations
/// are skipped (DOMAIN.md §4.1).
pub struct F07PlausibleRange {
    severity: Severity,
    ranges: Vec<Range>,
}

impl F07PlausibleRange {
    pub fn new(params: &Params) -> Self {
        Self {
            severity: params.f07.severity,
            ranges: params.f07.ranges.clone(),
        }
    }

    fn out_of_range(&self, code: &str, q: &Quantity) -> Option<(&Range, f64)> {
        let v = q.value?;
        self.ranges
            .iter()
            .find(|r| r.loinc == code && q.unit.as_deref() == Some(r.unit.as_str()))
            .filter(|r| v < r.low || v > r.high)
            .map(|r| (r, v))
    }
}

impl Rule for F07PlausibleRange {
    fn id(&self) -> &'static str {
        "QC-F07"
    }
    fn level(&self) -> Level {
        Level::F
    }
    fn severity(&self) -> Severity {
        self.severity
    }
    fn evaluate(&self, resident: &ResidentTree, at: OffsetDateTime) -> Vec<Finding> {
        let mut out = Vec::new();
        for node in resident.resources() {
            let Some(r @ Resource::Observation(o)) = node.resource() else {
                continue;
            };
            if r.is_excluded() {
                continue;
            }
            // The observation's own value under its code, then each component under its code.
            let mut values: Vec<(&str, &Quantity)> = Vec::new();
            if let (Some(code), Some(q)) = (&o.code, &o.value) {
                values.extend(
                    code.coding
                        .iter()
                        .filter(|c| c.system.as_deref() == Some(LOINC))
                        .filter_map(|c| Some((c.code.as_deref()?, q))),
                );
            }
            for comp in &o.components {
                if let Some(q) = &comp.value {
                    values.extend(
                        comp.code
                            .coding
                            .iter()
                            .filter(|c| c.system.as_deref() == Some(LOINC))
                            .filter_map(|c| Some((c.code.as_deref()?, q))),
                    );
                }
            }
            for (code, q) in values {
                if let Some((range, v)) = self.out_of_range(code, q) {
                    out.push(finding(
                        self,
                        resident,
                        vec![node.leaf],
                        at,
                        format!(
                            "{} of {v} {} is outside the possible range {}–{}.",
                            range.measure, range.unit, range.low, range.high
                        ),
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::resident;
    use serde_json::{Value, json};
    use time::macros::datetime;

    const T: OffsetDateTime = datetime!(2025-03-01 0:00 UTC);

    fn params() -> Params {
        Params::shipped().expect("shipped params")
    }

    fn patient(card: &str, birth: &str) -> Value {
        json!({"resourceType": "Patient", "id": "p", "gender": "female", "birthDate": birth,
               "name": [{"family": "王"}],
               "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": card}]})
    }

    #[test]
    fn f01_fails_the_domain_example_and_passes_the_corrected_id() {
        let rule = F01IdCardValid::new(&params());
        let bad = resident(&[patient("110105194912310021", "1949-12-31")]);
        let f = rule.evaluate(&bad, T);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].rule_id, f[0].severity, &f[0].evidence[..]),
            ("QC-F01", Severity::E, &[0][..])
        );
        assert!(
            f[0].message.contains("110105194912310021"),
            "{}",
            f[0].message
        );
        let good = resident(&[patient("11010519491231002X", "1949-12-31")]);
        assert_eq!(rule.evaluate(&good, T), vec![]);
    }

    #[test]
    fn f03_fails_future_birth_date_and_missing_fields() {
        let rule = F03CoreDemographics::new(&params()).expect("rule");
        let future = resident(&[patient("11010519491231002X", "2031-02-01")]);
        let f = rule.evaluate(&future, T);
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.contains("2031-02-01 is in the future"),
            "{}",
            f[0].message
        );
        let old = resident(&[patient("11010519491231002X", "1899-12-31")]);
        assert_eq!(rule.evaluate(&old, T).len(), 1);
        let bare = resident(&[json!({"resourceType": "Patient", "id": "p"})]);
        let f = rule.evaluate(&bare, T);
        assert!(
            f[0].message.contains("no name, no gender, no birth date"),
            "{}",
            f[0].message
        );
        let good = resident(&[patient("11010519491231002X", "1949-12-31")]);
        assert_eq!(rule.evaluate(&good, T), vec![]);
    }

    fn bp(id: &str, sbp: f64, status: &str) -> Value {
        json!({"resourceType": "Observation", "id": id, "status": status,
               "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
               "effectiveDateTime": "2025-01-01",
               "component": [
                 {"code": {"coding": [{"system": LOINC, "code": "8480-6"}]},
                  "valueQuantity": {"value": sbp, "code": "mm[Hg]"}},
                 {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                  "valueQuantity": {"value": 80.0, "code": "mm[Hg]"}}]})
    }

    #[test]
    fn f07_fails_sbp_1400_and_passes_normal_values() {
        let rule = F07PlausibleRange::new(&params());
        let bad = resident(&[bp("o1", 120.0, "final"), bp("o2", 1400.0, "final")]);
        let f = rule.evaluate(&bad, T);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].evidence, vec![1]);
        assert!(
            f[0].message.starts_with("SBP of 1400 mm[Hg]"),
            "{}",
            f[0].message
        );
        let good = resident(&[bp("o1", 120.0, "final")]);
        assert_eq!(rule.evaluate(&good, T), vec![]);
        // Entered in error: not counted.
        let eie = resident(&[bp("o2", 1400.0, "entered-in-error")]);
        assert_eq!(rule.evaluate(&eie, T), vec![]);
        // A top-level value is checked too; a value in another unit is left to F06.
        let fbg = |v: f64, unit: &str| {
            json!({"resourceType": "Observation", "id": "g",
            "status": "final", "code": {"coding": [{"system": LOINC, "code": "14771-0"}]},
            "valueQuantity": {"value": v, "code": unit}})
        };
        assert_eq!(rule.evaluate(&resident(&[fbg(55.0, "mmol/L")]), T).len(), 1);
        assert_eq!(rule.evaluate(&resident(&[fbg(126.0, "mg/dL")]), T), vec![]);
    }

    #[test]
    fn engine_runs_every_rule() {
        let rules = super::super::rules(&params()).expect("rules");
        assert_eq!(
            rules.iter().map(|r| r.id()).collect::<Vec<_>>(),
            ["QC-F01", "QC-F03", "QC-F07"]
        );
        assert!(rules.iter().all(|r| r.level() == Level::F));
        let r = resident(&[
            patient("110105194912310021", "2031-02-01"),
            bp("o", 1400.0, "final"),
        ]);
        let ids: Vec<_> = super::super::evaluate(&rules, &r, T)
            .iter()
            .map(|f| f.rule_id)
            .collect();
        assert_eq!(ids, ["QC-F01", "QC-F03", "QC-F07"]);
    }
}
