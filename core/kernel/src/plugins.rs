//! The plugin ports: what modules ask of WebAssembly plugins, in plain Rust
//! types that mirror `plugins/wit`. `aegis-plugin-host` implements these
//! traits with wasmtime; modules see only this file, so they build and test
//! without it.

use std::fmt;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// The extension points a plugin can fill, one WIT world each.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, poem_openapi::Enum)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum PluginKind {
    /// Exports `alert-rule`: findings from a view of the data.
    AlertRule,
    /// Exports `report-format`: a file from report data.
    ReportFormat,
}

/// `as_str` and `parse` over the snake_case names that the database,
/// the API and reports use, written once per enum.
macro_rules! names {
    ($ty:ident { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $name),+
                }
            }

            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($name => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

names!(PluginKind { AlertRule => "alert_rule", ReportFormat => "report_format" });

/// What a component says about itself when it is registered.
#[derive(Debug, Clone, PartialEq)]
pub struct PluginDescription {
    pub kind: PluginKind,
    /// The WIT package version it was built against, e.g. `0.1.0`.
    pub interface_version: String,
    /// Stable id chosen by the author, e.g. `blue-review-overdue`.
    pub id: String,
    pub name: String,
    pub description: String,
    /// JSON Schema of its configuration (`{}` when it takes none).
    pub config_schema: serde_json::Value,
    /// Report formats only: the produced file's media type and extension.
    pub media_type: Option<String>,
    pub file_extension: Option<String>,
}

/// A component that passed inspection: its digest, self-description and
/// the host's compiled form of it, which the host keeps only when told to
/// ([`PluginInspector::admit`]), so a refused upload leaves nothing behind.
#[derive(Debug, Clone)]
pub struct Inspected {
    pub sha256: String,
    pub description: PluginDescription,
    pub compiled: Compiled,
}

/// The host's compiled component, opaque to everyone else. Modules carry
/// it from [`PluginInspector::inspect`] to [`PluginInspector::admit`].
#[derive(Clone)]
pub struct Compiled(std::sync::Arc<dyn std::any::Any + Send + Sync>);

impl Compiled {
    /// Wraps what the host compiled.
    pub fn new<T: Send + Sync + 'static>(compiled: T) -> Self {
        Self(std::sync::Arc::new(compiled))
    }

    /// What the host put in, when it is of type `T`.
    pub fn get<T: Send + Sync + 'static>(&self) -> Option<&T> {
        self.0.downcast_ref()
    }
}

impl fmt::Debug for Compiled {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Compiled(..)")
    }
}

/// A registered plugin, as the host needs it to make a call.
#[derive(Debug, Clone)]
pub struct PluginRef {
    /// For log lines.
    pub name: String,
    pub kind: PluginKind,
    /// The digest registered at upload; the stored bytes must still match it.
    pub sha256: String,
    /// Where the component lives in object storage.
    pub storage_key: String,
    /// The administrator's configuration (JSON text), read by `host.config`.
    pub config: String,
}

/// How urgent a finding is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    Serialize,
    Deserialize,
    poem_openapi::Enum,
)]
#[serde(rename_all = "snake_case")]
#[oai(rename_all = "snake_case")]
pub enum Severity {
    Info,
    Low,
    Medium,
    High,
    Critical,
}

names!(Severity { Info => "info", Low => "low", Medium => "medium", High => "high", Critical => "critical" });

/// Where a test is in its workflow, as plugins see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestState {
    Draft,
    RedExecuting,
    BlueEvaluating,
    Completed,
    Cancelled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttackOutcome {
    Succeeded,
    Failed,
    Blocked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectionOutcome {
    Prevented,
    Alerted,
    Logged,
    NotDetected,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoverageStatus {
    Covered,
    Partial,
    Gap,
    Untested,
}

names!(TestState {
    Draft => "draft",
    RedExecuting => "red_executing",
    BlueEvaluating => "blue_evaluating",
    Completed => "completed",
    Cancelled => "cancelled",
});
names!(AttackOutcome { Succeeded => "succeeded", Failed => "failed", Blocked => "blocked" });
names!(DetectionOutcome {
    Prevented => "prevented",
    Alerted => "alerted",
    Logged => "logged",
    NotDetected => "not_detected",
});
names!(CoverageStatus { Covered => "covered", Partial => "partial", Gap => "gap", Untested => "untested" });

/// One test, read-only. Times are Unix seconds (the WIT `timestamp`).
#[derive(Debug, Clone, PartialEq)]
pub struct TestView {
    pub id: String,
    pub name: String,
    pub technique_id: String,
    pub state: TestState,
    pub campaign_id: Option<String>,
    pub platform: Option<String>,
    pub attack_outcome: Option<AttackOutcome>,
    pub detection_outcome: Option<DetectionOutcome>,
    pub executed_at: Option<i64>,
    pub detected_at: Option<i64>,
    pub submitted_at: Option<i64>,
    pub updated_at: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TechniqueView {
    pub id: String,
    pub name: String,
    pub tactics: Vec<String>,
    pub revoked: bool,
    pub deprecated: bool,
    pub replaced_by: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TechniqueCoverageView {
    pub technique_id: String,
    /// A parent technique's status includes its sub-techniques' tests.
    pub status: CoverageStatus,
    pub tests: u32,
    pub regression: bool,
    /// The tests behind `regression` (the built-in kinds name them; the
    /// v0.1 plugin interface does not carry them).
    pub regressed_test_ids: Vec<String>,
    /// Counts in coverage totals: a current technique, not a sub-technique
    /// (the v0.1 plugin interface does not carry it).
    pub counted: bool,
    pub last_tested_at: Option<i64>,
}

/// What an alert rule evaluates.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct EvaluationInput {
    /// The evaluation's time: plugins have no clock of their own.
    pub now: i64,
    pub tests: Vec<TestView>,
    pub techniques: Vec<TechniqueView>,
    pub coverage: Vec<TechniqueCoverageView>,
}

/// Something an alert rule found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: Severity,
    pub title: String,
    pub message: String,
    pub technique_ids: Vec<String>,
    pub test_ids: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Kpi {
    pub name: String,
    pub value: f64,
    pub unit: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TacticCoverage {
    pub id: String,
    pub name: String,
    pub covered: u32,
    pub partial: u32,
    pub gap: u32,
    pub untested: u32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceItem {
    pub test_id: String,
    pub side: String,
    pub file_name: String,
    pub media_type: String,
    pub size_bytes: u64,
    pub sha256: String,
}

/// Everything a report shows, gathered once.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ReportData {
    pub title: String,
    pub kind: String,
    pub generated_at: i64,
    pub scope: String,
    pub kpis: Vec<Kpi>,
    pub tactics: Vec<TacticCoverage>,
    pub coverage: Vec<TechniqueCoverageView>,
    pub tests: Vec<TestView>,
    pub evidence: Vec<EvidenceItem>,
}

/// The error a plugin reported itself (the WIT `plugin-error` variant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PluginError {
    InvalidConfig(String),
    InvalidInput(String),
    Internal(String),
}

impl fmt::Display for PluginError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::InvalidConfig(text) => write!(f, "invalid configuration: {text}"),
            Self::InvalidInput(text) => write!(f, "invalid input: {text}"),
            Self::Internal(text) => write!(f, "internal error: {text}"),
        }
    }
}

/// Why a component was refused before any of its code ran for a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    #[error("not a WebAssembly component: {0}")]
    NotAComponent(String),
    #[error("declared as {declared} but exports the {found} world")]
    WrongWorld {
        declared: &'static str,
        found: String,
    },
    #[error("built against an interface this server does not support: {0}")]
    UnsupportedVersion(String),
    #[error("imports {0}, which Aegis does not provide")]
    ForbiddenImport(String),
    #[error("stored bytes hash to {actual}, not the registered {expected}")]
    HashMismatch { expected: String, actual: String },
}

/// Why one plugin call failed. The server and every other plugin carry on.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PluginFault {
    #[error("did not finish within its {0}")]
    TimedOut(String),
    #[error("went past its memory limit of {0} bytes")]
    OutOfMemory(u64),
    #[error("trapped: {0}")]
    Trapped(String),
    #[error("returned invalid output: {0}")]
    InvalidOutput(String),
    #[error("reported an error: {0}")]
    Reported(PluginError),
    #[error("refused: {0}")]
    Rejected(Rejection),
    /// The component could not be fetched (storage down): not the plugin's fault.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl PluginFault {
    /// A stable snake_case code for API bodies and records.
    pub fn code(&self) -> &'static str {
        match self {
            Self::TimedOut(_) => "plugin_timed_out",
            Self::OutOfMemory(_) => "plugin_out_of_memory",
            Self::Trapped(_) => "plugin_trapped",
            Self::InvalidOutput(_) => "plugin_invalid_output",
            Self::Reported(_) => "plugin_error",
            Self::Rejected(Rejection::NotAComponent(_)) => "not_a_component",
            Self::Rejected(Rejection::WrongWorld { .. }) => "wrong_world",
            Self::Rejected(Rejection::UnsupportedVersion(_)) => "unsupported_interface_version",
            Self::Rejected(Rejection::ForbiddenImport(_)) => "forbidden_import",
            Self::Rejected(Rejection::HashMismatch { .. }) => "hash_mismatch",
            Self::Unavailable(_) => "plugin_unavailable",
        }
    }

    /// Whether the failure counts toward disabling the plugin. Storage
    /// outages are not the plugin's doing, and a plugin refusing its
    /// configuration or input is the caller's: counting those would let
    /// whoever writes a bad rule switch a shared plugin off.
    pub fn counts_against_plugin(&self) -> bool {
        !matches!(
            self,
            Self::Unavailable(_)
                | Self::Reported(PluginError::InvalidConfig(_) | PluginError::InvalidInput(_))
        )
    }
}

/// Checks components and says what they are, before they are registered.
#[async_trait]
pub trait PluginInspector: Send + Sync {
    /// Compiles `component`, checks its world (against `declared` when
    /// given), interface version and imports, and calls its `describe`.
    /// Free of side effects: the host keeps nothing of it.
    async fn inspect(
        &self,
        component: Vec<u8>,
        declared: Option<PluginKind>,
    ) -> Result<Inspected, PluginFault>;

    /// Keeps the compiled component of a plugin whose registration has
    /// committed, so its first call does not compile it again.
    fn admit(&self, inspected: &Inspected);

    /// Drops whatever the host cached for this digest (after a delete).
    fn forget(&self, sha256: &str);
}

/// Runs alert-rule plugins.
#[async_trait]
pub trait AlertRuleEngine: Send + Sync {
    /// `params` is the rule's configuration (JSON text).
    async fn evaluate(
        &self,
        plugin: &PluginRef,
        params: &str,
        input: &EvaluationInput,
    ) -> Result<Vec<Finding>, PluginFault>;
}

/// Runs report-format plugins.
#[async_trait]
pub trait ReportRenderer: Send + Sync {
    async fn render(&self, plugin: &PluginRef, data: &ReportData) -> Result<Vec<u8>, PluginFault>;
}

/// The three ports together, as the server wires them.
pub trait PluginHost: PluginInspector + AlertRuleEngine + ReportRenderer {}

impl<T: PluginInspector + AlertRuleEngine + ReportRenderer> PluginHost for T {}

/// `[plugins]`: what an upload may weigh and what one call may use. Read by
/// the plugins module and by the host that enforces the sandbox.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PluginSettings {
    /// Largest component accepted, in bytes.
    pub max_bytes: u64,
    /// Wall-clock deadline of one call.
    pub call_timeout_ms: u64,
    /// Linear memory one call may grow to, in bytes.
    pub memory_limit_bytes: u64,
    /// Instructions (fuel units) one call may spend; unset means only the deadline bounds it.
    pub fuel: Option<u64>,
    /// Largest rendered report, in bytes.
    pub max_output_bytes: u64,
    /// Most findings one evaluation may return.
    pub max_findings: u32,
    /// A plugin failing this many calls in a row is disabled; 0 never disables.
    pub max_consecutive_failures: u32,
    /// Compiled components kept in memory.
    pub cache_entries: u32,
    /// Plugin calls running at once; more wait their turn.
    pub max_concurrent_calls: u32,
}

impl Default for PluginSettings {
    fn default() -> Self {
        Self {
            max_bytes: 16 * 1024 * 1024,
            call_timeout_ms: 2_000,
            memory_limit_bytes: 64 * 1024 * 1024,
            fuel: None,
            max_output_bytes: 32 * 1024 * 1024,
            max_findings: 1_000,
            max_consecutive_failures: 5,
            cache_entries: 64,
            max_concurrent_calls: 4,
        }
    }
}

impl crate::config::Section for PluginSettings {
    const NAME: &'static str = "plugins";
}
