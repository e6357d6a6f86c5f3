use super::*;
use crate::testutil::Check;
use crate::testutil::resident;
use serde_json::{Value, json};
use time::macros::datetime;

// Shared with the sibling rule files' tests.
pub(super) const T: OffsetDateTime = datetime!(2025-03-01 0:00 UTC);
pub(super) const ICD: &str = "http://hl7.org/fhir/sid/icd-10-cn";
pub(super) const PHS: &str = "https://healthledger.example/CodeSystem/phs-service";
pub(super) const LOINC: &str = "http://loinc.org";

pub(super) fn params() -> Params {
    Params::shipped().expect("shipped params")
}

pub(super) fn patient(gender: &str, birth: &str) -> Value {
    json!({"resourceType": "Patient", "id": "p", "gender": gender, "birthDate": birth})
}

pub(super) fn condition(id: &str, code: &str, recorded: &str) -> Value {
    json!({"resourceType": "Condition", "id": id,
           "code": {"coding": [{"system": ICD, "code": code}]},
           "recordedDate": recorded, "subject": {"reference": "Patient/p"}})
}

pub(super) fn visit(id: &str, service: &str, start: &str) -> Value {
    json!({"resourceType": "Encounter", "id": id, "status": "finished",
           "class": {"code": "AMB"},
           "serviceType": {"coding": [{"system": PHS, "code": service}]},
           "period": {"start": start, "end": start}, "subject": {"reference": "Patient/p"}})
}

/// A programme enrolment of type `programme`, open-ended.
pub(super) fn episode(id: &str, programme: &str, start: &str, status: &str) -> Value {
    json!({"resourceType": "EpisodeOfCare", "id": id, "status": status,
           "type": [{"coding": [{"system": PHS, "code": programme}]}],
           "period": {"start": start}, "patient": {"reference": "Patient/p"}})
}

#[test]
fn value_sets_are_checked_when_the_parameters_are_read() {
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
    // A SNOMED CT entry is checked too, and its prefix must name a system.
    for (from, to) in [
        ("\"SNOMED:59621000\"", "\"SNOMED:5962100O\""),
        ("\"SNOMED:59621000\"", "\"SCT:59621000\""),
    ] {
        let bad = crate::qc::DEFAULT_PARAMS.replace(from, to);
        assert!(
            matches!(
                Params::parse(&bad),
                Err(ParamsError::BadValueSet { name: "HTN", .. })
            ),
            "{to}"
        );
    }
    let bad = crate::qc::DEFAULT_PARAMS.replace("\"PHS-OBS:DELIVERY\"", "\"PHS:DELIVERY\"");
    assert!(matches!(
        Params::parse(&bad),
        Err(ParamsError::BadValueSet {
            name: "DELIVERY",
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
            episode("ep", "PREG", "2024-03-20", "active"),
        ]
    };
    let f = rule.check(&resident(&records("male")), T);
    assert_eq!(f.len(), 4, "{f:?}");
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
    let ep = f.iter().find(|f| f.evidence == [0, 4]).expect("episode");
    assert!(
        ep.message
            .contains("pregnancy care enrolment (PREG) on 2024-03-20"),
        "{}",
        ep.message
    );
    assert_eq!(rule.check(&resident(&records("female")), T), vec![]);
    // Another programme's enrolment is no pregnancy data.
    assert_eq!(
        rule.check(
            &resident(&[
                patient("male", "1960-01-01"),
                episode("ep", "HTN", "2024-03-20", "active")
            ]),
            T
        ),
        vec![]
    );
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

fn procedure(system: &str, code: &str) -> Value {
    json!({"resourceType": "Procedure", "id": "x", "status": "completed",
           "code": {"coding": [{"system": system, "code": code}]},
           "performedDateTime": "2024-06-01", "subject": {"reference": "Patient/p"}})
}

#[test]
fn x02_checks_icd10_coded_procedures() {
    let rule = X02SexSpecificDiagnosis::new(&params()).expect("rule");
    let f = rule.check(
        &resident(&[patient("female", "1950-01-01"), procedure(ICD, "N40")]),
        T,
    );
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence, [0, 1]);
    assert!(
        f[0].message.contains("a procedure coded N40"),
        "{}",
        f[0].message
    );
    assert_eq!(
        rule.check(
            &resident(&[patient("male", "1950-01-01"), procedure(ICD, "N40")]),
            T
        ),
        vec![]
    );
    // A procedure coded only outside the value sets is not mapped to sex (90470006 is a
    // prostatectomy not listed); a listed SNOMED CT procedure is.
    let sct = "http://snomed.info/sct";
    let on = |sex: &str, code: &str| {
        rule.check(
            &resident(&[patient(sex, "1950-01-01"), procedure(sct, code)]),
            T,
        )
    };
    assert_eq!(on("female", "90470006"), vec![]);
    let f = on("female", "22523008");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.contains("a procedure coded SNOMED 22523008"),
        "{}",
        f[0].message
    );
    assert_eq!(on("male", "287664005").len(), 1, "tubal ligation on a man");
    assert_eq!(on("female", "287664005"), vec![]);
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

#[test]
fn x06_checks_enrolment_age_at_the_episode_start_and_pregnancy_enrolment_sex() {
    let rule = X06ProgrammeEligibility::new(&params());
    // HTN from 35: the day before the 35th birthday fails, the birthday passes.
    let htn = |start: &str| {
        resident(&[
            patient("male", "1989-05-10"),
            episode("ep", "HTN", start, "active"),
        ])
    };
    let f = rule.check(&htn("2024-05-09"), T);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!(f[0].evidence, [0, 1]);
    assert_eq!(
        f[0].message,
        "The hypertension management enrolment on 2024-05-09 is for residents aged at least 35 years, but the resident was 34 years old."
    );
    assert_eq!(rule.check(&htn("2024-05-10"), T), vec![]);
    // ELDER from 65.
    let elder = |birth: &str| {
        resident(&[
            patient("female", birth),
            episode("ep", "ELDER", "2024-05-10", "active"),
        ])
    };
    assert_eq!(rule.check(&elder("1959-05-11"), T).len(), 1);
    assert_eq!(rule.check(&elder("1959-05-10"), T), vec![]);
    // A pregnancy enrolment needs a woman; a man is X01's finding.
    let preg = |g: &str| {
        resident(&[
            patient(g, "1990-01-01"),
            episode("ep", "PREG", "2024-05-10", "active"),
        ])
    };
    assert_eq!(rule.check(&preg("unknown"), T).len(), 1);
    assert_eq!(rule.check(&preg("female"), T), vec![]);
    assert_eq!(rule.check(&preg("male"), T), vec![]);
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

#[test]
fn every_x_rule_is_registered_in_id_order_with_its_defaults() {
    let rules = crate::qc::rules(&params()).expect("rules");
    let x: Vec<_> = rules
        .iter()
        .map(|r| r.id())
        .filter(|id| id.starts_with("QC-X"))
        .collect();
    let want: Vec<String> = (1..=12).map(|n| format!("QC-X{n:02}")).collect();
    assert_eq!(x, want);
    let lines = crate::qc::listing(&rules);
    for line in [
        "QC-X03 X W [D] min_age_years, max_age_years",
        "QC-X05 X W [D] value_sets.HTN, value_sets.T2D, value_sets.SMI, value_sets.SMI-pairs, value_sets.TB, window_days",
        "QC-X08 X E",
        "QC-X12 X E",
    ] {
        assert!(lines.contains(&line.to_owned()), "{line}: {lines:?}");
    }
}

/// A well-kept hypertension patient: diagnosed, enrolled, followed up with a consistent
/// classification, a complete elderly check. No X rule may fire.
#[test]
fn a_well_kept_hypertension_patient_passes_every_x_rule() {
    let engine = crate::qc::Engine::new(params()).expect("engine");
    let obs = |id: &str, system: &str, code: &str, extra: Value| {
        let mut o = json!({"resourceType": "Observation", "id": id, "status": "final",
            "code": {"coding": [{"system": system, "code": code}]},
            "subject": {"reference": "Patient/p"}, "encounter": {"reference": "Encounter/fu"},
            "effectiveDateTime": "2024-05-10"});
        if let (Some(o), Some(x)) = (o.as_object_mut(), extra.as_object()) {
            o.extend(x.clone());
        }
        o
    };
    let c = |code: &str, v: f64| {
        json!({"code": {"coding": [{"system": LOINC, "code": code}]},
               "valueQuantity": {"value": v, "code": "mm[Hg]"}})
    };
    let mut records = vec![
        patient("female", "1955-03-02"),
        condition("dx", "I10", "2024-01-02"),
        episode("ep", "HTN", "2024-01-10", "active"),
        visit("fu", "HTN-FU", "2024-05-10"),
        obs(
            "bp",
            LOINC,
            "85354-9",
            json!({"component": [c("8480-6", 132.0), c("8462-4", 84.0)]}),
        ),
        obs(
            "cls",
            "https://healthledger.example/CodeSystem/phs-observation",
            "HTN-CLASS",
            json!({"valueCodeableConcept": {"coding": [{
                "system": "https://healthledger.example/CodeSystem/phs-classification",
                "code": "controlled"}]}}),
        ),
        visit("hc", "HEALTH-CHECK", "2024-06-01"),
    ];
    for group in params().items().expect("items").elderly_check {
        let code = &group[0];
        let system = if code.starts_with(|c: char| c.is_ascii_digit()) {
            LOINC
        } else {
            "https://healthledger.example/CodeSystem/phs-observation"
        };
        let mut o = obs(&format!("hc-{code}"), system, code, json!({}));
        o["encounter"] = json!({"reference": "Encounter/hc"});
        o["effectiveDateTime"] = json!("2024-06-01");
        records.push(o);
    }
    let f: Vec<_> = engine
        .evaluate(&resident(&records), T)
        .into_iter()
        .filter(|f| f.rule_id.starts_with("QC-X"))
        .collect();
    assert_eq!(f, vec![]);
}
