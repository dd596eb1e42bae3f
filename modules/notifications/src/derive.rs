//! From audit events to notices: who must hear of a change, and in what
//! words. The audit log is the one record every change writes in its own
//! transaction, so following it misses none and needs no hook in the
//! modules that change things.

use std::collections::BTreeSet;

use aegis_core::audit::AuditEvent;
use aegis_core::auth::Role;
use aegis_core::text::truncate;
use aegis_mod_test_cases::TestService;
use aegis_mod_test_cases::error::TestCaseError;
use aegis_mod_test_cases::model::TestRecord;
use aegis_mod_users::UsersService;
use aegis_mod_users::model::UserFilter;
use serde_json::Value;

use crate::model::{NewNotice, NoticeKind, Subject};

/// The audit actions that may tell someone something.
pub const FOLLOWED: &[&str] = &[
    "test.create",
    "test.update",
    "test.submit_to_blue",
    "test.reopen",
    "alert.open",
];

/// Longest title kept, in bytes.
const MAX_TITLE: usize = 300;

/// Who and what is looked up to word a notice.
#[derive(Clone)]
pub struct Deriver {
    pub tests: TestService,
    pub users: UsersService,
}

impl Deriver {
    /// The notices `event` gives, never one to its own actor.
    pub async fn notices_for(&self, event: &AuditEvent) -> anyhow::Result<Vec<NewNotice>> {
        let Some(target) = event.entry.target_id.as_deref() else {
            return Ok(Vec::new());
        };
        let (kind, title, subject, recipients) = match event.entry.action.as_str() {
            "test.create" | "test.update" => {
                let assigned = assigned_in(&event.entry.detail);
                if assigned.is_empty() {
                    return Ok(Vec::new());
                }
                let Some(test) = self.test(target).await? else {
                    return Ok(Vec::new());
                };
                let title = format!("Assigned to you: {}", test.fields.name);
                (NoticeKind::Assigned, title, test, assigned)
            }
            "test.submit_to_blue" => {
                let Some(test) = self.test(target).await? else {
                    return Ok(Vec::new());
                };
                let recipients = self.blue_side(&test).await?;
                let title = format!("Handed to blue: {}", test.fields.name);
                (NoticeKind::HandedToBlue, title, test, recipients)
            }
            "test.reopen" => {
                let Some(test) = self.test(target).await? else {
                    return Ok(Vec::new());
                };
                let mut recipients = self.blue_side(&test).await?;
                recipients.extend(test.fields.red_assignee_id.clone());
                let title = format!("Returned for evaluation: {}", test.fields.name);
                (NoticeKind::Returned, title, test, recipients)
            }
            "alert.open" => {
                let mut recipients = self.active(Role::Lead).await?;
                recipients.extend(self.active(Role::Admin).await?);
                let about = event.entry.detail["title"].as_str().unwrap_or("an alert");
                let title = format!("Alert opened: {about}");
                return Ok(notices(
                    event,
                    NoticeKind::AlertOpened,
                    &title,
                    Subject::Alert(target.to_owned()),
                    recipients,
                ));
            }
            _ => return Ok(Vec::new()),
        };
        Ok(notices(
            event,
            kind,
            &title,
            Subject::Test(subject.id),
            recipients,
        ))
    }

    /// The test, or `None` once it is gone (nothing left to look at).
    async fn test(&self, id: &str) -> anyhow::Result<Option<TestRecord>> {
        match self.tests.get(id).await {
            Ok(test) => Ok(Some(test)),
            Err(TestCaseError::NotFound(_)) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    /// The test's blue assignee or, while it has none, every active blue tech.
    async fn blue_side(&self, test: &TestRecord) -> anyhow::Result<BTreeSet<String>> {
        match &test.fields.blue_assignee_id {
            Some(user) => Ok(BTreeSet::from([user.clone()])),
            None => self.active(Role::BlueTech).await,
        }
    }

    /// The ids of every active user with `role`.
    async fn active(&self, role: Role) -> anyhow::Result<BTreeSet<String>> {
        let filter = UserFilter {
            role: Some(role),
            active: Some(true),
            query: None,
        };
        let page = aegis_core::pagination::MAX_LIMIT;
        let mut ids = BTreeSet::new();
        let mut offset = 0;
        loop {
            let (users, total) = self.users.list(&filter, page, offset).await?;
            ids.extend(users.into_iter().map(|u| u.id.0));
            offset += page;
            if offset >= total {
                return Ok(ids);
            }
        }
    }
}

/// The users a test's create or update event gave a side to: the new value
/// of `red_assignee_id` or `blue_assignee_id` in its `changes`.
fn assigned_in(detail: &Value) -> BTreeSet<String> {
    let Some(changes) = detail["changes"].as_array() else {
        return BTreeSet::new();
    };
    changes
        .iter()
        .filter(|c| {
            matches!(
                c["field"].as_str(),
                Some("red_assignee_id" | "blue_assignee_id")
            )
        })
        .filter_map(|c| c["after"].as_str().map(str::to_owned))
        .collect()
}

fn notices(
    event: &AuditEvent,
    kind: NoticeKind,
    title: &str,
    subject: Subject,
    recipients: BTreeSet<String>,
) -> Vec<NewNotice> {
    let actor = event.entry.actor_id.as_deref();
    recipients
        .into_iter()
        .filter(|user| Some(user.as_str()) != actor)
        .map(|user_id| NewNotice {
            event_id: event.id.clone(),
            user_id,
            kind,
            title: truncate(title, MAX_TITLE).to_owned(),
            subject: subject.clone(),
            created_at: event.at,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn assignments_are_the_new_assignees() {
        let detail = json!({"changes": [
            {"field": "name", "before": "a", "after": "b"},
            {"field": "red_assignee_id", "before": null, "after": "u1"},
            {"field": "blue_assignee_id", "before": "u2", "after": null},
        ]});
        assert_eq!(assigned_in(&detail), BTreeSet::from(["u1".to_owned()]));
        assert!(assigned_in(&json!({})).is_empty());
    }

    #[test]
    fn the_actor_is_not_told() {
        let event = AuditEvent {
            id: "e".into(),
            at: aegis_core::time::now(),
            entry: aegis_core::audit::AuditEntry {
                actor_id: Some("me".into()),
                ..Default::default()
            },
        };
        let told = notices(
            &event,
            NoticeKind::Returned,
            "t",
            Subject::Test("x".into()),
            BTreeSet::from(["me".to_owned(), "you".to_owned()]),
        );
        assert_eq!(told.len(), 1);
        assert_eq!(told[0].user_id, "you");
    }
}
