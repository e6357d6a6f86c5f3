//! Where residents live and what they are called: districts with their real sub-districts,
//! family and given names by generation, phone numbers and addresses.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::codes::ADMIN_DIVISION_EXT;
use super::random::pick;

pub(super) struct District {
    pub(super) code: &'static str,
    pub(super) province: &'static str,
    pub(super) city: &'static str,
    pub(super) district: &'static str,
    pub(super) postal_code: &'static str,
    pub(super) phone_area: &'static str,
    pub(super) streets: [&'static str; 4],
}

/// GB/T 2260 county-level codes of some urban districts, each with real sub-district names.
pub(super) const DISTRICTS: [District; 10] = [
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

pub(super) const COMMUNITIES: [&str; 10] = [
    "幸福", "和平", "建设", "光明", "友谊", "东风", "新华", "阳光", "花园", "长安",
];

pub(super) const FAMILY_NAMES: [&str; 60] = [
    "王", "李", "张", "刘", "陈", "杨", "黄", "赵", "吴", "周", "徐", "孙", "马", "朱", "胡", "郭",
    "何", "林", "高", "罗", "郑", "梁", "谢", "宋", "唐", "许", "韩", "冯", "邓", "曹", "彭", "曾",
    "肖", "田", "董", "袁", "潘", "蒋", "蔡", "余", "杜", "叶", "程", "苏", "魏", "吕", "丁", "任",
    "沈", "姚", "卢", "姜", "崔", "钟", "谭", "陆", "汪", "范", "金", "石",
];

/// Given names by generation (born before 1970, 1970–1999, from 2000) and sex.
pub(super) const GIVEN_NAMES: [[&[&str]; 2]; 3] = [
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

pub(super) const MOBILE_PREFIXES: [&str; 16] = [
    "130", "131", "135", "136", "137", "138", "139", "150", "151", "158", "159", "177", "186",
    "187", "188", "189",
];

pub(super) fn person_name(
    rng: &mut ChaCha8Rng,
    generation: usize,
    female: bool,
) -> (&'static str, String) {
    let family = *pick(rng, &FAMILY_NAMES);
    let given = *pick(rng, GIVEN_NAMES[generation][usize::from(female)]);
    (family, given.to_owned())
}

pub(super) fn human_name(family: &str, given: &str) -> Value {
    json!({"use": "official", "text": format!("{family}{given}"), "family": family, "given": [given]})
}

pub(super) fn mobile(rng: &mut ChaCha8Rng) -> String {
    format!(
        "{}{:08}",
        pick(rng, &MOBILE_PREFIXES),
        rng.gen_range(0..100_000_000u32)
    )
}

pub(super) fn address(d: &District, use_: &str, line: &str) -> Value {
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
