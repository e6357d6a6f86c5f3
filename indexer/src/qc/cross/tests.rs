use super::*;
use crate::testutil::Check;
use crate::testutil::resident;
use serde_json::{Value, json};
use time::macros::datetime;

const T: OffsetDateTime = datetime!(2025-03-01 0:00 UTC);
const ICD: &str = "http://hl7.org/fhir/sid/icd-10-cn";
const PHS: &str = "https://healthledger.example/CodeSystem/phs-service";

fn params() -> Params {
    Params::shipped().expect("shipped params")
}

fn patient(gender: &str, birth: &str) -> Value {
    json!({"resourceType": "Patient", "id": "p", "gender": gender, "birthDate": birth})
}

fn condition(id: &str, code: &str, recorded: &str) -> Value {
    json!({"resourceType": "Condition", "id": id,
           "code": {"coding": [{"system": ICD, "code": code}]},
           "recordedDate": recorded, "subject": {"reference": "Patient/p"}})
}

fn visit(id: &str, service: &str, start: &str) -> Value {
    json!({"resourceType": "Encounter", "id": id, "status": "finished",
           "class": {"code": "AMB"},
           "serviceType": {"coding": [{"system": PHS, "code": service}]},
           "period": {"start": start, "end": start}, "subject": {"reference": "Patient/p"}})
}

#[test]
fn value_sets_match_ranges_categories_and_subcodes() {
    let s = IcdSet::new(
        "t",
        &[
            "O00-O9A".into(),
            "Z32.1".into(),
            "Z39".into(),
            "E10-E14".into(),
        ],
    )
    .expect("set");
    for yes in ["O24.4", "O9A.1", "Z32.1", "Z32.10", "Z39.2", "E11", "e14.9"] {
        assert!(s.contains(yes), "{yes}");
    }
    for no in ["O", "P00", "Z32.0", "Z32", "E15", "I10"] {
        assert!(!s.contains(no), "{no}");
    }
    assert!(matches!(
        IcdSet::new("t", &["C63-C60".into()]),
        Err(ParamsError::BadValueSet { .. })
    ));
    let bad = crate::qc::DEFAULT_PARAMS.replace("\"Z39\"", "\"z39x\"");
    assert!(matches!(
        Params::parse(&bad),
        Err(ParamsError::BadValueSet { name: "PREG", .. })
    ));
    // The programme value sets are checked the same way, the SMI pairs entry by entry.
    let bad = crate::qc::DEFAULT_PARAMS.replace("\"A15-A16\"", "\"A16-A15\"");
    assert!(matches!(
        Params::parse(&bad),
        Err(ParamsError::BadValueSet { name: "TB", .. })
    ));
    let bad = crate::qc::DEFAULT_PARAMS.replace("[\"F06\", \"G40\"]", "[\"F06\", \"G4\"]");
    assert!(matches!(
        Params::parse(&bad),
        Err(ParamsError::BadValueSet {
            name: "SMI-pairs",
            ..
        })
    ));
}

#[test]
fn x01_fails_male_with_gestational_diabetes_and_passes_female() {
    let rule = X01PregnancyMale::new(&params()).expect("rule");
    let edd = json!({"resourceType": "Observation", "id": "edd", "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "11778-8"}]},
        "effectiveDateTime": "2024-03-01", "valueDateTime": "2024-10-01"});
    let records = |g: &str| {
        vec![
            patient(g, "1990-01-01"),
            condition("c", "O24.4", "2024-05-01"),
            visit("e", "ANC-1", "2024-04-01"),
            edd.clone(),
        ]
    };
    let f = rule.check(&resident(&records("male")), T);
    assert_eq!(f.len(), 3, "{f:?}");
    assert!(
        f.iter()
            .all(|f| f.rule_id == "QC-X01" && f.evidence[0] == 0)
    );
    let c = f.iter().find(|f| f.evidence == [0, 1]).expect("condition");
    assert!(
        c.message.contains("male") && c.message.contains("O24.4"),
        "{}",
        c.message
    );
    assert_eq!(rule.check(&resident(&records("female")), T), vec![]);
    // An entered-in-error diagnosis does not count.
    let mut wrong = condition("c", "O24.4", "2024-05-01");
    wrong["verificationStatus"] = json!({"coding": [{"code": "entered-in-error"}]});
    assert_eq!(
        rule.check(&resident(&[patient("male", "1990-01-01"), wrong]), T),
        vec![]
    );
}

#[test]
fn x02_fails_female_with_prostate_cancer_and_passes_male() {
    let rule = X02SexSpecificDiagnosis::new(&params()).expect("rule");
    let c61 = condition("c", "C61", "2024-05-01");
    let f = rule.check(
        &resident(&[patient("female", "1950-01-01"), c61.clone()]),
        T,
    );
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].rule_id, &f[0].evidence[..]), ("QC-X02", &[0, 1][..]));
    assert!(f[0].message.contains("C61"), "{}", f[0].message);
    assert_eq!(
        rule.check(&resident(&[patient("male", "1950-01-01"), c61]), T),
        vec![]
    );
    // A female-only diagnosis on a man; pregnancy codes are X01's.
    let f = rule.check(
        &resident(&[
            patient("male", "1950-01-01"),
            condition("a", "N80.1", "2024-05-01"),
            condition("b", "O24.4", "2024-05-01"),
        ]),
        T,
    );
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence, [0, 1]);
}

#[test]
fn x06_fails_child_check_at_eight_and_passes_at_six() {
    let rule = X06ProgrammeEligibility::new(&params());
    let f = rule.check(
        &resident(&[
            patient("female", "2016-01-10"),
            visit("e", "CHILD-HC", "2024-02-01"),
        ]),
        T,
    );
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].rule_id, &f[0].evidence[..]), ("QC-X06", &[0, 1][..]));
    assert!(f[0].message.contains("8 years"), "{}", f[0].message);
    assert_eq!(
        rule.check(
            &resident(&[
                patient("female", "2018-01-10"),
                visit("e", "CHILD-HC", "2024-02-01")
            ]),
            T
        ),
        vec![]
    );
    // TCM-CHILD: 6–36 months; the day before 6 completed months fails.
    let young = resident(&[
        patient("male", "2023-08-02"),
        visit("e", "TCM-CHILD", "2024-02-01"),
    ]);
    assert_eq!(rule.check(&young, T).len(), 1);
    let ok = resident(&[
        patient("male", "2023-08-01"),
        visit("e", "TCM-CHILD", "2024-02-01"),
    ]);
    assert_eq!(rule.check(&ok, T), vec![]);
    // Pregnancy care: unknown sex fails here, male is left to X01.
    let unknown = resident(&[
        patient("unknown", "1990-01-01"),
        visit("e", "ANC-1", "2024-02-01"),
    ]);
    assert_eq!(rule.check(&unknown, T).len(), 1);
    let male = resident(&[
        patient("male", "1990-01-01"),
        visit("e", "ANC-1", "2024-02-01"),
    ]);
    assert_eq!(rule.check(&male, T), vec![]);
}

fn metformin(status: &str) -> Value {
    json!({"resourceType": "MedicationRequest", "id": "m", "status": status,
           "intent": "order", "authoredOn": "2024-03-01",
           "medicationCodeableConcept": {"coding": [{"system": "http://www.whocc.no/atc",
                                                      "code": "A10BA02"}]}})
}

#[test]
fn x07_fails_metformin_without_diabetes_and_passes_with_e11() {
    let rule = X07AntidiabeticWithoutDiabetes::new(&params()).expect("rule");
    let f = rule.check(
        &resident(&[
            patient("male", "1960-01-01"),
            metformin("active"),
            condition("c", "I10", "2024-01-01"),
        ]),
        T,
    );
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].rule_id, &f[0].evidence[..]), ("QC-X07", &[1][..]));
    assert!(f[0].message.contains("A10BA02"), "{}", f[0].message);
    // E11 within 30 days after the prescription counts; 40 days after does not.
    let with = |rec: &str| {
        resident(&[
            patient("male", "1960-01-01"),
            metformin("active"),
            condition("c", "E11.9", rec),
        ])
    };
    assert_eq!(rule.check(&with("2024-03-20"), T), vec![]);
    assert_eq!(rule.check(&with("2024-04-10"), T).len(), 1);
    // A stopped prescription is not checked.
    assert_eq!(rule.check(&resident(&[metformin("stopped")]), T), vec![]);
}

fn obs(subject: &str, effective: &str) -> Value {
    json!({"resourceType": "Observation", "id": "o", "status": "final",
           "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
           "subject": {"reference": subject}, "encounter": {"reference": "Encounter/e"},
           "effectiveDateTime": effective, "valueQuantity": {"value": 70, "code": "/min"}})
}

#[test]
fn x09_fails_other_subject_and_far_date_and_passes_a_linked_observation() {
    let rule = X09ObservationEncounter::new(&params());
    let e = visit("e", "HTN-FU", "2024-05-10");
    assert_eq!(
        rule.check(&resident(&[e.clone(), obs("Patient/p", "2024-05-16")]), T),
        vec![]
    );
    // The same patient referenced by uuid.
    assert_eq!(
        rule.check(&resident(&[e.clone(), obs("urn:uuid:p", "2024-05-10")]), T),
        vec![]
    );
    let f = rule.check(&resident(&[e.clone(), obs("Patient/b", "2024-05-10")]), T);
    assert_eq!(f.len(), 1);
    assert_eq!((f[0].rule_id, &f[0].evidence[..]), ("QC-X09", &[1, 0][..]));
    assert!(f[0].message.contains("Patient/b"), "{}", f[0].message);
    let f = rule.check(&resident(&[e, obs("Patient/p", "2024-05-18")]), T);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message.contains("more than 7 days"),
        "{}",
        f[0].message
    );
}
