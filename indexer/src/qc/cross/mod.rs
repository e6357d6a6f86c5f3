//! Cross-record rules within one resident (DOMAIN.md §4.4).
//!
//! X01, X02, X06, X07 and X09 are here; enrolment against diagnosis (X04, X05) is in
//! `enrolment`, pregnancy age and care after death (X03, X12) in `programme`, and what a visit
//! records (X08, X10, X11) in `visits`.

use std::collections::BTreeMap;

use time::{Date, Duration, OffsetDateTime};

use super::facts::{Facts, completed_months};
use super::field::{finding, loinc_codes};
use super::params::{AgeLimit, Params, ParamsError, Severity, ValueSets};
use super::valueset::ValueSet;
use super::{Finding, ResidentView, Rule, rule_meta};
use crate::model::{Gender, Patient, Resource};
use crate::tree::{ResidentTree, ResourceNode};

mod enrolment;
mod programme;
mod visits;

pub(in crate::qc) use enrolment::{Qualifying, condition_name, qualifying};
pub use enrolment::{X04EnrolmentWithoutDiagnosis, X05DiagnosisWithoutEnrolment};
pub use programme::{X03PregnancyAge, X12DeceasedOpenCare};
pub use visits::{X08ClassificationContradicts, X10DuplicateFacts, X11ElderlyCheckComplete};

/// The phs-service of each counted encounter, by leaf: its `serviceType`, else the equivalent
/// of its type (read once, in the facts).
fn services(facts: &Facts) -> BTreeMap<u64, &str> {
    facts
        .visits
        .iter()
        .filter_map(|v| Some((v.leaf, v.service.as_deref()?)))
        .collect()
}

fn starts_with_any(code: &str, prefixes: &[String]) -> bool {
    prefixes.iter().any(|p| code.starts_with(p.as_str()))
}

/// The resident's resources that count (§4.1 exclusion applied).
fn patients_of(
    resident: &ResidentTree,
    gender: Gender,
) -> impl Iterator<Item = (&ResourceNode, &Patient)> {
    resident
        .patients()
        .filter(move |(_, p)| p.gender == Some(gender))
}

/// How a finding's sentence names a phs-service programme type.
pub(in crate::qc) fn programme_name(code: &str) -> String {
    match code {
        "HTN" => "hypertension management".into(),
        "T2D" => "type 2 diabetes management".into(),
        "SMI" => "severe mental disorder management".into(),
        "TB" => "tuberculosis management".into(),
        "PREG" => "pregnancy care".into(),
        "CHILD" => "child health management".into(),
        "ELDER" => "elderly health management".into(),
        other => format!("{other} programme"),
    }
}

/// In a list of statuses, stands for "no status recorded".
const UNSTATED: &str = "unstated";

/// Whether `status` is one of `allowed` (see [`UNSTATED`]).
pub(in crate::qc) fn status_in(status: Option<&str>, allowed: &[String]) -> bool {
    let s = status.unwrap_or(UNSTATED);
    allowed.iter().any(|a| a == s)
}

/// A finding's evidence: the resident's Patient, then `leaves`.
fn evidence(facts: &Facts, leaves: impl IntoIterator<Item = u64>) -> Vec<u64> {
    facts.demographics.leaf.into_iter().chain(leaves).collect()
}

/// The calendar day of an instant, as a finding's sentence shows it.
fn day(t: OffsetDateTime) -> Date {
    t.date()
}

fn on(t: Option<&crate::model::FhirTime>) -> String {
    t.map_or(String::new(), |t| format!(" on {}", t.text))
}

/// QC-X01: no pregnancy data (a VS-PREG diagnosis, a pregnancy care enrolment, an antenatal or
/// postnatal visit by its service as the facts read it, an EDD or gestational age) for a male
/// resident. Evidence: the Patient and the pregnancy record.
pub struct X01PregnancyMale {
    severity: Severity,
    preg: ValueSet,
    service_system: String,
    service_prefixes: Vec<String>,
    episode_types: Vec<String>,
    loinc: Vec<String>,
}

impl X01PregnancyMale {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let vs = &params.value_sets;
        Ok(Self {
            severity: params.x01.severity,
            preg: vs.set("X01", "PREG")?,
            service_system: vs.phs_service.clone(),
            service_prefixes: params.x01.service_prefixes.clone(),
            episode_types: params.x01.episode_types.clone(),
            loinc: params.x01.loinc.clone(),
        })
    }

    fn pregnancy_data(&self, r: &Resource, service: Option<&str>) -> Option<String> {
        match r {
            Resource::Condition(c) => self.preg.find_concept(c.code.as_ref()).map(|code| {
                format!(
                    "a pregnancy diagnosis ({code}){}",
                    on(c.recorded_date.as_ref().or(c.onset.as_ref()))
                )
            }),
            Resource::Encounter(e) => service
                .filter(|s| starts_with_any(s, &self.service_prefixes))
                .map(|s| {
                    format!(
                        "a pregnancy care visit ({s}){}",
                        on(e.period.as_ref().and_then(|p| p.start.as_ref()))
                    )
                }),
            Resource::EpisodeOfCare(e) => e
                .type_in(&self.service_system)
                .filter(|t| self.episode_types.iter().any(|x| x == t))
                .map(|t| {
                    format!(
                        "a pregnancy care enrolment ({t}){}",
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
    rule_meta!("QC-X01", X, defaults: ["value_sets.PREG"]);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let mut out = Vec::new();
        let services = services(&resident.facts);
        for (pn, _) in patients_of(resident, Gender::Male) {
            for (n, r) in resident.counted() {
                if let Some(what) = self.pregnancy_data(r, services.get(&n.leaf).copied()) {
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

/// QC-X02: no male-only diagnosis or procedure for a female resident and no female-only
/// (non-pregnancy) one for a male. A procedure is checked by the codes of the value sets its
/// code carries, if any: ICD-10 and the listed SNOMED CT procedures (vasectomy, tubal
/// ligation); other procedure code systems such as ICD-9-CM-3 are not mapped to sex.
/// Evidence: the Patient and the Condition or Procedure.
pub struct X02SexSpecificDiagnosis {
    severity: Severity,
    male_only: ValueSet,
    female_only: ValueSet,
}

impl X02SexSpecificDiagnosis {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let vs: &ValueSets = &params.value_sets;
        Ok(Self {
            severity: params.x02.severity,
            male_only: vs.set("X02", "MALE-ONLY")?,
            female_only: vs.set("X02", "FEMALE-ONLY")?,
        })
    }
}

impl Rule for X02SexSpecificDiagnosis {
    rule_meta!("QC-X02", X, defaults: ["value_sets.MALE-ONLY", "value_sets.FEMALE-ONLY"]);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let mut out = Vec::new();
        for (pn, p) in resident.patients() {
            let (set, sex, other) = match p.gender {
                Some(Gender::Female) => (&self.male_only, "female", "men"),
                Some(Gender::Male) => (&self.female_only, "male", "women"),
                _ => continue,
            };
            for (n, r) in resident.counted() {
                let (code, what) = match r {
                    Resource::Condition(c) => (c.code.as_ref(), "the diagnosis"),
                    Resource::Procedure(p) => (p.code.as_ref(), "a procedure coded"),
                    _ => continue,
                };
                if let Some(code) = set.find_concept(code) {
                    out.push(finding(
                        self,
                        resident,
                        vec![pn.leaf, n.leaf],
                        at,
                        format!(
                            "The resident is recorded as {sex} but has {what} {code}, which only {other} can have."
                        ),
                    ));
                }
            }
        }
        out
    }
}

/// QC-X06: the resident's age at each phs-service encounter, and at the start of each programme
/// enrolment (HTN/T2D ≥35, ELDER ≥65), meets the code's limits, and pregnancy care (visits and
/// the PREG programme) is for a woman. A visit's service is its `serviceType`, else the
/// equivalent of its type, as the facts read it. A male resident with pregnancy care is
/// QC-X01's finding and not repeated here. Evidence: the Patient and the Encounter or
/// EpisodeOfCare.
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

/// An age as a clinician says it: completed years from two years on, else months.
fn age_text(m: i32) -> String {
    if m >= 24 {
        format!("{} years", m / 12)
    } else {
        format!("{m} months")
    }
}

impl Rule for X06ProgrammeEligibility {
    rule_meta!("QC-X06", X, defaults: ["ages"]);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let mut out = Vec::new();
        let services = services(&resident.facts);
        for (pn, p) in resident.patients() {
            for (n, r) in resident.counted() {
                // The same limits apply to a visit's service and a programme's type: both are
                // phs-service codes, and they never share a code.
                let (service, period, what) = match r {
                    Resource::Encounter(e) => {
                        let Some(s) = services.get(&n.leaf).copied() else {
                            continue;
                        };
                        (s, e.period.as_ref(), format!("{s} visit"))
                    }
                    Resource::EpisodeOfCare(e) => {
                        let Some(t) = e.type_in(&self.service_system) else {
                            continue;
                        };
                        (
                            t,
                            e.period.as_ref(),
                            format!("{} enrolment", programme_name(t)),
                        )
                    }
                    _ => continue,
                };
                let start = period.and_then(|p| p.start.as_ref());
                if starts_with_any(service, &self.female_prefixes)
                    && matches!(p.gender, Some(Gender::Other | Gender::Unknown))
                {
                    out.push(finding(
                        self,
                        resident,
                        vec![pn.leaf, n.leaf],
                        at,
                        format!(
                            "The {what}{} is pregnancy care, but the resident is not recorded as female.",
                            on(start)
                        ),
                    ));
                }
                let (Some(birth), Some(start)) = (p.birth_date.as_ref(), start) else {
                    continue;
                };
                let age = completed_months(birth.date(), start.date());
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
                            "The {what} on {} is for residents aged {why}, but the resident was {} old.",
                            start.text,
                            age_text(age)
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
    dm: ValueSet,
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
            dm: params.value_sets.set("X07", "DM-any")?,
            atc_system: x.atc_system.clone(),
            atc_prefixes: x.atc_prefixes.clone(),
            statuses: x.statuses.clone(),
            window: Duration::days(x.window_days),
        })
    }
}

impl Rule for X07AntidiabeticWithoutDiabetes {
    rule_meta!("QC-X07", X, defaults: ["value_sets.DM-any", "atc_prefixes", "window_days"]);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        // Each diabetes diagnosis's date (`None`: undated).
        let diagnoses: Vec<Option<OffsetDateTime>> = resident
            .counted()
            .filter_map(|(_, r)| match r {
                Resource::Condition(c) if self.dm.find_concept(c.code.as_ref()).is_some() => Some(
                    c.recorded_date
                        .as_ref()
                        .or(c.onset.as_ref())
                        .map(|t| t.start),
                ),
                _ => None,
            })
            .collect();
        let mut out = Vec::new();
        for (n, r) in resident.counted() {
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
    rule_meta!("QC-X09", X, defaults: ["window_days"]);
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
