//! Child health management, 0–6 years (DOMAIN.md §2.3): the CHILD enrolment at birth, the
//! newborn home visit, the one-month check, checks at 3–36 months and yearly at 4–6 years
//! inside their windows (QC-T09), with WHO growth, haemoglobin at 6, 18 and 30 months, the
//! hearing screen at 6, 12, 24 and 36 months and TCM guidance at 6–36 months.

use rand::Rng;
use time::Date;

use super::{ChildCheck, Enrolment, Prog};
use crate::synth::calendar::age_reached;
use crate::synth::codes::{
    CHILD_HC, CHILD_NB, Category, Code, HB, HEARING_SCREEN, HEIGHT, PROG_CHILD, TCM_CHILD, WEIGHT,
};
use crate::synth::fhir::{fixed, int};
use crate::synth::random::{clamp, pick};
use crate::synth::resident::Resident;

/// Months of the checks after the first month; the 4–6 year checks have a window of ±3 months,
/// the others ±1 month, so each is dated up to 14 (45) days after the nominal age: never
/// before it, where the age-limited services (TCM-CHILD from 6 months) would be too early.
const CHECK_MONTHS: [u32; 11] = [3, 6, 8, 12, 18, 24, 30, 36, 48, 60, 72];

impl Resident<'_> {
    pub(super) fn child_checks(&mut self) {
        let at = self.at(self.birth, 8 * 60, 16 * 60);
        self.group(at);
        let episode = self.episode(PROG_CHILD, self.birth, None);
        self.plan.enrolments.push(Enrolment {
            prog: Prog::Child,
            episode,
            condition: None,
            start: self.birth,
        });
        let episode = self.reference_to(episode);
        let z_weight = clamp(self.normal(0.0, 1.0), -2.0, 2.0);
        let z_height = clamp(self.normal(0.0, 1.0), -2.0, 2.0);
        let mut checks: Vec<(Date, Code, &str, u32)> = Vec::new();
        let nb = self.birth + self.days(3, 7);
        checks.push((nb, CHILD_NB, "HH", 0));
        // The one-month check (满月), window 21–45 days.
        let month1 = self.birth + self.days(28, 30);
        checks.push((month1, CHILD_HC, "AMB", 1));
        for months in CHECK_MONTHS {
            let jitter = if months <= 36 {
                self.days(0, 14)
            } else {
                self.days(0, 45)
            };
            let mut date = age_reached(self.birth, months) + jitter;
            // The yearly checks (window ±3 months) are at most 358 days apart, so the archive
            // always has a visit in the last 12 months (QC-T18).
            if let Some(&(previous, ..)) = checks.last()
                && months > 36
            {
                date = date.min(previous + time::Duration::days(358));
            }
            checks.push((date, CHILD_HC, "AMB", months));
        }
        for (date, service, class, months) in checks {
            if date >= self.until {
                break;
            }
            let doctor = pick(&mut self.rng, &self.inst.doctors).clone();
            let start = self.at(date, 8 * 60 + 30, 15 * 60);
            let minutes = self.rng.gen_range(15..=40);
            let programme = Some((episode.as_str(), None));
            let enc = self.encounter(start, minutes, service, class, &doctor, programme);
            let age = (date - self.birth).whole_days() as f64 / 30.4375;
            let sex = usize::from(!self.male);
            let weight =
                growth(&GROWTH[sex][0], age) * (1.0 + 0.10 * z_weight + self.normal(0.0, 0.01));
            let height =
                growth(&GROWTH[sex][1], age) * (1.0 + 0.035 * z_height + self.normal(0.0, 0.001));
            // Infant scales read to 10 g.
            let weight_places = if age < 12.0 { 2 } else { 1 };
            self.quantity_obs(&enc, 5, WEIGHT, fixed(weight, weight_places));
            let height = self.quantity_obs(&enc, 6, HEIGHT, fixed(height, 1));
            if matches!(months, 6 | 18 | 30) {
                let v = clamp(self.normal(122.0, 8.0), 105.0, 145.0);
                self.quantity_obs(&enc, 10, HB, int(v));
            }
            if matches!(months, 6 | 12 | 24 | 36) {
                let result = if self.rng.gen_bool(0.98) {
                    "通过"
                } else {
                    "未通过，建议复查"
                };
                self.local_obs(
                    &enc,
                    12,
                    HEARING_SCREEN,
                    Category::Exam,
                    "valueString",
                    result.into(),
                );
            }
            self.plan.child_checks.push(ChildCheck {
                group: enc.group,
                date,
                months,
                height,
            });
            if matches!(months, 6 | 12 | 18 | 24 | 30 | 36) {
                let tcm = enc.start.plus(minutes + self.rng.gen_range(5..=20));
                self.encounter(tcm, 15, TCM_CHILD, "AMB", &doctor, programme);
            }
        }
    }
}

/// WHO 2006 median weight (kg) and length/height (cm) by age in months, boys then girls.
const GROWTH_MONTHS: [f64; 17] = [
    0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 9.0, 12.0, 18.0, 24.0, 30.0, 36.0, 48.0, 60.0, 72.0, 84.0,
];
const GROWTH: [[[f64; 17]; 2]; 2] = [
    [
        [
            3.3, 4.5, 5.6, 6.4, 7.0, 7.9, 8.6, 8.9, 9.6, 10.9, 12.2, 13.3, 14.3, 16.3, 18.3, 20.5,
            22.9,
        ],
        [
            49.9, 54.7, 58.4, 61.4, 63.9, 67.6, 70.6, 72.0, 75.7, 82.3, 87.8, 91.9, 96.1, 103.3,
            110.0, 116.0, 121.7,
        ],
    ],
    [
        [
            3.2, 4.2, 5.1, 5.8, 6.4, 7.3, 7.9, 8.2, 8.9, 10.2, 11.5, 12.7, 13.9, 15.9, 18.2, 20.2,
            22.4,
        ],
        [
            49.1, 53.7, 57.1, 59.8, 62.1, 65.7, 68.7, 70.1, 74.0, 80.7, 86.4, 90.7, 95.1, 102.7,
            109.4, 115.1, 120.8,
        ],
    ],
];

fn growth(table: &[f64; 17], months: f64) -> f64 {
    let i = GROWTH_MONTHS
        .iter()
        .rposition(|&m| m <= months)
        .unwrap_or(0)
        .min(GROWTH_MONTHS.len() - 2);
    let (m0, m1) = (GROWTH_MONTHS[i], GROWTH_MONTHS[i + 1]);
    let t = clamp((months - m0) / (m1 - m0), 0.0, 1.0);
    table[i] + (table[i + 1] - table[i]) * t
}
