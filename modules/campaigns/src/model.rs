//! A campaign: a named group of tests, often one adversary emulation plan.

use aegis_core::time::Timestamp;
use chrono::NaiveDate;
use poem_openapi::Enum;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
#[oai(rename_all = "snake_case")]
pub enum CampaignStatus {
    Planned,
    Active,
    Completed,
}

impl CampaignStatus {
    pub const ALL: [CampaignStatus; 3] = [Self::Planned, Self::Active, Self::Completed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Planned => "planned",
            Self::Active => "active",
            Self::Completed => "completed",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CampaignFields {
    pub name: String,
    pub description: String,
    pub threat_actor: Option<String>,
    pub starts_on: Option<NaiveDate>,
    pub ends_on: Option<NaiveDate>,
}

#[derive(Debug, Clone)]
pub struct Campaign {
    pub id: String,
    pub fields: CampaignFields,
    pub status: CampaignStatus,
    /// `manual` or `navigator` (imported from a layer).
    pub source: String,
    pub version: i64,
    pub created_at: Timestamp,
    pub created_by: String,
    pub updated_at: Timestamp,
    pub updated_by: String,
    pub activated_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Default)]
pub struct CampaignPatch {
    pub name: Option<String>,
    pub description: Option<String>,
    pub threat_actor: Option<Option<String>>,
    pub starts_on: Option<Option<NaiveDate>>,
    pub ends_on: Option<Option<NaiveDate>>,
}

#[derive(Debug, Clone, Default)]
pub struct CampaignFilter {
    pub status: Option<CampaignStatus>,
    pub text: Option<String>,
}
