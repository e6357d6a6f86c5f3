//! The hypertension and type 2 diabetes programmes (diagnosis, enrolment, medication and
//! quarterly follow-ups) and the annual health check that both they and the elderly are due.

use rand::Rng;
use serde_json::json;
use time::{Date, Duration};

use super::calendar::{At, add_months, age_years, fhir_date};
use super::codes::{
    ALT, AST, ATC, CHOL, COND_HTN, COND_T2D, CREATININE, FBG, HB, HBA1C, HDL, HEALTH_CHECK,
    HEART_RATE, HTN_FU, ICD10_CN, LDL, Measure, PHS_SERVICE, PROG_HTN, PROG_T2D, T2D_FU, TBIL,
    TRIG, UREA,
};
use super::fhir::{coded, decimal, fixed, int, quantity};
use super::random::{clamp, pick, uuid};
use super::resident::Resident;

#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Prog {
    Htn,
    T2d,
}

pub(super) struct Programme {
    prog: Prog,
    condition: String,
    episode: String,
    enrolled: Date,
}

struct Drug {
    atc: &'static str,
    inn: &'static str,
    zh: &'static str,
    dose: &'static str,
    unit: &'static str,
    ucum: &'static str,
    per_day: u8,
    /// SNOMED CT route: oral or subcutaneous.
    route: (&'static str, &'static str),
}

const ORAL: (&str, &str) = ("26643006", "Oral route");
const SUBCUT: (&str, &str) = ("34206005", "Subcutaneous route");

const fn drug(
    atc: &'static str,
    inn: &'static str,
    zh: &'static str,
    dose: &'static str,
    unit: &'static str,
    per_day: u8,
) -> Drug {
    Drug {
        atc,
        inn,
        zh,
        dose,
        unit,
        ucum: unit,
        per_day,
        route: ORAL,
    }
}

const HTN_DRUGS: [Drug; 7] = [
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

const T2D_DRUGS: [Drug; 5] = [
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

impl Resident<'_> {
    /// Diagnoses the condition at 35 or later (the programme's age floor), either years ago
    /// or within the history window, and enrols the resident.
    pub(super) fn enrol(&mut self, prog: Prog) -> Option<Programme> {
        let from_35 = add_months(self.birth, 35 * 12);
        let earliest = from_35.max(self.reference - Duration::days(15 * 365));
        let latest = self.reference - Duration::days(30);
        if earliest > latest {
            return None;
        }
        let diagnosed = if earliest >= self.window_start || self.rng.gen_bool(0.3) {
            self.day_between(earliest.max(self.window_start), latest)
        } else {
            self.day_between(earliest, self.window_start - Duration::days(1))
        };
        let recorded = self.day_between(diagnosed, diagnosed + Duration::days(7));
        let enrolled = self.day_between(recorded, recorded + Duration::days(14));
        let at = self.at(recorded, 8 * 60, 16 * 60);
        self.group(at);
        let (cond_code, prog_code) = match prog {
            Prog::Htn => (COND_HTN, PROG_HTN),
            Prog::T2d => (COND_T2D, PROG_T2D),
        };
        let condition = uuid(&mut self.rng);
        let onset = self.at(diagnosed, 8 * 60, 16 * 60);
        self.push(
            "Condition",
            &condition,
            json!({
                "resourceType": "Condition",
                "id": condition,
                "clinicalStatus": {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
                }]},
                "verificationStatus": {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                    "code": "confirmed",
                }]},
                "category": [{"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                    "code": "problem-list-item",
                    "display": "Problem List Item",
                }]}],
                "code": coded(ICD10_CN, cond_code),
                "subject": {"reference": self.patient},
                "onsetDateTime": onset.fhir(),
                "recordedDate": at.fhir(),
                "recorder": {"reference": self.family_doctor},
            }),
        );
        let condition = format!("urn:uuid:{condition}");
        let episode = uuid(&mut self.rng);
        self.push(
            "EpisodeOfCare",
            &episode,
            json!({
                "resourceType": "EpisodeOfCare",
                "id": episode,
                "status": "active",
                "type": [coded(PHS_SERVICE, prog_code)],
                "diagnosis": [{"condition": {"reference": condition}, "rank": 1}],
                "patient": {"reference": self.patient},
                "managingOrganization": {"reference": self.inst.org_id},
                "period": {"start": fhir_date(enrolled)},
                "careManager": {"reference": self.family_doctor},
            }),
        );
        let drugs: &[Drug] = match prog {
            Prog::Htn => &HTN_DRUGS,
            Prog::T2d => &T2D_DRUGS,
        };
        let count = if self.rng.gen_bool(0.3) { 2 } else { 1 };
        let first = self.rng.gen_range(0..drugs.len());
        let asserted = At {
            date: enrolled.max(self.window_start),
            minute: at.minute,
        };
        for k in 0..count {
            let d = &drugs[(first + k) % drugs.len()];
            let statement = uuid(&mut self.rng);
            let route_zh = if d.route == ORAL {
                "口服"
            } else {
                "皮下注射"
            };
            let times = match d.per_day {
                1 => "每日一次",
                2 => "每日两次",
                _ => "每日三次",
            };
            self.push(
                "MedicationStatement",
                &statement,
                json!({
                    "resourceType": "MedicationStatement",
                    "id": statement,
                    "status": "active",
                    "medicationCodeableConcept": {
                        "coding": [{"system": ATC, "code": d.atc, "display": d.inn}],
                        "text": d.zh,
                    },
                    "subject": {"reference": self.patient},
                    "effectivePeriod": {"start": fhir_date(enrolled)},
                    "dateAsserted": asserted.fhir(),
                    "informationSource": {"reference": self.family_doctor},
                    "reasonReference": [{"reference": condition}],
                    "dosage": [{
                        "text": format!("{} {} {} {}", d.dose, d.unit, times, route_zh),
                        "timing": {"repeat": {"frequency": d.per_day, "period": 1, "periodUnit": "d"}},
                        "route": {"coding": [{
                            "system": "http://snomed.info/sct",
                            "code": d.route.0,
                            "display": d.route.1,
                        }]},
                        "doseAndRate": [{"doseQuantity": quantity(decimal(d.dose), d.unit, d.ucum)}],
                    }],
                }),
            );
        }
        Some(Programme {
            prog,
            condition,
            episode: format!("urn:uuid:{episode}"),
            enrolled,
        })
    }

    /// Quarterly face-to-face follow-ups (gaps of at most 90 days, so any 12 months hold four),
    /// and a revisit within two weeks after a first uncontrolled result (DOMAIN.md §2.3).
    pub(super) fn follow_ups(&mut self, p: &Programme, comorbid: bool) {
        let mut date = if p.enrolled < self.window_start {
            let start = self.window_start;
            self.day_between(start, start + Duration::days(89))
        } else {
            self.day_between(p.enrolled, p.enrolled + Duration::days(14))
        };
        let mut visits = 0u32;
        while date <= self.reference {
            let controlled = self
                .rng
                .gen_bool(if p.prog == Prog::Htn { 0.7 } else { 0.62 });
            self.follow_up(p, date, controlled, visits, comorbid);
            visits += 1;
            let mut last = date;
            // The revisit is always controlled, so no two consecutive visits are uncontrolled
            // and no referral is ever due.
            if !controlled {
                let revisit = date + Duration::days(self.rng.gen_range(10..=14));
                if revisit <= self.reference {
                    self.follow_up(p, revisit, true, visits, comorbid);
                    visits += 1;
                    last = revisit;
                }
            }
            date = last + Duration::days(self.rng.gen_range(75..=90));
        }
    }

    fn follow_up(
        &mut self,
        p: &Programme,
        date: Date,
        controlled: bool,
        visit: u32,
        comorbid: bool,
    ) {
        let (service, from, to) = match p.prog {
            Prog::Htn => (HTN_FU, 8 * 60, 16 * 60 + 30),
            // Fasting glucose is measured before breakfast.
            Prog::T2d => (T2D_FU, 7 * 60 + 30, 9 * 60 + 30),
        };
        let class = if self.rng.gen_bool(0.15) { "HH" } else { "AMB" };
        let doctor = self.family_doctor.clone();
        let start = self.at(date, from, to);
        let minutes = self.rng.gen_range(10..=30);
        let programme = (p.episode.as_str(), p.condition.as_str());
        let enc = self.encounter(start, minutes, service, class, &doctor, Some(programme));
        let has_htn = p.prog == Prog::Htn || comorbid;
        let (sbp, dbp) = match (p.prog, controlled) {
            (Prog::Htn, false) => self.bp_uncontrolled(),
            _ if has_htn => self.bp_controlled(),
            _ => self.bp_normal(),
        };
        self.blood_pressure(&enc, 2, sbp, dbp);
        match p.prog {
            Prog::Htn => {
                let hr = clamp(self.normal(74.0, 7.0), 56.0, 98.0);
                self.quantity_obs(&enc, 3, HEART_RATE, int(hr));
            }
            Prog::T2d => {
                let fbg = if controlled {
                    clamp(self.normal(6.2, 0.4), 4.4, 6.9)
                } else {
                    clamp(self.normal(8.4, 1.1), 7.0, 13.5)
                };
                self.quantity_obs(&enc, 1, FBG, fixed(fbg, 1));
                // HbA1c twice a year.
                if visit.is_multiple_of(2) {
                    let a1c = if controlled {
                        clamp(self.normal(6.6, 0.4), 5.8, 7.4)
                    } else {
                        clamp(self.normal(7.8, 0.7), 7.0, 10.5)
                    };
                    self.quantity_obs(&enc, 1, HBA1C, fixed(a1c, 1));
                }
            }
        }
        self.weight_and_bmi(&enc, 5, false);
    }

    pub(super) fn health_checks(&mut self, programmes: &[Programme]) {
        // Due from the 65th birthday or from enrolment in a chronic-disease programme.
        let eligible = programmes
            .iter()
            .map(|p| p.enrolled)
            .fold(add_months(self.birth, 65 * 12), Date::min);
        let mut date = if eligible <= self.window_start {
            let start = self.window_start;
            self.day_between(start, start + Duration::days(180))
        } else {
            self.day_between(eligible, eligible + Duration::days(60))
        };
        while date <= self.reference {
            self.health_check(date, programmes);
            // At most 364 days apart, so the last check is within the last 12 months.
            date += Duration::days(self.rng.gen_range(330..=364));
        }
    }

    /// The elderly annual check (DOMAIN.md §2.3): vital signs, anthropometry and the blood
    /// panel. ECG, ultrasound, urine routine and the self-care score are not generated.
    fn health_check(&mut self, date: Date, programmes: &[Programme]) {
        let doctor = pick(&mut self.rng, &self.inst.doctors).clone();
        let start = self.at(date, 7 * 60 + 30, 10 * 60 + 30);
        let minutes = self.rng.gen_range(40..=90);
        let enc = self.encounter(start, minutes, HEALTH_CHECK, "AMB", &doctor, None);
        let htn = programmes
            .iter()
            .any(|p| p.prog == Prog::Htn && p.enrolled <= date);
        let t2d = programmes
            .iter()
            .any(|p| p.prog == Prog::T2d && p.enrolled <= date);
        let (sbp, dbp) = if htn {
            if self.rng.gen_bool(0.7) {
                self.bp_controlled()
            } else {
                self.bp_uncontrolled()
            }
        } else {
            self.bp_normal()
        };
        self.blood_pressure(&enc, 10, sbp, dbp);
        let hr = clamp(self.normal(74.0, 8.0), 55.0, 99.0);
        self.quantity_obs(&enc, 10, HEART_RATE, int(hr));
        self.weight_and_bmi(&enc, 5, true);

        let male = self.male;
        let lab =
            |r: &mut Self, m: Measure, mean: f64, sd: f64, lo: f64, hi: f64, places: usize| {
                let v = clamp(r.normal(mean, sd), lo, hi);
                r.quantity_obs(&enc, 1, m, fixed(v, places));
                v
            };
        if t2d {
            lab(self, FBG, 7.4, 1.2, 4.6, 12.0, 1);
            lab(self, HBA1C, 7.1, 0.7, 5.8, 10.0, 1);
        } else {
            lab(self, FBG, 5.3, 0.45, 4.2, 6.9, 1);
        }
        let (hb_mean, hb_lo, hb_hi) = if male {
            (145.0, 120.0, 175.0)
        } else {
            (130.0, 110.0, 155.0)
        };
        lab(self, HB, hb_mean, 9.0, hb_lo, hb_hi, 0);
        lab(self, ALT, 22.0, 8.0, 7.0, 60.0, 0);
        lab(self, AST, 23.0, 6.0, 10.0, 50.0, 0);
        lab(self, TBIL, 12.0, 4.0, 4.0, 25.0, 1);
        let crea_mean = if male { 84.0 } else { 66.0 };
        lab(self, CREATININE, crea_mean, 12.0, 40.0, 125.0, 0);
        lab(self, UREA, 5.6, 1.2, 2.8, 9.0, 2);
        let tc = lab(self, CHOL, 4.9, 0.8, 3.0, 7.5, 2);
        let tg = lab(self, TRIG, 1.5, 0.6, 0.5, 4.5, 2);
        let hdl = lab(self, HDL, 1.3, 0.25, 0.8, 2.2, 2);
        // Friedewald in mmol/L, so the lipid panel is internally consistent.
        let ldl = (tc - hdl - tg / 2.2).max(1.0);
        self.quantity_obs(&enc, 1, LDL, fixed(ldl, 2));
    }

    fn bp_controlled(&mut self) -> (f64, f64) {
        let sbp = clamp(self.normal(128.0, 6.0), 105.0, 139.0);
        let dbp = clamp(self.normal(79.0, 5.0), 62.0, 89.0);
        coherent_bp(sbp, dbp)
    }

    /// Above target but below the danger thresholds (180/110), which would need a referral.
    fn bp_uncontrolled(&mut self) -> (f64, f64) {
        let sbp = clamp(self.normal(151.0, 8.0), 140.0, 176.0);
        let dbp = clamp(self.normal(92.0, 5.0), 75.0, 108.0);
        coherent_bp(sbp, dbp)
    }

    fn bp_normal(&mut self) -> (f64, f64) {
        let age = age_years(self.birth, self.reference);
        let mean = if age >= 65 { 126.0 } else { 119.0 };
        let sbp = clamp(self.normal(mean, 8.0), 95.0, 138.0);
        let dbp = clamp(self.normal(75.0, 6.0), 58.0, 88.0);
        coherent_bp(sbp, dbp)
    }
}

/// SBP at least 25 above DBP: a pulse pressure clinicians would record.
fn coherent_bp(sbp: f64, dbp: f64) -> (f64, f64) {
    let (sbp, dbp) = (sbp.round(), dbp.round());
    (sbp, dbp.min(sbp - 25.0))
}
