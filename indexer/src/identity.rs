//! Resident identity: the Chinese id-card number against the record's own demographics, and
//! demographic conflicts between a resident's Patient resources.
//!
//! Conflicts are returned as values with the leaf index of each side and never resolved here:
//! which record is right is a decision for a person, and silently merging would hide exactly
//! the defect QC exists to show.

use hl_ledger::gb11643::{self, Gb11643Error, Sex};
use hl_ledger::pseudonym::CN_RESIDENT_ID_SYSTEM;

use crate::model::{Gender, Patient};
use crate::tree::ResidentTree;

/// What is wrong with one id-card identifier of a Patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdCardIssue {
    /// Fails GB 11643 (length, digits, check character or date).
    Invalid { value: String, error: Gb11643Error },
    /// Digits 7–14 name another birth date than `Patient.birthDate`.
    BirthDateMismatch {
        value: String,
        id_date: String,
        record_date: String,
    },
    /// The parity of digit 17 says another sex than `Patient.gender`.
    SexMismatch {
        value: String,
        id_sex: Gender,
        record_gender: Gender,
    },
}

/// The id-card identifiers of `patient` that are invalid (`check_agreement` false), or also
/// those that disagree with its birth date or gender.
pub fn id_card_issues(patient: &Patient, check_agreement: bool) -> Vec<IdCardIssue> {
    let mut out = Vec::new();
    for raw in patient.identifier_values(CN_RESIDENT_ID_SYSTEM) {
        // The pseudonym is computed on the normalised value, so the check is too.
        let value = gb11643::normalize(raw);
        let id = match gb11643::parse(&value) {
            Ok(id) => id,
            Err(error) => {
                out.push(IdCardIssue::Invalid { value, error });
                continue;
            }
        };
        if !check_agreement {
            continue;
        }
        if let Some(bd) = &patient.birth_date
            && bd.date() != id.birth_date
        {
            out.push(IdCardIssue::BirthDateMismatch {
                value: value.clone(),
                id_date: id.birth_date.to_string(),
                record_date: bd.text.clone(),
            });
        }
        let id_sex = match id.sex {
            Sex::Male => Gender::Male,
            Sex::Female => Gender::Female,
        };
        // Only male/female can disagree: `other`/`unknown` make no claim the id contradicts.
        if let Some(g @ (Gender::Male | Gender::Female)) = patient.gender
            && g != id_sex
        {
            out.push(IdCardIssue::SexMismatch {
                value,
                id_sex,
                record_gender: g,
            });
        }
    }
    out
}

/// A demographic field on which a resident's Patient resources disagree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DemographicField {
    Gender,
    BirthDate,
    Deceased,
}

/// Two or more values of one field, each with the leaf index of the Patient version holding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    pub field: DemographicField,
    /// (value, leaf index), in leaf order.
    pub values: Vec<(String, u64)>,
}

/// Reads one demographic field of a Patient as text, `None` when absent.
type FieldReader = fn(&Patient) -> Option<String>;

/// Fields on which the latest versions of the resident's Patient resources (several ids,
/// several institutions) disagree. A field absent from a record is no conflict: absence is
/// F03's concern. Versions of one Patient are not compared: a later version is a correction.
pub fn demographic_conflicts(resident: &ResidentTree) -> Vec<Conflict> {
    let mut patients: Vec<(u64, &Patient)> =
        resident.patients().map(|(n, p)| (n.leaf, p)).collect();
    patients.sort_by_key(|(leaf, _)| *leaf);
    let fields: [(DemographicField, FieldReader); 3] = [
        (DemographicField::Gender, |p| {
            p.gender.map(|g| g.as_str().to_owned())
        }),
        (DemographicField::BirthDate, |p| {
            p.birth_date.as_ref().map(|d| d.date().to_string())
        }),
        (DemographicField::Deceased, |p| Some(p.deceased.to_string())),
    ];
    let mut out = Vec::new();
    for (field, get) in fields {
        let values: Vec<(String, u64)> = patients
            .iter()
            .filter_map(|(leaf, p)| get(p).map(|v| (v, *leaf)))
            .collect();
        if values.iter().any(|(v, _)| *v != values[0].0) {
            out.push(Conflict { field, values });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::resident;
    use serde_json::{Value, json};

    fn patient(id: &str, card: &str, gender: &str, birth: &str) -> Value {
        json!({"resourceType": "Patient", "id": id, "gender": gender, "birthDate": birth,
               "identifier": [{"system": CN_RESIDENT_ID_SYSTEM, "value": card}]})
    }

    fn parse(v: &Value) -> Patient {
        Patient::parse(v).expect("patient")
    }

    #[test]
    fn domain_example_is_invalid_and_corrected_one_agrees() {
        let bad = parse(&patient("p", "110105194912310021", "female", "1949-12-31"));
        assert_eq!(
            id_card_issues(&bad, true),
            vec![IdCardIssue::Invalid {
                value: "110105194912310021".into(),
                error: Gb11643Error::BadCheckChar {
                    expected: 'X',
                    got: '1'
                }
            }]
        );
        // Lower-case x is the same number.
        let good = parse(&patient("p", "11010519491231002x", "female", "1949-12-31"));
        assert_eq!(id_card_issues(&good, true), vec![]);
    }

    #[test]
    fn birth_date_and_sex_must_agree() {
        // R05's example: id says 1956-03-02, record says 1956-03-20; digit 17 odd = male.
        let card = gb11643::make("310115", time::macros::date!(1956 - 03 - 02), 1);
        let p = parse(&patient("p", &card, "female", "1956-03-20"));
        let issues = id_card_issues(&p, true);
        assert!(matches!(&issues[..], [
            IdCardIssue::BirthDateMismatch { id_date, .. },
            IdCardIssue::SexMismatch { id_sex: Gender::Male, record_gender: Gender::Female, .. },
        ] if id_date == "1956-03-02"));
        assert_eq!(id_card_issues(&p, false), vec![]);
    }

    #[test]
    fn conflicts_between_patient_records_are_listed_not_merged() {
        let r = resident(&[
            patient("a", "11010519491231002X", "female", "1949-12-31"),
            patient("b", "11010519491231002X", "male", "1949-12-31"),
        ]);
        let c = demographic_conflicts(&r);
        assert_eq!(
            c,
            vec![Conflict {
                field: DemographicField::Gender,
                values: vec![("female".into(), 0), ("male".into(), 1)]
            }]
        );
        // Both records are still there, each with its own value.
        assert_eq!(r.patients().count(), 2);
        let same = resident(&[
            patient("a", "11010519491231002X", "female", "1949-12-31"),
            patient("b", "11010519491231002X", "female", "1949-12-31"),
        ]);
        assert_eq!(demographic_conflicts(&same), vec![]);
    }
}
