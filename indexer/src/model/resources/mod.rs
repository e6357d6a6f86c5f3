//! The resource views: one struct per kind the rules read, and [`Resource`] over all of them.

use serde_json::Value;

mod care;

pub use care::{CarePlan, Communication, EpisodeOfCare, Procedure, Request};

use super::ModelError;
use super::datatypes::{
    CodeableConcept, FhirTime, Identifier, Period, Quantity, Reference, opt_str, parse_array,
    parse_opt,
};

/// Reads the `value[x]`-style choice `prefix` + one of `suffixes` that is present, as a time.
/// A choice whose type we do not read (e.g. `onsetAge`) is `None`, not an error: it is valid
/// FHIR, it just carries no instant.
pub(super) fn choice_time(
    v: &Value,
    prefix: &str,
    path: &str,
) -> Result<Option<FhirTime>, ModelError> {
    for suffix in ["DateTime", "Instant", "Date"] {
        let field = format!("{prefix}{suffix}");
        if let Some(x) = parse_opt(v, &field, path, FhirTime::parse)? {
            return Ok(Some(x));
        }
    }
    if let Some(p) = parse_opt(v, &format!("{prefix}Period"), path, Period::parse)? {
        return Ok(p.start);
    }
    Ok(None)
}

/// Whether any `prefix[x]` choice element is present.
fn has_choice(v: &Value, prefix: &str) -> bool {
    v.as_object().is_some_and(|o| {
        o.iter()
            .any(|(k, x)| !x.is_null() && k.len() > prefix.len() && k.starts_with(prefix))
    })
}

pub(super) fn check_kind(v: &Value, expected: &str) -> Result<(), ModelError> {
    kind_among(v, &[expected]).map(|_| ())
}

/// The record's `resourceType` when it is one of `expected`, for a view that reads several
/// kinds alike.
pub(super) fn kind_among<'a>(v: &'a Value, expected: &[&str]) -> Result<&'a str, ModelError> {
    let found = v
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if expected.contains(&found) {
        Ok(found)
    } else {
        Err(ModelError::WrongKind {
            expected: expected.join(" or "),
            found: found.to_owned(),
        })
    }
}

/// `Patient.gender` (administrative gender).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Gender {
    Male,
    Female,
    Other,
    Unknown,
}

impl Gender {
    fn parse(s: &str, path: &str) -> Result<Self, ModelError> {
        match s {
            "male" => Ok(Self::Male),
            "female" => Ok(Self::Female),
            "other" => Ok(Self::Other),
            "unknown" => Ok(Self::Unknown),
            _ => Err(ModelError::BadCode {
                path: path.to_owned(),
                value: s.to_owned(),
            }),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Male => "male",
            Self::Female => "female",
            Self::Other => "other",
            Self::Unknown => "unknown",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Patient {
    pub id: Option<String>,
    pub identifiers: Vec<Identifier>,
    pub gender: Option<Gender>,
    /// Kept as text as well as parsed: a malformed birth date is a QC finding (F03), not a
    /// reason to drop the resident, so it does not fail the view.
    pub birth_date_text: Option<String>,
    pub birth_date: Option<FhirTime>,
    /// `deceasedBoolean: true`, or the time of `deceasedDateTime`.
    pub deceased: bool,
    pub deceased_at: Option<FhirTime>,
    pub has_name: bool,
    /// `active` (absent means active).
    pub active: bool,
    pub managing_organization: Option<Reference>,
    /// The administrative-division codes (GB/T 2260) of the addresses, from `address[].district`
    /// when it is six digits, or the address's `postalCode`-free `extension` is not read.
    pub address_divisions: Vec<String>,
    pub has_address: bool,
    /// Some `telecom` with `system = phone`.
    pub has_phone: bool,
    /// `link[]`: (other Patient reference, link type).
    pub links: Vec<(Reference, Option<String>)>,
    /// The URLs of the extensions present (ethnicity, residence type, payment type… in the
    /// archive profile), for the completeness score.
    pub extensions: Vec<String>,
    pub general_practitioner: Vec<Reference>,
}

impl Patient {
    pub fn parse(v: &Value) -> Result<Self, ModelError> {
        check_kind(v, "Patient")?;
        let p = "Patient";
        let gender = opt_str(v, "gender", p)?
            .map(|g| Gender::parse(&g, "Patient.gender"))
            .transpose()?;
        let birth_date_text = opt_str(v, "birthDate", p)?;
        let birth_date = birth_date_text
            .as_deref()
            .and_then(|s| FhirTime::parse_str(s, "Patient.birthDate").ok());
        let deceased_at = parse_opt(v, "deceasedDateTime", p, FhirTime::parse)?;
        let deceased = deceased_at.is_some()
            || v.get("deceasedBoolean").and_then(Value::as_bool) == Some(true);
        Ok(Self {
            id: opt_str(v, "id", p)?,
            identifiers: parse_array(v, "identifier", p, Identifier::parse)?,
            gender,
            birth_date_text,
            birth_date,
            deceased,
            deceased_at,
            has_name: !super::datatypes::opt_array(v, "name", p)?.is_empty(),
            active: v.get("active").and_then(Value::as_bool) != Some(false),
            managing_organization: parse_opt(v, "managingOrganization", p, Reference::parse)?,
            address_divisions: super::datatypes::opt_array(v, "address", p)?
                .iter()
                .filter_map(|a| a.get("district").and_then(Value::as_str))
                .filter(|d| d.len() == 6 && d.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_owned)
                .collect(),
            has_address: !super::datatypes::opt_array(v, "address", p)?.is_empty(),
            has_phone: super::datatypes::opt_array(v, "telecom", p)?
                .iter()
                .any(|t| t.get("system").and_then(Value::as_str) == Some("phone")),
            links: parse_array(v, "link", p, |l, path| {
                Ok((
                    parse_opt(l, "other", path, Reference::parse)?.unwrap_or_default(),
                    opt_str(l, "type", path)?,
                ))
            })?,
            extensions: super::datatypes::opt_array(v, "extension", p)?
                .iter()
                .filter_map(|e| e.get("url").and_then(Value::as_str))
                .map(str::to_owned)
                .collect(),
            general_practitioner: parse_array(v, "generalPractitioner", p, Reference::parse)?,
        })
    }

    /// Values of the identifiers of `system`, in order.
    pub fn identifier_values<'a>(&'a self, system: &'a str) -> impl Iterator<Item = &'a str> {
        self.identifiers
            .iter()
            .filter(move |i| i.system.as_deref() == Some(system))
            .filter_map(|i| i.value.as_deref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encounter {
    pub status: Option<String>,
    /// `class.code` (v3 ActCode: AMB, HH, FLD, VR…).
    pub class: Option<String>,
    pub period: Option<Period>,
    pub service_type: Option<CodeableConcept>,
    /// `type[]`: Synthea codes the visit here (SNOMED), not in `serviceType`.
    pub types: Vec<CodeableConcept>,
    pub subject: Option<Reference>,
    pub service_provider: Option<Reference>,
}

impl Encounter {
    pub fn parse(v: &Value) -> Result<Self, ModelError> {
        check_kind(v, "Encounter")?;
        let p = "Encounter";
        let class = match v.get("class") {
            None | Some(Value::Null) => None,
            Some(c) => super::datatypes::Coding::parse(c, "Encounter.class")?.code,
        };
        Ok(Self {
            status: opt_str(v, "status", p)?,
            class,
            period: parse_opt(v, "period", p, Period::parse)?,
            service_type: parse_opt(v, "serviceType", p, CodeableConcept::parse)?,
            types: parse_array(v, "type", p, CodeableConcept::parse)?,
            subject: parse_opt(v, "subject", p, Reference::parse)?,
            service_provider: parse_opt(v, "serviceProvider", p, Reference::parse)?,
        })
    }
}

/// An `Observation.component`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Component {
    pub code: CodeableConcept,
    pub value: Option<Quantity>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub status: Option<String>,
    pub code: Option<CodeableConcept>,
    pub effective: Option<FhirTime>,
    pub value: Option<Quantity>,
    /// Whether any other `value[x]` is present (string, CodeableConcept…): F04 asks for "a
    /// value", not for a quantity.
    pub has_other_value: bool,
    pub data_absent_reason: bool,
    pub components: Vec<Component>,
    pub encounter: Option<Reference>,
    pub subject: Option<Reference>,
    /// `valueCodeableConcept` (a classification, a screening result).
    pub value_code: Option<CodeableConcept>,
    /// `valueInteger` (a risk grade, a score).
    pub value_integer: Option<i64>,
    /// `valueBoolean`.
    pub value_boolean: Option<bool>,
    /// `valueDateTime` (an EDD, a last menstrual period).
    pub value_time: Option<FhirTime>,
    pub performers: Vec<Reference>,
}

impl Observation {
    pub fn parse(v: &Value) -> Result<Self, ModelError> {
        check_kind(v, "Observation")?;
        let p = "Observation";
        let components = parse_array(v, "component", p, |c, path| {
            Ok(Component {
                code: parse_opt(c, "code", path, CodeableConcept::parse)?.unwrap_or_default(),
                value: parse_opt(c, "valueQuantity", path, Quantity::parse)?,
            })
        })?;
        let has_other_value = v.as_object().is_some_and(|o| {
            o.keys()
                .any(|k| k.starts_with("value") && k != "valueQuantity")
        });
        Ok(Self {
            status: opt_str(v, "status", p)?,
            code: parse_opt(v, "code", p, CodeableConcept::parse)?,
            effective: choice_time(v, "effective", p)?,
            value: parse_opt(v, "valueQuantity", p, Quantity::parse)?,
            has_other_value,
            data_absent_reason: v.get("dataAbsentReason").is_some(),
            components,
            encounter: parse_opt(v, "encounter", p, Reference::parse)?,
            subject: parse_opt(v, "subject", p, Reference::parse)?,
            value_code: parse_opt(v, "valueCodeableConcept", p, CodeableConcept::parse)?,
            value_integer: match v.get("valueInteger") {
                None | Some(Value::Null) => None,
                Some(x) => Some(x.as_i64().ok_or_else(|| ModelError::WrongType {
                    path: "Observation.valueInteger".into(),
                    expected: "an integer",
                })?),
            },
            value_boolean: v.get("valueBoolean").and_then(Value::as_bool),
            value_time: parse_opt(v, "valueDateTime", p, FhirTime::parse)?,
            performers: parse_array(v, "performer", p, Reference::parse)?,
        })
    }

    /// The quantity of the component coded `code` in `system`.
    pub fn component(&self, system: &str, code: &str) -> Option<&Quantity> {
        self.components
            .iter()
            .find(|c| c.code.has(system, code))
            .and_then(|c| c.value.as_ref())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Condition {
    pub code: Option<CodeableConcept>,
    pub clinical_status: Option<String>,
    pub verification_status: Option<String>,
    pub onset: Option<FhirTime>,
    pub abatement: Option<FhirTime>,
    /// Any `abatement[x]` is present (also `abatementBoolean`/`abatementString`, which carry
    /// no instant): FHIR con-4 asks only whether the condition is abated.
    pub abated: bool,
    pub recorded_date: Option<FhirTime>,
    pub encounter: Option<Reference>,
    pub subject: Option<Reference>,
}

const CLINICAL: &str = "http://terminology.hl7.org/CodeSystem/condition-clinical";
const VERIFICATION: &str = "http://terminology.hl7.org/CodeSystem/condition-ver-status";

impl Condition {
    pub fn parse(v: &Value) -> Result<Self, ModelError> {
        check_kind(v, "Condition")?;
        let p = "Condition";
        let status = |field: &str, system: &str| -> Result<Option<String>, ModelError> {
            Ok(parse_opt(v, field, p, CodeableConcept::parse)?
                .and_then(|c| c.code_in(system).or(c.first_code()).map(str::to_owned)))
        };
        Ok(Self {
            code: parse_opt(v, "code", p, CodeableConcept::parse)?,
            clinical_status: status("clinicalStatus", CLINICAL)?,
            verification_status: status("verificationStatus", VERIFICATION)?,
            onset: choice_time(v, "onset", p)?,
            abatement: choice_time(v, "abatement", p)?,
            abated: has_choice(v, "abatement"),
            recorded_date: parse_opt(v, "recordedDate", p, FhirTime::parse)?,
            encounter: parse_opt(v, "encounter", p, Reference::parse)?,
            subject: parse_opt(v, "subject", p, Reference::parse)?,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Immunization {
    pub status: Option<String>,
    pub has_status_reason: bool,
    pub vaccine_code: Option<CodeableConcept>,
    pub occurrence: Option<FhirTime>,
    pub lot_number: Option<String>,
    /// Some `performer[].actor` is present.
    pub has_performer_actor: bool,
    /// Some `protocolApplied[].doseNumber[x]` is present.
    pub has_dose_number: bool,
    /// The first `protocolApplied` with a positive-integer `doseNumberPositiveInt`.
    pub dose_number: Option<u32>,
    /// `protocolApplied[].series` of that entry, else of the first entry naming a series: a
    /// `not-done` record (a contraindication, a refusal) often names the series and no dose.
    pub series: Option<String>,
    /// `protocolApplied[].seriesDosesPositiveInt` of that entry.
    pub series_doses: Option<u32>,
    /// The first `performer[].actor`.
    pub performer: Option<Reference>,
    pub encounter: Option<Reference>,
    pub patient: Option<Reference>,
}

impl Immunization {
    pub fn parse(v: &Value) -> Result<Self, ModelError> {
        check_kind(v, "Immunization")?;
        let p = "Immunization";
        let protocol = super::datatypes::opt_array(v, "protocolApplied", p)?
            .iter()
            .find(|x| x.get("doseNumberPositiveInt").is_some());
        Ok(Self {
            status: opt_str(v, "status", p)?,
            has_status_reason: v.get("statusReason").is_some(),
            vaccine_code: parse_opt(v, "vaccineCode", p, CodeableConcept::parse)?,
            occurrence: choice_time(v, "occurrence", p)?,
            lot_number: opt_str(v, "lotNumber", p)?,
            has_performer_actor: super::datatypes::opt_array(v, "performer", p)?
                .iter()
                .any(|x| x.get("actor").is_some_and(|a| !a.is_null())),
            has_dose_number: super::datatypes::opt_array(v, "protocolApplied", p)?
                .iter()
                .any(|x| has_choice(x, "doseNumber")),
            dose_number: protocol
                .and_then(|x| x.get("doseNumberPositiveInt"))
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok()),
            series: protocol
                .and_then(|x| x.get("series"))
                .or_else(|| {
                    super::datatypes::opt_array(v, "protocolApplied", p)
                        .ok()?
                        .iter()
                        .find_map(|x| x.get("series").filter(|s| s.is_string()))
                })
                .and_then(Value::as_str)
                .map(str::to_owned),
            series_doses: protocol
                .and_then(|x| x.get("seriesDosesPositiveInt"))
                .and_then(Value::as_u64)
                .and_then(|n| u32::try_from(n).ok()),
            performer: super::datatypes::opt_array(v, "performer", p)?
                .iter()
                .find_map(|x| x.get("actor"))
                .map(|a| Reference::parse(a, "Immunization.performer.actor"))
                .transpose()?,
            encounter: parse_opt(v, "encounter", p, Reference::parse)?,
            patient: parse_opt(v, "patient", p, Reference::parse)?,
        })
    }
}

/// The shared basics of `MedicationRequest` and `MedicationStatement`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Medication {
    /// `MedicationRequest` or `MedicationStatement`.
    pub kind: String,
    pub status: Option<String>,
    /// `MedicationRequest.intent`; `None` for a statement.
    pub intent: Option<String>,
    pub medication: Option<CodeableConcept>,
    /// `authoredOn` for a request, `effective[x]` (else `dateAsserted`) for a statement.
    pub when: Option<FhirTime>,
    /// `MedicationRequest.dispenseRequest.validityPeriod`.
    pub validity_period: Option<Period>,
    pub encounter: Option<Reference>,
    pub subject: Option<Reference>,
}

impl Medication {
    pub fn parse(v: &Value) -> Result<Self, ModelError> {
        let kind = kind_among(v, &["MedicationRequest", "MedicationStatement"])?;
        let p = kind;
        let (intent, when, encounter) = if kind == "MedicationRequest" {
            (
                opt_str(v, "intent", p)?,
                parse_opt(v, "authoredOn", p, FhirTime::parse)?,
                parse_opt(v, "encounter", p, Reference::parse)?,
            )
        } else {
            (
                None,
                match choice_time(v, "effective", p)? {
                    Some(t) => Some(t),
                    None => parse_opt(v, "dateAsserted", p, FhirTime::parse)?,
                },
                parse_opt(v, "context", p, Reference::parse)?,
            )
        };
        Ok(Self {
            kind: kind.to_owned(),
            status: opt_str(v, "status", p)?,
            intent,
            medication: parse_opt(v, "medicationCodeableConcept", p, CodeableConcept::parse)?,
            when,
            validity_period: match v.get("dispenseRequest") {
                Some(d) if d.is_object() => parse_opt(
                    d,
                    "validityPeriod",
                    &format!("{p}.dispenseRequest"),
                    Period::parse,
                )?,
                _ => None,
            },
            encounter,
            subject: parse_opt(v, "subject", p, Reference::parse)?,
        })
    }
}

/// Any record's content, read into its view when the kind is one the rules read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resource {
    Patient(Patient),
    Encounter(Encounter),
    Observation(Observation),
    Condition(Condition),
    Immunization(Immunization),
    Medication(Medication),
    EpisodeOfCare(EpisodeOfCare),
    Procedure(Procedure),
    /// `ServiceRequest` or `Task` (referrals, CDC notices).
    Request(Request),
    Communication(Communication),
    CarePlan(CarePlan),
    /// A kind no rule reads yet (Claim, Procedure…): kept and shown, not checked.
    Other {
        kind: String,
    },
}

impl Resource {
    /// Reads `v` into its view by its `resourceType`.
    pub fn parse(v: &Value) -> Result<Self, ModelError> {
        let kind = v
            .as_object()
            .ok_or(ModelError::NotAnObject)?
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        Ok(match kind {
            "Patient" => Self::Patient(Patient::parse(v)?),
            "Encounter" => Self::Encounter(Encounter::parse(v)?),
            "Observation" => Self::Observation(Observation::parse(v)?),
            "Condition" => Self::Condition(Condition::parse(v)?),
            "Immunization" => Self::Immunization(Immunization::parse(v)?),
            "MedicationRequest" | "MedicationStatement" => Self::Medication(Medication::parse(v)?),
            "EpisodeOfCare" => Self::EpisodeOfCare(EpisodeOfCare::parse(v)?),
            "Procedure" => Self::Procedure(Procedure::parse(v)?),
            "ServiceRequest" | "Task" => Self::Request(Request::parse(v)?),
            "Communication" => Self::Communication(Communication::parse(v)?),
            "CarePlan" => Self::CarePlan(CarePlan::parse(v)?),
            other => Self::Other {
                kind: other.to_owned(),
            },
        })
    }

    /// The encounter this resource was recorded in, if it names one.
    pub fn encounter_ref(&self) -> Option<&Reference> {
        match self {
            Self::Observation(o) => o.encounter.as_ref(),
            Self::Condition(c) => c.encounter.as_ref(),
            Self::Immunization(i) => i.encounter.as_ref(),
            Self::Medication(m) => m.encounter.as_ref(),
            Self::Procedure(x) => x.encounter.as_ref(),
            Self::Request(x) => x.encounter.as_ref(),
            Self::Communication(x) => x.encounter.as_ref(),
            Self::Patient(_)
            | Self::Encounter(_)
            | Self::EpisodeOfCare(_)
            | Self::CarePlan(_)
            | Self::Other { .. } => None,
        }
    }

    /// The clinical dates the resource carries, each named the way a sentence of a finding
    /// names it ("visit start"). Empty for kinds with no clinical date (Patient, Other).
    pub fn clinical_dates(&self) -> Vec<(&'static str, Option<&FhirTime>)> {
        fn start(p: &Option<Period>) -> Option<&FhirTime> {
            p.as_ref().and_then(|p| p.start.as_ref())
        }
        match self {
            Self::Observation(o) => vec![("observation date", o.effective.as_ref())],
            Self::Immunization(i) => vec![("vaccination date", i.occurrence.as_ref())],
            Self::Encounter(e) => vec![("visit start", start(&e.period))],
            Self::Condition(c) => vec![
                ("onset date", c.onset.as_ref()),
                ("recorded date", c.recorded_date.as_ref()),
            ],
            Self::Medication(m) => vec![("prescription date", m.when.as_ref())],
            Self::EpisodeOfCare(x) => vec![("enrolment date", start(&x.period))],
            Self::Procedure(x) => vec![("procedure date", x.performed.as_ref())],
            Self::Request(x) => vec![("request date", x.authored_on.as_ref())],
            Self::Communication(x) => vec![("contact date", x.sent.as_ref())],
            Self::CarePlan(x) => vec![("care plan start", start(&x.period))],
            Self::Patient(_) | Self::Other { .. } => Vec::new(),
        }
    }

    /// Whether the resource is excluded from all counting (DOMAIN.md §4.1): status
    /// `entered-in-error`, or a Condition verified as `entered-in-error` or `refuted`.
    pub fn is_excluded(&self) -> bool {
        let eie = |s: &Option<String>| s.as_deref() == Some("entered-in-error");
        match self {
            Self::Encounter(e) => eie(&e.status),
            Self::Observation(o) => eie(&o.status),
            Self::Immunization(i) => eie(&i.status),
            Self::Medication(m) => eie(&m.status),
            Self::EpisodeOfCare(x) => eie(&x.status),
            Self::Procedure(x) => eie(&x.status),
            Self::Request(x) => eie(&x.status),
            Self::Communication(x) => eie(&x.status),
            Self::CarePlan(x) => eie(&x.status),
            Self::Condition(c) => matches!(
                c.verification_status.as_deref(),
                Some("entered-in-error" | "refuted")
            ),
            Self::Patient(_) | Self::Other { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests;
