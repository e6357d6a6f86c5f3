//! Programme service before diagnosis or enrolment (QC-T19).

use serde::Deserialize;
use time::{Date, OffsetDateTime};

use super::super::field::finding;
use super::super::params::{Params, ParamsError, Severity};
use super::super::valueset::ValueSet;
use super::super::{Finding, ResidentView, Rule, rule_meta};
use super::plus;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct T19Params {
    severity: Severity,
    programmes: Vec<String>,
    enrolment_grace_days: i64,
}

/// A programme with its follow-up service and its diagnoses.
struct Programme {
    code: String,
    service: String,
    diagnoses: ValueSet,
}

/// QC-T19: a programme follow-up (`P-FU`) is dated no earlier than the programme's diagnosis
/// and no earlier than `enrolment_grace_days` before its enrolment. The diagnosis date is the
/// earliest onset or recorded date of any of the programme's diagnoses (VS-HTN, VS-T2D,
/// VS-SMI with the first code of its combinations, VS-TB): if any record says the disease was
/// known by the visit, the visit is plausible. The enrolment date is the earliest start of
/// the programme's episodes. A resident with no diagnosis or no enrolment is not checked on
/// that side: a follow-up without them is a cross-record finding, not a timing one. Planned
/// and cancelled visits are not services and are not checked.
pub struct T19ServiceBeforeDiagnosis {
    severity: Severity,
    grace: i64,
    programmes: Vec<Programme>,
}

impl T19ServiceBeforeDiagnosis {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: T19Params = params.section("T19")?;
        let vs = &params.value_sets;
        let programmes = p
            .programmes
            .iter()
            .map(|code| {
                let (name, entries): (&'static str, Vec<String>) = match code.as_str() {
                    "SMI" => (
                        "SMI",
                        vs.smi
                            .iter()
                            .cloned()
                            .chain(vs.smi_pairs.iter().map(|[first, _]| first.clone()))
                            .collect(),
                    ),
                    "HTN" | "T2D" | "TB" => {
                        let (name, entries) =
                            vs.entries(code)
                                .ok_or_else(|| ParamsError::UnknownValueSet {
                                    section: "T19",
                                    name: code.clone(),
                                })?;
                        (name, entries.to_vec())
                    }
                    other => {
                        return Err(ParamsError::BadSection {
                            name: "T19",
                            reason: format!("{other:?} is not a programme with a value set"),
                        });
                    }
                };
                Ok(Programme {
                    code: code.clone(),
                    service: format!("{code}-FU"),
                    diagnoses: vs.build(name, &entries)?,
                })
            })
            .collect::<Result<_, ParamsError>>()?;
        Ok(Self {
            severity: p.severity,
            grace: p.enrolment_grace_days,
            programmes,
        })
    }
}

impl Rule for T19ServiceBeforeDiagnosis {
    rule_meta!("QC-T19", T);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let f = &resident.facts;
        let mut out = Vec::new();
        for prog in &self.programmes {
            let diagnosis: Option<(Date, u64)> = f
                .diagnoses
                .iter()
                .filter(|d| d.code_in(&prog.diagnoses).is_some())
                .flat_map(|d| [d.onset_day, d.recorded_day].map(|x| x.map(|day| (day, d.leaf))))
                .flatten()
                .min();
            let enrolment: Option<(Date, u64)> = f
                .episodes_of(&prog.code)
                .filter_map(|e| Some((e.start_day?, e.leaf)))
                .min();
            for v in f.visits_of(&prog.service) {
                let (Some(day), true) = (v.day, v.start.is_some_and(|s| s <= at)) else {
                    continue;
                };
                if matches!(v.status.as_deref(), Some("planned" | "cancelled")) {
                    continue;
                }
                let before_dx = diagnosis.filter(|(d, _)| day < *d);
                let before_ep = enrolment.filter(|(d, _)| day < plus(*d, -self.grace));
                let what = match (before_dx, before_ep) {
                    (None, None) => continue,
                    (Some((d, _)), None) => format!("the diagnosis ({d})"),
                    (None, Some((e, _))) => {
                        format!("the enrolment ({e}) by more than {} days", self.grace)
                    }
                    (Some((d, _)), Some((e, _))) => {
                        format!("both the diagnosis ({d}) and the enrolment ({e})")
                    }
                };
                let mut evidence = vec![v.leaf];
                evidence.extend(before_dx.map(|x| x.1));
                evidence.extend(before_ep.map(|x| x.1));
                out.push(finding(
                    self,
                    resident,
                    evidence,
                    at,
                    format!(
                        "The {} visit on {day} is dated before {what}.",
                        prog.service
                    ),
                ));
            }
        }
        out
    }
}

#[cfg(test)]
#[path = "programme_tests.rs"]
mod tests;
