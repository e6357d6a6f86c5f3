//! Severe mental illness and pulmonary tuberculosis management (DOMAIN.md §2.3).
//!
//! SMI: a risk grade at every follow-up, the next contact within two weeks after a grade of 1
//! or more (with an urgent referral at 3–5), within three months after a grade of 0 (QC-T16).
//!
//! TB: a CDC notice (Task), the first home visit within 72 hours, visits every 7–10 days in the
//! two-month intensive phase and every 26–30 days in the continuation phase, and the case
//! closure assessment after six months (QC-T17).

use rand::Rng;
use serde_json::json;
use time::Duration;

use super::{Dated, Drug, FollowUp, Kind, Prog, Tb, drug};
use crate::synth::calendar::{At, fhir_date};
use crate::synth::codes::{
    COND_TB, Category, PHS_SERVICE, PROG_TB, SMI_FU, SMI_RISK, TB_CLOSURE, TB_FU, TB_NOTICE,
};
use crate::synth::fhir::coded;
use crate::synth::random::uuid;
use crate::synth::records::Course;
use crate::synth::resident::Resident;

pub(super) const SMI_DRUGS: [Drug; 4] = [
    drug("N05AX08", "risperidone", "利培酮片", "2", "mg", 2),
    drug("N05AH03", "olanzapine", "奥氮平片", "10", "mg", 1),
    drug("N05AX12", "aripiprazole", "阿立哌唑片", "10", "mg", 1),
    drug("N05AH04", "quetiapine", "富马酸喹硫平片", "200", "mg", 2),
];

/// The fixed-dose combination of the intensive phase (2HRZE).
const HRZE: Drug = Drug {
    atc: "J04AM06",
    inn: "rifampicin, pyrazinamide, ethambutol and isoniazid",
    zh: "异烟肼利福平吡嗪酰胺乙胺丁醇片",
    dose: "4",
    unit: "片",
    ucum: "{tbl}",
    per_day: 1,
    route: super::ORAL,
};

impl Resident<'_> {
    pub(super) fn smi_follow_ups(&mut self, i: usize) {
        let e = &self.plan.enrolments[i];
        let start = e.start;
        let episode = self.reference_to(e.episode);
        let condition = e.condition.map(|c| self.reference_to(c));
        let mut date = if start < self.window_start {
            self.window_start + self.days(0, 70)
        } else {
            start + self.days(0, 5)
        };
        let mut kind = Kind::Regular;
        while date <= self.last_day() {
            let risk = if date > self.obligations_end() {
                0
            } else {
                match self.rng.gen_range(0..100u32) {
                    0..80 => 0,
                    80..95 => self.rng.gen_range(1..=2),
                    _ => self.rng.gen_range(3..=5),
                }
            };
            let class = if self.rng.gen_bool(0.4) { "HH" } else { "AMB" };
            let doctor = self.family_doctor.clone();
            let at = self.at(date, 8 * 60, 16 * 60 + 30);
            let minutes = self.rng.gen_range(15..=40);
            let programme = (episode.as_str(), condition.as_deref());
            let enc = self.encounter(at, minutes, SMI_FU, class, &doctor, Some(programme));
            let grade = self.local_obs(
                &enc,
                10,
                SMI_RISK,
                Category::Survey,
                "valueInteger",
                risk.into(),
            );
            if risk >= 3 {
                self.referral(&enc, grade, "危险性评估3级以上，紧急转诊精神卫生专业机构");
            }
            self.plan.follow_ups.push(FollowUp {
                prog: Prog::Smi,
                group: enc.group,
                date,
                kind,
                controlled: risk == 0,
                referral: risk >= 3,
                risk,
                classification: None,
            });
            (date, kind) = match risk {
                0 => (date + self.days(60, 82), Kind::Regular),
                1 | 2 => (date + self.days(7, 11), Kind::Revisit),
                _ => (date + self.days(7, 11), Kind::AfterReferral),
            };
        }
    }

    /// A case notified during the history window, managed until closure or the reference date.
    pub(super) fn tuberculosis(&mut self) {
        let notice = self.day_between(self.window_start, self.last_day() - Duration::days(3));
        let notice_at = self.at(notice, 9 * 60, 16 * 60);
        // Visits first: the condition and the episode record how the case ended.
        let mut visits = Vec::new();
        let mut day = notice + self.days(1, 2);
        loop {
            if day > self.last_day() {
                break;
            }
            visits.push(day);
            let since = (day - notice).whole_days();
            if since >= 180 {
                break;
            }
            // The intensive phase lasts until a visit two months in; only then monthly.
            day += if since < 62 {
                self.days(7, 10)
            } else {
                self.days(26, 30)
            };
        }
        let closure = visits
            .last()
            .filter(|d| (**d - notice).whole_days() >= 180)
            .copied();
        let onset_day = notice - self.days(5, 20);
        let onset = self.at(onset_day, 8 * 60, 16 * 60);
        let course = match closure {
            Some(d) => Course::Resolved(At {
                date: d,
                minute: 17 * 60,
            }),
            None => Course::Active,
        };
        let condition = self.condition(COND_TB, onset, notice_at, course);
        let reference = self.reference_to(condition);
        let episode = self.episode(PROG_TB, notice, Some(&reference));
        let id = uuid(&mut self.rng);
        let task = json!({
            "resourceType": "Task",
            "id": id,
            "status": "completed",
            "intent": "order",
            "priority": "urgent",
            "code": coded(PHS_SERVICE, TB_NOTICE),
            "for": {"reference": self.patient},
            "authoredOn": notice_at.fhir(),
            "owner": {"reference": self.inst.org_id},
            "reasonReference": {"reference": reference},
        });
        self.push("Task", id, task);
        let medication = self.medication(&HRZE, notice, notice_at, &reference);
        self.plan.medications.push(medication);
        if let Some(end) = closure {
            self.close_episode(episode, end);
            let r = &mut self.rec_mut(medication).resource;
            r["status"] = "completed".into();
            r["effectivePeriod"]["end"] = fhir_date(end).into();
        }
        self.plan.enrolments.push(super::Enrolment {
            prog: Prog::Tb,
            episode,
            condition: Some(condition),
            start: notice,
        });
        let programme = (self.reference_to(episode), reference);
        let mut dated = Vec::new();
        for (k, &d) in visits.iter().enumerate() {
            let doctor = self.family_doctor.clone();
            let at = self.at(d, 9 * 60, 16 * 60);
            // Supervised treatment at home; the first visit is the 72-hour home visit.
            let class = if k == 0 || self.rng.gen_bool(0.7) {
                "HH"
            } else {
                "AMB"
            };
            let minutes = self.rng.gen_range(15..=40);
            let refs = (programme.0.as_str(), Some(programme.1.as_str()));
            let enc = self.encounter(at, minutes, TB_FU, class, &doctor, Some(refs));
            if Some(d) == closure {
                let outcome = if self.rng.gen_bool(0.8) {
                    "治愈"
                } else {
                    "完成疗程"
                };
                self.local_obs(
                    &enc,
                    10,
                    TB_CLOSURE,
                    Category::Exam,
                    "valueString",
                    outcome.into(),
                );
            }
            dated.push(Dated {
                group: enc.group,
                date: d,
            });
        }
        self.plan.tb = Some(Tb {
            notice,
            visits: dated,
        });
    }
}
