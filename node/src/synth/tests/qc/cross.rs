//! QC-R03 and the cross-record rules (X).

use std::collections::BTreeSet;

use serde_json::Value;
use time::Duration;

use super::{Params, Res, VS_PREG, code, day, icd_in, months, qty, target, when};

impl Res<'_> {
    pub(super) fn cross(&self, p: &Params, fire: &mut impl FnMut(&'static str, bool)) {
        let male = self.gender == "male";
        let conditions: Vec<&Value> = self.of("Condition").collect();
        let icd = |c: &Value| code(&c["code"]).unwrap_or_default().to_owned();
        for c in &conditions {
            let code = icd(c);
            fire("QC-X01", male && icd_in(&code, &VS_PREG));
            fire(
                "QC-X02",
                male && icd_in(&code, &["C51-C58", "N70-N98"])
                    || self.gender == "female" && icd_in(&code, &["C60-C63", "N40-N51"]),
            );
        }
        for e in self.of("Encounter") {
            let s = code(&e["serviceType"]).unwrap_or_default();
            fire(
                "QC-X01",
                male && (s.starts_with("ANC-") || s.starts_with("PNC-")),
            );
            let Some(d) = day(&e["period"]["start"]) else {
                continue;
            };
            let m = months(self.birth, d);
            fire(
                "QC-X06",
                match s {
                    "TCM-ELDER" => m < 780,
                    "CHILD-HC" => m > 83,
                    "TCM-CHILD" => !(6..=36).contains(&m),
                    _ => false,
                },
            );
            // X09: each linked observation within the visit ±7 days.
            let end = day(&e["period"]["end"]).unwrap_or(d);
            for o in self.obs(e) {
                fire(
                    "QC-X09",
                    day(&o["effectiveDateTime"])
                        .is_some_and(|x| x < d - Duration::days(7) || x > end + Duration::days(7)),
                );
            }
            let value = |c: &str| {
                self.obs(e)
                    .iter()
                    .find(|o| code(&o["code"]) == Some(c))
                    .and_then(|o| qty(o))
            };
            if let (Some(w), Some(h), Some(bmi)) =
                (value("29463-7"), value("8302-2"), value("39156-5"))
            {
                fire("QC-R03", (w / (h / 100.0).powi(2) - bmi).abs() > 0.5);
            }
            if s == "HEALTH-CHECK" && months(self.birth, self.t) >= 780 {
                let codes: BTreeSet<&str> = self
                    .obs(e)
                    .iter()
                    .filter_map(|o| code(&o["code"]))
                    .collect();
                fire(
                    "QC-X11",
                    p.elderly
                        .iter()
                        .any(|alts| !alts.iter().any(|a| codes.contains(a.as_str()))),
                );
            }
        }
        for o in self.of("Observation") {
            fire(
                "QC-X01",
                male && matches!(code(&o["code"]), Some("11778-8" | "11884-4")),
            );
            if code(&o["code"]) == Some("11778-8")
                && let Some(edd) = day(&o["valueDateTime"])
            {
                let age = months(self.birth, edd - Duration::days(280)) / 12;
                fire("QC-X03", !(10..=55).contains(&age));
            }
        }
        let mut seen = BTreeSet::new();
        for o in self.of("Observation") {
            let value = o["valueQuantity"]["value"].to_string()
                + &o["component"].to_string()
                + &o["valueString"].to_string();
            let k = (
                code(&o["code"]).unwrap_or_default().to_owned(),
                when(o),
                value,
            );
            fire("QC-X10", !seen.insert(k));
        }
        let ages = |e: &Value| day(&e["period"]["start"]).map(|d| months(self.birth, d) / 12);
        for e in self.of("EpisodeOfCare") {
            let prog = code(&e["type"][0]).unwrap_or_default();
            fire("QC-X01", male && prog == "PREG");
            fire(
                "QC-X06",
                match prog {
                    "HTN" | "T2D" => ages(e).is_some_and(|a| a < 35),
                    "ELDER" => ages(e).is_some_and(|a| a < 65),
                    "PREG" => male,
                    _ => false,
                },
            );
            if let Some(death) = self.death {
                let end = day(&e["period"]["end"]);
                fire(
                    "QC-X12",
                    e["status"] != "finished" || end.is_none_or(|x| x > death + Duration::days(30)),
                );
            }
            let vs: &[&str] = match prog {
                "HTN" => &["I10-I13"],
                "T2D" => &["E11"],
                "SMI" => &["F20", "F22", "F25", "F31"],
                "TB" => &["A15-A16"],
                _ => continue,
            };
            let dx = e["diagnosis"][0]["condition"].clone();
            let ok = target(&dx)
                .and_then(|id| self.by_id.get(id))
                .is_some_and(|c| {
                    icd_in(&icd(c), vs) && code(&c["verificationStatus"]) == Some("confirmed")
                });
            fire("QC-X04", !ok);
        }
        for c in &conditions {
            let code = icd(c);
            let prog = if icd_in(&code, &["I10-I13"]) {
                "HTN"
            } else if code.starts_with("E11") {
                "T2D"
            } else {
                continue;
            };
            let Some(rec) = day(&c["recordedDate"]) else {
                continue;
            };
            if months(self.birth, rec) >= 420
                && rec + Duration::days(30) < self.t
                && self.death.is_none()
            {
                fire(
                    "QC-X05",
                    !self.episodes(prog).any(|e| {
                        day(&e["period"]["start"]).is_some_and(|s| s <= rec + Duration::days(30))
                    }),
                );
            }
        }
        for m in self.of("MedicationStatement") {
            let atc = code(&m["medicationCodeableConcept"]).unwrap_or_default();
            let dm = conditions
                .iter()
                .any(|c| icd_in(&icd(c), &["E10-E14", "O24"]));
            fire(
                "QC-X07",
                m["status"] == "active" && atc.starts_with("A10") && !dm,
            );
        }
    }
}
