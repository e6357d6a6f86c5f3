//! Views of the care-process resources: programme episodes, procedures, requests (referrals,
//! CDC notices), contacts and care plans.

use serde_json::Value;

use super::super::ModelError;
use super::super::datatypes::{
    CodeableConcept, FhirTime, Period, Reference, opt_str, parse_array, parse_opt,
};
use super::{check_kind, choice_time, kind_among};

/// An `EpisodeOfCare`: a resident's enrolment in a programme (`type`, phs-service programme
/// codes HTN, T2D, SMI, TB, PREG, CHILD, ELDER).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EpisodeOfCare {
    pub status: Option<String>,
    pub types: Vec<CodeableConcept>,
    pub period: Option<Period>,
    /// `diagnosis[].condition`.
    pub diagnoses: Vec<Reference>,
    pub managing_organization: Option<Reference>,
    pub patient: Option<Reference>,
}

impl EpisodeOfCare {
    pub fn parse(v: &Value) -> Result<Self, ModelError> {
        check_kind(v, "EpisodeOfCare")?;
        let p = "EpisodeOfCare";
        Ok(Self {
            status: opt_str(v, "status", p)?,
            types: parse_array(v, "type", p, CodeableConcept::parse)?,
            period: parse_opt(v, "period", p, Period::parse)?,
            diagnoses: parse_array(v, "diagnosis", p, |d, path| {
                Ok(parse_opt(d, "condition", path, Reference::parse)?.unwrap_or_default())
            })?,
            managing_organization: parse_opt(v, "managingOrganization", p, Reference::parse)?,
            patient: parse_opt(v, "patient", p, Reference::parse)?,
        })
    }

    /// The first type code in `system`.
    pub fn type_in(&self, system: &str) -> Option<&str> {
        self.types.iter().find_map(|t| t.code_in(system))
    }
}

/// A `Procedure` (a delivery, an operation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Procedure {
    pub status: Option<String>,
    pub code: Option<CodeableConcept>,
    /// `performed[x]` start (dateTime or Period.start).
    pub performed: Option<FhirTime>,
    /// `performedPeriod.end`.
    pub performed_end: Option<FhirTime>,
    pub encounter: Option<Reference>,
    pub subject: Option<Reference>,
}

impl Procedure {
    pub fn parse(v: &Value) -> Result<Self, ModelError> {
        check_kind(v, "Procedure")?;
        let p = "Procedure";
        Ok(Self {
            status: opt_str(v, "status", p)?,
            code: parse_opt(v, "code", p, CodeableConcept::parse)?,
            performed: choice_time(v, "performed", p)?,
            performed_end: parse_opt(v, "performedPeriod", p, Period::parse)?.and_then(|x| x.end),
            encounter: parse_opt(v, "encounter", p, Reference::parse)?,
            subject: parse_opt(v, "subject", p, Reference::parse)?,
        })
    }
}

/// A `ServiceRequest` or a `Task`: a referral, or a CDC case notice.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// `ServiceRequest` or `Task`.
    pub kind: String,
    pub status: Option<String>,
    pub intent: Option<String>,
    pub code: Option<CodeableConcept>,
    pub authored_on: Option<FhirTime>,
    /// `reasonReference[]` (ServiceRequest) or `reasonReference` (Task).
    pub reasons: Vec<Reference>,
    /// `ServiceRequest.encounter` or `Task.encounter`.
    pub encounter: Option<Reference>,
    /// `ServiceRequest.subject` or `Task.for`.
    pub subject: Option<Reference>,
}

impl Request {
    pub fn parse(v: &Value) -> Result<Self, ModelError> {
        let kind = kind_among(v, &["ServiceRequest", "Task"])?;
        let p = kind;
        let (reasons, subject) = if kind == "ServiceRequest" {
            (
                parse_array(v, "reasonReference", p, Reference::parse)?,
                parse_opt(v, "subject", p, Reference::parse)?,
            )
        } else {
            (
                parse_opt(v, "reasonReference", p, Reference::parse)?
                    .into_iter()
                    .collect(),
                parse_opt(v, "for", p, Reference::parse)?,
            )
        };
        Ok(Self {
            kind: kind.to_owned(),
            status: opt_str(v, "status", p)?,
            intent: opt_str(v, "intent", p)?,
            code: parse_opt(v, "code", p, CodeableConcept::parse)?,
            authored_on: parse_opt(v, "authoredOn", p, FhirTime::parse)?,
            reasons,
            encounter: parse_opt(v, "encounter", p, Reference::parse)?,
            subject,
        })
    }
}

/// A `Communication` (a phone contact counts as a contact with the resident).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Communication {
    pub status: Option<String>,
    pub sent: Option<FhirTime>,
    pub encounter: Option<Reference>,
    pub subject: Option<Reference>,
}

impl Communication {
    pub fn parse(v: &Value) -> Result<Self, ModelError> {
        check_kind(v, "Communication")?;
        let p = "Communication";
        Ok(Self {
            status: opt_str(v, "status", p)?,
            sent: parse_opt(v, "sent", p, FhirTime::parse)?,
            encounter: parse_opt(v, "encounter", p, Reference::parse)?,
            subject: parse_opt(v, "subject", p, Reference::parse)?,
        })
    }
}

/// A `CarePlan`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CarePlan {
    pub status: Option<String>,
    pub period: Option<Period>,
    pub subject: Option<Reference>,
}

impl CarePlan {
    pub fn parse(v: &Value) -> Result<Self, ModelError> {
        check_kind(v, "CarePlan")?;
        let p = "CarePlan";
        Ok(Self {
            status: opt_str(v, "status", p)?,
            period: parse_opt(v, "period", p, Period::parse)?,
            subject: parse_opt(v, "subject", p, Reference::parse)?,
        })
    }
}
