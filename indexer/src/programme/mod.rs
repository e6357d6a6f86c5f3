//! Programmes and obligations: which public-health programmes a resident is in (or should be
//! in) at an instant `T`, and what the national service rules (DOMAIN.md §2.3) make due.
//!
//! The event model of DOMAIN.md §1.3: a trigger (enrolment, diagnosis, birth, pregnancy, an
//! uncontrolled follow-up, a CDC notice) creates obligations with a due window, and each is met
//! by a record inside it, or is overdue, due or upcoming at `T`. Every schedule is data (the
//! `[programmes]` parameter section); everything is computed from the resident's facts and `T`
//! alone, so the same tree, `T` and parameters always give the same obligations.

mod child;
mod chronic;
pub mod config;
mod maternal;
mod schedule;
mod tb;

use serde::Deserialize;
use time::{Date, OffsetDateTime};

use crate::qc::{Codes, Items, Params, ParamsError, ResidentView, ValueSet};
pub use config::{ProgrammeParams, Span};

/// A public-health programme (phs-service programme code), plus IMM, the children's
/// vaccination schedule, which has no episode type of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Programme {
    Htn,
    T2d,
    Smi,
    Tb,
    Preg,
    Child,
    Elder,
    Imm,
}

impl Programme {
    pub const ALL: [Self; 8] = [
        Self::Htn,
        Self::T2d,
        Self::Smi,
        Self::Tb,
        Self::Preg,
        Self::Child,
        Self::Elder,
        Self::Imm,
    ];

    /// The phs-service programme code (`EpisodeOfCare.type`), and `IMM`.
    pub fn code(self) -> &'static str {
        match self {
            Self::Htn => "HTN",
            Self::T2d => "T2D",
            Self::Smi => "SMI",
            Self::Tb => "TB",
            Self::Preg => "PREG",
            Self::Child => "CHILD",
            Self::Elder => "ELDER",
            Self::Imm => "IMM",
        }
    }
}

/// What an obligation is for, so that the score and the events can pick theirs without
/// reading the display kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Class {
    /// Enrolment after a qualifying diagnosis.
    Enrolment,
    /// A periodic valid follow-up (HTN, T2D, SMI).
    FollowUp,
    /// A revisit after a follow-up that called for one.
    Revisit,
    HealthCheck,
    ChildCheck,
    /// Hb or hearing screen of a child check.
    ChildTest,
    /// TCM guidance (children) or constitution identification (elderly).
    Tcm,
    SelfCare,
    Antenatal,
    Postnatal,
    TbVisit,
    TbClosure,
    Dose,
}

/// Where the resident stands in a programme at `T`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Enrolled (an episode covers `T`).
    Active,
    /// Was enrolled; the episode ended (or the resident died) within the look-back window.
    Ended,
    /// Qualifies (diagnosis, age, pregnancy) but no episode covers `T`.
    EligibleNotEnrolled,
}

/// The enrolment the obligations are computed from: the current episode, else the latest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Enrolment {
    /// Leaf of the `EpisodeOfCare` (for IMM, of the first vaccination record).
    pub leaf: u64,
    pub id: String,
    pub since: Option<Date>,
    /// End of the episode, or the death date.
    pub until: Option<Date>,
}

/// The state of one obligation at `T`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// A record meets it: its date and leaves (the main record first). `late` when the record
    /// is after the window and the obligation accepts that (vaccines, first antenatal visit).
    Met {
        on: Date,
        evidence: Vec<u64>,
        late: bool,
    },
    /// Not done for a recorded reason (a vaccine with a contraindication or refusal).
    Waived { on: Date, evidence: Vec<u64> },
    /// The window closed unmet.
    Overdue,
    /// `T` is inside the window.
    Due,
    /// The window opens after `T`.
    Upcoming,
}

impl State {
    pub fn is_met(&self) -> bool {
        matches!(self, Self::Met { .. })
    }
}

/// Something the national rules make due, with its window (both days inclusive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Obligation {
    /// What a person calls it: "HTN follow-up", "DTaP dose 3", "6-month child check".
    pub kind: String,
    pub class: Class,
    pub from: Date,
    pub to: Date,
    pub state: State,
    /// Leaves of the records that made it due (episode, uncontrolled visit, notice, LMP…).
    pub basis: Vec<u64>,
}

/// One programme of one resident at `T`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProgrammeState {
    pub programme: Programme,
    pub status: Status,
    pub enrolment: Option<Enrolment>,
    /// By window start, then end, then kind.
    pub obligations: Vec<Obligation>,
}

impl ProgrammeState {
    /// The next thing to do: the due or upcoming obligation whose window closes first. An
    /// overdue obligation is not "next": its window is gone (a late vaccine dose is still
    /// worth giving, and stays listed as overdue).
    pub fn next_due(&self) -> Option<&Obligation> {
        self.obligations
            .iter()
            .filter(|o| matches!(o.state, State::Due | State::Upcoming))
            .min_by_key(|o| (o.to, o.from))
    }
}

/// The configured schedules, ready to evaluate residents.
#[derive(Debug, Clone)]
pub struct Schedules {
    params: ProgrammeParams,
    codes: Codes,
    items: Items,
    vfu_classes: Vec<String>,
    htn: ValueSet,
    t2d: ValueSet,
    smi: ValueSet,
    tb: ValueSet,
    preg: ValueSet,
    delivery: ValueSet,
}

fn bad(reason: String) -> ParamsError {
    ParamsError::BadSection {
        name: "programmes",
        reason,
    }
}

impl Schedules {
    /// Reads and checks the `[programmes]` section (and the shared codes it names).
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let p: ProgrammeParams = params.section("programmes")?;
        p.check().map_err(bad)?;
        let items = params.items()?;
        let vs = &params.value_sets;
        Ok(Self {
            htn: vs.set("programmes", &p.htn.value_set)?,
            t2d: vs.set("programmes", &p.t2d.value_set)?,
            smi: vs.set("programmes", &p.smi.value_set)?,
            tb: vs.set("programmes", &p.tb.value_set)?,
            preg: vs.set("programmes", "PREG")?,
            delivery: params.delivery.clone(),
            params: p,
            codes: params.codes.clone(),
            items,
            vfu_classes: params.vfu.classes.clone(),
        })
    }

    pub fn params(&self) -> &ProgrammeParams {
        &self.params
    }

    /// The encounter classes of a face-to-face visit (`[vfu] classes`).
    pub fn vfu_classes(&self) -> &[String] {
        &self.vfu_classes
    }

    /// The resident's programmes at `at`, in [`Programme::ALL`] order; a programme the
    /// resident neither is, was (within the look-back window) nor should be in is left out.
    pub fn evaluate(&self, view: &ResidentView<'_>, at: OffsetDateTime) -> Vec<ProgrammeState> {
        let ctx = schedule::Ctx::new(self, &view.facts, at);
        let p = &self.params;
        let mut built = vec![
            chronic::chronic(&ctx, Programme::Htn, &p.htn, &self.htn),
            chronic::chronic(&ctx, Programme::T2d, &p.t2d, &self.t2d),
            chronic::chronic(&ctx, Programme::Smi, &p.smi, &self.smi),
            tb::tb(&ctx, &self.tb),
            maternal::pregnancy(&ctx, &self.preg, &self.delivery),
            child::child(&ctx),
            chronic::elder(&ctx),
            child::immunization(&ctx),
        ];
        // One annual health check serves every programme that asks for it, anchored where the
        // resident first became one of its key population, so that the programmes agree on it.
        let needs = |b: &Built| b.state.status != Status::Ended && b.health_check_from.is_some();
        let anchor = built
            .iter()
            .flatten()
            .filter(|b| needs(b))
            .filter_map(|b| b.health_check_from)
            .min();
        if let Some(anchor) = anchor {
            // Its basis: the enrolments that ask for it, else the resident's Patient record.
            let mut basis: Vec<u64> = built
                .iter()
                .flatten()
                .filter(|b| needs(b))
                .filter_map(|b| b.state.enrolment.as_ref().map(|e| e.leaf))
                .collect();
            if basis.is_empty() {
                basis.extend(view.facts.demographics.leaf);
            }
            let hc = ctx.periodic_spec(&p.health_check, anchor, None, &basis);
            for b in built.iter_mut().flatten().filter(|b| needs(b)) {
                b.state.obligations.extend(hc.iter().cloned());
            }
        }
        built
            .into_iter()
            .flatten()
            .map(|mut b| {
                b.state
                    .obligations
                    .sort_by(|x, y| (x.from, x.to, &x.kind).cmp(&(y.from, y.to, &y.kind)));
                b.state
            })
            .collect()
    }
}

/// A programme as built, and from when it needs the annual health check (`None`: it does not).
struct Built {
    state: ProgrammeState,
    health_check_from: Option<Date>,
}

#[cfg(test)]
pub(crate) mod tests;
