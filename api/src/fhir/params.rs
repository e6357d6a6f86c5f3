//! Query parameters of FHIR reads: parsing the query string, strict or lenient handling of
//! what we do not support, token and date matching as FHIR R4 search defines them.

use axum::http::HeaderMap;
use serde_json::Value;
use time::{Date, Month, PrimitiveDateTime, Time, UtcOffset};

use crate::error::{ApiError, ApiResult};

/// The query of one request, consumed parameter by parameter; what is left at the end was
/// not understood.
#[derive(Debug)]
pub struct Params {
    pairs: Vec<(String, String)>,
    /// `Prefer: handling=lenient`: ignore what we do not support instead of refusing.
    pub lenient: bool,
}

impl Params {
    pub fn parse(raw: Option<&str>, headers: &HeaderMap) -> ApiResult<Self> {
        let mut pairs = Vec::new();
        for part in raw.unwrap_or("").split('&').filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').unwrap_or((part, ""));
            pairs.push((decode(k)?, decode(v)?));
        }
        Ok(Self {
            pairs,
            lenient: lenient(headers),
        })
    }

    /// Every value of `name`, removed from what is left.
    pub fn take_all(&mut self, name: &str) -> Vec<String> {
        let (taken, rest) = std::mem::take(&mut self.pairs)
            .into_iter()
            .partition(|(k, _)| k == name);
        self.pairs = rest;
        taken.into_iter().map(|(_, v)| v).collect()
    }

    /// The one value of `name`; repeating it is an error.
    pub fn take_one(&mut self, name: &str) -> ApiResult<Option<String>> {
        let mut all = self.take_all(name);
        match all.len() {
            0 => Ok(None),
            1 => Ok(all.pop()),
            _ => Err(ApiError::bad_request(format!(
                "parameter '{name}' may appear only once"
            ))),
        }
    }

    /// `_proof=true|false`.
    pub fn take_proof(&mut self) -> ApiResult<bool> {
        match self.take_one("_proof")?.as_deref() {
            None | Some("false") => Ok(false),
            Some("true") => Ok(true),
            Some(v) => Err(ApiError::bad_request(format!(
                "_proof must be true or false, not '{v}'"
            ))),
        }
    }

    /// `_format`: only JSON is served.
    pub fn take_format(&mut self) -> ApiResult<()> {
        match self.take_one("_format")?.as_deref() {
            None | Some("json" | "application/json" | "application/fhir+json") => Ok(()),
            Some(v) => Err(ApiError::not_supported(format!(
                "_format '{v}' is not supported; this server answers JSON only"
            ))
            .at("_format")),
        }
    }

    /// Ends parsing: the names left over are refused (strict) or returned to be reported as
    /// ignored (lenient).
    pub fn finish(self, supported: &[&str]) -> ApiResult<Vec<String>> {
        let mut left: Vec<String> = Vec::new();
        for (k, _) in self.pairs {
            if !left.contains(&k) {
                left.push(k);
            }
        }
        if left.is_empty() || self.lenient {
            return Ok(left);
        }
        let list = if supported.is_empty() {
            "none".to_owned()
        } else {
            supported.join(", ")
        };
        Err(ApiError::not_supported(format!(
            "unknown or unsupported parameter{} {} (supported here: {list}; send 'Prefer: handling=lenient' to ignore)",
            if left.len() > 1 { "s" } else { "" },
            left.iter()
                .map(|k| format!("'{k}'"))
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .at(left[0].clone()))
    }
}

fn lenient(headers: &HeaderMap) -> bool {
    headers
        .get_all("prefer")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split([',', ';']))
        .any(|p| p.trim().eq_ignore_ascii_case("handling=lenient"))
}

/// Percent-decoding of a query component (`+` is a space).
fn decode(s: &str) -> ApiResult<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        ApiError::bad_request(format!("bad percent-encoding in query: '{s}'"))
                    })?;
                out.push(hex);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| ApiError::bad_request(format!("query component '{s}' is not UTF-8")))
}

/// Percent-encoding of a query component for the links we write.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/' | b':') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `[system|]code`: system and code to match (`None` = any, `Some("")` = must be absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Token {
    pub system: Option<String>,
    pub code: Option<String>,
}

impl Token {
    pub fn parse(s: &str) -> ApiResult<Self> {
        let t = match s.split_once('|') {
            None => Token {
                system: None,
                code: Some(s.to_owned()),
            },
            Some((sys, code)) => Token {
                system: Some(sys.to_owned()),
                code: (!code.is_empty()).then(|| code.to_owned()),
            },
        };
        if t.code.is_none() && t.system.as_deref().is_none_or(str::is_empty) {
            return Err(ApiError::bad_request(format!("empty token '{s}'")));
        }
        Ok(t)
    }

    /// A comma-separated list of tokens (any may match).
    pub fn parse_any(s: &str) -> ApiResult<Vec<Self>> {
        s.split(',').map(Token::parse).collect()
    }

    /// Whether a Coding or Identifier (`value_field` = `code` or `value`) matches.
    pub fn matches(&self, item: &Value, value_field: &str) -> bool {
        let system = item.get("system").and_then(Value::as_str);
        let value = item.get(value_field).and_then(Value::as_str);
        let system_ok = match self.system.as_deref() {
            None => true,
            Some("") => system.is_none(),
            Some(s) => system == Some(s),
        };
        let code_ok = match self.code.as_deref() {
            None => true,
            Some(c) => value == Some(c),
        };
        system_ok && code_ok
    }
}

/// A time range [lo, hi) in Unix milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Range {
    pub lo: i64,
    pub hi: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Prefix {
    Eq,
    Ne,
    Gt,
    Lt,
    Ge,
    Le,
}

/// A `date` search value: prefix and the range its precision implies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateParam {
    pub prefix: Prefix,
    pub range: Range,
}

impl DateParam {
    pub fn parse(s: &str) -> ApiResult<Self> {
        let (prefix, rest) = match s.get(..2) {
            Some("eq") => (Prefix::Eq, &s[2..]),
            Some("ne") => (Prefix::Ne, &s[2..]),
            Some("gt") => (Prefix::Gt, &s[2..]),
            Some("lt") => (Prefix::Lt, &s[2..]),
            Some("ge") => (Prefix::Ge, &s[2..]),
            Some("le") => (Prefix::Le, &s[2..]),
            Some(p @ ("sa" | "eb" | "ap")) => {
                return Err(ApiError::not_supported(format!(
                    "date prefix '{p}' is not supported (eq, ne, gt, lt, ge, le)"
                ))
                .at("date"));
            }
            _ => (Prefix::Eq, s),
        };
        let range = parse_range(rest, true).ok_or_else(|| {
            ApiError::bad_request(format!(
                "date '{s}' is not [prefix]yyyy[-mm[-dd[Thh:mm[:ss[.fff]][Z|±hh:mm]]]]"
            ))
            .at("date")
        })?;
        Ok(Self { prefix, range })
    }

    /// FHIR R4 §3.1.1.4.2 (prefixes) applied to the target's range.
    pub fn matches(&self, t: Range) -> bool {
        let p = self.range;
        let contains = p.lo <= t.lo && t.hi <= p.hi;
        match self.prefix {
            Prefix::Eq => contains,
            Prefix::Ne => !contains,
            Prefix::Gt => t.hi > p.hi,
            Prefix::Lt => t.lo < p.lo,
            Prefix::Ge => t.hi > p.hi || contains,
            Prefix::Le => t.lo < p.lo || contains,
        }
    }
}

/// The range a FHIR date, dateTime or instant stands for, at its precision. Search values
/// (`search`) may leave out the seconds and the zone (then UTC); resource values must carry a
/// zone when they carry a time.
pub fn parse_range(s: &str, search: bool) -> Option<Range> {
    let (date, time) = match s.split_once('T') {
        Some((d, t)) => (d, Some(t)),
        None => (s, None),
    };
    let mut parts = date.split('-');
    let y: i32 = digits(parts.next()?, 4)?.try_into().ok()?;
    let m = match parts.next() {
        Some(p) => Some(digits(p, 2)?),
        None => None,
    };
    let d = match parts.next() {
        Some(p) => Some(digits(p, 2)?),
        None => None,
    };
    if parts.next().is_some() || (d.is_some() && m.is_none()) {
        return None;
    }
    let month = |m: u32| Month::try_from(u8::try_from(m).ok()?).ok();
    let start = Date::from_calendar_date(y, month(m.unwrap_or(1))?, d.unwrap_or(1) as u8).ok()?;
    let ms = |date: Date| PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_utc();
    let Some(time) = time else {
        let end = match (m, d) {
            (None, _) => Date::from_calendar_date(y.checked_add(1)?, Month::January, 1).ok()?,
            (Some(12), None) => {
                Date::from_calendar_date(y.checked_add(1)?, Month::January, 1).ok()?
            }
            (Some(m), None) => Date::from_calendar_date(y, month(m + 1)?, 1).ok()?,
            (Some(_), Some(_)) => start.next_day()?,
        };
        return Some(Range {
            lo: millis(ms(start)),
            hi: millis(ms(end)),
        });
    };
    // A time needs a full date.
    d?;
    let (clock, zone) = match time.find(['Z', '+', '-']) {
        Some(i) => (&time[..i], Some(&time[i..])),
        None => (time, None),
    };
    let offset = match zone {
        Some("Z") => UtcOffset::UTC,
        Some(z) => {
            let sign: i8 = if z.starts_with('-') { -1 } else { 1 };
            let (h, mi) = z[1..].split_once(':')?;
            let (h, mi) = (digits(h, 2)? as i8, digits(mi, 2)? as i8);
            UtcOffset::from_hms(sign * h, sign * mi, 0).ok()?
        }
        None if search => UtcOffset::UTC,
        None => return None,
    };
    let mut hms = clock.split(':');
    let h = digits(hms.next()?, 2)? as u8;
    let mi = digits(hms.next()?, 2)? as u8;
    let (sec, step) = match hms.next() {
        None if search => (None, 60_000),
        None => return None,
        Some(sec) => {
            let (whole, frac) = sec.split_once('.').unwrap_or((sec, ""));
            if !frac.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let frac_ms = format!("{frac:0<3}").get(..3)?.parse::<u16>().ok()?;
            let step = if frac.is_empty() { 1000 } else { 1 };
            (Some((digits(whole, 2)? as u8, frac_ms)), step)
        }
    };
    if hms.next().is_some() {
        return None;
    }
    let (s, frac_ms) = sec.unwrap_or((0, 0));
    let t = Time::from_hms_milli(h, mi, s, frac_ms).ok()?;
    let lo = millis(PrimitiveDateTime::new(start, t).assume_offset(offset));
    Some(Range { lo, hi: lo + step })
}

fn millis(t: time::OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

fn digits(s: &str, n: usize) -> Option<u32> {
    (s.len() == n && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// The time a resource's date search parameter looks at: `effective[x]` (Observation),
/// `period` (Encounter), `occurrence[x]` (Immunization), as a range.
pub fn date_of(resource: &Value) -> Option<Range> {
    let point = |k: &str| resource.get(k).and_then(Value::as_str);
    for k in [
        "effectiveDateTime",
        "effectiveInstant",
        "occurrenceDateTime",
    ] {
        if let Some(s) = point(k) {
            return parse_range(s, false);
        }
    }
    let period = resource
        .get("effectivePeriod")
        .or_else(|| resource.get("period"))?;
    let end = |k: &str| period.get(k).and_then(Value::as_str);
    let lo = match end("start") {
        Some(s) => parse_range(s, false)?.lo,
        None => i64::MIN,
    };
    let hi = match end("end") {
        Some(s) => parse_range(s, false)?.hi,
        None => i64::MAX,
    };
    (end("start").is_some() || end("end").is_some()).then_some(Range { lo, hi })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn r(s: &str) -> Range {
        parse_range(s, true).expect(s)
    }

    #[test]
    fn partial_dates_are_ranges() {
        let y = r("2020");
        assert_eq!(y.hi - y.lo, 366 * 86_400_000, "2020 is a leap year");
        let feb = r("2021-02");
        assert_eq!(feb.hi - feb.lo, 28 * 86_400_000);
        let dec = r("2021-12");
        assert_eq!(dec.hi, r("2022").lo);
        let day = r("2021-03-04");
        assert_eq!(day.hi - day.lo, 86_400_000);
        let sec = r("2021-03-04T10:00:00+02:00");
        assert_eq!(sec.lo, r("2021-03-04T08:00:00Z").lo);
        assert_eq!(sec.hi - sec.lo, 1000);
        assert_eq!(r("2021-03-04T10:00").hi - r("2021-03-04T10:00").lo, 60_000);
        assert_eq!(r("2021-03-04T10:00:00.5Z").lo % 1000, 500);
        for bad in [
            "20",
            "2021-13",
            "2021-02-30",
            "2021-03-04T25:00",
            "x",
            "2021--01",
        ] {
            assert!(parse_range(bad, true).is_none(), "{bad}");
        }
        assert!(
            parse_range("2021-03-04T10:00:00", false).is_none(),
            "a resource time needs a zone"
        );
    }

    #[test]
    fn prefixes_follow_fhir() {
        let t = r("2021-03-04T10:00:00Z");
        let p = |s: &str| DateParam::parse(s).expect(s);
        assert!(p("2021").matches(t));
        assert!(p("eq2021-03").matches(t));
        assert!(!p("eq2021-04").matches(t));
        assert!(p("ne2021-04").matches(t));
        assert!(p("gt2021-03-03").matches(t));
        assert!(
            !p("gt2021-03-04").matches(t),
            "within the day is not after it"
        );
        assert!(p("ge2021-03-04").matches(t));
        assert!(p("lt2021-03-05").matches(t));
        assert!(!p("lt2021-03-04").matches(t));
        assert!(p("le2021-03-04").matches(t));
        // An open period overlaps everything after its start.
        let open = date_of(&json!({"period": {"start": "2020-01-01T00:00:00Z"}})).expect("period");
        assert!(p("gt2030").matches(open));
        assert!(!p("eq2020").matches(open));
        assert!(DateParam::parse("ap2020").is_err());
        assert!(DateParam::parse("eq20x0").is_err());
    }

    #[test]
    fn tokens() {
        let coding = json!({"system": "http://loinc.org", "code": "8302-2"});
        let t = |s: &str| Token::parse(s).expect(s);
        assert!(t("8302-2").matches(&coding, "code"));
        assert!(t("http://loinc.org|8302-2").matches(&coding, "code"));
        assert!(t("http://loinc.org|").matches(&coding, "code"));
        assert!(!t("|8302-2").matches(&coding, "code"));
        assert!(!t("http://snomed.info/sct|8302-2").matches(&coding, "code"));
        assert!(Token::parse("|").is_err());
    }

    #[test]
    fn query_strict_and_lenient() {
        let mut h = HeaderMap::new();
        let mut p = Params::parse(Some("patient=Patient%2Fp1&foo=1&_count=2"), &h).expect("parse");
        assert_eq!(
            p.take_one("patient").expect("one"),
            Some("Patient/p1".into())
        );
        assert_eq!(p.take_one("_count").expect("one"), Some("2".into()));
        let err = p.finish(&["patient"]).expect_err("strict");
        assert!(err.diagnostics.contains("'foo'"), "{}", err.diagnostics);
        h.insert(
            "prefer",
            "return=minimal, handling=lenient".parse().expect("header"),
        );
        let p = Params::parse(Some("foo=1&foo=2&bar"), &h).expect("parse");
        assert_eq!(p.finish(&[]).expect("lenient"), vec!["foo", "bar"]);
        assert!(Params::parse(Some("a=%zz"), &h).is_err());
        assert_eq!(
            encode("http://loinc.org|8302-2"),
            "http://loinc.org%7C8302-2"
        );
    }
}
