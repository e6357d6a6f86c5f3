//! Maternal care over time: the antenatal schedule (QC-T13), postpartum visits (QC-T14) and the
//! plausibility of a pregnancy's dates (QC-T15). What a pregnancy is, and how it is dated
//! and ended, is in `pregnancy.rs`.

use serde::Deserialize;
use time::{Date, OffsetDateTime};

use super::super::facts::Visit;
use super::super::field::{finding, finding_with_severity};
use super::super::params::{Params, ParamsError, Severity};
use super::super::{Finding, ResidentView, Rule, rule_meta};
use super::pregnancy::{
    EDD_DAYS, End, EndKind, PregnancyCodes, dated, ga_text, pregnancies, standalone_births,
};
use super::{days, held, plus};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct T13Params {
    severity: Severity,
    service_prefix: String,
    first_service: String,
    first_before_weeks: i64,
    windows: Vec<[i64; 2]>,
    min_exposure_days: i64,
    term_weeks: i64,
    min_total: usize,
    enrolment_dating: bool,
}

/// QC-T13: for each pregnancy, the first antenatal visit (ANC-1, else the first ANC-*) is
/// before 13+0 weeks; there is an antenatal visit in each window (16–20 weeks is 16+0 to
/// 20+6) the pregnancy lasted at least `min_exposure_days` into, once the window has closed
/// (at its end, or at the delivery); a pregnancy that ended at term had at least `min_total`
/// antenatal visits. Visits count from the LMP to the end of the pregnancy (or `T`).
pub struct T13AntenatalSchedule {
    p: T13Params,
    codes: PregnancyCodes,
}

impl T13AntenatalSchedule {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: T13Params = params.section("T13")?;
        if p.windows.iter().any(|[a, b]| a > b || *a < 0) {
            return Err(ParamsError::BadSection {
                name: "T13",
                reason: "a window is [first week, last week]".into(),
            });
        }
        Ok(Self {
            p,
            codes: PregnancyCodes::new(params)?,
        })
    }
}

impl Rule for T13AntenatalSchedule {
    rule_meta!(
        "QC-T13",
        T,
        severity: p.severity,
        defaults: ["min_exposure_days", "enrolment_dating"],
    );
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let f = &resident.facts;
        let today = at.date();
        let p = &self.p;
        let mut out = Vec::new();
        for preg in pregnancies(f, &self.codes, at) {
            let Some(lmp) = preg.lmp(p.enrolment_dating) else {
                continue;
            };
            let end = preg.end.map(|e| e.day);
            let until = end.unwrap_or(today);
            let anc: Vec<&Visit> = f
                .visits
                .iter()
                .filter(|v| held(v, at))
                .filter(|v| {
                    v.service
                        .as_deref()
                        .is_some_and(|s| s.starts_with(&p.service_prefix))
                })
                .filter(|v| v.day.is_some_and(|d| d >= lmp.day && d <= until))
                .collect();
            let day = |v: &Visit| v.day.unwrap_or(Date::MAX);
            let with = |extra: &[u64]| {
                let mut e = preg.evidence(&lmp);
                e.extend(
                    preg.end
                        .iter()
                        .map(|x| x.leaf)
                        .filter(|l| *l != preg.episode.leaf),
                );
                e.extend(extra);
                e
            };
            let deadline = plus(lmp.day, 7 * p.first_before_weeks);
            if today >= deadline && end.is_none_or(|e| e >= deadline) {
                let first = anc
                    .iter()
                    .find(|v| v.service.as_deref() == Some(p.first_service.as_str()))
                    .or(anc.first());
                match first {
                    Some(v) if day(v) < deadline => {}
                    Some(v) => out.push(finding(
                        self,
                        resident,
                        with(&[v.leaf]),
                        at,
                        format!(
                            "The first antenatal visit was at {} ({}), counting from the {}; it must be before {} weeks.",
                            ga_text(lmp.day, day(v)),
                            day(v),
                            dated(&lmp),
                            p.first_before_weeks
                        ),
                    )),
                    None => out.push(finding(
                        self,
                        resident,
                        with(&[]),
                        at,
                        format!(
                            "No antenatal visit was recorded before {} weeks of pregnancy, counting from the {}.",
                            p.first_before_weeks,
                            dated(&lmp)
                        ),
                    )),
                }
            }
            for [a, b] in &p.windows {
                let from = plus(lmp.day, 7 * a);
                // Exclusive: the window ends with its last week, or at the delivery day.
                let stop = plus(lmp.day, 7 * (b + 1)).min(end.map_or(Date::MAX, |e| plus(e, 1)));
                if days(from, stop) < p.min_exposure_days || today < stop {
                    continue;
                }
                if anc.iter().any(|v| day(v) >= from && day(v) < stop) {
                    continue;
                }
                out.push(finding(
                    self,
                    resident,
                    with(&[]),
                    at,
                    format!(
                        "No antenatal visit was recorded between {a} and {b} weeks of pregnancy ({from} to {}), counting from the {}.",
                        plus(stop, -1),
                        dated(&lmp)
                    ),
                ));
            }
            if let Some(e) = preg.end
                && days(lmp.day, e.day) >= 7 * p.term_weeks
                && anc.len() < p.min_total
            {
                out.push(finding(
                    self,
                    resident,
                    with(&anc.iter().map(|v| v.leaf).collect::<Vec<_>>()),
                    at,
                    format!(
                        "Only {} antenatal visits were recorded in a pregnancy that ended at {} on {}; at least {} are required.",
                        anc.len(),
                        ga_text(lmp.day, e.day),
                        e.day,
                        p.min_total
                    ),
                ));
            }
        }
        out
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct T14Params {
    severity: Severity,
    inpatient_class: String,
    home_service: String,
    home_days: i64,
    home_late_days: i64,
    late_severity: Severity,
    check_service: String,
    check_from_days: i64,
    check_to_days: i64,
    episode_end_min_weeks: i64,
    same_delivery_days: i64,
}

/// QC-T14: after each delivery, a postpartum home visit within `home_days` of discharge (the
/// end of the inpatient stay that covers the delivery day, else the delivery day); one later
/// but within `home_late_days` is a warning (the indicator counts 28 days). A 42-day check
/// falls `check_from_days`–`check_to_days` after the delivery. A PREG episode's end counts as
/// a delivery only when no delivery is recorded and, if the pregnancy is dated, it lasted at
/// least `episode_end_min_weeks` (an earlier end is a loss, not a birth). Nothing is reported
/// before its window closes, or after the mother's death.
pub struct T14PostpartumVisits {
    p: T14Params,
    codes: PregnancyCodes,
}

impl T14PostpartumVisits {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        Ok(Self {
            p: params.section("T14")?,
            codes: PregnancyCodes::new(params)?,
        })
    }
}

impl Rule for T14PostpartumVisits {
    rule_meta!(
        "QC-T14",
        T,
        severity: p.severity,
        defaults: ["check_to_days", "same_delivery_days"],
    );
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let f = &resident.facts;
        let p = &self.p;
        let today = at.date();
        let preg = pregnancies(f, &self.codes, at);
        // (delivery, evidence)
        let mut births: Vec<(End, Vec<u64>)> = Vec::new();
        for x in &preg {
            let Some(end) = x.end else { continue };
            if end.kind == EndKind::EpisodeEnd
                && x.recorded_lmp()
                    .is_some_and(|l| days(l.day, end.day) < 7 * p.episode_end_min_weeks)
            {
                continue;
            }
            let mut ev = vec![x.episode.leaf];
            if end.leaf != x.episode.leaf {
                ev.push(end.leaf);
            }
            births.push((end, ev));
        }
        for d in standalone_births(f, &self.codes, &preg, at, p.same_delivery_days) {
            births.push((d, vec![d.leaf]));
        }
        let death = f.demographics.death.filter(|t| *t <= at).map(|t| t.date());
        let alive_on = |day: Date| death.is_none_or(|d| d > day);
        let visits = |service: &str| -> Vec<&Visit> {
            f.visits
                .iter()
                .filter(|v| held(v, at) && v.service.as_deref() == Some(service))
                .collect()
        };
        let home = visits(&p.home_service);
        let checks = visits(&p.check_service);
        let mut out = Vec::new();
        for (birth, ev) in births {
            let d = birth.day;
            let stay = f
                .visits
                .iter()
                .filter(|v| v.class.as_deref() == Some(p.inpatient_class.as_str()))
                .filter_map(|v| Some((v, v.day?, v.end?.date())))
                .filter(|(_, s, e)| *s <= plus(d, 1) && *e >= d && *e <= today)
                .max_by_key(|(_, _, e)| *e);
            let discharge = stay.map_or(d, |(_, _, e)| e);
            let mut base = ev.clone();
            base.extend(stay.map(|(v, _, _)| v.leaf));
            let since = |v: &&Visit| v.day.is_some_and(|x| x >= d);
            let first_home = home.iter().copied().find(since);
            let due = plus(discharge, p.home_days);
            match first_home {
                Some(v) if v.day.is_some_and(|x| x <= due) => {}
                Some(v) if v.day.is_some_and(|x| x <= plus(discharge, p.home_late_days)) => {
                    let mut e = base.clone();
                    e.push(v.leaf);
                    out.push(finding_with_severity(
                        self,
                        p.late_severity,
                        resident,
                        e,
                        at,
                        format!(
                            "The postpartum home visit on {} was {} days after discharge on {discharge}; it is due within {} days.",
                            v.day.unwrap_or(d),
                            v.day.map_or(0, |x| days(discharge, x)),
                            p.home_days
                        ),
                    ));
                }
                _ if today > due && alive_on(due) => out.push(finding(
                    self,
                    resident,
                    base.clone(),
                    at,
                    format!(
                        "No postpartum home visit was recorded within {} days of discharge on {discharge} after the delivery on {d}.",
                        p.home_days
                    ),
                )),
                _ => {}
            }
            let (from, to) = (plus(d, p.check_from_days), plus(d, p.check_to_days));
            if today <= to || !alive_on(to) {
                continue;
            }
            if checks
                .iter()
                .any(|v| v.day.is_some_and(|x| x >= from && x <= to))
            {
                continue;
            }
            let mut e = base;
            // A check long after the window belongs to a later delivery, not to this one.
            let stray = checks
                .iter()
                .copied()
                .filter(|v| v.day.is_some_and(|x| x <= plus(to, p.check_to_days)))
                .find(since);
            e.extend(stray.map(|v| v.leaf));
            let message = match stray.and_then(|v| v.day) {
                Some(x) => format!(
                    "The 42-day postpartum check on {x} was {} days after the delivery on {d}; it must fall {}–{} days after delivery.",
                    days(d, x),
                    p.check_from_days,
                    p.check_to_days
                ),
                None => format!(
                    "No 42-day postpartum check was recorded {}–{} days after the delivery on {d}.",
                    p.check_from_days, p.check_to_days
                ),
            };
            out.push(finding(self, resident, e, at, message));
        }
        out
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct T15Params {
    severity: Severity,
    min_weeks: i64,
    max_weeks: i64,
    edd_tolerance_days: i64,
    ga_tolerance_days: i64,
    min_birth_gap_days: i64,
    same_birth_days: i64,
}

/// QC-T15: a pregnancy's recorded dates agree. Its recorded delivery (Procedure or
/// Condition, not the episode end, which may close weeks later) is 20–45 weeks after the
/// LMP (or EDD − 280 d); the latest EDD is within 14 d of the latest LMP + 280 d; each
/// recorded gestational age (weeks, or days with unit `d`) is within 14 d of the age the
/// dates give on its effective day; births are at least 180 d apart (delivery records of one
/// episode, or within `same_birth_days` of each other, are one birth); and PREG episodes of
/// one organisation do not overlap (across organisations that is QC-I04's concurrent
/// enrolment). An open episode lasts until `T`.
pub struct T15PregnancyTimeline {
    p: T15Params,
    codes: PregnancyCodes,
}

impl T15PregnancyTimeline {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        Ok(Self {
            p: params.section("T15")?,
            codes: PregnancyCodes::new(params)?,
        })
    }
}

impl Rule for T15PregnancyTimeline {
    rule_meta!("QC-T15", T, severity: p.severity, defaults: ["same_birth_days"]);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let f = &resident.facts;
        let p = &self.p;
        let today = at.date();
        let preg = pregnancies(f, &self.codes, at);
        let mut out = Vec::new();
        let mut push = |evidence: Vec<u64>, message: String| {
            out.push(finding(self, resident, evidence, at, message));
        };
        for x in &preg {
            let lmp = x.recorded_lmp();
            if let (Some(l), Some(d)) = (lmp, x.deliveries.first()) {
                let weeks = days(l.day, d.day).div_euclid(7);
                if weeks < p.min_weeks || days(l.day, d.day) >= 7 * (p.max_weeks + 1) {
                    let mut e = x.evidence(&l);
                    e.push(d.leaf);
                    push(
                        e,
                        format!(
                            "The delivery on {} is {} after the {}; a pregnancy lasts {}–{} weeks.",
                            d.day,
                            ga_text(l.day, d.day),
                            dated(&l),
                            p.min_weeks,
                            p.max_weeks
                        ),
                    );
                }
            }
            if let (Some(lo), Some(eo)) = (x.lmp_obs, x.edd_obs)
                && let (Some(l), Some(e)) = (lo.value_day, eo.value_day)
            {
                let off = days(plus(l, EDD_DAYS), e);
                if off.abs() > p.edd_tolerance_days {
                    push(
                        vec![x.episode.leaf, lo.leaf, eo.leaf],
                        format!(
                            "The expected delivery date {e} is {} days from the last menstrual period {l} + 280 days ({}); they should agree within {} days.",
                            off.abs(),
                            plus(l, EDD_DAYS),
                            p.edd_tolerance_days
                        ),
                    );
                }
            }
            let Some(l) = lmp else { continue };
            for g in &x.ga_obs {
                let (Some(day), Some(v)) = (g.day, g.value) else {
                    continue;
                };
                let recorded = match g.unit.as_deref() {
                    Some("d") => v,
                    _ => v * 7.0,
                };
                let expected = days(l.day, day) as f64;
                if (recorded - expected).abs() > p.ga_tolerance_days as f64 {
                    let mut e = x.evidence(&l);
                    e.push(g.leaf);
                    push(
                        e,
                        format!(
                            "The gestational age recorded on {day} ({} days) differs by {:.0} days from the {} days the {} gives.",
                            recorded.round(),
                            (recorded - expected).abs(),
                            expected,
                            dated(&l)
                        ),
                    );
                }
            }
        }
        let mut births: Vec<End> = preg
            .iter()
            .filter_map(|x| x.deliveries.first().copied())
            .collect();
        births.extend(standalone_births(
            f,
            &self.codes,
            &preg,
            at,
            p.same_birth_days,
        ));
        births.sort_by_key(|b| (b.day, b.leaf));
        for w in births.windows(2) {
            let gap = days(w[0].day, w[1].day);
            if gap > p.same_birth_days && gap < p.min_birth_gap_days {
                push(
                    vec![w[0].leaf, w[1].leaf],
                    format!(
                        "Two deliveries are recorded {gap} days apart ({} and {}); births are at least {} days apart unless they are the same birth.",
                        w[0].day, w[1].day, p.min_birth_gap_days
                    ),
                );
            }
        }
        for (i, a) in preg.iter().enumerate() {
            let a_end = a.episode.end_day.filter(|d| *d <= today).unwrap_or(today);
            for b in &preg[i + 1..] {
                let same_org = match (&a.episode.organization, &b.episode.organization) {
                    (Some(x), Some(y)) => x == y,
                    _ => true,
                };
                if same_org && b.start < a_end {
                    push(
                        vec![a.episode.leaf, b.episode.leaf],
                        format!(
                            "The pregnancy enrolment starting {} overlaps the one starting {} and running to {a_end}; a woman has one pregnancy at a time.",
                            b.start, a.start
                        ),
                    );
                }
            }
        }
        out
    }
}

#[cfg(test)]
#[path = "maternal_tests.rs"]
mod tests;
