//! The modules' own sections (`[evidence]`, `[mitre]`, `[plugins]`, …). The
//! kernel keeps each table as the layers left it and knows none of them: a
//! module defines its type, implements [`Section`] and reads it with
//! [`Settings::section`]; the composition root lists every module's
//! [`SectionSpec`] so that loading checks them all, unknown variables are
//! warned about against them, and `aegis config` prints them.

use std::fmt;

use figment::Figment;
use figment::providers::Serialized;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::load::one_line;
use super::{ConfigError, Settings};

/// A module's table of settings. Its `Default` is the built-in value of every
/// key; the layers override it key by key, as for the infrastructure.
pub trait Section: Serialize + DeserializeOwned + Default + Send + Sync + 'static {
    /// The table's name, which is also the variables' prefix:
    /// `evidence` is `[evidence]` and `AEGIS_EVIDENCE__*`.
    const NAME: &'static str;

    /// Checks what types alone cannot; the message names the variable.
    fn check(&self) -> Result<(), ConfigError> {
        Ok(())
    }
}

/// The module tables of one process, as layered values.
#[derive(Clone, Default)]
pub struct Sections(figment::value::Dict);

impl Sections {
    pub(super) fn new(layered: figment::value::Dict) -> Self {
        Self(layered)
    }
}

// Names only: a module table may hold a secret that its own type would redact.
impl fmt::Debug for Sections {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl Settings {
    /// A module's section, its defaults overridden by the layers; an error
    /// names the variable in one line.
    pub fn try_section<T: Section>(&self) -> Result<T, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(T::default()));
        if let Some(layered) = self.sections.0.get(T::NAME) {
            figment = figment.merge(Serialized::defaults(layered.clone()));
        }
        let value: T = figment
            .extract()
            .map_err(|e| ConfigError(one_line(T::NAME, &e)))?;
        value.check()?;
        Ok(value)
    }

    /// A module's section. Every listed section is checked when settings are
    /// loaded and again before the modules are composed, so a bad one never
    /// gets here; should it still, the error is logged and the defaults used.
    pub fn section<T: Section>(&self) -> T {
        self.try_section().unwrap_or_else(|error| {
            tracing::error!(%error, section = T::NAME, "using the section's defaults");
            T::default()
        })
    }

    /// Replaces a module's section (tests, tools). Secrets do not survive:
    /// they serialize redacted.
    pub fn set_section<T: Section>(&mut self, value: &T) {
        match figment::value::Value::serialize(value) {
            Ok(value) => {
                self.sections.0.insert(T::NAME.to_owned(), value);
            }
            Err(error) => tracing::error!(%error, section = T::NAME, "section not replaced"),
        }
    }

    /// Changes one module's section in place (tests, tools).
    pub fn update_section<T: Section>(&mut self, change: impl FnOnce(&mut T)) {
        let mut value = self.section::<T>();
        change(&mut value);
        self.set_section(&value);
    }
}

/// A [`Section`] type seen without its type: what loading, the unknown
/// variable check and `aegis config` need to know of every module's table.
#[derive(Clone, Copy)]
pub struct SectionSpec {
    pub name: &'static str,
    check: fn(&Settings) -> Result<(), ConfigError>,
    effective: fn(&Settings) -> Result<serde_json::Value, ConfigError>,
}

impl SectionSpec {
    pub fn of<T: Section>() -> Self {
        Self {
            name: T::NAME,
            check: |settings| settings.try_section::<T>().map(drop),
            effective: |settings| {
                let value = settings.try_section::<T>()?;
                serde_json::to_value(value).map_err(|e| ConfigError(format!("[{}]: {e}", T::NAME)))
            },
        }
    }

    /// Parses and checks this section of `settings`.
    pub fn check(&self, settings: &Settings) -> Result<(), ConfigError> {
        (self.check)(settings)
    }

    /// This section of `settings` as JSON, secrets redacted by their type.
    pub fn effective(&self, settings: &Settings) -> Result<serde_json::Value, ConfigError> {
        (self.effective)(settings)
    }
}

impl fmt::Debug for SectionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SectionSpec").field(&self.name).finish()
    }
}

/// Refuses two modules claiming one table, or a module claiming one of the kernel's.
pub fn check_unique_sections(sections: &[SectionSpec]) -> Result<(), ConfigError> {
    let infrastructure = serde_json::to_value(Settings::default()).unwrap_or_default();
    let mut seen = std::collections::BTreeSet::new();
    for section in sections {
        if infrastructure.get(section.name).is_some() || !seen.insert(section.name) {
            return Err(ConfigError(format!(
                "two owners declare the settings section [{}]",
                section.name
            )));
        }
    }
    Ok(())
}
