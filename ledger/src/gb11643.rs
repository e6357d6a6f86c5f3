//! The Chinese resident identity number of GB 11643-1999 (公民身份号码).
//!
//! Layout of the 18 characters, numbered 1–18 as the standard does:
//! 1–6 area code (GB/T 2260), 7–14 birth date `YYYYMMDD`, 15–17 sequence (odd for male, even
//! for female), 18 the ISO 7064 MOD 11-2 check character, where `X` stands for 10.
//!
//! The number is the key of the resident pseudonym, so [`normalize`] must be applied before it
//! is hashed: the same person must never get two pseudonyms for `…002x` and `…002X`.

use time::{Date, Month};

/// Weights of characters 1–17: 2^(18-i) mod 11.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];

/// Check character indexed by the weighted sum mod 11.
const CHECK_CHARS: &[u8; 11] = b"10X98765432";

/// Sex encoded by the parity of the 17th character.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sex {
    Male,
    Female,
}

/// The facts a valid identity number carries.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResidentId {
    /// The six-digit area code of the place the number was issued for. It is not checked
    /// against GB/T 2260: codes of abolished counties stay valid on numbers issued before.
    pub area: String,
    pub birth_date: Date,
    pub sex: Sex,
}

/// Why a string is not a valid identity number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Gb11643Error {
    #[error("an identity number has 18 characters")]
    WrongLength,
    /// `position` counts from 1, as GB 11643 numbers the characters. At position 18 the
    /// character is neither a digit nor `X`.
    #[error("character {position} of the identity number is not a digit")]
    NotDigits { position: usize },
    #[error("characters 7-14 of the identity number are not a calendar date")]
    BadBirthDate,
    #[error("identity number check character is {got}, expected {expected}")]
    BadCheckChar { expected: char, got: char },
}

/// The ISO 7064 MOD 11-2 check character of the first 17 characters, given as ASCII digits.
///
/// Bytes that are not ASCII digits give a meaningless character rather than a panic; [`parse`]
/// rejects them before it gets here.
pub fn check_char(first17: &[u8; 17]) -> char {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(&b, w)| u32::from(b.wrapping_sub(b'0')) * w)
        .sum();
    // `sum % 11` is below 11, so the index is in bounds.
    char::from(CHECK_CHARS[(sum % 11) as usize])
}

/// Trims surrounding whitespace and upper-cases the check character `x`, the two differences
/// between how people type a number and how it is printed on the card.
pub fn normalize(id: &str) -> String {
    id.trim().replace('x', "X")
}

/// Checks an identity number and returns what it encodes.
///
/// The input must already be the 18 characters: surrounding whitespace is an error here (call
/// [`normalize`] first). A lower-case `x` check character is accepted, since it denotes the
/// same number.
pub fn parse(id: &str) -> Result<ResidentId, Gb11643Error> {
    if id.chars().count() != 18 {
        return Err(Gb11643Error::WrongLength);
    }
    // 18 chars that are all ASCII are 18 bytes; any non-ASCII char is caught as a non-digit
    // before a byte index could split it.
    if let Some((i, _)) = id
        .char_indices()
        .take(17)
        .find(|(_, c)| !c.is_ascii_digit())
    {
        return Err(Gb11643Error::NotDigits {
            position: id[..i].chars().count() + 1,
        });
    }
    let bytes = id.as_bytes();
    let mut first17 = [0u8; 17];
    first17.copy_from_slice(&bytes[..17]);
    let got = match id[17..].chars().next() {
        Some(c @ '0'..='9') => c,
        Some('X' | 'x') => 'X',
        _ => return Err(Gb11643Error::NotDigits { position: 18 }),
    };
    let expected = check_char(&first17);
    if got != expected {
        return Err(Gb11643Error::BadCheckChar { expected, got });
    }
    let birth_date = birth_date(&first17[6..14]).ok_or(Gb11643Error::BadBirthDate)?;
    let sex = if (first17[16] - b'0') % 2 == 1 {
        Sex::Male
    } else {
        Sex::Female
    };
    Ok(ResidentId {
        area: id[..6].to_owned(),
        birth_date,
        sex,
    })
}

/// Builds the valid identity number for an area, a birth date and a three-digit sequence
/// number. The caller chooses the sequence's parity, and with it the sex the number encodes.
///
/// # Panics
///
/// If `area` is not six ASCII digits, `sequence` is above 999, or the year of `birth_date` is
/// outside 0–9999: such a number cannot be written in 18 characters.
pub fn make(area: &str, birth_date: Date, sequence: u16) -> String {
    assert!(
        area.len() == 6 && area.bytes().all(|b| b.is_ascii_digit()),
        "GB 11643 area code must be six digits, got {area:?}"
    );
    assert!(
        sequence <= 999,
        "GB 11643 sequence must be 0-999, got {sequence}"
    );
    assert!(
        (0..=9999).contains(&birth_date.year()),
        "GB 11643 birth year must have four digits, got {}",
        birth_date.year()
    );
    let first17 = format!(
        "{area}{:04}{:02}{:02}{sequence:03}",
        birth_date.year(),
        u8::from(birth_date.month()),
        birth_date.day()
    );
    let mut digits = [0u8; 17];
    digits.copy_from_slice(first17.as_bytes());
    let mut id = first17;
    id.push(check_char(&digits));
    id
}

/// Reads `YYYYMMDD` from eight ASCII digits.
fn birth_date(digits: &[u8]) -> Option<Date> {
    let num = |range: std::ops::Range<usize>| {
        digits[range]
            .iter()
            .fold(0u32, |acc, &b| acc * 10 + u32::from(b - b'0'))
    };
    let year = i32::try_from(num(0..4)).ok()?;
    let month = Month::try_from(u8::try_from(num(4..6)).ok()?).ok()?;
    let day = u8::try_from(num(6..8)).ok()?;
    Date::from_calendar_date(year, month, day).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use time::macros::date;

    #[test]
    fn domain_example_has_wrong_check_char() {
        assert_eq!(
            parse("110105194912310021"),
            Err(Gb11643Error::BadCheckChar {
                expected: 'X',
                got: '1'
            })
        );
        let first17: &[u8; 17] = b"11010519491231002";
        assert_eq!(check_char(first17), 'X');
    }

    #[test]
    fn known_valid_ids() {
        // The two examples printed in GB 11643-1999 itself.
        let id = parse("11010519491231002X").expect("standard's example is valid");
        assert_eq!(
            id,
            ResidentId {
                area: "110105".into(),
                birth_date: date!(1949 - 12 - 31),
                sex: Sex::Female,
            }
        );
        let id = parse("440524188001010014").expect("standard's example is valid");
        assert_eq!(id.area, "440524");
        assert_eq!(id.birth_date, date!(1880 - 01 - 01));
        assert_eq!(id.sex, Sex::Male);
        // A leap day, and check characters 2 and 0 (computed independently of this code).
        let id = parse("110108200002290012").expect("valid leap-day id");
        assert_eq!(id.birth_date, date!(2000 - 02 - 29));
        assert_eq!(id.sex, Sex::Male);
        let id = parse("110108200002290020").expect("valid leap-day id");
        assert_eq!(id.sex, Sex::Female);
        assert!(parse("310115198507160054").is_ok());
        assert!(parse("31011519850716029X").is_ok());
    }

    #[test]
    fn lower_case_x_and_normalize() {
        assert!(parse("11010519491231002x").is_ok());
        assert_eq!(normalize("  11010519491231002x\n"), "11010519491231002X");
        assert_eq!(parse(" 11010519491231002X"), Err(Gb11643Error::WrongLength));
    }

    #[test]
    fn structural_errors() {
        assert_eq!(parse(""), Err(Gb11643Error::WrongLength));
        assert_eq!(parse("11010519491231002"), Err(Gb11643Error::WrongLength));
        assert_eq!(parse("11010519491231002X1"), Err(Gb11643Error::WrongLength));
        assert_eq!(
            parse("1101051949123100X2"),
            Err(Gb11643Error::NotDigits { position: 17 })
        );
        assert_eq!(
            parse("11010519491231002Y"),
            Err(Gb11643Error::NotDigits { position: 18 })
        );
        // Eighteen characters, one of them three bytes long.
        assert_eq!(
            parse("11010５19491231002X"),
            Err(Gb11643Error::NotDigits { position: 6 })
        );
        // February 30th, with the check character made right so only the date is wrong.
        let bad = make_unchecked("110105", "19490230", "002");
        assert_eq!(parse(&bad), Err(Gb11643Error::BadBirthDate));
        let bad = make_unchecked("110105", "19491300", "002");
        assert_eq!(parse(&bad), Err(Gb11643Error::BadBirthDate));
    }

    #[test]
    fn make_matches_examples() {
        assert_eq!(
            make("110105", date!(1949 - 12 - 31), 2),
            "11010519491231002X"
        );
        assert_eq!(
            make("440524", date!(1880 - 01 - 01), 1),
            "440524188001010014"
        );
    }

    fn make_unchecked(area: &str, date: &str, seq: &str) -> String {
        let first17 = format!("{area}{date}{seq}");
        let mut digits = [0u8; 17];
        digits.copy_from_slice(first17.as_bytes());
        format!("{first17}{}", check_char(&digits))
    }

    fn arb_date() -> impl Strategy<Value = Date> {
        // Julian days of 1800-01-01 ..= 2100-12-31.
        (2_378_497i32..=2_488_434).prop_map(|jd| {
            Date::from_julian_day(jd).expect("julian day range lies inside time's Date range")
        })
    }

    proptest! {
        #[test]
        fn make_then_parse_round_trips(
            area in "[0-9]{6}",
            birth in arb_date(),
            sequence in 0u16..=999,
        ) {
            let id = make(&area, birth, sequence);
            prop_assert_eq!(id.len(), 18);
            let parsed = parse(&id).expect("make builds valid ids");
            prop_assert_eq!(parsed.area, area);
            prop_assert_eq!(parsed.birth_date, birth);
            let sex = if sequence % 2 == 1 { Sex::Male } else { Sex::Female };
            prop_assert_eq!(parsed.sex, sex);
        }

        #[test]
        fn any_single_character_change_is_rejected(
            area in "[0-9]{6}",
            birth in arb_date(),
            sequence in 0u16..=999,
            position in 0usize..18,
            replacement in prop::sample::select(b"0123456789X".to_vec()),
        ) {
            let id = make(&area, birth, sequence);
            let mut bytes = id.clone().into_bytes();
            // X is only a legal character at the check position; elsewhere use a digit.
            let replacement = if position < 17 && replacement == b'X' { b'0' } else { replacement };
            prop_assume!(bytes[position] != replacement);
            bytes[position] = replacement;
            let changed = String::from_utf8(bytes).expect("ASCII stays UTF-8");
            prop_assert!(parse(&changed).is_err(), "{} -> {} accepted", id, changed);
        }
    }
}
