//! Field rules on what a clinical record holds: required elements (QC-F04), recognised code
//! systems (QC-F05), allowed units (QC-F06), plausible ranges (QC-F07) and dates no later than
//! the record's receipt (QC-F08).

use std::collections::BTreeMap;

use time::OffsetDateTime;

use super::{loinc_codes, per_record};
use crate::model::{CodeableConcept, Observation, Quantity, Resource};
use crate::qc::params::{AllowedUnits, Params, ParamsError, Range, Severity};
use crate::qc::{Finding, ResidentView, Rule, rule_meta};

/// The elements QC-F04 can check, per kind, with the words a finding uses for them.
const F04_ELEMENTS: &[(&str, &[(&str, &str)])] = &[
    (
        "Encounter",
        &[
            ("status", "status"),
            ("class", "visit class"),
            ("period.start", "start time"),
            ("serviceProvider", "providing institution"),
            ("subject", "resident reference"),
            ("serviceType", "service type"),
        ],
    ),
    (
        "Observation",
        &[
            ("status", "status"),
            ("code", "test code"),
            ("subject", "resident reference"),
            ("effective", "date"),
            ("value|dataAbsentReason", "value (or a reason it is absent)"),
        ],
    ),
    (
        "Immunization",
        &[
            ("status", "status"),
            ("vaccineCode", "vaccine code"),
            ("occurrence", "vaccination date"),
            ("lotNumber", "lot number"),
            ("performer.actor", "vaccinator"),
            ("protocolApplied.doseNumber", "dose number"),
        ],
    ),
    (
        "Condition",
        &[
            ("code", "diagnosis code"),
            ("subject", "resident reference"),
            ("recordedDate", "recorded date"),
            ("onset", "onset date"),
        ],
    ),
];

/// Whether `element` (a name of [`F04_ELEMENTS`]) is present in `r`; `None` for a kind or
/// element QC-F04 does not know.
fn element_present(r: &Resource, element: &str) -> Option<bool> {
    Some(match (r, element) {
        (Resource::Encounter(e), "status") => e.status.is_some(),
        (Resource::Encounter(e), "class") => e.class.is_some(),
        (Resource::Encounter(e), "period.start") => {
            e.period.as_ref().is_some_and(|p| p.start.is_some())
        }
        (Resource::Encounter(e), "serviceProvider") => e.service_provider.is_some(),
        (Resource::Encounter(e), "subject") => e.subject.is_some(),
        (Resource::Encounter(e), "serviceType") => e.service_type.is_some(),
        (Resource::Observation(o), "status") => o.status.is_some(),
        (Resource::Observation(o), "code") => o.code.is_some(),
        (Resource::Observation(o), "subject") => o.subject.is_some(),
        (Resource::Observation(o), "effective") => o.effective.is_some(),
        // A panel carries its values in components (the BP panel has no value of its own).
        (Resource::Observation(o), "value|dataAbsentReason") => {
            o.value.is_some()
                || o.has_other_value
                || o.data_absent_reason
                || o.components.iter().any(|c| c.value.is_some())
        }
        (Resource::Immunization(i), "status") => i.status.is_some(),
        (Resource::Immunization(i), "vaccineCode") => i.vaccine_code.is_some(),
        (Resource::Immunization(i), "occurrence") => i.occurrence.is_some(),
        (Resource::Immunization(i), "lotNumber") => i.lot_number.is_some(),
        (Resource::Immunization(i), "performer.actor") => i.has_performer_actor,
        (Resource::Immunization(i), "protocolApplied.doseNumber") => i.has_dose_number,
        (Resource::Condition(c), "code") => c.code.is_some(),
        (Resource::Condition(c), "subject") => c.subject.is_some(),
        (Resource::Condition(c), "recordedDate") => c.recorded_date.is_some(),
        (Resource::Condition(c), "onset") => c.onset.is_some(),
        _ => return None,
    })
}

/// QC-F04: the elements each kind requires are present. Entered-in-error records are
/// skipped, and a `not-done` Immunization is not asked for lot, vaccinator or dose number,
/// since nothing was given.
pub struct F04RequiredElements {
    severity: Severity,
    /// Kind → (element, words).
    required: BTreeMap<String, Vec<(&'static str, &'static str)>>,
}

impl F04RequiredElements {
    pub fn new(params: &Params) -> Result<Self, ParamsError> {
        let mut required = BTreeMap::new();
        for (kind, elements) in &params.f04.required {
            let unknown = |element: &str| ParamsError::UnknownElement {
                kind: kind.clone(),
                element: element.to_owned(),
            };
            let known = F04_ELEMENTS
                .iter()
                .find(|(k, _)| k == kind)
                .map(|(_, e)| *e)
                .ok_or_else(|| unknown(""))?;
            let list = elements
                .iter()
                .map(|e| {
                    known
                        .iter()
                        .find(|(name, _)| name == e)
                        .copied()
                        .ok_or_else(|| unknown(e))
                })
                .collect::<Result<Vec<_>, _>>()?;
            required.insert(kind.clone(), list);
        }
        Ok(Self {
            severity: params.f04.severity,
            required,
        })
    }
}

impl Rule for F04RequiredElements {
    rule_meta!("QC-F04", F, defaults: ["required"]);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        per_record(self, resident, at, resident.counted(), |node, r| {
            let required = self.required.get(&node.key.kind)?;
            let not_done =
                matches!(r, Resource::Immunization(i) if i.status.as_deref() == Some("not-done"));
            let missing: Vec<&str> = required
                .iter()
                .filter(|(e, _)| {
                    !(not_done
                        && matches!(
                            *e,
                            "lotNumber" | "performer.actor" | "protocolApplied.doseNumber"
                        ))
                })
                .filter(|(e, _)| element_present(r, e) == Some(false))
                .map(|(_, words)| *words)
                .collect();
            (!missing.is_empty()).then(|| {
                format!(
                    "The {} record {} has no {}.",
                    node.key.kind,
                    node.key.id,
                    missing.join(", no ")
                )
            })
        })
    }
}

/// QC-F05: diagnosis, test, vaccine and service-type codes carry a coding in a recognised code
/// system. Whether the code is active in that system is not checked (no terminology server).
/// An absent concept is F04's finding, not this rule's.
pub struct F05RecognisedSystem {
    severity: Severity,
    systems: Vec<String>,
}

impl F05RecognisedSystem {
    pub fn new(params: &Params) -> Self {
        Self {
            severity: params.f05.severity,
            systems: params.f05.systems.clone(),
        }
    }

    fn recognised(&self, c: &CodeableConcept) -> bool {
        c.coding.iter().any(|x| {
            x.code.is_some()
                && x.system
                    .as_deref()
                    .is_some_and(|s| self.systems.iter().any(|k| k == s))
        })
    }
}

impl Rule for F05RecognisedSystem {
    rule_meta!("QC-F05", F, defaults: ["systems (the phs-service code system)"]);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        per_record(self, resident, at, resident.counted(), |node, r| {
            let (what, concept) = match r {
                Resource::Condition(c) => ("diagnosis", c.code.as_ref()),
                Resource::Observation(o) => ("test", o.code.as_ref()),
                Resource::Immunization(i) => ("vaccine", i.vaccine_code.as_ref()),
                Resource::Encounter(e) => ("service type", e.service_type.as_ref()),
                _ => return None,
            };
            let c = concept.filter(|c| !self.recognised(c))?;
            let shown = c
                .text
                .as_deref()
                .or_else(|| c.coding.iter().find_map(|x| x.display.as_deref()))
                .or_else(|| c.first_code())
                .unwrap_or("(empty)");
            let how = if c.coding.is_empty() {
                "only as free text".to_owned()
            } else {
                let systems: Vec<&str> = c
                    .coding
                    .iter()
                    .map(|x| x.system.as_deref().unwrap_or("no system"))
                    .collect();
                format!("only in {}", systems.join(", "))
            };
            Some(format!(
                "The {what} \"{shown}\" in {} is coded {how}, not in a recognised code system.",
                node.key
            ))
        })
    }
}

/// Each measured value of an observation under each of its LOINC codes: its own value, then
/// each component's. F06 and F07 judge the same values, so they must read them alike.
fn loinc_values(o: &Observation) -> Vec<(&str, &Quantity)> {
    let own = o.code.as_ref().zip(o.value.as_ref());
    let parts = o
        .components
        .iter()
        .filter_map(|c| Some((&c.code, c.value.as_ref()?)));
    own.into_iter()
        .chain(parts)
        .flat_map(|(code, q)| loinc_codes(code).map(move |c| (c, q)))
        .collect()
}

/// QC-F06: a measured value's unit is one allowed for its LOINC code (the observation's own
/// value and each component). Codes with no allowed-unit entry are not checked.
pub struct F06UnitAllowed {
    severity: Severity,
    units: Vec<AllowedUnits>,
}

impl F06UnitAllowed {
    pub fn new(params: &Params) -> Self {
        Self {
            severity: params.f06.severity,
            units: params.f06.units.clone(),
        }
    }
}

impl Rule for F06UnitAllowed {
    rule_meta!("QC-F06", F);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        per_record(
            self,
            resident,
            at,
            resident.counted_observations(),
            |_, o| {
                let mut out = Vec::new();
                for (code, q) in loinc_values(o) {
                    let Some(allowed) = self.units.iter().find(|u| u.loinc == code) else {
                        continue;
                    };
                    if q.unit.as_ref().is_some_and(|u| allowed.units.contains(u)) {
                        continue;
                    }
                    let value = q.value_text.as_deref().unwrap_or("a value");
                    let unit = match &q.unit {
                        Some(u) => format!("in {u}"),
                        None => "with no unit".to_owned(),
                    };
                    out.push(format!(
                    "LOINC {code} is recorded as {value} {unit}, but only {} is allowed for this test.",
                    allowed.units.join(" or ")
                ));
                }
                out
            },
        )
    }
}

/// QC-F07: measured values lie within hard plausible limits. Entered-in-error observations
/// are skipped (DOMAIN.md §4.1).
pub struct F07PlausibleRange {
    severity: Severity,
    ranges: Vec<Range>,
}

impl F07PlausibleRange {
    pub fn new(params: &Params) -> Self {
        Self {
            severity: params.f07.severity,
            ranges: params.f07.ranges.clone(),
        }
    }

    fn out_of_range(&self, code: &str, q: &Quantity) -> Option<(&Range, f64)> {
        let v = q.value?;
        self.ranges
            .iter()
            .find(|r| r.loinc == code && q.unit.as_deref() == Some(r.unit.as_str()))
            .filter(|r| v < r.low || v > r.high)
            .map(|r| (r, v))
    }
}

impl Rule for F07PlausibleRange {
    rule_meta!("QC-F07", F, defaults: ["ranges"]);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        per_record(
            self,
            resident,
            at,
            resident.counted_observations(),
            |_, o| {
                loinc_values(o)
                    .into_iter()
                    .filter_map(|(code, q)| {
                        let (range, v) = self.out_of_range(code, q)?;
                        Some(format!(
                            "{} of {v} {} is outside the possible range {}–{}.",
                            range.measure, range.unit, range.low, range.high
                        ))
                    })
                    .collect::<Vec<_>>()
            },
        )
    }
}

/// QC-F08: no clinical date lies after the time the log received the record (plus a clock
/// tolerance). A record whose receipt time is unreadable is compared with `T` instead.
pub struct F08NoFutureDates {
    severity: Severity,
    tolerance: time::Duration,
}

impl F08NoFutureDates {
    pub fn new(params: &Params) -> Self {
        Self {
            severity: params.f08.severity,
            tolerance: time::Duration::minutes(params.f08.tolerance_minutes),
        }
    }
}

impl Rule for F08NoFutureDates {
    rule_meta!("QC-F08", F);
    fn evaluate(&self, resident: &ResidentView<'_>, at: OffsetDateTime) -> Vec<Finding> {
        per_record(self, resident, at, resident.counted(), |node, r| {
            let received = node.recorded.unwrap_or(at);
            let limit = received + self.tolerance;
            r.clinical_dates()
                .into_iter()
                .filter_map(|(what, t)| Some((what, t?)))
                .filter(|(_, t)| t.start > limit)
                .map(|(what, t)| {
                    format!(
                        "The {what} {} of {} is later than when the record was received ({}).",
                        t.text,
                        node.key,
                        received.date()
                    )
                })
                .collect::<Vec<_>>()
        })
    }
}
