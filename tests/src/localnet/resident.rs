//! Residents known to several institutions: the same Chinese resident identity number at each,
//! so every member derives the same consortium pseudonym, with records whose ids are unique
//! per institution.

use hl_ledger::pseudonym::{CN_RESIDENT_ID_SYSTEM, Pseudonymizer, default_resident_systems};
use serde_json::{Value, json};

/// A resident of the region.
#[derive(Debug, Clone)]
pub struct SharedResident {
    /// Short key used in record ids, e.g. `r1`.
    pub key: String,
    /// 18-character resident identity number with its check character.
    pub national_id: String,
    pub family: String,
    pub given: String,
    pub gender: &'static str,
    pub birth_date: String,
}

/// What kind of contact an institution had with the resident, which decides the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visit {
    /// A community health centre's follow-up: ambulatory encounter, blood pressure and body
    /// weight, the chronic condition, a vaccination (6 records with the Patient).
    Community,
    /// A hospital stay: inpatient encounter, a lab result, the diagnosis, a prescription
    /// (5 records with the Patient).
    Hospital,
}

impl Visit {
    /// Records one bundle of this visit holds, the Patient included.
    pub fn records(self) -> usize {
        match self {
            Visit::Community => 6,
            Visit::Hospital => 5,
        }
    }

    /// In words, for people.
    pub fn describe(self) -> &'static str {
        match self {
            Visit::Community => "a community follow-up visit",
            Visit::Hospital => "a hospital stay",
        }
    }
}

const FAMILIES: [&str; 6] = ["王", "李", "张", "刘", "陈", "杨"];
const GIVENS: [&str; 6] = ["建国", "秀英", "志强", "桂兰", "海峰", "淑珍"];

impl SharedResident {
    /// `n` distinct residents born in 1950–1975 in Beijing's Xicheng district, the same list
    /// on every call.
    pub fn sample(n: usize) -> Vec<SharedResident> {
        (0..n)
            .map(|i| {
                let year = 1950 + (i * 7) % 26;
                let (month, day) = (1 + (i * 5) % 12, 1 + (i * 11) % 28);
                let birth = format!("{year:04}{month:02}{day:02}");
                // Odd sequence digits are men, even ones women (GB 11643).
                let seq = format!("{:03}", 10 + 2 * i + (i % 2));
                let gender = if (10 + 2 * i + (i % 2)) % 2 == 1 {
                    "male"
                } else {
                    "female"
                };
                SharedResident {
                    key: format!("r{}", i + 1),
                    national_id: cn_resident_id("110102", &birth, &seq),
                    family: FAMILIES[i % FAMILIES.len()].to_owned(),
                    given: GIVENS[(i / FAMILIES.len() + i) % GIVENS.len()].to_owned(),
                    gender,
                    birth_date: format!("{year:04}-{month:02}-{day:02}"),
                }
            })
            .collect()
    }

    /// This resident's Patient id at the institution whose records are tagged `site`.
    pub fn patient_id(&self, site: &str) -> String {
        format!("{site}-{}", self.key)
    }

    /// The consortium pseudonym (64 hex) every member with `consortium_key` derives.
    pub fn pseudonym(&self, consortium_key: [u8; 32]) -> String {
        let p = Pseudonymizer::new(consortium_key, default_resident_systems(), String::new());
        p.of_identifier(CN_RESIDENT_ID_SYSTEM, &self.national_id)
            .map(hex::encode)
            .unwrap_or_default()
    }

    /// A FHIR transaction Bundle of one `visit` at the institution tagged `site` (ids are
    /// `<site>-<key>[-<record>]`), on `date` (YYYY-MM-DD).
    pub fn bundle(&self, site: &str, visit: Visit, date: &str) -> Value {
        let pid = self.patient_id(site);
        let subject = json!({ "reference": format!("Patient/{pid}") });
        let at = format!("{date}T09:30:00+08:00");
        let enc_id = format!("{pid}-enc");
        let encounter = json!({ "reference": format!("Encounter/{enc_id}") });
        let mut resources = vec![json!({
            "resourceType": "Patient",
            "id": pid,
            "identifier": [{ "use": "official", "system": CN_RESIDENT_ID_SYSTEM, "value": self.national_id }],
            "active": true,
            "name": [{ "use": "official", "text": format!("{}{}", self.family, self.given), "family": self.family, "given": [self.given] }],
            "gender": self.gender,
            "birthDate": self.birth_date,
        })];
        let hypertension = json!({
            "resourceType": "Condition",
            "id": format!("{pid}-htn"),
            "clinicalStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active" }] },
            "verificationStatus": { "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status", "code": "confirmed" }] },
            "code": { "coding": [{ "system": "http://hl7.org/fhir/sid/icd-10", "code": "I10", "display": "Essential (primary) hypertension" }], "text": "高血压" },
            "subject": subject,
            "encounter": encounter,
            "onsetDateTime": "2019-04-02",
            "recordedDate": date,
        });
        match visit {
            Visit::Community => resources.extend([
                encounter_of(&enc_id, &subject, "AMB", "ambulatory", &at),
                observation(&format!("{pid}-sbp"), &subject, &encounter, &at, ("8480-6", "Systolic blood pressure"), 146, "mm[Hg]"),
                observation(&format!("{pid}-wt"), &subject, &encounter, &at, ("29463-7", "Body weight"), 68, "kg"),
                hypertension,
                json!({
                    "resourceType": "Immunization",
                    "id": format!("{pid}-flu"),
                    "status": "completed",
                    "vaccineCode": { "coding": [{ "system": "http://hl7.org/fhir/sid/cvx", "code": "141", "display": "Influenza, seasonal, injectable" }] },
                    "patient": subject,
                    "encounter": encounter,
                    "occurrenceDateTime": at,
                    "primarySource": true,
                }),
            ]),
            Visit::Hospital => resources.extend([
                encounter_of(&enc_id, &subject, "IMP", "inpatient encounter", &at),
                observation(&format!("{pid}-ldl"), &subject, &encounter, &at, ("18262-6", "LDL cholesterol"), 4, "mmol/L"),
                hypertension,
                json!({
                    "resourceType": "MedicationRequest",
                    "id": format!("{pid}-rx"),
                    "status": "active",
                    "intent": "order",
                    "medicationCodeableConcept": { "coding": [{ "system": "http://www.whocc.no/atc", "code": "C08CA01", "display": "amlodipine" }], "text": "氨氯地平片 5mg" },
                    "subject": subject,
                    "encounter": encounter,
                    "authoredOn": at,
                    "dosageInstruction": [{ "text": "5 mg once daily" }],
                }),
            ]),
        }
        let entry: Vec<Value> = resources
            .into_iter()
            .map(|r| {
                let url = format!(
                    "{}/{}",
                    r["resourceType"].as_str().unwrap_or_default(),
                    r["id"].as_str().unwrap_or_default()
                );
                json!({ "resource": r, "request": { "method": "PUT", "url": url } })
            })
            .collect();
        json!({ "resourceType": "Bundle", "type": "transaction", "entry": entry })
    }
}

fn encounter_of(id: &str, subject: &Value, class: &str, display: &str, at: &str) -> Value {
    json!({
        "resourceType": "Encounter",
        "id": id,
        "status": "finished",
        "class": { "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": class, "display": display },
        "subject": subject,
        "period": { "start": at, "end": at },
    })
}

fn observation(
    id: &str,
    subject: &Value,
    encounter: &Value,
    at: &str,
    code: (&str, &str),
    value: u32,
    unit: &str,
) -> Value {
    json!({
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "code": { "coding": [{ "system": "http://loinc.org", "code": code.0, "display": code.1 }] },
        "subject": subject,
        "encounter": encounter,
        "effectiveDateTime": at,
        "valueQuantity": { "value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit },
    })
}

/// A resident identity number (GB 11643-1999): 6-digit region, birth date, 3-digit sequence
/// and the ISO 7064 MOD 11-2 check character.
pub fn cn_resident_id(region: &str, birth: &str, seq: &str) -> String {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: [char; 11] = ['1', '0', 'X', '9', '8', '7', '6', '5', '4', '3', '2'];
    let body = format!("{region}{birth}{seq}");
    let sum: u32 = body
        .chars()
        .zip(WEIGHTS)
        .map(|(c, w)| c.to_digit(10).unwrap_or(0) * w)
        .sum();
    format!("{body}{}", CHECK[(sum % 11) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resident_ids_carry_the_gb_11643_check_character() {
        // The standard's own example.
        assert_eq!(
            cn_resident_id("110105", "19491231", "002"),
            "11010519491231002X"
        );
        for r in SharedResident::sample(5) {
            assert_eq!(r.national_id.len(), 18);
        }
    }

    #[test]
    fn the_sample_is_distinct_and_bundles_have_the_visit_s_records() {
        let rs = SharedResident::sample(4);
        let ids: std::collections::BTreeSet<_> = rs.iter().map(|r| &r.national_id).collect();
        assert_eq!(ids.len(), 4);
        for v in [Visit::Community, Visit::Hospital] {
            let b = rs[0].bundle("x", v, "2026-01-02");
            assert_eq!(b["entry"].as_array().map(Vec::len), Some(v.records()));
        }
        // The same person at two sites: one pseudonym; another person: another.
        let key = [3; 32];
        assert_eq!(rs[0].pseudonym(key).len(), 64);
        assert_ne!(rs[0].pseudonym(key), rs[1].pseudonym(key));
    }
}
