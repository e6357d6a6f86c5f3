//! Chronic-disease and key-population cadence over a look-back window: QC-T03 (HTN
//! follow-ups), QC-T04 (T2D follow-ups with glucose), QC-T05 (glycaemic monitoring gap),
//! QC-T08 (annual health check).
//!
//! A requirement is owed only for the part of the window in which the resident belonged to
//! the population and was alive, so nobody is reported for what they could not yet have done.

use serde::Deserialize;
use time::{Duration, OffsetDateTime};

use super::window::{Coverage, count, death_undated, evidence, follow_up_day, midnight};
use crate::qc::facts::{Facts, FollowUp, Visit};
use crate::qc::field::{finding, finding_with_severity};
use crate::qc::params::{Params, ParamsError, Severity};
use crate::qc::{Finding, ResidentView, Rule, rule_meta};

/// Plain words for a programme code.
pub(in crate::qc) fn programme_words(code: &str) -> &str {
    match code {
        "HTN" => "hypertension",
        "T2D" => "diabetes",
        "SMI" => "severe mental disorder",
        "TB" => "tuberculosis",
        other => other,
    }
}

/// How the follow-ups of one programme fared over (at − window, at].
struct Tally<'a> {
    coverage: Coverage,
    /// Follow-ups owed, pro rata to the months covered.
    needed: i32,
    counted: Vec<&'a FollowUp>,
    /// The programme's visits in the window that do not count.
    other: Vec<&'a Visit>,
    /// The last follow-up that counts, at any time up to `at`.
    last: Option<&'a FollowUp>,
}

/// The cadence shared by QC-T03 and QC-T04: `required` valid follow-ups per `window_months`
/// months, pro rata ceil(required × months enrolled / window_months).
struct Cadence {
    programme: &'static str,
    window: Duration,
    window_months: i32,
    required: i32,
}

impl Cadence {
    fn tally<'a>(
        &self,
        facts: &'a Facts,
        at: OffsetDateTime,
        counts: impl Fn(&FollowUp) -> bool,
    ) -> Tally<'a> {
        let from = at - self.window;
        let coverage = Coverage::enrolment(facts, &[self.programme], from, at);
        let months = coverage.months(self.window_months);
        let needed = (self.required * months + self.window_months - 1) / self.window_months;
        let valid: Vec<&FollowUp> = facts
            .follow_ups(self.programme)
            .iter()
            .filter(|f| f.at <= at && counts(f))
            .collect();
        let counted: Vec<&FollowUp> = valid.iter().copied().filter(|f| f.at > from).collect();
        let service = format!("{}-FU", self.programme);
        let other = facts
            .visits
            .iter()
            .filter(|v| v.service.as_deref() == Some(service.as_str()))
            .filter(|v| v.start.is_some_and(|t| t > from && t <= at))
            .filter(|v| !counted.iter().any(|f| f.leaf == v.leaf))
            .collect();
        Tally {
            coverage,
            needed,
            counted,
            other,
            last: valid.last().copied(),
        }
    }

    /// The E finding when fewer follow-ups count than are owed. `why_not` says in words what
    /// a visit that does not count lacked.
    fn shortfall(
        &self,
        rule: &dyn Rule,
        resident: &ResidentView<'_>,
        at: OffsetDateTime,
        t: &Tally<'_>,
        why_not: &str,
    ) -> Option<Finding> {
        if !t.coverage.any() || t.counted.len() as i32 >= t.needed {
            return None;
        }
        let words = programme_words(self.programme);
        let mut msg = format!(
            "{} of {} {words} follow-ups in the last {}",
            t.counted.len(),
            t.needed,
            count(self.window_months, "month")
        );
        if !t.coverage.whole() {
            let months = t.coverage.months(self.window_months);
            msg.push_str(&format!(
                " (owed for the {} enrolled)",
                count(months, "month")
            ));
        }
        match t.last {
            Some(f) => msg.push_str(&format!(
                "; the last was on {}",
                follow_up_day(&resident.facts, f)
            )),
            None => msg.push_str("; none is recorded"),
        }
        if !t.other.is_empty() {
            msg.push_str(&format!(
                "; {} in that time did not count ({why_not})",
                count(t.other.len() as i64, &format!("other {words} visit"))
            ));
        }
        msg.push('.');
        let leaves = t
            .coverage
            .episodes
            .iter()
            .copied()
            .chain(t.counted.iter().flat_map(|f| f.evidence.iter().copied()))
            .chain(t.other.iter().map(|v| v.leaf));
        Some(finding(rule, resident, evidence(leaves), at, msg))
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct T03Params {
    severity: Severity,
    window_days: i64,
    window_months: i32,
    required: i32,
    gap_days: i64,
    gap_severity: Severity,
}

/// QC-T03: an HTN-enrolled resident has ≥ `required` valid follow-ups (VFU: finished,
/// face-to-face, with a complete BP panel) in the window, pro rata for partial enrolment.
/// Besides, a gap longer than `gap_days` between consecutive VFUs while enrolled in the
/// window is a finding of `gap_severity`.
/// Evidence: the episodes, the follow-ups (with their BP), the visits that do not count.
pub struct T03HtnFollowUpCadence {
    severity: Severity,
    cadence: Cadence,
    gap: Duration,
    gap_severity: Severity,
}

impl T03HtnFollowUpCadence {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: T03Params = params.section("T03")?;
        Ok(Self {
            severity: p.severity,
            cadence: cadence("T03", "HTN", p.window_days, p.window_months, p.required)?,
            gap: Duration::days(p.gap_days),
            gap_severity: p.gap_severity,
        })
    }
}

fn cadence(
    name: &'static str,
    programme: &'static str,
    window_days: i64,
    window_months: i32,
    required: i32,
) -> Result<Cadence, ParamsError> {
    if window_days <= 0 || window_months <= 0 || required < 0 {
        return Err(ParamsError::BadSection {
            name,
            reason: "window_days and window_months must be positive, required not negative".into(),
        });
    }
    Ok(Cadence {
        programme,
        window: Duration::days(window_days),
        window_months,
        required,
    })
}

impl Rule for T03HtnFollowUpCadence {
    rule_meta!("QC-T03", T, defaults: ["gap_days"]);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let facts = &resident.facts;
        if death_undated(facts) {
            return Vec::new();
        }
        let t = self.cadence.tally(facts, at, |_| true);
        let mut out: Vec<Finding> = self
            .cadence
            .shortfall(
                self,
                resident,
                at,
                &t,
                "not finished, not face-to-face, or without a complete blood pressure",
            )
            .into_iter()
            .collect();
        // Gaps between consecutive follow-ups inside one enrolled stretch of the window.
        let long: Vec<(&FollowUp, &FollowUp)> = t
            .counted
            .windows(2)
            .map(|w| (w[0], w[1]))
            .filter(|(a, b)| {
                b.at - a.at > self.gap
                    && t.coverage
                        .segment_of(a.at)
                        .is_some_and(|s| s.0 <= b.at && b.at <= s.1)
            })
            .collect();
        if let Some(&(a, b)) = long.iter().max_by_key(|(a, b)| b.at - a.at) {
            let mut msg = format!(
                "The hypertension follow-ups on {} and {} were {} apart, more than {}",
                follow_up_day(facts, a),
                follow_up_day(facts, b),
                count((b.at - a.at).whole_days(), "day"),
                count(self.gap.whole_days(), "day")
            );
            if long.len() > 1 {
                msg.push_str(&format!(
                    "; {} in the last {} also did",
                    count(long.len() as i64 - 1, "other gap"),
                    count(self.cadence.window_months, "month")
                ));
            }
            msg.push('.');
            let leaves = t
                .coverage
                .episodes
                .iter()
                .copied()
                .chain(long.iter().flat_map(|(a, b)| [a.leaf, b.leaf]));
            out.push(finding_with_severity(
                self,
                self.gap_severity,
                resident,
                evidence(leaves),
                at,
                msg,
            ));
        }
        out
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct T04Params {
    severity: Severity,
    window_days: i64,
    window_months: i32,
    required: i32,
}

/// QC-T04: a T2D-enrolled resident has ≥ `required` valid follow-ups in the window, each
/// with a fasting glucose (`codes.fbg_mmol`) on the visit's own calendar day, pro rata as QC-T03.
/// (The VFU definition already accepts a glucose within a day of the visit; this rule asks
/// for the same day.) Evidence as QC-T03.
pub struct T04T2dFollowUpCadence {
    severity: Severity,
    cadence: Cadence,
    fbg: Vec<String>,
}

impl T04T2dFollowUpCadence {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: T04Params = params.section("T04")?;
        Ok(Self {
            severity: p.severity,
            cadence: cadence("T04", "T2D", p.window_days, p.window_months, p.required)?,
            fbg: params.codes.fbg_mmol.clone(),
        })
    }

    fn same_day_glucose(&self, facts: &Facts, f: &FollowUp) -> bool {
        let Some(v) = facts.visits.get(f.visit) else {
            return false;
        };
        v.observations
            .iter()
            .filter_map(|&i| facts.observations.get(i))
            .any(|o| {
                o.code.as_ref().is_some_and(|c| self.fbg.contains(c))
                    && o.value.is_some()
                    && o.day.is_some()
                    && o.day == v.day
            })
    }
}

impl Rule for T04T2dFollowUpCadence {
    rule_meta!("QC-T04", T);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let facts = &resident.facts;
        if death_undated(facts) {
            return Vec::new();
        }
        let t = self
            .cadence
            .tally(facts, at, |f| self.same_day_glucose(facts, f));
        self.cadence
            .shortfall(
                self,
                resident,
                at,
                &t,
                "no fasting glucose that day, no blood pressure, not finished, or not face-to-face",
            )
            .into_iter()
            .collect()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct T05Params {
    severity: Severity,
    window_days: i64,
}

/// QC-T05: a resident enrolled in T2D for all of (at − window, at] has a fasting glucose or
/// HbA1c result in it. Someone enrolled for less than the window is not asked: they may
/// not have been due a test yet. Evidence: the episodes and the last result.
pub struct T05GlycaemicGap {
    severity: Severity,
    window: Duration,
    codes: Vec<String>,
}

impl T05GlycaemicGap {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: T05Params = params.section("T05")?;
        let c = &params.codes;
        Ok(Self {
            severity: p.severity,
            window: Duration::days(p.window_days),
            // Fasting glucose in either unit, and HbA1c.
            codes: c
                .fbg_mmol
                .iter()
                .chain([&c.fbg_mgdl])
                .chain(&c.hba1c)
                .cloned()
                .collect(),
        })
    }
}

impl Rule for T05GlycaemicGap {
    rule_meta!("QC-T05", T);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let facts = &resident.facts;
        if death_undated(facts) {
            return Vec::new();
        }
        let from = at - self.window;
        let coverage = Coverage::enrolment(facts, &["T2D"], from, at);
        if !coverage.whole() {
            return Vec::new();
        }
        let last = facts
            .observations_of(&self.codes)
            .filter(|o| o.at.is_some_and(|t| t <= at))
            .last();
        if last.is_some_and(|o| o.at.is_some_and(|t| t > from)) {
            return Vec::new();
        }
        let when = match last.and_then(|o| o.day) {
            Some(day) => format!("the last was on {day}"),
            None => "none is recorded".to_owned(),
        };
        let leaves = coverage
            .episodes
            .iter()
            .copied()
            .chain(last.map(|o| o.leaf));
        vec![finding(
            self,
            resident,
            evidence(leaves),
            at,
            format!(
                "No fasting glucose or HbA1c result in the last {} for this enrolled diabetes patient; {when}.",
                count(self.window.whole_days(), "day")
            ),
        )]
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct T08Params {
    severity: Severity,
    window_days: i64,
    window_months: i32,
    age_years: i32,
    programmes: Vec<String>,
    service: String,
    elderly_service: String,
    elderly_severity: Severity,
}

/// QC-T08: a resident in a key population (aged ≥ `age_years`, or enrolled in one of
/// `programmes`) for the whole window has a finished `service` (HEALTH-CHECK) visit in it;
/// one aged ≥ `age_years` for the whole window also a finished `elderly_service`
/// (TCM-ELDER) visit, reported with `elderly_severity`. Residents who joined the population
/// during the window are not asked yet: the check is yearly, so it falls due a year after
/// joining. Evidence: the Patient (when age matters), the episodes, the last such visit.
pub struct T08AnnualHealthCheck {
    severity: Severity,
    window: Duration,
    window_months: i32,
    age_months: i32,
    programmes: Vec<String>,
    service: String,
    elderly_service: String,
    elderly_severity: Severity,
}

impl T08AnnualHealthCheck {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: T08Params = params.section("T08")?;
        Ok(Self {
            severity: p.severity,
            window: Duration::days(p.window_days),
            window_months: p.window_months,
            age_months: p.age_years.saturating_mul(12),
            programmes: p.programmes,
            service: p.service,
            elderly_service: p.elderly_service,
            elderly_severity: p.elderly_severity,
        })
    }

    /// The last finished `service` visit up to `at`, and whether it is inside the window.
    fn last_visit<'a>(
        &self,
        facts: &'a Facts,
        service: &'a str,
        at: OffsetDateTime,
    ) -> (Option<&'a Visit>, bool) {
        let last = facts
            .visits_of(service)
            .filter(|v| v.status.as_deref() == Some("finished"))
            .filter(|v| v.start.is_some_and(|t| t <= at))
            .last();
        let recent = last.is_some_and(|v| v.start.is_some_and(|t| t > at - self.window));
        (last, recent)
    }
}

impl Rule for T08AnnualHealthCheck {
    rule_meta!("QC-T08", T);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let facts = &resident.facts;
        let d = &facts.demographics;
        if death_undated(facts) {
            return Vec::new();
        }
        let from = at - self.window;
        let programmes: Vec<&str> = self.programmes.iter().map(String::as_str).collect();
        let enrolled = Coverage::enrolment(facts, &programmes, from, at);
        // Old enough, and in the population by age or enrolment.
        let mut old = Coverage::new(facts, from, at);
        let mut population = enrolled.clone();
        if let Some(day) = d.date_at_months(self.age_months) {
            old.add(midnight(day), None);
            population.add(midnight(day), None);
        }
        if !population.whole() {
            return Vec::new();
        }
        let mut who = Vec::new();
        if old.any()
            && let Some(age) = d.age_years(at.date())
        {
            who.push(format!("aged {age}"));
        }
        let mut in_care: Vec<&str> = Vec::new();
        for e in enrolled
            .episodes
            .iter()
            .filter_map(|l| facts.episodes.iter().find(|e| e.leaf == *l))
        {
            if let Some(p) = e.programme.as_deref().map(programme_words)
                && !in_care.contains(&p)
            {
                in_care.push(p);
            }
        }
        if !in_care.is_empty() {
            who.push(format!("enrolled in {} care", in_care.join(" and ")));
        }
        let patient = old.any().then_some(d.leaf).flatten();
        let mut out = Vec::new();
        let report = |service: &str, what: &str, severity: Severity, out: &mut Vec<Finding>| {
            let (last, recent) = self.last_visit(facts, service, at);
            if recent {
                return;
            }
            let when = match last.and_then(|v| v.day) {
                Some(day) => format!("the last was on {day}"),
                None => "none is recorded".to_owned(),
            };
            let leaves = patient
                .into_iter()
                .chain(enrolled.episodes.iter().copied())
                .chain(last.map(|v| v.leaf));
            out.push(finding_with_severity(
                self,
                severity,
                resident,
                evidence(leaves),
                at,
                format!(
                    "No {what} in the last {} for this resident ({}); {when}.",
                    count(self.window_months, "month"),
                    who.join(", ")
                ),
            ));
        };
        report(
            &self.service,
            "annual health check",
            self.severity,
            &mut out,
        );
        if old.whole() {
            report(
                &self.elderly_service,
                "TCM constitution assessment",
                self.elderly_severity,
                &mut out,
            );
        }
        out
    }
}

#[cfg(test)]
mod tests;
