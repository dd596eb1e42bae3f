//! Atomic Red Team atomics (`Txxxx.yaml`) read into template drafts. Parsing
//! uses serde-saphyr, a pure-Rust YAML reader with budgets against alias
//! bombs, since these files may come from an upload.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::Value;

use crate::template::{InputArgument, TemplateFields};

#[derive(Deserialize)]
struct AtomicFile {
    attack_technique: String,
    #[serde(default)]
    atomic_tests: Vec<AtomicTest>,
}

#[derive(Deserialize)]
struct AtomicTest {
    name: String,
    auto_generated_guid: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    supported_platforms: Vec<String>,
    #[serde(default)]
    input_arguments: Option<BTreeMap<String, AtomicArgument>>,
    executor: Option<AtomicExecutor>,
}

#[derive(Deserialize)]
struct AtomicArgument {
    #[serde(default)]
    description: Option<String>,
    #[serde(rename = "type", default)]
    kind: Option<String>,
    #[serde(default)]
    default: Option<Value>,
}

#[derive(Deserialize)]
struct AtomicExecutor {
    name: String,
    #[serde(default)]
    command: Option<String>,
    /// Manual executors describe steps instead of a command.
    #[serde(default)]
    steps: Option<String>,
    #[serde(default)]
    cleanup_command: Option<String>,
    #[serde(default)]
    elevation_required: Option<bool>,
}

/// One atomic test ready to store, keyed by its `auto_generated_guid`.
#[derive(Debug, Clone)]
pub struct AtomicDraft {
    pub guid: String,
    pub fields: TemplateFields,
}

/// What one file held: drafts, and the tests that could not be used.
#[derive(Debug, Default)]
pub struct ParsedAtomics {
    pub technique_id: String,
    pub drafts: Vec<AtomicDraft>,
    pub skipped: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
#[error("not an Atomic Red Team file: {0}")]
pub struct AtomicError(pub String);

pub fn parse(yaml: &str) -> Result<ParsedAtomics, AtomicError> {
    let file: AtomicFile = serde_saphyr::from_str(yaml).map_err(|e| {
        let text = e.to_string();
        AtomicError(text.lines().next().unwrap_or("unreadable YAML").to_owned())
    })?;
    let technique_id = file.attack_technique.trim().to_ascii_uppercase();
    if !crate::model::is_attack_id(&technique_id) {
        return Err(AtomicError(format!(
            "attack_technique `{technique_id}` is not an ATT&CK id"
        )));
    }
    let mut parsed = ParsedAtomics {
        technique_id: technique_id.clone(),
        ..ParsedAtomics::default()
    };
    for test in file.atomic_tests {
        let Some(guid) = test
            .auto_generated_guid
            .filter(|g| uuid::Uuid::parse_str(g).is_ok())
        else {
            parsed
                .skipped
                .push((test.name, "no valid auto_generated_guid".into()));
            continue;
        };
        let Some(executor) = test.executor else {
            parsed.skipped.push((test.name, "no executor".into()));
            continue;
        };
        let input_arguments = test
            .input_arguments
            .unwrap_or_default()
            .into_iter()
            .map(|(name, a)| {
                let default = match a.default {
                    None | Some(Value::Null) => String::new(),
                    Some(Value::String(s)) => s,
                    Some(other) => other.to_string(),
                };
                (
                    name,
                    InputArgument {
                        description: a.description.unwrap_or_default().trim().to_owned(),
                        kind: a.kind.unwrap_or_else(|| "string".into()).to_lowercase(),
                        default,
                    },
                )
            })
            .collect();
        parsed.drafts.push(AtomicDraft {
            guid: guid.to_lowercase(),
            fields: TemplateFields {
                name: test.name.trim().to_owned(),
                description: test.description.unwrap_or_default().trim().to_owned(),
                technique_domain: crate::service::DEFAULT_DOMAIN.into(),
                technique_id: technique_id.clone(),
                platforms: test.supported_platforms,
                executor: Some(executor.name),
                command: executor
                    .command
                    .or(executor.steps)
                    .unwrap_or_default()
                    .trim_end()
                    .to_owned(),
                cleanup_command: executor
                    .cleanup_command
                    .map(|c| c.trim_end().to_owned())
                    .filter(|c| !c.is_empty()),
                elevation_required: executor.elevation_required.unwrap_or(false),
                input_arguments,
            },
        });
    }
    Ok(parsed)
}

/// The `auto_generated_guid` of the first draft holding NUL in any text,
/// which no database column may hold.
pub fn first_with_nul(parsed: &ParsedAtomics) -> Option<&str> {
    let nul = |text: &str| text.contains('\0');
    parsed
        .drafts
        .iter()
        .find(|draft| {
            let f = &draft.fields;
            [&f.name, &f.description, &f.command, &f.technique_domain]
                .into_iter()
                .chain(f.executor.as_ref())
                .chain(f.cleanup_command.as_ref())
                .chain(&f.platforms)
                .any(|t| nul(t))
                || f.input_arguments.iter().any(|(name, argument)| {
                    nul(name)
                        || nul(&argument.description)
                        || nul(&argument.kind)
                        || nul(&argument.default)
                })
        })
        .map(|draft| draft.guid.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_tests_and_skips_those_without_a_guid() {
        let yaml = r##"
attack_technique: t1003
display_name: OS Credential Dumping
atomic_tests:
- name: Gsecdump
  auto_generated_guid: 96345bfc-8ae7-4b6a-80b7-223200f24ef9
  description: Dump credentials.
  supported_platforms: [windows]
  input_arguments:
    exe:
      description: Path
      type: path
      default: C:\gsecdump.exe
    count:
      type: integer
      default: 3
  executor:
    command: '"#{exe}" -a'
    name: command_prompt
    elevation_required: true
- name: No guid
  executor: {name: sh, command: id}
"##;
        let parsed = parse(yaml).unwrap();
        assert_eq!(parsed.technique_id, "T1003");
        assert_eq!(parsed.drafts.len(), 1);
        let f = &parsed.drafts[0].fields;
        assert!(f.elevation_required);
        assert_eq!(f.input_arguments["count"].default, "3");
        assert_eq!(f.input_arguments["exe"].kind, "path");
        assert_eq!(parsed.skipped.len(), 1);
    }

    #[test]
    fn nul_in_any_text_is_found_escaped_or_not() {
        let with = |field: &str| {
            format!(
                "attack_technique: T1003\natomic_tests:\n- name: ok\n  auto_generated_guid: 96345bfc-8ae7-4b6a-80b7-223200f24ef9\n  supported_platforms: [linux]\n  executor: {{name: sh, command: id}}\n- name: second\n  auto_generated_guid: 16345bfc-8ae7-4b6a-80b7-223200f24ef9\n  {field}\n  executor: {{name: sh, command: id}}\n"
            )
        };
        let clean = parse(&with("description: fine")).unwrap();
        assert_eq!(first_with_nul(&clean), None);
        for field in [
            r#"description: "a\0b""#,
            r#"description: "a\x00b""#,
            r#"supported_platforms: ["lin\u0000ux"]"#,
            r#"input_arguments: {"f\0": {default: x}}"#,
            r#"input_arguments: {f: {default: "\0"}}"#,
        ] {
            let parsed = parse(&with(field)).unwrap();
            assert_eq!(
                first_with_nul(&parsed),
                Some("16345bfc-8ae7-4b6a-80b7-223200f24ef9"),
                "{field}"
            );
        }
    }

    #[test]
    fn refuses_what_is_not_an_atomic_file() {
        assert!(parse("just: text").is_err());
        assert!(parse("attack_technique: nonsense\natomic_tests: []").is_err());
        let bomb = "a: &a [x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e]\ng: [*f, *f, *f, *f, *f, *f, *f, *f]\nattack_technique: T1003\n";
        assert!(parse(bomb).is_err());
    }
}
