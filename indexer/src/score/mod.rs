//! The archive completeness score, 0–100 per resident (DOMAIN.md §5):
//! `round(100 · Σ w·a·s / Σ w·a)` over modules M1–M5, each with its applicability, its
//! `s ∈ [0, 1]`, the reasons in plain sentences and the leaves of its evidence, so that a
//! resident sees why ("1 HTN follow-up missing in the last 12 months").
//!
//! Inputs are the resident's view, its programmes at `T` and its open findings (M5, and the
//! findings of named rules that lower M3); rules are matched by id string, so the score works
//! before those rules exist.

mod basic;
pub mod config;
mod programmes;

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

use crate::programme::{Programme, ProgrammeState, Schedules};
use crate::qc::{Finding, Items, Params, ParamsError, ResidentView};
pub use config::{Band, Module, ScoreParams};

/// One module's contribution.
#[derive(Debug, Clone, PartialEq)]
pub struct ModuleScore {
    pub module: Module,
    pub weight: f64,
    pub applicable: bool,
    /// `s_m` in [0, 1] (0 when not applicable).
    pub s: f64,
    pub reasons: Vec<String>,
    /// Leaves of the records the module rests on, ascending.
    pub evidence: Vec<u64>,
    /// M3 only: one part per applicable programme.
    pub parts: Vec<Part>,
}

/// One programme's part of M3.
#[derive(Debug, Clone, PartialEq)]
pub struct Part {
    pub programme: Programme,
    pub s: f64,
    pub reasons: Vec<String>,
    pub evidence: Vec<u64>,
}

/// One resident's score at `at`.
#[derive(Debug, Clone, PartialEq)]
pub struct Score {
    pub resident: String,
    pub at: OffsetDateTime,
    /// 0–100.
    pub value: u8,
    pub band: Band,
    pub modules: Vec<ModuleScore>,
}

impl Score {
    pub fn module(&self, m: Module) -> Option<&ModuleScore> {
        self.modules.iter().find(|x| x.module == m)
    }
}

/// An institution's scores in one view.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub count: usize,
    /// Mean score (0 for no archives).
    pub mean: f64,
    /// Share (0–1) of archives under `[score] incomplete_below`.
    pub incomplete_share: f64,
    /// Archives per band (every band listed, zeros included).
    pub bands: BTreeMap<Band, usize>,
}

/// The configured score.
#[derive(Debug, Clone)]
pub struct Scorer {
    cfg: ScoreParams,
    schedules: Schedules,
    items: Items,
    archive_system: String,
}

/// A module's or a part's result before weighting.
#[derive(Debug, Default)]
struct Partial {
    s: f64,
    reasons: Vec<String>,
    evidence: BTreeSet<u64>,
}

impl Scorer {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let cfg: ScoreParams = params.section("score")?;
        cfg.check().map_err(|reason| ParamsError::BadSection {
            name: "score",
            reason,
        })?;
        Ok(Self {
            cfg,
            schedules: Schedules::new(params)?,
            items: params.items()?,
            archive_system: params.f02.system.clone(),
        })
    }

    pub fn params(&self) -> &ScoreParams {
        &self.cfg
    }

    /// The schedules the score evaluates programmes with.
    pub fn schedules(&self) -> &Schedules {
        &self.schedules
    }

    /// Scores one resident at `at`; `findings` are the resident's open findings at `at`.
    pub fn score(
        &self,
        view: &ResidentView<'_>,
        findings: &[Finding],
        at: OffsetDateTime,
    ) -> Score {
        let programmes = self.schedules.evaluate(view, at);
        self.score_with(view, &programmes, findings, at)
    }

    /// [`Scorer::score`] with the resident's programmes already evaluated at `at`.
    pub fn score_with(
        &self,
        view: &ResidentView<'_>,
        programmes: &[ProgrammeState],
        findings: &[Finding],
        at: OffsetDateTime,
    ) -> Score {
        let ctx = basic::Ctx::new(self, view, programmes, findings, at);
        let mut modules = vec![
            Self::finish(Module::M1, &self.cfg, Some(ctx.basic_info())),
            Self::finish(Module::M2, &self.cfg, Some(ctx.health_check())),
        ];
        let (m3, parts) = programmes::m3(&ctx);
        let mut m3 = Self::finish(Module::M3, &self.cfg, m3);
        m3.parts = parts;
        modules.push(m3);
        modules.push(Self::finish(Module::M4, &self.cfg, Some(ctx.liveness())));
        modules.push(Self::finish(Module::M5, &self.cfg, Some(ctx.consistency())));
        let (num, den) = modules
            .iter()
            .filter(|m| m.applicable)
            .fold((0.0, 0.0), |(n, d), m| (n + m.weight * m.s, d + m.weight));
        let value = if den > 0.0 {
            (100.0 * num / den).round().clamp(0.0, 100.0) as u8
        } else {
            0
        };
        Score {
            resident: view.pseudonym.clone(),
            at,
            value,
            band: self.band(value),
            modules,
        }
    }

    fn finish(module: Module, cfg: &ScoreParams, p: Option<Partial>) -> ModuleScore {
        let applicable = p.is_some();
        let p = p.unwrap_or_default();
        ModuleScore {
            module,
            weight: cfg.weights.get(&module).copied().unwrap_or(0.0),
            applicable,
            s: p.s.clamp(0.0, 1.0),
            reasons: p.reasons,
            evidence: p.evidence.into_iter().collect(),
            parts: Vec::new(),
        }
    }

    /// The band of a score.
    pub fn band(&self, value: u8) -> Band {
        self.cfg
            .bands
            .iter()
            .find(|b| value >= b.min)
            .map_or(Band::D, |b| b.band)
    }

    /// Count, mean, incomplete share and band counts of `scores`.
    pub fn summary(&self, scores: &[Score]) -> Summary {
        let count = scores.len();
        let mut bands: BTreeMap<Band, usize> = self.cfg.bands.iter().map(|b| (b.band, 0)).collect();
        for s in scores {
            *bands.entry(s.band).or_default() += 1;
        }
        let share = |n: usize| {
            if count == 0 {
                0.0
            } else {
                n as f64 / count as f64
            }
        };
        Summary {
            count,
            mean: share(1) * scores.iter().map(|s| f64::from(s.value)).sum::<f64>(),
            incomplete_share: share(
                scores
                    .iter()
                    .filter(|s| s.value < self.cfg.incomplete_below)
                    .count(),
            ),
            bands,
        }
    }
}

/// `n` with its noun, pluralised the simple way ("1 follow-up", "2 follow-ups").
fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// `done` out of `due` as a share; 1 when nothing is due, since nothing owed cannot be missed.
fn share(done: usize, due: usize) -> f64 {
    if due == 0 {
        1.0
    } else {
        done as f64 / due as f64
    }
}

#[cfg(test)]
mod tests;
