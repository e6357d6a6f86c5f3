//! Read-only queries over one resident's tree: the timeline of dated records, the problem list,
//! and the leaf indices behind any node, so that every line a person is shown can be traced to
//! the log records it rests on.

use std::collections::BTreeSet;

use time::{Date, OffsetDateTime};

use super::{ResidentTree, ResourceKey, ResourceNode};
use crate::model::{CodeableConcept, FhirTime, Observation, Quantity, Resource};

/// The BP panel and its components are LOINC's, not a regional choice, so the one-line summary
/// names them without the parameter file.
const LOINC: &str = "http://loinc.org";
const BP_PANEL: &str = "85354-9";
const SBP: &str = "8480-6";
const DBP: &str = "8462-4";

/// Which records a timeline shows. The default shows every dated record.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimelineFilter {
    /// FHIR kinds (`Observation`, `MedicationRequest`…) to keep; empty keeps all.
    pub kinds: BTreeSet<String>,
    /// First and last calendar day (UTC) to keep, both inclusive.
    pub from: Option<Date>,
    pub to: Option<Date>,
}

impl TimelineFilter {
    fn keeps(&self, kind: &str, day: Date) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(kind))
            && self.from.is_none_or(|f| day >= f)
            && self.to.is_none_or(|t| day <= t)
    }
}

/// One dated record of the timeline (the latest version of its resource).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimelineItem {
    /// The record's first clinical date (visit start, observation date, onset…).
    pub date: OffsetDateTime,
    pub kind: String,
    pub id: String,
    pub version: u32,
    pub leaf: u64,
    /// One line, e.g. `BP 152/96 mm[Hg]` or `Condition I10 Essential hypertension`.
    pub summary: String,
}

/// An active, confirmed condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub key: ResourceKey,
    pub version: u32,
    pub leaf: u64,
    /// The first coding's code and display (else the concept's text).
    pub code: Option<String>,
    pub display: Option<String>,
    pub onset: Option<FhirTime>,
    pub recorded: Option<FhirTime>,
}

/// A node of the resident's tree, for [`ResidentTree::leaves`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node<'a> {
    /// The whole resident: every record the log lists for it.
    Resident,
    /// One resource, every version.
    Resource(&'a ResourceKey),
    /// One encounter with every version of it and of each act recorded in it.
    Encounter(&'a str),
    /// The acts naming no encounter of this resident.
    Unattached,
}

impl ResidentTree {
    /// The dated records matching `filter`, by date, then leaf. Excluded records
    /// (entered-in-error, refuted) are listed too, marked `[not counted]`: the timeline shows
    /// what the log holds, the rules decide what counts.
    pub fn timeline(&self, filter: &TimelineFilter) -> Vec<TimelineItem> {
        let mut out: Vec<TimelineItem> = self
            .resources()
            .filter_map(|n| {
                let r = n.resource()?;
                let date = r.clinical_dates().into_iter().find_map(|(_, t)| t)?.start;
                filter
                    .keeps(&n.key.kind, date.date())
                    .then(|| TimelineItem {
                        date,
                        kind: n.key.kind.clone(),
                        id: n.key.id.clone(),
                        version: n.version,
                        leaf: n.leaf,
                        summary: summary(&n.key.kind, r),
                    })
            })
            .collect();
        out.sort_by_key(|i| (i.date, i.leaf));
        out
    }

    /// Active (also recurrence, relapse) and confirmed conditions, by onset (undated last).
    pub fn problem_list(&self) -> Vec<Problem> {
        let mut out: Vec<Problem> = self
            .resources()
            .filter_map(|n| match n.resource() {
                Some(Resource::Condition(c))
                    if matches!(
                        c.clinical_status.as_deref(),
                        Some("active" | "recurrence" | "relapse")
                    ) && c.verification_status.as_deref() == Some("confirmed") =>
                {
                    Some(Problem {
                        key: n.key.clone(),
                        version: n.version,
                        leaf: n.leaf,
                        code: c
                            .code
                            .as_ref()
                            .and_then(CodeableConcept::first_code)
                            .map(str::to_owned),
                        display: c.code.as_ref().and_then(display).map(str::to_owned),
                        onset: c.onset.clone(),
                        recorded: c.recorded_date.clone(),
                    })
                }
                _ => None,
            })
            .collect();
        out.sort_by(|a, b| {
            let key = |p: &Problem| (p.onset.is_none(), p.onset.as_ref().map(|t| t.start));
            key(a).cmp(&key(b)).then_with(|| a.key.cmp(&b.key))
        });
        out
    }

    /// The leaf indices of every record version behind `node`, ascending. Empty for a
    /// resource or encounter the resident does not hold.
    pub fn leaves(&self, node: Node<'_>) -> Vec<u64> {
        let mut out = BTreeSet::new();
        let mut add = |n: Option<&ResourceNode>| {
            if let Some(n) = n {
                out.extend(n.versions.values().copied());
            }
        };
        match node {
            Node::Resident => return self.records.iter().copied().collect(),
            Node::Resource(key) => add(self.resource(key)),
            Node::Encounter(id) => {
                if let Some(e) = self.encounter(id) {
                    add(self.resource(&e.key));
                    for k in &e.acts {
                        add(self.resource(k));
                    }
                }
            }
            Node::Unattached => {
                for k in self.unattached() {
                    add(self.resource(k));
                }
            }
        }
        out.into_iter().collect()
    }
}

/// The first coding's display, else the concept's text.
fn display(c: &CodeableConcept) -> Option<&str> {
    c.coding
        .iter()
        .find_map(|x| x.display.as_deref())
        .or(c.text.as_deref())
}

/// What a person calls the concept: its display, else its text, else its first code.
fn label(c: Option<&CodeableConcept>) -> Option<&str> {
    let c = c?;
    display(c).or_else(|| c.first_code())
}

fn quantity(q: &Quantity) -> Option<String> {
    let v = q.value_text.clone()?;
    Some(match &q.unit {
        Some(u) => format!("{v} {u}"),
        None => v,
    })
}

fn observation(o: &Observation) -> String {
    let is_bp = o.code.as_ref().is_some_and(|c| c.has(LOINC, BP_PANEL));
    if is_bp
        && let (Some(s), Some(d)) = (o.component(LOINC, SBP), o.component(LOINC, DBP))
        && let (Some(sv), Some(dv)) = (&s.value_text, &d.value_text)
    {
        let unit = s.unit.as_deref().map_or(String::new(), |u| format!(" {u}"));
        return format!("BP {sv}/{dv}{unit}");
    }
    let name = label(o.code.as_ref()).unwrap_or("Observation");
    let value = o
        .value
        .as_ref()
        .and_then(quantity)
        .or_else(|| o.value_integer.map(|v| v.to_string()))
        .or_else(|| {
            o.value_code
                .as_ref()
                .and_then(|c| label(Some(c)))
                .map(str::to_owned)
        })
        .or_else(|| {
            o.value_boolean
                .map(|b| if b { "yes" } else { "no" }.to_owned())
        })
        .or_else(|| o.value_time.as_ref().map(|t| t.text.clone()));
    match value {
        Some(v) => format!("{name} {v}"),
        None => name.to_owned(),
    }
}

fn with_status(line: String, status: Option<&str>) -> String {
    match status {
        Some(s) => format!("{line} ({s})"),
        None => line,
    }
}

/// A one-line summary of a record.
fn summary(kind: &str, r: &Resource) -> String {
    let code_and_name = |c: Option<&CodeableConcept>| {
        let code = c.and_then(CodeableConcept::first_code);
        let name = c.and_then(display);
        match (code, name) {
            (Some(c), Some(n)) => format!("{kind} {c} {n}"),
            (Some(c), None) => format!("{kind} {c}"),
            (None, Some(n)) => format!("{kind} {n}"),
            (None, None) => kind.to_owned(),
        }
    };
    let line = match r {
        Resource::Observation(o) => observation(o),
        Resource::Condition(c) => code_and_name(c.code.as_ref()),
        Resource::Encounter(e) => {
            let what = e
                .service_type
                .as_ref()
                .and_then(CodeableConcept::first_code)
                .or_else(|| e.types.first().and_then(|t| label(Some(t))));
            let detail: Vec<&str> = [e.class.as_deref(), e.status.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            let mut line = match what {
                Some(w) => format!("Encounter {w}"),
                None => "Encounter".to_owned(),
            };
            if !detail.is_empty() {
                line.push_str(&format!(" ({})", detail.join(", ")));
            }
            line
        }
        Resource::Immunization(i) => {
            let what = i
                .series
                .as_deref()
                .or_else(|| label(i.vaccine_code.as_ref()))
                .unwrap_or("vaccine");
            let line = match i.dose_number {
                Some(n) => format!("Immunization {what} dose {n}"),
                None => format!("Immunization {what}"),
            };
            with_status(line, i.status.as_deref().filter(|s| *s != "completed"))
        }
        Resource::Medication(m) => with_status(
            format!(
                "{kind} {}",
                label(m.medication.as_ref()).unwrap_or("medication")
            ),
            m.status.as_deref(),
        ),
        Resource::EpisodeOfCare(x) => with_status(
            format!(
                "Enrolment {}",
                x.types
                    .first()
                    .and_then(|t| t.first_code())
                    .unwrap_or("programme")
            ),
            x.status.as_deref(),
        ),
        Resource::Procedure(x) => code_and_name(x.code.as_ref()),
        Resource::Request(x) => with_status(
            match x.code.as_ref().and_then(CodeableConcept::first_code) {
                Some(c) => format!("{kind} {c}"),
                None => kind.to_owned(),
            },
            x.status.as_deref(),
        ),
        Resource::Communication(x) => with_status(kind.to_owned(), x.status.as_deref()),
        Resource::CarePlan(x) => with_status(kind.to_owned(), x.status.as_deref()),
        Resource::Patient(_) | Resource::Other { .. } => kind.to_owned(),
    };
    if r.is_excluded() {
        format!("{line} [not counted]")
    } else {
        line
    }
}
