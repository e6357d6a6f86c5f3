//! Programme enrolment and diagnosis agreeing both ways (DOMAIN.md §4.4): an enrolment rests
//! on a qualifying diagnosis (X04), and a qualifying diagnosis leads to an enrolment (X05).
//! They read the shared facts, so the §4.1 exclusion is already applied.

use std::collections::BTreeMap;

use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use super::{day, evidence, programme_name, status_in};
use crate::qc::facts::Diagnosis;
use crate::qc::field::finding;
use crate::qc::params::{Params, ParamsError, Severity};
use crate::qc::valueset::ValueSet;
use crate::qc::{Finding, ResidentView, Rule, rule_meta};

/// What the programme treats, as a finding names it.
pub(in crate::qc) fn condition_name(programme: &str) -> &str {
    match programme {
        "HTN" => "hypertension",
        "T2D" => "type 2 diabetes",
        "SMI" => "severe mental disorder",
        "TB" => "pulmonary tuberculosis",
        other => other,
    }
}

/// The diagnoses that qualify a resident for one programme: its value set, plus (VS-SMI) the
/// pairs of diagnoses that qualify only together.
pub(in crate::qc) struct Qualifying {
    pub(in crate::qc) programme: String,
    pub(in crate::qc) set: ValueSet,
    pub(in crate::qc) pairs: Vec<(ValueSet, ValueSet)>,
    /// The value set as a sentence shows it, by its ICD-10 entries, e.g. `I10-I13`.
    label: String,
}

/// A qualifying diagnosis, or a qualifying pair.
pub(in crate::qc) struct Match<'a> {
    pub(in crate::qc) diagnoses: Vec<&'a Diagnosis>,
    /// `I10`, `SNOMED 59621000`, or `F06.2 with G40.9`.
    pub(in crate::qc) code: String,
    /// When it was known (a pair: the later of the two); `None` when a part is undated.
    pub(in crate::qc) at: Option<OffsetDateTime>,
}

impl Qualifying {
    fn new(params: &Params, programme: &str, rule: &'static str) -> Result<Self, ParamsError> {
        let vs = &params.value_sets;
        let pairs: &[[String; 2]] = match programme {
            "HTN" | "T2D" | "TB" => &[],
            "SMI" => &vs.smi_pairs,
            other => {
                return Err(ParamsError::BadSection {
                    name: rule,
                    reason: format!("programme {other:?} has no diagnosis value set"),
                });
            }
        };
        let set = vs.set(rule, programme)?;
        let label = std::iter::once(set.label().to_owned())
            .chain(pairs.iter().map(|[a, b]| format!("{a} with {b}")))
            .collect::<Vec<_>>()
            .join(", ");
        let pairs = pairs
            .iter()
            .map(|[a, b]| {
                Ok((
                    vs.build("SMI-pairs", std::slice::from_ref(a))?,
                    vs.build("SMI-pairs", std::slice::from_ref(b))?,
                ))
            })
            .collect::<Result<Vec<_>, ParamsError>>()?;
        Ok(Self {
            programme: programme.to_owned(),
            set,
            pairs,
            label,
        })
    }

    /// Every qualifying diagnosis, and every qualifying pair, among `dx`.
    pub(in crate::qc) fn matches<'a>(&self, dx: &[&'a Diagnosis]) -> Vec<Match<'a>> {
        let mut out: Vec<Match<'a>> = dx
            .iter()
            .filter_map(|d| {
                Some(Match {
                    diagnoses: vec![*d],
                    code: d.code_in(&self.set)?,
                    at: d.known_at(),
                })
            })
            .collect();
        for (a, b) in &self.pairs {
            for x in dx {
                let Some(cx) = x.code_in(a) else { continue };
                for y in dx {
                    let Some(cy) = y.code_in(b) else { continue };
                    let at = x.known_at().zip(y.known_at()).map(|(p, q)| p.max(q));
                    // One Condition may carry both codes.
                    let diagnoses = if x.leaf == y.leaf {
                        vec![*x]
                    } else {
                        vec![*x, *y]
                    };
                    out.push(Match {
                        diagnoses,
                        code: format!("{cx} with {cy}"),
                        at,
                    });
                }
            }
        }
        out
    }
}

pub(in crate::qc) fn qualifying(
    params: &Params,
    programmes: &[String],
    rule: &'static str,
) -> Result<Vec<Qualifying>, ParamsError> {
    programmes
        .iter()
        .map(|p| Qualifying::new(params, p, rule))
        .collect()
}

/// The catalogue defaults X04 and X05 use: the programme value sets (§4.1), and X05's window.
const X04_DEFAULTS: [&str; 5] = [
    "value_sets.HTN",
    "value_sets.T2D",
    "value_sets.SMI",
    "value_sets.SMI-pairs",
    "value_sets.TB",
];
const X05_DEFAULTS: [&str; 6] = [
    "value_sets.HTN",
    "value_sets.T2D",
    "value_sets.SMI",
    "value_sets.SMI-pairs",
    "value_sets.TB",
    "window_days",
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct X04Params {
    severity: Severity,
    programmes: Vec<String>,
    window_days: i64,
    verification: Vec<String>,
}

/// QC-X04: a programme enrolment (HTN, T2D, SMI, TB) rests on a confirmed diagnosis in the
/// programme's value set, referenced from the episode or recorded no later than its start +
/// the window (an undated diagnosis counts: it cannot be shown late). An enrolment started
/// after `T` is not judged, nor one whose window is still open at `T`, since its diagnosis
/// may yet be recorded. Evidence: the Patient, the EpisodeOfCare, and a late diagnosis if any.
pub struct X04EnrolmentWithoutDiagnosis {
    severity: Severity,
    programmes: Vec<Qualifying>,
    window: Duration,
    verification: Vec<String>,
}

impl X04EnrolmentWithoutDiagnosis {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: X04Params = params.section("X04")?;
        Ok(Self {
            severity: p.severity,
            programmes: qualifying(params, &p.programmes, "X04")?,
            window: Duration::days(p.window_days),
            verification: p.verification,
        })
    }
}

impl Rule for X04EnrolmentWithoutDiagnosis {
    rule_meta!("QC-X04", X, defaults: X04_DEFAULTS);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let f = &resident.facts;
        let confirmed: Vec<&Diagnosis> = f
            .diagnoses
            .iter()
            .filter(|d| status_in(d.verification_status.as_deref(), &self.verification))
            .filter(|d| d.known_at().is_none_or(|t| t <= at))
            .collect();
        let mut out = Vec::new();
        for q in &self.programmes {
            let matches = q.matches(&confirmed);
            for e in f.episodes_of(&q.programme) {
                if e.start.is_some_and(|s| s > at) {
                    continue;
                }
                let deadline = e.start.map(|s| s + self.window);
                let qualifies = matches.iter().any(|m| {
                    m.diagnoses.iter().any(|d| e.diagnoses.contains(&d.id))
                        || m.at.zip(deadline).is_none_or(|(t, dl)| t <= dl)
                });
                if qualifies || deadline.is_some_and(|dl| dl > at) {
                    continue;
                }
                let name = condition_name(&q.programme);
                let late = matches
                    .iter()
                    .filter_map(|m| Some((m.at?, m)))
                    .min_by_key(|(t, m)| (*t, m.diagnoses[0].leaf));
                let mut leaves = vec![e.leaf];
                let msg = match (e.start, deadline) {
                    (Some(s), Some(dl)) => {
                        let mut msg = format!(
                            "Enrolled in {} since {}, but no confirmed {name} diagnosis ({}) is linked to the enrolment or recorded by {}",
                            programme_name(&q.programme),
                            day(s),
                            q.label,
                            day(dl)
                        );
                        if let Some((t, m)) = late {
                            leaves.extend(m.diagnoses.iter().map(|d| d.leaf));
                            msg.push_str(&format!(
                                "; the first, {}, was recorded only on {}",
                                m.code,
                                day(t)
                            ));
                        }
                        msg + "."
                    }
                    _ => format!(
                        "Enrolled in {} (no start date), but no confirmed {name} diagnosis ({}) is recorded.",
                        programme_name(&q.programme),
                        q.label
                    ),
                };
                out.push(finding(self, resident, evidence(f, leaves), at, msg));
            }
        }
        out
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct X05Params {
    severity: Severity,
    programmes: Vec<String>,
    window_days: i64,
    min_age_years: BTreeMap<String, i32>,
    verification: Vec<String>,
    clinical: Vec<String>,
    episode_statuses: Vec<String>,
    deceased_episode_statuses: Vec<String>,
}

/// QC-X05: a resident with an active confirmed programme diagnosis (HTN and T2D only from the
/// minimum age at the diagnosis date) has an enrolment of the matching type, in one of the
/// counted statuses, started no later than the first such diagnosis's recorded date + the
/// window; for a resident who died by `T`, whose episodes are closed at the death (QC-X12), an
/// enrolment in `deceased_episode_statuses` counts. Every resident of the tree is in scope: the node indexes its own region's residents.
/// An undated diagnosis is not judged (its window cannot be placed), nor one whose window is
/// still open at `T`, nor one without a known age where the programme has a minimum. One
/// finding per programme. Evidence: the Patient, the diagnosis (both of a pair), and a late
/// enrolment if any.
pub struct X05DiagnosisWithoutEnrolment {
    severity: Severity,
    programmes: Vec<Qualifying>,
    window: Duration,
    min_age: BTreeMap<String, i32>,
    verification: Vec<String>,
    clinical: Vec<String>,
    episode_statuses: Vec<String>,
    deceased_episode_statuses: Vec<String>,
}

impl X05DiagnosisWithoutEnrolment {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: X05Params = params.section("X05")?;
        Ok(Self {
            severity: p.severity,
            programmes: qualifying(params, &p.programmes, "X05")?,
            window: Duration::days(p.window_days),
            min_age: p.min_age_years,
            verification: p.verification,
            clinical: p.clinical,
            episode_statuses: p.episode_statuses,
            deceased_episode_statuses: p.deceased_episode_statuses,
        })
    }
}

impl Rule for X05DiagnosisWithoutEnrolment {
    rule_meta!("QC-X05", X, defaults: X05_DEFAULTS);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let f = &resident.facts;
        let active: Vec<&Diagnosis> = f
            .diagnoses
            .iter()
            .filter(|d| status_in(d.verification_status.as_deref(), &self.verification))
            .filter(|d| status_in(d.clinical_status.as_deref(), &self.clinical))
            .filter(|d| d.abatement.is_none_or(|t| t > at))
            .collect();
        let deceased = f.demographics.death.is_some_and(|d| d <= at);
        let statuses = if deceased {
            &self.deceased_episode_statuses
        } else {
            &self.episode_statuses
        };
        let mut out = Vec::new();
        for q in &self.programmes {
            let min_age = self.min_age.get(&q.programme);
            let first = q
                .matches(&active)
                .into_iter()
                .filter_map(|m| Some((m.at?, m)))
                .filter(|(t, _)| *t <= at)
                .filter(|(t, _)| {
                    min_age.is_none_or(|min| {
                        f.demographics.age_years(day(*t)).is_some_and(|a| a >= *min)
                    })
                })
                .min_by_key(|(t, m)| (*t, m.diagnoses[0].leaf));
            let Some((known, m)) = first else { continue };
            let deadline = known + self.window;
            if at <= deadline {
                continue;
            }
            let episodes: Vec<_> = f
                .episodes_of(&q.programme)
                .filter(|e| status_in(e.status.as_deref(), statuses))
                .collect();
            // An undated enrolment cannot be shown late.
            if episodes
                .iter()
                .any(|e| e.start.is_none_or(|s| s <= deadline))
            {
                continue;
            }
            let late = episodes
                .iter()
                .filter_map(|e| Some((e.start?, e.leaf)))
                .min();
            let mut leaves: Vec<u64> = m.diagnoses.iter().map(|d| d.leaf).collect();
            let mut msg = format!(
                "A confirmed {} diagnosis ({}) was recorded on {}, but no {} enrolment started within {} days (by {})",
                condition_name(&q.programme),
                m.code,
                day(known),
                programme_name(&q.programme),
                self.window.whole_days(),
                day(deadline)
            );
            if let Some((s, leaf)) = late {
                leaves.push(leaf);
                msg.push_str(&format!("; the enrolment started only on {}", day(s)));
            }
            out.push(finding(self, resident, evidence(f, leaves), at, msg + "."));
        }
        out
    }
}

#[cfg(test)]
#[path = "enrolment_tests.rs"]
mod tests;
