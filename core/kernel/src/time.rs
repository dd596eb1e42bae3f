//! Times are UTC and stored as fixed-width RFC 3339 text, so that text order is
//! time order on both database backends.

use chrono::{DateTime, SecondsFormat, Utc};

pub type Timestamp = DateTime<Utc>;

/// Now, to the microsecond (what the database keeps).
pub fn now() -> Timestamp {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap_or(now)
}

/// The stored form: `2026-11-28T17:53:32.123456Z`.
pub fn to_db(time: Timestamp) -> String {
    time.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Whether a client-given time fits the stored form: years 1970 to 9999
/// (a five-digit year would break the fixed width, and with it the order).
pub fn storable(time: Timestamp) -> bool {
    use chrono::Datelike;
    (1970..=9999).contains(&time.year())
}

/// Reads a stored time; repositories map a failure to a corrupt-row error.
pub fn from_db(text: &str) -> Result<Timestamp, chrono::ParseError> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_text_round_trips_and_sorts_by_time() {
        let a = now();
        let b = a + chrono::Duration::milliseconds(1500);
        assert_eq!(from_db(&to_db(a)).unwrap(), a);
        assert!(to_db(a) < to_db(b));
        assert_eq!(to_db(a).len(), to_db(b).len());
    }
}
