//! A plugin's configuration: JSON the host has validated against the
//! plugin's schema, with typed accessors that fall back to defaults.

use serde_json::{Map, Value};

use crate::PluginError;
use crate::bindings::alert::aegis::plugin::host;

/// A JSON object of settings.
#[derive(Debug, Clone, Default)]
pub struct Config(Map<String, Value>);

impl Config {
    /// Parses configuration text; anything but a JSON object is an
    /// `invalid-config` error.
    pub fn parse(text: &str) -> Result<Self, PluginError> {
        if text.trim().is_empty() {
            return Ok(Self::default());
        }
        match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Ok(Self(map)),
            Ok(_) => Err(PluginError::InvalidConfig("expected a JSON object".into())),
            Err(e) => Err(PluginError::InvalidConfig(e.to_string())),
        }
    }

    /// The configuration an administrator set on the plugin itself.
    pub fn current() -> Result<Self, PluginError> {
        Self::parse(&host::config())
    }

    pub fn u64_or(&self, key: &str, default: u64) -> u64 {
        self.0.get(key).and_then(Value::as_u64).unwrap_or(default)
    }

    pub fn str_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.0.get(key).and_then(Value::as_str).unwrap_or(default)
    }

    pub fn bool_or(&self, key: &str, default: bool) -> bool {
        self.0.get(key).and_then(Value::as_bool).unwrap_or(default)
    }

    /// The raw value, for anything the accessors do not cover.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_an_object_with_defaults_for_what_is_missing() {
        let config = Config::parse(r#"{"hours": 48, "severity": "high", "loud": true}"#)
            .unwrap_or_else(|_| unreachable!("valid configuration"));
        assert_eq!(config.u64_or("hours", 24), 48);
        assert_eq!(config.u64_or("days", 90), 90);
        assert_eq!(config.str_or("severity", "medium"), "high");
        assert!(config.bool_or("loud", false));
        assert_eq!(
            config.str_or("hours", "none"),
            "none",
            "a number is not a string"
        );
    }

    #[test]
    fn empty_text_is_an_empty_configuration() {
        assert!(Config::parse("  ").is_ok());
    }

    #[test]
    fn anything_but_an_object_is_invalid_config() {
        for text in ["[1, 2]", "42", "{not json"] {
            assert!(
                matches!(Config::parse(text), Err(PluginError::InvalidConfig(_))),
                "{text}"
            );
        }
    }
}
