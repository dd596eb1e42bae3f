//! What the API sends and receives; conversions to and from the model.

use std::collections::{BTreeMap, HashMap};

use aegis_core::time::Timestamp;
use poem_openapi::Object;
use poem_openapi::types::MaybeUndefined;
use serde_json::Value;

use crate::evidence_repo::EvidenceRecord;
use crate::model::{
    AttackOutcome, Change, DetectionOutcome, TestPatch, TestRecord, TransitionRecord,
};
use crate::template::{ImportReport, InputArgument, TemplatePatch, TemplateRecord};
use crate::workflow::{Side, TestState};

pub fn change<T>(value: MaybeUndefined<T>) -> Change<T> {
    match value {
        MaybeUndefined::Undefined => None,
        MaybeUndefined::Null => Some(None),
        MaybeUndefined::Value(v) => Some(Some(v)),
    }
}

/// The technique a test points at, as the catalog has it now.
#[derive(Debug, Object)]
pub struct TechniqueRefView {
    pub domain: String,
    pub attack_id: String,
    /// Absent when the catalog does not hold this id.
    pub name: Option<String>,
    pub revoked: bool,
    pub deprecated: bool,
    /// For a revoked technique: the one that replaces it.
    pub replaced_by: Option<String>,
    pub replaced_by_name: Option<String>,
    /// A sentence for people when the technique is no longer current.
    pub warning: Option<String>,
}

#[derive(Debug, Object)]
pub struct TransitionView {
    pub transition: String,
    pub from_state: String,
    pub to_state: String,
    pub actor_id: String,
    pub actor_name: String,
    pub at: Timestamp,
}

impl From<TransitionRecord> for TransitionView {
    fn from(t: TransitionRecord) -> Self {
        Self {
            transition: t.transition,
            from_state: t.from_state,
            to_state: t.to_state,
            actor_id: t.actor_id,
            actor_name: t.actor_name,
            at: t.at,
        }
    }
}

#[derive(Debug, Object)]
pub struct TestView {
    pub id: String,
    pub name: String,
    pub technique: TechniqueRefView,
    pub campaign_id: Option<String>,
    pub template_id: Option<String>,
    pub procedure: String,
    pub platform: Option<String>,
    pub target_host: Option<String>,
    pub red_assignee_id: Option<String>,
    pub blue_assignee_id: Option<String>,
    pub tags: Vec<String>,
    pub state: TestState,
    pub executed_at: Option<Timestamp>,
    pub attack_outcome: Option<AttackOutcome>,
    pub red_notes: String,
    pub detection_outcome: Option<DetectionOutcome>,
    pub detected_at: Option<Timestamp>,
    pub detection_source: Option<String>,
    pub blue_notes: String,
    /// Send it back as `If-Match` (or `version`) when you change the test.
    pub version: i64,
    pub created_at: Timestamp,
    pub created_by: String,
    pub updated_at: Timestamp,
    pub updated_by: String,
    /// Every transition with who and when (on single-test answers).
    #[oai(skip_serializing_if_is_none)]
    pub transitions: Option<Vec<TransitionView>>,
}

impl TestView {
    pub fn new(r: TestRecord, transitions: Option<Vec<TransitionRecord>>) -> Self {
        let t = r.technique;
        let warning = if t.revoked {
            Some(match &t.replaced_by {
                Some(by) => format!("{} is revoked; ATT&CK replaces it with {by}", t.attack_id),
                None => format!("{} is revoked", t.attack_id),
            })
        } else if t.deprecated {
            Some(format!("{} is deprecated", t.attack_id))
        } else if t.name.is_none() {
            Some(format!("{} is not in the ATT&CK catalog", t.attack_id))
        } else {
            None
        };
        let f = r.fields;
        Self {
            id: r.id,
            name: f.name,
            technique: TechniqueRefView {
                domain: t.domain,
                attack_id: t.attack_id,
                name: t.name,
                revoked: t.revoked,
                deprecated: t.deprecated,
                replaced_by: t.replaced_by,
                replaced_by_name: t.replaced_by_name,
                warning,
            },
            campaign_id: f.campaign_id,
            template_id: r.template_id,
            procedure: f.procedure,
            platform: f.platform,
            target_host: f.target_host,
            red_assignee_id: f.red_assignee_id,
            blue_assignee_id: f.blue_assignee_id,
            tags: f.tags,
            state: r.state,
            executed_at: f.executed_at,
            attack_outcome: f.attack_outcome,
            red_notes: f.red_notes,
            detection_outcome: f.detection_outcome,
            detected_at: f.detected_at,
            detection_source: f.detection_source,
            blue_notes: f.blue_notes,
            version: r.version,
            created_at: r.created_at,
            created_by: r.created_by,
            updated_at: r.updated_at,
            updated_by: r.updated_by,
            transitions: transitions.map(|ts| ts.into_iter().map(Into::into).collect()),
        }
    }
}

/// A new test. It starts as a draft; the blue half is filled once blue evaluates.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct NewTestInput {
    pub name: String,
    /// ATT&CK id from the catalog, e.g. `T1059.001`.
    pub technique_id: String,
    /// `enterprise-attack` (default), `mobile-attack` or `ics-attack`.
    pub technique_domain: Option<String>,
    pub campaign_id: Option<String>,
    pub procedure: Option<String>,
    pub platform: Option<String>,
    pub target_host: Option<String>,
    pub red_assignee_id: Option<String>,
    pub blue_assignee_id: Option<String>,
    pub tags: Option<Vec<String>>,
    pub executed_at: Option<Timestamp>,
    pub attack_outcome: Option<AttackOutcome>,
    pub red_notes: Option<String>,
}

impl From<NewTestInput> for TestPatch {
    fn from(i: NewTestInput) -> Self {
        TestPatch {
            name: Some(i.name),
            technique_domain: i.technique_domain,
            technique_id: Some(i.technique_id),
            campaign_id: i.campaign_id.map(Some),
            procedure: i.procedure,
            platform: i.platform.map(Some),
            target_host: i.target_host.map(Some),
            red_assignee_id: i.red_assignee_id.map(Some),
            blue_assignee_id: i.blue_assignee_id.map(Some),
            tags: i.tags,
            executed_at: i.executed_at.map(Some),
            attack_outcome: i.attack_outcome.map(Some),
            red_notes: i.red_notes,
            ..TestPatch::default()
        }
    }
}

/// A partial change. Plan and red fields are for red techs, leads and admins;
/// blue fields for blue techs, leads and admins. `null` clears a field.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct TestPatchInput {
    /// The version you edited, unless sent as `If-Match`.
    pub version: Option<i64>,
    pub name: Option<String>,
    pub technique_domain: Option<String>,
    pub technique_id: Option<String>,
    pub campaign_id: MaybeUndefined<String>,
    pub procedure: Option<String>,
    pub platform: MaybeUndefined<String>,
    pub target_host: MaybeUndefined<String>,
    pub red_assignee_id: MaybeUndefined<String>,
    pub blue_assignee_id: MaybeUndefined<String>,
    pub tags: Option<Vec<String>>,
    pub executed_at: MaybeUndefined<Timestamp>,
    pub attack_outcome: MaybeUndefined<AttackOutcome>,
    pub red_notes: Option<String>,
    pub detection_outcome: MaybeUndefined<DetectionOutcome>,
    pub detected_at: MaybeUndefined<Timestamp>,
    pub detection_source: MaybeUndefined<String>,
    pub blue_notes: Option<String>,
}

impl From<TestPatchInput> for TestPatch {
    fn from(i: TestPatchInput) -> Self {
        TestPatch {
            name: i.name,
            technique_domain: i.technique_domain,
            technique_id: i.technique_id,
            campaign_id: change(i.campaign_id),
            procedure: i.procedure,
            platform: change(i.platform),
            target_host: change(i.target_host),
            red_assignee_id: change(i.red_assignee_id),
            blue_assignee_id: change(i.blue_assignee_id),
            tags: i.tags,
            executed_at: change(i.executed_at),
            attack_outcome: change(i.attack_outcome),
            red_notes: i.red_notes,
            detection_outcome: change(i.detection_outcome),
            detected_at: change(i.detected_at),
            detection_source: change(i.detection_source),
            blue_notes: i.blue_notes,
        }
    }
}

#[derive(Debug, Object)]
pub struct TestPage {
    pub items: Vec<TestView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Object)]
pub struct FieldChangeView {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// One recorded change: an edit (with its fields), a transition or an evidence change.
#[derive(Debug, Object)]
pub struct HistoryEntry {
    pub id: String,
    pub at: Timestamp,
    pub actor_id: Option<String>,
    pub actor_name: Option<String>,
    /// `test.create`, `test.update`, `test.start_execution`, `test.evidence_add`, ...
    pub action: String,
    /// Field by field, for creations and edits.
    pub changes: Vec<FieldChangeView>,
    pub detail: Value,
}

#[derive(Debug, Object)]
pub struct HistoryPage {
    pub items: Vec<HistoryEntry>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Object)]
pub struct EvidenceView {
    pub id: String,
    pub test_id: String,
    pub side: Side,
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: i64,
    /// Hex SHA-256 of the stored bytes.
    pub sha256: String,
    pub description: String,
    pub uploaded_by_id: String,
    pub uploaded_by_name: String,
    pub uploaded_at: Timestamp,
    pub download_url: String,
}

impl From<EvidenceRecord> for EvidenceView {
    fn from(e: EvidenceRecord) -> Self {
        Self {
            download_url: format!("/api/v1/tests/{}/evidence/{}/download", e.test_id, e.id),
            id: e.id,
            test_id: e.test_id,
            side: e.side,
            file_name: e.file_name,
            media_type: e.media_type,
            size_bytes: e.size_bytes,
            sha256: e.sha256,
            description: e.description,
            uploaded_by_id: e.uploaded_by_id,
            uploaded_by_name: e.uploaded_by_name,
            uploaded_at: e.uploaded_at,
        }
    }
}

#[derive(Debug, Clone, Object)]
pub struct InputArgumentView {
    #[oai(default)]
    pub description: String,
    /// `string`, `path`, `url`, `integer`, ...
    #[oai(rename = "type", default = "default_kind")]
    pub kind: String,
    #[oai(default)]
    pub default: String,
}

fn default_kind() -> String {
    "string".into()
}

impl From<InputArgument> for InputArgumentView {
    fn from(a: InputArgument) -> Self {
        Self {
            description: a.description,
            kind: a.kind,
            default: a.default,
        }
    }
}

impl From<InputArgumentView> for InputArgument {
    fn from(a: InputArgumentView) -> Self {
        Self {
            description: a.description,
            kind: a.kind,
            default: a.default,
        }
    }
}

#[derive(Debug, Object)]
pub struct TemplateView {
    pub id: String,
    pub name: String,
    pub description: String,
    pub technique_domain: String,
    pub technique_id: String,
    pub platforms: Vec<String>,
    pub executor: Option<String>,
    /// The procedure, with `#{argument}` placeholders.
    pub command: String,
    pub cleanup_command: Option<String>,
    pub elevation_required: bool,
    pub input_arguments: BTreeMap<String, InputArgumentView>,
    /// `manual` or `atomic-red-team`.
    pub source: String,
    /// For imported atomics, their `auto_generated_guid`.
    pub external_id: Option<String>,
    pub version: i64,
    pub created_at: Timestamp,
    pub created_by: String,
    pub updated_at: Timestamp,
    pub updated_by: String,
}

impl From<TemplateRecord> for TemplateView {
    fn from(r: TemplateRecord) -> Self {
        let f = r.fields;
        Self {
            id: r.id,
            name: f.name,
            description: f.description,
            technique_domain: f.technique_domain,
            technique_id: f.technique_id,
            platforms: f.platforms,
            executor: f.executor,
            command: f.command,
            cleanup_command: f.cleanup_command,
            elevation_required: f.elevation_required,
            input_arguments: f
                .input_arguments
                .into_iter()
                .map(|(k, v)| (k, v.into()))
                .collect(),
            source: r.source,
            external_id: r.external_id,
            version: r.version,
            created_at: r.created_at,
            created_by: r.created_by,
            updated_at: r.updated_at,
            updated_by: r.updated_by,
        }
    }
}

#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct TemplateInput {
    /// The version you edited (updates only), unless sent as `If-Match`.
    pub version: Option<i64>,
    pub name: Option<String>,
    pub description: Option<String>,
    pub technique_id: Option<String>,
    pub platforms: Option<Vec<String>>,
    pub executor: MaybeUndefined<String>,
    pub command: Option<String>,
    pub cleanup_command: MaybeUndefined<String>,
    pub elevation_required: Option<bool>,
    pub input_arguments: Option<BTreeMap<String, InputArgumentView>>,
}

impl From<TemplateInput> for TemplatePatch {
    fn from(i: TemplateInput) -> Self {
        TemplatePatch {
            name: i.name,
            description: i.description,
            technique_id: i.technique_id,
            platforms: i.platforms,
            executor: change(i.executor),
            command: i.command,
            cleanup_command: change(i.cleanup_command),
            elevation_required: i.elevation_required,
            input_arguments: i
                .input_arguments
                .map(|m| m.into_iter().map(|(k, v)| (k, v.into())).collect()),
        }
    }
}

#[derive(Debug, Object)]
pub struct TemplatePage {
    pub items: Vec<TemplateView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// A test from a template: its technique and command come from the template.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct FromTemplateInput {
    /// Defaults to the template's name.
    pub name: Option<String>,
    /// Values for the template's input arguments; the rest keep their defaults.
    #[oai(default)]
    pub arguments: HashMap<String, String>,
    pub campaign_id: Option<String>,
    /// Defaults to the template's platform when it has exactly one.
    pub platform: Option<String>,
    pub target_host: Option<String>,
    pub red_assignee_id: Option<String>,
    pub blue_assignee_id: Option<String>,
    pub tags: Option<Vec<String>>,
}

#[derive(Debug, Object)]
pub struct ImportProblemView {
    pub file: String,
    pub test: Option<String>,
    pub reason: String,
}

#[derive(Debug, Object)]
pub struct ImportReportView {
    pub files: u64,
    pub created: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Technique ids the catalog does not know; their templates were imported anyway.
    pub unknown_techniques: Vec<String>,
    pub problems: Vec<ImportProblemView>,
}

impl From<ImportReport> for ImportReportView {
    fn from(r: ImportReport) -> Self {
        Self {
            files: r.files,
            created: r.created,
            updated: r.updated,
            unchanged: r.unchanged,
            unknown_techniques: r.unknown_techniques,
            problems: r
                .problems
                .into_iter()
                .map(|p| ImportProblemView {
                    file: p.file,
                    test: p.test,
                    reason: p.reason,
                })
                .collect(),
        }
    }
}
