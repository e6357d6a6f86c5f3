//! Value sets (DOMAIN.md §4.1) over several code systems, as the parameter file writes them.
//!
//! An entry without a prefix is ICD-10 (China): `A00-B99` (a 3-character category range,
//! inclusive), `Z39` (a category and its subcodes) or `Z32.1` (a code and its subcodes). An
//! entry `SNOMED:59621000` is one exact code of the system `[value_sets] systems` names
//! `SNOMED`: SNOMED CT and LOINC have no ranges a flat list could use, so every accepted code is
//! listed (a child concept not listed is not in the set).

use std::collections::{BTreeMap, BTreeSet};

use crate::model::CodeableConcept;
use crate::qc::params::ParamsError;

/// The ICD-10 part of a value set.
#[derive(Debug, Clone, Default)]
pub(crate) struct IcdSet {
    entries: Vec<(String, String)>,
}

fn icd_token(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 3
        && b[0].is_ascii_uppercase()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'.')
        && (b.len() == 3 || b[3] == b'.')
}

impl IcdSet {
    pub(crate) fn new(name: &'static str, entries: &[String]) -> Result<Self, ParamsError> {
        let entries = entries
            .iter()
            .map(|e| icd_entry(e).ok_or_else(|| bad(name, e)))
            .collect::<Result<_, _>>()?;
        Ok(Self { entries })
    }

    pub(crate) fn contains(&self, code: &str) -> bool {
        let code = code.trim().to_ascii_uppercase();
        let Some(cat) = code.get(..3) else {
            return false;
        };
        self.entries.iter().any(|(lo, hi)| {
            if lo.len() > 3 {
                code.starts_with(lo.as_str())
            } else {
                lo.as_str() <= cat && cat <= hi.as_str()
            }
        })
    }
}

fn icd_entry(e: &str) -> Option<(String, String)> {
    let (lo, hi) = e.split_once('-').unwrap_or((e, e));
    let ok = icd_token(lo)
        && icd_token(hi)
        && (lo == hi || (lo.len() == 3 && hi.len() == 3 && lo <= hi));
    ok.then(|| (lo.to_owned(), hi.to_owned()))
}

fn bad(name: &'static str, entry: &str) -> ParamsError {
    ParamsError::BadValueSet {
        name,
        entry: entry.to_owned(),
    }
}

/// Whether `code` is well formed for the system named `prefix`: a SNOMED CT identifier is 6–18
/// digits, a LOINC code digits, a dash and a check digit; other systems' codes only need to be
/// one word. A typo must fail the parse, not silently match nothing.
fn code_ok(prefix: &str, code: &str) -> bool {
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    match prefix {
        "SNOMED" => digits(code) && (6..=18).contains(&code.len()),
        "LOINC" => code
            .split_once('-')
            .is_some_and(|(n, check)| digits(n) && check.len() == 1 && digits(check)),
        _ => !code.is_empty() && !code.contains(char::is_whitespace),
    }
}

/// A value set: ICD-10 entries in the ICD-10 systems, plus exact codes of other systems.
#[derive(Debug, Clone, Default)]
pub(crate) struct ValueSet {
    icd: IcdSet,
    icd_systems: Vec<String>,
    /// System URI → the prefix the parameter file names it by, and its accepted codes.
    other: BTreeMap<String, (String, BTreeSet<String>)>,
    /// The ICD-10 entries, as a finding's sentence names the set.
    label: String,
}

impl ValueSet {
    /// Reads `entries`; `systems` maps a prefix to its system URI, `icd_systems` are the URIs an
    /// ICD-10 code may come in.
    pub(crate) fn new(
        name: &'static str,
        entries: &[String],
        icd_systems: &[String],
        systems: &BTreeMap<String, String>,
    ) -> Result<Self, ParamsError> {
        let mut icd = Vec::new();
        let mut other: BTreeMap<String, (String, BTreeSet<String>)> = BTreeMap::new();
        for e in entries {
            match e.split_once(':') {
                Some((prefix, code)) => {
                    let uri = systems.get(prefix).ok_or_else(|| bad(name, e))?;
                    if !code_ok(prefix, code) {
                        return Err(bad(name, e));
                    }
                    other
                        .entry(uri.clone())
                        .or_insert_with(|| (prefix.to_owned(), BTreeSet::new()))
                        .1
                        .insert(code.to_owned());
                }
                None => icd.push(e.clone()),
            }
        }
        Ok(Self {
            label: icd.join(", "),
            icd: IcdSet::new(name, &icd)?,
            icd_systems: icd_systems.to_vec(),
            other,
        })
    }

    /// Whether `code` of `system` is in the set.
    pub(crate) fn contains(&self, system: &str, code: &str) -> bool {
        if self.icd_systems.iter().any(|s| s == system) {
            return self.icd.contains(code);
        }
        self.other
            .get(system)
            .is_some_and(|(_, codes)| codes.contains(code.trim()))
    }

    /// The first of `codes` (system, code) in the set, as a sentence shows it: an ICD-10 code
    /// as written (`I10`), another system's with its prefix (`SNOMED 59621000`).
    pub(crate) fn find<'a>(
        &self,
        codes: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Option<String> {
        codes
            .into_iter()
            .find(|(s, c)| self.contains(s, c))
            .map(|(s, c)| match self.other.get(s) {
                Some((prefix, _)) => format!("{prefix} {c}"),
                None => c.to_owned(),
            })
    }

    /// [`Self::find`] over the codings of a concept.
    pub(crate) fn find_concept(&self, c: Option<&CodeableConcept>) -> Option<String> {
        self.find(c?.coding.iter().filter_map(|x| {
            let (s, c) = (x.system.as_deref()?, x.code.as_deref()?);
            Some((s, c))
        }))
    }

    /// The ICD-10 entries, e.g. `I10-I13`: a sentence names the set by them.
    pub(crate) fn label(&self) -> &str {
        &self.label
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ICD: &str = "http://hl7.org/fhir/sid/icd-10-cn";
    const SCT: &str = "http://snomed.info/sct";

    fn set(entries: &[&str]) -> Result<ValueSet, ParamsError> {
        let systems = BTreeMap::from([
            ("SNOMED".to_owned(), SCT.to_owned()),
            ("LOINC".to_owned(), "http://loinc.org".to_owned()),
        ]);
        let entries: Vec<String> = entries.iter().map(|e| (*e).to_owned()).collect();
        ValueSet::new("t", &entries, &[ICD.to_owned()], &systems)
    }

    #[test]
    fn icd_entries_match_ranges_categories_and_subcodes() {
        let s = IcdSet::new(
            "t",
            &[
                "O00-O9A".into(),
                "Z32.1".into(),
                "Z39".into(),
                "E10-E14".into(),
            ],
        )
        .expect("set");
        for yes in ["O24.4", "O9A.1", "Z32.1", "Z32.10", "Z39.2", "E11", "e14.9"] {
            assert!(s.contains(yes), "{yes}");
        }
        for no in ["O", "P00", "Z32.0", "Z32", "E15", "I10"] {
            assert!(!s.contains(no), "{no}");
        }
        assert!(matches!(
            IcdSet::new("t", &["C63-C60".into()]),
            Err(ParamsError::BadValueSet { .. })
        ));
    }

    #[test]
    fn a_value_set_matches_icd10_in_its_systems_and_snomed_exactly() {
        let htn = set(&["I10-I13", "SNOMED:59621000", "SNOMED:38341003"]).expect("set");
        assert!(htn.contains(ICD, "I10"));
        assert!(htn.contains(ICD, "I13.2"));
        assert!(htn.contains(SCT, "59621000"));
        assert!(htn.contains(SCT, "38341003"));
        // ICD-10 only in an ICD-10 system, SNOMED CT only in SNOMED CT, and no hierarchy.
        assert!(!htn.contains(SCT, "I10"));
        assert!(!htn.contains(ICD, "59621000"));
        assert!(!htn.contains("http://loinc.org", "59621000"));
        assert!(!htn.contains(ICD, "I15"));
        assert!(!htn.contains(SCT, "31992008"), "secondary hypertension");
        assert!(!htn.contains(SCT, "5962100"));
        assert_eq!(
            htn.find([(SCT, "162864005"), (SCT, "38341003"), (ICD, "I10")]),
            Some("SNOMED 38341003".into())
        );
        assert_eq!(htn.find([(ICD, "I11.9")]), Some("I11.9".into()));
        assert_eq!(htn.label(), "I10-I13");
        let t2d = set(&["E11", "SNOMED:44054006"]).expect("set");
        assert!(
            !t2d.contains(SCT, "15777000"),
            "prediabetes is not diabetes"
        );
        assert!(!t2d.contains(ICD, "R73.0"));
    }

    #[test]
    fn malformed_or_unknown_system_entries_are_refused() {
        for bad in [
            "SNOMED:5962100x",
            "SNOMED:123",
            "SNOMED:",
            "LOINC:11778",
            "LOINC:11778-88",
            "SCT:59621000",
            "i10",
        ] {
            assert!(
                matches!(set(&[bad]), Err(ParamsError::BadValueSet { name: "t", .. })),
                "{bad}"
            );
        }
        assert!(set(&["LOINC:11778-8", "SNOMED:123456"]).is_ok());
    }
}
