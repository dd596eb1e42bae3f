//! A calendar day in the API: an RFC 3339 `full-date` such as `2026-04-01`,
//! documented with OpenAPI's `date` format, which generators read (chrono's
//! own poem-openapi type documents a `naive-date` format no one knows).

use std::borrow::Cow;

use chrono::NaiveDate;
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Day(pub NaiveDate);

const FORMAT: &str = "%Y-%m-%d";

impl Day {
    /// `YYYY-MM-DD` exactly: four-digit years only, as `full-date` has them.
    pub fn parse(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        let shaped = b.len() == 10
            && b[4] == b'-'
            && b[7] == b'-'
            && b.iter()
                .enumerate()
                .all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit());
        if !shaped {
            return None;
        }
        NaiveDate::parse_from_str(text, FORMAT).ok().map(Self)
    }
}

impl Type for Day {
    const IS_REQUIRED: bool = true;
    type RawValueType = Self;
    type RawElementValueType = Self;

    fn name() -> Cow<'static, str> {
        "string_date".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "date")))
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

impl ParseFromJSON for Day {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(text)) => Self::parse(&text)
                .ok_or_else(|| ParseError::custom("expected a date such as 2026-04-01")),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl ToJSON for Day {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.format(FORMAT).to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_full_dates_are_days() {
        assert_eq!(
            Day::parse("2026-04-01").map(|d| d.0),
            NaiveDate::from_ymd_opt(2026, 4, 1)
        );
        assert_eq!(
            Day::parse("0001-01-01").and_then(|d| d.to_json()),
            Some(Value::from("0001-01-01"))
        );
        for bad in [
            "2026-4-1",
            "2026-02-30",
            "+2026-04-01",
            "20260401",
            "2026-04-01T00:00:00Z",
            "",
        ] {
            assert!(Day::parse(bad).is_none(), "{bad}");
        }
    }
}
