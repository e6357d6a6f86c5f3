//! JSON text read as I-JSON (RFC 7493): no object may name a member twice.
//!
//! RFC 8785 canonicalizes I-JSON only. `serde_json` keeps the last of two equal names, so a
//! record `{"value":1,"value":2}` would hash as `{"value":2}` while a reader that keeps the first
//! name sees 1: the proven content and the content shown would differ. Served records are
//! copied around their stored bytes, so such text is refused wherever it would be hashed: at
//! ingest, in `verify` and in a member's answer.

use std::borrow::Cow;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use serde_json::error::Category;

/// Why a text is not I-JSON.
#[derive(Debug, thiserror::Error)]
pub enum IJsonError {
    #[error("not JSON: {0}")]
    Syntax(serde_json::Error),
    /// Names the member and where its second occurrence ends.
    #[error("{0}")]
    DuplicateName(serde_json::Error),
}

/// Parses `raw` (arbitrary-precision numbers, member order kept), refusing duplicate names.
///
/// This is on the ingest path, so it first compares, object by object, how many members the
/// text writes with how many the parsed value kept (one cheap scan of the bytes); only when
/// they differ does it run [`check`] to name the duplicate (or clear a false alarm).
pub fn parse(raw: &[u8]) -> Result<Value, IJsonError> {
    let v: Value = serde_json::from_slice(raw).map_err(IJsonError::Syntax)?;
    if !kept_every_member(raw, &v) {
        check(raw)?;
    }
    Ok(v)
}

/// Whether parsing `raw` into `v` kept every member the text writes. The objects of the text,
/// in the order they open, are those of `v` in pre-order as long as no member was dropped, so
/// the first object that lost a duplicate shows fewer members than the text has. When a
/// dropped copy held objects, or an object parsed into something else (serde_json reads its
/// private number token as a number), the object counts differ and this answers false too.
fn kept_every_member(raw: &[u8], v: &Value) -> bool {
    let written = members_per_object(raw);
    let mut next = 0;
    kept(v, &written, &mut next) && next == written.len()
}

fn kept(v: &Value, written: &[u32], next: &mut usize) -> bool {
    match v {
        Value::Object(m) => {
            let i = *next;
            *next += 1;
            written.get(i).is_some_and(|&n| n as usize == m.len())
                && m.values().all(|x| kept(x, written, next))
        }
        Value::Array(a) => a.iter().all(|x| kept(x, written, next)),
        _ => true,
    }
}

/// How many members each object of the JSON text `raw` writes, in the order the objects open.
/// `raw` parsed as JSON, so outside strings every ':' ends one member's name.
fn members_per_object(raw: &[u8]) -> Vec<u32> {
    let mut counts: Vec<u32> = Vec::new();
    // The open containers: an object's index in `counts`, or None for an array.
    let mut open: Vec<Option<usize>> = Vec::new();
    let (mut in_string, mut escaped) = (false, false);
    for &b in raw {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' => {
                open.push(Some(counts.len()));
                counts.push(0);
            }
            b'[' => open.push(None),
            b'}' | b']' => {
                open.pop();
            }
            b':' => {
                if let Some(Some(i)) = open.last()
                    && let Some(c) = counts.get_mut(*i)
                {
                    *c += 1;
                }
            }
            _ => {}
        }
    }
    counts
}

/// Checks that no object in `raw` names a member twice, without building the value: the
/// reference [`parse`]'s fast path is tested against.
pub fn check(raw: &[u8]) -> Result<(), IJsonError> {
    let mut de = serde_json::Deserializer::from_slice(raw);
    let checked = Unique::deserialize(&mut de).and_then(|_| de.end());
    checked.map_err(|e| match e.classify() {
        Category::Data => IJsonError::DuplicateName(e),
        _ => IJsonError::Syntax(e),
    })
}

/// Any JSON value whose objects have unique member names.
struct Unique;

impl<'de> Deserialize<'de> for Unique {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(UniqueVisitor)
    }
}

struct UniqueVisitor;

impl<'de> Visitor<'de> for UniqueVisitor {
    type Value = Unique;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_str<E>(self, _: &str) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_unit<E>(self) -> Result<Unique, E> {
        Ok(Unique)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Unique, A::Error> {
        while seq.next_element::<Unique>()?.is_some() {}
        Ok(Unique)
    }

    // Arbitrary-precision numbers also arrive here, as a one-member map.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Unique, A::Error> {
        let mut names: Vec<Cow<'de, str>> = Vec::new();
        while let Some(Name(name)) = map.next_key::<Name<'de>>()? {
            map.next_value::<Unique>()?;
            names.push(name);
        }
        // Sorting keeps an object of many members from costing quadratic time.
        names.sort_unstable();
        match names.windows(2).find(|w| w[0] == w[1]) {
            Some(w) => Err(de::Error::custom(format!(
                "member name \"{}\" appears twice in one object (JSON for the log must be I-JSON, RFC 7493)",
                w[0]
            ))),
            None => Ok(Unique),
        }
    }
}

/// A member name, borrowed from the text unless it has escapes.
struct Name<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Name<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Name<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a member name")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Borrowed(v)))
            }
            fn visit_str<E>(self, v: &str) -> Result<Name<'de>, E> {
                Ok(Name(Cow::Owned(v.to_owned())))
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn duplicate_names_are_refused_at_any_depth() {
        for text in [
            r#"{"a":1,"a":2}"#,
            r#"{"a":1,"b":{"c":[{"d":1,"d":1}]}}"#,
            r#"[{"x":{"y":true,"y":false}}]"#,
            // The same name once escaped, once not.
            r#"{"value":1,"val\u0075e":2}"#,
        ] {
            match check(text.as_bytes()) {
                Err(IJsonError::DuplicateName(e)) => {
                    assert!(e.to_string().contains("appears twice"), "{text}: {e}")
                }
                other => panic!("{text}: {other:?}"),
            }
        }
    }

    #[test]
    fn equal_names_in_different_objects_and_numbers_are_fine() {
        for text in [
            r#"{"a":{"a":1},"b":[{"a":2},{"a":3}],"n":1e400,"m":-0.000}"#,
            r#"[]"#,
            r#""text""#,
            r#"{"resourceType":"Observation","valueQuantity":{"value":4.50}}"#,
        ] {
            assert!(check(text.as_bytes()).is_ok(), "{text}");
        }
        assert_eq!(
            parse(br#"{"b":1,"a":[2]}"#).expect("parse").to_string(),
            r#"{"b":1,"a":[2]}"#
        );
    }

    #[test]
    fn syntax_errors_are_syntax_errors() {
        for text in [r#"{"a":1"#, r#"{"a":1} x"#, "", "{'a':1}"] {
            assert!(
                matches!(check(text.as_bytes()), Err(IJsonError::Syntax(_))),
                "{text}"
            );
        }
    }

    /// JSON text of a random tree whose objects draw member names from a small set (so names
    /// repeat), with strings that hold quotes, colons, braces and escapes, and now and then
    /// serde_json's private number token as a name.
    fn json_text() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            Just("null".to_owned()),
            Just("true".to_owned()),
            (-1000i64..1000).prop_map(|i| i.to_string()),
            Just("4.50".to_owned()),
            Just("1e400".to_owned()),
            "[a-c:{}\\[\\],\"\\\\]{0,4}".prop_map(|s| serde_json::to_string(&s).unwrap()),
            Just(r#""\u0061\"\\""#.to_owned()),
            Just(r#"{"$serde_json::private::Number":"12"}"#.to_owned()),
        ];
        leaf.prop_recursive(4, 48, 5, |inner| {
            let name = prop_oneof![
                8 => "[a-c]".prop_map(|s| serde_json::to_string(&s).unwrap()),
                1 => Just(r#""\u0061""#.to_owned()),
                1 => Just(r#""$serde_json::private::Number""#.to_owned()),
            ];
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..5)
                    .prop_map(|xs| format!("[{}]", xs.join(","))),
                prop::collection::vec((name, inner), 0..5).prop_map(|ms| {
                    let ms: Vec<String> = ms.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
                    format!("{{{}}}", ms.join(","))
                }),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// The fast path agrees with the reference: refused exactly when `check` refuses (or
        /// serde_json cannot read the text), and otherwise the value serde_json reads.
        #[test]
        fn parse_agrees_with_the_reference(text in json_text()) {
            let reference = serde_json::from_str::<Value>(&text).ok().filter(|_| check(text.as_bytes()).is_ok());
            let got = parse(text.as_bytes());
            prop_assert_eq!(got.as_ref().ok(), reference.as_ref(), "{}", text);
            if let Err(e) = got && reference.is_none() && serde_json::from_str::<Value>(&text).is_ok() {
                prop_assert!(matches!(e, IJsonError::DuplicateName(_)), "{}", text);
            }
        }
    }

    #[test]
    fn a_dropped_copy_holding_objects_is_still_found() {
        let text = r#"{"a":{"x":{"y":1}},"b":[{"c":1}],"a":{"x":2}}"#;
        assert!(matches!(
            parse(text.as_bytes()),
            Err(IJsonError::DuplicateName(_))
        ));
        // The private number token parses as a number, not as a hidden duplicate...
        let token = r#"{"n":{"$serde_json::private::Number":"12"},"m":{"k":1}}"#;
        assert!(parse(token.as_bytes()).is_ok());
        // ... and cannot shift the counts so that a duplicate after it goes unseen.
        let shifted = r#"[{"$serde_json::private::Number":"1"},{"a":1,"a":2}]"#;
        assert!(matches!(
            parse(shifted.as_bytes()),
            Err(IJsonError::DuplicateName(_))
        ));
    }

    fn object_with_names() -> impl Strategy<Value = Vec<String>> {
        prop::collection::vec("[a-c]{1,2}", 0..8)
    }

    proptest! {
        /// Refused exactly when a name repeats, as a set of the names says.
        #[test]
        fn refused_iff_a_name_repeats(names in object_with_names()) {
            let members: Vec<String> =
                names.iter().enumerate().map(|(i, n)| format!("\"{n}\":{i}")).collect();
            let text = format!("{{\"o\":{{{}}}}}", members.join(","));
            let distinct = names.iter().collect::<std::collections::BTreeSet<_>>().len();
            let repeats = distinct != names.len();
            prop_assert_eq!(check(text.as_bytes()).is_err(), repeats, "{}", text);
        }
    }
}
