//! The dormant archive (死档, QC-T18).

use serde::Deserialize;
use time::OffsetDateTime;

use super::super::field::finding_with_severity;
use super::super::params::{Params, ParamsError, Severity};
use super::super::{Finding, ResidentView, Rule, rule_meta};
use super::{days, dead_by};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct T18Params {
    severity: Severity,
    info_days: i64,
    info_severity: Severity,
    warn_days: i64,
}

/// QC-T18: the archive is in use. Its last activity is the latest Encounter start or
/// Observation date on or before `T` (a record dated after `T` is not known at `T`); with
/// none, the day the log first received any of the resident's records, since an archive opened
/// yesterday is not dormant. Last activity `info_days` or more before `T` is reported with
/// `info_severity`, `warn_days` or more with the rule's severity. A deceased resident's
/// archive is closed, not dormant.
pub struct T18DormantArchive {
    p: T18Params,
}

impl T18DormantArchive {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: T18Params = params.section("T18")?;
        if p.info_days > p.warn_days {
            return Err(ParamsError::BadSection {
                name: "T18",
                reason: "info_days must not exceed warn_days".into(),
            });
        }
        Ok(Self { p })
    }
}

impl Rule for T18DormantArchive {
    rule_meta!("QC-T18", T, severity: p.severity);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let f = &resident.facts;
        let d = &f.demographics;
        if dead_by(d, at) {
            return Vec::new();
        }
        let today = at.date();
        let visits = f
            .visits
            .iter()
            .filter(|v| v.start.is_some_and(|s| s <= at))
            .filter_map(|v| Some((v.day?, v.leaf, "visit")));
        let observations = f
            .observations
            .iter()
            .filter(|o| o.at.is_some_and(|t| t <= at))
            .filter_map(|o| Some((o.day?, o.leaf, "observation")));
        let last = visits
            .chain(observations)
            .max_by_key(|(day, leaf, _)| (*day, *leaf));
        let (day, evidence, what) = match last {
            Some((day, leaf, what)) => (day, vec![leaf], format!("the last {what} was on {day}")),
            None => {
                let Some((first, leaf)) = resident
                    .resources()
                    .filter_map(|n| Some((n.recorded?, n.leaf)))
                    .filter(|(t, _)| *t <= at)
                    .min()
                else {
                    return Vec::new();
                };
                let day = first.date();
                (
                    day,
                    vec![leaf],
                    format!(
                        "no visit or observation has been recorded since the archive was opened on {day}"
                    ),
                )
            }
        };
        let idle = days(day, today);
        let severity = if idle >= self.p.warn_days {
            self.p.severity
        } else if idle >= self.p.info_days {
            self.p.info_severity
        } else {
            return Vec::new();
        };
        let mut evidence = evidence;
        if let Some(p) = d.leaf.filter(|p| !evidence.contains(p)) {
            evidence.insert(0, p);
        }
        vec![finding_with_severity(
            self,
            severity,
            resident,
            evidence,
            at,
            format!(
                "The health archive has had no new visit or observation for {idle} days; {what}."
            ),
        )]
    }
}

#[cfg(test)]
#[path = "dormant_tests.rs"]
mod tests;
