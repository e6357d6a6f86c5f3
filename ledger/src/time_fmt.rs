//! FHIR date/dateTime/instant values as RFC 3339 UTC timestamps.

use time::format_description::well_known::Rfc3339;
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Normalizes a FHIR `date`, `dateTime` or `instant` to RFC 3339 in UTC. A partial date
/// (`2024`, `2024-03`, `2024-03-05`) stands for the start of that period, in UTC, since FHIR
/// gives it no time zone.
pub fn normalize_fhir_datetime(s: &str) -> Result<String, String> {
    let bad = || format!("'{s}' is not a FHIR date or dateTime");
    let dt = if s.len() > 10 {
        OffsetDateTime::parse(s, &Rfc3339).map_err(|_| bad())?
    } else {
        let mut parts = s.split('-');
        let year: i32 = parts
            .next()
            .filter(|y| y.len() == 4)
            .and_then(|y| y.parse().ok())
            .ok_or_else(bad)?;
        let month = match parts.next() {
            None => Month::January,
            Some(m) if m.len() == 2 => m
                .parse::<u8>()
                .ok()
                .and_then(|m| Month::try_from(m).ok())
                .ok_or_else(bad)?,
            Some(_) => return Err(bad()),
        };
        let day = match parts.next() {
            None => 1,
            Some(d) if d.len() == 2 => d.parse::<u8>().map_err(|_| bad())?,
            Some(_) => return Err(bad()),
        };
        if parts.next().is_some() {
            return Err(bad());
        }
        let date = Date::from_calendar_date(year, month, day).map_err(|_| bad())?;
        PrimitiveDateTime::new(date, Time::MIDNIGHT).assume_offset(UtcOffset::UTC)
    };
    format_utc(dt).map_err(|_| bad())
}

/// RFC 3339 in UTC with a `Z`, as every timestamp in an envelope is written.
pub fn format_utc(t: OffsetDateTime) -> Result<String, time::error::Format> {
    t.to_offset(UtcOffset::UTC).format(&Rfc3339)
}

#[cfg(test)]
mod tests {
    use super::normalize_fhir_datetime as n;

    #[test]
    fn partial_and_full_forms() {
        assert_eq!(n("2024").as_deref(), Ok("2024-01-01T00:00:00Z"));
        assert_eq!(n("2024-03").as_deref(), Ok("2024-03-01T00:00:00Z"));
        assert_eq!(n("2024-03-05").as_deref(), Ok("2024-03-05T00:00:00Z"));
        assert_eq!(
            n("2024-03-05T08:30:00+08:00").as_deref(),
            Ok("2024-03-05T00:30:00Z")
        );
        assert_eq!(
            n("2013-04-02T09:30:10.125Z").as_deref(),
            Ok("2013-04-02T09:30:10.125Z")
        );
        for bad in [
            "",
            "24",
            "2024-13",
            "2024-02-30",
            "2024-3-5",
            "yesterday",
            "2024-03-05T08:30",
        ] {
            assert!(n(bad).is_err(), "{bad}");
        }
    }
}
