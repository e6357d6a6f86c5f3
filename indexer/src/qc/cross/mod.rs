//! Cross-record rules within one resident (DOMAIN.md §4.4).
//!
//! Implemented: X01, X02, X06 (its encounter part), X07, X09. The others need views the tree
//! does not read yet (EpisodeOfCare for X03–X05 and X12, Procedure for X02's procedures, the
//! follow-up classification for X08, performers and dose numbers for X10, the elderly check
//! item codes for X11).

use time::{Date, Duration, OffsetDateTime};

use super::field::{finding, loinc_codes};
use super::params::{AgeLimit, Params, ParamsError, Severity, ValueSets};
use super::{Finding, Level, ResidentView, Rule};
use crate::model::{CodeableConcept, Encounter, Gender, Patient, Resource};
use crate::tree::{ResidentTree, ResourceNode};

/// An ICD-10 value set: entries `A00-B99` (3-character category range, inclusive), `Z39` (a
/// category and its subcodes) or `Z32.1` (a code and its subcodes).
#[derive(Debug, Clone)]
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
        let bad = |e: &str| ParamsError::BadValueSet {
            name,
            entry: e.to_owned(),
        };
        let entries = entries
            .iter()
            .map(|e| {
                let (lo, hi) = e.split_once('-').unwrap_or((e, e));
                let ok = icd_token(lo)
                    && icd_token(hi)
                    && (lo == hi || (lo.len() == 3 && hi.len() == 3 && lo <= hi));
                ok.then(|| (lo.to_owned(), hi.to_owned()))
                    .ok_or_else(|| bad(e))
            })
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

/// The first code of `c`, in one of `systems`, that `set` contains.
fn icd_in<'a>(c: Option<&'a CodeableConcept>, systems: &[String], set: &IcdSet) -> Option<&'a str> {
    c?.coding
        .iter()
        .filter(|x| x.system.as_ref().is_some_and(|s| systems.contains(s)))
        .filter_map(|x| x.code.as_deref())
        .find(|code| set.contains(code))
}

fn service_code<'a>(e: &'a Encounter, system: &str) -> Option<&'a str> {
    e.service_type.as_ref()?.code_in(system)
}

fn starts_with_any(code: &str, prefixes: &[String]) -> bool {
    prefixes.iter().any(|p| code.starts_with(p.as_str()))
}

/// The resident's resources that count (§4.1 exclusion applied).
fn counted(resident: &ResidentTree) -> impl Iterator<Item = (&ResourceNode, &Resource)> {
    resident
        .resources()
        .filter_map(|n| n.resource().filter(|r| !r.is_excluded()).map(|r| (n, r)))
}

fn patients_of(
    resident: &ResidentTree,
    gender: Gender,
) -> impl Iterator<Item = (&ResourceNode, &Patient)> {
    resident
        .patients()
        .filter(move |(_, p)| p.gender == Some(gender))
}

fn on(t: Option<&crate::model::FhirTime>) -> String {
    t.map_or(String::new(), |t| format!(" on {}", t.text))
}

/// Age in completed months on `day`.
fn age_months(birth: Date, day: Date) -> i32 {
    let months = (day.year() - birth.year()) * 12 + day.month() as i32 - birth.month() as i32;
    if day.day() < birth.day() {
        months - 1
    } else {
        months
    }
}

/// QC-X01: no pregnancy data (a VS-PREG diagnosis, an antenatal or postnatal visit, an EDD or
/// gestational age) for a male resident. Evidence: the Patient and the pregnancy record.
/// (EpisodeOfCare of type PREG is not read by the tree yet.)
pub struct X01PregnancyMale {
    severity: Severity,
    icd10: Vec<String>,
    preg: IcdSet,
    service_system: String,
    service_prefixes: Vec<String>,
    loinc: Vec<String>,
}

impl X01PregnancyMale {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let vs = &params.value_sets;
        Ok(Self {
            severity: params.x01.severity,
            icd10: vs.icd10_systems.clone(),
            preg: IcdSet::new("PREG", &vs.preg)?,
            service_system: vs.phs_service.clone(),
            service_prefixes: params.x01.service_prefixes.clone(),
            loinc: params.x01.loinc.clone(),
        })
    }

    fn pregnancy_data(&self, r: &Resource) -> Option<String> {
        match r {
            Resource::Condition(c) => {
                icd_in(c.code.as_ref(), &self.icd10, &self.preg).map(|code| {
                    format!(
                        "a pregnancy diagnosis ({code}){}",
                        on(c.recorded_date.as_ref().or(c.onset.as_ref()))
                    )
                })
            }
            Resource::Encounter(e) => service_code(e, &self.service_system)
                .filter(|s| starts_with_any(s, &self.service_prefixes))
                .map(|s| {
                    format!(
                        "a pregnancy care visit ({s}){}",
                        on(e.period.as_ref().and_then(|p| p.start.as_ref()))
                    )
                }),
            Resource::Observation(o) => o
                .code
                .as_ref()
                .and_then(|c| loinc_codes(c).find(|x| self.loinc.iter().any(|l| l == x)))
                .map(|code| {
                    format!(
                        "a pregnancy observation (LOINC {code}){}",
                        on(o.effective.as_ref())
                    )
                }),
            _ => None,
        }
    }
}

impl Rule for X01PregnancyMale {
    fn id(&self) -> &'static str {
        "QC-X01"
    }
    fn level(&self) -> Level {
        Level::X
    }
    fn severity(&self) -> Severity {
        self.severity
    }
    fn defaults(&self) -> &'static [&'static str] {
        &["value_sets.PREG"]
    }
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let mut out = Vec::new();
        for (pn, _) in patients_of(resident, Gender::Male) {
            for (n, r) in counted(resident) {
                if let Some(what) = self.pregnancy_data(r) {
                    out.push(finding(
                        self,
                        resident,
                        vec![pn.leaf, n.leaf],
                        at,
                        format!("The resident is recorded as male but has {what}."),
                    ));
                }
            }
        }
        out
    }
}

/// QC-X02: no male-only diagnosis for a female resident and no female-only (non-pregnancy)
/// diagnosis for a male one. Evidence: the Patient and the Condition. (Procedures are not read
/// by the tree yet.)
pub struct X02SexSpecificDiagnosis {
    severity: Severity,
    icd10: Vec<String>,
    male_only: IcdSet,
    female_only: IcdSet,
}

impl X02SexSpecificDiagnosis {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let vs: &ValueSets = &params.value_sets;
        Ok(Self {
            severity: params.x02.severity,
            icd10: vs.icd10_systems.clone(),
            male_only: IcdSet::new("MALE-ONLY", &vs.male_only)?,
            female_only: IcdSet::new("FEMALE-ONLY", &vs.female_only)?,
        })
    }
}

impl Rule for X02SexSpecificDiagnosis {
    fn id(&self) -> &'static str {
        "QC-X02"
    }
    fn level(&self) -> Level {
        Level::X
    }
    fn severity(&self) -> Severity {
        self.severity
    }
    fn defaults(&self) -> &'static [&'static str] {
        &["value_sets.MALE-ONLY", "value_sets.FEMALE-ONLY"]
    }
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let mut out = Vec::new();
        for (pn, p) in resident.patients() {
            let (set, sex, other) = match p.gender {
                Some(Gender::Female) => (&self.male_only, "female", "men"),
                Some(Gender::Male) => (&self.female_only, "male", "women"),
                _ => continue,
            };
            for (n, r) in counted(resident) {
                let Resource::Condition(c) = r else { continue };
                if let Some(code) = icd_in(c.code.as_ref(), &self.icd10, set) {
                    out.push(finding(
                        self,
                        resident,
                        vec![pn.leaf, n.leaf],
                        at,
                        format!(
                            "The resident is recorded as {sex} but has the diagnosis {code}, which only {other} can have."
                        ),
                    ));
                }
            }
        }
        out
    }
}

/// QC-X06, for encounters: the resident's age at each phs-service encounter meets the
/// service's limits, and pregnancy care is for a woman. A male resident with pregnancy care is
/// QC-X01's finding and not repeated here. Evidence: the Patient and the Encounter. (The
/// HTN/T2D/ELDER episode limits wait for EpisodeOfCare.)
pub struct X06ProgrammeEligibility {
    severity: Severity,
    service_system: String,
    ages: Vec<AgeLimit>,
    female_prefixes: Vec<String>,
}

impl X06ProgrammeEligibility {
    pub fn new(params: &Params) -> Self {
        Self {
            severity: params.x06.severity,
            service_system: params.value_sets.phs_service.clone(),
            ages: params.x06.ages.clone(),
            female_prefixes: params.x06.female_prefixes.clone(),
        }
    }
}

fn months_text(m: i32) -> String {
    if m >= 24 && m % 12 == 0 {
        format!("{} years", m / 12)
    } else {
        format!("{m} months")
    }
}

impl Rule for X06ProgrammeEligibility {
    fn id(&self) -> &'static str {
        "QC-X06"
    }
    fn level(&self) -> Level {
        Level::X
    }
    fn severity(&self) -> Severity {
        self.severity
    }
    fn defaults(&self) -> &'static [&'static str] {
        &["ages"]
    }
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let mut out = Vec::new();
        for (pn, p) in resident.patients() {
            for (n, r) in counted(resident) {
                let Resource::Encounter(e) = r else { continue };
                let Some(service) = service_code(e, &self.service_system) else {
                    continue;
                };
                let start = e.period.as_ref().and_then(|p| p.start.as_ref());
                if starts_with_any(service, &self.female_prefixes)
                    && matches!(p.gender, Some(Gender::Other | Gender::Unknown))
                {
                    out.push(finding(
                        self,
                        resident,
                        vec![pn.leaf, n.leaf],
                        at,
                        format!(
                            "The {service} visit{} is pregnancy care, but the resident is not recorded as female.",
                            on(start)
                        ),
                    ));
                }
                let (Some(birth), Some(start)) = (p.birth_date.as_ref(), start) else {
                    continue;
                };
                let age = age_months(birth.date(), start.date());
                for limit in self.ages.iter().filter(|l| l.service == service) {
                    let why = match (limit.min_months, limit.max_months) {
                        (Some(lo), _) if age < lo => format!("at least {}", months_text(lo)),
                        (_, Some(hi)) if age > hi => format!("at most {}", months_text(hi)),
                        _ => continue,
                    };
                    out.push(finding(
                        self,
                        resident,
                        vec![pn.leaf, n.leaf],
                        at,
                        format!(
                            "The {service} visit on {} is for residents aged {why}, but the resident was {} old.",
                            start.text,
                            months_text(age)
                        ),
                    ));
                }
            }
        }
        out
    }
}

/// QC-X07: an antidiabetic prescription or statement (ATC A10*) needs a VS-DM-any diagnosis
/// dated no later than the prescription + the window (an undated diagnosis counts). Evidence:
/// the medication record.
pub struct X07AntidiabeticWithoutDiabetes {
    severity: Severity,
    icd10: Vec<String>,
    dm: IcdSet,
    atc_system: String,
    atc_prefixes: Vec<String>,
    statuses: Vec<String>,
    window: Duration,
}

impl X07AntidiabeticWithoutDiabetes {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let x = &params.x07;
        Ok(Self {
            severity: x.severity,
            icd10: params.value_sets.icd10_systems.clone(),
            dm: IcdSet::new("DM-any", &params.value_sets.dm_any)?,
            atc_system: x.atc_system.clone(),
            atc_prefixes: x.atc_prefixes.clone(),
            statuses: x.statuses.clone(),
            window: Duration::days(x.window_days),
        })
    }
}

impl Rule for X07AntidiabeticWithoutDiabetes {
    fn id(&self) -> &'static str {
        "QC-X07"
    }
    fn level(&self) -> Level {
        Level::X
    }
    fn severity(&self) -> Severity {
        self.severity
    }
    fn defaults(&self) -> &'static [&'static str] {
        &["value_sets.DM-any", "atc_prefixes", "window_days"]
    }
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        // Each diabetes diagnosis's date (`None`: undated).
        let diagnoses: Vec<Option<OffsetDateTime>> = counted(resident)
            .filter_map(|(_, r)| match r {
                Resource::Condition(c)
                    if icd_in(c.code.as_ref(), &self.icd10, &self.dm).is_some() =>
                {
                    Some(
                        c.recorded_date
                            .as_ref()
                            .or(c.onset.as_ref())
                            .map(|t| t.start),
                    )
                }
                _ => None,
            })
            .collect();
        let mut out = Vec::new();
        for (n, r) in counted(resident) {
            let Resource::Medication(m) = r else { continue };
            if !m.status.as_ref().is_some_and(|s| self.statuses.contains(s)) {
                continue;
            }
            let Some(code) = m.medication.as_ref().and_then(|c| {
                c.coding
                    .iter()
                    .filter(|x| x.system.as_deref() == Some(self.atc_system.as_str()))
                    .filter_map(|x| x.code.as_deref())
                    .find(|code| starts_with_any(code, &self.atc_prefixes))
            }) else {
                continue;
            };
            let limit = m.when.as_ref().map(|t| t.start + self.window);
            let covered = diagnoses.iter().any(|d| match (d, limit) {
                (Some(d), Some(l)) => *d <= l,
                _ => true,
            });
            if !covered {
                out.push(finding(
                    self,
                    resident,
                    vec![n.leaf],
                    at,
                    format!(
                        "A diabetes medicine (ATC {code}){} is recorded, but the resident has no diabetes diagnosis.",
                        on(m.when.as_ref())
                    ),
                ));
            }
        }
        out
    }
}

/// QC-X09: an observation recorded in an encounter has the encounter's subject, and its
/// effective date lies within the encounter's period ± the window. Only the resident's own
/// encounters are seen: an observation whose encounter is in another resident's tree is not
/// attached here. Evidence: the Observation and the Encounter.
pub struct X09ObservationEncounter {
    severity: Severity,
    window: Duration,
}

impl X09ObservationEncounter {
    pub fn new(params: &Params) -> Self {
        Self {
            severity: params.x09.severity,
            window: Duration::days(params.x09.window_days),
        }
    }
}

impl Rule for X09ObservationEncounter {
    fn id(&self) -> &'static str {
        "QC-X09"
    }
    fn level(&self) -> Level {
        Level::X
    }
    fn severity(&self) -> Severity {
        self.severity
    }
    fn defaults(&self) -> &'static [&'static str] {
        &["window_days"]
    }
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let mut out = Vec::new();
        for en in resident.encounters() {
            let Some(enc_node) = resident.resource(&en.key) else {
                continue;
            };
            let Some(er @ Resource::Encounter(e)) = enc_node.resource() else {
                continue;
            };
            if er.is_excluded() {
                continue;
            }
            for key in &en.acts {
                let Some(n) = resident.resource(key) else {
                    continue;
                };
                let Some(r @ Resource::Observation(o)) = n.resource() else {
                    continue;
                };
                if r.is_excluded() {
                    continue;
                }
                let evidence = vec![n.leaf, enc_node.leaf];
                // The patient id when the reference names one, else the reference as written.
                let subj = |s: &Option<crate::model::Reference>| {
                    s.as_ref().and_then(|r| {
                        r.id_for("Patient")
                            .map(|id| format!("Patient/{id}"))
                            .or_else(|| r.reference.clone())
                    })
                };
                if let (Some(os), Some(es)) = (subj(&o.subject), subj(&e.subject))
                    && os != es
                {
                    out.push(finding(
                        self,
                        resident,
                        evidence.clone(),
                        at,
                        format!(
                            "The observation {} is about {os}, but its visit {} is about {es}.",
                            n.key, en.key
                        ),
                    ));
                }
                let period = e.period.as_ref();
                let (Some(eff), Some(start)) =
                    (o.effective.as_ref(), period.and_then(|p| p.start.as_ref()))
                else {
                    continue;
                };
                let end = period.and_then(|p| p.end.as_ref()).unwrap_or(start);
                let lo = start.date() - self.window;
                let hi = end.date() + self.window;
                let d = eff.date();
                if d < lo || d > hi {
                    out.push(finding(
                        self,
                        resident,
                        evidence,
                        at,
                        format!(
                            "The observation {} is dated {}, more than {} days from its visit {} ({}).",
                            n.key,
                            eff.text,
                            self.window.whole_days(),
                            en.key,
                            start.text
                        ),
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
