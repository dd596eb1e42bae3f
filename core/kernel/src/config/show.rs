//! `aegis config`: the effective settings as TOML, secrets redacted.

use super::{ConfigError, SectionSpec, Settings};

impl Settings {
    /// The effective settings, infrastructure then each of `sections`, as
    /// TOML with secrets and URL passwords redacted (`aegis config`).
    pub fn to_redacted_toml(&self, sections: &[SectionSpec]) -> Result<String, ConfigError> {
        let mut value = serde_json::to_value(self).unwrap_or_default();
        if let serde_json::Value::Object(map) = &mut value {
            for section in sections {
                map.insert(section.name.to_owned(), section.effective(self)?);
            }
        }
        redact_urls(&mut value);
        Ok(toml_lines(&value))
    }
}

/// Every URL in the tree loses its password (database, Redis, a bundle source…).
fn redact_urls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::String(text) if text.contains("://") => {
            *text = redact_url_password(text);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_urls),
        serde_json::Value::Object(map) => map.values_mut().for_each(redact_urls),
        _ => {}
    }
}

/// `postgres://user:pw@host/db` → `postgres://user:[redacted]@host/db`.
pub fn redact_url_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return url.to_owned();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:[redacted]@{host}"),
        None => url.to_owned(),
    }
}

fn toml_lines(value: &serde_json::Value) -> String {
    fn scalar(v: &serde_json::Value) -> String {
        match v {
            serde_json::Value::Null => "# unset".into(),
            other => other.to_string(),
        }
    }
    fn walk(prefix: &str, value: &serde_json::Value, out: &mut String) {
        let serde_json::Value::Object(map) = value else {
            return;
        };
        let mut tables = Vec::new();
        for (k, v) in map {
            if v.is_object() {
                tables.push((k, v));
            } else if v.is_null() {
                out.push_str(&format!("# {k} = (unset)\n"));
            } else {
                out.push_str(&format!("{k} = {}\n", scalar(v)));
            }
        }
        for (k, v) in tables {
            let name = if prefix.is_empty() {
                k.clone()
            } else {
                format!("{prefix}.{k}")
            };
            out.push_str(&format!("\n[{name}]\n"));
            walk(&name, v, out);
        }
    }
    let mut out = String::new();
    walk("", value, &mut out);
    out
}
