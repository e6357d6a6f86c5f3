//! Calendar arithmetic on the days a record names, as written in the region.

use time::Date;

use crate::model::FhirTime;

/// Completed calendar months from `from` to `to` (negative when `to` is earlier): an age in
/// months, or the length of a stretch of enrolment.
pub fn completed_months(from: Date, to: Date) -> i32 {
    let months = (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32;
    if to.day() < from.day() {
        months - 1
    } else {
        months
    }
}

/// `day` + `months` calendar months, the day clamped to the target month's length.
pub fn add_months(day: Date, months: i32) -> Option<Date> {
    let total = day.year() * 12 + day.month() as i32 - 1 + months;
    let (year, month) = (total.div_euclid(12), (total.rem_euclid(12) + 1) as u8);
    let month = time::Month::try_from(month).ok()?;
    let last = time::util::days_in_month(month, year);
    Date::from_calendar_date(year, month, day.day().min(last)).ok()
}

/// The first and last calendar day a FHIR time can denote, read from the text as written
/// (its own UTC offset, not UTC): a visit at 07:00 +08:00 is on that day in the region even
/// though it is the previous day in UTC, and "2024-03" may be any day of March.
pub fn local_span(t: &FhirTime) -> (Date, Date) {
    let fallback = (t.date(), t.date());
    let text = t.text.as_str();
    let num = |r: std::ops::Range<usize>| text.get(r).and_then(|s| s.parse::<i32>().ok());
    let Some(year) = num(0..4) else {
        return fallback;
    };
    let month = |m: i32| {
        u8::try_from(m)
            .ok()
            .and_then(|m| time::Month::try_from(m).ok())
    };
    let span = match (num(5..7).and_then(month), num(8..10)) {
        (None, _) => Date::from_calendar_date(year, time::Month::January, 1)
            .ok()
            .zip(Date::from_calendar_date(year, time::Month::December, 31).ok()),
        (Some(m), None) => Date::from_calendar_date(year, m, 1)
            .ok()
            .zip(Date::from_calendar_date(year, m, time::util::days_in_month(m, year)).ok()),
        (Some(m), Some(d)) => u8::try_from(d)
            .ok()
            .and_then(|d| Date::from_calendar_date(year, m, d).ok())
            .map(|d| (d, d)),
    };
    span.unwrap_or(fallback)
}

/// The calendar day a FHIR time names as written (the first, for a partial date).
pub fn local_day(t: &FhirTime) -> Date {
    local_span(t).0
}
