//! Child health: the newborn visit and health checks with WHO growth, and the national
//! immunisation schedule.

use rand::Rng;
use serde_json::json;
use time::{Date, Duration};

use super::calendar::add_months;
use super::codes::{CHILD_HC, CHILD_NB, Code, HB, HEIGHT, IMM, VACCINE_SYSTEM, WEIGHT};
use super::fhir::{decimal, fixed, int, quantity};
use super::random::{clamp, pick, uuid};
use super::resident::Resident;

struct Vaccine {
    /// Placeholder codes in the two-digit-class pattern of the national immunisation
    /// information system; check them against the official list before relying on them.
    code: &'static str,
    name: &'static str,
    short: &'static str,
    series: &'static str,
    series_doses: u8,
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
    Vaccine { code: "0101", name: "乙肝疫苗（酿酒酵母）", short: "乙肝疫苗", series: "HepB", series_doses: 3, route: IM, dose_ml: Some("0.5") },
    Vaccine { code: "0201", name: "皮内注射用卡介苗", short: "卡介苗", series: "BCG", series_doses: 1, route: ID, dose_ml: Some("0.1") },
    Vaccine { code: "0311", name: "脊髓灰质炎灭活疫苗（IPV）", short: "脊灰灭活疫苗", series: "Polio", series_doses: 4, route: IM, dose_ml: Some("0.5") },
    Vaccine { code: "0321", name: "二价脊髓灰质炎减毒活疫苗（bOPV）", short: "脊灰减毒活疫苗", series: "Polio", series_doses: 4, route: PO, dose_ml: None },
    Vaccine { code: "0401", name: "吸附无细胞百白破联合疫苗", short: "百白破疫苗", series: "DTaP", series_doses: 4, route: IM, dose_ml: Some("0.5") },
    Vaccine { code: "0601", name: "吸附白喉破伤风联合疫苗", short: "白破疫苗", series: "DT", series_doses: 1, route: IM, dose_ml: Some("0.5") },
    Vaccine { code: "1201", name: "麻腮风联合减毒活疫苗", short: "麻腮风疫苗", series: "MMR", series_doses: 2, route: SC, dose_ml: Some("0.5") },
    Vaccine { code: "1801", name: "乙型脑炎减毒活疫苗", short: "乙脑减毒活疫苗", series: "JE-L", series_doses: 2, route: SC, dose_ml: Some("0.5") },
    Vaccine { code: "1601", name: "A群脑膜炎球菌多糖疫苗", short: "A群流脑多糖疫苗", series: "MPSV-A", series_doses: 2, route: SC, dose_ml: Some("0.5") },
    Vaccine { code: "1701", name: "A群C群脑膜炎球菌多糖疫苗", short: "A群C群流脑多糖疫苗", series: "MPSV-AC", series_doses: 2, route: SC, dose_ml: Some("0.5") },
    Vaccine { code: "1901", name: "甲型肝炎减毒活疫苗", short: "甲肝减毒活疫苗", series: "HepA-L", series_doses: 1, route: SC, dose_ml: Some("1.0") },
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

/// One dose: vaccine index, dose number in its series, and the least number of days after the
/// series' previous dose (DOMAIN.md §2.3).
type Dose = (usize, u8, i64);

/// The 2021 national schedule as visits: age in months and the doses given then (22 doses).
const SCHEDULE: [(u8, &[Dose]); 14] = [
    (0, &[(HEPB, 1, 0), (BCG, 1, 0)]),
    (1, &[(HEPB, 2, 28)]),
    (2, &[(IPV, 1, 0)]),
    (3, &[(IPV, 2, 28), (DTAP, 1, 0)]),
    (4, &[(BOPV, 3, 28), (DTAP, 2, 28)]),
    (5, &[(DTAP, 3, 28)]),
    (6, &[(HEPB, 3, 60), (MENA, 1, 0)]),
    (8, &[(MMR, 1, 0), (JE, 1, 0)]),
    (9, &[(MENA, 2, 91)]),
    (18, &[(DTAP, 4, 183), (MMR, 2, 28), (HEPA, 1, 0)]),
    (24, &[(JE, 2, 28)]),
    (36, &[(MENAC, 1, 0)]),
    (48, &[(BOPV, 4, 28)]),
    (72, &[(DT, 1, 0), (MENAC, 2, 3 * 365 + 1)]),
];

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

impl Resident<'_> {
    /// Newborn home visit, the one-month check, checks at 3–36 months and yearly at 4–6 years,
    /// with haemoglobin at 8, 18 and 30 months (DOMAIN.md §2.3).
    pub(super) fn child_checks(&mut self) {
        let z_weight = clamp(self.normal(0.0, 1.0), -2.0, 2.0);
        let z_height = clamp(self.normal(0.0, 1.0), -2.0, 2.0);
        let mut checks: Vec<(Date, Code, &str, bool)> = Vec::new();
        let nb = self.birth + Duration::days(self.rng.gen_range(3..=7));
        checks.push((nb, CHILD_NB, "HH", false));
        let month1 = self.birth + Duration::days(self.rng.gen_range(28..=30));
        checks.push((month1, CHILD_HC, "AMB", false));
        for months in [3u32, 6, 8, 12, 18, 24, 30, 36, 48, 60, 72] {
            let jitter = if months <= 36 {
                self.rng.gen_range(-3..=10)
            } else {
                self.rng.gen_range(-15..=30)
            };
            let date = add_months(self.birth, months) + Duration::days(jitter);
            checks.push((date, CHILD_HC, "AMB", matches!(months, 8 | 18 | 30)));
        }
        for (date, service, class, hb) in checks {
            if date > self.reference {
                break;
            }
            let doctor = pick(&mut self.rng, &self.inst.doctors).clone();
            let start = self.at(date, 8 * 60 + 30, 16 * 60);
            let minutes = self.rng.gen_range(15..=40);
            let enc = self.encounter(start, minutes, service, class, &doctor, None);
            let months = (date - self.birth).whole_days() as f64 / 30.4375;
            let sex = usize::from(!self.male);
            let weight =
                growth(&GROWTH[sex][0], months) * (1.0 + 0.10 * z_weight + self.normal(0.0, 0.01));
            let height = growth(&GROWTH[sex][1], months)
                * (1.0 + 0.035 * z_height + self.normal(0.0, 0.001));
            // Infant scales read to 10 g.
            let weight_places = if months < 12.0 { 2 } else { 1 };
            self.quantity_obs(&enc, 5, WEIGHT, fixed(weight, weight_places));
            self.quantity_obs(&enc, 6, HEIGHT, fixed(height, 1));
            if hb {
                let v = clamp(self.normal(122.0, 8.0), 105.0, 145.0);
                self.quantity_obs(&enc, 10, HB, int(v));
            }
        }
    }

    /// The 2021 national schedule, each visit no earlier than the nominal age, no sooner than
    /// 28 days after the previous visit, and respecting each series' minimum interval.
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
            let mut date = add_months(self.birth, u32::from(months)) + Duration::days(delay);
            if let Some(prev) = previous_visit {
                date = date.max(prev + Duration::days(28));
            }
            for &(v, _, interval) in doses {
                let series_prev = series_last(&last_dose, v);
                if let Some(prev) = series_prev {
                    date = date.max(prev + Duration::days(interval));
                }
            }
            if date > self.reference {
                break;
            }
            previous_visit = Some(date);
            let nurse = pick(&mut self.rng, &self.inst.nurses).clone();
            let start = self.at(date, 8 * 60 + 30, 16 * 60);
            let minutes = self.rng.gen_range(10..=30);
            let enc = self.encounter(start, minutes, IMM, "AMB", &nurse, None);
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
                self.push("Immunization", &id, resource);
            }
        }
    }
}

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

fn series_last(last_dose: &[Option<Date>; 11], vaccine: usize) -> Option<Date> {
    // IPV and bOPV doses are one polio series.
    let series = VACCINES[vaccine].series;
    VACCINES
        .iter()
        .zip(last_dose)
        .filter(|(v, _)| v.series == series)
        .filter_map(|(_, d)| *d)
        .max()
}
