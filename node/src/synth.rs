//! Deterministic synthetic FHIR R4 population for demos and load tests: one community health
//! service centre (社区卫生服务中心) and its residents, with the records the national basic
//! public health service produces (DOMAIN.md §2.3): hypertension and type 2 diabetes
//! follow-ups, the annual health check of the elderly, child health checks and the national
//! immunisation schedule.
//!
//! The data is meant to be clean: it follows the schedules and value sets of DOMAIN.md §4 so
//! that QC findings on it come from deliberately injected faults, not from the generator.
//!
//! Determinism: every random draw comes from ChaCha8 seeded with the seed, one stream per
//! resident, and only `+ - * /` touch floats (no `ln`/`cos`, whose last bit may differ between
//! platforms' libm), so the same inputs give the same bytes everywhere.

use std::path::Path;

use anyhow::{Context, bail};
use hl_ledger::gb11643;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Map, Value, json};
use time::{Date, Duration, Month};

/// Resident identity card number (居民身份证号码, GB 11643).
pub const CN_ID_SYSTEM: &str = "urn:oid:2.16.156.10011.1.3";
/// Health archive number (健康档案编号), 17 digits.
const ARCHIVE_NO_SYSTEM: &str = "urn:oid:2.16.156.10011.1.2";
/// Health institution identifier (医疗卫生机构标识), as in the WS/T 483 CDA headers.
const ORG_ID_SYSTEM: &str = "urn:oid:2.16.156.10011.1.5";
/// Health professional identifier (医务人员标识).
const PRACTITIONER_ID_SYSTEM: &str = "urn:oid:2.16.156.10011.1.4";
const PHS_SERVICE: &str = "https://healthledger.example/CodeSystem/phs-service";
const ADMIN_DIVISION_EXT: &str =
    "https://healthledger.example/StructureDefinition/address-admin-division";
const LOINC: &str = "http://loinc.org";
const UCUM: &str = "http://unitsofmeasure.org";
const ICD10_CN: &str = "http://hl7.org/fhir/sid/icd-10-cn";
const VACCINE_SYSTEM: &str = "urn:oid:2.16.156.10011.2.3.2";
const ATC: &str = "http://www.whocc.no/atc";
const ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";
const OBS_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";

/// The institution's records come from their own ChaCha stream, so that resident `n`'s stream
/// can simply be `n`.
const INSTITUTION_STREAM: u64 = u64::MAX;

/// Records go back this far before the reference date (children's go back to birth).
const HISTORY_DAYS: i64 = 3 * 365;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthOptions {
    pub residents: usize,
    pub seed: u64,
    /// No record is dated after this day. Supported years: 2000–9000.
    pub reference_date: Date,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthFile {
    pub name: String,
    pub json: Vec<u8>,
    /// Number of entries in the bundle.
    pub resources: usize,
}

/// One shared bundle with the institution's Organization and its Practitioners.
pub fn institution_bundle(opts: &SynthOptions) -> SynthFile {
    let inst = Institution::new(opts.seed);
    bundle_file("institution.json".to_owned(), inst.entries)
}

/// Resident number `n` (0-based). Depends only on (seed, n, reference_date), so residents can be
/// generated in parallel or one at a time, and the same inputs give byte-identical output.
///
/// # Panics
///
/// If `opts.reference_date` is outside the years 2000–9000 ([`write_population`] reports that
/// as an error instead).
pub fn resident_bundle(opts: &SynthOptions, n: usize) -> SynthFile {
    let inst = Institution::new(opts.seed);
    resident_with(&inst, opts, n)
}

/// Writes institution.json and resident-000001.json ... into `out` (created if missing); returns files written and total resources.
pub fn write_population(opts: &SynthOptions, out: &Path) -> anyhow::Result<(usize, usize)> {
    check_options(opts)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let inst = Institution::new(opts.seed);
    let institution = bundle_file("institution.json".to_owned(), inst.entries.clone());
    write_file(out, &institution)?;

    let workers = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, opts.residents.max(1));
    let inst = &inst;
    let resident_resources = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|w| {
                scope.spawn(move || -> anyhow::Result<usize> {
                    let mut resources = 0;
                    for n in (w..opts.residents).step_by(workers) {
                        let file = resident_with(inst, opts, n);
                        write_file(out, &file)?;
                        resources += file.resources;
                    }
                    Ok(resources)
                })
            })
            .collect();
        let mut total = 0;
        for handle in handles {
            match handle.join() {
                Ok(resources) => total += resources?,
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        anyhow::Ok(total)
    })?;
    Ok((
        opts.residents + 1,
        institution.resources + resident_resources,
    ))
}

fn check_options(opts: &SynthOptions) -> anyhow::Result<()> {
    let year = opts.reference_date.year();
    if !(2000..=9000).contains(&year) {
        bail!(
            "reference date {} is outside the supported years 2000-9000",
            opts.reference_date
        );
    }
    Ok(())
}

fn write_file(dir: &Path, file: &SynthFile) -> anyhow::Result<()> {
    let path = dir.join(&file.name);
    std::fs::write(&path, &file.json).with_context(|| format!("writing {}", path.display()))
}

fn bundle_file(name: String, entries: Vec<Value>) -> SynthFile {
    let resources = entries.len();
    // Built by hand: `json!` would deep-copy every embedded Value through the serialiser,
    // which was half of the generation time.
    let mut bundle = Map::new();
    bundle.insert("resourceType".into(), "Bundle".into());
    bundle.insert("type".into(), "transaction".into());
    bundle.insert("entry".into(), Value::Array(entries));
    let bundle = Value::Object(bundle);
    // Serialising a Value (string keys, no non-finite floats) cannot fail.
    let json = serde_json::to_vec(&bundle).expect("a JSON Value always serialises");
    SynthFile {
        name,
        json,
        resources,
    }
}

fn entry(resource_type: &str, id: &str, resource: Value) -> Value {
    let mut entry = Map::new();
    entry.insert("fullUrl".into(), format!("urn:uuid:{id}").into());
    // Moved in, not through `json!`, which would copy the whole resource.
    entry.insert("resource".into(), resource);
    entry.insert(
        "request".into(),
        json!({"method": "PUT", "url": format!("{resource_type}/{id}")}),
    );
    Value::Object(entry)
}

// ---------------------------------------------------------------------------------------------
// Reference data

struct District {
    code: &'static str,
    province: &'static str,
    city: &'static str,
    district: &'static str,
    postal_code: &'static str,
    phone_area: &'static str,
    streets: [&'static str; 4],
}

/// GB/T 2260 county-level codes of some urban districts, each with real sub-district names.
const DISTRICTS: [District; 10] = [
    District {
        code: "110105",
        province: "北京市",
        city: "北京市",
        district: "朝阳区",
        postal_code: "100102",
        phone_area: "010",
        streets: ["望京街道", "潘家园街道", "呼家楼街道", "三里屯街道"],
    },
    District {
        code: "110108",
        province: "北京市",
        city: "北京市",
        district: "海淀区",
        postal_code: "100080",
        phone_area: "010",
        streets: ["中关村街道", "学院路街道", "万寿路街道", "北太平庄街道"],
    },
    District {
        code: "310115",
        province: "上海市",
        city: "上海市",
        district: "浦东新区",
        postal_code: "200120",
        phone_area: "021",
        streets: ["陆家嘴街道", "花木街道", "潍坊新村街道", "塘桥街道"],
    },
    District {
        code: "310104",
        province: "上海市",
        city: "上海市",
        district: "徐汇区",
        postal_code: "200030",
        phone_area: "021",
        streets: ["徐家汇街道", "田林街道", "枫林路街道", "龙华街道"],
    },
    District {
        code: "440106",
        province: "广东省",
        city: "广州市",
        district: "天河区",
        postal_code: "510630",
        phone_area: "020",
        streets: ["石牌街道", "天河南街道", "林和街道", "员村街道"],
    },
    District {
        code: "440305",
        province: "广东省",
        city: "深圳市",
        district: "南山区",
        postal_code: "518052",
        phone_area: "0755",
        streets: ["南头街道", "粤海街道", "蛇口街道", "西丽街道"],
    },
    District {
        code: "330106",
        province: "浙江省",
        city: "杭州市",
        district: "西湖区",
        postal_code: "310012",
        phone_area: "0571",
        streets: ["北山街道", "文新街道", "翠苑街道", "古荡街道"],
    },
    District {
        code: "510107",
        province: "四川省",
        city: "成都市",
        district: "武侯区",
        postal_code: "610041",
        phone_area: "028",
        streets: ["浆洗街街道", "玉林街道", "火车南站街道", "跳伞塔街道"],
    },
    District {
        code: "420106",
        province: "湖北省",
        city: "武汉市",
        district: "武昌区",
        postal_code: "430061",
        phone_area: "027",
        streets: ["中华路街道", "水果湖街道", "首义路街道", "徐家棚街道"],
    },
    District {
        code: "320102",
        province: "江苏省",
        city: "南京市",
        district: "玄武区",
        postal_code: "210018",
        phone_area: "025",
        streets: ["梅园新村街道", "新街口街道", "玄武门街道", "锁金村街道"],
    },
];

/// Birthplaces of residents who moved into the district: the area code of an ID number is where
/// it was issued, not where the resident lives now.
const BIRTHPLACES: [&str; 24] = [
    "110101", "110102", "120101", "130102", "140105", "210102", "220102", "230102", "320102",
    "330106", "340104", "350203", "360102", "370102", "410105", "420106", "430102", "440106",
    "450103", "500103", "510107", "530102", "610113", "620102",
];

const COMMUNITIES: [&str; 10] = [
    "幸福", "和平", "建设", "光明", "友谊", "东风", "新华", "阳光", "花园", "长安",
];

const FAMILY_NAMES: [&str; 60] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任",
    "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石",
];

/// Given names by generation (born before 1970, 1970–1999, from 2000) and sex.
const GIVEN_NAMES: [[&[&str]; 2]; 3] = [
    [
        &[
            "建国", "建华", "国强", "志强", "德明", "玉林", "文华", "振华", "永福", "长江", "国庆",
            "卫东", "学军", "海涛", "春生", "金山", "保国", "秋生", "树林", "德胜",
        ],
        &[
            "秀英", "桂英", "淑珍", "玉兰", "秀兰", "桂兰", "凤英", "秀珍", "玉梅", "淑华", "素芬",
            "美华", "丽华", "桂芳", "玉珍", "秀云", "翠花", "淑英", "凤兰", "美兰",
        ],
    ],
    [
        &[
            "伟", "强", "磊", "军", "勇", "杰", "涛", "斌", "超", "明", "志伟", "建军", "海波",
            "晓东", "文斌", "俊杰", "国栋", "宏伟", "明辉", "志刚",
        ],
        &[
            "丽", "静", "敏", "燕", "艳", "娟", "霞", "芳", "婷", "丽娟", "晓燕", "海燕", "雪梅",
            "春燕", "丽萍", "秀丽", "晓红", "红梅", "美玲", "倩",
        ],
    ],
    [
        &[
            "浩宇", "子轩", "宇轩", "梓豪", "俊熙", "浩然", "子墨", "宇航", "一鸣", "博文", "睿",
            "昊天", "铭泽", "天佑", "嘉诚", "思远", "泽宇", "皓轩", "明轩", "奕辰",
        ],
        &[
            "梓涵", "一诺", "欣怡", "子萱", "雨桐", "诗涵", "可馨", "若汐", "语嫣", "佳怡", "梓萱",
            "欣妍", "思彤", "雨欣", "心怡", "紫萱", "依诺", "梦瑶", "婉清", "芷若",
        ],
    ],
];

const MOBILE_PREFIXES: [&str; 16] = [
    "130", "131", "135", "136", "137", "138", "139", "150", "151", "158", "159", "177", "186",
    "187", "188", "189",
];

#[derive(Clone, Copy)]
struct Code {
    code: &'static str,
    display: &'static str,
    zh: &'static str,
}

const fn code(code: &'static str, display: &'static str, zh: &'static str) -> Code {
    Code { code, display, zh }
}

const BP_PANEL: Code = code(
    "85354-9",
    "Blood pressure panel with all children optional",
    "血压",
);
const SBP: Code = code("8480-6", "Systolic blood pressure", "收缩压");
const DBP: Code = code("8462-4", "Diastolic blood pressure", "舒张压");
/// An Observation kind: its LOINC code, category and UCUM unit.
#[derive(Clone, Copy)]
struct Measure {
    code: Code,
    category: Category,
    unit: &'static str,
    ucum: &'static str,
}

const fn vital(
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

const fn laboratory(
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

const HEART_RATE: Measure = vital("8867-4", "Heart rate", "心率", "/min");
const WEIGHT: Measure = vital("29463-7", "Body weight", "体重", "kg");
const HEIGHT: Measure = vital("8302-2", "Body height", "身高", "cm");
const BMI: Measure = vital(
    "39156-5",
    "Body mass index (BMI) [Ratio]",
    "体质指数",
    "kg/m2",
);
const WAIST: Measure = vital(
    "8280-0",
    "Waist Circumference at umbilicus by Tape measure",
    "腰围",
    "cm",
);
const FBG: Measure = laboratory(
    "14771-0",
    "Fasting glucose [Moles/volume] in Serum or Plasma",
    "空腹血糖",
    "mmol/L",
    "mmol/L",
);
const HBA1C: Measure = laboratory(
    "4548-4",
    "Hemoglobin A1c/Hemoglobin.total in Blood",
    "糖化血红蛋白",
    "%",
    "%",
);
const HB: Measure = laboratory(
    "718-7",
    "Hemoglobin [Mass/volume] in Blood",
    "血红蛋白",
    "g/L",
    "g/L",
);
const ALT: Measure = laboratory(
    "1742-6",
    "Alanine aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
    "丙氨酸氨基转移酶",
    "U/L",
    "U/L",
);
const AST: Measure = laboratory(
    "1920-8",
    "Aspartate aminotransferase [Enzymatic activity/volume] in Serum or Plasma",
    "天门冬氨酸氨基转移酶",
    "U/L",
    "U/L",
);
const TBIL: Measure = laboratory(
    "14631-6",
    "Bilirubin.total [Moles/volume] in Serum or Plasma",
    "总胆红素",
    "μmol/L",
    "umol/L",
);
const CREATININE: Measure = laboratory(
    "14682-9",
    "Creatinine [Moles/volume] in Serum or Plasma",
    "血清肌酐",
    "μmol/L",
    "umol/L",
);
const UREA: Measure = laboratory(
    "22664-7",
    "Urea [Moles/volume] in Serum or Plasma",
    "血尿素",
    "mmol/L",
    "mmol/L",
);
const CHOL: Measure = laboratory(
    "14647-2",
    "Cholesterol [Moles/volume] in Serum or Plasma",
    "总胆固醇",
    "mmol/L",
    "mmol/L",
);
const TRIG: Measure = laboratory(
    "14927-8",
    "Triglyceride [Moles/volume] in Serum or Plasma",
    "甘油三酯",
    "mmol/L",
    "mmol/L",
);
const LDL: Measure = laboratory(
    "22748-8",
    "Cholesterol in LDL [Moles/volume] in Serum or Plasma",
    "低密度脂蛋白胆固醇",
    "mmol/L",
    "mmol/L",
);
const HDL: Measure = laboratory(
    "14646-4",
    "Cholesterol in HDL [Moles/volume] in Serum or Plasma",
    "高密度脂蛋白胆固醇",
    "mmol/L",
    "mmol/L",
);

const HTN_FU: Code = code("HTN-FU", "Hypertension follow-up", "高血压患者随访");
const T2D_FU: Code = code("T2D-FU", "Type 2 diabetes follow-up", "2型糖尿病患者随访");
const HEALTH_CHECK: Code = code("HEALTH-CHECK", "Health check", "健康体检");
const CHILD_NB: Code = code("CHILD-NB", "Newborn home visit", "新生儿家庭访视");
const CHILD_HC: Code = code("CHILD-HC", "Child health check", "儿童健康检查");
const IMM: Code = code("IMM", "Immunization", "预防接种");
const PROG_HTN: Code = code("HTN", "Hypertension management", "高血压患者健康管理");
const PROG_T2D: Code = code("T2D", "Type 2 diabetes management", "2型糖尿病患者健康管理");

const COND_HTN: Code = code("I10", "Essential (primary) hypertension", "高血压");
const COND_T2D: Code = code(
    "E11.9",
    "Type 2 diabetes mellitus without complications",
    "2型糖尿病",
);

struct Drug {
    atc: &'static str,
    inn: &'static str,
    zh: &'static str,
    dose: &'static str,
    unit: &'static str,
    ucum: &'static str,
    per_day: u8,
    /// SNOMED CT route: oral or subcutaneous.
    route: (&'static str, &'static str),
}

const ORAL: (&str, &str) = ("26643006", "Oral route");
const SUBCUT: (&str, &str) = ("34206005", "Subcutaneous route");

const fn drug(
    atc: &'static str,
    inn: &'static str,
    zh: &'static str,
    dose: &'static str,
    unit: &'static str,
    per_day: u8,
) -> Drug {
    Drug {
        atc,
        inn,
        zh,
        dose,
        unit,
        ucum: unit,
        per_day,
        route: ORAL,
    }
}

const HTN_DRUGS: [Drug; 7] = [
    drug("C08CA01", "amlodipine", "苯磺酸氨氯地平片", "5", "mg", 1),
    drug("C08CA05", "nifedipine", "硝苯地平控释片", "30", "mg", 1),
    drug("C09CA03", "valsartan", "缬沙坦胶囊", "80", "mg", 1),
    drug("C09CA04", "irbesartan", "厄贝沙坦片", "150", "mg", 1),
    drug("C09AA02", "enalapril", "马来酸依那普利片", "10", "mg", 1),
    drug("C07AB02", "metoprolol", "酒石酸美托洛尔片", "25", "mg", 2),
    drug(
        "C03AA03",
        "hydrochlorothiazide",
        "氢氯噻嗪片",
        "12.5",
        "mg",
        1,
    ),
];

const T2D_DRUGS: [Drug; 5] = [
    drug("A10BA02", "metformin", "盐酸二甲双胍片", "500", "mg", 3),
    drug("A10BB12", "glimepiride", "格列美脲片", "2", "mg", 1),
    drug("A10BF01", "acarbose", "阿卡波糖片", "50", "mg", 3),
    drug("A10BH01", "sitagliptin", "磷酸西格列汀片", "100", "mg", 1),
    Drug {
        atc: "A10AE04",
        inn: "insulin glargine",
        zh: "甘精胰岛素注射液",
        dose: "12",
        unit: "U",
        ucum: "[iU]",
        per_day: 1,
        route: SUBCUT,
    },
];

struct Vaccine {
    /// Placeholder codes in the two-digit-class pattern of the national immunisation
    /// information system; check them against the official list before relying on them.
    code: &'static str,
    name: &'static str,
    short: &'static str,
    series: &'static str,
    series_doses: u8,
    /// v3 RouteOfAdministration.
    route: (&'static str, &'static str),
    dose_ml: Option<&'static str>,
}

const IM: (&str, &str) = ("IM", "Injection, intramuscular");
const SC: (&str, &str) = ("SC", "Injection, subcutaneous");
const ID: (&str, &str) = ("IDINJ", "Injection, intradermal");
const PO: (&str, &str) = ("PO", "Swallow, oral");

#[rustfmt::skip]
const VACCINES: [Vaccine; 11] = [
    Vaccine { code: "0101", name: "乙肝疫苗（酿酒酵母）", short: "乙肝疫苗", series: "HepB", series_doses: 3, route: IM, dose_ml: Some("0.5") },
    Vaccine { code: "0201", name: "皮内注射用卡介苗", short: "卡介苗", series: "BCG", series_doses: 1, route: ID, dose_ml: Some("0.1") },
    Vaccine { code: "0311", name: "脊髓灰质炎灭活疫苗（IPV）", short: "脊灰灭活疫苗", series: "Polio", series_doses: 4, route: IM, dose_ml: Some("0.5") },
    Vaccine { code: "0321", name: "二价脊髓灰质炎减毒活疫苗（bOPV）", short: "脊灰减毒活疫苗", series: "Polio", series_doses: 4, route: PO, dose_ml: None },
    Vaccine { code: "0401", name: "吸附无细胞百白破联合疫苗", short: "百白破疫苗", series: "DTaP", series_doses: 4, route: IM, dose_ml: Some("0.5") },
    Vaccine { code: "0601", name: "吸附白喉破伤风联合疫苗", short: "白破疫苗", series: "DT", series_doses: 1, route: IM, dose_ml: Some("0.5") },
    Vaccine { code: "1201", name: "麻腮风联合减毒活疫苗", short: "麻腮风疫苗", series: "MMR", series_doses: 2, route: SC, dose_ml: Some("0.5") },
    Vaccine { code: "1801", name: "乙型脑炎减毒活疫苗", short: "乙脑减毒活疫苗", series: "JE-L", series_doses: 2, route: SC, dose_ml: Some("0.5") },
    Vaccine { code: "1601", name: "A群脑膜炎球菌多糖疫苗", short: "A群流脑多糖疫苗", series: "MPSV-A", series_doses: 2, route: SC, dose_ml: Some("0.5") },
    Vaccine { code: "1701", name: "A群C群脑膜炎球菌多糖疫苗", short: "A群C群流脑多糖疫苗", series: "MPSV-AC", series_doses: 2, route: SC, dose_ml: Some("0.5") },
    Vaccine { code: "1901", name: "甲型肝炎减毒活疫苗", short: "甲肝减毒活疫苗", series: "HepA-L", series_doses: 1, route: SC, dose_ml: Some("1.0") },
];

const HEPB: usize = 0;
const BCG: usize = 1;
const IPV: usize = 2;
const BOPV: usize = 3;
const DTAP: usize = 4;
const DT: usize = 5;
const MMR: usize = 6;
const JE: usize = 7;
const MENA: usize = 8;
const MENAC: usize = 9;
const HEPA: usize = 10;

/// One dose: vaccine index, dose number in its series, and the least number of days after the
/// series' previous dose (DOMAIN.md §2.3).
type Dose = (usize, u8, i64);

/// The 2021 national schedule as visits: age in months and the doses given then (22 doses).
const SCHEDULE: [(u8, &[Dose]); 14] = [
    (0, &[(HEPB, 1, 0), (BCG, 1, 0)]),
    (1, &[(HEPB, 2, 28)]),
    (2, &[(IPV, 1, 0)]),
    (3, &[(IPV, 2, 28), (DTAP, 1, 0)]),
    (4, &[(BOPV, 3, 28), (DTAP, 2, 28)]),
    (5, &[(DTAP, 3, 28)]),
    (6, &[(HEPB, 3, 60), (MENA, 1, 0)]),
    (8, &[(MMR, 1, 0), (JE, 1, 0)]),
    (9, &[(MENA, 2, 91)]),
    (18, &[(DTAP, 4, 183), (MMR, 2, 28), (HEPA, 1, 0)]),
    (24, &[(JE, 2, 28)]),
    (36, &[(MENAC, 1, 0)]),
    (48, &[(BOPV, 4, 28)]),
    (72, &[(DT, 1, 0), (MENAC, 2, 3 * 365 + 1)]),
];

/// WHO 2006 median weight (kg) and length/height (cm) by age in months, boys then girls.
const GROWTH_MONTHS: [f64; 17] = [
    0.0, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0, 9.0, 12.0, 18.0, 24.0, 30.0, 36.0, 48.0, 60.0, 72.0, 84.0,
];
const GROWTH: [[[f64; 17]; 2]; 2] = [
    [
        [
            3.3, 4.5, 5.6, 6.4, 7.0, 7.9, 8.6, 8.9, 9.6, 10.9, 12.2, 13.3, 14.3, 16.3, 18.3, 20.5,
            22.9,
        ],
        [
            49.9, 54.7, 58.4, 61.4, 63.9, 67.6, 70.6, 72.0, 75.7, 82.3, 87.8, 91.9, 96.1, 103.3,
            110.0, 116.0, 121.7,
        ],
    ],
    [
        [
            3.2, 4.2, 5.1, 5.8, 6.4, 7.3, 7.9, 8.2, 8.9, 10.2, 11.5, 12.7, 13.9, 15.9, 18.2, 20.2,
            22.4,
        ],
        [
            49.1, 53.7, 57.1, 59.8, 62.1, 65.7, 68.7, 70.1, 74.0, 80.7, 86.4, 90.7, 95.1, 102.7,
            109.4, 115.1, 120.8,
        ],
    ],
];

// ---------------------------------------------------------------------------------------------
// Institution

struct Institution {
    org_id: String,
    district: &'static District,
    doctors: Vec<String>,
    nurses: Vec<String>,
    entries: Vec<Value>,
}

impl Institution {
    fn new(seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(INSTITUTION_STREAM);
        let district = &DISTRICTS[rng.gen_range(0..DISTRICTS.len())];
        let street = pick(&mut rng, &district.streets);
        let name = format!(
            "{}{}{}社区卫生服务中心",
            district.city,
            district.district,
            street.trim_end_matches("街道")
        );
        let phone = format!(
            "{}-{}",
            district.phone_area,
            rng.gen_range(60_000_000..90_000_000u32)
        );
        let line = format!(
            "{street}{}路{}号",
            pick(&mut rng, &COMMUNITIES),
            rng.gen_range(1..300)
        );
        let org_id = uuid(&mut rng);
        let mut entries = vec![entry(
            "Organization",
            &org_id,
            json!({
                "resourceType": "Organization",
                "id": org_id,
                "identifier": [{"system": ORG_ID_SYSTEM, "value": uscc(&mut rng, district.code)}],
                "active": true,
                "type": [{
                    "coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/organization-type",
                        "code": "prov",
                        "display": "Healthcare Provider",
                    }],
                    "text": "社区卫生服务中心",
                }],
                "name": name,
                "telecom": [{"system": "phone", "value": phone, "use": "work"}],
                "address": [address(district, "work", &line)],
            }),
        )];

        let mut doctors = Vec::new();
        let mut nurses = Vec::new();
        for i in 0..8u32 {
            let nurse = i >= 5;
            let id = uuid(&mut rng);
            let female = rng.gen_bool(if nurse { 0.9 } else { 0.5 });
            let (family, given) = person_name(&mut rng, 1, female);
            let qualification = if nurse {
                ("RN", "Registered Nurse", "护士")
            } else {
                ("MD", "Doctor of Medicine", "全科医师")
            };
            entries.push(entry(
                "Practitioner",
                &id,
                json!({
                    "resourceType": "Practitioner",
                    "id": id,
                    "identifier": [{
                        "system": PRACTITIONER_ID_SYSTEM,
                        "value": format!("1{}{}{:06}", u8::from(nurse), district.code,
                            rng.gen_range(1..1_000_000u32)),
                    }],
                    "active": true,
                    "name": [human_name(family, &given)],
                    "telecom": [{"system": "phone", "value": phone, "use": "work"}],
                    "gender": if female { "female" } else { "male" },
                    "qualification": [{
                        "code": {
                            "coding": [{
                                "system": "http://terminology.hl7.org/CodeSystem/v2-0360",
                                "code": qualification.0,
                                "display": qualification.1,
                            }],
                            "text": qualification.2,
                        },
                    }],
                }),
            ));
            if nurse {
                nurses.push(format!("Practitioner/{id}"));
            } else {
                doctors.push(format!("Practitioner/{id}"));
            }
        }
        Institution {
            org_id: format!("Organization/{org_id}"),
            district,
            doctors,
            nurses,
            entries,
        }
    }
}

/// A unified social credit code (统一社会信用代码, GB 32100) for a public institution (事业单位)
/// registered in `area`, with both its check characters right.
fn uscc(rng: &mut ChaCha8Rng, area: &str) -> String {
    const CHARS: &[u8; 31] = b"0123456789ABCDEFGHJKLMNPQRTUWXY";
    const WEIGHTS: [u32; 17] = [
        1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28,
    ];
    const ORG_WEIGHTS: [u32; 8] = [3, 7, 9, 10, 5, 8, 4, 2];
    // The embedded organisation code (GB 11714): 8 characters and a MOD 11 check.
    let body: String = (0..8)
        .map(|i| {
            if i < 2 {
                char::from(b'0' + rng.gen_range(0..10u8))
            } else {
                char::from(CHARS[rng.gen_range(0..10)])
            }
        })
        .collect();
    let sum: u32 = body
        .chars()
        .zip(ORG_WEIGHTS)
        .map(|(c, w)| c.to_digit(36).unwrap_or(0) * w)
        .sum();
    let org_check = match 11 - sum % 11 {
        10 => 'X',
        11 => '0',
        d => char::from(b'0' + d as u8),
    };
    let first17 = format!("12{area}{body}{org_check}");
    let sum: u32 = first17
        .bytes()
        .zip(WEIGHTS)
        .map(|(b, w)| CHARS.iter().position(|&c| c == b).unwrap_or(0) as u32 * w)
        .sum();
    let check = CHARS[((31 - sum % 31) % 31) as usize];
    format!("{first17}{}", char::from(check))
}

// ---------------------------------------------------------------------------------------------
// Residents

#[derive(Clone, Copy, PartialEq, Eq)]
enum Prog {
    Htn,
    T2d,
}

struct Programme {
    prog: Prog,
    condition: String,
    episode: String,
    enrolled: Date,
}

/// A time of day at the institution, in minutes after midnight, UTC+8.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct At {
    date: Date,
    minute: u16,
}

impl At {
    fn plus(self, minutes: u16) -> At {
        At {
            date: self.date,
            minute: (self.minute + minutes).min(23 * 60 + 59),
        }
    }

    fn fhir(self) -> String {
        format!(
            "{}T{:02}:{:02}:00+08:00",
            fhir_date(self.date),
            self.minute / 60,
            self.minute % 60
        )
    }
}

/// Records that belong together (a visit and what was measured at it), ordered by time in the
/// bundle.
struct Group {
    at: At,
    entries: Vec<Value>,
}

struct Encounter {
    reference: String,
    start: At,
    practitioner: String,
}

#[derive(Clone, Copy)]
enum Category {
    VitalSigns,
    Laboratory,
}

struct Resident<'a> {
    rng: ChaCha8Rng,
    inst: &'a Institution,
    reference: Date,
    window_start: Date,
    birth: Date,
    male: bool,
    patient: String,
    family_doctor: String,
    /// Adult height in cm and usual BMI, for the measurements of adults.
    height: f64,
    bmi: f64,
    groups: Vec<Group>,
}

fn resident_with(inst: &Institution, opts: &SynthOptions, n: usize) -> SynthFile {
    if let Err(e) = check_options(opts) {
        panic!("{e}");
    }
    let reference = opts.reference_date;
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    rng.set_stream(n as u64);

    let male = rng.gen_bool(0.51);
    let age_days: i64 = {
        let bucket = rng.gen_range(0..100u32);
        let years = match bucket {
            0..8 => 0..7,
            8..17 => 7..18,
            17..35 => 18..35,
            35..75 => 35..65,
            75..95 => 65..80,
            _ => 80..96,
        };
        rng.gen_range(years.start * 365..years.end * 365)
    };
    let birth = reference - Duration::days(age_days);
    let age = age_years(birth, reference);
    let patient_id = uuid(&mut rng);
    let family_doctor = pick(&mut rng, &inst.doctors).clone();
    let window_start = birth.max(reference - Duration::days(HISTORY_DAYS));
    let mut r = Resident {
        rng,
        inst,
        reference,
        window_start,
        birth,
        male,
        patient: format!("urn:uuid:{patient_id}"),
        family_doctor,
        height: 0.0,
        bmi: 0.0,
        groups: Vec::new(),
    };
    let patient = r.patient_resource(&patient_id, n, age);
    r.height = if male {
        clamp(r.normal(169.0, 6.0), 155.0, 188.0)
    } else {
        clamp(r.normal(158.0, 5.5), 145.0, 175.0)
    } - if age >= 70 { 2.0 } else { 0.0 };
    r.bmi = clamp(r.normal(23.8, 3.0), 17.5, 33.0);

    let mut programmes = Vec::new();
    if age >= 35 {
        let (p_htn, p_t2d) = match age {
            35..45 => (0.08, 0.03),
            45..55 => (0.17, 0.07),
            55..65 => (0.28, 0.11),
            65..75 => (0.36, 0.15),
            _ => (0.42, 0.15),
        };
        for (prog, p) in [(Prog::Htn, p_htn), (Prog::T2d, p_t2d)] {
            if r.rng.gen_bool(p)
                && let Some(programme) = r.enrol(prog)
            {
                programmes.push(programme);
            }
        }
    }
    if !programmes.is_empty() {
        r.bmi = (r.bmi + 1.5).min(35.0);
    }
    for programme in &programmes {
        r.follow_ups(programme, programmes.len() > 1);
    }
    if age >= 35 {
        r.health_checks(&programmes);
    }
    if age < 7 {
        r.child_checks();
    }
    if age < 18 {
        r.immunizations();
    }

    let mut groups = std::mem::take(&mut r.groups);
    // Stable, so records of the same minute keep the order they were made in.
    groups.sort_by_key(|g| g.at);
    let mut entries = Vec::with_capacity(1 + groups.iter().map(|g| g.entries.len()).sum::<usize>());
    entries.push(entry("Patient", &patient_id, patient));
    entries.extend(groups.into_iter().flat_map(|g| g.entries));
    bundle_file(format!("resident-{:06}.json", n + 1), entries)
}

impl Resident<'_> {
    fn normal(&mut self, mean: f64, sd: f64) -> f64 {
        normal(&mut self.rng, mean, sd)
    }

    fn day_between(&mut self, lo: Date, hi: Date) -> Date {
        let span = (hi - lo).whole_days().max(0);
        lo + Duration::days(self.rng.gen_range(0..=span))
    }

    fn at(&mut self, date: Date, from: u16, to: u16) -> At {
        At {
            date,
            minute: self.rng.gen_range(from..=to),
        }
    }

    fn patient_resource(&mut self, id: &str, n: usize, age: i32) -> Value {
        let generation = match self.birth.year() {
            ..1970 => 0,
            1970..2000 => 1,
            _ => 2,
        };
        let (family, given) = person_name(&mut self.rng, generation, !self.male);
        let district = self.inst.district;
        let area = if self.rng.gen_bool(0.7) {
            district.code
        } else {
            pick(&mut self.rng, &BIRTHPLACES)
        };
        // Odd for men, even for women; 000 is not issued.
        let sequence = if self.male {
            self.rng.gen_range(0..500u16) * 2 + 1
        } else {
            self.rng.gen_range(1..500u16) * 2
        };
        let id_number = gb11643::make(area, self.birth, sequence);
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
            "id": id,
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
        patient
    }

    fn group(&mut self, at: At) {
        self.groups.push(Group {
            at,
            entries: Vec::new(),
        });
    }

    fn push(&mut self, resource_type: &str, id: &str, resource: Value) {
        let e = entry(resource_type, id, resource);
        if let Some(group) = self.groups.last_mut() {
            group.entries.push(e);
        }
    }

    /// Diagnoses the condition at 35 or later (the programme's age floor), either years ago
    /// or within the history window, and enrols the resident.
    fn enrol(&mut self, prog: Prog) -> Option<Programme> {
        let from_35 = add_months(self.birth, 35 * 12);
        let earliest = from_35.max(self.reference - Duration::days(15 * 365));
        let latest = self.reference - Duration::days(30);
        if earliest > latest {
            return None;
        }
        let diagnosed = if earliest >= self.window_start || self.rng.gen_bool(0.3) {
            self.day_between(earliest.max(self.window_start), latest)
        } else {
            self.day_between(earliest, self.window_start - Duration::days(1))
        };
        let recorded = self.day_between(diagnosed, diagnosed + Duration::days(7));
        let enrolled = self.day_between(recorded, recorded + Duration::days(14));
        let at = self.at(recorded, 8 * 60, 16 * 60);
        self.group(at);
        let (cond_code, prog_code) = match prog {
            Prog::Htn => (COND_HTN, PROG_HTN),
            Prog::T2d => (COND_T2D, PROG_T2D),
        };
        let condition = uuid(&mut self.rng);
        let onset = self.at(diagnosed, 8 * 60, 16 * 60);
        self.push(
            "Condition",
            &condition,
            json!({
                "resourceType": "Condition",
                "id": condition,
                "clinicalStatus": {"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                    "code": "active",
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
                "code": coded(ICD10_CN, cond_code),
                "subject": {"reference": self.patient},
                "onsetDateTime": onset.fhir(),
                "recordedDate": at.fhir(),
                "recorder": {"reference": self.family_doctor},
            }),
        );
        let condition = format!("urn:uuid:{condition}");
        let episode = uuid(&mut self.rng);
        self.push(
            "EpisodeOfCare",
            &episode,
            json!({
                "resourceType": "EpisodeOfCare",
                "id": episode,
                "status": "active",
                "type": [coded(PHS_SERVICE, prog_code)],
                "diagnosis": [{"condition": {"reference": condition}, "rank": 1}],
                "patient": {"reference": self.patient},
                "managingOrganization": {"reference": self.inst.org_id},
                "period": {"start": fhir_date(enrolled)},
                "careManager": {"reference": self.family_doctor},
            }),
        );
        let drugs: &[Drug] = match prog {
            Prog::Htn => &HTN_DRUGS,
            Prog::T2d => &T2D_DRUGS,
        };
        let count = if self.rng.gen_bool(0.3) { 2 } else { 1 };
        let first = self.rng.gen_range(0..drugs.len());
        let asserted = At {
            date: enrolled.max(self.window_start),
            minute: at.minute,
        };
        for k in 0..count {
            let d = &drugs[(first + k) % drugs.len()];
            let statement = uuid(&mut self.rng);
            let route_zh = if d.route == ORAL {
                "口服"
            } else {
                "皮下注射"
            };
            let times = match d.per_day {
                1 => "每日一次",
                2 => "每日两次",
                _ => "每日三次",
            };
            self.push(
                "MedicationStatement",
                &statement,
                json!({
                    "resourceType": "MedicationStatement",
                    "id": statement,
                    "status": "active",
                    "medicationCodeableConcept": {
                        "coding": [{"system": ATC, "code": d.atc, "display": d.inn}],
                        "text": d.zh,
                    },
                    "subject": {"reference": self.patient},
                    "effectivePeriod": {"start": fhir_date(enrolled)},
                    "dateAsserted": asserted.fhir(),
                    "informationSource": {"reference": self.family_doctor},
                    "reasonReference": [{"reference": condition}],
                    "dosage": [{
                        "text": format!("{} {} {} {}", d.dose, d.unit, times, route_zh),
                        "timing": {"repeat": {"frequency": d.per_day, "period": 1, "periodUnit": "d"}},
                        "route": {"coding": [{
                            "system": "http://snomed.info/sct",
                            "code": d.route.0,
                            "display": d.route.1,
                        }]},
                        "doseAndRate": [{"doseQuantity": quantity(decimal(d.dose), d.unit, d.ucum)}],
                    }],
                }),
            );
        }
        Some(Programme {
            prog,
            condition,
            episode: format!("urn:uuid:{episode}"),
            enrolled,
        })
    }

    /// Quarterly face-to-face follow-ups (gaps of at most 90 days, so any 12 months hold four),
    /// and a revisit within two weeks after a first uncontrolled result (DOMAIN.md §2.3).
    fn follow_ups(&mut self, p: &Programme, comorbid: bool) {
        let mut date = if p.enrolled < self.window_start {
            let start = self.window_start;
            self.day_between(start, start + Duration::days(89))
        } else {
            self.day_between(p.enrolled, p.enrolled + Duration::days(14))
        };
        let mut visits = 0u32;
        while date <= self.reference {
            let controlled = self
                .rng
                .gen_bool(if p.prog == Prog::Htn { 0.7 } else { 0.62 });
            self.follow_up(p, date, controlled, visits, comorbid);
            visits += 1;
            let mut last = date;
            // The revisit is always controlled, so no two consecutive visits are uncontrolled
            // and no referral is ever due.
            if !controlled {
                let revisit = date + Duration::days(self.rng.gen_range(10..=14));
                if revisit <= self.reference {
                    self.follow_up(p, revisit, true, visits, comorbid);
                    visits += 1;
                    last = revisit;
                }
            }
            date = last + Duration::days(self.rng.gen_range(75..=90));
        }
    }

    fn follow_up(
        &mut self,
        p: &Programme,
        date: Date,
        controlled: bool,
        visit: u32,
        comorbid: bool,
    ) {
        let (service, from, to) = match p.prog {
            Prog::Htn => (HTN_FU, 8 * 60, 16 * 60 + 30),
            // Fasting glucose is measured before breakfast.
            Prog::T2d => (T2D_FU, 7 * 60 + 30, 9 * 60 + 30),
        };
        let class = if self.rng.gen_bool(0.15) { "HH" } else { "AMB" };
        let doctor = self.family_doctor.clone();
        let start = self.at(date, from, to);
        let minutes = self.rng.gen_range(10..=30);
        let programme = (p.episode.as_str(), p.condition.as_str());
        let enc = self.encounter(start, minutes, service, class, &doctor, Some(programme));
        let has_htn = p.prog == Prog::Htn || comorbid;
        let (sbp, dbp) = match (p.prog, controlled) {
            (Prog::Htn, false) => self.bp_uncontrolled(),
            _ if has_htn => self.bp_controlled(),
            _ => self.bp_normal(),
        };
        self.blood_pressure(&enc, 2, sbp, dbp);
        match p.prog {
            Prog::Htn => {
                let hr = clamp(self.normal(74.0, 7.0), 56.0, 98.0);
                self.quantity_obs(&enc, 3, HEART_RATE, int(hr));
            }
            Prog::T2d => {
                let fbg = if controlled {
                    clamp(self.normal(6.2, 0.4), 4.4, 6.9)
                } else {
                    clamp(self.normal(8.4, 1.1), 7.0, 13.5)
                };
                self.quantity_obs(&enc, 1, FBG, fixed(fbg, 1));
                // HbA1c twice a year.
                if visit.is_multiple_of(2) {
                    let a1c = if controlled {
                        clamp(self.normal(6.6, 0.4), 5.8, 7.4)
                    } else {
                        clamp(self.normal(7.8, 0.7), 7.0, 10.5)
                    };
                    self.quantity_obs(&enc, 1, HBA1C, fixed(a1c, 1));
                }
            }
        }
        self.weight_and_bmi(&enc, 5, false);
    }

    fn health_checks(&mut self, programmes: &[Programme]) {
        // Due from the 65th birthday or from enrolment in a chronic-disease programme.
        let eligible = programmes
            .iter()
            .map(|p| p.enrolled)
            .fold(add_months(self.birth, 65 * 12), Date::min);
        let mut date = if eligible <= self.window_start {
            let start = self.window_start;
            self.day_between(start, start + Duration::days(180))
        } else {
            self.day_between(eligible, eligible + Duration::days(60))
        };
        while date <= self.reference {
            self.health_check(date, programmes);
            // At most 364 days apart, so the last check is within the last 12 months.
            date += Duration::days(self.rng.gen_range(330..=364));
        }
    }

    /// The elderly annual check (DOMAIN.md §2.3): vital signs, anthropometry and the blood
    /// panel. ECG, ultrasound, urine routine and the self-care score are not generated.
    fn health_check(&mut self, date: Date, programmes: &[Programme]) {
        let doctor = pick(&mut self.rng, &self.inst.doctors).clone();
        let start = self.at(date, 7 * 60 + 30, 10 * 60 + 30);
        let minutes = self.rng.gen_range(40..=90);
        let enc = self.encounter(start, minutes, HEALTH_CHECK, "AMB", &doctor, None);
        let htn = programmes
            .iter()
            .any(|p| p.prog == Prog::Htn && p.enrolled <= date);
        let t2d = programmes
            .iter()
            .any(|p| p.prog == Prog::T2d && p.enrolled <= date);
        let (sbp, dbp) = if htn {
            if self.rng.gen_bool(0.7) {
                self.bp_controlled()
            } else {
                self.bp_uncontrolled()
            }
        } else {
            self.bp_normal()
        };
        self.blood_pressure(&enc, 10, sbp, dbp);
        let hr = clamp(self.normal(74.0, 8.0), 55.0, 99.0);
        self.quantity_obs(&enc, 10, HEART_RATE, int(hr));
        self.weight_and_bmi(&enc, 5, true);

        let male = self.male;
        let lab =
            |r: &mut Self, m: Measure, mean: f64, sd: f64, lo: f64, hi: f64, places: usize| {
                let v = clamp(r.normal(mean, sd), lo, hi);
                r.quantity_obs(&enc, 1, m, fixed(v, places));
                v
            };
        if t2d {
            lab(self, FBG, 7.4, 1.2, 4.6, 12.0, 1);
            lab(self, HBA1C, 7.1, 0.7, 5.8, 10.0, 1);
        } else {
            lab(self, FBG, 5.3, 0.45, 4.2, 6.9, 1);
        }
        let (hb_mean, hb_lo, hb_hi) = if male {
            (145.0, 120.0, 175.0)
        } else {
            (130.0, 110.0, 155.0)
        };
        lab(self, HB, hb_mean, 9.0, hb_lo, hb_hi, 0);
        lab(self, ALT, 22.0, 8.0, 7.0, 60.0, 0);
        lab(self, AST, 23.0, 6.0, 10.0, 50.0, 0);
        lab(self, TBIL, 12.0, 4.0, 4.0, 25.0, 1);
        let crea_mean = if male { 84.0 } else { 66.0 };
        lab(self, CREATININE, crea_mean, 12.0, 40.0, 125.0, 0);
        lab(self, UREA, 5.6, 1.2, 2.8, 9.0, 2);
        let tc = lab(self, CHOL, 4.9, 0.8, 3.0, 7.5, 2);
        let tg = lab(self, TRIG, 1.5, 0.6, 0.5, 4.5, 2);
        let hdl = lab(self, HDL, 1.3, 0.25, 0.8, 2.2, 2);
        // Friedewald in mmol/L, so the lipid panel is internally consistent.
        let ldl = (tc - hdl - tg / 2.2).max(1.0);
        self.quantity_obs(&enc, 1, LDL, fixed(ldl, 2));
    }

    /// Newborn home visit, the one-month check, checks at 3–36 months and yearly at 4–6 years,
    /// with haemoglobin at 8, 18 and 30 months (DOMAIN.md §2.3).
    fn child_checks(&mut self) {
        let z_weight = clamp(self.normal(0.0, 1.0), -2.0, 2.0);
        let z_height = clamp(self.normal(0.0, 1.0), -2.0, 2.0);
        let mut checks: Vec<(Date, Code, &str, bool)> = Vec::new();
        let nb = self.birth + Duration::days(self.rng.gen_range(3..=7));
        checks.push((nb, CHILD_NB, "HH", false));
        let month1 = self.birth + Duration::days(self.rng.gen_range(28..=30));
        checks.push((month1, CHILD_HC, "AMB", false));
        for months in [3u32, 6, 8, 12, 18, 24, 30, 36, 48, 60, 72] {
            let jitter = if months <= 36 {
                self.rng.gen_range(-3..=10)
            } else {
                self.rng.gen_range(-15..=30)
            };
            let date = add_months(self.birth, months) + Duration::days(jitter);
            checks.push((date, CHILD_HC, "AMB", matches!(months, 8 | 18 | 30)));
        }
        for (date, service, class, hb) in checks {
            if date > self.reference {
                break;
            }
            let doctor = pick(&mut self.rng, &self.inst.doctors).clone();
            let start = self.at(date, 8 * 60 + 30, 16 * 60);
            let minutes = self.rng.gen_range(15..=40);
            let enc = self.encounter(start, minutes, service, class, &doctor, None);
            let months = (date - self.birth).whole_days() as f64 / 30.4375;
            let sex = usize::from(!self.male);
            let weight =
                growth(&GROWTH[sex][0], months) * (1.0 + 0.10 * z_weight + self.normal(0.0, 0.01));
            let height = growth(&GROWTH[sex][1], months)
                * (1.0 + 0.035 * z_height + self.normal(0.0, 0.001));
            // Infant scales read to 10 g.
            let weight_places = if months < 12.0 { 2 } else { 1 };
            self.quantity_obs(&enc, 5, WEIGHT, fixed(weight, weight_places));
            self.quantity_obs(&enc, 6, HEIGHT, fixed(height, 1));
            if hb {
                let v = clamp(self.normal(122.0, 8.0), 105.0, 145.0);
                self.quantity_obs(&enc, 10, HB, int(v));
            }
        }
    }

    /// The 2021 national schedule, each visit no earlier than the nominal age, no sooner than
    /// 28 days after the previous visit, and respecting each series' minimum interval.
    fn immunizations(&mut self) {
        let mut previous_visit: Option<Date> = None;
        let mut last_dose: [Option<Date>; 11] = [None; 11];
        let mut arm_left = self.rng.gen_bool(0.5);
        for (months, doses) in SCHEDULE {
            let delay = match months {
                0 => 0,
                1..=12 => self.rng.gen_range(2..=12),
                _ => self.rng.gen_range(2..=25),
            };
            let mut date = add_months(self.birth, u32::from(months)) + Duration::days(delay);
            if let Some(prev) = previous_visit {
                date = date.max(prev + Duration::days(28));
            }
            for &(v, _, interval) in doses {
                let series_prev = series_last(&last_dose, v);
                if let Some(prev) = series_prev {
                    date = date.max(prev + Duration::days(interval));
                }
            }
            if date > self.reference {
                break;
            }
            previous_visit = Some(date);
            let nurse = pick(&mut self.rng, &self.inst.nurses).clone();
            let start = self.at(date, 8 * 60 + 30, 16 * 60);
            let minutes = self.rng.gen_range(10..=30);
            let enc = self.encounter(start, minutes, IMM, "AMB", &nurse, None);
            for (k, &(v, dose_number, _)) in doses.iter().enumerate() {
                last_dose[v] = Some(date);
                let vaccine = &VACCINES[v];
                let id = uuid(&mut self.rng);
                let at = enc.start.plus(5 + 3 * k as u16);
                let lot = format!(
                    "{}{:02}{}{:03}",
                    date.year() - 1,
                    self.rng.gen_range(1..=12),
                    char::from(b'A' + self.rng.gen_range(0..6u8)),
                    self.rng.gen_range(1..1000)
                );
                let mut resource = json!({
                    "resourceType": "Immunization",
                    "id": id,
                    "status": "completed",
                    "vaccineCode": {
                        "coding": [{"system": VACCINE_SYSTEM, "code": vaccine.code, "display": vaccine.name}],
                        "text": vaccine.short,
                    },
                    "patient": {"reference": self.patient},
                    "encounter": {"reference": enc.reference},
                    "occurrenceDateTime": at.fhir(),
                    "primarySource": true,
                    "lotNumber": lot,
                });
                if vaccine.route != PO {
                    arm_left = !arm_left;
                    let (site, display) = if arm_left {
                        ("LA", "left arm")
                    } else {
                        ("RA", "right arm")
                    };
                    resource["site"] = json!({"coding": [{
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActSite",
                        "code": site,
                        "display": display,
                    }]});
                }
                resource["route"] = json!({"coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/v3-RouteOfAdministration",
                    "code": vaccine.route.0,
                    "display": vaccine.route.1,
                }]});
                if let Some(ml) = vaccine.dose_ml {
                    resource["doseQuantity"] = quantity(decimal(ml), "mL", "mL");
                }
                resource["performer"] = json!([{"actor": {"reference": enc.practitioner}}]);
                resource["protocolApplied"] = json!([{
                    "series": vaccine.series,
                    "doseNumberPositiveInt": dose_number,
                    "seriesDosesPositiveInt": vaccine.series_doses,
                }]);
                self.push("Immunization", &id, resource);
            }
        }
    }

    fn encounter(
        &mut self,
        start: At,
        minutes: u16,
        service: Code,
        class: &str,
        practitioner: &str,
        programme: Option<(&str, &str)>,
    ) -> Encounter {
        self.group(start);
        let id = uuid(&mut self.rng);
        let class_display = if class == "HH" {
            "home health"
        } else {
            "ambulatory"
        };
        let mut resource = json!({
            "resourceType": "Encounter",
            "id": id,
            "status": "finished",
            "class": {"system": ACT_CODE, "code": class, "display": class_display},
            "serviceType": coded(PHS_SERVICE, service),
            "subject": {"reference": self.patient},
        });
        if let Some((episode, _)) = programme {
            resource["episodeOfCare"] = json!([{"reference": episode}]);
        }
        resource["participant"] = json!([{"individual": {"reference": practitioner}}]);
        resource["period"] = json!({"start": start.fhir(), "end": start.plus(minutes).fhir()});
        if let Some((_, condition)) = programme {
            resource["reasonReference"] = json!([{"reference": condition}]);
        }
        resource["serviceProvider"] = json!({"reference": self.inst.org_id});
        self.push("Encounter", &id, resource);
        Encounter {
            reference: format!("urn:uuid:{id}"),
            start,
            practitioner: practitioner.to_owned(),
        }
    }

    fn observation_base(
        &mut self,
        enc: &Encounter,
        offset: u16,
        code: Code,
        category: Category,
    ) -> (String, Value) {
        let id = uuid(&mut self.rng);
        let (cat_code, cat_display) = match category {
            Category::VitalSigns => ("vital-signs", "Vital Signs"),
            Category::Laboratory => ("laboratory", "Laboratory"),
        };
        let resource = json!({
            "resourceType": "Observation",
            "id": id,
            "status": "final",
            "category": [{"coding": [{"system": OBS_CATEGORY, "code": cat_code, "display": cat_display}]}],
            "code": coded(LOINC, code),
            "subject": {"reference": self.patient},
            "encounter": {"reference": enc.reference},
            "effectiveDateTime": enc.start.plus(offset).fhir(),
            "performer": [{"reference": enc.practitioner}],
        });
        (id, resource)
    }

    fn quantity_obs(&mut self, enc: &Encounter, offset: u16, m: Measure, value: Value) {
        let (id, mut resource) = self.observation_base(enc, offset, m.code, m.category);
        resource["valueQuantity"] = quantity(value, m.unit, m.ucum);
        self.push("Observation", &id, resource);
    }

    fn blood_pressure(&mut self, enc: &Encounter, offset: u16, sbp: f64, dbp: f64) {
        let (id, mut resource) = self.observation_base(enc, offset, BP_PANEL, Category::VitalSigns);
        resource["component"] = json!([
            {"code": coded(LOINC, SBP), "valueQuantity": quantity(int(sbp), "mmHg", "mm[Hg]")},
            {"code": coded(LOINC, DBP), "valueQuantity": quantity(int(dbp), "mmHg", "mm[Hg]")},
        ]);
        self.push("Observation", &id, resource);
    }

    /// Weight and a BMI computed from the recorded (rounded) weight, so the two agree; the
    /// annual check also measures height and waist.
    fn weight_and_bmi(&mut self, enc: &Encounter, offset: u16, full: bool) {
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

    fn bp_controlled(&mut self) -> (f64, f64) {
        let sbp = clamp(self.normal(128.0, 6.0), 105.0, 139.0);
        let dbp = clamp(self.normal(79.0, 5.0), 62.0, 89.0);
        coherent_bp(sbp, dbp)
    }

    /// Above target but below the danger thresholds (180/110), which would need a referral.
    fn bp_uncontrolled(&mut self) -> (f64, f64) {
        let sbp = clamp(self.normal(151.0, 8.0), 140.0, 176.0);
        let dbp = clamp(self.normal(92.0, 5.0), 75.0, 108.0);
        coherent_bp(sbp, dbp)
    }

    fn bp_normal(&mut self) -> (f64, f64) {
        let age = age_years(self.birth, self.reference);
        let mean = if age >= 65 { 126.0 } else { 119.0 };
        let sbp = clamp(self.normal(mean, 8.0), 95.0, 138.0);
        let dbp = clamp(self.normal(75.0, 6.0), 58.0, 88.0);
        coherent_bp(sbp, dbp)
    }
}

// ---------------------------------------------------------------------------------------------
// Helpers

/// A random UUID in version 4 format, from the generator's own stream.
fn uuid(rng: &mut ChaCha8Rng) -> String {
    let mut b: [u8; 16] = rng.r#gen();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn pick<'t, T>(rng: &mut ChaCha8Rng, items: &'t [T]) -> &'t T {
    &items[rng.gen_range(0..items.len())]
}

/// Irwin–Hall approximation of a normal draw: only additions, so bit-identical on every
/// platform, and bounded to ±6 sd.
fn normal(rng: &mut ChaCha8Rng, mean: f64, sd: f64) -> f64 {
    let sum: f64 = (0..12).map(|_| rng.r#gen::<f64>()).sum();
    mean + sd * (sum - 6.0)
}

fn clamp(v: f64, lo: f64, hi: f64) -> f64 {
    v.clamp(lo, hi)
}

fn round_to(v: f64, places: i32) -> f64 {
    let scale = 10f64.powi(places);
    (v * scale).round() / scale
}

fn person_name(rng: &mut ChaCha8Rng, generation: usize, female: bool) -> (&'static str, String) {
    let family = *pick(rng, &FAMILY_NAMES);
    let given = *pick(rng, GIVEN_NAMES[generation][usize::from(female)]);
    (family, given.to_owned())
}

fn human_name(family: &str, given: &str) -> Value {
    json!({"use": "official", "text": format!("{family}{given}"), "family": family, "given": [given]})
}

fn mobile(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{}{:08}",
        pick(rng, &MOBILE_PREFIXES),
        rng.gen_range(0..100_000_000u32)
    )
}

fn address(d: &District, use_: &str, line: &str) -> Value {
    let province = if d.province == d.city { "" } else { d.province };
    json!({
        "extension": [{"url": ADMIN_DIVISION_EXT, "valueCode": d.code}],
        "use": use_,
        "type": "physical",
        "text": format!("{province}{}{}{line}", d.city, d.district),
        "line": [line],
        "city": d.city,
        "district": d.district,
        "state": d.province,
        "postalCode": d.postal_code,
        "country": "CN",
    })
}

fn coded(system: &str, c: Code) -> Value {
    json!({"coding": [{"system": system, "code": c.code, "display": c.display}], "text": c.zh})
}

fn quantity(value: Value, unit: &str, ucum: &str) -> Value {
    json!({"value": value, "unit": unit, "system": UCUM, "code": ucum})
}

/// A JSON number written exactly as `text`, so `0.50` keeps its stated precision.
fn decimal(text: &str) -> Value {
    // With `arbitrary_precision` the number keeps its text; the callers pass literals and
    // `format!` output of finite floats, which are always valid JSON numbers.
    Value::Number(text.parse().expect("a decimal literal is a JSON number"))
}

fn fixed(v: f64, places: usize) -> Value {
    decimal(&format!("{v:.places$}"))
}

fn int(v: f64) -> Value {
    Value::from(v.round() as i64)
}

/// SBP at least 25 above DBP: a pulse pressure clinicians would record.
fn coherent_bp(sbp: f64, dbp: f64) -> (f64, f64) {
    let (sbp, dbp) = (sbp.round(), dbp.round());
    (sbp, dbp.min(sbp - 25.0))
}

fn growth(table: &[f64; 17], months: f64) -> f64 {
    let i = GROWTH_MONTHS
        .iter()
        .rposition(|&m| m <= months)
        .unwrap_or(0)
        .min(GROWTH_MONTHS.len() - 2);
    let (m0, m1) = (GROWTH_MONTHS[i], GROWTH_MONTHS[i + 1]);
    let t = clamp((months - m0) / (m1 - m0), 0.0, 1.0);
    table[i] + (table[i + 1] - table[i]) * t
}

fn series_last(last_dose: &[Option<Date>; 11], vaccine: usize) -> Option<Date> {
    // IPV and bOPV doses are one polio series.
    let series = VACCINES[vaccine].series;
    VACCINES
        .iter()
        .zip(last_dose)
        .filter(|(v, _)| v.series == series)
        .filter_map(|(_, d)| *d)
        .max()
}

fn fhir_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Completed years from `birth` to `on`.
fn age_years(birth: Date, on: Date) -> i32 {
    let before_birthday = (on.month(), on.day()) < (birth.month(), birth.day());
    on.year() - birth.year() - i32::from(before_birthday)
}

/// The same day `months` later, or the month's last day when it is shorter (31 Jan + 1 month
/// is 28/29 Feb).
fn add_months(d: Date, months: u32) -> Date {
    let index = d.year() * 12 + i32::from(u8::from(d.month())) - 1 + months as i32;
    let year = index.div_euclid(12);
    let month = Month::January.nth_next(index.rem_euclid(12) as u8);
    let day = d.day().min(month.length(year));
    // The day is clamped to the month and the year stays within the supported range.
    Date::from_calendar_date(year, month, day).expect("clamped calendar date is valid")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use time::macros::date;

    fn opts(seed: u64) -> SynthOptions {
        SynthOptions {
            residents: 200,
            seed,
            reference_date: date!(2025 - 06 - 30),
        }
    }

    fn parse(file: &SynthFile) -> Value {
        serde_json::from_slice(&file.json).expect("generator writes JSON")
    }

    fn entries(bundle: &Value) -> &Vec<Value> {
        bundle["entry"].as_array().expect("bundle has entries")
    }

    fn walk<'v>(v: &'v Value, key: Option<&str>, f: &mut impl FnMut(Option<&str>, &'v str)) {
        match v {
            Value::String(s) => f(key, s),
            Value::Array(items) => items.iter().for_each(|i| walk(i, key, f)),
            Value::Object(map) => map.iter().for_each(|(k, i)| walk(i, Some(k), f)),
            _ => {}
        }
    }

    #[test]
    fn same_options_give_identical_bytes() {
        let o = opts(7);
        assert_eq!(institution_bundle(&o), institution_bundle(&o));
        for n in [0, 1, 57, 199] {
            assert_eq!(resident_bundle(&o, n), resident_bundle(&o, n));
        }
    }

    #[test]
    fn different_seeds_differ() {
        assert_ne!(
            institution_bundle(&opts(1)).json,
            institution_bundle(&opts(2)).json
        );
        assert_ne!(
            resident_bundle(&opts(1), 0).json,
            resident_bundle(&opts(2), 0).json
        );
        assert_ne!(
            resident_bundle(&opts(1), 0).json,
            resident_bundle(&opts(1), 1).json
        );
    }

    #[test]
    fn bundles_are_transactions_with_put_entries() {
        let o = opts(3);
        let inst = parse(&institution_bundle(&o));
        for bundle in std::iter::once(inst).chain((0..20).map(|n| parse(&resident_bundle(&o, n)))) {
            assert_eq!(bundle["type"], "transaction");
            for e in entries(&bundle) {
                let id = e["resource"]["id"].as_str().expect("resource id");
                let rt = e["resource"]["resourceType"]
                    .as_str()
                    .expect("resourceType");
                assert_eq!(e["fullUrl"], format!("urn:uuid:{id}"));
                assert_eq!(e["request"]["method"], "PUT");
                assert_eq!(e["request"]["url"], format!("{rt}/{id}"));
                assert_eq!(id.len(), 36);
                assert_eq!(&id[14..15], "4", "version 4 UUID: {id}");
            }
        }
    }

    #[test]
    fn patient_ids_agree_with_demographics() {
        let o = opts(11);
        for n in 0..200 {
            let bundle = parse(&resident_bundle(&o, n));
            let patient = &entries(&bundle)[0]["resource"];
            assert_eq!(patient["resourceType"], "Patient");
            let ids = patient["identifier"].as_array().expect("identifiers");
            let cn = ids
                .iter()
                .find(|i| i["system"] == CN_ID_SYSTEM)
                .and_then(|i| i["value"].as_str())
                .expect("ID card identifier");
            let parsed = gb11643::parse(cn).expect("valid ID number");
            assert_eq!(patient["birthDate"], fhir_date(parsed.birth_date));
            let gender = match parsed.sex {
                gb11643::Sex::Male => "male",
                gb11643::Sex::Female => "female",
            };
            assert_eq!(patient["gender"], gender);
            let archive = ids
                .iter()
                .find(|i| i["system"] == ARCHIVE_NO_SYSTEM)
                .and_then(|i| i["value"].as_str())
                .expect("archive number");
            assert!(archive.len() == 17 && archive.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn references_resolve() {
        let o = opts(5);
        let inst = parse(&institution_bundle(&o));
        let institution: BTreeSet<String> = entries(&inst)
            .iter()
            .map(|e| {
                format!(
                    "{}/{}",
                    e["resource"]["resourceType"].as_str().unwrap_or(""),
                    e["resource"]["id"].as_str().unwrap_or("")
                )
            })
            .collect();
        for n in 0..100 {
            let bundle = parse(&resident_bundle(&o, n));
            let full_urls: BTreeSet<&str> = entries(&bundle)
                .iter()
                .filter_map(|e| e["fullUrl"].as_str())
                .collect();
            walk(&bundle, None, &mut |key, s| {
                if key != Some("reference") {
                    return;
                }
                if s.starts_with("urn:uuid:") {
                    assert!(full_urls.contains(s), "resident {n}: dangling {s}");
                } else {
                    assert!(institution.contains(s), "resident {n}: unknown {s}");
                }
            });
        }
    }

    #[test]
    fn no_date_after_reference_or_before_birth() {
        let o = opts(9);
        let reference = fhir_date(o.reference_date);
        let mut dates = 0;
        for n in 0..200 {
            let bundle = parse(&resident_bundle(&o, n));
            let birth = entries(&bundle)[0]["resource"]["birthDate"]
                .as_str()
                .expect("birthDate")
                .to_owned();
            walk(&bundle, None, &mut |key, s| {
                let looks_like_date = s.len() >= 10
                    && s.as_bytes()[4] == b'-'
                    && s.as_bytes()[7] == b'-'
                    && s[..4].bytes().all(|b| b.is_ascii_digit());
                if !looks_like_date {
                    return;
                }
                dates += 1;
                let day = &s[..10];
                assert!(
                    day <= reference.as_str(),
                    "resident {n}: {key:?} = {s} is after {reference}"
                );
                // Chronic conditions may have been diagnosed long ago, but never before birth.
                assert!(
                    day >= birth.as_str(),
                    "resident {n}: {key:?} = {s} is before birth {birth}"
                );
            });
        }
        assert!(dates > 1000);
    }

    #[test]
    fn clinical_events_stay_in_the_history_window() {
        let o = opts(13);
        let window = fhir_date(o.reference_date - Duration::days(HISTORY_DAYS));
        for n in 0..200 {
            let bundle = parse(&resident_bundle(&o, n));
            let patient = &entries(&bundle)[0]["resource"];
            let birth = patient["birthDate"].as_str().expect("birthDate");
            let child = age_years(
                Date::parse(
                    birth,
                    time::macros::format_description!("[year]-[month]-[day]"),
                )
                .expect("birthDate parses"),
                o.reference_date,
            ) < 18;
            if child {
                continue;
            }
            for e in entries(&bundle) {
                let r = &e["resource"];
                let when = r["effectiveDateTime"].as_str().or(r["period"]["start"]
                    .as_str()
                    .filter(|_| r["resourceType"] == "Encounter"));
                if let Some(when) = when {
                    assert!(
                        &when[..10] >= window.as_str(),
                        "resident {n}: {when} before {window}"
                    );
                }
            }
        }
    }

    #[test]
    fn average_resources_per_resident() {
        let o = opts(42);
        let total: usize = (0..200).map(|n| resident_bundle(&o, n).resources).sum();
        let average = total as f64 / 200.0;
        assert!((25.0..=60.0).contains(&average), "average {average}");
    }

    #[test]
    fn programme_content_is_plausible() {
        let o = opts(21);
        let (mut htn, mut t2d, mut imm, mut adults_35) = (0, 0, 0, 0);
        for n in 0..400 {
            let bundle = parse(&resident_bundle(&o, n));
            let birth = entries(&bundle)[0]["resource"]["birthDate"]
                .as_str()
                .expect("birthDate")
                .to_owned();
            if birth.as_str() <= "1990-06-30" {
                adults_35 += 1;
            }
            for e in entries(&bundle) {
                let r = &e["resource"];
                match r["resourceType"].as_str() {
                    Some("Condition") if r["code"]["coding"][0]["code"] == "I10" => htn += 1,
                    Some("Condition") if r["code"]["coding"][0]["code"] == "E11.9" => t2d += 1,
                    Some("Immunization") => imm += 1,
                    Some("Observation") if r["code"]["coding"][0]["code"] == "85354-9" => {
                        let sbp = r["component"][0]["valueQuantity"]["value"]
                            .as_i64()
                            .expect("SBP");
                        let dbp = r["component"][1]["valueQuantity"]["value"]
                            .as_i64()
                            .expect("DBP");
                        assert!(sbp > dbp && sbp < 180 && dbp < 110, "{sbp}/{dbp}");
                    }
                    _ => {}
                }
            }
        }
        let htn_rate = f64::from(htn) / f64::from(adults_35);
        let t2d_rate = f64::from(t2d) / f64::from(adults_35);
        assert!((0.15..=0.35).contains(&htn_rate), "HTN {htn_rate}");
        assert!((0.05..=0.16).contains(&t2d_rate), "T2D {t2d_rate}");
        assert!(imm > 100);
    }

    #[test]
    fn decimals_keep_their_precision() {
        assert_eq!(
            serde_json::to_string(&fixed(4.5, 2)).expect("serialises"),
            "4.50"
        );
        assert_eq!(
            serde_json::to_string(&decimal("0.5")).expect("serialises"),
            "0.5"
        );
        assert_eq!(add_months(date!(2024 - 01 - 31), 1), date!(2024 - 02 - 29));
        assert_eq!(add_months(date!(2023 - 11 - 15), 3), date!(2024 - 02 - 15));
        assert_eq!(age_years(date!(2000 - 07 - 01), date!(2025 - 06 - 30)), 24);
    }

    #[test]
    fn writes_population() {
        let dir = tempfile::tempdir().expect("temp dir");
        let o = SynthOptions {
            residents: 5,
            ..opts(1)
        };
        let (files, resources) = write_population(&o, &dir.path().join("out")).expect("writes");
        assert_eq!(files, 6);
        let on_disk = std::fs::read(dir.path().join("out/resident-000005.json")).expect("file");
        assert_eq!(on_disk, resident_bundle(&o, 4).json);
        let expected: usize = institution_bundle(&o).resources
            + (0..5)
                .map(|n| resident_bundle(&o, n).resources)
                .sum::<usize>();
        assert_eq!(resources, expected);
        let bad = SynthOptions {
            reference_date: date!(1999 - 12 - 31),
            ..o
        };
        assert!(write_population(&bad, dir.path()).is_err());
    }
}
