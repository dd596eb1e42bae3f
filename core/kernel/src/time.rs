//! Times are UTC and stored as fixed-width RFC 3339 text, so that text order is
//! time order on both database backends.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseFromJSON, ParseFromParameter, ParseResult, ToJSON, Type};
use serde_json::Value;

pub type Timestamp = DateTime<Utc>;

/// Now by the system clock, to the microsecond (what the database keeps).
/// Services read [`Clock::now`] of the kernel instead, so tests can move it.
pub fn now() -> Timestamp {
    truncate(Utc::now())
}

fn truncate(time: Timestamp) -> Timestamp {
    DateTime::from_timestamp_micros(time.timestamp_micros()).unwrap_or(time)
}

/// The server's time source, shared by every clone: the system clock plus
/// an offset that only tests move ([`Clock::advance`]), so a test that needs
/// a second to pass skips it instead of sleeping, while time still runs
/// forward between requests as it does in production.
#[derive(Clone, Debug, Default)]
pub struct Clock {
    offset_micros: Arc<AtomicI64>,
    /// Wakes [`Clock::sleep`]ers when a test moves the clock.
    advanced: Arc<tokio::sync::Notify>,
}

impl Clock {
    /// The system clock, not moved.
    pub fn system() -> Self {
        Self::default()
    }

    /// Now, to the microsecond.
    pub fn now(&self) -> Timestamp {
        let offset = chrono::Duration::microseconds(self.offset_micros.load(Ordering::Relaxed));
        truncate(Utc::now() + offset)
    }

    /// Moves this clock (and every clone of it) forward by `by`, waking
    /// whatever sleeps on it.
    pub fn advance(&self, by: chrono::Duration) {
        let micros = by.num_microseconds().unwrap_or(i64::MAX);
        self.offset_micros.fetch_add(micros, Ordering::Relaxed);
        self.advanced.notify_waiters();
    }

    /// Waits until this clock has moved `by` forward: by real time passing,
    /// or sooner when a test advances it (a heartbeat then beats at once,
    /// as it would have by then in production).
    pub async fn sleep(&self, by: std::time::Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX);
        self.sleep_until(self.now() + by).await;
    }

    /// Waits until this clock reads `deadline` or later.
    pub async fn sleep_until(&self, deadline: Timestamp) {
        loop {
            // Listen before reading the time, so an advance in between still wakes us.
            let advanced = self.advanced.notified();
            tokio::pin!(advanced);
            advanced.as_mut().enable();
            let Ok(left) = (deadline - self.now()).to_std() else {
                return;
            };
            if left.is_zero() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(left) => {}
                () = advanced => {}
            }
        }
    }
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

/// A time a client sends, which the server stores: RFC 3339 in UTC (`Z`)
/// with a year from 1970 to 9999 (a stored time must sort as text). The
/// server also reads other offsets and answers 422 for a year out of range
/// once in UTC; the document promises only what always holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct StorableTime(pub Timestamp);

/// Keep in step with [`storable`].
const STORABLE_TIME: &str = r"^(19[7-9][0-9]|[2-9][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])[Tt]([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,9})?([Zz]|\+00:00)$";

impl Type for StorableTime {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date-time_storable".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            pattern: Some(STORABLE_TIME.into()),
            ..MetaSchema::new_with_format("string", "date-time")
        }))
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        Some(self)
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        Box::new(self.as_raw_value().into_iter())
    }
}

impl ParseFromJSON for StorableTime {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        Timestamp::parse_from_json(value)
            .map(Self)
            .map_err(poem_openapi::types::ParseError::propagate)
    }
}

impl ParseFromParameter for StorableTime {
    fn parse_from_parameter(value: &str) -> ParseResult<Self> {
        Timestamp::parse_from_parameter(value)
            .map(Self)
            .map_err(poem_openapi::types::ParseError::propagate)
    }
}

impl ToJSON for StorableTime {
    fn to_json(&self) -> Option<Value> {
        self.0.to_json()
    }
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

    #[test]
    fn an_advanced_clock_moves_every_clone() {
        let clock = Clock::system();
        let other = clock.clone();
        let before = other.now();
        clock.advance(chrono::Duration::hours(1));
        assert!(other.now() - before >= chrono::Duration::hours(1));
        assert!(Clock::system().now() - before < chrono::Duration::hours(1));
    }

    #[tokio::test]
    async fn a_sleep_ends_when_the_clock_is_advanced_past_it() {
        let clock = Clock::system();
        let sleep = clock.sleep(std::time::Duration::from_secs(3600));
        tokio::pin!(sleep);
        assert!(futures::poll!(sleep.as_mut()).is_pending());
        // An advance too short leaves it asleep; one past the hour ends it.
        clock.advance(chrono::Duration::minutes(30));
        assert!(futures::poll!(sleep.as_mut()).is_pending());
        clock.advance(chrono::Duration::minutes(31));
        tokio::time::timeout(std::time::Duration::from_secs(30), sleep)
            .await
            .expect("the sleep ended");
    }

    #[test]
    fn documented_times_are_read_and_storable() {
        let pattern = regex_lite(STORABLE_TIME);
        for text in [
            "1970-01-01T00:00:00Z",
            "2026-03-02t10:15:00.123456789z",
            "9999-12-31T23:59:59+00:00",
        ] {
            assert!(pattern(text), "{text}");
            let time = StorableTime::parse_from_parameter(text).unwrap();
            assert!(storable(time.0), "{text}");
        }
        for text in [
            "1969-12-31T23:59:59Z",
            "2026-03-02T10:15:00+01:00",
            "2026-03-02",
        ] {
            assert!(!pattern(text), "{text}");
        }
    }

    /// The pattern as the server's validators read patterns (the `regex` crate).
    fn regex_lite(pattern: &str) -> impl Fn(&str) -> bool {
        let re = regex::Regex::new(pattern).unwrap();
        move |text| re.is_match(text)
    }
}
