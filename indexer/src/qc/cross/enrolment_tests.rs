use super::super::tests::{T, condition, episode, params, patient};
use super::*;
use crate::testutil::{Check, resident};
use serde_json::{Value, json};
use time::macros::datetime;

fn with_status(mut c: Value, field: &str, code: &str) -> Value {
    c[field] = json!({"coding": [{"code": code}]});
    c
}

#[test]
fn x04_fails_diabetes_enrolment_without_e11_and_passes_with_it() {
    let rule = X04EnrolmentWithoutDiagnosis::new(&params()).expect("rule");
    let ep = episode("ep", "T2D", "2024-01-05", "active");
    let f = rule.check(
        &resident(&[
            patient("male", "1960-01-01"),
            ep.clone(),
            condition("c", "I10", "2023-06-01"),
        ]),
        T,
    );
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].rule_id, &f[0].evidence[..]), ("QC-X04", &[0, 1][..]));
    assert_eq!(
        f[0].message,
        "Enrolled in type 2 diabetes management since 2024-01-05, but no confirmed type 2 diabetes diagnosis (E11) is linked to the enrolment or recorded by 2024-02-04."
    );
    let with = |c: Value| resident(&[patient("male", "1960-01-01"), ep.clone(), c]);
    assert_eq!(
        rule.check(&with(condition("c", "E11.9", "2023-12-01")), T),
        vec![]
    );
    // A provisional or refuted diagnosis does not qualify; one without a status does.
    let e11 = condition("c", "E11.9", "2023-12-01");
    for status in ["provisional", "refuted"] {
        let c = with_status(e11.clone(), "verificationStatus", status);
        assert_eq!(rule.check(&with(c), T).len(), 1, "{status}");
    }
    let c = with_status(e11.clone(), "verificationStatus", "confirmed");
    assert_eq!(rule.check(&with(c), T), vec![]);
    // Secondary hypertension (I15) does not qualify for the programme.
    let htn = |code: &str| {
        resident(&[
            patient("male", "1960-01-01"),
            episode("ep", "HTN", "2024-01-05", "active"),
            condition("c", code, "2024-01-05"),
        ])
    };
    assert_eq!(rule.check(&htn("I15.0"), T).len(), 1);
    assert_eq!(rule.check(&htn("I11.9"), T), vec![]);
}

#[test]
fn x04_window_linked_diagnosis_and_open_window() {
    let rule = X04EnrolmentWithoutDiagnosis::new(&params()).expect("rule");
    let ep = episode("ep", "T2D", "2024-01-05", "active");
    let rec = |day: &str| {
        resident(&[
            patient("male", "1960-01-01"),
            ep.clone(),
            condition("c", "E11", day),
        ])
    };
    // Recorded on the start + 30 days passes; a day later fails and is cited.
    assert_eq!(rule.check(&rec("2024-02-04"), T), vec![]);
    let f = rule.check(&rec("2024-02-05"), T);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence, [0, 1, 2]);
    assert!(
        f[0].message
            .ends_with("; the first, E11, was recorded only on 2024-02-05."),
        "{}",
        f[0].message
    );
    // Referenced from the enrolment, a late diagnosis qualifies.
    let mut linked = ep.clone();
    linked["diagnosis"] = json!([{"condition": {"reference": "Condition/c"}}]);
    assert_eq!(
        rule.check(
            &resident(&[
                patient("male", "1960-01-01"),
                linked,
                condition("c", "E11", "2024-06-01")
            ]),
            T
        ),
        vec![]
    );
    // An enrolment a week before T may still get its diagnosis; after the window it fails.
    let recent = resident(&[
        patient("male", "1960-01-01"),
        episode("ep", "T2D", "2025-02-22", "active"),
    ]);
    assert_eq!(rule.check(&recent, T), vec![]);
    assert_eq!(rule.check(&recent, datetime!(2025-03-25 0:00 UTC)).len(), 1);
}

#[test]
fn x04_smi_pairs_qualify_only_together() {
    let rule = X04EnrolmentWithoutDiagnosis::new(&params()).expect("rule");
    let smi = |codes: &[&str]| {
        let mut r = vec![
            patient("female", "1980-01-01"),
            episode("ep", "SMI", "2024-01-05", "active"),
        ];
        for (i, c) in codes.iter().enumerate() {
            r.push(condition(&format!("c{i}"), c, "2024-01-05"));
        }
        resident(&r)
    };
    assert_eq!(rule.check(&smi(&["F20.0"]), T), vec![]);
    assert_eq!(rule.check(&smi(&["F06.2", "G40.9"]), T), vec![]);
    let f = rule.check(&smi(&["F06.2"]), T);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message.contains(
            "severe mental disorder diagnosis (F20, F22, F25, F31, F06 with G40, F70-F79 with F20-F29)"
        ),
        "{}",
        f[0].message
    );
}

#[test]
fn x05_fails_hypertension_without_enrolment_and_passes_when_enrolled() {
    let rule = X05DiagnosisWithoutEnrolment::new(&params()).expect("rule");
    let at = datetime!(2024-12-31 0:00 UTC);
    let i10 = condition("c", "I10", "2024-01-02");
    let f = rule.check(&resident(&[patient("male", "1970-01-01"), i10.clone()]), at);
    assert_eq!(f.len(), 1, "{f:?}");
    assert_eq!((f[0].rule_id, &f[0].evidence[..]), ("QC-X05", &[0, 1][..]));
    assert_eq!(
        f[0].message,
        "A confirmed hypertension diagnosis (I10) was recorded on 2024-01-02, but no hypertension management enrolment started within 30 days (by 2024-02-01)."
    );
    let enrolled = |start: &str, status: &str| {
        resident(&[
            patient("male", "1970-01-01"),
            i10.clone(),
            episode("ep", "HTN", start, status),
        ])
    };
    assert_eq!(rule.check(&enrolled("2024-01-20", "active"), at), vec![]);
    // The window's last day passes; a day later is late, and the late enrolment is cited.
    assert_eq!(rule.check(&enrolled("2024-02-01", "active"), at), vec![]);
    let f = rule.check(&enrolled("2024-02-02", "active"), at);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].evidence, [0, 1, 2]);
    assert!(
        f[0].message
            .ends_with("; the enrolment started only on 2024-02-02."),
        "{}",
        f[0].message
    );
    // A finished enrolment is not management, unless the resident died: then the episode was
    // closed at the death (QC-X12). Dead without one, the diagnosis was still never managed.
    assert_eq!(rule.check(&enrolled("2024-01-20", "finished"), at).len(), 1);
    let mut dead = patient("male", "1970-01-01");
    dead["deceasedDateTime"] = "2024-06-01".into();
    let died = |status: &str, start: &str| {
        let mut recs = vec![dead.clone(), i10.clone()];
        if !status.is_empty() {
            recs.push(episode("ep", "HTN", start, status));
        }
        resident(&recs)
    };
    assert_eq!(rule.check(&died("finished", "2024-01-20"), at), vec![]);
    assert_eq!(rule.check(&died("finished", "2024-03-01"), at).len(), 1);
    assert_eq!(rule.check(&died("", ""), at).len(), 1);
    // Until the window has passed at T there is nothing to report.
    let alone = resident(&[patient("male", "1970-01-01"), i10.clone()]);
    assert_eq!(rule.check(&alone, datetime!(2024-02-01 0:00 UTC)), vec![]);
    assert_eq!(rule.check(&alone, datetime!(2024-02-02 0:00 UTC)).len(), 1);
    // A resolved diagnosis calls for no enrolment.
    let resolved = with_status(i10.clone(), "clinicalStatus", "resolved");
    assert_eq!(
        rule.check(&resident(&[patient("male", "1970-01-01"), resolved]), at),
        vec![]
    );
}

#[test]
fn x05_age_limit_applies_to_hypertension_but_not_tuberculosis() {
    let rule = X05DiagnosisWithoutEnrolment::new(&params()).expect("rule");
    let at = datetime!(2024-12-31 0:00 UTC);
    let htn =
        |birth: &str| resident(&[patient("male", birth), condition("c", "I10", "2024-01-02")]);
    // 35 on the diagnosis date is in the programme; a day short of 35 is not.
    assert_eq!(rule.check(&htn("1989-01-02"), at).len(), 1);
    assert_eq!(rule.check(&htn("1989-01-03"), at), vec![]);
    let tb = resident(&[
        patient("male", "2004-01-01"),
        condition("c", "A15.0", "2024-01-02"),
    ]);
    let f = rule.check(&tb, at);
    assert_eq!(f.len(), 1);
    assert!(
        f[0].message
            .contains("pulmonary tuberculosis diagnosis (A15.0)"),
        "{}",
        f[0].message
    );
}

#[test]
fn x05_reads_a_snomed_coded_diagnosis_and_not_prediabetes() {
    let rule = X05DiagnosisWithoutEnrolment::new(&params()).expect("rule");
    let sct = |code: &str| {
        json!({"resourceType": "Condition", "id": "c",
               "clinicalStatus": {"coding": [{"code": "active"}]},
               "code": {"coding": [{"system": "http://snomed.info/sct", "code": code}]},
               "onsetDateTime": "2024-01-02", "subject": {"reference": "Patient/p"}})
    };
    let on = |code: &str| rule.check(&resident(&[patient("female", "1960-01-01"), sct(code)]), T);
    let f = on("59621000");
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(
        f[0].message.starts_with(
            "A confirmed hypertension diagnosis (SNOMED 59621000) was recorded on 2024-01-02"
        ),
        "{}",
        f[0].message
    );
    assert_eq!(on("44054006").len(), 1, "type 2 diabetes");
    assert_eq!(on("15777000"), vec![], "prediabetes");
    assert_eq!(on("31992008"), vec![], "secondary hypertension");
}
