//! One action applied to many tests. Each test goes through the same
//! service call as the single operation (so the same role, assignee, state,
//! reference and version rules) and is written in its own transaction with
//! its own audit event: a refusal of one test stops neither the others nor
//! those already written, and the answer names what happened to each.

use aegis_core::auth::{Principal, Role};

use crate::error::TestCaseError;
use crate::model::{TestPatch, TestRecord};
use crate::service::{TestService, normalise_tags};
use crate::workflow::{FieldGroup, Transition};

/// The most tests one bulk request names.
pub const MAX_BULK: usize = 500;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BulkAction {
    /// Set (or with `None` clear) the red assignee.
    AssignRed(Option<String>),
    AssignBlue(Option<String>),
    AddTags(Vec<String>),
    RemoveTags(Vec<String>),
    /// Put the tests in a campaign, or with `None` take them out of theirs.
    MoveToCampaign(Option<String>),
    /// `start_execution` or `cancel`.
    Transition(Transition),
}

impl BulkAction {
    /// The roles that may take the action at all; each test then applies
    /// its own rules (assignee, state).
    pub fn roles(&self) -> &'static [Role] {
        match self {
            Self::Transition(t) => t.roles(),
            _ => FieldGroup::Plan.writers(),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Self::AssignRed(_) => "assign_red",
            Self::AssignBlue(_) => "assign_blue",
            Self::AddTags(_) => "add_tags",
            Self::RemoveTags(_) => "remove_tags",
            Self::MoveToCampaign(_) => "move_to_campaign",
            Self::Transition(t) => t.name(),
        }
    }
}

/// What one test of a bulk request became.
#[derive(Debug)]
pub enum BulkOutcome {
    /// Written: the test as it is now.
    Done(TestRecord),
    /// Already so; nothing was written.
    Unchanged(TestRecord),
    /// Refused by the test's rules, or failed; nothing was written.
    Refused(TestCaseError),
}

impl TestService {
    /// Applies `action` to each test of `ids` (repeats count once), in order.
    /// Refuses the whole request only when the caller's role may never take
    /// the action, or its tags are malformed.
    pub async fn bulk(
        &self,
        who: &Principal,
        ids: &[String],
        action: &BulkAction,
    ) -> Result<Vec<(String, BulkOutcome)>, TestCaseError> {
        if !action.roles().contains(&who.role) {
            return Err(TestCaseError::Forbidden(format!(
                "a {} cannot {} tests",
                who.role.as_str(),
                action.name().replace('_', " ")
            )));
        }
        if ids.len() > MAX_BULK {
            return Err(TestCaseError::invalid(
                "ids",
                format!("at most {MAX_BULK} tests at once"),
            ));
        }
        let action = match action {
            BulkAction::AddTags(tags) => BulkAction::AddTags(tags_of(tags)?),
            BulkAction::RemoveTags(tags) => BulkAction::RemoveTags(tags_of(tags)?),
            other => other.clone(),
        };
        let mut seen = std::collections::HashSet::new();
        let mut results = Vec::new();
        for id in ids.iter().filter(|id| seen.insert(id.as_str())) {
            let outcome = match self.bulk_one(who, id, &action).await {
                Ok((record, true)) => BulkOutcome::Done(record),
                Ok((record, false)) => BulkOutcome::Unchanged(record),
                Err(refused) => BulkOutcome::Refused(refused),
            };
            results.push((id.clone(), outcome));
        }
        Ok(results)
    }

    /// The test after the action, and whether anything was written.
    async fn bulk_one(
        &self,
        who: &Principal,
        id: &str,
        action: &BulkAction,
    ) -> Result<(TestRecord, bool), TestCaseError> {
        let current = self.get(id).await?;
        let patch = match action {
            BulkAction::Transition(transition) => {
                return Ok((self.transition(who, id, *transition).await?, true));
            }
            BulkAction::AssignRed(user) => TestPatch {
                red_assignee_id: Some(user.clone()),
                ..TestPatch::default()
            },
            BulkAction::AssignBlue(user) => TestPatch {
                blue_assignee_id: Some(user.clone()),
                ..TestPatch::default()
            },
            BulkAction::MoveToCampaign(campaign) => TestPatch {
                campaign_id: Some(campaign.clone()),
                ..TestPatch::default()
            },
            BulkAction::AddTags(tags) => {
                let mut all = current.fields.tags.clone();
                all.extend(tags.iter().cloned());
                TestPatch {
                    tags: Some(all),
                    ..TestPatch::default()
                }
            }
            BulkAction::RemoveTags(tags) => TestPatch {
                tags: Some(
                    current
                        .fields
                        .tags
                        .iter()
                        .filter(|t| !tags.contains(t))
                        .cloned()
                        .collect(),
                ),
                ..TestPatch::default()
            },
        };
        // The version just read: a change landing in between is refused
        // (stale) rather than overwritten.
        let after = self.update(who, id, Some(current.version), &patch).await?;
        let written = after.version != current.version;
        Ok((after, written))
    }
}

fn tags_of(tags: &[String]) -> Result<Vec<String>, TestCaseError> {
    if tags.is_empty() {
        return Err(TestCaseError::invalid("tags", "name at least one tag"));
    }
    normalise_tags(tags).map_err(|m| TestCaseError::invalid("tags", m))
}
