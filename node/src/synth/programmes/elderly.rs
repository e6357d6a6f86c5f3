//! The health check (健康体检表) and elderly health management (DOMAIN.md §2.3): a check every
//! year for every adult (the spec asks for one every two years below 35; the synthetic archive is
//! a well-kept one, with a contact in every 12 months, so QC-T18 never finds it dormant), a
//! yearly school health check for children aged 7 to 17, with the elderly items (liver, renal, lipids, abdominal ultrasound, self-care) for residents
//! aged 65 or more (QC-X11), and the yearly TCM constitution identification of the elderly
//! (QC-T08).

use rand::Rng;
use time::{Date, Duration};

use super::Prog;
use crate::synth::calendar::{age_reached, age_years};
use crate::synth::codes::{
    ABD_US, ALT, AST, BUN, CHOL, CREATININE, Category, ECG, FBG, HB, HBA1C, HDL, HEALTH_CHECK,
    HEART_RATE, LDL, LOINC, Measure, RESPIRATION, SELF_CARE, TBIL, TCM_CONSTITUTION, TCM_ELDER,
    TEMPERATURE, TRIG, URINALYSIS,
};
use crate::synth::fhir::{fixed, int};
use crate::synth::random::{clamp, pick};
use crate::synth::resident::{Encounter, Resident};

/// The nine constitutions of the TCM questionnaire.
const CONSTITUTIONS: [&str; 9] = [
    "平和质",
    "气虚质",
    "阳虚质",
    "阴虚质",
    "痰湿质",
    "湿热质",
    "血瘀质",
    "气郁质",
    "特禀质",
];

impl Resident<'_> {
    /// Checks from the start of the history window to the last record day. Annual checks are
    /// at most 362 days apart (gap plus the shift off a busy day), so the last is within the
    /// last 12 months.
    pub(super) fn health_checks(&mut self) {
        let age = self.age();
        let elderly = age >= 65;
        let (first, gap) = (self.days(0, 180), (330, 358));
        let mut date = self.window_start + first;
        loop {
            date = self.free_day(date, 4);
            if date > self.last_day() {
                break;
            }
            self.health_check(date, elderly);
            date += self.days(gap.0, gap.1);
        }
        // Turned 65 in the last year, after the last check: the first constitution
        // identification right after the ELDER enrolment.
        let birthday = age_reached(self.birth, 65 * 12);
        if birthday > self.reference - Duration::days(365) && birthday <= self.last_day() {
            let day = (birthday + self.days(0, 14)).min(self.last_day());
            let doctor = self.family_doctor.clone();
            let start = self.at(day, 9 * 60, 16 * 60);
            self.tcm_elder(start, &doctor);
        }
    }

    /// The yearly school health check (入学 and student checks) of a resident aged 7 to 17 at
    /// T (QC-T18: a well-kept archive has a contact in every 12 months): temperature and heart
    /// rate at a HEALTH-CHECK visit, which has no age limit (QC-X06). Counted back from the
    /// last record day, at most 358 days apart, to the history window's start or the 6th
    /// birthday (the school-entry check).
    pub(super) fn student_checks(&mut self) {
        let from = age_reached(self.birth, 6 * 12).max(self.window_start);
        let mut days = Vec::new();
        let mut date = self.last_day() - self.days(7, 180);
        while date >= from {
            days.push(date);
            date -= self.days(330, 354);
        }
        for date in days.into_iter().rev() {
            let date = self.free_day(date, 4).min(self.last_day());
            let doctor = pick(&mut self.rng, &self.inst.doctors).clone();
            let start = self.at(date, 8 * 60, 11 * 60);
            let minutes = self.rng.gen_range(15..=30);
            let enc = self.encounter(start, minutes, HEALTH_CHECK, "AMB", &doctor, None);
            let temperature = clamp(self.normal(36.6, 0.25), 36.0, 37.2);
            self.quantity_obs(&enc, 2, TEMPERATURE, fixed(temperature, 1));
            let hr = clamp(self.normal(82.0, 8.0), 60.0, 110.0);
            self.quantity_obs(&enc, 3, HEART_RATE, int(hr));
        }
    }

    fn health_check(&mut self, date: Date, elderly: bool) {
        let doctor = pick(&mut self.rng, &self.inst.doctors).clone();
        let start = self.at(date, 8 * 60, 10 * 60 + 30);
        let minutes = self.rng.gen_range(40..=90);
        let enc = self.encounter(start, minutes, HEALTH_CHECK, "AMB", &doctor, None);
        self.plan.health_checks.push(super::Dated {
            group: enc.group,
            date,
        });
        let enrolled = |r: &Self, prog| r.plan.enrolment(prog).is_some_and(|e| e.start <= date);
        let (htn, t2d) = (enrolled(self, Prog::Htn), enrolled(self, Prog::T2d));
        let temperature = clamp(self.normal(36.6, 0.25), 36.0, 37.2);
        self.quantity_obs(&enc, 2, TEMPERATURE, fixed(temperature, 1));
        let hr = clamp(self.normal(74.0, 8.0), 55.0, 99.0);
        self.quantity_obs(&enc, 3, HEART_RATE, int(hr));
        let rr = clamp(self.normal(17.0, 1.5), 14.0, 20.0);
        self.quantity_obs(&enc, 3, RESPIRATION, int(rr));
        let (sbp, dbp) = if htn && self.rng.gen_bool(0.3) {
            self.bp_uncontrolled()
        } else if htn {
            self.bp_controlled()
        } else {
            self.bp_normal()
        };
        self.blood_pressure(&enc, 10, sbp, dbp);
        self.weight_and_bmi(&enc, 5, true);
        if t2d {
            self.lab(&enc, FBG, (7.4, 1.2, 4.6, 12.0), 1);
            self.lab(&enc, HBA1C, (7.1, 0.7, 5.8, 10.0), 1);
        } else {
            self.lab(&enc, FBG, (5.3, 0.45, 4.2, 6.9), 1);
        }
        let hb = if self.male {
            (145.0, 9.0, 120.0, 175.0)
        } else {
            (130.0, 9.0, 110.0, 155.0)
        };
        self.lab(&enc, HB, hb, 0);
        let urine = if self.rng.gen_bool(0.9) {
            "尿常规未见异常"
        } else {
            "尿蛋白±，余未见异常"
        };
        self.observation(
            &enc,
            1,
            LOINC,
            URINALYSIS,
            Category::Laboratory,
            "valueString",
            urine.into(),
        );
        // Liver, renal and lipid panels are items of the elderly check (QC-X11) and of the
        // chronic-disease programmes; for other adults they are optional and left out.
        if elderly || htn || t2d {
            self.chemistry(&enc);
        }
        let ecg = if self.rng.gen_bool(0.85) {
            "窦性心律，正常心电图"
        } else {
            "窦性心律，ST-T改变"
        };
        self.observation(
            &enc,
            30,
            LOINC,
            ECG,
            Category::Procedure,
            "valueString",
            ecg.into(),
        );
        if elderly {
            let us = if self.rng.gen_bool(0.8) {
                "肝胆胰脾未见明显异常"
            } else {
                "脂肪肝"
            };
            self.local_obs(
                &enc,
                35,
                ABD_US,
                Category::Imaging,
                "valueString",
                us.into(),
            );
            let score: i64 = if self.rng.gen_bool(0.85) {
                self.rng.gen_range(0..=3)
            } else {
                self.rng.gen_range(4..=8)
            };
            self.local_obs(
                &enc,
                40,
                SELF_CARE,
                Category::Survey,
                "valueInteger",
                score.into(),
            );
        }
        if age_years(self.birth, date) >= 65 {
            let tcm = enc.start.plus(minutes + self.rng.gen_range(5..=30));
            self.tcm_elder(tcm, &doctor);
        }
    }

    fn chemistry(&mut self, enc: &Encounter) {
        self.lab(enc, ALT, (22.0, 8.0, 7.0, 60.0), 0);
        self.lab(enc, AST, (23.0, 6.0, 10.0, 50.0), 0);
        // mg/dL from µmol/L (÷17.1, ÷88.4) and from urea in mmol/L (× 2.8 as nitrogen).
        self.lab(enc, TBIL, (0.70, 0.23, 0.25, 1.45), 2);
        let crea = if self.male { 0.95 } else { 0.75 };
        self.lab(enc, CREATININE, (crea, 0.14, 0.45, 1.40), 2);
        self.lab(enc, BUN, (15.7, 3.4, 8.0, 25.0), 1);
        // Lipids in mg/dL (mmol/L × 38.67, triglyceride × 88.57), LDL by Friedewald so the
        // panel is internally consistent.
        let tc = self.lab(enc, CHOL, (189.0, 31.0, 116.0, 290.0), 0);
        let tg = self.lab(enc, TRIG, (133.0, 53.0, 44.0, 398.0), 0);
        let hdl = self.lab(enc, HDL, (50.0, 9.7, 31.0, 85.0), 0);
        let ldl = (tc - hdl - tg / 5.0).max(40.0);
        self.quantity_obs(enc, 1, LDL, int(ldl));
    }

    /// A laboratory value drawn from (mean, sd, low, high), written with `places` decimals;
    /// returns the value as written.
    fn lab(
        &mut self,
        enc: &Encounter,
        m: Measure,
        dist: (f64, f64, f64, f64),
        places: usize,
    ) -> f64 {
        let (mean, sd, lo, hi) = dist;
        let v = clamp(self.normal(mean, sd), lo, hi);
        let scale = 10f64.powi(places as i32);
        let v = (v * scale).round() / scale;
        self.quantity_obs(enc, 1, m, fixed(v, places));
        v
    }

    /// The TCM constitution identification of a resident aged 65 or more.
    fn tcm_elder(&mut self, start: crate::synth::calendar::At, doctor: &str) {
        let Some(episode) = self.plan.enrolment(Prog::Elder).map(|e| e.episode) else {
            return;
        };
        let episode = self.reference_to(episode);
        let minutes = self.rng.gen_range(15..=30);
        let enc = self.encounter(
            start,
            minutes,
            TCM_ELDER,
            "AMB",
            doctor,
            Some((&episode, None)),
        );
        let i = if self.rng.gen_bool(0.35) {
            0
        } else {
            self.rng.gen_range(1..CONSTITUTIONS.len())
        };
        let value = CONSTITUTIONS[i].into();
        self.local_obs(
            &enc,
            10,
            TCM_CONSTITUTION,
            Category::Survey,
            "valueString",
            value,
        );
    }
}
