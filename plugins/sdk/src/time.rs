//! Plugins have no clock: times arrive as [`Timestamp`](crate::Timestamp)s,
//! whole seconds since the Unix epoch. These helpers do the arithmetic and
//! print them.

pub const MINUTE: i64 = 60;
pub const HOUR: i64 = 60 * MINUTE;
pub const DAY: i64 = 24 * HOUR;

/// `2026-11-29T10:15:00Z`.
pub fn rfc3339(timestamp: i64) -> String {
    let (date, seconds) = (timestamp.div_euclid(DAY), timestamp.rem_euclid(DAY));
    let (year, month, day) = civil_from_days(date);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        seconds / HOUR,
        seconds % HOUR / MINUTE,
        seconds % MINUTE
    )
}

/// `2026-11-29`.
pub fn date(timestamp: i64) -> String {
    let (year, month, day) = civil_from_days(timestamp.div_euclid(DAY));
    format!("{year:04}-{month:02}-{day:02}")
}

/// Days since 1970-01-01 to a proleptic Gregorian date, by Howard Hinnant's
/// published `civil_from_days` algorithm (400-year eras).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_known_instants() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(rfc3339(1_795_860_900), "2026-11-28T10:15:00Z");
        assert_eq!(date(-1), "1969-12-31");
    }
}
