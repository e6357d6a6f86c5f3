//! The QC rule engine: rules over one resident's tree at an evaluation instant `T`.
//!
//! A rule reads the tree only (never the log), so re-evaluating a resident after `catch_up`
//! and evaluating it after a rebuild give the same findings.

mod cross;
mod equiv;
pub mod facts;
mod field;
mod institutions;
mod params;
mod record;
#[cfg(test)]
mod synthea_tests;
mod temporal;
mod valueset;

use std::ops::Deref;

use time::OffsetDateTime;

use crate::tree::ResidentTree;

pub use cross::{
    X01PregnancyMale, X02SexSpecificDiagnosis, X03PregnancyAge, X04EnrolmentWithoutDiagnosis,
    X05DiagnosisWithoutEnrolment, X06ProgrammeEligibility, X07AntidiabeticWithoutDiabetes,
    X08ClassificationContradicts, X09ObservationEncounter, X10DuplicateFacts,
    X11ElderlyCheckComplete, X12DeceasedOpenCare,
};
pub use equiv::{EncounterEquivalent, Equivalents};
pub use facts::Facts;
pub use field::{
    F01IdCardValid, F02ArchiveNumber, F03CoreDemographics, F04RequiredElements,
    F05RecognisedSystem, F06UnitAllowed, F07PlausibleRange, F08NoFutureDates,
};
pub use institutions::{
    ConsortiumRule, CrossFinding, I01DemographicsAgree, I02OneActiveArchive,
    I03DoubleCountedService, I04ConcurrentEnrolment, I05ContradictoryChronicFacts,
    InstitutionFacts, InstitutionView, evaluate_cross_institution,
};
pub use params::{
    Codes, DEFAULT_PARAMS, Items, Params, ParamsError, Range, SHARED_SECTIONS, Severity,
};
pub use record::{
    R01BpPanelCoherent, R02StartBeforeEnd, R03BmiComputed, R04StatusCoherence, R05IdCardAgrees,
};
pub use temporal::{
    I06LedgerIntegrity, T01EventBeforeBirth, T02EventAfterDeath, T03HtnFollowUpCadence,
    T04T2dFollowUpCadence, T05GlycaemicGap, T06UncontrolledRevisit, T07ReferralContact,
    T08AnnualHealthCheck, T09ChildCheckSchedule, T10VaccineMinimumAge, T11DoseInterval,
    T12VaccineOverdue, T13AntenatalSchedule, T14PostpartumVisits, T15PregnancyTimeline,
    T16SmiCadence, T17TbCaseManagement, T18DormantArchive, T19ServiceBeforeDiagnosis,
    T20GrowthTrajectory,
};
pub(crate) use valueset::ValueSet;

/// Rule level (DOMAIN.md §4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Field.
    F,
    /// Record (one resource).
    R,
    /// Cross-record within one resident.
    X,
    /// Temporal within one resident.
    T,
    /// Cross-institution.
    I,
}

/// One rule failure for one resident.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule_id: &'static str,
    pub severity: Severity,
    pub resident: String,
    /// Leaf indices of the record versions the finding rests on.
    pub evidence: Vec<u64>,
    pub at: OffsetDateTime,
    /// One plain sentence a clinician understands.
    pub message: String,
}

/// One resident as the rules see it: the tree, and the facts read from it once for all rules.
/// Derefs to the tree.
pub struct ResidentView<'a> {
    pub tree: &'a ResidentTree,
    pub facts: Facts,
}

impl<'a> ResidentView<'a> {
    pub fn new(tree: &'a ResidentTree, params: &Params) -> Self {
        Self {
            tree,
            facts: Facts::new(tree, params),
        }
    }
}

impl Deref for ResidentView<'_> {
    type Target = ResidentTree;
    fn deref(&self) -> &ResidentTree {
        self.tree
    }
}

/// The catalogue metadata of a rule, for use inside its `impl Rule`: the id, the level, the
/// severity (read from the rule's `severity` field, or from the field path after `severity:`,
/// since the configured severity lives in params) and, when the catalogue marks any parameter
/// [D], those parameters.
///
/// ```text
/// rule_meta!("QC-F01", F);
/// rule_meta!("QC-F07", F, defaults: ["ranges"]);
/// rule_meta!("QC-T16", T, severity: p.severity);
/// ```
///
/// One declaration per rule keeps the listing, the node's rule catalogue and the rule's own
/// findings from drifting apart.
macro_rules! rule_meta {
    ($id:literal, $level:ident $(, defaults: $defaults:expr)? $(,)?) => {
        $crate::qc::rule_meta!($id, $level, severity: severity $(, defaults: $defaults)?);
    };
    (
        $id:literal,
        $level:ident,
        severity: $($field:ident).+
        $(, defaults: $defaults:expr)? $(,)?
    ) => {
        fn id(&self) -> &'static str {
            $id
        }
        fn level(&self) -> $crate::qc::Level {
            $crate::qc::Level::$level
        }
        fn severity(&self) -> $crate::qc::Severity {
            self.$($field).+
        }
        $(
            fn defaults(&self) -> &'static [&'static str] {
                &$defaults
            }
        )?
    };
}
pub(crate) use rule_meta;

/// A QC rule. The catalogue methods (`id`, `level`, `severity`, `defaults`) are declared
/// with `rule_meta!`.
pub trait Rule: Send + Sync {
    /// Catalogue id, e.g. `QC-F01`.
    fn id(&self) -> &'static str;
    fn level(&self) -> Level;
    fn severity(&self) -> Severity;
    /// The parameters this rule uses that the catalogue marks [D] (a default a region may
    /// override), for the rule listing.
    fn defaults(&self) -> &'static [&'static str] {
        &[]
    }
    /// The findings for `resident` at `at`; empty when the rule passes.
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding>;
    /// The rule as it runs over the consortium view (several institutions' trees of one
    /// resident), for a cross-institution rule that needs one; `None` for a rule of one tree.
    /// Such a rule is in the catalogue with the others, but [`Engine::evaluate`] skips it.
    fn consortium(&self) -> Option<&dyn ConsortiumRule> {
        None
    }
}

/// Every implemented rule, configured from `params`. Refuses a parameter section that neither
/// a rule nor a shared module reads.
pub fn rules(params: &Params) -> Result<Vec<Box<dyn Rule>>, ParamsError> {
    let rules = all_rules(params)?;
    for name in params.sections.keys() {
        let is_rule = rules
            .iter()
            .any(|r| r.id().strip_prefix("QC-") == Some(name));
        if !is_rule && !SHARED_SECTIONS.contains(&name.as_str()) {
            return Err(ParamsError::UnusedSection { name: name.clone() });
        }
    }
    Ok(rules)
}

fn all_rules(params: &Params) -> Result<Vec<Box<dyn Rule>>, ParamsError> {
    let mut rules: Vec<Box<dyn Rule>> = vec![
        Box::new(F01IdCardValid::new(params)),
        Box::new(F02ArchiveNumber::new(params)),
        Box::new(F03CoreDemographics::new(params)?),
        Box::new(F04RequiredElements::new(params)?),
        Box::new(F05RecognisedSystem::new(params)),
        Box::new(F06UnitAllowed::new(params)),
        Box::new(F07PlausibleRange::new(params)),
        Box::new(F08NoFutureDates::new(params)),
        Box::new(R01BpPanelCoherent::new(params)),
        Box::new(R02StartBeforeEnd::new(params)),
        Box::new(R03BmiComputed::new(params)),
        Box::new(R04StatusCoherence::new(params)),
        Box::new(R05IdCardAgrees::new(params)),
        Box::new(X01PregnancyMale::new(params)?),
        Box::new(X02SexSpecificDiagnosis::new(params)?),
        Box::new(X03PregnancyAge::new(params)?),
        Box::new(X04EnrolmentWithoutDiagnosis::new(params)?),
        Box::new(X05DiagnosisWithoutEnrolment::new(params)?),
        Box::new(X06ProgrammeEligibility::new(params)),
        Box::new(X07AntidiabeticWithoutDiabetes::new(params)?),
        Box::new(X08ClassificationContradicts::new(params)?),
        Box::new(X09ObservationEncounter::new(params)),
        Box::new(X10DuplicateFacts::new(params)?),
        Box::new(X11ElderlyCheckComplete::new(params)?),
        Box::new(X12DeceasedOpenCare::new(params)?),
        Box::new(T01EventBeforeBirth::new(params)?),
        Box::new(T02EventAfterDeath::new(params)?),
        Box::new(T03HtnFollowUpCadence::new(params)?),
        Box::new(T04T2dFollowUpCadence::new(params)?),
        Box::new(T05GlycaemicGap::new(params)?),
        Box::new(T06UncontrolledRevisit::new(params)?),
        Box::new(T07ReferralContact::new(params)?),
        Box::new(T08AnnualHealthCheck::new(params)?),
        Box::new(T09ChildCheckSchedule::new(params)?),
        Box::new(T10VaccineMinimumAge::new(params)?),
        Box::new(T11DoseInterval::new(params)?),
        Box::new(T12VaccineOverdue::new(params)?),
        Box::new(T13AntenatalSchedule::new(params)?),
        Box::new(T14PostpartumVisits::new(params)?),
        Box::new(T15PregnancyTimeline::new(params)?),
        Box::new(T16SmiCadence::new(params)?),
        Box::new(T17TbCaseManagement::new(params)?),
        Box::new(T18DormantArchive::new(params)?),
        Box::new(T19ServiceBeforeDiagnosis::new(params)?),
        Box::new(T20GrowthTrajectory::new(params)?),
    ];
    rules.extend(
        institutions::rules(params)?
            .into_iter()
            .map(|r| -> Box<dyn Rule> { r }),
    );
    rules.push(Box::new(I06LedgerIntegrity::new(params)?));
    Ok(rules)
}

/// One line per rule: id, level, severity, and the parameters that are catalogue defaults,
/// e.g. `QC-F07 F E [D] ranges`; a rule over the consortium view says so at the end.
pub fn listing(rules: &[Box<dyn Rule>]) -> Vec<String> {
    rules
        .iter()
        .map(|r| {
            let mut line = format!("{} {:?} {:?}", r.id(), r.level(), r.severity());
            if !r.defaults().is_empty() {
                line.push_str(" [D] ");
                line.push_str(&r.defaults().join(", "));
            }
            if r.consortium().is_some() {
                line.push_str(" (consortium view only)");
            }
            line
        })
        .collect()
}

/// The configured rules and their parameters.
pub struct Engine {
    pub params: Params,
    pub rules: Vec<Box<dyn Rule>>,
}

impl Engine {
    pub fn new(params: Params) -> Result<Self, ParamsError> {
        let rules = rules(&params)?;
        Ok(Self { params, rules })
    }

    /// The engine with the shipped parameters.
    pub fn shipped() -> Result<Self, ParamsError> {
        Self::new(Params::shipped()?)
    }

    /// Every rule of one tree over one resident (all but the rules over the consortium view);
    /// findings in rule order, then as each rule lists them.
    pub fn evaluate(&self, resident: &ResidentTree, at: OffsetDateTime) -> Vec<Finding> {
        let view = ResidentView::new(resident, &self.params);
        self.evaluate_view(&view, at)
    }

    pub fn evaluate_view(&self, view: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        self.resident_rules()
            .flat_map(|r| r.evaluate(view, at))
            .collect()
    }

    /// The rules [`Engine::evaluate`] runs on one resident's tree: every rule but those over
    /// the consortium view.
    pub fn resident_rules(&self) -> impl Iterator<Item = &dyn Rule> {
        self.rules
            .iter()
            .map(|r| r.as_ref())
            .filter(|r| r.consortium().is_none())
    }

    /// The cross-institution rules (QC-I01–I05) over the consortium view of one resident:
    /// `views` are the trees the member institutions hold of the resident, the local node's
    /// own among them. See [`evaluate_cross_institution`].
    pub fn evaluate_cross_institution(
        &self,
        views: &[InstitutionView],
        at: OffsetDateTime,
    ) -> Vec<CrossFinding> {
        institutions::evaluate(
            self.rules.iter().filter_map(|r| r.consortium()),
            views,
            &self.params,
            at,
        )
    }
}
