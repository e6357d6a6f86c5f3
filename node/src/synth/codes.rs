//! Code systems, identifier namespaces and the coded concepts the generator writes: LOINC
//! measurements, ICD-10 conditions, the public health service kinds and the local observation
//! codes. Kept together so that they can be checked against docs/qc-profile.md and
//! `indexer/src/qc/params.toml` in one place.

/// Health archive number (健康档案编号), 17 digits.
pub(super) const ARCHIVE_NO_SYSTEM: &str = "urn:oid:2.16.156.10011.1.2";
/// Health institution identifier (医疗卫生机构标识), as in the WS/T 483 CDA headers.
pub(super) const ORG_ID_SYSTEM: &str = "urn:oid:2.16.156.10011.1.5";
/// Health professional identifier (医务人员标识).
pub(super) const PRACTITIONER_ID_SYSTEM: &str = "urn:oid:2.16.156.10011.1.4";
pub(super) const PHS_SERVICE: &str = "https://healthledger.example/CodeSystem/phs-service";
pub(super) const PHS_OBSERVATION: &str = "https://healthledger.example/CodeSystem/phs-observation";
pub(super) const PHS_CLASSIFICATION: &str =
    "https://healthledger.example/CodeSystem/phs-classification";
pub(super) const SNOMED: &str = "http://snomed.info/sct";
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
    Exam,
    Survey,
    Imaging,
    Procedure,
}

impl Category {
    pub(super) fn coding(self) -> (&'static str, &'static str) {
        match self {
            Category::VitalSigns => ("vital-signs", "Vital Signs"),
            Category::Laboratory => ("laboratory", "Laboratory"),
            Category::Exam => ("exam", "Exam"),
            Category::Survey => ("survey", "Survey"),
            Category::Imaging => ("imaging", "Imaging"),
            Category::Procedure => ("procedure", "Procedure"),
        }
    }
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
pub(super) const RESPIRATION: Measure = vital("9279-1", "Respiratory rate", "呼吸频率", "/min");
pub(super) const TEMPERATURE: Measure = Measure {
    code: Code {
        code: "8310-5",
        display: "Body temperature",
        zh: "体温",
    },
    category: Category::VitalSigns,
    unit: "℃",
    ucum: "Cel",
};
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
// The profile's renal and lipid codes are LOINC's mass-concentration codes, so these values are
// written in mg/dL (converted from the mmol/L and µmol/L Chinese laboratories report): a value
// in a unit of another property would contradict its code.
pub(super) const TBIL: Measure = laboratory(
    "1975-2",
    "Bilirubin.total [Mass/volume] in Serum or Plasma",
    "总胆红素",
    "mg/dL",
    "mg/dL",
);
pub(super) const CREATININE: Measure = laboratory(
    "2160-0",
    "Creatinine [Mass/volume] in Serum or Plasma",
    "血清肌酐",
    "mg/dL",
    "mg/dL",
);
pub(super) const BUN: Measure = laboratory(
    "3094-0",
    "Urea nitrogen [Mass/volume] in Serum or Plasma",
    "血尿素氮",
    "mg/dL",
    "mg/dL",
);
pub(super) const CHOL: Measure = laboratory(
    "2093-3",
    "Cholesterol [Mass/volume] in Serum or Plasma",
    "总胆固醇",
    "mg/dL",
    "mg/dL",
);
pub(super) const TRIG: Measure = laboratory(
    "2571-8",
    "Triglyceride [Mass/volume] in Serum or Plasma",
    "甘油三酯",
    "mg/dL",
    "mg/dL",
);
pub(super) const LDL: Measure = laboratory(
    "13457-7",
    "Cholesterol in LDL [Mass/volume] in Serum or Plasma by calculation",
    "低密度脂蛋白胆固醇",
    "mg/dL",
    "mg/dL",
);
pub(super) const HDL: Measure = laboratory(
    "2085-9",
    "Cholesterol in HDL [Mass/volume] in Serum or Plasma",
    "高密度脂蛋白胆固醇",
    "mg/dL",
    "mg/dL",
);

/// LOINC observations whose value is not a quantity.
pub(super) const URINALYSIS: Code = code("24356-8", "Urinalysis complete panel - Urine", "尿常规");
pub(super) const ECG: Code = code("11524-6", "EKG study", "心电图");
pub(super) const LMP: Code = code("8665-2", "Last menstrual period start date", "末次月经");
pub(super) const EDD: Code = code("11778-8", "Delivery date Estimated", "预产期");

/// Local observation codes (phs-observation) of the national forms that LOINC does not code.
pub(super) const SMI_RISK: Code = code("SMI-RISK", "SMI risk grade", "危险性评估");
pub(super) const HTN_CLASS: Code = code(
    "HTN-CLASS",
    "Hypertension follow-up classification",
    "高血压随访分类",
);
pub(super) const T2D_CLASS: Code = code(
    "T2D-CLASS",
    "Type 2 diabetes follow-up classification",
    "糖尿病随访分类",
);
pub(super) const SELF_CARE: Code = code("SELF-CARE", "Elderly self-care score", "生活自理能力评分");
pub(super) const TCM_CONSTITUTION: Code =
    code("TCM-CONSTITUTION", "TCM constitution", "中医体质辨识");
pub(super) const HEARING_SCREEN: Code = code("HEARING-SCREEN", "Hearing screen", "听力筛查");
pub(super) const FOOT_PULSE: Code = code("FOOT-PULSE", "Dorsalis pedis pulse", "足背动脉搏动");
pub(super) const ABD_US: Code = code("ABD-US", "Abdominal ultrasound", "腹部B超");
pub(super) const TB_CLOSURE: Code = code("TB-CLOSURE", "TB case closure", "结案评估");

/// Follow-up classification (phs-classification).
pub(super) const CONTROLLED: Code = code("controlled", "Controlled", "控制满意");
pub(super) const UNCONTROLLED: Code = code("uncontrolled", "Uncontrolled", "控制不满意");

/// Visits (phs-service).
pub(super) const HTN_FU: Code = code("HTN-FU", "Hypertension follow-up", "高血压患者随访");
pub(super) const T2D_FU: Code = code("T2D-FU", "Type 2 diabetes follow-up", "2型糖尿病患者随访");
pub(super) const SMI_FU: Code = code(
    "SMI-FU",
    "Severe mental illness follow-up",
    "严重精神障碍患者随访",
);
pub(super) const TB_FU: Code = code("TB-FU", "Tuberculosis follow-up", "肺结核患者随访");
pub(super) const HEALTH_CHECK: Code = code("HEALTH-CHECK", "Health check", "健康体检");
pub(super) const TCM_ELDER: Code = code(
    "TCM-ELDER",
    "TCM health management of the elderly",
    "老年人中医药健康管理",
);
pub(super) const TCM_CHILD: Code = code(
    "TCM-CHILD",
    "TCM health guidance for children",
    "儿童中医药健康管理",
);
pub(super) const CHILD_NB: Code = code("CHILD-NB", "Newborn home visit", "新生儿家庭访视");
pub(super) const CHILD_HC: Code = code("CHILD-HC", "Child health check", "儿童健康检查");
pub(super) const IMM: Code = code("IMM", "Immunization", "预防接种");
pub(super) const ANC: [Code; 5] = [
    code("ANC-1", "First antenatal visit", "第1次产前检查"),
    code("ANC-2", "Second antenatal visit", "第2次产前随访"),
    code("ANC-3", "Third antenatal visit", "第3次产前随访"),
    code("ANC-4", "Fourth antenatal visit", "第4次产前随访"),
    code("ANC-5", "Fifth antenatal visit", "第5次产前随访"),
];
pub(super) const PNC_HOME: Code = code("PNC-HOME", "Postpartum home visit", "产后访视");
pub(super) const PNC_42D: Code = code("PNC-42D", "42-day postpartum check", "产后42天健康检查");
pub(super) const REFERRAL: Code = code("REFERRAL", "Referral", "转诊");
pub(super) const TB_NOTICE: Code = code(
    "TB-NOTICE",
    "CDC tuberculosis case notice",
    "肺结核患者推介通知",
);

/// Programmes (phs-service), the types of the EpisodeOfCare.
pub(super) const PROG_HTN: Code = code("HTN", "Hypertension management", "高血压患者健康管理");
pub(super) const PROG_T2D: Code =
    code("T2D", "Type 2 diabetes management", "2型糖尿病患者健康管理");
pub(super) const PROG_SMI: Code = code(
    "SMI",
    "Severe mental illness management",
    "严重精神障碍患者管理",
);
pub(super) const PROG_TB: Code = code(
    "TB",
    "Tuberculosis patient management",
    "肺结核患者健康管理",
);
pub(super) const PROG_PREG: Code = code("PREG", "Maternal health management", "孕产妇健康管理");
pub(super) const PROG_CHILD: Code = code(
    "CHILD",
    "Child health management 0-6 years",
    "0～6岁儿童健康管理",
);
pub(super) const PROG_ELDER: Code = code("ELDER", "Elderly health management", "老年人健康管理");

/// ICD-10 (China) diagnoses that qualify for a programme (DOMAIN.md §4.1 value sets).
pub(super) const COND_HTN: Code = code("I10", "Essential (primary) hypertension", "高血压");
pub(super) const COND_T2D: Code = code(
    "E11.9",
    "Type 2 diabetes mellitus without complications",
    "2型糖尿病",
);
pub(super) const COND_SMI: [Code; 4] = [
    code("F20.0", "Paranoid schizophrenia", "偏执型精神分裂症"),
    code("F20.9", "Schizophrenia, unspecified", "精神分裂症"),
    code(
        "F25.9",
        "Schizoaffective disorder, unspecified",
        "分裂情感性障碍",
    ),
    code(
        "F31.9",
        "Bipolar affective disorder, unspecified",
        "双相情感障碍",
    ),
];
pub(super) const COND_TB: Code = code(
    "A15.0",
    "Tuberculosis of lung, confirmed by sputum microscopy with or without culture",
    "肺结核（涂阳）",
);
pub(super) const COND_PREG: Code = code(
    "Z34.9",
    "Supervision of normal pregnancy, unspecified",
    "正常妊娠监督",
);
/// SNOMED CT delivery procedure, the code QC-T14 reads (`[items] delivery_procedures`).
pub(super) const DELIVERY: Code = code("236973005", "Delivery procedure", "分娩");
