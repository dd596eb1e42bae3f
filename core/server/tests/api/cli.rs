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
