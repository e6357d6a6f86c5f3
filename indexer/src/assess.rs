//! One resident assessed at one instant: the rule findings, the programmes with their
//! obligations, the completeness score and the events, all from one reading of the tree.

use time::OffsetDateTime;

use crate::events::{Event, EventRules};
use crate::programme::{ProgrammeState, Schedules};
use crate::qc::{Engine, Finding, Params, ParamsError, ResidentView};
use crate::score::{Score, Scorer};
use crate::summary::QcSummary;
use crate::tree::ResidentTree;

/// Everything the node knows about one resident at `at`.
#[derive(Debug, Clone)]
pub struct Assessment {
    pub findings: Vec<Finding>,
    pub programmes: Vec<ProgrammeState>,
    pub score: Score,
    pub events: Vec<Event>,
}

/// The configured rules, schedules, score and event rules, from one parameter file.
pub struct Assessor {
    pub engine: Engine,
    pub schedules: Schedules,
    pub scorer: Scorer,
    pub events: EventRules,
}

impl Assessor {
    pub fn new(params: Params) -> Result<Self, ParamsError> {
        Ok(Self {
            schedules: Schedules::new(&params)?,
            scorer: Scorer::new(&params)?,
            events: EventRules::new(&params)?,
            engine: Engine::new(params)?,
        })
    }

    /// With the parameters shipped in the crate.
    pub fn shipped() -> Result<Self, ParamsError> {
        Self::new(Params::shipped()?)
    }

    pub fn assess(&self, tree: &ResidentTree, at: OffsetDateTime) -> Assessment {
        let view = ResidentView::new(tree, &self.engine.params);
        let findings = self.engine.evaluate_view(&view, at);
        let programmes = self.schedules.evaluate(&view, at);
        let score = self.scorer.score_with(&view, &programmes, &findings, at);
        let events = self.events.derive_with(&view, &programmes, &findings, at);
        Assessment {
            findings,
            programmes,
            score,
            events,
        }
    }

    /// The QC summary record of an assessment.
    pub fn summary(&self, tree: &ResidentTree, a: &Assessment, at: OffsetDateTime) -> QcSummary {
        let mut s = QcSummary::new(
            &tree.pseudonym,
            at,
            &self.engine.params.version,
            self.engine.resident_rules().count(),
            &a.findings,
        );
        s.score = Some(a.score.value);
        s.band = Some(format!("{:?}", a.score.band));
        s
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;
    use time::macros::datetime;

    use super::*;
    use crate::testutil::resident;

    #[test]
    fn one_assessment_agrees_with_each_part_run_alone() {
        let a = Assessor::shipped().expect("assessor");
        let tree = resident(&[
            json!({"resourceType": "Patient", "id": "p", "gender": "male", "birthDate": "1950-03-04"}),
            json!({"resourceType": "Condition", "id": "c", "subject": {"reference": "Patient/p"},
                   "recordedDate": "2024-01-02", "clinicalStatus": {"coding": [{"code": "active"}]},
                   "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cn", "code": "I10"}]}}),
        ]);
        let at = datetime!(2025-06-01 0:00 UTC);
        let x = a.assess(&tree, at);
        assert_eq!(x.findings, a.engine.evaluate(&tree, at));
        let view = ResidentView::new(&tree, &a.engine.params);
        assert_eq!(x.score, a.scorer.score(&view, &x.findings, at));
        assert_eq!(x.events, a.events.derive(&view, &x.findings, at));
        // A 75-year-old hypertensive man with no care at all: HTN eligible, a poor score.
        assert!(x.programmes.iter().any(|p| p.programme.code() == "HTN"));
        assert!(x.score.value < 60, "{}", x.score.value);
        let s = a.summary(&tree, &x, at);
        assert_eq!(s.score, Some(x.score.value));
        assert_eq!(s.band.as_deref(), Some("D"));
    }
}
