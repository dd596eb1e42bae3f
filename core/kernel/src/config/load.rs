//! Loading: the layers, `AEGIS_*` variables (and `AEGIS_*_FILE` secrets),
//! one-line errors and warnings about variables that match no setting.

use std::path::Path;

use figment::Figment;
use figment::providers::{Format, Serialized, Toml};

use super::{ConfigError, SectionSpec, Sections, Settings};

/// Environment variable prefix of every setting.
pub const ENV_PREFIX: &str = "AEGIS_";
/// Variables that steer loading itself and are not settings.
const LOADER_VARIABLES: [&str; 1] = ["CONFIG_DIR"];

/// Settings plus what the loader noticed, to be logged once tracing runs.
#[derive(Debug)]
pub struct Loaded {
    pub settings: Settings,
    pub warnings: Vec<String>,
}

impl Settings {
    /// Loads every layer from `config_dir` and the process environment, and
    /// checks the infrastructure and each of `sections` (the modules' own).
    pub fn load(config_dir: &Path, sections: &[SectionSpec]) -> Result<Loaded, ConfigError> {
        let vars: Vec<(String, String)> = std::env::vars().collect();
        Self::load_from(config_dir, &vars, sections)
    }

    /// [`Settings::load`] with the environment given explicitly (tests).
    pub fn load_from(
        config_dir: &Path,
        vars: &[(String, String)],
        sections: &[SectionSpec],
    ) -> Result<Loaded, ConfigError> {
        let env_name = vars
            .iter()
            .find(|(k, _)| k == "AEGIS_ENV")
            .map(|(_, v)| v.trim().to_ascii_lowercase())
            .unwrap_or_else(|| "development".into());
        if env_name != "development" && env_name != "production" {
            return Err(ConfigError(format!(
                "AEGIS_ENV: expected `development` or `production`, found `{env_name}`"
            )));
        }

        let mut figment = Figment::from(Serialized::defaults(Settings::default()))
            .merge(Toml::file(config_dir.join("default.toml")))
            .merge(Toml::file(config_dir.join(format!("{env_name}.toml"))));

        let mut env_keys = Vec::new();
        for (name, value) in vars {
            let Some(rest) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            if LOADER_VARIABLES.contains(&rest) {
                continue;
            }
            match rest.strip_suffix("_FILE") {
                Some(target) => {
                    let content = std::fs::read_to_string(value)
                        .map_err(|e| ConfigError(format!("{name}: cannot read `{value}`: {e}")))?;
                    let key = env_key_path(target);
                    figment = figment.merge(Serialized::default(&key, content.trim().to_owned()));
                    env_keys.push((name.clone(), key));
                }
                None => env_keys.push((name.clone(), env_key_path(rest))),
            }
        }
        // Variables are merged from `vars`, not read by figment's `Env`, so tests
        // can load settings without touching the process environment.
        for (name, value) in vars {
            if let Some(rest) = name.strip_prefix(ENV_PREFIX)
                && !rest.ends_with("_FILE")
                && !LOADER_VARIABLES.contains(&rest)
            {
                figment = figment.merge(Serialized::default(
                    &env_key_path(rest),
                    parse_env_value(value),
                ));
            }
        }

        let mut settings: Settings = figment
            .extract()
            .map_err(|e| ConfigError(one_line("", &e)))?;
        let mut layered: figment::value::Dict = figment
            .extract()
            .map_err(|e| ConfigError(one_line("", &e)))?;
        if let Ok(serde_json::Value::Object(infrastructure)) =
            serde_json::to_value(Settings::default())
        {
            layered.retain(|key, _| !infrastructure.contains_key(key));
        }
        settings.sections = Sections::new(layered);
        settings.validate()?;
        for section in sections {
            section.check(&settings)?;
        }
        let warnings = unknown_keys(&env_keys, sections);
        Ok(Loaded { settings, warnings })
    }
}

fn env_key_path(rest: &str) -> String {
    rest.split("__")
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join(".")
}

/// Environment values are typed like figment's own `Env` does: numbers,
/// booleans and `[a, b]` arrays; everything else is a string.
fn parse_env_value(raw: &str) -> figment::value::Value {
    match raw.parse::<figment::value::Value>() {
        Ok(value) => value,
        Err(never) => match never {},
    }
}

/// One line naming the variable; `section` is the table the error's path is
/// relative to (empty for the infrastructure).
pub(super) fn one_line(section: &str, error: &figment::Error) -> String {
    let mut text = error.to_string().replace('\n', " ");
    if let Some(first) = error.clone().into_iter().next()
        && let Some(path) = first.path.last()
    {
        let full: Vec<&str> = std::iter::once(section)
            .filter(|s| !s.is_empty())
            .chain(first.path.iter().map(String::as_str))
            .collect();
        let var = format!("{ENV_PREFIX}{}", full.join("__").to_ascii_uppercase());
        text = format!("{var} ({path}): {}", first.kind);
    } else if !section.is_empty() {
        text = format!("{ENV_PREFIX}{}: {text}", section.to_ascii_uppercase());
    }
    text
}

/// `AEGIS_*` variables that match no setting: probably a typo worth a warning.
fn unknown_keys(env_keys: &[(String, String)], sections: &[SectionSpec]) -> Vec<String> {
    let mut known = serde_json::to_value(Settings::default()).unwrap_or_default();
    let defaults = Settings::default();
    if let serde_json::Value::Object(map) = &mut known {
        for section in sections {
            if let Ok(value) = section.effective(&defaults) {
                map.insert(section.name.to_owned(), value);
            }
        }
    }
    env_keys
        .iter()
        .filter(|(_, key)| !key_is_known(&known, key))
        .map(|(var, _)| format!("unknown setting {var} is ignored"))
        .collect()
}

fn key_is_known(known: &serde_json::Value, key: &str) -> bool {
    let mut node = known;
    for (depth, part) in key.split('.').enumerate() {
        if depth == 1 && key.starts_with("jobs.") {
            return true;
        }
        match node.get(part) {
            Some(next) => node = next,
            None => return false,
        }
    }
    true
}
