//! Programme tests: one resident per scenario, built from FHIR resources, evaluated with the
//! shipped parameters at a fixed instant.

mod child;
mod chronic;
mod maternal;
mod tb;

use serde_json::{Value, json};
use time::{Date, OffsetDateTime};

use super::{Obligation, Programme, ProgrammeState, Schedules, State};
use crate::qc::{Params, ResidentView};
use crate::testutil::resident;

pub(crate) const PHS: &str = "https://healthledger.example/CodeSystem/phs-service";
pub(crate) const OBS: &str = "https://healthledger.example/CodeSystem/phs-observation";
pub(crate) const ICD: &str = "http://hl7.org/fhir/sid/icd-10-cn";
pub(crate) const LOINC: &str = "http://loinc.org";

pub(crate) fn patient(gender: &str, birth: &str) -> Value {
    json!({"resourceType": "Patient", "id": "p", "gender": gender, "birthDate": birth})
}

pub(crate) fn episode(id: &str, programme: &str, start: &str, end: Option<&str>) -> Value {
    let mut period = json!({"start": start});
    if let Some(e) = end {
        period["end"] = json!(e);
    }
    json!({"resourceType": "EpisodeOfCare", "id": id,
           "status": if end.is_some() { "finished" } else { "active" },
           "type": [{"coding": [{"system": PHS, "code": programme}]}],
           "period": period, "patient": {"reference": "Patient/p"}})
}

pub(crate) fn condition(id: &str, code: &str, recorded: &str) -> Value {
    json!({"resourceType": "Condition", "id": id,
           "clinicalStatus": {"coding": [{"code": "active"}]},
           "verificationStatus": {"coding": [{"code": "confirmed"}]},
           "code": {"coding": [{"system": ICD, "code": code}]},
           "recordedDate": recorded, "subject": {"reference": "Patient/p"}})
}

pub(crate) fn visit_class(id: &str, service: &str, start: &str, class: &str) -> Value {
    json!({"resourceType": "Encounter", "id": id, "status": "finished",
           "class": {"code": class},
           "serviceType": {"coding": [{"system": PHS, "code": service}]},
           "period": {"start": start, "end": start}, "subject": {"reference": "Patient/p"}})
}

pub(crate) fn visit(id: &str, service: &str, start: &str) -> Value {
    visit_class(id, service, start, "AMB")
}

pub(crate) fn bp(id: &str, enc: &str, at: &str, sbp: u32, dbp: u32) -> Value {
    let c = |code: &str, v: u32| {
        json!({"code": {"coding": [{"system": LOINC, "code": code}]},
               "valueQuantity": {"value": v, "code": "mm[Hg]"}})
    };
    json!({"resourceType": "Observation", "id": id, "status": "final",
           "code": {"coding": [{"system": LOINC, "code": "85354-9"}]},
           "encounter": {"reference": format!("Encounter/{enc}")},
           "effectiveDateTime": at, "component": [c("8480-6", sbp), c("8462-4", dbp)]})
}

/// An observation of `code` (LOINC if it looks like one, else phs-observation) at `at`,
/// recorded in `enc`, with `value` as its `value[x]` fields.
pub(crate) fn obs(id: &str, code: &str, at: &str, enc: Option<&str>, value: Value) -> Value {
    let system = if code.contains('-') && code.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        LOINC
    } else {
        OBS
    };
    let mut o = json!({"resourceType": "Observation", "id": id, "status": "final",
           "code": {"coding": [{"system": system, "code": code}]}, "effectiveDateTime": at});
    if let Some(e) = enc {
        o["encounter"] = json!({"reference": format!("Encounter/{e}")});
    }
    if let (Some(o), Some(v)) = (o.as_object_mut(), value.as_object()) {
        o.extend(v.clone());
    }
    o
}

pub(crate) fn dose(id: &str, series: &str, n: u32, at: &str) -> Value {
    json!({"resourceType": "Immunization", "id": id, "status": "completed",
           "occurrenceDateTime": at, "patient": {"reference": "Patient/p"},
           "protocolApplied": [{"series": series, "doseNumberPositiveInt": n}]})
}

pub(crate) fn request(id: &str, kind: &str, code: &str, at: &str, enc: Option<&str>) -> Value {
    let mut r = json!({"resourceType": kind, "id": id, "status": "active", "intent": "order",
           "code": {"coding": [{"system": PHS, "code": code}]}, "authoredOn": at});
    if let Some(e) = enc {
        r["encounter"] = json!({"reference": format!("Encounter/{e}")});
    }
    r
}

pub(crate) fn schedules() -> Schedules {
    Schedules::new(&Params::shipped().expect("shipped params")).expect("programme params")
}

pub(crate) fn evaluate(records: &[Value], at: OffsetDateTime) -> Vec<ProgrammeState> {
    let params = Params::shipped().expect("shipped params");
    let tree = resident(records);
    schedules().evaluate(&ResidentView::new(&tree, &params), at)
}

pub(crate) fn of(states: &[ProgrammeState], p: Programme) -> &ProgrammeState {
    states
        .iter()
        .find(|s| s.programme == p)
        .unwrap_or_else(|| panic!("{p:?} not in {states:#?}"))
}

pub(crate) fn find<'a>(s: &'a ProgrammeState, kind: &str, from: Date) -> &'a Obligation {
    s.obligations
        .iter()
        .find(|o| o.kind.starts_with(kind) && o.from == from)
        .unwrap_or_else(|| panic!("no {kind} from {from} in {:#?}", s.obligations))
}

/// The state's name and, when met, its first evidence leaf.
pub(crate) fn short(o: &Obligation) -> (&'static str, Option<u64>) {
    match &o.state {
        State::Met { evidence, late, .. } => (
            if *late { "late" } else { "met" },
            evidence.first().copied(),
        ),
        State::Waived { evidence, .. } => ("waived", evidence.first().copied()),
        State::Overdue => ("overdue", None),
        State::Due => ("due", None),
        State::Upcoming => ("upcoming", None),
    }
}

#[test]
fn shipped_schedules_parse_and_bad_ones_are_refused() {
    let s = schedules();
    assert_eq!(s.params().imm.doses.len(), 22);
    let text = crate::qc::DEFAULT_PARAMS;
    for (from, to) in [
        ("every = \"3m\" }", "every = \"0d\" }"),
        (
            "from = \"16w\", to = \"20w6d\"",
            "from = \"16w\", to = \"15w\"",
        ),
        ("max_age = \"7y\"\n\n[[", "max_age = \"seven\"\n\n[["),
        ("value_set = \"T2D\"", "value_set = \"T2X\""),
    ] {
        assert!(text.contains(from), "{from}");
        let bad = Params::parse(&text.replacen(from, to, 1)).expect("other sections parse");
        assert!(Schedules::new(&bad).is_err(), "{to}");
    }
}
