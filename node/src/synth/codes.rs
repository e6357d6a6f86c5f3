//! Code systems, identifier namespaces and the coded concepts the generator writes: LOINC
//! measurements, ICD-10 conditions and the public health service kinds. Kept together so the
//! value sets can be checked against DOMAIN.md §4 in one place.

/// Health archive number (健康档案编号), 17 digits.
pub(super) const ARCHIVE_NO_SYSTEM: &str = "urn:oid:2.16.156.10011.1.2";
/// Health institution identifier (医疗卫生机构标识), as in the WS/T 483 CDA headers.
pub(super) const ORG_ID_SYSTEM: &str = "urn:oid:2.16.156.10011.1.5";
/// Health professional identifier (医务人员标识).
pub(super) const PRACTITIONER_ID_SYSTEM: &str = "urn:oid:2.16.156.10011.1.4";
pub(super) const PHS_SERVICE: &str = "https://healthledger.example/CodeSystem/phs-service";
pub(super) const ADMIN_DIVISION_EXT: &str =
    "https://healthledger.example/StructureDefinition/address-admin-division";
pub(super) const LOINC: &str = "http://loinc.org";
pub(super) const UCUM: &str = "http://unitsofmeasure.org";
pub(super) const ICD10_CN: &str = "http://hl7.org/fhir/sid/icd-10-cn";
pub(super) const VACCINE_SYSTEM: &str = "urn:oid:2.16.156.10011.2.3.2";
pub(super) const ATC: &str = "http://www.whocc.no/atc";
pub(super) const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
pub(super) const OBS_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";

#[derive(Clone, Copy)]
pub(super) struct Code {
    pub(super) code: &'static str,
    pub(super) display: &'static str,
    pub(super) zh: &'static str,
}

pub(super) const fn code(code: &'static str, display: &'static str, zh: &'static str) -> Code {
    Code { code, display, zh }
}

pub(super) const BP_PANEL: Code = code(
    "85354-9",
    "Blood pressure panel with all children optional",
    "血压",
);
pub(super) const SBP: Code = code("8480-6", "Systolic blood pressure", "收缩压");
pub(super) const DBP: Code = code("8462-4", "Diastolic blood pressure", "舒张压");

#[derive(Clone, Copy)]
pub(super) enum Category {
    VitalSigns,
    Laboratory,
}

/// An Observation kind: its LOINC code, category and UCUM unit.
#[derive(Clone, Copy)]
pub(super) struct Measure {
    pub(super) code: Code,
    pub(super) category: Category,
    pub(super) unit: &'static str,
    pub(super) ucum: &'static str,
}

pub(super) const fn vital(
    code: &'static str,
    display: &'static str,
    zh: &'static str,
    unit: &'static str,
) -> Measure {
    Measure {
        code: Code { code, display, zh },
        category: Category::VitalSigns,
        unit,
        ucum: unit,
    }
}

pub(super) const fn laboratory(
    code: &'static str,
    display: &'static str,
    zh: &'static str,
    unit: &'static str,
    ucum: &'static str,
) -> Measure {
    Measure {
        code: Code { code, display, zh },
        category: Category::Laboratory,
        unit,
        ucum,
    }
}

pub(super) const HEART_RATE: Measure = vital("8867-4", "Heart rate", "心率", "/min");
pub(super) const WEIGHT: Measure = vital("29463-7", "Body weight", "体重", "kg");
pub(super) const HEIGHT: Measure = vital("8302-2", "Body height", "身高", "cm");
pub(super) const BMI: Measure = vital(
    "39156-5",
    "Body mass index (BMI) [Ratio]",
    "体质指数",
    "kg/m2",
);
pub(super) const WAIST: Measure = vital(
    "8280-0",
    "Waist Circumference at umbilicus by Tape measure",
    "腰围",
    "cm",
);
pub(super) const FBG: Measure = laboratory(
    "14771-0",
    "Fasting glucose [Moles/volume] in Serum or Plasma",
    "空腹血糖",
    "mmol/L",
    "mmol/L",
);
pub(super) const HBA1C: Measure = laboratory(
    "4548-4",
    "Hemoglobin A1c/Hemoglobin.total in Blood",
    "糖化血红蛋白",
    "%",
    "%",
);
pub(super) const HB: Measure = laboratory(
    "718-7",
    "Hemoglobin [Mass/volume] in Blood",
    "血红蛋白",
    "g/L",
    "g/L",
);
pub(super) const ALT: Measure = laboratory(
    "1742-6",
    "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
    "丙氨酸氨基转移酶",
    "U/L",
    "U/L",
);
pub(super) const AST: Measure = laboratory(
    "1920-8",
    "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
    "天门冬氨酸氨基转移酶",
    "U/L",
    "U/L",
);
pub(super) const TBIL: Measure = laboratory(
    "14631-6",
    "Bilirubin.total [Moles/volume] in Serum or Plasma",
    "总胆红素",
    "μmol/L",
    "umol/L",
);
pub(super) const CREATININE: Measure = laboratory(
    "14682-9",
    "Creatinine [Moles/volume] in Serum or Plasma",
    "血清肌酐",
    "μmol/L",
    "umol/L",
);
pub(super) const UREA: Measure = laboratory(
    "22664-7",
    "Urea [Moles/volume] in Serum or Plasma",
    "血尿素",
    "mmol/L",
    "mmol/L",
);
pub(super) const CHOL: Measure = laboratory(
    "14647-2",
    "Cholesterol [Moles/volume] in Serum or Plasma",
    "总胆固醇",
    "mmol/L",
    "mmol/L",
);
pub(super) const TRIG: Measure = laboratory(
    "14927-8",
    "Triglyceride [Moles/volume] in Serum or Plasma",
    "甘油三酯",
    "mmol/L",
    "mmol/L",
);
pub(super) const LDL: Measure = laboratory(
    "22748-8",
    "Cholesterol in LDL [Moles/volume] in Serum or Plasma",
    "低密度脂蛋白胆固醇",
    "mmol/L",
    "mmol/L",
);
pub(super) const HDL: Measure = laboratory(
    "14646-4",
    "Cholesterol in HDL [Moles/volume] in Serum or Plasma",
    "高密度脂蛋白胆固醇",
    "mmol/L",
    "mmol/L",
);

pub(super) const HTN_FU: Code = code("HTN-FU", "Hypertension follow-up", "高血压患者随访");
pub(super) const T2D_FU: Code = code("T2D-FU", "Type 2 diabetes follow-up", "2型糖尿病患者随访");
pub(super) const HEALTH_CHECK: Code = code("HEALTH-CHECK", "Health check", "健康体检");
pub(super) const CHILD_NB: Code = code("CHILD-NB", "Newborn home visit", "新生儿家庭访视");
pub(super) const CHILD_HC: Code = code("CHILD-HC", "Child health check", "儿童健康检查");
pub(super) const IMM: Code = code("IMM", "Immunization", "预防接种");
pub(super) const PROG_HTN: Code = code("HTN", "Hypertension management", "高血压患者健康管理");
pub(super) const PROG_T2D: Code =
    code("T2D", "Type 2 diabetes management", "2型糖尿病患者健康管理");

pub(super) const COND_HTN: Code = code("I10", "Essential (primary) hypertension", "高血压");
pub(super) const COND_T2D: Code = code(
    "E11.9",
    "Type 2 diabetes mellitus without complications",
    "2型糖尿病",
);
