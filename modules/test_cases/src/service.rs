//! The rules of a test's life: who may change which fields in which state,
//! the transitions, optimistic versions and the field-by-field history.
//! Each change is one transaction: the row, its tags or transition record,
//! and its audit event commit together or not at all.

use std::sync::Arc;

use aegis_core::Kernel;
use aegis_core::audit::{AuditEvent, AuditFilter};
use aegis_core::auth::{IdentityResolver, Member, Principal, Role};
use aegis_core::db::Conn;
use aegis_core::error::FieldError;
use aegis_mod_techniques::CatalogService;
use serde_json::{Value, json};

use crate::error::TestCaseError;
use crate::model::{TestFields, TestFilter, TestPatch, TestRecord, TransitionRecord, is_attack_id};
use crate::repo::{TestRepo, Total};
use crate::workflow::{FieldGroup, Side, TestState, Transition, may_be_assignee, works_on};
use aegis_core::concurrency::{Actor, VersionError, WriteOutcome, check_version};

pub const DEFAULT_DOMAIN: &str = aegis_mod_techniques::model::DEFAULT_DOMAIN;
pub(crate) const MAX_NAME: usize = 200;
pub(crate) const MAX_TEXT: usize = 64 * 1024;
pub(crate) const MAX_SHORT: usize = 255;
pub(crate) const MAX_TAGS: usize = 32;
pub(crate) const MAX_TAG: usize = 64;
/// The most people the assignee pickers list.
pub const MAX_MEMBERS: i64 = 1000;

/// One changed field, as the history shows it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct FieldChange {
    pub field: String,
    pub before: Value,
    pub after: Value,
}

/// Port to the campaigns module, which depends on this one: the status of a
/// campaign (`planned`, `active`, `completed`), or `None` when there is none.
#[async_trait::async_trait]
pub trait CampaignDirectory: Send + Sync + 'static {
    async fn status(&self, id: &str) -> Result<Option<String>, sqlx::Error>;
}

#[derive(Clone)]
pub struct TestService {
    kernel: Kernel,
    repo: TestRepo,
    catalog: CatalogService,
    identity: Arc<dyn IdentityResolver>,
    campaigns: Arc<dyn CampaignDirectory>,
}

/// Records the audit event of a change to a test inside the change's
/// transaction: if the event cannot be written, the change fails too.
pub(crate) async fn audit_test(
    kernel: &Kernel,
    conn: &mut Conn,
    actor: &Actor,
    action: &str,
    test_id: &str,
    detail: Value,
) -> Result<(), sqlx::Error> {
    kernel
        .audit
        .record_about_in(conn, actor.audit(), action, ("test", test_id), detail)
        .await
}

impl TestService {
    pub fn new(
        kernel: Kernel,
        identity: Arc<dyn IdentityResolver>,
        campaigns: Arc<dyn CampaignDirectory>,
        catalog: CatalogService,
    ) -> Self {
        Self {
            repo: TestRepo::new(kernel.db.clone()),
            catalog,
            kernel,
            identity,
            campaigns,
        }
    }

    /// Who makes a change, at the kernel clock's time.
    pub fn actor(&self, who: &Principal) -> Actor {
        self.kernel.actor(who)
    }

    pub async fn get(&self, id: &str) -> Result<TestRecord, TestCaseError> {
        self.repo
            .get(id)
            .await?
            .ok_or_else(|| TestCaseError::NotFound(format!("no test {id}")))
    }

    pub async fn transitions(&self, id: &str) -> Result<Vec<TransitionRecord>, TestCaseError> {
        Ok(self.repo.transitions(id).await?)
    }

    pub async fn list(
        &self,
        filter: &TestFilter,
        limit: i64,
        offset: i64,
        count_up_to: Option<i64>,
    ) -> Result<(Vec<TestRecord>, Total), TestCaseError> {
        Ok(self.repo.list(filter, limit, offset, count_up_to).await?)
    }

    /// A new draft. The plan and red halves may be filled at once; the blue
    /// half waits for blue_evaluating like any other change.
    pub async fn create(
        &self,
        who: &Principal,
        patch: &TestPatch,
        template_id: Option<&str>,
    ) -> Result<TestRecord, TestCaseError> {
        let empty = TestFields {
            name: String::new(),
            technique_domain: DEFAULT_DOMAIN.into(),
            technique_id: String::new(),
            campaign_id: None,
            procedure: String::new(),
            platform: None,
            target_host: None,
            red_assignee_id: None,
            blue_assignee_id: None,
            tags: Vec::new(),
            executed_at: None,
            attack_outcome: None,
            red_notes: String::new(),
            detection_outcome: None,
            detected_at: None,
            detection_source: None,
            blue_notes: String::new(),
        };
        let mut missing = Vec::new();
        if patch.name.is_none() {
            missing.push(FieldError::new("name", "required"));
        }
        if patch.technique_id.is_none() {
            missing.push(FieldError::new("technique_id", "required"));
        }
        if !missing.is_empty() {
            return Err(TestCaseError::Invalid(missing));
        }
        let mut fields = apply_patch(&empty, TestState::Draft, who.role, patch)?;
        // A red tech's new test is theirs unless they plan it for someone else.
        if who.role == Role::RedTech && fields.red_assignee_id.is_none() {
            fields.red_assignee_id = Some(who.user_id.clone());
        }
        self.check_references(&empty, &fields).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let actor = self.actor(who);
        let changes = diff(&empty, &fields);
        let mut tx = self.kernel.db.begin().await?;
        self.repo
            .insert(&mut tx, &id, &fields, template_id, &actor)
            .await?;
        audit_test(
            &self.kernel,
            &mut tx,
            &actor,
            "test.create",
            &id,
            json!({ "changes": changes, "template_id": template_id }),
        )
        .await?;
        tx.commit().await?;
        self.get(&id).await
    }

    /// Applies `patch` if `expected_version` is still current.
    pub async fn update(
        &self,
        who: &Principal,
        id: &str,
        expected_version: Option<i64>,
        patch: &TestPatch,
    ) -> Result<TestRecord, TestCaseError> {
        let current = self.get(id).await?;
        check_works_on(who, &current)?;
        let expected = check_version(expected_version, current.version)?;
        let fields = apply_patch(&current.fields, current.state, who.role, patch)?;
        let changes = diff(&current.fields, &fields);
        if changes.is_empty() {
            return Ok(current);
        }
        self.check_references(&current.fields, &fields).await?;
        let actor = self.actor(who);
        let mut tx = self.kernel.db.begin().await?;
        match self
            .repo
            .update(&mut tx, id, expected, &fields, &actor)
            .await?
        {
            WriteOutcome::Written(version) => {
                audit_test(
                    &self.kernel,
                    &mut tx,
                    &actor,
                    "test.update",
                    id,
                    json!({ "changes": changes, "version": version }),
                )
                .await?;
                tx.commit().await?;
                self.get(id).await
            }
            WriteOutcome::Conflict => {
                drop(tx);
                Err(TestCaseError::Version(VersionError::Stale {
                    current: self.get(id).await?.version,
                }))
            }
        }
    }

    pub async fn transition(
        &self,
        who: &Principal,
        id: &str,
        transition: Transition,
    ) -> Result<TestRecord, TestCaseError> {
        if !transition.roles().contains(&who.role) {
            return Err(TestCaseError::Forbidden(format!(
                "a {} cannot {}",
                who.role.as_str(),
                transition.slug()
            )));
        }
        let current = self.get(id).await?;
        check_works_on(who, &current)?;
        check_transition(&current, transition)?;
        let actor = self.actor(who);
        let mut tx = self.kernel.db.begin().await?;
        match self
            .repo
            .transition(
                &mut tx,
                id,
                current.state,
                current.version,
                transition,
                &actor,
            )
            .await?
        {
            WriteOutcome::Written(version) => {
                audit_test(
                    &self.kernel,
                    &mut tx,
                    &actor,
                    &format!("test.{}", transition.name()),
                    id,
                    json!({
                        "from": current.state.as_str(),
                        "to": transition.to_state().as_str(),
                        "version": version,
                    }),
                )
                .await?;
                tx.commit().await?;
                self.get(id).await
            }
            // Another change got there first: answer from the state it left.
            WriteOutcome::Conflict => {
                drop(tx);
                Err(lost_race(&self.get(id).await?, transition))
            }
        }
    }

    /// The active users, to pick assignees from and to name people in a
    /// test's history: at most [`MAX_MEMBERS`], by username.
    pub async fn members(&self) -> Result<Vec<Member>, TestCaseError> {
        Ok(self.identity.active_members(MAX_MEMBERS).await?)
    }

    /// Every recorded change of a test, newest first.
    pub async fn history(
        &self,
        id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<AuditEvent>, i64), TestCaseError> {
        self.get(id).await?;
        let filter = AuditFilter {
            target: Some(("test".into(), id.into())),
            ..AuditFilter::default()
        };
        Ok(self.kernel.audit.list(&filter, limit, offset).await?)
    }

    /// The technique must be in the catalog and current; assignees must be
    /// active users. Only what changed is checked, so a test whose technique
    /// was revoked later can still be edited.
    async fn check_references(
        &self,
        before: &TestFields,
        after: &TestFields,
    ) -> Result<(), TestCaseError> {
        if before.technique_id != after.technique_id
            || before.technique_domain != after.technique_domain
        {
            self.check_technique(&after.technique_domain, &after.technique_id)
                .await?;
        }
        if let Some(campaign) = &after.campaign_id
            && before.campaign_id.as_ref() != Some(campaign)
        {
            match self.campaigns.status(campaign).await?.as_deref() {
                None => return Err(TestCaseError::invalid("campaign_id", "no such campaign")),
                Some("completed") => {
                    return Err(TestCaseError::invalid(
                        "campaign_id",
                        "the campaign is completed; it takes no more tests",
                    ));
                }
                Some(_) => {}
            }
        }
        for (field, side, old, new) in [
            (
                "red_assignee_id",
                Side::Red,
                &before.red_assignee_id,
                &after.red_assignee_id,
            ),
            (
                "blue_assignee_id",
                Side::Blue,
                &before.blue_assignee_id,
                &after.blue_assignee_id,
            ),
        ] {
            let Some(user_id) = new else { continue };
            if old.as_ref() == Some(user_id) {
                continue;
            }
            match self.identity.active_user(user_id).await? {
                None => return Err(TestCaseError::invalid(field, "no active user with this id")),
                Some(user) if !may_be_assignee(side, user.role) => {
                    return Err(TestCaseError::invalid(
                        field,
                        format!(
                            "{} is a {}; the {} side takes admins, leads and {} techs",
                            user.username,
                            user.role.as_str(),
                            side.as_str(),
                            side.as_str()
                        ),
                    ));
                }
                Some(_) => {}
            }
        }
        Ok(())
    }

    pub async fn check_technique(
        &self,
        domain: &str,
        attack_id: &str,
    ) -> Result<(), TestCaseError> {
        let Some(stored) = self.catalog.technique(domain, attack_id).await? else {
            return Err(TestCaseError::invalid(
                "technique_id",
                format!(
                    "{attack_id} is not in the ATT&CK catalog (run a MITRE sync first if the catalog is empty)"
                ),
            ));
        };
        let t = stored.technique;
        if t.revoked {
            let hint = t
                .revoked_by
                .map(|r| format!("; use {r} instead"))
                .unwrap_or_default();
            return Err(TestCaseError::invalid(
                "technique_id",
                format!("{attack_id} is revoked{hint}"),
            ));
        }
        if t.deprecated {
            return Err(TestCaseError::invalid(
                "technique_id",
                format!("{attack_id} is deprecated"),
            ));
        }
        Ok(())
    }
}

/// The answer to a transition whose write lost to another change of the
/// test, given the test as it is now: the refusal the current state gives,
/// else a conflict naming that state. Never a stale version (412): a
/// transition takes no version the client could refresh.
fn lost_race(now: &TestRecord, transition: Transition) -> TestCaseError {
    if let Err(refused) = check_transition(now, transition) {
        return refused;
    }
    TestCaseError::WrongState {
        code: "transition_conflict",
        detail: format!(
            "another change to this test landed first; it is {} now: reload and {} again if still wanted",
            now.state.as_str(),
            transition.slug()
        ),
        state: now.state.as_str().into(),
    }
}

fn check_transition(current: &TestRecord, transition: Transition) -> Result<(), TestCaseError> {
    if !transition.from_states().contains(&current.state) {
        let allowed: Vec<&str> = transition
            .from_states()
            .iter()
            .map(|s| s.as_str())
            .collect();
        return Err(TestCaseError::WrongState {
            code: "illegal_transition",
            detail: format!(
                "cannot {} a test in state {}; allowed from {}",
                transition.slug(),
                current.state.as_str(),
                allowed.join(" or ")
            ),
            state: current.state.as_str().into(),
        });
    }
    let f = &current.fields;
    let mut missing = Vec::new();
    match transition {
        Transition::SubmitToBlue => {
            if f.executed_at.is_none() {
                missing.push(FieldError::new(
                    "executed_at",
                    "required before submitting to blue",
                ));
            }
            if f.attack_outcome.is_none() {
                missing.push(FieldError::new(
                    "attack_outcome",
                    "required before submitting to blue",
                ));
            }
        }
        Transition::Complete if f.detection_outcome.is_none() => {
            missing.push(FieldError::new(
                "detection_outcome",
                "required before completing",
            ));
        }
        _ => {}
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(TestCaseError::Incomplete {
            state: current.state.as_str().into(),
            missing,
        })
    }
}

fn groups_of(patch: &TestPatch) -> Vec<(FieldGroup, Vec<&'static str>)> {
    let mut plan = Vec::new();
    let mut red = Vec::new();
    let mut blue = Vec::new();
    macro_rules! touched {
        ($list:ident: $($field:ident),+) => {
            $(if patch.$field.is_some() { $list.push(stringify!($field)); })+
        };
    }
    touched!(plan: name, technique_domain, technique_id, campaign_id, procedure, platform, target_host,
        red_assignee_id, blue_assignee_id, tags);
    touched!(red: executed_at, attack_outcome, red_notes);
    touched!(blue: detection_outcome, detected_at, detection_source, blue_notes);
    [
        (FieldGroup::Plan, plan),
        (FieldGroup::Red, red),
        (FieldGroup::Blue, blue),
    ]
    .into_iter()
    .filter(|(_, fields)| !fields.is_empty())
    .collect()
}

/// The fields after `patch`, if `role` may write every touched group and each
/// group is open in `state`; values are normalised and validated.
pub fn apply_patch(
    current: &TestFields,
    state: TestState,
    role: Role,
    patch: &TestPatch,
) -> Result<TestFields, TestCaseError> {
    let groups = groups_of(patch);
    for (group, fields) in &groups {
        if !group.writers().contains(&role) {
            return Err(TestCaseError::Forbidden(format!(
                "a {} cannot change the {} fields ({})",
                role.as_str(),
                group.name(),
                fields.join(", ")
            )));
        }
    }
    for (group, fields) in &groups {
        if !group.open_in().contains(&state) {
            let open: Vec<&str> = group.open_in().iter().map(|s| s.as_str()).collect();
            return Err(TestCaseError::WrongState {
                code: "fields_locked",
                detail: format!(
                    "the {} fields ({}) can change only in {}; the test is {}",
                    group.name(),
                    fields.join(", "),
                    open.join(" or "),
                    state.as_str()
                ),
                state: state.as_str().into(),
            });
        }
    }

    let mut errors = Vec::new();
    let mut next = current.clone();
    if let Some(name) = &patch.name {
        match bounded(name, 1, MAX_NAME) {
            Ok(n) => next.name = n,
            Err(m) => errors.push(FieldError::new("name", m)),
        }
    }
    if let Some(domain) = &patch.technique_domain {
        if aegis_mod_techniques::model::DOMAINS.contains(&domain.as_str()) {
            next.technique_domain = domain.clone();
        } else {
            errors.push(FieldError::new(
                "technique_domain",
                format!("one of {}", aegis_mod_techniques::model::DOMAINS.join(", ")),
            ));
        }
    }
    if let Some(technique) = &patch.technique_id {
        let id = technique.trim().to_ascii_uppercase();
        if is_attack_id(&id) {
            next.technique_id = id;
        } else {
            errors.push(FieldError::new(
                "technique_id",
                "expected an ATT&CK id such as T1059 or T1059.001",
            ));
        }
    }
    if let Some(procedure) = &patch.procedure {
        match bounded(procedure, 0, MAX_TEXT) {
            Ok(p) => next.procedure = p,
            Err(m) => errors.push(FieldError::new("procedure", m)),
        }
    }
    let short = |field: &'static str,
                 value: &Option<Option<String>>,
                 slot: &mut Option<String>,
                 errors: &mut Vec<FieldError>| {
        if let Some(v) = value {
            match v.as_deref().map(|s| bounded(s, 0, MAX_SHORT)).transpose() {
                Ok(s) => *slot = s.filter(|s| !s.is_empty()),
                Err(m) => errors.push(FieldError::new(field, m)),
            }
        }
    };
    short("platform", &patch.platform, &mut next.platform, &mut errors);
    short(
        "target_host",
        &patch.target_host,
        &mut next.target_host,
        &mut errors,
    );
    short(
        "detection_source",
        &patch.detection_source,
        &mut next.detection_source,
        &mut errors,
    );
    let id_field = |field: &'static str,
                    value: &Option<Option<String>>,
                    slot: &mut Option<String>,
                    errors: &mut Vec<FieldError>| {
        if let Some(v) = value {
            match v.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
                None => *slot = None,
                Some(s) => match uuid::Uuid::parse_str(s) {
                    Ok(u) => *slot = Some(u.to_string()),
                    Err(_) => errors.push(FieldError::new(field, "expected an id (UUID)")),
                },
            }
        }
    };
    id_field(
        "campaign_id",
        &patch.campaign_id,
        &mut next.campaign_id,
        &mut errors,
    );
    id_field(
        "red_assignee_id",
        &patch.red_assignee_id,
        &mut next.red_assignee_id,
        &mut errors,
    );
    id_field(
        "blue_assignee_id",
        &patch.blue_assignee_id,
        &mut next.blue_assignee_id,
        &mut errors,
    );
    if let Some(tags) = &patch.tags {
        match normalise_tags(tags) {
            Ok(t) => next.tags = t,
            Err(m) => errors.push(FieldError::new("tags", m)),
        }
    }
    if let Some(v) = patch.executed_at {
        next.executed_at = v;
    }
    if let Some(v) = patch.attack_outcome {
        next.attack_outcome = v;
    }
    if let Some(v) = patch.detection_outcome {
        next.detection_outcome = v;
    }
    if let Some(v) = patch.detected_at {
        next.detected_at = v;
    }
    for (field, value, slot) in [
        ("red_notes", &patch.red_notes, &mut next.red_notes),
        ("blue_notes", &patch.blue_notes, &mut next.blue_notes),
    ] {
        if let Some(v) = value {
            match bounded(v, 0, MAX_TEXT) {
                Ok(n) => *slot = n,
                Err(m) => errors.push(FieldError::new(field, m)),
            }
        }
    }
    for (field, value) in [
        ("executed_at", next.executed_at),
        ("detected_at", next.detected_at),
    ] {
        if value.is_some_and(|t| !aegis_core::time::storable(t)) {
            errors.push(FieldError::new(
                field,
                "must be between the years 1970 and 9999",
            ));
        }
    }
    if let (Some(executed), Some(detected)) = (next.executed_at, next.detected_at)
        && detected < executed
    {
        errors.push(FieldError::new(
            "detected_at",
            "must not be before executed_at",
        ));
    }
    if errors.is_empty() {
        Ok(next)
    } else {
        Err(TestCaseError::Invalid(errors))
    }
}

/// Trimmed text of `min..=max` characters.
fn bounded(text: &str, min: usize, max: usize) -> Result<String, String> {
    let trimmed = text.trim();
    let length = trimmed.chars().count();
    if length < min {
        Err("must not be empty".into())
    } else if length > max {
        Err(format!("at most {max} characters"))
    } else {
        Ok(trimmed.to_owned())
    }
}

/// Lower-case, de-duplicated, sorted tags of letters, digits and `-_.:/`.
pub fn normalise_tags(tags: &[String]) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = tag.trim().to_lowercase();
        if tag.is_empty() || tag.chars().count() > MAX_TAG {
            return Err(format!("each tag has 1 to {MAX_TAG} characters"));
        }
        if !tag
            .chars()
            .all(|c| c.is_alphanumeric() || "-_.:/ ".contains(c))
        {
            return Err(format!("`{tag}`: letters, digits, spaces and -_.:/ only"));
        }
        if !out.contains(&tag) {
            out.push(tag);
        }
    }
    if out.len() > MAX_TAGS {
        return Err(format!("at most {MAX_TAGS} tags"));
    }
    out.sort();
    Ok(out)
}

/// Field-by-field differences, in field-name order.
pub fn diff(before: &TestFields, after: &TestFields) -> Vec<FieldChange> {
    let (Ok(Value::Object(old)), Ok(Value::Object(new))) =
        (serde_json::to_value(before), serde_json::to_value(after))
    else {
        return Vec::new();
    };
    new.into_iter()
        .filter_map(|(field, after)| {
            let before = old.get(&field).cloned().unwrap_or(Value::Null);
            (before != after).then_some(FieldChange {
                field,
                before,
                after,
            })
        })
        .collect()
}

/// Refuses a technician acting on a test given to another of their side.
pub(crate) fn check_works_on(who: &Principal, test: &TestRecord) -> Result<(), TestCaseError> {
    if works_on(who.role, &who.user_id, &test.fields) {
        return Ok(());
    }
    let side = if who.role == Role::BlueTech {
        "blue"
    } else {
        "red"
    };
    Err(TestCaseError::NotAssignee(format!(
        "this test is assigned to another {side} tech; a lead can reassign it"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{AttackOutcome, DetectionOutcome};

    fn fields() -> TestFields {
        TestFields {
            name: "n".into(),
            technique_domain: DEFAULT_DOMAIN.into(),
            technique_id: "T1059".into(),
            campaign_id: None,
            procedure: String::new(),
            platform: None,
            target_host: None,
            red_assignee_id: None,
            blue_assignee_id: None,
            tags: vec![],
            executed_at: None,
            attack_outcome: None,
            red_notes: String::new(),
            detection_outcome: None,
            detected_at: None,
            detection_source: None,
            blue_notes: String::new(),
        }
    }

    fn record(state: TestState, version: i64) -> TestRecord {
        TestRecord {
            id: "t".into(),
            fields: fields(),
            technique: crate::model::TechniqueRef {
                domain: DEFAULT_DOMAIN.into(),
                attack_id: "T1059".into(),
                name: None,
                revoked: false,
                deprecated: false,
                replaced_by: None,
                replaced_by_name: None,
            },
            template_id: None,
            state,
            version,
            created_at: aegis_core::time::now(),
            created_by: "a".into(),
            updated_at: aegis_core::time::now(),
            updated_by: "a".into(),
        }
    }

    /// Transitions take no version, so losing a race is a conflict with the
    /// state the test is in now (409), never a stale version (412).
    #[test]
    fn a_transition_that_loses_a_race_names_the_current_state() {
        // An edit landed first: the state still allows the transition.
        let edited = lost_race(&record(TestState::Draft, 3), Transition::Cancel);
        // Another transition landed first: the state no longer allows it.
        let moved = lost_race(&record(TestState::Cancelled, 3), Transition::Cancel);
        for (error, state) in [(edited, "draft"), (moved, "cancelled")] {
            let problem = aegis_core::ApiError::from(error).problem().clone();
            assert_eq!(problem.status, 409, "{problem:?}");
            assert_eq!(problem.current_state.as_deref(), Some(state));
            assert_eq!(problem.current_version, None);
        }
    }

    #[test]
    fn each_side_writes_only_its_own_half() {
        let red = TestPatch {
            attack_outcome: Some(Some(AttackOutcome::Succeeded)),
            ..TestPatch::default()
        };
        let blue = TestPatch {
            detection_outcome: Some(Some(DetectionOutcome::Alerted)),
            ..TestPatch::default()
        };
        assert!(apply_patch(&fields(), TestState::RedExecuting, Role::RedTech, &red).is_ok());
        assert!(matches!(
            apply_patch(&fields(), TestState::BlueEvaluating, Role::RedTech, &blue),
            Err(TestCaseError::Forbidden(_))
        ));
        assert!(matches!(
            apply_patch(&fields(), TestState::RedExecuting, Role::BlueTech, &red),
            Err(TestCaseError::Forbidden(_))
        ));
        assert!(apply_patch(&fields(), TestState::BlueEvaluating, Role::BlueTech, &blue).is_ok());
        assert!(matches!(
            apply_patch(&fields(), TestState::RedExecuting, Role::Lead, &blue),
            Err(TestCaseError::WrongState { .. })
        ));
        assert!(matches!(
            apply_patch(
                &fields(),
                TestState::Draft,
                Role::Viewer,
                &TestPatch {
                    name: Some("x".into()),
                    ..TestPatch::default()
                }
            ),
            Err(TestCaseError::Forbidden(_))
        ));
    }

    #[test]
    fn diffs_name_each_changed_field() {
        let mut after = fields();
        after.name = "renamed".into();
        after.tags = vec!["apt29".into()];
        let changes = diff(&fields(), &after);
        let names: Vec<&str> = changes.iter().map(|c| c.field.as_str()).collect();
        assert_eq!(names, ["name", "tags"]);
        assert_eq!(changes[0].before, json!("n"));
        assert_eq!(changes[0].after, json!("renamed"));
    }

    #[test]
    fn tags_are_normalised() {
        let tags = normalise_tags(&[" APT29 ".into(), "apt29".into(), "q3".into()]).unwrap();
        assert_eq!(tags, ["apt29", "q3"]);
        assert!(normalise_tags(&["<script>".into()]).is_err());
    }
}
