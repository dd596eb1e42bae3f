use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::*;

/// A module's section as a module would define it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct Widgets {
    max_bytes: u64,
    names: Vec<String>,
    token: Option<Secret>,
}

impl Default for Widgets {
    fn default() -> Self {
        Self {
            max_bytes: 100,
            names: vec!["a".into()],
            token: None,
        }
    }
}

impl Section for Widgets {
    const NAME: &'static str = "widgets";

    fn check(&self) -> Result<(), ConfigError> {
        if self.max_bytes == 0 {
            return Err(ConfigError(
                "AEGIS_WIDGETS__MAX_BYTES: must be positive".into(),
            ));
        }
        Ok(())
    }
}

fn sections() -> Vec<SectionSpec> {
    vec![SectionSpec::of::<Widgets>()]
}

fn load(vars: &[(&str, &str)]) -> Result<Loaded, ConfigError> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::load_from(Path::new("/nonexistent"), &vars, &sections())
}

#[test]
fn defaults_are_the_embedded_installation() {
    let s = load(&[]).unwrap().settings;
    assert_eq!(s.http.port, 8000);
    assert_eq!(s.http.host, "127.0.0.1");
    assert!(s.database_url().starts_with("sqlite://"));
    assert!(s.redis.url.is_none());
    assert_eq!(s.storage.backend, StorageBackend::Fs);
    assert!(s.docs_enabled());
    assert!(!s.cookie_secure());
    assert_eq!(s.section::<Widgets>(), Widgets::default());
}

#[test]
fn environment_variables_override_nested_keys() {
    let s = load(&[
        ("AEGIS_HTTP__PORT", "9001"),
        ("AEGIS_DATA_DIR", "/tmp/x"),
        ("AEGIS_STORAGE__BACKEND", "s3"),
        ("AEGIS_STORAGE__S3__BUCKET", "evidence"),
        ("AEGIS_ADMIN__PASSWORD", "12345678901"),
        ("AEGIS_AUTH__TOKEN_TTL_MINUTES", "30"),
    ])
    .unwrap()
    .settings;
    assert_eq!(s.http.port, 9001);
    assert_eq!(s.data_dir, PathBuf::from("/tmp/x"));
    assert_eq!(s.storage.backend, StorageBackend::S3);
    assert_eq!(s.storage.s3.bucket, "evidence");
    assert_eq!(s.admin.password.unwrap().expose(), "12345678901");
    assert_eq!(s.auth.token_ttl_minutes, 30);
}

#[test]
fn environment_variables_override_a_module_section_key_by_key() {
    let s = load(&[("AEGIS_WIDGETS__MAX_BYTES", "4096")])
        .unwrap()
        .settings;
    let widgets = s.section::<Widgets>();
    assert_eq!(widgets.max_bytes, 4096);
    assert_eq!(
        widgets.names,
        vec!["a".to_owned()],
        "untouched keys keep their default"
    );
    let s = load(&[("AEGIS_WIDGETS__NAMES", "[x, y]")])
        .unwrap()
        .settings;
    assert_eq!(
        s.section::<Widgets>().names,
        vec!["x".to_owned(), "y".to_owned()]
    );
}

#[test]
fn config_files_layer_module_sections_by_environment() {
    let dir = std::env::temp_dir().join(format!("aegis-config-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("default.toml"),
        "[widgets]\nmax_bytes = 7\nnames = [\"d\"]\n",
    )
    .unwrap();
    std::fs::write(dir.join("production.toml"), "[widgets]\nmax_bytes = 9\n").unwrap();
    let vars = |env: &str| {
        vec![
            ("AEGIS_ENV".to_owned(), env.to_owned()),
            (
                "AEGIS_SECRET_KEY".to_owned(),
                "q8Zr3vN1xL0pT6yW2bK9mF4hJ7cD5sA0".to_owned(),
            ),
        ]
    };
    let dev = Settings::load_from(&dir, &vars("development"), &sections()).unwrap();
    assert_eq!(dev.settings.section::<Widgets>().max_bytes, 7);
    let prod = Settings::load_from(&dir, &vars("production"), &sections()).unwrap();
    let widgets = prod.settings.section::<Widgets>();
    assert_eq!(
        (widgets.max_bytes, widgets.names),
        (9, vec!["d".to_owned()])
    );
    std::fs::remove_dir_all(dir).ok();
}

#[test]
fn a_bad_value_is_one_line_naming_the_key() {
    let err = load(&[("AEGIS_HTTP__PORT", "eighty")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("AEGIS_HTTP__PORT"), "{err}");
    assert!(!err.contains('\n'));
    let err = load(&[("AEGIS_DATABASE__URL", "mysql://x")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("AEGIS_DATABASE__URL"), "{err}");
    let err = load(&[("AEGIS_ENV", "staging")]).unwrap_err().to_string();
    assert!(err.contains("AEGIS_ENV"), "{err}");
    let err = load(&[("AEGIS_STORAGE__BACKEND", "ftp")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("AEGIS_STORAGE__BACKEND"), "{err}");
}

#[test]
fn a_bad_module_value_stops_loading_in_one_line_naming_the_variable() {
    let err = load(&[("AEGIS_WIDGETS__MAX_BYTES", "lots")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("AEGIS_WIDGETS__MAX_BYTES"), "{err}");
    assert!(!err.contains('\n'), "{err}");
    let err = load(&[("AEGIS_WIDGETS__MAX_BYTES", "0")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("AEGIS_WIDGETS__MAX_BYTES"), "{err}");
    assert!(err.contains("positive"), "{err}");
}

#[test]
fn production_needs_a_strong_secret_key() {
    let err = load(&[("AEGIS_ENV", "production")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("AEGIS_SECRET_KEY"), "{err}");
    let err = load(&[
        ("AEGIS_ENV", "production"),
        ("AEGIS_SECRET_KEY", "changeme"),
    ])
    .unwrap_err()
    .to_string();
    assert!(err.contains("too weak"), "{err}");
    let s = load(&[
        ("AEGIS_ENV", "production"),
        ("AEGIS_SECRET_KEY", "q8Zr3vN1xL0pT6yW2bK9mF4hJ7cD5sA0"),
    ])
    .unwrap()
    .settings;
    assert!(s.cookie_secure());
    assert!(!s.docs_enabled());
    assert!(s.json_logs());
}

#[test]
fn secrets_are_redacted_and_typos_warned() {
    let loaded = load(&[
        ("AEGIS_SECRET_KEY", "super-hidden-value"),
        ("AEGIS_HTTP__PROT", "1"),
        (
            "AEGIS_DATABASE__URL",
            "postgres://aegis:db-hidden-pw@db/aegis",
        ),
        ("AEGIS_REDIS__URL", "redis://:redis-hidden-pw@cache:6379"),
        ("AEGIS_WIDGETS__MAX_BYTES", "5"),
        ("AEGIS_WIDGETS__TOKEN", "widget-hidden-token"),
        ("AEGIS_WIDGETS__MAX_BYTE", "5"),
        ("AEGIS_GADGETS__ANY", "5"),
    ])
    .unwrap();
    let shown = loaded.settings.to_redacted_toml(&sections()).unwrap();
    assert!(!shown.contains("super-hidden-value"));
    assert!(
        !shown.contains("db-hidden-pw") && !shown.contains("redis-hidden-pw"),
        "{shown}"
    );
    assert!(
        shown.contains("postgres://aegis:[redacted]@db/aegis"),
        "{shown}"
    );
    assert!(shown.contains("[redacted]"));
    assert!(shown.contains("[widgets]\nmax_bytes = 5\n"), "{shown}");
    assert!(!shown.contains("widget-hidden-token"), "{shown}");
    let debug = format!("{:?}", loaded.settings);
    assert!(debug.contains("[redacted]"));
    assert!(!debug.contains("widget-hidden-token"), "{debug}");
    assert_eq!(loaded.warnings.len(), 3, "{:?}", loaded.warnings);
    assert!(loaded.warnings[0].contains("AEGIS_HTTP__PROT"));
    assert!(loaded.warnings[1].contains("AEGIS_WIDGETS__MAX_BYTE"));
    assert!(loaded.warnings[2].contains("AEGIS_GADGETS__ANY"));
}

#[test]
fn file_variables_read_secrets() {
    let path = std::env::temp_dir().join(format!("aegis-secret-{}", uuid::Uuid::new_v4()));
    std::fs::write(&path, "from-a-file\n").unwrap();
    let s = load(&[("AEGIS_ADMIN__PASSWORD_FILE", path.to_str().unwrap())])
        .unwrap()
        .settings;
    assert_eq!(s.admin.password.unwrap().expose(), "from-a-file");
    std::fs::remove_file(path).ok();
}

#[test]
fn sections_are_replaced_in_place_and_owned_once() {
    let mut s = Settings::default();
    s.update_section(|w: &mut Widgets| w.max_bytes = 42);
    assert_eq!(s.section::<Widgets>().max_bytes, 42);
    s.set_section(&Widgets {
        max_bytes: 0,
        ..Widgets::default()
    });
    assert!(s.try_section::<Widgets>().is_err());
    assert_eq!(
        s.section::<Widgets>(),
        Widgets::default(),
        "defaults when unusable"
    );
    assert!(check_unique_sections(&sections()).is_ok());
    let twice = [SectionSpec::of::<Widgets>(), SectionSpec::of::<Widgets>()];
    assert!(check_unique_sections(&twice).is_err());
}

#[test]
fn the_upload_limit_covers_the_largest_upload_and_framing() {
    let s = Settings::default();
    assert_eq!(s.upload_body_limit(0), 2 * 1024 * 1024);
    assert_eq!(s.upload_body_limit(10 << 20), (10 << 20) + (1 << 20));
}

#[test]
fn trusted_proxies_are_a_list_of_networks() {
    assert!(load(&[]).unwrap().settings.http.trusted_proxies.is_empty());
    let s = load(&[(
        "AEGIS_HTTP__TRUSTED_PROXIES",
        "[127.0.0.1/32, 10.0.0.0/8, \"fd00::/8\"]",
    )])
    .unwrap()
    .settings;
    let nets: Vec<String> = s
        .http
        .trusted_proxies
        .iter()
        .map(ToString::to_string)
        .collect();
    assert_eq!(nets, ["127.0.0.1/32", "10.0.0.0/8", "fd00::/8"]);
    let err = load(&[("AEGIS_HTTP__TRUSTED_PROXIES", "[10.0.0.0/33]")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("AEGIS_HTTP__TRUSTED_PROXIES"), "{err}");
    assert!(!err.contains('\n'));
}

#[test]
fn connection_limits_and_timeouts_are_checked() {
    let s = load(&[
        ("AEGIS_HTTP__HEADER_READ_TIMEOUT_SECONDS", "5"),
        ("AEGIS_HTTP__MAX_CONNECTIONS", "64"),
        ("AEGIS_HTTP__BODY_MIN_BYTES_PER_SECOND", "0"),
    ])
    .unwrap()
    .settings;
    assert_eq!(s.http.header_read_timeout_seconds, 5);
    assert_eq!(s.http.max_connections, 64);
    assert_eq!(s.http.body_min_bytes_per_second, 0);
    for (key, value) in [
        ("AEGIS_HTTP__HEADER_READ_TIMEOUT_SECONDS", "0"),
        ("AEGIS_HTTP__IDLE_TIMEOUT_SECONDS", "86400"),
        ("AEGIS_HTTP__BODY_READ_TIMEOUT_SECONDS", "0"),
        ("AEGIS_HTTP__BODY_READ_TIMEOUT_SECONDS", "soon"),
        ("AEGIS_HTTP__MAX_CONNECTIONS", "0"),
        ("AEGIS_HTTP__BODY_MIN_BYTES_PER_SECOND", "-1"),
    ] {
        let err = load(&[(key, value)]).unwrap_err().to_string();
        assert!(err.contains(key), "{key}={value}: {err}");
        assert!(!err.contains('\n'), "{err}");
    }
}

#[test]
fn the_password_minimum_stays_within_what_the_api_declares() {
    let s = load(&[("AEGIS_AUTH__MIN_PASSWORD_LENGTH", "16")])
        .unwrap()
        .settings;
    assert_eq!(s.auth.min_password_length, 16);
    // Below 10 the OpenAPI document (minLength 10) would refuse what the
    // server accepts; above 256 no password could be set at all.
    for value in ["8", "257"] {
        let err = load(&[("AEGIS_AUTH__MIN_PASSWORD_LENGTH", value)])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("AEGIS_AUTH__MIN_PASSWORD_LENGTH"),
            "{value}: {err}"
        );
    }
}
