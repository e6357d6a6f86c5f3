//! The `[score]` parameter section: module weights, bands and what each module counts.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::programme::Span;

/// A module of the completeness score (DOMAIN.md §5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub enum Module {
    /// Basic information (个人基本信息表).
    M1,
    /// Health check (健康体检表).
    M2,
    /// Programme modules.
    M3,
    /// Liveness (使用率).
    M4,
    /// Consistency (open QC findings).
    M5,
}

impl Module {
    pub const ALL: [Self; 5] = [Self::M1, Self::M2, Self::M3, Self::M4, Self::M5];

    pub fn name(self) -> &'static str {
        match self {
            Self::M1 => "basic information",
            Self::M2 => "health check",
            Self::M3 => "programme services",
            Self::M4 => "recent records",
            Self::M5 => "consistency",
        }
    }
}

/// A band of the score: A complete … D incomplete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
pub enum Band {
    A,
    B,
    C,
    D,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BandLimit {
    pub band: Band,
    /// Lowest score of the band.
    pub min: u8,
}

/// The whole `[score]` section.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreParams {
    pub weights: BTreeMap<Module, f64>,
    /// Highest band first; a score takes the first band whose `min` it reaches.
    pub bands: Vec<BandLimit>,
    /// The institution summary's "incomplete" share: archives scoring below this.
    pub incomplete_below: u8,
    #[serde(rename = "M1")]
    pub m1: M1,
    #[serde(rename = "M2")]
    pub m2: M2,
    #[serde(rename = "M3")]
    pub m3: M3,
    #[serde(rename = "M4")]
    pub m4: M4,
    #[serde(rename = "M5")]
    pub m5: M5,
}

/// A required field of the basic information that the Patient view reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Field {
    Name,
    Gender,
    BirthDate,
    /// An ID-card number passing GB 11643 and agreeing with birth date and sex (F01, R05).
    IdCard,
    /// An archive number with no QC-F02 finding.
    ArchiveNumber,
    AddressDivision,
    Phone,
    /// A responsible doctor (`generalPractitioner`) or organisation.
    Responsible,
}

impl Field {
    pub fn name(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Gender => "gender",
            Self::BirthDate => "birth date",
            Self::IdCard => "valid ID-card number",
            Self::ArchiveNumber => "valid archive number",
            Self::AddressDivision => "address with division code",
            Self::Phone => "phone",
            Self::Responsible => "responsible doctor or organisation",
        }
    }
}

/// A required field carried as a Patient extension (ethnicity, residence type…).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionField {
    pub field: String,
    pub url: String,
}

/// A history block: filled when an observation with one of `codes` exists (any value: "无"
/// counts), or any record of one of `kinds`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HistoryBlock {
    pub block: String,
    #[serde(default)]
    pub codes: Vec<String>,
    #[serde(default)]
    pub kinds: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct M1 {
    /// Weight of the required fields; the history blocks weigh the rest.
    pub required_share: f64,
    pub required: Vec<Field>,
    pub extensions: Vec<ExtensionField>,
    pub history: Vec<HistoryBlock>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct M2 {
    pub services: Vec<String>,
    /// Interval for the key populations (elderly, HTN, T2D, SMI), and for everyone else.
    pub key_interval: Span,
    pub other_interval: Span,
    /// From this age the elderly check items (`items.elderly_check`) are added.
    pub elderly_age: Span,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct M3 {
    pub follow_ups_per_year: u32,
    /// Factor on HTN/T2D when a revisit rule fails.
    pub revisit_factor: f64,
    pub revisit_rules: Vec<String>,
    /// Rules whose findings make a vaccine dose invalid.
    pub invalid_dose_rules: Vec<String>,
    /// Items of each programme's follow-up form; each inner list is "one of these codes".
    pub visit_items: BTreeMap<String, Vec<Vec<String>>>,
    pub child_checks: f64,
    pub child_tests: f64,
    pub preg_antenatal: f64,
    pub preg_home_visit: f64,
    pub preg_day42: f64,
    /// What a first antenatal visit after its window counts for.
    pub preg_first_late: f64,
    pub elder_self_care: f64,
    pub elder_tcm: f64,
    pub elder_tcm_services: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct M4 {
    /// A record within `full` scores 1, within `half` 0.5.
    pub full: Span,
    pub half: Span,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct M5 {
    /// Rule-id prefixes of the findings counted (scenario-level rules).
    pub rule_prefixes: Vec<String>,
    pub warning_weight: f64,
    /// Weighted findings at which the module reaches 0.
    pub saturation: f64,
}

impl ScoreParams {
    /// What TOML cannot check: every module weighted, non-negative, bands from high to low
    /// ending at 0 so that every score has a band.
    pub(super) fn check(&self) -> Result<(), String> {
        for m in Module::ALL {
            match self.weights.get(&m) {
                Some(w) if *w >= 0.0 => {}
                _ => return Err(format!("weights.{m:?} must be a number ≥ 0")),
            }
        }
        let descending = self.bands.windows(2).all(|w| w[0].min > w[1].min);
        if !descending || self.bands.last().is_none_or(|b| b.min != 0) {
            return Err("bands must go from the highest minimum down to 0".into());
        }
        if self.m5.saturation <= 0.0 {
            return Err("M5.saturation must be above 0".into());
        }
        Ok(())
    }
}
