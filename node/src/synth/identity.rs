//! Resident identity numbers (GB 11643) that are unique within a population by construction.
//!
//! The number is the key of the resident pseudonym, so two residents sharing one would be
//! merged into one person and raise a bogus identity conflict; drawn at random, numbers
//! collided about 5 times in 20,000 residents. Instead resident `n` gets an (area code,
//! sequence slot) pair that no other resident gets, so numbers differ whatever birth dates the
//! residents draw.
//!
//! Seven residents in ten were born where they live now and hold a number of the
//! institution's district; the other three were born elsewhere. Every area code's 499 slots
//! are split in about that proportion, so neither group runs out before the other: the
//! locally born fill the district's first 350 slots, then those of the codes after it, and
//! those born elsewhere take the other 149 slots of codes spread over the whole country.

use hl_ledger::gb11643;
use time::Date;

use super::demographics::District;

/// Real province-level codes of GB/T 2260.
const PROVINCES: [u8; 31] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65,
];
/// Prefecture (digits 3–4) and county (digits 5–6) codes run from 01 to these, the ranges
/// most provinces use, including every district of `DISTRICTS`. Not every such code is a real
/// county; the ledger accepts that as it accepts codes of abolished counties (see
/// `gb11643::ResidentId::area`).
const PREFECTURES: usize = 24;
const COUNTIES: usize = 36;
pub(super) const AREAS: usize = PROVINCES.len() * PREFECTURES * COUNTIES;

/// Slot `k` is sequence number `2k + 1` for men and `2k + 2` for women: the parity gives the
/// sex and 000 is never issued.
pub(super) const SLOTS: usize = 499;
const LOCAL_SLOTS: usize = 350;
const LOCAL_PER_TEN: usize = 7;

/// Scatter the locally born over the slots of an area, and those born elsewhere over the
/// provinces, so that neighbours in `n` don't get neighbouring numbers. Each is coprime with
/// the range it permutes.
const LOCAL_SLOT_STEP: usize = 113;
const AREA_STEP: usize = 7919;

/// Residents `0..MAX_RESIDENTS` all get distinct numbers.
pub(super) const MAX_RESIDENTS: usize = 13_000_000;

const _: () = {
    assert!(LOCAL_SLOTS < SLOTS && SLOTS * 2 < 1000);
    assert!(gcd(LOCAL_SLOT_STEP, LOCAL_SLOTS) == 1 && gcd(AREA_STEP, AREAS) == 1);
    // The highest ranks `slot` computes for the residents below MAX_RESIDENTS.
    let blocks = MAX_RESIDENTS.div_ceil(10);
    assert!(blocks * LOCAL_PER_TEN <= LOCAL_SLOTS * AREAS);
    assert!(blocks * (10 - LOCAL_PER_TEN) <= (SLOTS - LOCAL_SLOTS) * AREAS);
};

const fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// The identity number of resident `n`, living in `district`.
///
/// # Panics
///
/// If `n` is not below [`MAX_RESIDENTS`], or `district` is not one of the area codes numbers
/// are issued for (every entry of `DISTRICTS` is).
pub(super) fn id_number(district: &District, n: usize, birth: Date, male: bool) -> String {
    assert!(
        n < MAX_RESIDENTS,
        "resident {n}: identity numbers are unique only below {MAX_RESIDENTS} residents"
    );
    let home = area_index(district.code)
        .unwrap_or_else(|| panic!("district {} is not an issuing area", district.code));
    let (area, k) = slot(home, n);
    // `slot` keeps k below SLOTS, so the sequence is at most 998.
    let sequence = 2 * k as u16 + if male { 1 } else { 2 };
    gb11643::make(&area_code(area), birth, sequence)
}

/// Resident `n`'s area (an index into the issuing areas) and sequence slot. Injective in `n`
/// below [`MAX_RESIDENTS`] for any `home`, which is what makes the numbers unique.
pub(super) fn slot(home: usize, n: usize) -> (usize, usize) {
    let (block, place) = (n / 10, n % 10);
    if place < LOCAL_PER_TEN {
        let rank = block * LOCAL_PER_TEN + place;
        let area = (home + rank / LOCAL_SLOTS) % AREAS;
        let k = rank % LOCAL_SLOTS * LOCAL_SLOT_STEP % LOCAL_SLOTS;
        (area, k)
    } else {
        let rank = block * (10 - LOCAL_PER_TEN) + place - LOCAL_PER_TEN;
        let area = rank % AREAS * AREA_STEP % AREAS;
        (area, LOCAL_SLOTS + rank / AREAS)
    }
}

/// Position of a six-digit area code among the issuing areas, if it is one.
pub(super) fn area_index(code: &str) -> Option<usize> {
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let part = |i: usize| {
        usize::from(code.as_bytes()[i] - b'0') * 10 + usize::from(code.as_bytes()[i + 1] - b'0')
    };
    let province = PROVINCES.iter().position(|&p| usize::from(p) == part(0))?;
    let (prefecture, county) = (part(2), part(4));
    if !(1..=PREFECTURES).contains(&prefecture) || !(1..=COUNTIES).contains(&county) {
        return None;
    }
    Some((province * PREFECTURES + prefecture - 1) * COUNTIES + county - 1)
}

/// The six-digit code at a position of [`area_index`].
pub(super) fn area_code(index: usize) -> String {
    let (province, rest) = (
        index / (PREFECTURES * COUNTIES),
        index % (PREFECTURES * COUNTIES),
    );
    format!(
        "{:02}{:02}{:02}",
        PROVINCES[province],
        rest / COUNTIES + 1,
        rest % COUNTIES + 1
    )
}
