//! Alert rules, alerts and evaluations.

use aegis_core::plugins::Severity;
use aegis_core::time::Timestamp;
use serde_json::Value;

/// Which part of the data a rule looks at.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleScope {
    pub campaign_id: Option<String>,
    /// A tactic's short name, e.g. `credential-access`.
    pub tactic: Option<String>,
    pub platform: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub name: String,
    /// A built-in kind's id, or `plugin:<plugin id>`.
    pub kind: String,
    pub params: Value,
    pub severity: Severity,
    pub enabled: bool,
    pub scope: RuleScope,
    pub webhook_url: Option<String>,
    /// Never leaves the server: it signs webhook bodies.
    pub webhook_secret: Option<String>,
    pub last_evaluated_at: Option<Timestamp>,
    pub last_error: Option<String>,
    pub version: i64,
    pub created_at: Timestamp,
    pub created_by: String,
    pub updated_at: Timestamp,
    pub updated_by: String,
}

/// What a lead writes when creating or changing a rule.
#[derive(Debug, Clone)]
pub struct RuleFields {
    pub name: String,
    pub kind: String,
    pub params: Value,
    pub severity: Severity,
    pub enabled: bool,
    pub scope: RuleScope,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
}

pub const PLUGIN_KIND_PREFIX: &str = "plugin:";

#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum AlertStatus {
    Open,
    Acknowledged,
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::Resolved => "resolved",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "open" => Some(Self::Open),
            "acknowledged" => Some(Self::Acknowledged),
            "resolved" => Some(Self::Resolved),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Alert {
    pub id: String,
    pub rule_id: String,
    pub severity: Severity,
    pub title: String,
    pub message: String,
    pub technique_ids: Vec<String>,
    pub test_ids: Vec<String>,
    pub status: AlertStatus,
    pub opened_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<Timestamp>,
    pub resolved_by: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AlertFilter {
    pub status: Option<AlertStatus>,
    pub severity: Option<Severity>,
    pub rule_id: Option<String>,
}

/// One run of one rule.
#[derive(Debug, Clone)]
pub struct Evaluation {
    pub id: String,
    pub rule_id: String,
    /// `schedule` or `manual`.
    pub trigger: String,
    pub started_at: Timestamp,
    pub duration_ms: i64,
    pub findings: i64,
    pub opened: i64,
    pub error: Option<String>,
}

/// One webhook delivery of one alert.
#[derive(Debug, Clone)]
pub struct Delivery {
    pub id: String,
    pub rule_id: String,
    pub alert_id: String,
    pub attempts: i64,
    /// The last answer's status, when there was one.
    pub status_code: Option<i64>,
    pub delivered: bool,
    pub error: Option<String>,
    pub at: Timestamp,
}
