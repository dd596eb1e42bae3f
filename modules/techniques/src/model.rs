//! Catalog queries and sync-run records.

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCounts {
    pub added: i64,
    pub updated: i64,
    /// Newly revoked (on first sync: every revoked object).
    pub revoked: i64,
    /// Newly deprecated (on first sync: every deprecated object).
    pub deprecated: i64,
    /// Gone from the release; kept and marked.
    pub missing: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SyncRun {
    pub id: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// `running`, `succeeded`, `unchanged`, `failed`.
    pub status: String,
    pub trigger_kind: String,
    pub domain: String,
    pub source: String,
    pub release_version: Option<String>,
    pub added: i64,
    pub updated: i64,
    pub revoked: i64,
    pub deprecated: i64,
    pub missing: i64,
    pub error: Option<String>,
    /// Where a running run stands; not a column (the key-value store holds it).
    #[sqlx(skip)]
    pub progress: Option<SyncProgress>,
}

/// Where a running sync stands: its stage (`fetching`, `parsing`,
/// `applying`) and, while applying, how many techniques of how many.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SyncProgress {
    pub stage: String,
    pub done: u64,
    pub total: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum TechniqueSort {
    #[default]
    AttackId,
    AttackIdDesc,
    Name,
    NameDesc,
    Modified,
    ModifiedDesc,
}

#[derive(Debug, Clone)]
pub struct TechniqueFilter {
    pub domain: String,
    /// Tactic short name (`execution`).
    pub tactic: Option<String>,
    pub platform: Option<String>,
    /// Part of the ATT&CK id or name, any case.
    pub text: Option<String>,
    pub include_subtechniques: bool,
    pub include_revoked: bool,
    pub include_deprecated: bool,
    pub sort: TechniqueSort,
}

pub const DEFAULT_DOMAIN: &str = "enterprise-attack";
pub const DOMAINS: [&str; 3] = ["enterprise-attack", "mobile-attack", "ics-attack"];
