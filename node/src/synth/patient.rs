//! The Patient resource: name, identity card and archive numbers, address and guardian.

use rand::Rng;
use serde_json::{Value, json};

use super::CN_ID_SYSTEM;
use super::calendar::fhir_date;
use super::codes::ARCHIVE_NO_SYSTEM;
use super::demographics::{COMMUNITIES, address, human_name, mobile, person_name};
use super::identity::id_number;
use super::random::pick;
use super::resident::Resident;

impl Resident<'_> {
    /// The Patient resource and its identity card number.
    pub(super) fn patient_resource(&mut self, n: usize, age: i32) -> (Value, String) {
        let generation = match self.birth.year() {
            ..1970 => 0,
            1970..2000 => 1,
            _ => 2,
        };
        let (family, given) = person_name(&mut self.rng, generation, !self.male);
        let district = self.inst.district;
        self.skip_former_id_draws();
        let id_number = id_number(district, n, self.birth, self.male);
        // Archive number: county, township, residents' committee (001–099), person; spread
        // over committees so that it stays unique for any `n`.
        let archive_no = format!(
            "{}{:03}{:03}{:05}",
            district.code,
            (n / (99_999 * 99)) % 999 + 1,
            (n / 99_999) % 99 + 1,
            n % 99_999 + 1
        );
        let street = pick(&mut self.rng, &district.streets);
        let line = format!(
            "{street}{}社区{}号楼{}单元{}{:02}室",
            pick(&mut self.rng, &COMMUNITIES),
            self.rng.gen_range(1..=30),
            self.rng.gen_range(1..=6),
            self.rng.gen_range(1..=18),
            self.rng.gen_range(1..=4)
        );
        let phone = mobile(&mut self.rng);
        let mut patient = json!({
            "resourceType": "Patient",
            "id": self.patient_id,
            "identifier": [
                {"use": "official", "system": CN_ID_SYSTEM, "value": id_number},
                {"use": "usual", "system": ARCHIVE_NO_SYSTEM, "value": archive_no},
            ],
            "active": true,
            "name": [human_name(family, &given)],
            "telecom": [{"system": "phone", "value": phone, "use": "mobile"}],
            "gender": if self.male { "male" } else { "female" },
            "birthDate": fhir_date(self.birth),
            "address": [address(district, "home", &line)],
            "generalPractitioner": [{"reference": self.family_doctor}],
            "managingOrganization": {"reference": self.inst.org_id},
        });
        if age < 18 {
            // A child's phone is the guardian's.
            let (mother_family, mother_given) = person_name(&mut self.rng, 1, true);
            patient["contact"] = json!([{
                "relationship": [{
                    "coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/v2-0131",
                        "code": "N",
                        "display": "Next-of-Kin",
                    }],
                    "text": "母亲",
                }],
                "name": human_name(mother_family, &mother_given),
                "telecom": [{"system": "phone", "value": phone, "use": "mobile"}],
            }]);
        }
        (patient, id_number)
    }

    /// The identity number used to be drawn here: an area code of the district (7 in 10) or
    /// of one of 24 birthplaces, and a sequence number. The draws are still made, so that
    /// everything drawn after them (address, phone and every record) stays what it was for a
    /// given seed.
    fn skip_former_id_draws(&mut self) {
        if !self.rng.gen_bool(0.7) {
            let _: usize = self.rng.gen_range(0..24);
        }
        let _: u16 = if self.male {
            self.rng.gen_range(0..500)
        } else {
            self.rng.gen_range(1..500)
        };
    }
}
