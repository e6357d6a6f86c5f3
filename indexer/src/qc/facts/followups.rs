//! Valid face-to-face follow-ups (DOMAIN.md §4.1 VFU), read with the rest of the facts.

use time::{Duration, OffsetDateTime};

use super::{Facts, Obs};
use crate::qc::params::{Codes, Params};

/// A valid face-to-face follow-up of one programme.
#[derive(Debug, Clone)]
pub struct FollowUp {
    /// Index into [`Facts::visits`].
    pub visit: usize,
    pub leaf: u64,
    pub at: OffsetDateTime,
    /// The encounter's leaf, then its mandatory observations' leaves.
    pub evidence: Vec<u64>,
    /// (SBP, DBP) of the visit's BP panel.
    pub bp: Option<(f64, f64)>,
    /// Fasting glucose in mmol/L.
    pub fbg: Option<f64>,
    pub risk: Option<i64>,
}

impl Facts {
    pub(super) fn valid_follow_ups(&self, programme: &str, params: &Params) -> Vec<FollowUp> {
        let c = &params.codes;
        let service = format!("{programme}-FU");
        let required = params
            .vfu
            .required
            .get(programme)
            .cloned()
            .unwrap_or_default();
        let slack = Duration::days(params.vfu.window_days);
        let mut out = Vec::new();
        for (vi, v) in self.visits.iter().enumerate() {
            let (Some(start), true) = (v.start, v.service.as_deref() == Some(service.as_str()))
            else {
                continue;
            };
            if v.status.as_deref() != Some("finished")
                || !v
                    .class
                    .as_ref()
                    .is_some_and(|x| params.vfu.classes.contains(x))
            {
                continue;
            }
            let end = v.end.unwrap_or(start);
            let obs: Vec<&Obs> = v
                .observations
                .iter()
                .map(|&i| &self.observations[i])
                .filter(|o| o.at.is_some_and(|t| t >= start - slack && t <= end + slack))
                .collect();
            let mut evidence = vec![v.leaf];
            let mut ok = true;
            for group in &required {
                match obs.iter().find(|o| {
                    o.code.as_ref().is_some_and(|code| group.contains(code))
                        && (o.code.as_deref() != Some(c.bp_panel.as_str()) || bp_of(o, c).is_some())
                }) {
                    Some(o) => evidence.push(o.leaf),
                    None => ok = false,
                }
            }
            if !ok {
                continue;
            }
            let in_visit = |codes: &[String]| {
                obs.iter()
                    .find(|o| o.code.as_ref().is_some_and(|x| codes.contains(x)))
                    .copied()
            };
            out.push(FollowUp {
                visit: vi,
                leaf: v.leaf,
                at: start,
                evidence,
                bp: obs.iter().find_map(|o| bp_of(o, c)),
                fbg: fbg_mmol(&obs, c),
                risk: in_visit(std::slice::from_ref(&c.smi_risk)).and_then(|o| o.value_int),
            });
        }
        out
    }
}

/// (SBP, DBP) of a BP panel with both components.
pub fn bp_of(o: &Obs, c: &Codes) -> Option<(f64, f64)> {
    if o.code.as_deref() != Some(c.bp_panel.as_str()) {
        return None;
    }
    let get = |code: &str| o.components.iter().find(|(k, _)| k == code).map(|x| x.1);
    Some((get(&c.sbp)?, get(&c.dbp)?))
}

/// The fasting glucose of a visit's observations in mmol/L (mg/dL converted ÷ 18.016).
pub fn fbg_mmol(obs: &[&Obs], c: &Codes) -> Option<f64> {
    obs.iter().find_map(|o| {
        let code = o.code.as_deref()?;
        if c.fbg_mmol.iter().any(|x| x == code) {
            o.value
        } else if code == c.fbg_mgdl {
            o.value.map(|v| v / 18.016)
        } else {
            None
        }
    })
}
