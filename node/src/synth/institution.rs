//! The community health service centre: its Organization and Practitioners, shared by every
//! resident bundle.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::{Value, json};

use super::codes::{ORG_ID_SYSTEM, PRACTITIONER_ID_SYSTEM};
use super::demographics::{COMMUNITIES, DISTRICTS, District, address, human_name, person_name};
use super::fhir::entry;
use super::random::{pick, uuid};

/// The institution's records come from their own ChaCha stream, so that resident `n`'s stream
/// can simply be `n`.
const INSTITUTION_STREAM: u64 = u64::MAX;

pub(super) struct Institution {
    pub(super) org_id: String,
    pub(super) district: &'static District,
    pub(super) doctors: Vec<String>,
    pub(super) nurses: Vec<String>,
    pub(super) entries: Vec<Value>,
}

impl Institution {
    pub(super) fn new(seed: u64) -> Self {
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
