//! Hypertension and type 2 diabetes management (DOMAIN.md §2.3): quarterly face-to-face
//! follow-ups with the mandatory measurements and a classification that agrees with them, a
//! revisit within two weeks after a first uncontrolled result, and an urgent referral with a
//! contact within two weeks after a danger value.

use rand::Rng;
use time::Date;

use super::{Drug, FollowUp, Kind, Prog, SUBCUT, drug};
use crate::synth::calendar::age_years;
use crate::synth::codes::{
    CONTROLLED, Category, FBG, FOOT_PULSE, HBA1C, HEART_RATE, HTN_CLASS, HTN_FU, T2D_CLASS, T2D_FU,
    UNCONTROLLED,
};
use crate::synth::fhir::{fixed, int};
use crate::synth::random::clamp;
use crate::synth::resident::Resident;

pub(super) const HTN_DRUGS: [Drug; 7] = [
    drug("C08CA01", "amlodipine", "苯磺酸氨氯地平片", "5", "mg", 1),
    drug("C08CA05", "nifedipine", "硝苯地平控释片", "30", "mg", 1),
    drug("C09CA03", "valsartan", "缬沙坦胶囊", "80", "mg", 1),
    drug("C09CA04", "irbesartan", "厄贝沙坦片", "150", "mg", 1),
    drug("C09AA02", "enalapril", "马来酸依那普利片", "10", "mg", 1),
    drug("C07AB02", "metoprolol", "酒石酸美托洛尔片", "25", "mg", 2),
    drug(
        "C03AA03",
        "hydrochlorothiazide",
        "氢氯噻嗪片",
        "12.5",
        "mg",
        1,
    ),
];

pub(crate) const T2D_DRUGS: [Drug; 5] = [
    drug("A10BA02", "metformin", "盐酸二甲双胍片", "500", "mg", 3),
    drug("A10BB12", "glimepiride", "格列美脲片", "2", "mg", 1),
    drug("A10BF01", "acarbose", "阿卡波糖片", "50", "mg", 3),
    drug("A10BH01", "sitagliptin", "磷酸西格列汀片", "100", "mg", 1),
    Drug {
        atc: "A10AE04",
        inn: "insulin glargine",
        zh: "甘精胰岛素注射液",
        dose: "12",
        unit: "U",
        ucum: "[iU]",
        per_day: 1,
        route: SUBCUT,
    },
];

/// What a follow-up finds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Controlled,
    /// Above target, below the danger thresholds.
    Uncontrolled,
    /// SBP ≥180 or DBP ≥110; fasting glucose ≥16.7 mmol/L.
    Danger,
}

impl Resident<'_> {
    /// Follow-ups of enrolment `i` from its start (or the history window) to the last record
    /// day. Gaps between visits are at most 84 days: a first visit within a week of enrolment
    /// and then every 70–84 days gives at least ceil(4 × months enrolled / 12) visits in any
    /// 12-month window (QC-T03/T04), however its months are rounded.
    pub(super) fn follow_ups(&mut self, i: usize, has_htn: bool) {
        let e = &self.plan.enrolments[i];
        let (prog, start) = (e.prog, e.start);
        let episode = self.reference_to(e.episode);
        let condition = e.condition.map(|c| self.reference_to(c));
        let programme = (episode.as_str(), condition.as_deref());
        let mut date = if start < self.window_start {
            self.window_start + self.days(0, 70)
        } else {
            start + self.days(0, 5)
        };
        let (p_danger, p_uncontrolled) = match prog {
            Prog::Htn => (0.03, 0.27),
            _ => (0.02, 0.36),
        };
        loop {
            date = self.free_day(date, 2);
            if date > self.last_day() {
                break;
            }
            let state = if date > self.obligations_end() {
                State::Controlled
            } else {
                let u: f64 = self.rng.r#gen();
                if u < p_danger {
                    State::Danger
                } else if u < p_danger + p_uncontrolled {
                    State::Uncontrolled
                } else {
                    State::Controlled
                }
            };
            self.follow_up(prog, programme, date, state, Kind::Regular, has_htn);
            let mut last = date;
            // The revisit and the contact after a referral find the pressure or glucose back
            // under control, so no two consecutive visits are uncontrolled.
            let next = match state {
                State::Controlled => None,
                State::Uncontrolled => Some((self.days(10, 12), Kind::Revisit)),
                State::Danger => Some((self.days(7, 11), Kind::AfterReferral)),
            };
            if let Some((after, kind)) = next {
                let day = self.free_day(date + after, 2);
                self.follow_up(prog, programme, day, State::Controlled, kind, has_htn);
                last = day;
            }
            date = last + self.days(70, 82);
        }
    }

    fn follow_up(
        &mut self,
        prog: Prog,
        programme: (&str, Option<&str>),
        date: Date,
        state: State,
        kind: Kind,
        has_htn: bool,
    ) {
        let (service, from, to) = match prog {
            Prog::Htn => (HTN_FU, 8 * 60, 16 * 60 + 30),
            // Fasting glucose is measured before breakfast.
            _ => (T2D_FU, 8 * 60, 9 * 60 + 30),
        };
        let class = if self.rng.gen_bool(0.15) { "HH" } else { "AMB" };
        let doctor = self.family_doctor.clone();
        let start = self.at(date, from, to);
        let minutes = self.rng.gen_range(10..=30);
        let enc = self.encounter(start, minutes, service, class, &doctor, Some(programme));
        let (classification, referral) = if prog == Prog::Htn {
            let (sbp, dbp) = match state {
                State::Controlled => self.bp_controlled(),
                State::Uncontrolled => self.bp_uncontrolled(),
                State::Danger => self.bp_danger(),
            };
            let bp = self.blood_pressure(&enc, 2, sbp, dbp);
            let hr = clamp(self.normal(74.0, 7.0), 56.0, 98.0);
            self.quantity_obs(&enc, 3, HEART_RATE, int(hr));
            self.weight_and_bmi(&enc, 5, false);
            // The classification follows the measured values (QC-X08).
            let controlled = sbp < 140.0 && dbp < 90.0;
            let class = if controlled { CONTROLLED } else { UNCONTROLLED };
            let c = self.classification(&enc, HTN_CLASS, class);
            let referral = (state == State::Danger)
                .then(|| self.referral(&enc, bp, "血压≥180/110 mmHg，紧急转诊上级医院"));
            (c, referral)
        } else {
            let fbg = match state {
                State::Controlled => clamp(self.normal(6.2, 0.4), 4.4, 6.9),
                State::Uncontrolled => clamp(self.normal(8.4, 1.1), 7.0, 13.5),
                State::Danger => clamp(self.normal(18.5, 1.2), 16.7, 22.0),
            };
            let fbg = (fbg * 10.0).round() / 10.0;
            let glucose = self.quantity_obs(&enc, 1, FBG, fixed(fbg, 1));
            // HbA1c twice a year.
            let regular = self.plan.follow_ups_of(prog).count();
            if kind == Kind::Regular && regular.is_multiple_of(2) {
                let a1c = match state {
                    State::Controlled => clamp(self.normal(6.6, 0.4), 5.8, 6.9),
                    _ => clamp(self.normal(8.2, 0.8), 7.0, 11.0),
                };
                self.quantity_obs(&enc, 1, HBA1C, fixed(a1c, 1));
            }
            let (sbp, dbp) = if has_htn {
                self.bp_controlled()
            } else {
                self.bp_normal()
            };
            self.blood_pressure(&enc, 3, sbp, dbp);
            let pulse = if self.rng.gen_bool(0.92) {
                "触及正常"
            } else {
                "减弱"
            };
            self.local_obs(
                &enc,
                6,
                FOOT_PULSE,
                Category::Exam,
                "valueString",
                pulse.into(),
            );
            self.weight_and_bmi(&enc, 5, false);
            let class = if fbg < 7.0 { CONTROLLED } else { UNCONTROLLED };
            let c = self.classification(&enc, T2D_CLASS, class);
            let referral = (state == State::Danger)
                .then(|| self.referral(&enc, glucose, "空腹血糖≥16.7 mmol/L，紧急转诊上级医院"));
            (c, referral)
        };
        self.plan.follow_ups.push(FollowUp {
            prog,
            group: enc.group,
            date,
            kind,
            controlled: state == State::Controlled,
            referral: referral.is_some(),
            risk: 0,
            classification: Some(classification),
        });
    }

    pub(super) fn bp_controlled(&mut self) -> (f64, f64) {
        let sbp = clamp(self.normal(128.0, 6.0), 105.0, 139.0);
        let dbp = clamp(self.normal(79.0, 5.0), 62.0, 89.0);
        coherent_bp(sbp, dbp)
    }

    /// Above target but below the danger thresholds (180/110): SBP ≥140 whatever the DBP.
    pub(super) fn bp_uncontrolled(&mut self) -> (f64, f64) {
        let sbp = clamp(self.normal(151.0, 8.0), 140.0, 176.0);
        let dbp = clamp(self.normal(92.0, 5.0), 75.0, 108.0);
        coherent_bp(sbp, dbp)
    }

    /// SBP ≥180: a danger sign that needs an urgent referral.
    fn bp_danger(&mut self) -> (f64, f64) {
        let sbp = clamp(self.normal(186.0, 4.0), 180.0, 198.0);
        let dbp = clamp(self.normal(104.0, 5.0), 92.0, 115.0);
        coherent_bp(sbp, dbp)
    }

    pub(super) fn bp_normal(&mut self) -> (f64, f64) {
        let age = age_years(self.birth, self.reference);
        let mean = if age >= 65 { 126.0 } else { 119.0 };
        let sbp = clamp(self.normal(mean, 8.0), 95.0, 138.0);
        let dbp = clamp(self.normal(75.0, 6.0), 58.0, 88.0);
        coherent_bp(sbp, dbp)
    }
}

/// SBP at least 25 above DBP: a pulse pressure clinicians would record (QC-R01).
fn coherent_bp(sbp: f64, dbp: f64) -> (f64, f64) {
    let (sbp, dbp) = (sbp.round(), dbp.round());
    (sbp, dbp.min(sbp - 25.0))
}
