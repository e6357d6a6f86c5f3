//! One resident's bundle: the order of the random draws, which programmes the resident is in,
//! and the encounter and observation records every programme shares.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use time::{Date, Duration};

use super::calendar::{At, age_years};
use super::chronic::Prog;
use super::codes::{
    ACT_CODE, BMI, BP_PANEL, Category, Code, DBP, HEIGHT, LOINC, Measure, OBS_CATEGORY,
    PHS_SERVICE, SBP, WAIST, WEIGHT,
};
use super::fhir::{bundle_file, coded, entry, fixed, int, quantity, round_to};
use super::institution::Institution;
use super::random::{clamp, normal, pick, uuid};
use super::{SynthFile, SynthOptions, check_options};

/// Records go back this far before the reference date (children's go back to birth).
pub(super) const HISTORY_DAYS: i64 = 3 * 365;

/// Records that belong together (a visit and what was measured at it), ordered by time in the
/// bundle.
struct Group {
    at: At,
    entries: Vec<Value>,
}

pub(super) struct Encounter {
    pub(super) reference: String,
    pub(super) start: At,
    pub(super) practitioner: String,
}

pub(super) struct Resident<'a> {
    pub(super) rng: ChaCha8Rng,
    pub(super) inst: &'a Institution,
    pub(super) reference: Date,
    pub(super) window_start: Date,
    pub(super) birth: Date,
    pub(super) male: bool,
    pub(super) patient: String,
    pub(super) family_doctor: String,
    /// Adult height in cm and usual BMI, for the measurements of adults.
    height: f64,
    bmi: f64,
    groups: Vec<Group>,
}

pub(super) fn resident_with(inst: &Institution, opts: &SynthOptions, n: usize) -> SynthFile {
    if let Err(e) = check_options(opts) {
        panic!("{e}");
    }
    let reference = opts.reference_date;
    let mut rng = resident_rng(opts, n);
    let (male, birth) = sex_and_birth(&mut rng, reference);
    let age = age_years(birth, reference);
    let patient_id = uuid(&mut rng);
    let family_doctor = pick(&mut rng, &inst.doctors).clone();
    let window_start = birth.max(reference - Duration::days(HISTORY_DAYS));
    let mut r = Resident {
        rng,
        inst,
        reference,
        window_start,
        birth,
        male,
        patient: format!("urn:uuid:{patient_id}"),
        family_doctor,
        height: 0.0,
        bmi: 0.0,
        groups: Vec::new(),
    };
    let patient = r.patient_resource(&patient_id, n, age);
    r.height = if male {
        clamp(r.normal(169.0, 6.0), 155.0, 188.0)
    } else {
        clamp(r.normal(158.0, 5.5), 145.0, 175.0)
    } - if age >= 70 { 2.0 } else { 0.0 };
    r.bmi = clamp(r.normal(23.8, 3.0), 17.5, 33.0);

    let mut programmes = Vec::new();
    if age >= 35 {
        let (p_htn, p_t2d) = match age {
            35..45 => (0.08, 0.03),
            45..55 => (0.17, 0.07),
            55..65 => (0.28, 0.11),
            65..75 => (0.36, 0.15),
            _ => (0.42, 0.15),
        };
        for (prog, p) in [(Prog::Htn, p_htn), (Prog::T2d, p_t2d)] {
            if r.rng.gen_bool(p)
                && let Some(programme) = r.enrol(prog)
            {
                programmes.push(programme);
            }
        }
    }
    if !programmes.is_empty() {
        r.bmi = (r.bmi + 1.5).min(35.0);
    }
    for programme in &programmes {
        r.follow_ups(programme, programmes.len() > 1);
    }
    if age >= 35 {
        r.health_checks(&programmes);
    }
    if age < 7 {
        r.child_checks();
    }
    if age < 18 {
        r.immunizations();
    }

    let mut groups = std::mem::take(&mut r.groups);
    // Stable, so records of the same minute keep the order they were made in.
    groups.sort_by_key(|g| g.at);
    let mut entries = Vec::with_capacity(1 + groups.iter().map(|g| g.entries.len()).sum::<usize>());
    entries.push(entry("Patient", &patient_id, patient));
    entries.extend(groups.into_iter().flat_map(|g| g.entries));
    bundle_file(format!("resident-{:06}.json", n + 1), entries)
}

fn resident_rng(opts: &SynthOptions, n: usize) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    rng.set_stream(n as u64);
    rng
}

/// The first draws of a resident's stream: whether male, and the birth date.
fn sex_and_birth(rng: &mut ChaCha8Rng, reference: Date) -> (bool, Date) {
    let male = rng.gen_bool(0.51);
    let age_days: i64 = {
        let bucket = rng.gen_range(0..100u32);
        let years = match bucket {
            0..8 => 0..7,
            8..17 => 7..18,
            17..35 => 18..35,
            35..75 => 35..65,
            75..95 => 65..80,
            _ => 80..96,
        };
        rng.gen_range(years.start * 365..years.end * 365)
    };
    (male, reference - Duration::days(age_days))
}

/// Resident `n`'s identity number as [`resident_with`] writes it, without the cost of
/// generating the records.
#[cfg(test)]
pub(super) fn resident_id_number(inst: &Institution, opts: &SynthOptions, n: usize) -> String {
    let mut rng = resident_rng(opts, n);
    let (male, birth) = sex_and_birth(&mut rng, opts.reference_date);
    super::identity::id_number(inst.district, n, birth, male)
}

impl Resident<'_> {
    pub(super) fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        normal(&mut self.rng, mean, sd)
    }

    pub(super) fn day_between(&mut self, lo: Date, hi: Date) -> Date {
        let span = (hi - lo).whole_days().max(0);
        lo + Duration::days(self.rng.gen_range(0..=span))
    }

    pub(super) fn at(&mut self, date: Date, from: u16, to: u16) -> At {
        At {
            date,
            minute: self.rng.gen_range(from..=to),
        }
    }

    pub(super) fn group(&mut self, at: At) {
        self.groups.push(Group {
            at,
            entries: Vec::new(),
        });
    }

    pub(super) fn push(&mut self, resource_type: &str, id: &str, resource: Value) {
        let e = entry(resource_type, id, resource);
        if let Some(group) = self.groups.last_mut() {
            group.entries.push(e);
        }
    }

    pub(super) fn encounter(
        &mut self,
        start: At,
        minutes: u16,
        service: Code,
        class: &str,
        practitioner: &str,
        programme: Option<(&str, &str)>,
    ) -> Encounter {
        self.group(start);
        let id = uuid(&mut self.rng);
        let class_display = if class == "HH" {
            "home health"
        } else {
            "ambulatory"
        };
        let mut resource = json!({
            "resourceType": "Encounter",
            "id": id,
            "status": "finished",
            "class": {"system": ACT_CODE, "code": class, "display": class_display},
            "serviceType": coded(PHS_SERVICE, service),
            "subject": {"reference": self.patient},
        });
        if let Some((episode, _)) = programme {
            resource["episodeOfCare"] = json!([{"reference": episode}]);
        }
        resource["participant"] = json!([{"individual": {"reference": practitioner}}]);
        resource["period"] = json!({"start": start.fhir(), "end": start.plus(minutes).fhir()});
        if let Some((_, condition)) = programme {
            resource["reasonReference"] = json!([{"reference": condition}]);
        }
        resource["serviceProvider"] = json!({"reference": self.inst.org_id});
        self.push("Encounter", &id, resource);
        Encounter {
            reference: format!("urn:uuid:{id}"),
            start,
            practitioner: practitioner.to_owned(),
        }
    }

    fn observation_base(
        &mut self,
        enc: &Encounter,
        offset: u16,
        code: Code,
        category: Category,
    ) -> (String, Value) {
        let id = uuid(&mut self.rng);
        let (cat_code, cat_display) = match category {
            Category::VitalSigns => ("vital-signs", "Vital Signs"),
            Category::Laboratory => ("laboratory", "Laboratory"),
        };
        let resource = json!({
            "resourceType": "Observation",
            "id": id,
            "status": "final",
            "category": [{"coding": [{"system": OBS_CATEGORY, "code": cat_code, "display": cat_display}]}],
            "code": coded(LOINC, code),
            "subject": {"reference": self.patient},
            "encounter": {"reference": enc.reference},
            "effectiveDateTime": enc.start.plus(offset).fhir(),
            "performer": [{"reference": enc.practitioner}],
        });
        (id, resource)
    }

    pub(super) fn quantity_obs(&mut self, enc: &Encounter, offset: u16, m: Measure, value: Value) {
        let (id, mut resource) = self.observation_base(enc, offset, m.code, m.category);
        resource["valueQuantity"] = quantity(value, m.unit, m.ucum);
        self.push("Observation", &id, resource);
    }

    pub(super) fn blood_pressure(&mut self, enc: &Encounter, offset: u16, sbp: f64, dbp: f64) {
        let (id, mut resource) = self.observation_base(enc, offset, BP_PANEL, Category::VitalSigns);
        resource["component"] = json!([
            {"code": coded(LOINC, SBP), "valueQuantity": quantity(int(sbp), "mmHg", "mm[Hg]")},
            {"code": coded(LOINC, DBP), "valueQuantity": quantity(int(dbp), "mmHg", "mm[Hg]")},
        ]);
        self.push("Observation", &id, resource);
    }

    /// Weight and a BMI computed from the recorded (rounded) weight, so the two agree; the
    /// annual check also measures height and waist.
    pub(super) fn weight_and_bmi(&mut self, enc: &Encounter, offset: u16, full: bool) {
        let height = round_to(self.height, 1);
        let weight = round_to(
            self.bmi * (height / 100.0) * (height / 100.0) * (1.0 + self.normal(0.0, 0.012)),
            1,
        );
        if full {
            self.quantity_obs(enc, offset, HEIGHT, fixed(height, 1));
        }
        self.quantity_obs(enc, offset, WEIGHT, fixed(weight, 1));
        let bmi = weight / ((height / 100.0) * (height / 100.0));
        if full {
            let waist = clamp(
                3.4 * bmi + if self.male { 3.0 } else { 0.0 } + self.normal(0.0, 4.0),
                60.0,
                120.0,
            );
            self.quantity_obs(enc, offset, WAIST, fixed(waist, 1));
        }
        self.quantity_obs(enc, offset, BMI, fixed(bmi, 1));
    }
}
