//! M1 basic information, M2 health check, M4 liveness and M5 consistency.

use std::collections::BTreeSet;

use hl_ledger::pseudonym::CN_RESIDENT_ID_SYSTEM;
use time::{Date, Duration, OffsetDateTime};

use super::config::Field;
use super::{Partial, Scorer, count, share};
use crate::identity::id_card_issues;
use crate::model::Patient;
use crate::programme::{Programme, ProgrammeState, Status};
use crate::qc::facts::Visit;
use crate::qc::{Finding, ResidentView, Severity};
use crate::tree::ResourceNode;

/// How many open findings M5 names one by one. A resident can have dozens; the reasons are
/// read by a person, who needs the count and a few examples, while the evidence keeps every
/// finding's records.
const M5_SHOWN_FINDINGS: usize = 5;

/// One resident being scored.
pub(super) struct Ctx<'a> {
    pub sc: &'a Scorer,
    pub view: &'a ResidentView<'a>,
    pub programmes: &'a [ProgrammeState],
    pub findings: &'a [Finding],
    pub at: OffsetDateTime,
    pub today: Date,
    /// First day of the "12m" window (T − 365 d, T].
    pub since: Date,
}

/// Whether `code` is `pattern` (`ANC-*`: a prefix).
pub(super) fn service_matches(pattern: &str, code: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some(p) => code.starts_with(p),
        None => pattern == code,
    }
}

impl<'a> Ctx<'a> {
    pub fn new(
        sc: &'a Scorer,
        view: &'a ResidentView<'a>,
        programmes: &'a [ProgrammeState],
        findings: &'a [Finding],
        at: OffsetDateTime,
    ) -> Self {
        let today = at.date();
        let days = sc.schedules.params().lookback_days.max(1) - 1;
        Self {
            sc,
            view,
            programmes,
            findings,
            at,
            today,
            since: today.checked_sub(Duration::days(days)).unwrap_or(Date::MIN),
        }
    }

    /// Finished visits of one of `services`, started by T and on or after `from`.
    pub fn visits<'s>(
        &'s self,
        services: &'s [String],
        from: Date,
    ) -> impl Iterator<Item = &'a Visit> + 's {
        self.view.facts.visits.iter().filter(move |v| {
            v.status.as_deref() == Some("finished")
                && v.service
                    .as_deref()
                    .is_some_and(|c| services.iter().any(|p| service_matches(p, c)))
                && v.start.is_some_and(|t| t <= self.at && t.date() >= from)
        })
    }

    /// The observation codes recorded in a visit.
    pub fn visit_codes(&self, v: &Visit) -> BTreeSet<&'a str> {
        let facts = &self.view.facts;
        v.observations
            .iter()
            .filter_map(|&i| facts.observations.get(i)?.code.as_deref())
            .collect()
    }

    fn has_field(&self, field: Field, node: &ResourceNode, p: &Patient) -> bool {
        match field {
            Field::Name => p.has_name,
            Field::Gender => p.gender.is_some(),
            Field::BirthDate => p.birth_date.is_some(),
            Field::IdCard => {
                p.identifier_values(CN_RESIDENT_ID_SYSTEM).next().is_some()
                    && id_card_issues(p, true).is_empty()
            }
            Field::ArchiveNumber => {
                p.identifier_values(&self.sc.archive_system)
                    .next()
                    .is_some()
                    && !self
                        .findings
                        .iter()
                        .any(|f| f.rule_id == "QC-F02" && f.evidence.contains(&node.leaf))
            }
            Field::AddressDivision => !p.address_divisions.is_empty(),
            Field::Phone => p.has_phone,
            Field::Responsible => {
                !p.general_practitioner.is_empty() || p.managing_organization.is_some()
            }
        }
    }

    /// M1: `share` × required fields present and valid + the rest × history blocks filled.
    /// A field counts when any of the resident's Patient records has it.
    pub fn basic_info(&self) -> Partial {
        let cfg = &self.sc.cfg.m1;
        let patients: Vec<_> = self.view.patients().collect();
        let mut evidence: BTreeSet<u64> = patients.iter().map(|(n, _)| n.leaf).collect();
        let mut missing: Vec<&str> = cfg
            .required
            .iter()
            .filter(|f| !patients.iter().any(|(n, p)| self.has_field(**f, n, p)))
            .map(|f| f.name())
            .collect();
        missing.extend(
            cfg.extensions
                .iter()
                .filter(|e| !patients.iter().any(|(_, p)| p.extensions.contains(&e.url)))
                .map(|e| e.field.as_str()),
        );
        let fields = cfg.required.len() + cfg.extensions.len();
        let mut empty = Vec::new();
        for block in &cfg.history {
            let by_code = self
                .view
                .facts
                .observations_of(&block.codes)
                .map(|o| o.leaf);
            let by_kind = self
                .view
                .counted()
                .filter(|(n, _)| block.kinds.contains(&n.key.kind))
                .map(|(n, _)| n.leaf);
            let leaves: Vec<u64> = by_code.chain(by_kind).collect();
            if leaves.is_empty() {
                empty.push(block.block.as_str());
            }
            evidence.extend(leaves);
        }
        let s = cfg.required_share * share(fields - missing.len(), fields)
            + (1.0 - cfg.required_share)
                * share(cfg.history.len() - empty.len(), cfg.history.len());
        let mut reasons = Vec::new();
        if !missing.is_empty() {
            reasons.push(format!(
                "Missing from the basic information: {}.",
                missing.join(", ")
            ));
        }
        if !empty.is_empty() {
            reasons.push(format!(
                "History not filled in (\"none\" counts): {}.",
                empty.join(", ")
            ));
        }
        Partial {
            s,
            reasons,
            evidence,
        }
    }

    /// Whether the resident is in a key population: elderly, or in HTN, T2D or SMI.
    fn key_population(&self, elderly: bool) -> bool {
        elderly
            || self.programmes.iter().any(|p| {
                matches!(
                    p.programme,
                    Programme::Htn | Programme::T2d | Programme::Smi
                ) && p.status != Status::Ended
            })
    }

    /// M2: the item completeness of the latest health check in the due interval, else 0.
    pub fn health_check(&self) -> Partial {
        let cfg = &self.sc.cfg.m2;
        let demo = &self.view.facts.demographics;
        let elderly = demo
            .birth
            .and_then(|b| cfg.elderly_age.after(b))
            .is_some_and(|d| d <= self.today);
        let interval = if self.key_population(elderly) {
            cfg.key_interval
        } else {
            cfg.other_interval
        };
        let from = interval
            .before(self.today)
            .and_then(Date::next_day)
            .unwrap_or(Date::MIN);
        let Some(check) = self.visits(&cfg.services, from).last() else {
            return Partial {
                s: 0.0,
                reasons: vec![format!("No health check in the last {interval}.")],
                evidence: BTreeSet::new(),
            };
        };
        let mut items: Vec<&Vec<String>> = self.sc.items.health_check.iter().collect();
        if elderly {
            items.extend(&self.sc.items.elderly_check);
        }
        let mut seen = BTreeSet::new();
        items.retain(|g| seen.insert(*g));
        let codes = self.visit_codes(check);
        let missing: Vec<String> = items
            .iter()
            .filter(|g| !g.iter().any(|c| codes.contains(c.as_str())))
            .map(|g| g.join("/"))
            .collect();
        let mut evidence = BTreeSet::from([check.leaf]);
        let obs = &self.view.facts.observations;
        evidence.extend(
            check
                .observations
                .iter()
                .filter_map(|&i| obs.get(i).map(|o| o.leaf)),
        );
        let total = items.len().max(1);
        let day = check
            .start
            .map(|t| t.date().to_string())
            .unwrap_or_default();
        let reasons = if missing.is_empty() {
            Vec::new()
        } else {
            vec![format!(
                "The health check of {day} lacks {} of {} items: {}.",
                missing.len(),
                items.len(),
                missing.join(", ")
            )]
        };
        Partial {
            s: (total - missing.len().min(total)) as f64 / total as f64,
            reasons,
            evidence,
        }
    }

    /// M4: 1 with a visit or observation within `full`, 0.5 within `half`, else 0.
    pub fn liveness(&self) -> Partial {
        let cfg = &self.sc.cfg.m4;
        let facts = &self.view.facts;
        let latest = facts
            .visits
            .iter()
            .filter_map(|v| Some((v.start?, v.leaf)))
            .chain(
                facts
                    .observations
                    .iter()
                    .filter_map(|o| Some((o.at?, o.leaf))),
            )
            .filter(|(t, _)| *t <= self.at)
            .max();
        let within = |span: crate::programme::Span, t: OffsetDateTime| {
            span.before(self.today).is_some_and(|d| t.date() > d)
        };
        let (s, reason) = match latest {
            Some((t, _)) if within(cfg.full, t) => (1.0, None),
            Some((t, _)) if within(cfg.half, t) => (
                0.5,
                Some(format!(
                    "No visit or observation in the last {}; the latest is from {}.",
                    cfg.full,
                    t.date()
                )),
            ),
            Some((t, _)) => (
                0.0,
                Some(format!(
                    "No visit or observation in the last {}; the latest is from {}.",
                    cfg.half,
                    t.date()
                )),
            ),
            None => (0.0, Some("No visit or observation is recorded.".to_owned())),
        };
        Partial {
            s,
            reasons: reason.into_iter().collect(),
            evidence: latest.map(|(_, l)| l).into_iter().collect(),
        }
    }

    /// M5: `1 − min(1, (E + w·W) / saturation)` over the open scenario-level findings. The
    /// reasons give the count, then the first [`M5_SHOWN_FINDINGS`] findings and how many more.
    pub fn consistency(&self) -> Partial {
        let cfg = &self.sc.cfg.m5;
        let counted: Vec<&Finding> = self
            .findings
            .iter()
            .filter(|f| {
                cfg.rule_prefixes
                    .iter()
                    .any(|p| f.rule_id.starts_with(p.as_str()))
            })
            .filter(|f| f.severity != Severity::I)
            .collect();
        let errors = counted.iter().filter(|f| f.severity == Severity::E).count();
        let warnings = counted.len() - errors;
        let weighted = errors as f64 + cfg.warning_weight * warnings as f64;
        let mut reasons = Vec::new();
        if !counted.is_empty() {
            reasons.push(format!(
                "{} and {} open in the cross-record and temporal checks.",
                count(errors, "error"),
                count(warnings, "warning")
            ));
            reasons.extend(
                counted
                    .iter()
                    .take(M5_SHOWN_FINDINGS)
                    .map(|f| format!("{}: {}", f.rule_id, f.message)),
            );
            let more = counted.len().saturating_sub(M5_SHOWN_FINDINGS);
            if more > 0 {
                reasons.push(format!("… and {more} more"));
            }
        }
        Partial {
            s: 1.0 - (weighted / cfg.saturation).min(1.0),
            reasons,
            evidence: counted
                .iter()
                .flat_map(|f| f.evidence.iter().copied())
                .collect(),
        }
    }
}
