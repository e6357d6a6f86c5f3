//! The 2021 national immunisation schedule for children (DOMAIN.md §2.3): every dose on or
//! after its minimum age and interval (QC-T10, T11), before its "complete before" age
//! (QC-T12), with its series and dose number, lot and vaccinator (QC-F04).

use rand::Rng;
use serde_json::json;
use time::{Date, Duration};

use super::ImmVisit;
use crate::synth::calendar::{add_months, age_reached};
use crate::synth::codes::{IMM, VACCINE_SYSTEM};
use crate::synth::fhir::{decimal, quantity};
use crate::synth::random::{pick, uuid};
use crate::synth::resident::Resident;

struct Vaccine {
    /// Placeholder codes in the two-digit-class pattern of the national immunisation
    /// information system; check them against the official list before relying on them.
    code: &'static str,
    name: &'static str,
    short: &'static str,
    /// `protocolApplied.series`.
    series: &'static str,
    series_doses: u8,
    /// Doses of one antigen across series (IPV then bOPV for polio) keep their intervals.
    antigen: &'static str,
    /// v3 RouteOfAdministration.
    route: (&'static str, &'static str),
    dose_ml: Option<&'static str>,
}

const IM: (&str, &str) = ("IM", "Injection, intramuscular");
const SC: (&str, &str) = ("SC", "Injection, subcutaneous");
const ID: (&str, &str) = ("IDINJ", "Injection, intradermal");
const PO: (&str, &str) = ("PO", "Swallow, oral");

#[rustfmt::skip]
const VACCINES: [Vaccine; 11] = [
    Vaccine { code: "0101", name: "乙肝疫苗（酿酒酵母）", short: "乙肝疫苗", series: "HepB", series_doses: 3, antigen: "HepB", route: IM, dose_ml: Some("0.5") },
    Vaccine { code: "0201", name: "皮内注射用卡介苗", short: "卡介苗", series: "BCG", series_doses: 1, antigen: "BCG", route: ID, dose_ml: Some("0.1") },
    Vaccine { code: "0311", name: "脊髓灰质炎灭活疫苗（IPV）", short: "脊灰灭活疫苗", series: "IPV", series_doses: 4, antigen: "Polio", route: IM, dose_ml: Some("0.5") },
    Vaccine { code: "0321", name: "二价脊髓灰质炎减毒活疫苗（bOPV）", short: "脊灰减毒活疫苗", series: "bOPV", series_doses: 4, antigen: "Polio", route: PO, dose_ml: None },
    Vaccine { code: "0401", name: "吸附无细胞百白破联合疫苗", short: "百白破疫苗", series: "DTaP", series_doses: 4, antigen: "DTaP", route: IM, dose_ml: Some("0.5") },
    Vaccine { code: "0601", name: "吸附白喉破伤风联合疫苗", short: "白破疫苗", series: "DT", series_doses: 1, antigen: "DT", route: IM, dose_ml: Some("0.5") },
    Vaccine { code: "1201", name: "麻腮风联合减毒活疫苗", short: "麻腮风疫苗", series: "MMR", series_doses: 2, antigen: "MMR", route: SC, dose_ml: Some("0.5") },
    Vaccine { code: "1801", name: "乙型脑炎减毒活疫苗", short: "乙脑减毒活疫苗", series: "JE-L", series_doses: 2, antigen: "JE-L", route: SC, dose_ml: Some("0.5") },
    Vaccine { code: "1601", name: "A群脑膜炎球菌多糖疫苗", short: "A群流脑多糖疫苗", series: "MPSV-A", series_doses: 2, antigen: "MPSV-A", route: SC, dose_ml: Some("0.5") },
    Vaccine { code: "1701", name: "A群C群脑膜炎球菌多糖疫苗", short: "A群C群流脑多糖疫苗", series: "MPSV-AC", series_doses: 2, antigen: "MPSV-AC", route: SC, dose_ml: Some("0.5") },
    Vaccine { code: "1901", name: "甲型肝炎减毒活疫苗", short: "甲肝减毒活疫苗", series: "HepA", series_doses: 1, antigen: "HepA", route: SC, dose_ml: Some("1.0") },
];

const HEPB: usize = 0;
const BCG: usize = 1;
const IPV: usize = 2;
const BOPV: usize = 3;
const DTAP: usize = 4;
const DT: usize = 5;
const MMR: usize = 6;
const JE: usize = 7;
const MENA: usize = 8;
const MENAC: usize = 9;
const HEPA: usize = 10;

/// The least time after the previous dose of the same antigen (DOMAIN.md §2.3).
#[derive(Clone, Copy)]
enum Gap {
    None,
    Days(i64),
    /// Calendar months, and never fewer days than 30.5 a month, so the interval holds however
    /// a rule counts months.
    Months(u32),
}

impl Gap {
    fn after(self, prev: Date) -> Date {
        match self {
            Gap::None => prev,
            Gap::Days(d) => prev + Duration::days(d),
            Gap::Months(m) => {
                add_months(prev, m).max(prev + Duration::days((i64::from(m) * 61 + 1) / 2))
            }
        }
    }
}

/// One dose: vaccine index, dose number in its series, and the gap after the antigen's
/// previous dose.
type Dose = (usize, u8, Gap);

const N: Gap = Gap::None;

/// The 2021 national schedule as visits: age in months and the doses given then (22 doses).
const SCHEDULE: [(u8, &[Dose]); 14] = [
    (0, &[(HEPB, 1, N), (BCG, 1, N)]),
    (1, &[(HEPB, 2, Gap::Days(28))]),
    (2, &[(IPV, 1, N)]),
    (3, &[(IPV, 2, Gap::Days(28)), (DTAP, 1, N)]),
    (4, &[(BOPV, 3, Gap::Days(28)), (DTAP, 2, Gap::Days(28))]),
    (5, &[(DTAP, 3, Gap::Days(28))]),
    (6, &[(HEPB, 3, Gap::Days(60)), (MENA, 1, N)]),
    (8, &[(MMR, 1, N), (JE, 1, N)]),
    (9, &[(MENA, 2, Gap::Months(3))]),
    (
        18,
        &[
            (DTAP, 4, Gap::Months(6)),
            (MMR, 2, Gap::Days(28)),
            (HEPA, 1, N),
        ],
    ),
    (24, &[(JE, 2, Gap::Days(28))]),
    (36, &[(MENAC, 1, N)]),
    (48, &[(BOPV, 4, Gap::Days(28))]),
    (72, &[(DT, 1, N), (MENAC, 2, Gap::Months(36))]),
];

impl Resident<'_> {
    /// The 2021 national schedule, each visit no earlier than the nominal age, no sooner than
    /// 28 days after the previous visit, and respecting each antigen's minimum interval.
    pub(super) fn immunizations(&mut self) {
        let mut previous_visit: Option<Date> = None;
        let mut last_dose: [Option<Date>; 11] = [None; 11];
        let mut arm_left = self.rng.gen_bool(0.5);
        for (months, doses) in SCHEDULE {
            let delay = match months {
                0 => 0,
                1..=12 => self.rng.gen_range(2..=12),
                _ => self.rng.gen_range(2..=25),
            };
            let mut date = age_reached(self.birth, u32::from(months)) + Duration::days(delay);
            if let Some(prev) = previous_visit {
                date = date.max(prev + Duration::days(28));
            }
            for &(v, _, gap) in doses {
                if let Some(prev) = antigen_last(&last_dose, v) {
                    date = date.max(gap.after(prev));
                }
            }
            if date >= self.until {
                break;
            }
            previous_visit = Some(date);
            let nurse = pick(&mut self.rng, &self.inst.nurses).clone();
            let start = self.at(date, 8 * 60 + 30, 16 * 60);
            let minutes = self.rng.gen_range(10..=30);
            let enc = self.encounter(start, minutes, IMM, "AMB", &nurse, None);
            self.plan.imm_visits.push(ImmVisit {
                group: enc.group,
                months,
            });
            for (k, &(v, dose_number, _)) in doses.iter().enumerate() {
                last_dose[v] = Some(date);
                let vaccine = &VACCINES[v];
                let id = uuid(&mut self.rng);
                let at = enc.start.plus(5 + 3 * k as u16);
                let lot = format!(
                    "{}{:02}{}{:03}",
                    date.year() - 1,
                    self.rng.gen_range(1..=12),
                    char::from(b'A' + self.rng.gen_range(0..6u8)),
                    self.rng.gen_range(1..1000)
                );
                let mut resource = json!({
                    "resourceType": "Immunization",
                    "id": id,
                    "status": "completed",
                    "vaccineCode": {
                        "coding": [{"system": VACCINE_SYSTEM, "code": vaccine.code, "display": vaccine.name}],
                        "text": vaccine.short,
                    },
                    "patient": {"reference": self.patient},
                    "encounter": {"reference": enc.reference},
                    "occurrenceDateTime": at.fhir(),
                    "primarySource": true,
                    "lotNumber": lot,
                });
                if vaccine.route != PO {
                    arm_left = !arm_left;
                    let (site, display) = if arm_left {
                        ("LA", "left arm")
                    } else {
                        ("RA", "right arm")
                    };
                    resource["site"] = json!({"coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActSite",
                        "code": site,
                        "display": display,
                    }]});
                }
                resource["route"] = json!({"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration",
                    "code": vaccine.route.0,
                    "display": vaccine.route.1,
                }]});
                if let Some(ml) = vaccine.dose_ml {
                    resource["doseQuantity"] = quantity(decimal(ml), "mL", "mL");
                }
                resource["performer"] = json!([{"actor": {"reference": enc.practitioner}}]);
                resource["protocolApplied"] = json!([{
                    "series": vaccine.series,
                    "doseNumberPositiveInt": dose_number,
                    "seriesDosesPositiveInt": vaccine.series_doses,
                }]);
                self.push("Immunization", id, resource);
            }
        }
    }
}

fn antigen_last(last_dose: &[Option<Date>; 11], vaccine: usize) -> Option<Date> {
    let antigen = VACCINES[vaccine].antigen;
    VACCINES
        .iter()
        .zip(last_dose)
        .filter(|(v, _)| v.antigen == antigen)
        .filter_map(|(_, d)| *d)
        .max()
}
