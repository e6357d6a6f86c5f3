//! A reference reading of the QC rules of DOMAIN.md §4 over a generated bundle, with the
//! parameters of `indexer/src/qc/params.toml`, so that the tests can check that the clean
//! population gives no error finding and that each injected defect gives its own. It reads only
//! the JSON, never the generator's plan. Where a rule can be read two ways it takes the reading
//! that fires (`strict` windows) for the clean population, and the other for defects.

use std::collections::{BTreeSet, HashMap};

use hl_ledger::gb11643;
use serde_json::Value;
use time::{Date, Duration};

mod cross;
mod schedules;

use crate::synth::CN_ID_SYSTEM;
use crate::synth::codes::ARCHIVE_NO_SYSTEM;

const PARAMS: &str = include_str!("../../../../../indexer/src/qc/params.toml");

pub(super) struct Params {
    registry: Vec<String>,
    units: HashMap<String, Vec<String>>,
    /// (LOINC, unit, low, high).
    ranges: Vec<(String, String, f64, f64)>,
    elderly: Vec<Vec<String>>,
}

fn strings(v: &toml::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn params() -> Params {
    let t: toml::Table = toml::from_str(PARAMS).expect("params.toml parses");
    let list = |v: &toml::Value| v.as_array().cloned().unwrap_or_default();
    Params {
        registry: strings(&t["F05"]["systems"]),
        units: list(&t["F06"]["units"])
            .iter()
            .map(|u| {
                (
                    u["loinc"].as_str().unwrap_or_default().to_owned(),
                    strings(&u["units"]),
                )
            })
            .collect(),
        ranges: list(&t["F07"]["ranges"])
            .iter()
            .map(|r| {
                let f = |k: &str| r[k].as_float().unwrap_or_default();
                let s = |k: &str| r[k].as_str().unwrap_or_default().to_owned();
                (s("loinc"), s("unit"), f("low"), f("high"))
            })
            .collect(),
        elderly: list(&t["items"]["elderly_check"])
            .iter()
            .map(strings)
            .collect(),
    }
}

pub(super) fn day(v: &Value) -> Option<Date> {
    let s = v.as_str()?.get(..10)?;
    Date::parse(s, time::macros::format_description!("[year]-[month]-[day]")).ok()
}

/// Minutes since 0000-01-01 of a `YYYY-MM-DDTHH:MM…` time (all +08:00).
fn minutes(v: &Value) -> Option<i64> {
    let s = v.as_str()?;
    let d = day(v)?;
    let (h, m): (i64, i64) = (s.get(11..13)?.parse().ok()?, s.get(14..16)?.parse().ok()?);
    Some(i64::from(d.to_julian_day()) * 1440 + h * 60 + m)
}

fn kind(v: &Value) -> &str {
    v["resourceType"].as_str().unwrap_or_default()
}

fn code(c: &Value) -> Option<&str> {
    c["coding"][0]["code"].as_str()
}

fn target(r: &Value) -> Option<&str> {
    r["reference"].as_str()?.strip_prefix("urn:uuid:")
}

fn qty(v: &Value) -> Option<f64> {
    v["valueQuantity"]["value"].as_f64()
}

/// Completed months from `birth` to `d`.
fn months(birth: Date, d: Date) -> i32 {
    let m = (d.year() - birth.year()) * 12 + d.month() as i32 - birth.month() as i32;
    if d.day() < birth.day() { m - 1 } else { m }
}

/// The clinical date of a record.
fn when(v: &Value) -> Option<Date> {
    [
        &v["effectiveDateTime"],
        &v["occurrenceDateTime"],
        &v["performedDateTime"],
        &v["period"]["start"],
        &v["authoredOn"],
        &v["recordedDate"],
        &v["effectivePeriod"]["start"],
        &v["dateAsserted"],
    ]
    .into_iter()
    .find_map(day)
}

fn icd_in(code: &str, sets: &[&str]) -> bool {
    sets.iter().any(|s| match s.split_once('-') {
        Some((lo, hi)) => code.get(..3).is_some_and(|c| lo <= c && c <= hi),
        None => code.starts_with(s),
    })
}

const VS_PREG: [&str; 4] = ["O00-O99", "Z32.1", "Z33-Z37", "Z39"];

#[derive(Clone, Copy)]
struct Vfu<'a> {
    enc: &'a Value,
    date: Date,
    bp: Option<(f64, f64)>,
    fbg: Option<f64>,
    risk: Option<i64>,
}

pub(super) struct Res<'a> {
    t: Date,
    strict: bool,
    birth: Date,
    gender: &'a str,
    death: Option<Date>,
    patient: &'a Value,
    recs: Vec<&'a Value>,
    by_id: HashMap<&'a str, &'a Value>,
    obs_of: HashMap<&'a str, Vec<&'a Value>>,
}

impl<'a> Res<'a> {
    pub(super) fn new(bundle: &'a Value, t: Date, strict: bool) -> Self {
        let all: Vec<&Value> = bundle["entry"]
            .as_array()
            .map(|e| e.iter().map(|x| &x["resource"]).collect())
            .unwrap_or_default();
        let patient = all[0];
        let recs: Vec<&Value> = all[1..].to_vec();
        let mut obs_of: HashMap<&str, Vec<&Value>> = HashMap::new();
        for o in recs.iter().filter(|r| kind(r) == "Observation") {
            if let Some(e) = target(&o["encounter"]) {
                obs_of.entry(e).or_default().push(o);
            }
        }
        Res {
            t,
            strict,
            birth: day(&patient["birthDate"]).unwrap_or(t),
            gender: patient["gender"].as_str().unwrap_or_default(),
            death: day(&patient["deceasedDateTime"]),
            patient,
            by_id: recs
                .iter()
                .filter_map(|r| Some((r["id"].as_str()?, *r)))
                .collect(),
            recs,
            obs_of,
        }
    }

    fn of(&self, k: &'a str) -> impl Iterator<Item = &'a Value> + '_ {
        self.recs.iter().copied().filter(move |r| kind(r) == k)
    }

    fn encounters(&self, service: &'a str) -> Vec<&'a Value> {
        let mut v: Vec<&Value> = self
            .of("Encounter")
            .filter(|e| code(&e["serviceType"]) == Some(service))
            .collect();
        v.sort_by_key(|e| minutes(&e["period"]["start"]));
        v
    }

    fn obs(&self, enc: &Value) -> &[&'a Value] {
        enc["id"]
            .as_str()
            .and_then(|id| self.obs_of.get(id))
            .map_or(&[], Vec::as_slice)
    }

    fn episodes(&self, prog: &'a str) -> impl Iterator<Item = &'a Value> + '_ {
        self.of("EpisodeOfCare")
            .filter(move |e| code(&e["type"][0]) == Some(prog))
    }

    /// Start of the 12-month window: the later reading when strict (fewer visits count).
    fn year(&self) -> Date {
        self.t - Duration::days(if self.strict { 364 } else { 366 })
    }

    fn vfus(&self, prog: &'a str) -> Vec<Vfu<'a>> {
        let service: &'static str = match prog {
            "HTN" => "HTN-FU",
            "T2D" => "T2D-FU",
            _ => "SMI-FU",
        };
        let mut out = Vec::new();
        for e in self.encounters(service) {
            let class = e["class"]["code"].as_str().unwrap_or_default();
            let Some(date) = day(&e["period"]["start"]) else {
                continue;
            };
            if e["status"] != "finished" || !["AMB", "HH", "FLD"].contains(&class) {
                continue;
            }
            let near: Vec<&Value> = self
                .obs(e)
                .iter()
                .copied()
                .filter(|o| {
                    day(&o["effectiveDateTime"]).is_some_and(|d| (d - date).whole_days().abs() <= 1)
                })
                .collect();
            let find = |c: &[&str]| {
                near.iter()
                    .copied()
                    .find(|o| code(&o["code"]).is_some_and(|x| c.contains(&x)))
            };
            let bp = find(&["85354-9"]).and_then(|o| {
                let comp = |c: &str| {
                    o["component"]
                        .as_array()?
                        .iter()
                        .find(|x| code(&x["code"]) == Some(c))
                        .and_then(qty)
                };
                Some((comp("8480-6")?, comp("8462-4")?))
            });
            let fbg = find(&["14771-0", "14770-2"]).and_then(qty);
            let risk = find(&["SMI-RISK"]).and_then(|o| o["valueInteger"].as_i64());
            let valid = match prog {
                "HTN" => bp.is_some(),
                "T2D" => bp.is_some() && fbg.is_some(),
                _ => risk.is_some(),
            };
            if valid {
                out.push(Vfu {
                    enc: e,
                    date,
                    bp,
                    fbg,
                    risk,
                });
            }
        }
        out
    }

    /// The catalogue rules this resident fails (error and warning).
    pub(super) fn findings(&self, p: &Params) -> BTreeSet<&'static str> {
        let mut f = BTreeSet::new();
        let mut fire = |rule: &'static str, cond: bool| {
            if cond {
                f.insert(rule);
            }
        };
        self.field(p, &mut fire);
        self.cross(p, &mut fire);
        self.programmes(&mut fire);
        self.children(&mut fire);
        self.maternal(&mut fire);
        f
    }

    fn field(&self, p: &Params, fire: &mut impl FnMut(&'static str, bool)) {
        let ids = self.patient["identifier"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let value = |sys: &str| {
            ids.iter()
                .find(|i| i["system"] == sys)
                .and_then(|i| i["value"].as_str().map(str::to_owned))
        };
        let card = value(CN_ID_SYSTEM).unwrap_or_default();
        let parsed = gb11643::parse(&card);
        fire("QC-F01", parsed.is_err());
        let archive = value(ARCHIVE_NO_SYSTEM).unwrap_or_default();
        let village: u16 = archive.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
        fire(
            "QC-F02",
            archive.len() != 17 || !matches!(village, 1..=99 | 101..=199 | 901..=999),
        );
        let birth = day(&self.patient["birthDate"]);
        fire(
            "QC-F03",
            self.patient["name"].is_null()
                || self.gender.is_empty()
                || birth.is_none_or(|b| b >= self.t),
        );
        if let Ok(id) = &parsed {
            let sex = if id.sex == gb11643::Sex::Male {
                "male"
            } else {
                "female"
            };
            fire("QC-R05", birth != Some(id.birth_date) || sex != self.gender);
        }
        for r in &self.recs {
            let has = |path: &str| r.pointer(path).is_some_and(|v| !v.is_null());
            let missing = match kind(r) {
                "Encounter" => [
                    "/status",
                    "/class",
                    "/period/start",
                    "/serviceProvider",
                    "/subject",
                ]
                .iter()
                .any(|x| !has(x)),
                "Observation" => {
                    ["/status", "/code", "/subject", "/effectiveDateTime"]
                        .iter()
                        .any(|x| !has(x))
                        || !r.as_object().is_some_and(|o| {
                            o.keys().any(|k| {
                                k.starts_with("value")
                                    || k == "component"
                                    || k == "dataAbsentReason"
                            })
                        })
                }
                "Immunization" => [
                    "/status",
                    "/vaccineCode",
                    "/occurrenceDateTime",
                    "/lotNumber",
                    "/performer/0/actor",
                    "/protocolApplied/0/doseNumberPositiveInt",
                ]
                .iter()
                .any(|x| !has(x)),
                "Condition" => ["/code", "/subject", "/recordedDate"]
                    .iter()
                    .any(|x| !has(x)),
                "EpisodeOfCare" => [
                    "/type",
                    "/patient",
                    "/period/start",
                    "/managingOrganization",
                ]
                .iter()
                .any(|x| !has(x)),
                _ => false,
            };
            fire("QC-F04", missing);
            let concept = match kind(r) {
                "Condition" | "Observation" => Some(&r["code"]),
                "Immunization" => Some(&r["vaccineCode"]),
                "Encounter" => Some(&r["serviceType"]),
                _ => None,
            };
            if let Some(c) = concept {
                let ok = c["coding"].as_array().is_some_and(|cs| {
                    cs.iter().any(|x| {
                        x["system"]
                            .as_str()
                            .is_some_and(|s| p.registry.iter().any(|k| k == s))
                    })
                });
                fire("QC-F05", !ok);
            }
            fire(
                "QC-F08",
                when(r).is_some_and(|d| d > self.t + Duration::days(365)),
            );
            fire(
                "QC-T01",
                [&r["onsetDateTime"], &r["recordedDate"]]
                    .into_iter()
                    .filter_map(day)
                    .chain(when(r))
                    .any(|d| d < self.birth),
            );
            if let Some(death) = self.death {
                let event = matches!(
                    kind(r),
                    "Encounter" | "Observation" | "Immunization" | "Procedure"
                );
                fire("QC-T02", event && when(r).is_some_and(|d| d > death));
            }
            match kind(r) {
                "Encounter" => {
                    let (s, e) = (minutes(&r["period"]["start"]), minutes(&r["period"]["end"]));
                    fire("QC-R02", matches!((s, e), (Some(s), Some(e)) if e < s));
                    fire("QC-R04", r["status"] == "finished" && e.is_none());
                }
                "Condition" => fire(
                    "QC-R04",
                    !r["abatementDateTime"].is_null()
                        && code(&r["clinicalStatus"]) == Some("active"),
                ),
                "Observation" => self.values(p, r, fire),
                _ => {}
            }
        }
    }

    fn values(&self, p: &Params, o: &Value, fire: &mut impl FnMut(&'static str, bool)) {
        fn loinc(c: &Value) -> Option<&str> {
            (c["coding"][0]["system"] == "http://loinc.org")
                .then(|| code(c))
                .flatten()
        }
        let mut values: Vec<(&str, &Value)> = Vec::new();
        if let Some(c) = loinc(&o["code"])
            && o["valueQuantity"].is_object()
        {
            values.push((c, &o["valueQuantity"]));
        }
        for comp in o["component"].as_array().into_iter().flatten() {
            if let Some(c) = loinc(&comp["code"]) {
                values.push((c, &comp["valueQuantity"]));
            }
        }
        for (c, q) in values {
            let unit = q["code"].as_str().unwrap_or_default();
            let v = q["value"].as_f64().unwrap_or_default();
            fire(
                "QC-F06",
                p.units.get(c).is_some_and(|u| !u.iter().any(|x| x == unit)),
            );
            fire(
                "QC-F07",
                p.ranges
                    .iter()
                    .any(|(l, u, lo, hi)| l == c && u == unit && (v < *lo || v > *hi)),
            );
        }
        if code(&o["code"]) == Some("85354-9") {
            let comp = |c: &str| {
                o["component"]
                    .as_array()
                    .and_then(|a| a.iter().find(|x| code(&x["code"]) == Some(c)))
                    .and_then(qty)
            };
            let bad = match (comp("8480-6"), comp("8462-4")) {
                (Some(s), Some(d)) => s <= d || !(10.0..=150.0).contains(&(s - d)),
                _ => true,
            };
            fire("QC-R01", bad);
        }
    }
}
