//! The national basic public health service programmes (DOMAIN.md §2.3) a resident is enrolled
//! in, by age, sex and prevalence, each an EpisodeOfCare with the visits its rules expect, and
//! the [`Plan`]: where each programme's records are, for `defects`.
//!
//! Evaluation time. The population is "as of" the reference date T (`--reference-date`,
//! default 2026-01-01): every record is dated before that day, and every schedule is met when
//! the rules of DOMAIN.md §4 are evaluated at T (whether T is read as the start or the end of
//! that day). Obligations falling due after T (a revisit, a next contact) are avoided by never
//! generating their trigger within the last 14 days.

mod child;
mod elderly;
mod htn_t2d;
mod immunization;
mod maternal;
mod smi_tb;

use rand::Rng;
use serde_json::json;
use time::{Date, Duration};

use super::calendar::{At, age_reached, fhir_date};
use super::codes::{ATC, SNOMED};
use super::fhir::{decimal, quantity};
use super::random::uuid;
use super::records::Course;
use super::resident::{Loc, Resident};

pub(crate) use htn_t2d::T2D_DRUGS;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Prog {
    Htn,
    T2d,
    Smi,
    Tb,
    Preg,
    Child,
    Elder,
}

/// A programme enrolment: its EpisodeOfCare and qualifying Condition.
pub(super) struct Enrolment {
    pub(super) prog: Prog,
    pub(super) episode: Loc,
    pub(super) condition: Option<Loc>,
    pub(super) start: Date,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// A scheduled quarterly (or risk-driven) follow-up.
    Regular,
    /// The two-week revisit after a first uncontrolled result (QC-T06).
    Revisit,
    /// The contact within two weeks of a referral (QC-T07).
    AfterReferral,
}

/// A programme follow-up (HTN, T2D, SMI).
pub(super) struct FollowUp {
    pub(super) prog: Prog,
    pub(super) group: usize,
    pub(super) date: Date,
    pub(super) kind: Kind,
    pub(super) controlled: bool,
    /// A referral was made at this visit (danger value, SMI risk 3–5).
    pub(super) referral: bool,
    /// SMI risk grade.
    pub(super) risk: u8,
    /// The follow-up classification observation (HTN, T2D).
    pub(super) classification: Option<Loc>,
}

/// A visit of a schedule (health check, child check, antenatal visit…).
#[derive(Clone, Copy)]
pub(super) struct Dated {
    pub(super) group: usize,
    pub(super) date: Date,
}

pub(super) struct ChildCheck {
    pub(super) group: usize,
    pub(super) date: Date,
    /// Nominal age of the check in months (0: newborn visit or one-month check).
    pub(super) months: u32,
    /// The length/height observation.
    pub(super) height: Loc,
}

pub(super) struct ImmVisit {
    pub(super) group: usize,
    /// Nominal age of the visit in months.
    pub(super) months: u8,
}

pub(super) struct Pregnancy {
    pub(super) lmp: Date,
    /// The EDD observation.
    pub(super) edd: Loc,
    /// ANC-1… in order.
    pub(super) anc: Vec<Dated>,
    pub(super) delivery: Option<Dated>,
    pub(super) pnc_42d: Option<Dated>,
}

pub(super) struct Tb {
    pub(super) notice: Date,
    pub(super) visits: Vec<Dated>,
}

/// Where the programme records of a resident are.
#[derive(Default)]
pub(super) struct Plan {
    pub(super) death: Option<Date>,
    pub(super) enrolments: Vec<Enrolment>,
    pub(super) medications: Vec<Loc>,
    pub(super) follow_ups: Vec<FollowUp>,
    pub(super) health_checks: Vec<Dated>,
    pub(super) child_checks: Vec<ChildCheck>,
    pub(super) imm_visits: Vec<ImmVisit>,
    pub(super) pregnancy: Option<Pregnancy>,
    pub(super) tb: Option<Tb>,
}

impl Plan {
    pub(super) fn enrolment(&self, prog: Prog) -> Option<&Enrolment> {
        self.enrolments.iter().find(|e| e.prog == prog)
    }

    pub(super) fn follow_ups_of(&self, prog: Prog) -> impl Iterator<Item = &FollowUp> {
        self.follow_ups.iter().filter(move |f| f.prog == prog)
    }
}

pub(super) struct Drug {
    pub(super) atc: &'static str,
    pub(super) inn: &'static str,
    pub(super) zh: &'static str,
    pub(super) dose: &'static str,
    pub(super) unit: &'static str,
    pub(super) ucum: &'static str,
    pub(super) per_day: u8,
    /// SNOMED CT route: oral or subcutaneous.
    pub(super) route: (&'static str, &'static str),
}

pub(super) const ORAL: (&str, &str) = ("26643006", "Oral route");
pub(super) const SUBCUT: (&str, &str) = ("34206005", "Subcutaneous route");

pub(super) const fn drug(
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

impl Resident<'_> {
    /// Enrols the resident in the programmes their age, sex and the prevalences give, and
    /// generates each programme's records.
    pub(super) fn programmes(&mut self) {
        let age = self.age();
        if age >= 65 {
            self.elderly_enrolment();
        }
        let mut chronic = Vec::new();
        if age >= 35 {
            // Age-specific prevalence: about 25% (HTN) and 10% (T2D) of residents aged 35+.
            let (p_htn, p_t2d) = match age {
                35..45 => (0.08, 0.03),
                45..55 => (0.17, 0.07),
                55..65 => (0.28, 0.11),
                65..75 => (0.36, 0.15),
                _ => (0.42, 0.15),
            };
            for (prog, p) in [(Prog::Htn, p_htn), (Prog::T2d, p_t2d)] {
                if self.rng.gen_bool(p)
                    && let Some(e) = self.enrol_chronic(prog, 35)
                {
                    chronic.push(e);
                }
            }
        }
        if !chronic.is_empty() {
            self.bmi = (self.bmi + 1.5).min(35.0);
        }
        let htn = chronic
            .iter()
            .any(|&i| self.plan.enrolments[i].prog == Prog::Htn);
        for &i in &chronic {
            self.follow_ups(i, htn);
        }
        // About 0.5% of all residents (0.6% of adults).
        if age >= 18
            && self.rng.gen_bool(0.006)
            && let Some(i) = self.enrol_chronic(Prog::Smi, 18)
        {
            self.smi_follow_ups(i);
        }
        let alive = self.plan.death.is_none();
        // About 0.1% of all residents: a case notified during the history window.
        if age >= 15 && alive && self.rng.gen_bool(0.0012) {
            self.tuberculosis();
        }
        if !self.male && (20..=40).contains(&age) && alive && self.rng.gen_bool(0.15) {
            self.pregnancy();
        }
        if age >= 18 {
            self.health_checks();
        }
        if age < 7 {
            self.child_checks();
        }
        if (7..18).contains(&age) {
            self.student_checks();
        }
        if age < 18 {
            self.immunizations();
        }
        if let Some(death) = self.plan.death {
            self.close_at_death(death);
        }
    }

    /// Diagnoses a chronic condition at `min_age` or later (the programme's age floor), years
    /// ago or within the history window, and enrols the resident within two weeks of its
    /// recording. Returns the index of the enrolment.
    fn enrol_chronic(&mut self, prog: Prog, min_age: u32) -> Option<usize> {
        let from_age = age_reached(self.birth, min_age * 12);
        let earliest = from_age.max(self.reference - Duration::days(15 * 365));
        let latest = self.until - Duration::days(30);
        if earliest > latest {
            return None;
        }
        let diagnosed = if earliest >= self.window_start || self.rng.gen_bool(0.3) {
            self.day_between(earliest.max(self.window_start), latest)
        } else {
            self.day_between(earliest, self.window_start - Duration::days(1))
        };
        let recorded = diagnosed + self.days(0, 7);
        // The day after the diagnosis is recorded at the earliest, so the first follow-up is
        // never before it (QC-T19) whatever the times of day.
        let enrolled = recorded + self.days(1, 14);
        let (code, programme) = match prog {
            Prog::Htn => (super::codes::COND_HTN, super::codes::PROG_HTN),
            Prog::T2d => (super::codes::COND_T2D, super::codes::PROG_T2D),
            _ => {
                let i = self.rng.gen_range(0..super::codes::COND_SMI.len());
                (super::codes::COND_SMI[i], super::codes::PROG_SMI)
            }
        };
        let onset = self.at(diagnosed, 8 * 60, 16 * 60);
        let recorded_at = self.at(recorded, 8 * 60, 16 * 60);
        let condition = self.condition(code, onset, recorded_at, Course::Active);
        let reference = self.reference_to(condition);
        let episode = self.episode(programme, enrolled, Some(&reference));
        let asserted = At {
            date: enrolled.max(self.window_start),
            minute: recorded_at.minute,
        };
        let drugs: &[Drug] = match prog {
            Prog::Htn => &htn_t2d::HTN_DRUGS,
            Prog::T2d => &htn_t2d::T2D_DRUGS,
            _ => &smi_tb::SMI_DRUGS,
        };
        let count = if self.rng.gen_bool(0.3) { 2 } else { 1 };
        let first = self.rng.gen_range(0..drugs.len());
        for k in 0..count {
            let d = &drugs[(first + k) % drugs.len()];
            let loc = self.medication(d, enrolled, asserted, &reference);
            self.plan.medications.push(loc);
        }
        self.plan.enrolments.push(Enrolment {
            prog,
            episode,
            condition: Some(condition),
            start: enrolled,
        });
        Some(self.plan.enrolments.len() - 1)
    }

    /// The ELDER enrolment on the 65th birthday.
    fn elderly_enrolment(&mut self) {
        let start = age_reached(self.birth, 65 * 12);
        if start >= self.until {
            return;
        }
        let at = self.at(start, 8 * 60, 16 * 60);
        self.group(at);
        let episode = self.episode(super::codes::PROG_ELDER, start, None);
        self.plan.enrolments.push(Enrolment {
            prog: Prog::Elder,
            episode,
            condition: None,
            start,
        });
    }

    /// A medication the resident takes, as the family doctor recorded it.
    pub(super) fn medication(&mut self, d: &Drug, start: Date, asserted: At, reason: &str) -> Loc {
        let id = uuid(&mut self.rng);
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
        let resource = json!({
            "resourceType": "MedicationStatement",
            "id": id,
            "status": "active",
            "medicationCodeableConcept": {
                "coding": [{"system": ATC, "code": d.atc, "display": d.inn}],
                "text": d.zh,
            },
            "subject": {"reference": self.patient},
            "effectivePeriod": {"start": fhir_date(start)},
            "dateAsserted": asserted.fhir(),
            "informationSource": {"reference": self.family_doctor},
            "reasonReference": [{"reference": reason}],
            "dosage": [{
                "text": format!("{} {} {} {}", d.dose, d.unit, times, route_zh),
                "timing": {"repeat": {"frequency": d.per_day, "period": 1, "periodUnit": "d"}},
                "route": {"coding": [{"system": SNOMED, "code": d.route.0, "display": d.route.1}]},
                "doseAndRate": [{"doseQuantity": quantity(decimal(d.dose), d.unit, d.ucum)}],
            }],
        });
        self.push("MedicationStatement", id, resource)
    }

    /// The archive is closed within days of the death (QC-X12): every episode finished by
    /// death + 30 d, and the medications stopped.
    fn close_at_death(&mut self, death: Date) {
        // `until` is the death itself; the closure may come after it, but before T.
        let last = self.reference - Duration::days(1);
        let episodes: Vec<Loc> = self.plan.enrolments.iter().map(|e| e.episode).collect();
        for loc in episodes {
            let end = (death + self.days(0, 30)).min(last).max(death);
            if self.rec(loc).resource["status"] == "active" {
                self.close_episode(loc, end);
            }
        }
        for loc in self.plan.medications.clone() {
            let r = &mut self.rec_mut(loc).resource;
            r["status"] = "stopped".into();
            r["effectivePeriod"]["end"] = fhir_date(death).into();
        }
    }

    /// The last day a visit may call for a revisit or a contact within 14 days: one called for
    /// later would fall due after the last record day, unmet at T.
    pub(super) fn obligations_end(&self) -> Date {
        self.last_day() - Duration::days(14)
    }
}
