//! The `aegis` binary itself: config errors, redaction, migrate and user create.

use std::process::{Command, Output};

use crate::helpers::{Stack, TestEnv};
use crate::stack_tests;

pub fn aegis(args: &[&str], env: &[(&str, String)], stdin: Option<&str>) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_aegis"));
    command
        .args(args)
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default());
    command.env(
        "AEGIS_CONFIG_DIR",
        concat!(env!("CARGO_MANIFEST_DIR"), "/../../config"),
    );
    for (k, v) in env {
        command.env(k, v);
    }
    match stdin {
        None => command.output().unwrap(),
        Some(text) => {
            use std::io::Write;
            let mut child = command
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(text.as_bytes())
                .unwrap();
            child.wait_with_output().unwrap()
        }
    }
}

#[test]
fn a_bad_setting_is_one_line_naming_the_variable() {
    let out = aegis(&["config"], &[("AEGIS_HTTP__PORT", "http".into())], None);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("AEGIS_HTTP__PORT"), "{stderr}");
}

#[test]
fn a_bad_module_setting_stops_start_up_in_one_line_naming_the_variable() {
    for (var, value) in [
        ("AEGIS_EVIDENCE__MAX_BYTES", "0"),
        ("AEGIS_EVIDENCE__ALLOWED_MEDIA_TYPES", "[pdf]"),
        ("AEGIS_PLUGINS__CALL_TIMEOUT_MS", "soon"),
        ("AEGIS_COVERAGE__SNAPSHOT_RETENTION_DAYS", "-1"),
        ("AEGIS_ALERTS__WEBHOOK_ALLOW_PRIVATE_NETWORKS", "perhaps"),
        ("AEGIS_MITRE__TIMEOUT_SECONDS", "long"),
        ("AEGIS_AUDIT__RETENTION_DAYS", "forever"),
    ] {
        for command in ["config", "serve"] {
            let out = aegis(&[command], &[(var, value.into())], None);
            assert_eq!(out.status.code(), Some(2), "{command} with {var}={value}");
            let stderr = String::from_utf8(out.stderr).unwrap();
            assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
            assert!(stderr.contains(var), "{var}: {stderr}");
        }
    }
}

#[test]
fn module_settings_keep_their_documented_variables() {
    let out = aegis(
        &["config"],
        &[
            ("AEGIS_EVIDENCE__MAX_BYTES", "4096".into()),
            (
                "AEGIS_MITRE__SOURCE",
                "https://bundles:pw@example.org/x.json".into(),
            ),
            ("AEGIS_PLUGINS__FUEL", "1000000".into()),
            (
                "AEGIS_ALERTS__WEBHOOK_ALLOW_PRIVATE_NETWORKS",
                "true".into(),
            ),
            ("AEGIS_COVERAGE__SNAPSHOT_RETENTION_DAYS", "30".into()),
            ("AEGIS_AUDIT__RETENTION_DAYS", "90".into()),
            ("AEGIS_EVIDENCE__MAX_BYTE", "1".into()),
        ],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    let stdout = String::from_utf8(out.stdout).unwrap();
    for expected in [
        "[evidence]\nallowed_media_types = [",
        "max_bytes = 4096\n",
        "[mitre]\n",
        "source = \"https://bundles:[redacted]@example.org/x.json\"",
        "[plugins]\n",
        "fuel = 1000000\n",
        "[alerts]\nwebhook_allow_private_networks = true\n",
        "[coverage]\nsnapshot_retention_days = 30\n",
        "[audit]\nretention_days = 90\n",
    ] {
        assert!(stdout.contains(expected), "{expected:?} in {stdout}");
    }
    assert!(!stdout.contains(":pw@"), "{stdout}");
    // Warnings are logs: standard error, never mixed into what a command prints.
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(!stdout.contains("unknown setting"), "{stdout}");
    assert_eq!(
        stderr
            .matches("unknown setting AEGIS_EVIDENCE__MAX_BYTE is ignored")
            .count(),
        1,
        "{stderr}"
    );
}

#[test]
fn the_printed_openapi_document_is_json_alone_whatever_the_warnings() {
    let out = aegis(
        &["openapi"],
        &[("AEGIS_NO_SUCH__SETTING", "1".into())],
        None,
    );
    assert!(out.status.success(), "{out:?}");
    let document: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    assert!(document["paths"].is_object());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("AEGIS_NO_SUCH__SETTING"), "{stderr}");
}

#[test]
fn production_refuses_a_missing_secret_key() {
    let out = aegis(&["serve"], &[("AEGIS_ENV", "production".into())], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8(out.stderr)
            .unwrap()
            .contains("AEGIS_SECRET_KEY")
    );
}

#[test]
fn config_prints_the_effective_settings_with_secrets_redacted() {
    let out = aegis(
        &["config"],
        &[
            (
                "AEGIS_SECRET_KEY",
                "very-secret-value-nobody-sees-0123".into(),
            ),
            ("AEGIS_HTTP__PORT", "9123".into()),
        ],
        None,
    );
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("port = 9123"), "{stdout}");
    assert!(!stdout.contains("very-secret-value"), "{stdout}");
    assert!(stdout.contains("[redacted]"));
}

#[test]
fn every_command_has_help() {
    for args in [
        vec!["--help"],
        vec!["serve", "--help"],
        vec!["migrate", "--help"],
        vec!["config", "--help"],
        vec!["user", "create", "--help"],
        vec!["backup", "--help"],
        vec!["restore", "--help"],
    ] {
        let out = aegis(&args, &[], None);
        assert!(out.status.success(), "{args:?}");
        assert!(
            String::from_utf8(out.stdout).unwrap().contains("Usage"),
            "{args:?}"
        );
    }
}

async fn migrate_and_user_create_work_from_the_command_line(stack: Stack) {
    let Some(env) = TestEnv::new(stack).await else {
        return;
    };
    let vars = [
        ("AEGIS_DATABASE__URL", env.settings.database_url()),
        (
            "AEGIS_DATA_DIR",
            env.settings.data_dir.display().to_string(),
        ),
    ];
    let out = aegis(&["migrate"], &vars, None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = aegis(
        &[
            "user",
            "create",
            "--username",
            "cli-lead",
            "--role",
            "lead",
            "--password-stdin",
        ],
        &vars,
        Some("a-piped-password\n"),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = aegis(
        &[
            "user",
            "create",
            "--username",
            "cli-lead",
            "--role",
            "viewer",
        ],
        &vars,
        None,
    );
    assert!(!out.status.success(), "a duplicate username fails");

    let app = env.spawn().await;
    let token = app.token("cli-lead", "a-piped-password").await;
    assert_eq!(
        app.get("/api/v1/auth/me", &token).await.body["role"],
        "lead"
    );
}

stack_tests!(migrate_and_user_create_work_from_the_command_line);
