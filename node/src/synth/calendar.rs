//! Dates as the generator reasons about them (ages, months later, clinic times) and as FHIR
//! writes them.

use time::{Date, Month};

/// A time of day at the institution, in minutes after midnight, UTC+8.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct At {
    pub(super) date: Date,
    pub(super) minute: u16,
}

impl At {
    pub(super) fn plus(self, minutes: u16) -> At {
        At {
            date: self.date,
            minute: (self.minute + minutes).min(23 * 60 + 59),
        }
    }

    pub(super) fn fhir(self) -> String {
        format!(
            "{}T{:02}:{:02}:00+08:00",
            fhir_date(self.date),
            self.minute / 60,
            self.minute % 60
        )
    }
}

pub(super) fn fhir_date(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

/// Completed years from `birth` to `on`.
pub(super) fn age_years(birth: Date, on: Date) -> i32 {
    let before_birthday = (on.month(), on.day()) < (birth.month(), birth.day());
    on.year() - birth.year() - i32::from(before_birthday)
}

/// The same day `months` later, or the month's last day when it is shorter (31 Jan + 1 month
/// is 28/29 Feb).
pub(super) fn add_months(d: Date, months: u32) -> Date {
    let index = d.year() * 12 + i32::from(u8::from(d.month())) - 1 + months as i32;
    let year = index.div_euclid(12);
    let month = Month::January.nth_next(index.rem_euclid(12) as u8);
    let day = d.day().min(month.length(year));
    // The day is clamped to the month and the year stays within the supported range.
    Date::from_calendar_date(year, month, day).expect("clamped calendar date is valid")
}

/// The day a resident born on `birth` has completed `months` months of age: the same day of
/// the month, or the 1st of the next month when that month is too short (born 29 Feb, 65 years
/// are completed on 1 Mar, not on 28 Feb).
pub(super) fn age_reached(birth: Date, months: u32) -> Date {
    let d = add_months(birth, months);
    if d.day() < birth.day() {
        d + time::Duration::days(1)
    } else {
        d
    }
}
