//! Notices: what one user is told, and about which test or alert.

use aegis_core::time::Timestamp;

/// Why a user is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
#[oai(rename_all = "snake_case")]
pub enum NoticeKind {
    /// A test's red or blue side was given to you.
    Assigned,
    /// Red finished a test; blue evaluates it now.
    HandedToBlue,
    /// A completed test was reopened for blue's evaluation again.
    Returned,
    /// An alert rule opened an alert.
    AlertOpened,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assigned => "assigned",
            Self::HandedToBlue => "handed_to_blue",
            Self::Returned => "returned",
            Self::AlertOpened => "alert_opened",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "assigned" => Some(Self::Assigned),
            "handed_to_blue" => Some(Self::HandedToBlue),
            "returned" => Some(Self::Returned),
            "alert_opened" => Some(Self::AlertOpened),
            _ => None,
        }
    }
}

/// What a notice is about: one test or one alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    Test(String),
    Alert(String),
}

/// A notice to store: derived from audit event `event_id` for `user_id`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewNotice {
    pub event_id: String,
    pub user_id: String,
    pub kind: NoticeKind,
    pub title: String,
    pub subject: Subject,
    pub created_at: Timestamp,
}

#[derive(Debug, Clone)]
pub struct Notice {
    pub id: String,
    pub user_id: String,
    pub kind: NoticeKind,
    pub title: String,
    pub subject: Subject,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
    pub email: EmailState,
}

/// How e-mailing a notice went.
#[derive(Debug, Clone, Default)]
pub struct EmailState {
    pub sent_at: Option<Timestamp>,
    /// Tries begun, failed or not.
    pub attempts: i64,
    /// The last failure, or why the notice is not e-mailed.
    pub error: Option<String>,
}
