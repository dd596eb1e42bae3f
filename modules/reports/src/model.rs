//! A report: its kind, format, scope and where its generation stands.

use aegis_core::time::Timestamp;

/// What a report covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum ReportKind {
    /// One campaign: its tests, outcomes, evidence and coverage.
    Campaign,
    /// Coverage of the whole matrix (or a platform), with every test.
    Coverage,
    /// Key figures, coverage by tactic, gaps and regressions; no test list.
    Executive,
}

impl ReportKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Campaign => "campaign",
            Self::Coverage => "coverage",
            Self::Executive => "executive",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "campaign" => Some(Self::Campaign),
            "coverage" => Some(Self::Coverage),
            "executive" => Some(Self::Executive),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum ReportStatus {
    Queued,
    Running,
    Ready,
    Failed,
}

impl ReportStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Queued => "queued",
            Self::Running => "running",
            Self::Ready => "ready",
            Self::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "queued" => Some(Self::Queued),
            "running" => Some(Self::Running),
            "ready" => Some(Self::Ready),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct Report {
    pub id: String,
    pub kind: ReportKind,
    /// A built-in format's id, or `plugin:<plugin id>`.
    pub format: String,
    pub title: String,
    pub campaign_id: Option<String>,
    pub platform: Option<String>,
    pub status: ReportStatus,
    /// 0 to 100.
    pub progress: i64,
    pub error: Option<String>,
    pub storage_key: Option<String>,
    pub media_type: Option<String>,
    pub file_name: Option<String>,
    pub size_bytes: Option<i64>,
    pub created_at: Timestamp,
    pub created_by: String,
    pub finished_at: Option<Timestamp>,
}
