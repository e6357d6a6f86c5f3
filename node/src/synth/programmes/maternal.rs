//! Maternal health management (DOMAIN.md §2.3): the first antenatal visit before 13 weeks with
//! the last menstrual period and the expected delivery date, one visit in each later window
//! (16–20, 21–24, 28–36, 37–40 weeks), the delivery, the postpartum home visit within a week
//! and the 42-day check, after which the episode is closed (QC-T13, T14, T15).

use rand::Rng;
use serde_json::json;
use time::{Date, Duration};

use super::{Dated, Pregnancy};
use crate::synth::calendar::{At, fhir_date};
use crate::synth::codes::{
    ANC, COND_PREG, Category, DELIVERY, EDD, HB, LMP, LOINC, PNC_42D, PNC_HOME, PROG_PREG, SNOMED,
    WEIGHT,
};
use crate::synth::fhir::{coded, fixed, int};
use crate::synth::random::{clamp, uuid};
use crate::synth::records::Course;
use crate::synth::resident::{Encounter, Resident};

/// Gestational age in days of each antenatal visit, in the first days of its window.
const ANC_DAYS: [(i64, i64); 5] = [(56, 84), (113, 115), (148, 150), (197, 202), (260, 262)];
/// First day of the windows of ANC-2… (16, 21, 28 and 37 weeks).
const WINDOWS: [i64; 4] = [112, 147, 196, 259];

impl Resident<'_> {
    pub(super) fn pregnancy(&mut self) {
        let lo = self.window_start - Duration::days(56);
        let hi = self.reference - Duration::days(91);
        if lo > hi {
            return;
        }
        let mut lmp = self.day_between(lo, hi);
        let offsets: Vec<i64> = ANC_DAYS
            .iter()
            .map(|&(from, to)| self.rng.gen_range(from..=to))
            .collect();
        // A pregnancy that has entered a window at the reference date has had its visit: if T
        // falls between a window's first day and its visit (one day of slack for a busy day),
        // the pregnancy starts a little later, so that T is just before the window.
        let ga = (self.reference - lmp).whole_days();
        if let Some(k) = (0..4).find(|&k| (WINDOWS[k]..=offsets[k + 1] + 1).contains(&ga)) {
            lmp += Duration::days(ga - WINDOWS[k] + 1);
        }
        let edd = lmp + Duration::days(280);
        let mut anc_days = Vec::new();
        for off in offsets {
            anc_days.push(self.free_day(lmp + Duration::days(off), 1));
        }
        let delivery = lmp + self.days(266, 286);
        let (home, check) = (self.days(3, 7), self.days(42, 49));
        let pnc_home = self.free_day(delivery + home, 0);
        let pnc_42d = self.free_day(delivery + check, 2);
        let until = self.until;
        let before = move |d: Date| d < until;
        let (delivered, checked_42d) = (before(delivery), before(pnc_42d));

        let first = self.at(anc_days[0], 8 * 60 + 30, 15 * 60);
        let onset = At {
            date: lmp,
            minute: 8 * 60,
        };
        let delivery_at = self.at(delivery, 8 * 60, 23 * 60);
        let course = if delivered {
            Course::Resolved(delivery_at)
        } else {
            Course::Active
        };
        let condition = self.condition(COND_PREG, onset, first, course);
        let reference = self.reference_to(condition);
        let episode = self.episode(PROG_PREG, anc_days[0], Some(&reference));
        let episode_ref = self.reference_to(episode);
        let programme = (episode_ref.as_str(), Some(reference.as_str()));
        let base_weight = self.bmi.min(26.0) * (self.height / 100.0).powi(2);

        let mut anc = Vec::new();
        let mut edd_loc = None;
        for (k, &day) in anc_days.iter().enumerate() {
            if !before(day) {
                break;
            }
            let at = if k == 0 {
                first
            } else {
                self.at(day, 8 * 60 + 30, 15 * 60)
            };
            let doctor = self.family_doctor.clone();
            let minutes = self.rng.gen_range(20..=45);
            let enc = self.encounter(at, minutes, ANC[k], "AMB", &doctor, Some(programme));
            if k == 0 {
                let lmp_value = fhir_date(lmp).into();
                self.observation(
                    &enc,
                    5,
                    LOINC,
                    LMP,
                    Category::Exam,
                    "valueDateTime",
                    lmp_value,
                );
                let edd_value = fhir_date(edd).into();
                edd_loc = Some(self.observation(
                    &enc,
                    6,
                    LOINC,
                    EDD,
                    Category::Exam,
                    "valueDateTime",
                    edd_value,
                ));
                let hb = clamp(self.normal(122.0, 8.0), 105.0, 145.0);
                self.quantity_obs(&enc, 15, HB, int(hb));
            }
            self.maternal_vitals(&enc, base_weight, (day - lmp).whole_days());
            anc.push(Dated {
                group: enc.group,
                date: day,
            });
        }
        let delivery_dated = delivered.then(|| {
            let group = self.group(delivery_at);
            let id = uuid(&mut self.rng);
            let mode = if self.rng.gen_bool(0.65) {
                "阴道分娩"
            } else {
                "剖宫产"
            };
            let procedure = json!({
                "resourceType": "Procedure",
                "id": id,
                "status": "completed",
                "code": coded(SNOMED, DELIVERY),
                "subject": {"reference": self.patient},
                "performedDateTime": delivery_at.fhir(),
                "note": [{"text": format!("{mode}，单胎活产（助产机构分娩记录）")}],
            });
            self.push("Procedure", id, procedure);
            Dated {
                group,
                date: delivery,
            }
        });
        if delivered && before(pnc_home) {
            let at = self.at(pnc_home, 9 * 60, 16 * 60);
            let doctor = self.family_doctor.clone();
            let enc = self.encounter(at, 30, PNC_HOME, "HH", &doctor, Some(programme));
            self.maternal_vitals(&enc, base_weight + 4.0, 0);
        }
        let pnc_42d_dated = (delivered && checked_42d).then(|| {
            let at = self.at(pnc_42d, 8 * 60 + 30, 15 * 60);
            let doctor = self.family_doctor.clone();
            let enc = self.encounter(at, 30, PNC_42D, "AMB", &doctor, Some(programme));
            self.maternal_vitals(&enc, base_weight + 2.5, 0);
            Dated {
                group: enc.group,
                date: pnc_42d,
            }
        });
        if pnc_42d_dated.is_some() {
            self.close_episode(episode, pnc_42d);
        }
        if let Some(edd) = edd_loc {
            self.plan.enrolments.push(super::Enrolment {
                prog: super::Prog::Preg,
                episode,
                condition: Some(condition),
                start: anc_days[0],
            });
            self.plan.pregnancy = Some(Pregnancy {
                lmp,
                edd,
                anc,
                delivery: delivery_dated,
                pnc_42d: pnc_42d_dated,
            });
        }
    }

    /// Blood pressure and weight; `ga_days` > 0 adds the gestational weight gain.
    fn maternal_vitals(&mut self, enc: &Encounter, base_weight: f64, ga_days: i64) {
        let (sbp, dbp) = self.bp_normal();
        self.blood_pressure(enc, 5, sbp, dbp);
        let gain = ((ga_days - 91).max(0) as f64) / 7.0 * 0.45;
        let weight = base_weight + gain + self.normal(0.0, 0.4);
        self.quantity_obs(enc, 6, WEIGHT, fixed(weight, 1));
    }
}
