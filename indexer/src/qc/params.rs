//! Rule parameters, from the versioned `params.toml` shipped inside the crate.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::valueset::ValueSet;

/// The parameter file compiled into the crate.
pub const DEFAULT_PARAMS: &str = include_str!("params.toml");

#[derive(Debug, thiserror::Error)]
pub enum ParamsError {
    #[error("QC parameter file: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("QC parameter file: {field}: {value:?} is not a date")]
    BadDate { field: &'static str, value: String },
    #[error(
        "QC parameter file: value_sets.{name}: {entry:?} is neither an ICD-10 entry nor a code of a system in value_sets.systems"
    )]
    BadValueSet { name: &'static str, entry: String },
    #[error("QC parameter file: {section}: there is no value set {name:?}")]
    UnknownValueSet { section: &'static str, name: String },
    #[error("QC parameter file: section [{name}] is missing")]
    MissingSection { name: &'static str },
    #[error("QC parameter file: [{name}]: {reason}")]
    BadSection { name: &'static str, reason: String },
    #[error("QC parameter file: section [{name}] is read by no rule")]
    UnusedSection { name: String },
    #[error(
        "QC parameter file: F04.required: {kind} element {element:?} is not one QC-F04 can check"
    )]
    UnknownElement { kind: String, element: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Severity {
    /// Error: the record does not count towards the programme.
    E,
    /// Warning.
    W,
    /// Information.
    I,
}

/// Sections of the parameter file that belong to no single rule.
pub const SHARED_SECTIONS: &[&str] = &["items", "programmes", "score", "events"];

/// The parameter file. The first rules have typed fields; every later rule reads its own
/// section with [`Params::section`], so a rule and its parameters are added together, and
/// `qc::rules` refuses a section no rule reads (a typo must not silently keep a default).
#[derive(Debug, Clone, Deserialize)]
pub struct Params {
    pub version: String,
    #[serde(rename = "F01")]
    pub f01: Basic,
    #[serde(rename = "F03")]
    pub f03: F03,
    #[serde(rename = "F07")]
    pub f07: F07,
    #[serde(rename = "F02")]
    pub f02: F02,
    #[serde(rename = "F04")]
    pub f04: F04,
    #[serde(rename = "F05")]
    pub f05: F05,
    #[serde(rename = "F06")]
    pub f06: F06,
    #[serde(rename = "F08")]
    pub f08: F08,
    #[serde(rename = "R01")]
    pub r01: R01,
    #[serde(rename = "R02")]
    pub r02: Basic,
    #[serde(rename = "R03")]
    pub r03: R03,
    #[serde(rename = "R04")]
    pub r04: Basic,
    #[serde(rename = "R05")]
    pub r05: Basic,
    pub value_sets: ValueSets,
    #[serde(rename = "X01")]
    pub x01: X01,
    #[serde(rename = "X02")]
    pub x02: Basic,
    #[serde(rename = "X06")]
    pub x06: X06,
    #[serde(rename = "X07")]
    pub x07: X07,
    #[serde(rename = "X09")]
    pub x09: X09,
    pub codes: Codes,
    pub vfu: Vfu,
    pub equivalents: super::equiv::Equivalents,
    /// `value_sets.DELIVERY`, compiled once by [`Params::parse`] for every resident's facts.
    #[serde(skip)]
    pub(crate) delivery: ValueSet,
    /// Every other section, by name (`X03`, `T01`, …).
    #[serde(flatten)]
    pub sections: BTreeMap<String, toml::Value>,
}

/// Codes the rules share: the local code systems and the observation codes of the programmes.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Codes {
    /// Local observation codes (phs-observation) for what LOINC does not code.
    pub observation_system: String,
    /// The local classification of a follow-up (controlled, uncontrolled, adverse, referral).
    pub classification_system: String,
    pub bp_panel: String,
    pub sbp: String,
    pub dbp: String,
    /// Fasting glucose codes in mmol/L, and the one in mg/dL.
    pub fbg_mmol: Vec<String>,
    pub fbg_mgdl: String,
    pub hba1c: Vec<String>,
    pub hb: String,
    pub height: String,
    pub weight: String,
    pub bmi: String,
    pub edd: String,
    pub gestational_age: String,
    /// Local codes.
    pub smi_risk: String,
    pub htn_class: String,
    pub t2d_class: String,
}

/// The shared `[items]` section: codes of the national forms' items.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Items {
    pub lmp: String,
    pub referral: String,
    pub tb_notice: String,
    pub tb_closure: String,
    pub hearing_screen: String,
    pub tcm_constitution: String,
    pub self_care: String,
    pub foot_pulse: String,
    pub elderly_check: Vec<Vec<String>>,
    pub health_check: Vec<Vec<String>>,
}

/// What makes an encounter a valid face-to-face follow-up (DOMAIN.md §4.1 VFU).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vfu {
    pub classes: Vec<String>,
    /// How far (days) a mandatory observation may lie from the encounter period.
    pub window_days: i64,
    /// Programme → the observation codes it needs; each inner list is "one of".
    pub required: BTreeMap<String, Vec<Vec<String>>>,
}

/// The value sets of DOMAIN.md §4.1: ICD-10 entries, and codes of the other systems written
/// `PREFIX:code` (see [`ValueSet`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValueSets {
    pub icd10_systems: Vec<String>,
    /// Prefix → system URI of the codes of other systems an entry may name.
    pub systems: BTreeMap<String, String>,
    pub phs_service: String,
    #[serde(rename = "PREG")]
    pub preg: Vec<String>,
    #[serde(rename = "MALE-ONLY")]
    pub male_only: Vec<String>,
    #[serde(rename = "FEMALE-ONLY")]
    pub female_only: Vec<String>,
    #[serde(rename = "DM-any")]
    pub dm_any: Vec<String>,
    #[serde(rename = "HTN")]
    pub htn: Vec<String>,
    #[serde(rename = "T2D")]
    pub t2d: Vec<String>,
    #[serde(rename = "SMI")]
    pub smi: Vec<String>,
    /// The parts of VS-SMI that are a combination ("F06.x with G40"): a diagnosis in the first
    /// entry qualifies only together with a diagnosis in the second.
    #[serde(rename = "SMI-pairs")]
    pub smi_pairs: Vec<[String; 2]>,
    #[serde(rename = "TB")]
    pub tb: Vec<String>,
    /// A delivery: a Procedure or a Condition with one of these codes.
    #[serde(rename = "DELIVERY")]
    pub delivery: Vec<String>,
}

impl ValueSets {
    /// Every value set by name, the combinations of `SMI-pairs` entry by entry.
    fn all(&self) -> Vec<(&'static str, &[String])> {
        let mut all: Vec<(&'static str, &[String])> = vec![
            ("PREG", &self.preg),
            ("MALE-ONLY", &self.male_only),
            ("FEMALE-ONLY", &self.female_only),
            ("DM-any", &self.dm_any),
            ("HTN", &self.htn),
            ("T2D", &self.t2d),
            ("SMI", &self.smi),
            ("TB", &self.tb),
            ("DELIVERY", &self.delivery),
        ];
        all.extend(self.smi_pairs.iter().map(|p| ("SMI-pairs", p.as_slice())));
        all
    }

    /// The entries of the value set `name` (not `SMI-pairs`), and its name as errors keep it.
    pub fn entries(&self, name: &str) -> Option<(&'static str, &[String])> {
        self.all()
            .into_iter()
            .find(|(n, _)| *n == name && *n != "SMI-pairs")
    }

    /// A value set of `entries`, reported as `name` if one is malformed.
    pub(crate) fn build(
        &self,
        name: &'static str,
        entries: &[String],
    ) -> Result<ValueSet, ParamsError> {
        ValueSet::new(name, entries, &self.icd10_systems, &self.systems)
    }

    /// The value set `name`; `section` is the part of the file that asks for it.
    pub(crate) fn set(&self, section: &'static str, name: &str) -> Result<ValueSet, ParamsError> {
        let (name, entries) = self
            .entries(name)
            .ok_or_else(|| ParamsError::UnknownValueSet {
                section,
                name: name.to_owned(),
            })?;
        self.build(name, entries)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct X01 {
    pub severity: Severity,
    pub service_prefixes: Vec<String>,
    pub episode_types: Vec<String>,
    pub loinc: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct X06 {
    pub severity: Severity,
    pub ages: Vec<AgeLimit>,
    pub female_prefixes: Vec<String>,
}

/// The age (completed months, inclusive bounds) a phs-service code requires: a visit service at
/// the visit date, a programme type at the enrolment start.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgeLimit {
    pub service: String,
    pub min_months: Option<i32>,
    pub max_months: Option<i32>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct X07 {
    pub severity: Severity,
    pub atc_system: String,
    pub atc_prefixes: Vec<String>,
    pub statuses: Vec<String>,
    pub window_days: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct X09 {
    pub severity: Severity,
    pub window_days: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct F02 {
    pub severity: Severity,
    pub system: String,
    pub provinces: Vec<String>,
    pub village_ranges: Vec<[u16; 2]>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct F04 {
    pub severity: Severity,
    /// Kind → element names.
    pub required: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct F05 {
    pub severity: Severity,
    pub systems: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct F06 {
    pub severity: Severity,
    pub units: Vec<AllowedUnits>,
}

/// The UCUM units allowed for one LOINC code.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowedUnits {
    pub loinc: String,
    pub units: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct F08 {
    pub severity: Severity,
    pub tolerance_minutes: i64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct R01 {
    pub severity: Severity,
    pub pulse_pressure_low: f64,
    pub pulse_pressure_high: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct R03 {
    pub severity: Severity,
    pub tolerance: f64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Basic {
    pub severity: Severity,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct F03 {
    pub severity: Severity,
    pub min_birth_date: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct F07 {
    pub severity: Severity,
    pub ranges: Vec<Range>,
}

/// A hard plausible range for one LOINC code in one unit.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Range {
    pub measure: String,
    pub loinc: String,
    pub unit: String,
    pub low: f64,
    pub high: f64,
}

impl Params {
    /// Parses a parameter file and checks the values TOML cannot type.
    pub fn parse(text: &str) -> Result<Self, ParamsError> {
        let mut p: Self = toml::from_str(text)?;
        p.min_birth_date()?;
        p.items()?;
        p.equivalents.check()?;
        for (name, entries) in p.value_sets.all() {
            p.value_sets.build(name, entries)?;
        }
        p.delivery = p.value_sets.set("value_sets", "DELIVERY")?;
        Ok(p)
    }

    /// A rule's own section, typed by the rule.
    pub fn section<T: serde::de::DeserializeOwned>(
        &self,
        name: &'static str,
    ) -> Result<T, ParamsError> {
        let v = self
            .sections
            .get(name)
            .ok_or(ParamsError::MissingSection { name })?;
        v.clone()
            .try_into()
            .map_err(|e: toml::de::Error| ParamsError::BadSection {
                name,
                reason: e.message().to_owned(),
            })
    }

    /// The shared `[items]` section.
    pub fn items(&self) -> Result<Items, ParamsError> {
        self.section("items")
    }

    /// The shipped defaults.
    pub fn shipped() -> Result<Self, ParamsError> {
        Self::parse(DEFAULT_PARAMS)
    }

    pub fn min_birth_date(&self) -> Result<time::Date, ParamsError> {
        let fmt = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(&self.f03.min_birth_date, fmt).map_err(|_| ParamsError::BadDate {
            field: "F03.min_birth_date",
            value: self.f03.min_birth_date.clone(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_params_parse() {
        let p = Params::shipped().expect("shipped params");
        assert_eq!(p.f01.severity, Severity::E);
        assert!(
            p.f07
                .ranges
                .iter()
                .any(|r| r.loinc == "8480-6" && r.high == 300.0)
        );
    }

    #[test]
    fn bad_params_are_refused() {
        let bad = DEFAULT_PARAMS.replace("1900-01-01", "1900-13-01");
        assert!(matches!(
            Params::parse(&bad),
            Err(ParamsError::BadDate { .. })
        ));
        let bad = DEFAULT_PARAMS.replace("[F01]", "[F01]\nseverity_typo = 1");
        assert!(matches!(Params::parse(&bad), Err(ParamsError::Toml(_))));
    }
}
