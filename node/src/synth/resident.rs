//! One resident: the order of the random draws, which programmes the resident is in, and the
//! records grouped by the visit they belong to. The groups stay addressable until the bundle is
//! written, so that `defects` can find a visit and change or drop it.

use std::collections::BTreeSet;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};
use time::{Date, Duration};

use super::calendar::{At, age_years};
use super::codes::{ACT_CODE, Code, PHS_SERVICE};
use super::defects;
use super::fhir::{bundle_file, coded, entry};
use super::institution::Institution;
use super::labels::Label;
use super::programmes::Plan;
use super::random::{clamp, normal, pick, uuid};
use super::{SynthFile, SynthOptions, check_options};

/// Records go back this far before the reference date (children's go back to birth).
pub(super) const HISTORY_DAYS: i64 = 3 * 365;

/// A record's place: (group, index in the group).
pub(super) type Loc = (usize, usize);

pub(super) struct Rec {
    pub(super) kind: &'static str,
    pub(super) id: String,
    pub(super) resource: Value,
}

impl Rec {
    /// `Kind/id`, as the labels name records.
    pub(super) fn key(&self) -> String {
        format!("{}/{}", self.kind, self.id)
    }
}

/// Records that belong together (a visit and what was recorded at it), ordered by time in the
/// bundle. A dropped visit is a group emptied in place, so other groups keep their index.
pub(super) struct Group {
    pub(super) at: At,
    pub(super) recs: Vec<Rec>,
}

pub(super) struct Encounter {
    pub(super) reference: String,
    pub(super) start: At,
    pub(super) practitioner: String,
    pub(super) group: usize,
}

pub(super) struct Resident<'a> {
    pub(super) rng: ChaCha8Rng,
    pub(super) inst: &'a Institution,
    /// The evaluation day T: every record is dated before it.
    pub(super) reference: Date,
    /// Records are dated before this day: the reference date, or the day of death.
    pub(super) until: Date,
    pub(super) window_start: Date,
    pub(super) birth: Date,
    pub(super) male: bool,
    pub(super) patient_id: String,
    /// `urn:uuid:` reference to the Patient.
    pub(super) patient: String,
    pub(super) patient_resource: Value,
    pub(super) id_card: String,
    pub(super) family_doctor: String,
    /// Adult height in cm and usual BMI, for the measurements of adults.
    pub(super) height: f64,
    pub(super) bmi: f64,
    pub(super) groups: Vec<Group>,
    pub(super) plan: Plan,
    /// Days with a visit that records vital signs, so that two visits never record the same
    /// measurement on the same day (a QC-X10 duplicate).
    busy: BTreeSet<Date>,
}

/// Resident `n`'s bundle and, when a defect was injected, its label.
pub(super) fn resident_with(
    inst: &Institution,
    opts: &SynthOptions,
    n: usize,
) -> (SynthFile, Option<Label>) {
    if let Err(e) = check_options(opts) {
        panic!("{e}");
    }
    let mut r = Resident::new(inst, opts, n);
    r.programmes();
    let label = defects::inject(&mut r, opts, n);
    (r.into_bundle(n), label)
}

/// The rules a defect could be injected for in resident `n`.
#[cfg(test)]
pub(super) fn applicable_rules(
    inst: &Institution,
    opts: &SynthOptions,
    n: usize,
) -> Vec<&'static str> {
    let mut r = Resident::new(inst, opts, n);
    r.programmes();
    defects::applicable(&r)
}

/// Resident `n` with a defect of `rule`, if it can apply.
#[cfg(test)]
pub(super) fn resident_with_rule(
    inst: &Institution,
    opts: &SynthOptions,
    n: usize,
    rule: &'static str,
) -> Option<(SynthFile, Label)> {
    let mut r = Resident::new(inst, opts, n);
    r.programmes();
    let label = defects::inject_rule(&mut r, rule, opts.seed, n)?;
    Some((r.into_bundle(n), label))
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
        // Born before the reference day: a birth date on it would be after T read as the
        // start of that day (QC-F03).
        rng.gen_range((years.start * 365).max(1)..years.end * 365)
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

impl<'a> Resident<'a> {
    fn new(inst: &'a Institution, opts: &SynthOptions, n: usize) -> Self {
        let reference = opts.reference_date;
        let mut rng = resident_rng(opts, n);
        let (male, birth) = sex_and_birth(&mut rng, reference);
        let patient_id = uuid(&mut rng);
        let family_doctor = pick(&mut rng, &inst.doctors).clone();
        let window_start = birth.max(reference - Duration::days(HISTORY_DAYS));
        let mut r = Resident {
            rng,
            inst,
            reference,
            until: reference,
            window_start,
            birth,
            male,
            patient: format!("urn:uuid:{patient_id}"),
            patient_id,
            patient_resource: Value::Null,
            id_card: String::new(),
            family_doctor,
            height: 0.0,
            bmi: 0.0,
            groups: Vec::new(),
            plan: Plan::default(),
            busy: BTreeSet::new(),
        };
        let age = r.age();
        let (patient, id_card) = r.patient_resource(n, age);
        r.patient_resource = patient;
        r.id_card = id_card;
        r.height = if male {
            clamp(r.normal(169.0, 6.0), 155.0, 188.0)
        } else {
            clamp(r.normal(158.0, 5.5), 145.0, 175.0)
        } - if age >= 70 { 2.0 } else { 0.0 };
        r.bmi = clamp(r.normal(23.8, 3.0), 17.5, 33.0);
        r.draw_death(age);
        r
    }

    /// Some adults died during the history window. Deaths fall before the last 12 months, so
    /// that no programme has a partly enrolled 12-month window at its end: what a death
    /// changes is checked by QC-X12 and QC-T02, not by the cadence rules.
    fn draw_death(&mut self, age: i32) {
        let p = match age {
            35..65 => 0.004,
            65..80 => 0.03,
            80.. => 0.08,
            _ => return,
        };
        if !self.rng.gen_bool(p) {
            return;
        }
        let (lo, hi) = (
            self.window_start + Duration::days(60),
            self.reference - Duration::days(400),
        );
        if lo > hi {
            return;
        }
        let day = self.day_between(lo, hi);
        let at = self.at(day, 8 * 60, 23 * 60 + 59);
        self.until = day;
        self.plan.death = Some(day);
        if let Value::Object(p) = &mut self.patient_resource {
            p.insert("deceasedDateTime".into(), at.fhir().into());
        }
    }

    /// Age in completed years at the reference date.
    pub(super) fn age(&self) -> i32 {
        age_years(self.birth, self.reference)
    }

    /// The last day a record may be dated.
    pub(super) fn last_day(&self) -> Date {
        self.until - Duration::days(1)
    }

    pub(super) fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        normal(&mut self.rng, mean, sd)
    }

    pub(super) fn day_between(&mut self, lo: Date, hi: Date) -> Date {
        let span = (hi - lo).whole_days().max(0);
        lo + Duration::days(self.rng.gen_range(0..=span))
    }

    pub(super) fn days(&mut self, lo: i64, hi: i64) -> Duration {
        Duration::days(self.rng.gen_range(lo..=hi))
    }

    /// A time of day from `from` to `to` minutes after midnight. Clinic times start at 08:00
    /// (UTC+8), so a record's UTC date is its local date and ages in months come out the same
    /// whichever the rules use.
    pub(super) fn at(&mut self, date: Date, from: u16, to: u16) -> At {
        At {
            date,
            minute: self.rng.gen_range(from..=to),
        }
    }

    /// `date`, or the first of the next `slack` days, that no other visit recording vital
    /// signs has taken; marks it taken.
    pub(super) fn free_day(&mut self, date: Date, slack: i64) -> Date {
        let day = (0..=slack)
            .map(|k| date + Duration::days(k))
            .find(|d| !self.busy.contains(d))
            .unwrap_or(date);
        self.busy.insert(day);
        day
    }

    pub(super) fn group(&mut self, at: At) -> usize {
        self.groups.push(Group {
            at,
            recs: Vec::new(),
        });
        self.groups.len() - 1
    }

    /// Adds a record to the latest group.
    pub(super) fn push(&mut self, kind: &'static str, id: String, resource: Value) -> Loc {
        let g = self.groups.len() - 1;
        let recs = &mut self.groups[g].recs;
        recs.push(Rec { kind, id, resource });
        (g, recs.len() - 1)
    }

    pub(super) fn rec(&self, loc: Loc) -> &Rec {
        &self.groups[loc.0].recs[loc.1]
    }

    pub(super) fn rec_mut(&mut self, loc: Loc) -> &mut Rec {
        &mut self.groups[loc.0].recs[loc.1]
    }

    /// `urn:uuid:` reference to the record at `loc`.
    pub(super) fn reference_to(&self, loc: Loc) -> String {
        format!("urn:uuid:{}", self.rec(loc).id)
    }

    /// A finished visit of `minutes`; `programme` is the episode and the condition it serves.
    pub(super) fn encounter(
        &mut self,
        start: At,
        minutes: u16,
        service: Code,
        class: &str,
        practitioner: &str,
        programme: Option<(&str, Option<&str>)>,
    ) -> Encounter {
        let group = self.group(start);
        let id = uuid(&mut self.rng);
        let class_display = match class {
            "HH" => "home health",
            "VR" => "virtual",
            _ => "ambulatory",
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
        if let Some((_, Some(condition))) = programme {
            resource["reasonReference"] = json!([{"reference": condition}]);
        }
        resource["serviceProvider"] = json!({"reference": self.inst.org_id});
        let reference = format!("urn:uuid:{id}");
        self.push("Encounter", id, resource);
        Encounter {
            reference,
            start,
            practitioner: practitioner.to_owned(),
            group,
        }
    }

    fn into_bundle(self, n: usize) -> SynthFile {
        let mut groups = self.groups;
        // Stable, so records of the same minute keep the order they were made in.
        groups.sort_by_key(|g| g.at);
        let mut entries =
            Vec::with_capacity(1 + groups.iter().map(|g| g.recs.len()).sum::<usize>());
        entries.push(entry("Patient", &self.patient_id, self.patient_resource));
        entries.extend(
            groups
                .into_iter()
                .flat_map(|g| g.recs)
                .map(|r| entry(r.kind, &r.id, r.resource)),
        );
        bundle_file(format!("resident-{:06}.json", n + 1), entries)
    }
}
