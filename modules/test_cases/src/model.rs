//! What a test is, as the service and repository see it (no HTTP types).

use aegis_core::time::Timestamp;
use poem_openapi::Enum;
use serde::Serialize;

use crate::workflow::TestState;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum, Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum AttackOutcome {
    Succeeded,
    Failed,
    Blocked,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum, Serialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum DetectionOutcome {
    Prevented,
    Alerted,
    Logged,
    NotDetected,
}

/// An ATT&CK domain; `enterprise-attack` when left out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum)]
#[oai(rename_all = "kebab-case")]
pub enum TechniqueDomain {
    EnterpriseAttack,
    MobileAttack,
    IcsAttack,
}

macro_rules! text_enum {
    ($ty:ty { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)+ _ => None }
            }
        }
    };
}

text_enum!(TechniqueDomain {
    EnterpriseAttack => "enterprise-attack",
    MobileAttack => "mobile-attack",
    IcsAttack => "ics-attack",
});
text_enum!(AttackOutcome { Succeeded => "succeeded", Failed => "failed", Blocked => "blocked" });
text_enum!(DetectionOutcome {
    Prevented => "prevented",
    Alerted => "alerted",
    Logged => "logged",
    NotDetected => "not_detected",
});

/// A technique reference as the catalog sees it now.
#[derive(Debug, Clone, Serialize)]
pub struct TechniqueRef {
    pub domain: String,
    pub attack_id: String,
    /// `None` when the catalog does not (yet) hold the id.
    pub name: Option<String>,
    pub revoked: bool,
    pub deprecated: bool,
    pub replaced_by: Option<String>,
    pub replaced_by_name: Option<String>,
}

/// The fields people edit; the history diffs these field by field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestFields {
    pub name: String,
    pub technique_domain: String,
    pub technique_id: String,
    pub campaign_id: Option<String>,
    pub procedure: String,
    pub platform: Option<String>,
    pub target_host: Option<String>,
    pub red_assignee_id: Option<String>,
    pub blue_assignee_id: Option<String>,
    pub tags: Vec<String>,
    pub executed_at: Option<Timestamp>,
    pub attack_outcome: Option<AttackOutcome>,
    pub red_notes: String,
    pub detection_outcome: Option<DetectionOutcome>,
    pub detected_at: Option<Timestamp>,
    pub detection_source: Option<String>,
    pub blue_notes: String,
}

#[derive(Debug, Clone)]
pub struct TestRecord {
    pub id: String,
    pub fields: TestFields,
    pub technique: TechniqueRef,
    pub template_id: Option<String>,
    pub state: TestState,
    pub version: i64,
    pub created_at: Timestamp,
    pub created_by: String,
    pub updated_at: Timestamp,
    pub updated_by: String,
}

#[derive(Debug, Clone)]
pub struct TransitionRecord {
    pub transition: String,
    pub from_state: String,
    pub to_state: String,
    pub actor_id: String,
    pub actor_name: String,
    pub at: Timestamp,
}

/// A field change: `None` leaves it, `Some(None)` clears it.
pub type Change<T> = Option<Option<T>>;

/// A partial update; each set field is checked against its group's writers
/// and open states.
#[derive(Debug, Clone, Default)]
pub struct TestPatch {
    pub name: Option<String>,
    pub technique_domain: Option<String>,
    pub technique_id: Option<String>,
    pub campaign_id: Change<String>,
    pub procedure: Option<String>,
    pub platform: Change<String>,
    pub target_host: Change<String>,
    pub red_assignee_id: Change<String>,
    pub blue_assignee_id: Change<String>,
    pub tags: Option<Vec<String>>,
    pub executed_at: Change<Timestamp>,
    pub attack_outcome: Change<AttackOutcome>,
    pub red_notes: Option<String>,
    pub detection_outcome: Change<DetectionOutcome>,
    pub detected_at: Change<Timestamp>,
    pub detection_source: Change<String>,
    pub blue_notes: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct TestFilter {
    pub state: Option<TestState>,
    /// An ATT&CK id; a technique also matches its sub-techniques.
    pub technique: Option<String>,
    pub tactic: Option<String>,
    pub campaign_id: Option<String>,
    /// Red or blue assignee.
    pub assignee_id: Option<String>,
    /// An attack outcome or a detection outcome (the two sets do not overlap).
    pub outcome: Option<String>,
    pub platform: Option<String>,
    pub tag: Option<String>,
    pub created_after: Option<Timestamp>,
    pub created_before: Option<Timestamp>,
    pub executed_after: Option<Timestamp>,
    pub executed_before: Option<Timestamp>,
    pub text: Option<String>,
    /// Only what waits for this person (`waiting_for=me`).
    pub queue: Option<crate::workflow::Queue>,
    pub sort: TestSort,
    /// Only the tests after this one in the sort order (keyset paging).
    pub after: Option<Position>,
}

/// A test's place in a sort order: its sort column's stored value (none for
/// a test never executed, under `executed_at`) and its id, which breaks ties.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Position {
    pub value: Option<String>,
    pub id: String,
}

impl Position {
    /// Where `record` stands in `sort`, as the database compares it.
    pub fn of(record: &TestRecord, sort: TestSort) -> Self {
        let value = match sort.column {
            "name" => Some(record.fields.name.clone()),
            "updated_at" => Some(aegis_core::time::to_db(record.updated_at)),
            "executed_at" => record.fields.executed_at.map(aegis_core::time::to_db),
            "state" => Some(record.state.as_str().to_owned()),
            "technique_id" => Some(record.fields.technique_id.clone()),
            _ => Some(aegis_core::time::to_db(record.created_at)),
        };
        Self {
            value,
            id: record.id.clone(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestSort {
    pub column: &'static str,
    pub descending: bool,
}

impl Default for TestSort {
    fn default() -> Self {
        Self {
            column: "created_at",
            descending: true,
        }
    }
}

impl TestSort {
    /// As the API writes it: `name`, `-created_at`, ...
    pub fn key(&self) -> String {
        format!("{}{}", if self.descending { "-" } else { "" }, self.column)
    }

    pub const KEYS: [&'static str; 6] = [
        "name",
        "created_at",
        "updated_at",
        "executed_at",
        "state",
        "technique_id",
    ];

    /// `name`, `-created_at`, ...: a whitelisted column, optionally descending.
    pub fn parse(text: &str) -> Option<Self> {
        let (descending, key) = match text.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        Self::KEYS
            .into_iter()
            .find(|k| *k == key)
            .map(|column| Self { column, descending })
    }
}

/// `T1059` or `T1059.001`.
pub fn is_attack_id(text: &str) -> bool {
    let Some(digits) = text.strip_prefix('T') else {
        return false;
    };
    let (main, sub) = match digits.split_once('.') {
        Some((m, s)) => (m, Some(s)),
        None => (digits, None),
    };
    let numeric = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    numeric(main, 4) && sub.is_none_or(|s| numeric(s, 3))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attack_ids_are_recognised() {
        for good in ["T1059", "T1059.001", "T0800"] {
            assert!(is_attack_id(good), "{good}");
        }
        for bad in [
            "t1059",
            "T159",
            "T1059.1",
            "T1059.0011",
            "TA0002",
            "T1059%",
            "",
        ] {
            assert!(!is_attack_id(bad), "{bad}");
        }
    }

    #[test]
    fn domains_are_the_catalogs() {
        for domain in aegis_mod_techniques::model::DOMAINS {
            assert_eq!(
                TechniqueDomain::parse(domain).map(|d| d.as_str()),
                Some(domain)
            );
        }
    }

    #[test]
    fn sorts_are_whitelisted() {
        assert_eq!(
            TestSort::parse("-updated_at"),
            Some(TestSort {
                column: "updated_at",
                descending: true
            })
        );
        assert_eq!(TestSort::parse("name; DROP TABLE x"), None);
    }
}
