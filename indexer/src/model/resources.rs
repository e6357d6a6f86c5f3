//! The resource views: one struct per kind the rules read, and [`Resource`] over all of them.

use serde_json::Value;

use super::ModelError;
use super::datatypes::{
    CodeableConcept, FhirTime, Identifier, Period, Quantity, Reference, opt_str, parse_array,
    parse_opt,
};

/// Reads the `value[x]`-style choice `prefix` + one of `suffixes` that is present, as a time.
/// A choice whose type we do not read (e.g. `onsetAge`) is `None`, not an error: it is valid
/// FHIR, it just carries no instant.
fn choice_time(v: &Value, prefix: &str, path: &str) -> Result<Option<FhirTime>, ModelError> {
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

fn check_kind(v: &Value, expected: &str) -> Result<(), ModelError> {
    let found = v
        .get("resourceType")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if found == expected {
        Ok(())
    } else {
        Err(ModelError::WrongKind {
            expected: expected.to_owned(),
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
    pub encounter: Option<Reference>,
    pub patient: Option<Reference>,
}

impl Immunization {
    pub fn parse(v: &Value) -> Result<Self, ModelError> {
        check_kind(v, "Immunization")?;
        let p = "Immunization";
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
        let kind = v
            .get("resourceType")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let p = kind;
        let (intent, when, encounter) = match kind {
            "MedicationRequest" => (
                opt_str(v, "intent", p)?,
                parse_opt(v, "authoredOn", p, FhirTime::parse)?,
                parse_opt(v, "encounter", p, Reference::parse)?,
            ),
            "MedicationStatement" => (
                None,
                match choice_time(v, "effective", p)? {
                    Some(t) => Some(t),
                    None => parse_opt(v, "dateAsserted", p, FhirTime::parse)?,
                },
                parse_opt(v, "context", p, Reference::parse)?,
            ),
            _ => {
                return Err(ModelError::WrongKind {
                    expected: "MedicationRequest or MedicationStatement".into(),
                    found: kind.to_owned(),
                });
            }
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
            Self::Patient(_) | Self::Encounter(_) | Self::Other { .. } => None,
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
            Self::Condition(c) => matches!(
                c.verification_status.as_deref(),
                Some("entered-in-error" | "refuted")
            ),
            Self::Patient(_) | Self::Other { .. } => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patient_reads_demographics_and_tolerates_bad_birth_date() {
        let p = Patient::parse(&json!({
            "resourceType": "Patient", "id": "p1", "gender": "female",
            "birthDate": "1949-12-31", "deceasedDateTime": "2020-01-02",
            "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": "11010519491231002X"}],
            "name": [{"family": "王"}]
        }))
        .expect("patient");
        assert_eq!(p.gender, Some(Gender::Female));
        assert_eq!(
            p.birth_date
                .as_ref()
                .map(|d| d.date().to_string())
                .as_deref(),
            Some("1949-12-31")
        );
        assert!(p.deceased && p.has_name);
        assert_eq!(
            p.identifier_values("urn:oid:2.16.156.10011.1.3")
                .collect::<Vec<_>>(),
            ["11010519491231002X"]
        );
        let p = Patient::parse(&json!({"resourceType": "Patient", "birthDate": "1949-02-30"}))
            .expect("bad birth date is a finding, not a parse failure");
        assert_eq!(p.birth_date, None);
        assert_eq!(p.birth_date_text.as_deref(), Some("1949-02-30"));
        assert!(matches!(
            Patient::parse(&json!({"resourceType": "Patient", "gender": "M"})),
            Err(ModelError::BadCode { .. })
        ));
    }

    #[test]
    fn synthea_resources_parse() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../shared/data/fhir/synthea-tietai/Darrell_Funk_3dd33b34.json"
        );
        let text = std::fs::read_to_string(path).expect("shared Synthea bundle");
        let bundle: Value = serde_json::from_str(&text).expect("bundle JSON");
        let entries = bundle["entry"].as_array().expect("entries");
        let mut read = 0;
        for e in entries {
            let r = Resource::parse(&e["resource"]).expect("every Synthea resource parses");
            if !matches!(r, Resource::Other { .. }) {
                read += 1;
            }
        }
        assert!(read > 200, "only {read} typed resources");
        let bp = entries
            .iter()
            .filter_map(|e| Observation::parse(&e["resource"]).ok())
            .find(|o| {
                o.code
                    .as_ref()
                    .is_some_and(|c| c.has("http://loinc.org", "85354-9"))
            })
            .expect("a BP panel");
        let sbp = bp.component("http://loinc.org", "8480-6").expect("SBP");
        assert_eq!(sbp.unit.as_deref(), Some("mm[Hg]"));
        assert!(
            bp.encounter
                .as_ref()
                .and_then(|r| r.id_for("Encounter"))
                .is_some()
        );
    }

    #[test]
    fn encounter_and_condition_fields() {
        let e = Encounter::parse(&json!({
            "resourceType": "Encounter", "status": "finished",
            "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "HH"},
            "serviceType": {"coding": [{"system": "phs-service", "code": "HTN-FU"}]},
            "period": {"start": "2024-05-10", "end": "2024-05-08"},
            "subject": {"reference": "Patient/p1"}
        }))
        .expect("encounter");
        assert_eq!(e.class.as_deref(), Some("HH"));
        assert!(
            e.service_type
                .is_some_and(|s| s.has("phs-service", "HTN-FU"))
        );
        let c = Condition::parse(&json!({
            "resourceType": "Condition",
            "verificationStatus": {"coding": [{"system": VERIFICATION, "code": "refuted"}]},
            "code": {"text": "高血压"}, "onsetDateTime": "2020"
        }))
        .expect("condition");
        assert!(Resource::Condition(c.clone()).is_excluded());
        assert_eq!(c.onset.map(|t| t.text).as_deref(), Some("2020"));
        assert!(matches!(
            Encounter::parse(&json!({"resourceType": "Encounter", "period": {"start": 5}})),
            Err(ModelError::WrongType { path, .. }) if path == "Encounter.period.start"
        ));
    }

    #[test]
    fn medication_request_and_statement() {
        let m = Medication::parse(&json!({
            "resourceType": "MedicationStatement", "status": "active",
            "effectivePeriod": {"start": "2024-01-01"}, "context": {"reference": "Encounter/e1"}
        }))
        .expect("statement");
        assert_eq!(m.when.map(|t| t.text).as_deref(), Some("2024-01-01"));
        assert_eq!(
            m.encounter
                .and_then(|r| r.id_for("Encounter").map(str::to_owned))
                .as_deref(),
            Some("e1")
        );
        assert!(Medication::parse(&json!({"resourceType": "Claim"})).is_err());
    }
}
