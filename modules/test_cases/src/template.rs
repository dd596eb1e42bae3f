//! Test templates: reusable procedures written by hand or imported from
//! Atomic Red Team, and tests made from them. Each change (an import of one
//! file included) and its audit event are one transaction.

use std::collections::{BTreeMap, HashMap};

use aegis_core::Kernel;
use aegis_core::auth::Principal;
use aegis_core::db::Conn;
use aegis_core::error::FieldError;
use aegis_core::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::atomic;
use crate::error::TestCaseError;
use crate::model::{Change, TestPatch, TestRecord, is_attack_id};
use crate::service::{DEFAULT_DOMAIN, TestService};
use crate::template_repo::{TemplateRepo, Upserted};
use aegis_core::concurrency::{Actor, VersionError, WriteOutcome, check_version};

pub const SOURCE_MANUAL: &str = "manual";
pub const SOURCE_ATOMIC: &str = "atomic-red-team";
const MAX_COMMAND: usize = 64 * 1024;

/// The plan fields tests made from many templates share: a refusal naming
/// only these would repeat for every template.
const SHARED_PLAN_FIELDS: [&str; 5] = [
    "campaign_id",
    "target_host",
    "red_assignee_id",
    "blue_assignee_id",
    "tags",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputArgument {
    pub description: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub default: String,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateFields {
    pub name: String,
    pub description: String,
    pub technique_domain: String,
    pub technique_id: String,
    pub platforms: Vec<String>,
    pub executor: Option<String>,
    pub command: String,
    pub cleanup_command: Option<String>,
    pub elevation_required: bool,
    pub input_arguments: BTreeMap<String, InputArgument>,
}

impl TemplateFields {
    /// Identifies the content, so a re-import can tell "unchanged".
    pub fn content_hash(&self) -> String {
        let canonical = serde_json::to_vec(self).unwrap_or_default();
        format!("{:x}", Sha256::digest(canonical))
    }

    /// The command with `#{argument}` replaced by `values` or the defaults.
    pub fn render(&self, values: &HashMap<String, String>) -> Result<String, TestCaseError> {
        if let Some(unknown) = values
            .keys()
            .find(|k| !self.input_arguments.contains_key(*k))
        {
            return Err(TestCaseError::invalid(
                "arguments",
                format!("the template has no input argument `{unknown}`"),
            ));
        }
        let mut command = self.command.clone();
        for (name, argument) in &self.input_arguments {
            let value = values.get(name).unwrap_or(&argument.default);
            command = command.replace(&format!("#{{{name}}}"), value);
        }
        Ok(command)
    }
}

#[derive(Debug, Clone)]
pub struct TemplateRecord {
    pub id: String,
    pub fields: TemplateFields,
    pub source: String,
    pub external_id: Option<String>,
    pub version: i64,
    pub created_at: Timestamp,
    pub created_by: String,
    pub updated_at: Timestamp,
    pub updated_by: String,
}

#[derive(Debug, Clone, Default)]
pub struct TemplatePatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub technique_id: Option<String>,
    pub platforms: Option<Vec<String>>,
    pub executor: Change<String>,
    pub command: Option<String>,
    pub cleanup_command: Change<String>,
    pub elevation_required: Option<bool>,
    pub input_arguments: Option<BTreeMap<String, InputArgument>>,
}

impl From<&TemplateFields> for TemplatePatch {
    /// Every field set, to run a whole template through validation.
    fn from(f: &TemplateFields) -> Self {
        Self {
            name: Some(f.name.clone()),
            description: Some(f.description.clone()),
            technique_id: Some(f.technique_id.clone()),
            platforms: Some(f.platforms.clone()),
            executor: Some(f.executor.clone()),
            command: Some(f.command.clone()),
            cleanup_command: Some(f.cleanup_command.clone()),
            elevation_required: Some(f.elevation_required),
            input_arguments: Some(f.input_arguments.clone()),
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct TemplateFilter {
    pub technique: Option<String>,
    pub platform: Option<String>,
    pub source: Option<String>,
    pub text: Option<String>,
}

/// A test made from a template: the template gives technique and procedure.
#[derive(Debug, Clone, Default)]
pub struct FromTemplate {
    pub name: Option<String>,
    pub arguments: HashMap<String, String>,
    /// Plan fields of the new test (name and technique are ignored here).
    pub plan: TestPatch,
}

/// The outcome of importing atomics.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub files: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Technique ids the catalog does not know; their templates are imported
    /// anyway and start working once a sync brings the technique.
    pub unknown_techniques: Vec<String>,
    /// Files or tests that could not be read, with the reason.
    pub problems: Vec<ImportProblem>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ImportProblem {
    pub file: String,
    pub test: Option<String>,
    pub reason: String,
}

impl ImportReport {
    pub fn absorb(&mut self, other: ImportReport) {
        self.files += other.files;
        self.created += other.created;
        self.updated += other.updated;
        self.unchanged += other.unchanged;
        for id in other.unknown_techniques {
            if !self.unknown_techniques.contains(&id) {
                self.unknown_techniques.push(id);
            }
        }
        self.problems.extend(other.problems);
    }
}

#[derive(Clone)]
pub struct TemplateService {
    kernel: Kernel,
    repo: TemplateRepo,
    tests: TestService,
}

impl TemplateService {
    pub fn new(kernel: Kernel, tests: TestService) -> Self {
        Self {
            repo: TemplateRepo::new(kernel.db.clone()),
            kernel,
            tests,
        }
    }

    /// Who makes a change, at the kernel clock's time.
    pub fn actor(&self, who: &Principal) -> Actor {
        self.tests.actor(who)
    }

    /// Records the audit event of a change to template `id` inside the
    /// change's transaction.
    async fn audit(
        &self,
        conn: &mut Conn,
        actor: &Actor,
        action: &str,
        id: &str,
        detail: serde_json::Value,
    ) -> Result<(), sqlx::Error> {
        self.kernel
            .audit
            .record_about_in(conn, actor.audit(), action, ("template", id), detail)
            .await
    }

    pub async fn get(&self, id: &str) -> Result<TemplateRecord, TestCaseError> {
        self.repo
            .get(id)
            .await?
            .ok_or_else(|| TestCaseError::NotFound(format!("no template {id}")))
    }

    pub async fn list(
        &self,
        filter: &TemplateFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<TemplateRecord>, i64), TestCaseError> {
        Ok(self.repo.list(filter, limit, offset).await?)
    }

    pub async fn create(
        &self,
        who: &Principal,
        patch: &TemplatePatch,
    ) -> Result<TemplateRecord, TestCaseError> {
        let mut missing = Vec::new();
        if patch.name.is_none() {
            missing.push(FieldError::new("name", "required"));
        }
        if patch.technique_id.is_none() {
            missing.push(FieldError::new("technique_id", "required"));
        }
        if !missing.is_empty() {
            return Err(TestCaseError::Invalid(missing));
        }
        let empty = TemplateFields {
            name: String::new(),
            description: String::new(),
            technique_domain: DEFAULT_DOMAIN.into(),
            technique_id: String::new(),
            platforms: Vec::new(),
            executor: None,
            command: String::new(),
            cleanup_command: None,
            elevation_required: false,
            input_arguments: BTreeMap::new(),
        };
        let fields = apply(&empty, patch)?;
        self.tests
            .check_technique(&fields.technique_domain, &fields.technique_id)
            .await?;
        let id = uuid::Uuid::now_v7().to_string();
        let actor = self.actor(who);
        let mut tx = self.kernel.db.begin().await?;
        self.repo
            .insert(
                &mut tx,
                &id,
                &fields,
                SOURCE_MANUAL,
                None,
                &fields.content_hash(),
                &actor,
            )
            .await?;
        self.audit(
            &mut tx,
            &actor,
            "template.create",
            &id,
            json!({ "name": fields.name }),
        )
        .await?;
        tx.commit().await?;
        self.get(&id).await
    }

    pub async fn update(
        &self,
        who: &Principal,
        id: &str,
        expected_version: Option<i64>,
        patch: &TemplatePatch,
    ) -> Result<TemplateRecord, TestCaseError> {
        let current = self.get(id).await?;
        let expected = check_version(expected_version, current.version)?;
        let fields = apply(&current.fields, patch)?;
        if fields == current.fields {
            return Ok(current);
        }
        if fields.technique_id != current.fields.technique_id {
            self.tests
                .check_technique(&fields.technique_domain, &fields.technique_id)
                .await?;
        }
        let actor = self.actor(who);
        let mut tx = self.kernel.db.begin().await?;
        match self
            .repo
            .update(
                &mut tx,
                id,
                expected,
                &fields,
                &fields.content_hash(),
                &actor,
            )
            .await?
        {
            WriteOutcome::Written(version) => {
                self.audit(
                    &mut tx,
                    &actor,
                    "template.update",
                    id,
                    json!({ "version": version }),
                )
                .await?;
                tx.commit().await?;
                self.get(id).await
            }
            WriteOutcome::Conflict => {
                drop(tx);
                Err(TestCaseError::Version(VersionError::Stale {
                    current: self.get(id).await?.version,
                }))
            }
        }
    }

    pub async fn delete(&self, who: &Principal, id: &str) -> Result<(), TestCaseError> {
        let current = self.get(id).await?;
        let mut tx = self.kernel.db.begin().await?;
        if self.repo.delete(&mut tx, id).await? {
            self.audit(
                &mut tx,
                &self.actor(who),
                "template.delete",
                id,
                json!({ "name": current.fields.name }),
            )
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// A new draft test carrying the template's technique and rendered command.
    pub async fn create_test(
        &self,
        who: &Principal,
        id: &str,
        request: FromTemplate,
    ) -> Result<TestRecord, TestCaseError> {
        let template = self.get(id).await?;
        let t = &template.fields;
        let mut patch = request.plan;
        patch.name = Some(request.name.unwrap_or_else(|| t.name.clone()));
        patch.technique_id = Some(t.technique_id.clone());
        patch.procedure = Some(t.render(&request.arguments)?);
        if patch.platform.is_none() && t.platforms.len() == 1 {
            patch.platform = Some(t.platforms.first().cloned());
        }
        self.tests.create(who, &patch, Some(&template.id)).await
    }

    /// One draft test per template, each its own change and audit event,
    /// sharing `plan` (campaign, host, assignees, tags). A template that
    /// cannot give a test is that template's failure, and the others go on;
    /// a shared field the first template's test refuses would be refused
    /// for every one, so that refuses the request whole before any is made.
    /// Failures of the database end it, the tests made so far staying.
    pub async fn create_tests(
        &self,
        who: &Principal,
        template_ids: &[String],
        plan: &TestPatch,
    ) -> Result<Vec<(String, Result<TestRecord, TestCaseError>)>, TestCaseError> {
        let mut results = Vec::with_capacity(template_ids.len());
        for id in template_ids {
            let request = FromTemplate {
                plan: plan.clone(),
                ..FromTemplate::default()
            };
            match self.create_test(who, id, request).await {
                Ok(record) => results.push((id.clone(), Ok(record))),
                Err(TestCaseError::Invalid(errors))
                    if results.is_empty()
                        && errors
                            .iter()
                            .all(|e| SHARED_PLAN_FIELDS.contains(&e.field.as_str())) =>
                {
                    return Err(TestCaseError::Invalid(errors));
                }
                Err(
                    e @ (TestCaseError::Database(_)
                    | TestCaseError::Identity(_)
                    | TestCaseError::Storage(_)
                    | TestCaseError::NotStored { .. }),
                ) => return Err(e),
                Err(refused) => results.push((id.clone(), Err(refused))),
            }
        }
        Ok(results)
    }

    /// Imports one file's bytes into `report`, under `label`: bytes that are
    /// not UTF-8, or text holding NUL, are a problem of that file, not the
    /// end of an import of many.
    pub async fn import_atomic_bytes(
        &self,
        actor: &Actor,
        label: &str,
        bytes: Vec<u8>,
        known: &mut HashMap<String, bool>,
        report: &mut ImportReport,
    ) -> Result<(), TestCaseError> {
        let problem = |reason: String| ImportProblem {
            file: label.into(),
            test: None,
            reason,
        };
        let Ok(yaml) = String::from_utf8(bytes) else {
            report.files += 1;
            report.problems.push(problem("not UTF-8 text".into()));
            return Ok(());
        };
        match self.import_atomic(actor, label, &yaml, known).await {
            Ok(imported) => report.absorb(imported),
            Err(refused @ TestCaseError::InvalidText(_)) => {
                report.files += 1;
                report.problems.push(problem(refused.to_string()));
            }
            Err(other) => return Err(other),
        }
        Ok(())
    }

    /// Imports one Atomic Red Team file; `label` names it in the report.
    /// A file with NUL in any text is refused whole (`InvalidText`), so
    /// none of its tests is imported without the others.
    pub async fn import_atomic(
        &self,
        actor: &Actor,
        label: &str,
        yaml: &str,
        known: &mut HashMap<String, bool>,
    ) -> Result<ImportReport, TestCaseError> {
        let mut report = ImportReport {
            files: 1,
            ..ImportReport::default()
        };
        if yaml.contains('\0') {
            return Err(TestCaseError::InvalidText(format!("the file {label}")));
        }
        let parsed = match atomic::parse(yaml) {
            Ok(p) => p,
            Err(e) => {
                report.problems.push(ImportProblem {
                    file: label.into(),
                    test: None,
                    reason: e.to_string(),
                });
                return Ok(report);
            }
        };
        // YAML can also spell NUL as an escape (`"\0"`, `"\x00"`).
        if let Some(guid) = atomic::first_with_nul(&parsed) {
            return Err(TestCaseError::InvalidText(format!(
                "the atomic test {guid} of {label}"
            )));
        }
        for (test, reason) in parsed.skipped {
            report.problems.push(ImportProblem {
                file: label.into(),
                test: Some(test),
                reason,
            });
        }
        let known_technique = match known.get(&parsed.technique_id) {
            Some(k) => *k,
            None => {
                let k = self
                    .tests
                    .check_technique(DEFAULT_DOMAIN, &parsed.technique_id)
                    .await
                    .is_ok();
                known.insert(parsed.technique_id.clone(), k);
                k
            }
        };
        if !known_technique && !parsed.drafts.is_empty() {
            report.unknown_techniques.push(parsed.technique_id.clone());
        }
        let mut tx = self.kernel.db.begin().await?;
        for draft in &parsed.drafts {
            // The same bounds and normal forms as a hand-written template.
            let fields = match apply(&draft.fields, &TemplatePatch::from(&draft.fields)) {
                Ok(fields) => fields,
                Err(TestCaseError::Invalid(errors)) => {
                    report.problems.push(ImportProblem {
                        file: label.into(),
                        test: Some(draft.fields.name.clone()),
                        reason: errors
                            .into_iter()
                            .map(|e| format!("{}: {}", e.field, e.message))
                            .collect::<Vec<_>>()
                            .join("; "),
                    });
                    continue;
                }
                Err(other) => return Err(other),
            };
            let hash = fields.content_hash();
            match self
                .repo
                .upsert_external(&mut tx, SOURCE_ATOMIC, &draft.guid, &fields, &hash, actor)
                .await?
            {
                Upserted::Created => report.created += 1,
                Upserted::Updated => report.updated += 1,
                Upserted::Unchanged => report.unchanged += 1,
            }
        }
        if report.created + report.updated > 0 {
            self.audit(
                &mut tx,
                actor,
                "template.import",
                &parsed.technique_id,
                json!({ "file": label, "created": report.created, "updated": report.updated }),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(report)
    }
}

fn apply(current: &TemplateFields, patch: &TemplatePatch) -> Result<TemplateFields, TestCaseError> {
    let mut next = current.clone();
    let mut errors = Vec::new();
    let mut text =
        |field: &'static str, value: &Option<String>, slot: &mut String, min: usize, max: usize| {
            if let Some(v) = value {
                let t = v.trim();
                if t.chars().count() < min || t.chars().count() > max {
                    errors.push(FieldError::new(field, format!("{min} to {max} characters")));
                } else {
                    *slot = t.to_owned();
                }
            }
        };
    text("name", &patch.name, &mut next.name, 1, 200);
    text(
        "description",
        &patch.description,
        &mut next.description,
        0,
        MAX_COMMAND,
    );
    text("command", &patch.command, &mut next.command, 0, MAX_COMMAND);
    if let Some(id) = &patch.technique_id {
        let id = id.trim().to_ascii_uppercase();
        if is_attack_id(&id) {
            next.technique_id = id;
        } else {
            errors.push(FieldError::new(
                "technique_id",
                "expected an ATT&CK id such as T1059 or T1059.001",
            ));
        }
    }
    if let Some(platforms) = &patch.platforms {
        // Lengths in characters of what was sent, as the document states
        // them; lower-casing may change a name's length.
        let too_long = platforms.iter().any(|p| p.trim().chars().count() > 64);
        let mut list: Vec<String> = platforms
            .iter()
            .map(|p| p.trim().to_lowercase())
            .filter(|p| !p.is_empty())
            .collect();
        list.sort();
        list.dedup();
        if list.len() > 16 || too_long {
            errors.push(FieldError::new(
                "platforms",
                "at most 16 platforms of 64 characters",
            ));
        } else {
            next.platforms = list;
        }
    }
    if let Some(executor) = &patch.executor {
        next.executor = executor
            .as_ref()
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty());
    }
    if let Some(cleanup) = &patch.cleanup_command {
        next.cleanup_command = cleanup
            .as_ref()
            .map(|c| c.trim().to_owned())
            .filter(|c| !c.is_empty());
    }
    if let Some(elevation) = patch.elevation_required {
        next.elevation_required = elevation;
    }
    if let Some(arguments) = &patch.input_arguments {
        if arguments.len() > 64
            || arguments.keys().any(|k| {
                k.is_empty()
                    || k.len() > 64
                    || !k
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
            })
        {
            errors.push(FieldError::new(
                "input_arguments",
                "at most 64 arguments named with letters, digits, - and _",
            ));
        } else {
            next.input_arguments = arguments.clone();
        }
    }
    if errors.is_empty() {
        Ok(next)
    } else {
        Err(TestCaseError::Invalid(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_render_with_defaults_and_overrides() {
        let mut arguments = BTreeMap::new();
        arguments.insert(
            "file".to_owned(),
            InputArgument {
                description: String::new(),
                kind: "path".into(),
                default: "/tmp/x".into(),
            },
        );
        let fields = TemplateFields {
            name: "n".into(),
            description: String::new(),
            technique_domain: DEFAULT_DOMAIN.into(),
            technique_id: "T1003".into(),
            platforms: vec![],
            executor: None,
            command: "cat #{file} #{file}".into(),
            cleanup_command: None,
            elevation_required: false,
            input_arguments: arguments,
        };
        assert_eq!(fields.render(&HashMap::new()).unwrap(), "cat /tmp/x /tmp/x");
        let custom = HashMap::from([("file".to_owned(), "/etc/hosts".to_owned())]);
        assert_eq!(fields.render(&custom).unwrap(), "cat /etc/hosts /etc/hosts");
        let unknown = HashMap::from([("nope".to_owned(), String::new())]);
        assert!(fields.render(&unknown).is_err());
    }
}
