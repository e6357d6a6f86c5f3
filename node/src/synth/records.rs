//! The records every programme shares: observations of a visit, conditions, episodes of care,
//! medication statements and referrals.

use serde_json::{Value, json};
use time::Date;

use super::calendar::{At, fhir_date};
use super::codes::{
    BMI, BP_PANEL, Category, Code, DBP, HEIGHT, ICD10_CN, LOINC, Measure, OBS_CATEGORY,
    PHS_CLASSIFICATION, PHS_OBSERVATION, PHS_SERVICE, REFERRAL, SBP, WAIST, WEIGHT,
};
use super::fhir::{coded, fixed, int, quantity, round_to};
use super::random::{clamp, uuid};
use super::resident::{Encounter, Loc, Resident};

/// A condition's clinical course as of the reference date.
pub(super) enum Course {
    Active,
    /// Resolved on this day (the end of a pregnancy, a cured TB).
    Resolved(At),
}

impl Resident<'_> {
    /// An observation of `enc`, `offset` minutes after it started, with `value` under the
    /// FHIR element named `key` (`valueQuantity`, `valueInteger`, …).
    #[allow(clippy::too_many_arguments)]
    pub(super) fn observation(
        &mut self,
        enc: &Encounter,
        offset: u16,
        system: &str,
        code: Code,
        category: Category,
        key: &str,
        value: Value,
    ) -> Loc {
        let id = uuid(&mut self.rng);
        let (cat_code, cat_display) = category.coding();
        let mut resource = json!({
            "resourceType": "Observation",
            "id": id,
            "status": "final",
            "category": [{"coding": [{"system": OBS_CATEGORY, "code": cat_code, "display": cat_display}]}],
            "code": coded(system, code),
            "subject": {"reference": self.patient},
            "encounter": {"reference": enc.reference},
            "effectiveDateTime": enc.start.plus(offset).fhir(),
            "performer": [{"reference": enc.practitioner}],
        });
        resource[key] = value;
        self.push("Observation", id, resource)
    }

    pub(super) fn quantity_obs(
        &mut self,
        enc: &Encounter,
        offset: u16,
        m: Measure,
        v: Value,
    ) -> Loc {
        let q = quantity(v, m.unit, m.ucum);
        self.observation(enc, offset, LOINC, m.code, m.category, "valueQuantity", q)
    }

    /// A local (phs-observation) item of the national forms.
    pub(super) fn local_obs(
        &mut self,
        enc: &Encounter,
        offset: u16,
        code: Code,
        category: Category,
        key: &str,
        value: Value,
    ) -> Loc {
        self.observation(enc, offset, PHS_OBSERVATION, code, category, key, value)
    }

    /// The follow-up classification (随访分类) of an HTN or T2D visit.
    pub(super) fn classification(&mut self, enc: &Encounter, item: Code, class: Code) -> Loc {
        let value = coded(PHS_CLASSIFICATION, class);
        self.local_obs(enc, 20, item, Category::Exam, "valueCodeableConcept", value)
    }

    pub(super) fn blood_pressure(
        &mut self,
        enc: &Encounter,
        offset: u16,
        sbp: f64,
        dbp: f64,
    ) -> Loc {
        let id = uuid(&mut self.rng);
        let (cat_code, cat_display) = Category::VitalSigns.coding();
        let resource = json!({
            "resourceType": "Observation",
            "id": id,
            "status": "final",
            "category": [{"coding": [{"system": OBS_CATEGORY, "code": cat_code, "display": cat_display}]}],
            "code": coded(LOINC, BP_PANEL),
            "subject": {"reference": self.patient},
            "encounter": {"reference": enc.reference},
            "effectiveDateTime": enc.start.plus(offset).fhir(),
            "performer": [{"reference": enc.practitioner}],
            "component": [
                {"code": coded(LOINC, SBP), "valueQuantity": quantity(int(sbp), "mmHg", "mm[Hg]")},
                {"code": coded(LOINC, DBP), "valueQuantity": quantity(int(dbp), "mmHg", "mm[Hg]")},
            ],
        });
        self.push("Observation", id, resource)
    }

    /// Weight and a BMI computed from the recorded (rounded) weight, so the two agree; the
    /// annual check also measures height and waist.
    pub(super) fn weight_and_bmi(&mut self, enc: &Encounter, offset: u16, full: bool) {
        let height = round_to(self.height, 1);
        let weight = round_to(
            self.bmi * (height / 100.0) * (height / 100.0) * (1.0 + self.normal(0.0, 0.012)),
            1,
        );
        if full {
            self.quantity_obs(enc, offset, HEIGHT, fixed(height, 1));
        }
        self.quantity_obs(enc, offset, WEIGHT, fixed(weight, 1));
        let bmi = weight / ((height / 100.0) * (height / 100.0));
        if full {
            let waist = clamp(
                3.4 * bmi + if self.male { 3.0 } else { 0.0 } + self.normal(0.0, 4.0),
                60.0,
                120.0,
            );
            self.quantity_obs(enc, offset, WAIST, fixed(waist, 1));
        }
        self.quantity_obs(enc, offset, BMI, fixed(bmi, 1));
    }

    /// A confirmed ICD-10 diagnosis in a group of its own at `recorded`.
    pub(super) fn condition(&mut self, code: Code, onset: At, recorded: At, course: Course) -> Loc {
        self.group(recorded);
        let id = uuid(&mut self.rng);
        let (clinical, abatement) = match course {
            Course::Active => ("active", None),
            Course::Resolved(at) => ("resolved", Some(at)),
        };
        let mut resource = json!({
            "resourceType": "Condition",
            "id": id,
            "clinicalStatus": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                "code": clinical,
            }]},
            "verificationStatus": {"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
                "code": "confirmed",
            }]},
            "category": [{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                "code": "problem-list-item",
                "display": "Problem List Item",
            }]}],
            "code": coded(ICD10_CN, code),
            "subject": {"reference": self.patient},
            "onsetDateTime": onset.fhir(),
        });
        if let Some(at) = abatement {
            resource["abatementDateTime"] = at.fhir().into();
        }
        resource["recordedDate"] = recorded.fhir().into();
        resource["recorder"] = json!({"reference": self.family_doctor});
        self.push("Condition", id, resource)
    }

    /// An active programme enrolment, in the latest group. `diagnosis` is the qualifying
    /// Condition of the programmes that have one.
    pub(super) fn episode(&mut self, programme: Code, start: Date, diagnosis: Option<&str>) -> Loc {
        let id = uuid(&mut self.rng);
        let mut resource = json!({
            "resourceType": "EpisodeOfCare",
            "id": id,
            "status": "active",
            "type": [coded(PHS_SERVICE, programme)],
        });
        if let Some(condition) = diagnosis {
            resource["diagnosis"] = json!([{"condition": {"reference": condition}, "rank": 1}]);
        }
        resource["patient"] = json!({"reference": self.patient});
        resource["managingOrganization"] = json!({"reference": self.inst.org_id});
        resource["period"] = json!({"start": fhir_date(start)});
        resource["careManager"] = json!({"reference": self.family_doctor});
        self.push("EpisodeOfCare", id, resource)
    }

    /// Ends the episode at `loc` on `end`.
    pub(super) fn close_episode(&mut self, loc: Loc, end: Date) {
        let r = &mut self.rec_mut(loc).resource;
        r["status"] = "finished".into();
        r["period"]["end"] = fhir_date(end).into();
    }

    /// An urgent referral to a higher-level hospital from the visit `enc`, for the danger value
    /// recorded in the observation at `reason`.
    pub(super) fn referral(&mut self, enc: &Encounter, reason: Loc, note: &str) -> Loc {
        let id = uuid(&mut self.rng);
        let reason = self.reference_to(reason);
        let resource = json!({
            "resourceType": "ServiceRequest",
            "id": id,
            "status": "completed",
            "intent": "order",
            "priority": "urgent",
            "code": coded(PHS_SERVICE, REFERRAL),
            "subject": {"reference": self.patient},
            "encounter": {"reference": enc.reference},
            "authoredOn": enc.start.plus(25).fhir(),
            "requester": {"reference": enc.practitioner},
            "reasonReference": [{"reference": reason}],
            "note": [{"text": note}],
        });
        self.push("ServiceRequest", id, resource)
    }
}
