//! A child's growth trajectory (QC-T20), with a small table of the WHO 2006 Child Growth
//! Standards.

use serde::Deserialize;
use time::{Date, OffsetDateTime};

use super::super::facts::{Obs, add_months};
use super::super::field::finding;
use super::super::params::{Params, ParamsError, Severity};
use super::super::{Finding, ResidentView, Rule, rule_meta};
use super::days;
use crate::model::Gender;

/// WHO 2006 LMS parameters `(age in months, L, M, S)` at a few ages, from the WHO tables
/// (wfa_*_0_5, lhfa_*_0_2, lhfa_*_2_5 z-score files). Between two ages the parameters are
/// interpolated linearly: the median is then off by at most about 2% (steepest in the first
/// months), well inside the −6..+5 plausibility bounds this table serves, which flag data
/// errors, not growth faltering.
const WEIGHT_BOYS: &[(f64, f64, f64, f64)] = &[
    (0.0, 0.3487, 3.3464, 0.14602),
    (1.0, 0.2297, 4.4709, 0.13395),
    (2.0, 0.1970, 5.5675, 0.12385),
    (3.0, 0.1738, 6.3762, 0.11727),
    (6.0, 0.1257, 7.9340, 0.10958),
    (9.0, 0.0917, 8.9014, 0.10881),
    (12.0, 0.0644, 9.6479, 0.10925),
    (18.0, 0.0211, 10.9385, 0.11119),
    (24.0, -0.0137, 12.1515, 0.11426),
    (36.0, -0.0689, 14.3429, 0.12116),
    (48.0, -0.1131, 16.3489, 0.12759),
    (60.0, -0.1506, 18.3366, 0.13517),
];
const WEIGHT_GIRLS: &[(f64, f64, f64, f64)] = &[
    (0.0, 0.3809, 3.2322, 0.14171),
    (1.0, 0.1714, 4.1873, 0.13724),
    (2.0, 0.0962, 5.1282, 0.13000),
    (3.0, 0.0402, 5.8458, 0.12619),
    (6.0, -0.0756, 7.2970, 0.12204),
    (9.0, -0.1507, 8.2254, 0.12199),
    (12.0, -0.2024, 8.9481, 0.12268),
    (18.0, -0.2637, 10.2315, 0.12309),
    (24.0, -0.2941, 11.4775, 0.12390),
    (36.0, -0.3201, 13.8503, 0.12919),
    (48.0, -0.3361, 16.0697, 0.13884),
    (60.0, -0.3518, 18.2193, 0.14821),
];
/// Recumbent length to 24 months, standing height from 24 months (L = 1 throughout).
const LENGTH_BOYS: &[(f64, f64, f64, f64)] = &[
    (0.0, 1.0, 49.8842, 0.03795),
    (1.0, 1.0, 54.7244, 0.03557),
    (2.0, 1.0, 58.4249, 0.03424),
    (3.0, 1.0, 61.4292, 0.03328),
    (6.0, 1.0, 67.6236, 0.03165),
    (9.0, 1.0, 71.9687, 0.03117),
    (12.0, 1.0, 75.7488, 0.03137),
    (18.0, 1.0, 82.2587, 0.03279),
    (24.0, 1.0, 87.8161, 0.03479),
];
const HEIGHT_BOYS: &[(f64, f64, f64, f64)] = &[
    (24.0, 1.0, 87.1161, 0.03507),
    (36.0, 1.0, 96.0835, 0.03858),
    (48.0, 1.0, 103.3273, 0.04059),
    (60.0, 1.0, 109.9638, 0.04214),
];
const LENGTH_GIRLS: &[(f64, f64, f64, f64)] = &[
    (0.0, 1.0, 49.1477, 0.03790),
    (1.0, 1.0, 53.6872, 0.03640),
    (2.0, 1.0, 57.0673, 0.03568),
    (3.0, 1.0, 59.8029, 0.03520),
    (6.0, 1.0, 65.7311, 0.03448),
    (9.0, 1.0, 70.1435, 0.03444),
    (12.0, 1.0, 74.0150, 0.03479),
    (18.0, 1.0, 80.7079, 0.03598),
    (24.0, 1.0, 86.4153, 0.03734),
];
const HEIGHT_GIRLS: &[(f64, f64, f64, f64)] = &[
    (24.0, 1.0, 85.7153, 0.03764),
    (36.0, 1.0, 95.0515, 0.04006),
    (48.0, 1.0, 102.7312, 0.04193),
    (60.0, 1.0, 109.4233, 0.04347),
];

/// Average days per month in the WHO tables.
const DAYS_PER_MONTH: f64 = 30.4375;

/// L, M, S at `age` months, interpolated; `None` outside the table.
fn lms(table: &[(f64, f64, f64, f64)], age: f64) -> Option<(f64, f64, f64)> {
    let i = table.iter().position(|r| r.0 >= age)?;
    let hi = table[i];
    if i == 0 {
        return (hi.0 == age).then_some((hi.1, hi.2, hi.3));
    }
    let lo = table[i - 1];
    let w = (age - lo.0) / (hi.0 - lo.0);
    let mix = |a: f64, b: f64| a + (b - a) * w;
    Some((mix(lo.1, hi.1), mix(lo.2, hi.2), mix(lo.3, hi.3)))
}

/// WHO z-score of `y`, with the WHO's restricted extension beyond ±3 SD (distances measured
/// in the 2–3 SD band), which the WHO flags are defined on.
fn z_score(y: f64, (l, m, s): (f64, f64, f64)) -> f64 {
    let at = |z: f64| {
        if l.abs() < 1e-9 {
            m * (s * z).exp()
        } else {
            m * (1.0 + l * s * z).powf(1.0 / l)
        }
    };
    let z = if l.abs() < 1e-9 {
        (y / m).ln() / s
    } else {
        ((y / m).powf(l) - 1.0) / (l * s)
    };
    if z > 3.0 {
        3.0 + (y - at(3.0)) / (at(3.0) - at(2.0))
    } else if z < -3.0 {
        -3.0 + (y - at(-3.0)) / (at(-2.0) - at(-3.0))
    } else {
        z
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct T20Params {
    severity: Severity,
    max_age_months: i32,
    height_drop_cm: f64,
    height_min_days: i64,
    weight_change: f64,
    weight_max_months: i32,
    weight_from_months: i32,
    z_low: f64,
    z_high: f64,
}

/// One measurement of the child.
struct Point<'a> {
    obs: &'a Obs,
    day: Date,
    value: f64,
    age_days: i64,
}

/// QC-T20: a child's measurements over time. Height (8302-2, cm) does not fall by more than
/// `height_drop_cm` against any height measured `height_min_days` or more earlier; weight
/// (29463-7, kg) does not change by more than `weight_change` (a fraction of the earlier
/// weight) between consecutive weighings at most `weight_max_months` apart once the child is
/// past the neonatal period; and each weight-for-age and length/height-for-age z-score against
/// the WHO 2006 standard (0–60 months, boys and girls; the table above) is within
/// `z_low`..`z_high`. Measurements taken before `max_age_months` count; a value in another unit
/// is QC-F06's finding and is skipped here.
pub struct T20GrowthTrajectory {
    p: T20Params,
    height: String,
    weight: String,
}

impl T20GrowthTrajectory {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        Ok(Self {
            p: params.section("T20")?,
            height: params.codes.height.clone(),
            weight: params.codes.weight.clone(),
        })
    }
}

fn cm(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    format!("{r}")
}

impl Rule for T20GrowthTrajectory {
    rule_meta!(
        "QC-T20",
        T,
        severity: p.severity,
        defaults: ["weight_change", "weight_max_months", "weight_from_months"]
    );
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        let f = &resident.facts;
        let p = &self.p;
        let d = &f.demographics;
        let Some(birth) = d.birth else {
            return Vec::new();
        };
        let points = |code: &str, unit: &str| -> Vec<Point<'_>> {
            f.observations
                .iter()
                .filter(|o| o.code.as_deref() == Some(code))
                .filter(|o| o.unit.as_deref().is_none_or(|u| u == unit))
                .filter(|o| o.at.is_some_and(|t| t <= at))
                .filter_map(|o| {
                    let (day, value) = (o.day?, o.value.filter(|v| *v > 0.0)?);
                    let age = d.age_months(day)?;
                    (age >= 0 && age < p.max_age_months && day >= birth).then_some(Point {
                        obs: o,
                        day,
                        value,
                        age_days: days(birth, day),
                    })
                })
                .collect()
        };
        let heights = points(&self.height, "cm");
        let weights = points(&self.weight, "kg");
        let age_text = |x: &Point<'_>| {
            let m = d.age_months(x.day).unwrap_or(0);
            if m < 1 {
                format!("{} days", x.age_days)
            } else {
                super::months_text(m)
            }
        };
        let mut out = Vec::new();
        for (j, b) in heights.iter().enumerate() {
            let tallest = heights[..j]
                .iter()
                .filter(|a| days(a.day, b.day) >= p.height_min_days)
                .max_by(|x, y| x.value.total_cmp(&y.value));
            if let Some(a) = tallest.filter(|a| a.value - b.value > p.height_drop_cm) {
                out.push(finding(
                    self,
                    resident,
                    vec![a.obs.leaf, b.obs.leaf],
                    at,
                    format!(
                        "The height of {} cm on {} (age {}) is {} cm less than the {} cm measured on {}; a child's height does not shrink.",
                        cm(b.value),
                        b.day,
                        age_text(b),
                        cm(a.value - b.value),
                        cm(a.value),
                        a.day
                    ),
                ));
            }
        }
        for w in weights.windows(2) {
            let (a, b) = (&w[0], &w[1]);
            if d.age_months(a.day).is_none_or(|m| m < p.weight_from_months)
                || add_months(a.day, p.weight_max_months).is_none_or(|last| b.day > last)
            {
                continue;
            }
            let change = (b.value - a.value) / a.value;
            if change.abs() > p.weight_change {
                out.push(finding(
                    self,
                    resident,
                    vec![a.obs.leaf, b.obs.leaf],
                    at,
                    format!(
                        "The weight went from {} kg on {} to {} kg on {}, a change of {:.0}% in {} days; more than {:.0}% is implausible.",
                        cm(a.value),
                        a.day,
                        cm(b.value),
                        b.day,
                        change * 100.0,
                        days(a.day, b.day),
                        p.weight_change * 100.0
                    ),
                ));
            }
        }
        let (weight_table, length_table, height_table, sex) = match d.gender {
            Some(Gender::Male) => (WEIGHT_BOYS, LENGTH_BOYS, HEIGHT_BOYS, "boys"),
            Some(Gender::Female) => (WEIGHT_GIRLS, LENGTH_GIRLS, HEIGHT_GIRLS, "girls"),
            _ => return out,
        };
        let measures = [("weight", "kg", &weights), ("height", "cm", &heights)];
        for (what, unit, list) in measures {
            for x in list.iter() {
                let age = x.age_days as f64 / DAYS_PER_MONTH;
                let table = match what {
                    "weight" => weight_table,
                    _ if age < 24.0 => length_table,
                    _ => height_table,
                };
                let Some(params) = lms(table, age) else {
                    continue;
                };
                let z = z_score(x.value, params);
                if z < p.z_low || z > p.z_high {
                    out.push(finding(
                        self,
                        resident,
                        vec![x.obs.leaf],
                        at,
                        format!(
                            "The {what} of {} {unit} on {} (age {}) is {z:+.1} standard deviations from the WHO median for {sex}; values outside {} to {} are implausible.",
                            cm(x.value),
                            x.day,
                            age_text(x),
                            p.z_low,
                            p.z_high
                        ),
                    ));
                }
            }
        }
        out
    }
}

#[cfg(test)]
#[path = "growth_tests.rs"]
mod tests;
