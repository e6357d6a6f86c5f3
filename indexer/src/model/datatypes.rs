//! FHIR R4 data types shared by the resource views.

use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::ModelError;

/// Reads an optional string field: absent or null is `None`, any other non-string an error.
pub(crate) fn opt_str(v: &Value, field: &str, path: &str) -> Result<Option<String>, ModelError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(ModelError::WrongType {
            path: format!("{path}.{field}"),
            expected: "a string",
        }),
    }
}

/// Reads an optional array field; a lone object is refused rather than wrapped, because FHIR
/// JSON always writes repeating elements as arrays and anything else is a producer bug.
pub(crate) fn opt_array<'a>(
    v: &'a Value,
    field: &str,
    path: &str,
) -> Result<&'a [Value], ModelError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(&[]),
        Some(Value::Array(a)) => Ok(a),
        Some(_) => Err(ModelError::WrongType {
            path: format!("{path}.{field}"),
            expected: "an array",
        }),
    }
}

/// Parses each element of an optional array field with `f`, passing the element's path.
pub(crate) fn parse_array<T>(
    v: &Value,
    field: &str,
    path: &str,
    f: impl Fn(&Value, &str) -> Result<T, ModelError>,
) -> Result<Vec<T>, ModelError> {
    opt_array(v, field, path)?
        .iter()
        .enumerate()
        .map(|(i, e)| f(e, &format!("{path}.{field}[{i}]")))
        .collect()
}

/// Parses an optional object field with `f`.
pub(crate) fn parse_opt<T>(
    v: &Value,
    field: &str,
    path: &str,
    f: impl Fn(&Value, &str) -> Result<T, ModelError>,
) -> Result<Option<T>, ModelError> {
    match v.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(x) => f(x, &format!("{path}.{field}")).map(Some),
    }
}

fn require_object(v: &Value, path: &str) -> Result<(), ModelError> {
    if v.is_object() {
        Ok(())
    } else {
        Err(ModelError::WrongType {
            path: path.to_owned(),
            expected: "an object",
        })
    }
}

/// One `Coding`: system and code are what every value set matches on.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Coding {
    pub system: Option<String>,
    pub code: Option<String>,
    pub display: Option<String>,
}

impl Coding {
    pub fn parse(v: &Value, path: &str) -> Result<Self, ModelError> {
        require_object(v, path)?;
        Ok(Self {
            system: opt_str(v, "system", path)?,
            code: opt_str(v, "code", path)?,
            display: opt_str(v, "display", path)?,
        })
    }

    /// Whether this coding is `code` in `system`.
    pub fn is(&self, system: &str, code: &str) -> bool {
        self.system.as_deref() == Some(system) && self.code.as_deref() == Some(code)
    }
}

/// A `CodeableConcept`: the codings plus the free text a text-only code carries (QC-F05 needs
/// to tell the two apart).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CodeableConcept {
    pub coding: Vec<Coding>,
    pub text: Option<String>,
}

impl CodeableConcept {
    pub fn parse(v: &Value, path: &str) -> Result<Self, ModelError> {
        require_object(v, path)?;
        Ok(Self {
            coding: parse_array(v, "coding", path, Coding::parse)?,
            text: opt_str(v, "text", path)?,
        })
    }

    /// Whether any coding is `code` in `system`.
    pub fn has(&self, system: &str, code: &str) -> bool {
        self.coding.iter().any(|c| c.is(system, code))
    }

    /// The first code of `system`, for status-like concepts that carry one code.
    pub fn code_in(&self, system: &str) -> Option<&str> {
        self.coding
            .iter()
            .find(|c| c.system.as_deref() == Some(system))
            .and_then(|c| c.code.as_deref())
    }

    /// The first code of any system.
    pub fn first_code(&self) -> Option<&str> {
        self.coding.iter().find_map(|c| c.code.as_deref())
    }
}

/// An `Identifier`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Identifier {
    pub system: Option<String>,
    pub value: Option<String>,
}

impl Identifier {
    pub fn parse(v: &Value, path: &str) -> Result<Self, ModelError> {
        require_object(v, path)?;
        Ok(Self {
            system: opt_str(v, "system", path)?,
            value: opt_str(v, "value", path)?,
        })
    }
}

/// A `Reference`, reduced to what resolution needs. `target` is the `Kind/id` (or bare id for a
/// `urn:uuid:`) parsed from `reference`; see [`Reference::id_for`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Reference {
    pub reference: Option<String>,
    pub identifier: Option<Identifier>,
}

impl Reference {
    pub fn parse(v: &Value, path: &str) -> Result<Self, ModelError> {
        require_object(v, path)?;
        Ok(Self {
            reference: opt_str(v, "reference", path)?,
            identifier: parse_opt(v, "identifier", path, Identifier::parse)?,
        })
    }

    /// The logical id this reference names when it points at a resource of `kind`, or `None`
    /// when it names another kind or cannot be read.
    ///
    /// Accepts `Kind/id`, an absolute URL ending in `Kind/id[/_history/n]`, and `urn:uuid:id`.
    /// The last form works because the ledger gives an entry whose resource has no `id` the
    /// uuid of its `fullUrl` as id, and Synthea's bundles use the resource id as the uuid; a
    /// `urn:uuid:` says nothing about the kind, so the caller's expected kind is trusted.
    pub fn id_for(&self, kind: &str) -> Option<&str> {
        let r = self.reference.as_deref()?;
        if let Some(id) = r.strip_prefix("urn:uuid:") {
            return Some(id);
        }
        let r = match r.find("/_history/") {
            Some(i) => &r[..i],
            None => r,
        };
        let mut parts = r.rsplit('/');
        let id = parts.next()?;
        let k = parts.next()?;
        (k == kind && !id.is_empty()).then_some(id)
    }
}

/// A FHIR `date`, `dateTime` or `instant`, kept as received and as the UTC instant of the start
/// of the period it denotes (the ledger's reading of partial dates, so envelope `effective`
/// and the tree agree).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FhirTime {
    pub text: String,
    pub start: OffsetDateTime,
}

impl FhirTime {
    pub fn parse_str(s: &str, path: &str) -> Result<Self, ModelError> {
        let bad = || ModelError::BadDate {
            path: path.to_owned(),
            value: s.to_owned(),
        };
        let utc = hl_ledger::time_fmt::normalize_fhir_datetime(s).map_err(|_| bad())?;
        let start = OffsetDateTime::parse(&utc, &Rfc3339).map_err(|_| bad())?;
        Ok(Self {
            text: s.to_owned(),
            start,
        })
    }

    pub fn parse(v: &Value, path: &str) -> Result<Self, ModelError> {
        match v {
            Value::String(s) => Self::parse_str(s, path),
            _ => Err(ModelError::WrongType {
                path: path.to_owned(),
                expected: "a date string",
            }),
        }
    }

    /// The calendar date of the start, in UTC.
    pub fn date(&self) -> time::Date {
        self.start.date()
    }
}

/// A `Period`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Period {
    pub start: Option<FhirTime>,
    pub end: Option<FhirTime>,
}

impl Period {
    pub fn parse(v: &Value, path: &str) -> Result<Self, ModelError> {
        require_object(v, path)?;
        Ok(Self {
            start: parse_opt(v, "start", path, FhirTime::parse)?,
            end: parse_opt(v, "end", path, FhirTime::parse)?,
        })
    }
}

/// A `Quantity`. The value stays the decimal text received (the ledger keeps `120.50` as
/// `120.50`) next to its `f64` reading, which rules compare against thresholds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Quantity {
    pub value: Option<f64>,
    pub value_text: Option<String>,
    /// UCUM code when `system` is UCUM, else the human `unit`.
    pub unit: Option<String>,
    pub system: Option<String>,
}

impl Eq for Quantity {}

impl Quantity {
    pub fn parse(v: &Value, path: &str) -> Result<Self, ModelError> {
        require_object(v, path)?;
        let (value, value_text) = match v.get("value") {
            None | Some(Value::Null) => (None, None),
            Some(Value::Number(n)) => (n.as_f64(), Some(n.to_string())),
            Some(_) => {
                return Err(ModelError::WrongType {
                    path: format!("{path}.value"),
                    expected: "a number",
                });
            }
        };
        // Prefer the computable UCUM code over the display unit: QC-F06 compares UCUM codes.
        let unit = match opt_str(v, "code", path)? {
            Some(c) => Some(c),
            None => opt_str(v, "unit", path)?,
        };
        Ok(Self {
            value,
            value_text,
            unit,
            system: opt_str(v, "system", path)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reference_forms_resolve_to_ids() {
        let r = |s: &str| Reference {
            reference: Some(s.into()),
            identifier: None,
        };
        assert_eq!(r("Encounter/e1").id_for("Encounter"), Some("e1"));
        assert_eq!(r("Encounter/e1").id_for("Patient"), None);
        assert_eq!(r("urn:uuid:abc").id_for("Encounter"), Some("abc"));
        assert_eq!(
            r("https://x.org/fhir/Encounter/e2/_history/3").id_for("Encounter"),
            Some("e2")
        );
        assert_eq!(r("e1").id_for("Encounter"), None);
    }

    #[test]
    fn partial_dates_start_their_period() {
        let t = FhirTime::parse_str("2024-03", "x").expect("partial date");
        assert_eq!(t.start.to_string(), "2024-03-01 0:00:00.0 +00:00:00");
        let t = FhirTime::parse_str("2024-03-01T08:00:00+08:00", "x").expect("dateTime");
        assert_eq!(t.start.unix_timestamp(), 1_709_251_200);
        assert_eq!(
            FhirTime::parse_str("2024-13", "Obs.effectiveDateTime"),
            Err(ModelError::BadDate {
                path: "Obs.effectiveDateTime".into(),
                value: "2024-13".into()
            })
        );
    }

    #[test]
    fn quantity_keeps_decimal_text_and_prefers_ucum_code() {
        let q = Quantity::parse(
            &json!({"value": 120.50, "unit": "mmHg", "code": "mm[Hg]"}),
            "q",
        )
        .expect("quantity");
        assert_eq!(q.value, Some(120.5));
        assert_eq!(q.unit.as_deref(), Some("mm[Hg]"));
        assert!(Quantity::parse(&json!({"value": "120"}), "q").is_err());
    }

    #[test]
    fn codeable_concept_rejects_non_array_coding() {
        let err = CodeableConcept::parse(&json!({"coding": {"code": "x"}}), "Condition.code");
        assert_eq!(
            err,
            Err(ModelError::WrongType {
                path: "Condition.code.coding".into(),
                expected: "an array"
            })
        );
    }
}
