//! The schedules: programme follow-ups, referrals, health checks, TB, children and pregnancy.

use std::collections::BTreeMap;

use serde_json::Value;
use time::{Date, Duration};

use super::{Res, Vfu, code, day, kind, minutes, months, qty, target, when};
use crate::synth::calendar::add_months;

impl<'a> Res<'a> {
    pub(super) fn programmes(&self, fire: &mut impl FnMut(&'static str, bool)) {
        let referrals: Vec<&Value> = self
            .of("ServiceRequest")
            .filter(|s| code(&s["code"]) == Some("REFERRAL"))
            .collect();
        let referred = |enc: &Value| {
            referrals
                .iter()
                .any(|s| target(&s["encounter"]) == enc["id"].as_str())
        };
        let alive = self.death.is_none();
        let contacts: Vec<Date> = self
            .of("Encounter")
            .filter_map(|e| day(&e["period"]["start"]))
            .collect();
        for (prog, rule) in [("HTN", "QC-T03"), ("T2D", "QC-T04"), ("SMI", "QC-T16")] {
            let vfus = self.vfus(prog);
            for e in self.episodes(prog) {
                let start = day(&e["period"]["start"]).unwrap_or(self.t);
                if !alive || e["status"] == "finished" {
                    continue;
                }
                let from = start.max(self.t - Duration::days(365));
                let m = (self.t - from).whole_days() as f64 / 30.44;
                let m = if self.strict { m.ceil() } else { m.floor() };
                let due = (4.0 * m / 12.0).ceil().min(4.0) as usize;
                let year = self.year().max(start - Duration::days(7));
                fire(rule, vfus.iter().filter(|v| v.date >= year).count() < due);
                // T19: no follow-up before the diagnosis or a week before the enrolment.
                let dx = target(&e["diagnosis"][0]["condition"]).and_then(|id| self.by_id.get(id));
                let known = dx.and_then(|c| {
                    [day(&c["recordedDate"]), day(&c["onsetDateTime"])]
                        .into_iter()
                        .flatten()
                        .max()
                });
                fire(
                    "QC-T19",
                    vfus.iter().any(|v| {
                        v.date < start - Duration::days(7) || known.is_some_and(|k| v.date < k)
                    }),
                );
            }
            for (i, v) in vfus.iter().enumerate() {
                let next = vfus.get(i + 1).map(|n| (n.date - v.date).whole_days());
                let (uncontrolled, danger) = match prog {
                    "HTN" => v.bp.map_or((false, false), |(s, d)| {
                        (s >= 140.0 || d >= 90.0, s >= 180.0 || d >= 110.0)
                    }),
                    "T2D" => v
                        .fbg
                        .map_or((false, false), |g| (g >= 7.0, !(3.9..16.7).contains(&g))),
                    _ => (false, false),
                };
                fire("QC-X08", danger && !referred(v.enc));
                if let Some(class) = self
                    .obs(v.enc)
                    .iter()
                    .find(|o| matches!(code(&o["code"]), Some("HTN-CLASS" | "T2D-CLASS")))
                {
                    let c = code(&class["valueCodeableConcept"]);
                    fire(
                        "QC-X08",
                        c == Some("controlled") && uncontrolled
                            || (prog == "HTN" && c == Some("uncontrolled") && !uncontrolled),
                    );
                }
                let first = i == 0 || !self.uncontrolled(prog, &vfus[i - 1]);
                if uncontrolled && first && v.date + Duration::days(14) < self.t {
                    fire("QC-T06", next.is_none_or(|n| n > 14) && !referred(v.enc));
                }
                if let Some(r) = v.risk {
                    let limit = if r == 0 { 92 } else { 14 };
                    if v.date + Duration::days(limit) < self.t && alive {
                        fire("QC-T16", next.is_none_or(|n| n > limit));
                    }
                }
            }
        }
        for s in &referrals {
            let Some(d) = day(&s["authoredOn"]) else {
                continue;
            };
            if d + Duration::days(14) < self.t {
                fire(
                    "QC-T07",
                    !contacts
                        .iter()
                        .any(|&c| c > d && c <= d + Duration::days(14)),
                );
            }
        }
        if let Some(e) = self.episodes("T2D").find(|e| e["status"] == "active") {
            let start = day(&e["period"]["start"]).unwrap_or(self.t);
            let since = self.t - Duration::days(if self.strict { 179 } else { 181 });
            let glucose = self.of("Observation").any(|o| {
                matches!(
                    code(&o["code"]),
                    Some("14771-0" | "14770-2" | "1558-6" | "4548-4" | "17856-6" | "59261-8")
                ) && day(&o["effectiveDateTime"]).is_some_and(|d| d >= since)
            });
            fire("QC-T05", alive && start < since && !glucose);
        }
        let enrolled = ["HTN", "T2D", "SMI"]
            .iter()
            .any(|p| self.episodes(p).any(|e| e["status"] == "active"));
        if alive && (months(self.birth, self.t) >= 780 || enrolled) {
            let checks = self.encounters("HEALTH-CHECK");
            fire(
                "QC-T08",
                !checks
                    .iter()
                    .any(|e| day(&e["period"]["start"]).is_some_and(|d| d >= self.year())),
            );
        }
        let last = self
            .recs
            .iter()
            .filter(|r| matches!(kind(r), "Encounter" | "Observation"))
            .filter_map(|r| when(r))
            .max();
        fire(
            "QC-T18",
            alive && last.is_none_or(|d| d <= self.t - Duration::days(365)),
        );
        self.tuberculosis(fire);
    }

    fn uncontrolled(&self, prog: &str, v: &Vfu) -> bool {
        match prog {
            "HTN" => v.bp.is_some_and(|(s, d)| s >= 140.0 || d >= 90.0),
            "T2D" => v.fbg.is_some_and(|g| g >= 7.0),
            _ => false,
        }
    }

    fn tuberculosis(&self, fire: &mut impl FnMut(&'static str, bool)) {
        let Some(notice) = self
            .of("Task")
            .find(|t| code(&t["code"]) == Some("TB-NOTICE"))
        else {
            return;
        };
        let n = minutes(&notice["authoredOn"]).unwrap_or_default();
        let visits = self.encounters("TB-FU");
        let first = visits
            .iter()
            .find(|e| e["class"]["code"] == "HH")
            .and_then(|e| minutes(&e["period"]["start"]));
        fire("QC-T17", first.is_none_or(|f| f > n + 72 * 60));
        for w in visits.windows(2) {
            let (a, b) = (
                minutes(&w[0]["period"]["start"]).unwrap_or(0),
                minutes(&w[1]["period"]["start"]).unwrap_or(0),
            );
            let limit = if a < n + 60 * 1440 { 10 } else { 31 };
            fire("QC-T17", (b - a) / 1440 > limit);
        }
        if self.episodes("TB").any(|e| e["status"] == "finished") {
            fire(
                "QC-T17",
                !self
                    .of("Observation")
                    .any(|o| code(&o["code"]) == Some("TB-CLOSURE")),
            );
        }
    }

    pub(super) fn children(&self, fire: &mut impl FnMut(&'static str, bool)) {
        let age = months(self.birth, self.t);
        if age < 84 {
            let checks: Vec<Date> = ["CHILD-HC", "CHILD-NB"]
                .iter()
                .flat_map(|s| self.encounters(s))
                .filter_map(|e| day(&e["period"]["start"]))
                .collect();
            let b = self.birth;
            let mut windows = vec![
                (b, b + Duration::days(28)),
                (b + Duration::days(21), b + Duration::days(45)),
            ];
            for m in [3u32, 6, 12, 18, 24, 30, 36] {
                windows.push((add_months(b, m - 1), add_months(b, m + 1)));
            }
            windows.push((add_months(b, 7), add_months(b, 9)));
            for m in [48u32, 60, 72] {
                windows.push((add_months(b, m - 3), add_months(b, m + 3)));
            }
            for (lo, hi) in windows {
                if hi < self.t {
                    fire("QC-T09", !checks.iter().any(|&d| d >= lo && d <= hi));
                }
            }
        }
        let mut heights: Vec<(Date, f64)> = self
            .of("Observation")
            .filter(|o| code(&o["code"]) == Some("8302-2") && age < 216)
            .filter_map(|o| Some((day(&o["effectiveDateTime"])?, qty(o)?)))
            .collect();
        heights.sort_by_key(|h| h.0);
        for w in heights.windows(2) {
            fire(
                "QC-T20",
                (w[1].0 - w[0].0).whole_days() >= 30 && w[0].1 - w[1].1 > 2.0,
            );
        }
        let mut doses: BTreeMap<(String, i64), Date> = BTreeMap::new();
        for i in self.of("Immunization") {
            let series = i["protocolApplied"][0]["series"]
                .as_str()
                .unwrap_or_default()
                .to_owned();
            let dose = i["protocolApplied"][0]["doseNumberPositiveInt"]
                .as_i64()
                .unwrap_or(0);
            let Some(d) = day(&i["occurrenceDateTime"]) else {
                continue;
            };
            fire("QC-X10", doses.insert((series, dose), d).is_some());
        }
        let get = |s: &str, n: i64| doses.get(&(s.to_owned(), n)).copied();
        for (s, n, min) in [
            ("IPV", 1, 2),
            ("bOPV", 3, 4),
            ("DTaP", 1, 3),
            ("MMR", 1, 8),
            ("JE-L", 1, 8),
            ("MPSV-A", 1, 6),
            ("HepA", 1, 18),
            ("MPSV-AC", 1, 36),
            ("DT", 1, 72),
        ] {
            fire(
                "QC-T10",
                get(s, n).is_some_and(|d| d < add_months(self.birth, min) - Duration::days(4)),
            );
        }
        let gap_days = |a: Option<Date>, b: Option<Date>, days: i64| matches!((a, b), (Some(a), Some(b)) if (b - a).whole_days() < days);
        let gap_months = |a: Option<Date>, b: Option<Date>, m: u32| matches!((a, b), (Some(a), Some(b)) if b < add_months(a, m));
        fire(
            "QC-T11",
            gap_days(get("HepB", 1), get("HepB", 2), 28)
                || gap_days(get("HepB", 2), get("HepB", 3), 60),
        );
        fire(
            "QC-T11",
            gap_days(get("DTaP", 1), get("DTaP", 2), 28)
                || gap_days(get("DTaP", 2), get("DTaP", 3), 28)
                || gap_months(get("DTaP", 3), get("DTaP", 4), 6),
        );
        fire(
            "QC-T11",
            gap_months(get("MPSV-A", 1), get("MPSV-A", 2), 3)
                || gap_months(get("MPSV-AC", 1), get("MPSV-AC", 2), 36),
        );
        fire(
            "QC-T11",
            gap_days(get("IPV", 1), get("IPV", 2), 28)
                || gap_days(get("IPV", 2), get("bOPV", 3), 28)
                || gap_days(get("bOPV", 3), get("bOPV", 4), 28),
        );
        for (s, n, before) in [
            ("HepB", 3, 12),
            ("BCG", 1, 3),
            ("bOPV", 3, 12),
            ("bOPV", 4, 60),
            ("DTaP", 3, 12),
            ("DTaP", 4, 24),
            ("DT", 1, 84),
            ("MMR", 1, 12),
            ("MMR", 2, 24),
            ("JE-L", 1, 12),
            ("JE-L", 2, 36),
            ("MPSV-A", 2, 18),
            ("MPSV-AC", 1, 48),
            ("MPSV-AC", 2, 84),
            ("HepA", 1, 24),
        ] {
            fire("QC-T12", age >= before && age < 216 && get(s, n).is_none());
        }
    }

    pub(super) fn maternal(&self, fire: &mut impl FnMut(&'static str, bool)) {
        let Some(lmp) = self
            .of("Observation")
            .find(|o| code(&o["code"]) == Some("8665-2"))
            .and_then(|o| day(&o["valueDateTime"]))
        else {
            return;
        };
        let edd = self
            .of("Observation")
            .find(|o| code(&o["code"]) == Some("11778-8"))
            .and_then(|o| day(&o["valueDateTime"]));
        fire(
            "QC-T15",
            edd.is_some_and(|e| ((e - lmp).whole_days() - 280).abs() > 14),
        );
        let delivery = self
            .of("Procedure")
            .filter_map(|p| day(&p["performedDateTime"]))
            .next();
        let ga = |d: Date| (d - lmp).whole_days();
        fire(
            "QC-T15",
            delivery.is_some_and(|d| !(140..=315).contains(&ga(d))),
        );
        let anc: Vec<i64> = (1..=5)
            .flat_map(|k| self.encounters(["ANC-1", "ANC-2", "ANC-3", "ANC-4", "ANC-5"][k - 1]))
            .filter_map(|e| day(&e["period"]["start"]))
            .map(ga)
            .collect();
        fire("QC-T13", anc.iter().min().is_none_or(|&f| f >= 91));
        // A window is due once the pregnancy has entered it (strict) or left it, before T
        // and before the delivery.
        let reached = delivery.map_or(ga(self.t), ga);
        for (lo, hi) in [(112, 146), (147, 174), (196, 258), (259, 286)] {
            let due = if self.strict {
                reached > lo
            } else {
                reached > hi || delivery.is_some_and(|d| ga(d) > lo)
            };
            if due {
                fire(
                    "QC-T13",
                    !anc.iter().any(|&g| g >= lo && g <= hi.min(reached)),
                );
            }
        }
        fire(
            "QC-T13",
            delivery.is_some_and(|d| ga(d) >= 259 && anc.len() < 5),
        );
        if let Some(d) = delivery {
            let visits = |s: &'a str| {
                self.encounters(s)
                    .into_iter()
                    .filter_map(|e| day(&e["period"]["start"]))
                    .collect::<Vec<_>>()
            };
            if d + Duration::days(7) < self.t {
                fire(
                    "QC-T14",
                    !visits("PNC-HOME")
                        .iter()
                        .any(|&v| v >= d && v <= d + Duration::days(7)),
                );
            }
            if d + Duration::days(56) < self.t {
                fire(
                    "QC-T14",
                    !visits("PNC-42D")
                        .iter()
                        .any(|&v| v >= d + Duration::days(42) && v <= d + Duration::days(56)),
                );
            }
        }
    }
}
