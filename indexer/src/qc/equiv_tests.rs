use serde_json::{Value, json};

use crate::qc::{Facts, Params};
use crate::testutil::resident;

const SCT: &str = "http://snomed.info/sct";
const CVX: &str = "http://hl7.org/fhir/sid/cvx";
const PHS: &str = "https://healthledger.example/CodeSystem/phs-service";

fn params() -> Params {
    Params::shipped().expect("shipped params")
}

fn facts(records: &[Value]) -> Facts {
    Facts::new(&resident(records), &params())
}

fn patient(gender: &str, birth: &str) -> Value {
    json!({"resourceType": "Patient", "id": "p", "gender": gender, "birthDate": birth})
}

/// A finished ambulatory encounter typed, as Synthea types it, by a SNOMED CT code.
fn typed_visit(id: &str, snomed: &str, start: &str) -> Value {
    json!({"resourceType": "Encounter", "id": id, "status": "finished",
           "class": {"code": "AMB"},
           "type": [{"coding": [{"system": SCT, "code": snomed}]}],
           "period": {"start": start, "end": start}, "subject": {"reference": "Patient/p"}})
}

/// A completed dose of CVX `cvx` with no protocolApplied.
fn cvx(id: &str, cvx: &str, date: &str) -> Value {
    json!({"resourceType": "Immunization", "id": id, "status": "completed",
           "vaccineCode": {"coding": [{"system": CVX, "code": cvx}]},
           "occurrenceDateTime": date, "patient": {"reference": "Patient/p"}})
}

fn service_of<'a>(f: &'a Facts, id: &str) -> Option<&'a str> {
    f.visits
        .iter()
        .find(|v| v.id == id)
        .and_then(|v| v.service.as_deref())
}

/// (series, dose number) of each dose, by date.
fn doses(f: &Facts) -> Vec<(String, Option<u32>, String)> {
    f.doses
        .iter()
        .map(|d| {
            (
                d.series.clone().unwrap_or_default(),
                d.dose_number,
                d.id.clone(),
            )
        })
        .collect()
}

#[test]
fn encounter_types_give_the_service_by_age_and_a_service_type_wins() {
    let mut explicit = typed_visit("own", "185349003", "2020-06-01");
    explicit["serviceType"] = json!({"coding": [{"system": PHS, "code": "HTN-FU"}]});
    let f = facts(&[
        patient("female", "2019-01-10"),
        typed_visit("wc", "410620009", "2019-07-12"),
        typed_visit("gen", "162673000", "2025-12-01"),
        typed_visit("up", "185349003", "2026-02-10"),
        typed_visit("old", "410620009", "2027-03-01"),
        typed_visit("sym", "185345009", "2020-01-01"),
        explicit,
    ]);
    assert_eq!(service_of(&f, "wc"), Some("CHILD-HC"));
    // 82 completed months: still under 7.
    assert_eq!(service_of(&f, "gen"), Some("CHILD-HC"));
    // 7 years and over: neither the child check nor (under 18) the health check.
    assert_eq!(service_of(&f, "up"), None);
    assert_eq!(service_of(&f, "old"), None);
    assert_eq!(
        service_of(&f, "sym"),
        None,
        "an encounter for symptom is no service"
    );
    assert_eq!(service_of(&f, "own"), Some("HTN-FU"));
    let adult = facts(&[
        patient("male", "1980-01-01"),
        typed_visit("up", "185349003", "2024-05-01"),
    ]);
    assert_eq!(service_of(&adult, "up"), Some("HEALTH-CHECK"));
    // No birth date: no age, so no age-bounded equivalence.
    let unknown = facts(&[typed_visit("up", "185349003", "2024-05-01")]);
    assert_eq!(service_of(&unknown, "up"), None);
}

#[test]
fn pregnancy_visits_map_and_the_postnatal_visit_needs_a_delivery_before_it() {
    let delivery = json!({"resourceType": "Procedure", "id": "cs", "status": "completed",
        "code": {"coding": [{"system": SCT, "code": "11466000"}]},
        "performedDateTime": "2024-03-01", "subject": {"reference": "Patient/p"}});
    let f = facts(&[
        patient("female", "1995-01-01"),
        typed_visit("a1", "424441002", "2023-07-20"),
        typed_visit("a2", "424619006", "2023-08-17"),
        typed_visit("early", "169762003", "2024-03-10"),
        typed_visit("p42", "169762003", "2024-04-12"),
        typed_visit("late", "169762003", "2024-07-01"),
        delivery,
    ]);
    assert_eq!(service_of(&f, "a1"), Some("ANC-1"));
    assert_eq!(service_of(&f, "a2"), Some("ANC-2"));
    assert_eq!(
        service_of(&f, "early"),
        None,
        "9 days: not the 42-day check"
    );
    assert_eq!(service_of(&f, "p42"), Some("PNC-42D"));
    assert_eq!(service_of(&f, "late"), None, "4 months: not postnatal care");
    let no_delivery = facts(&[
        patient("female", "1995-01-01"),
        typed_visit("p42", "169762003", "2024-04-12"),
    ]);
    assert_eq!(service_of(&no_delivery, "p42"), None);
}

#[test]
fn cvx_doses_get_the_series_and_a_number_by_day() {
    let mut explicit = cvx("hb1", "08", "2020-01-01");
    explicit["protocolApplied"] = json!([{"series": "HepB", "doseNumberPositiveInt": 1}]);
    let mut refused = cvx("no", "03", "2020-09-01");
    refused["status"] = json!("not-done");
    let f = facts(&[
        patient("male", "2020-01-01"),
        explicit,
        cvx("hb2", "08", "2020-02-05"),
        cvx("ipv1", "10", "2020-03-01"),
        cvx("hib", "49", "2020-03-01"),
        cvx("combo", "110", "2020-04-01"),
        // Recorded twice on one day: one dose.
        cvx("ipv3", "10", "2020-05-01"),
        cvx("ipv3b", "10", "2020-05-01"),
        refused,
        cvx("mmr", "03", "2020-10-01"),
    ]);
    assert_eq!(
        doses(&f),
        [
            ("HepB".into(), Some(1), "hb1".into()),
            ("HepB".into(), Some(2), "hb2".into()),
            ("Polio".into(), Some(1), "ipv1".into()),
            (String::new(), None, "hib".into()),
            ("DTaP".into(), Some(1), "combo".into()),
            ("HepB".into(), Some(3), "combo".into()),
            ("Polio".into(), Some(2), "combo".into()),
            ("Polio".into(), Some(3), "ipv3".into()),
            ("Polio".into(), Some(3), "ipv3b".into()),
            ("MMR".into(), None, "no".into()),
            ("MMR".into(), Some(1), "mmr".into()),
        ]
    );
}

#[test]
fn an_explicit_series_and_number_stay_and_other_systems_are_not_read_as_cvx() {
    let mut own = cvx("own", "08", "2020-03-01");
    own["protocolApplied"] = json!([{"series": "HepB", "doseNumberPositiveInt": 3}]);
    let mut numberless = cvx("bare", "99", "2020-04-01");
    numberless["protocolApplied"] = json!([{"series": "MPSV-A"}]);
    let mut local = cvx("local", "08", "2020-05-01");
    local["vaccineCode"]["coding"][0]["system"] = json!("urn:oid:2.16.156.10011.2.3.2");
    let f = facts(&[patient("male", "2019-06-01"), own, numberless, local]);
    assert_eq!(
        doses(&f),
        [
            ("HepB".into(), Some(3), "own".into()),
            ("MPSV-A".into(), Some(1), "bare".into()),
            (String::new(), None, "local".into()),
        ]
    );
}

#[test]
fn bad_equivalents_are_refused() {
    let text = crate::qc::DEFAULT_PARAMS;
    for (from, to) in [
        ("delivery_days = [28, 90]", "delivery_days = [90, 28]"),
        ("\"03\" = [\"MMR\"]", "\"03\" = []"),
        (
            "service = \"ANC-1\" }",
            "service = \"ANC-1\", max_age = 3 }",
        ),
    ] {
        assert!(text.contains(from), "{from}");
        assert!(Params::parse(&text.replacen(from, to, 1)).is_err(), "{to}");
    }
}
