//! `/api/v1/tests`: create, read, edit, list, transitions and history.

use aegis_core::auth::{AnyRole, Auth, BlueTechPlus, Contributor, LeadPlus, RedTechPlus};
use aegis_core::pagination::PageRequest;
use aegis_core::time::Timestamp;
use aegis_core::{ApiError, ApiResult};
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::{TestCasesTag, etag, expected_version};
use crate::dto::{
    FieldChangeView, HistoryEntry, HistoryPage, NewTestInput, TestPage, TestPatchInput, TestView,
};
use crate::model::{AttackOutcome, DetectionOutcome, TestFilter, TestSort, is_attack_id};
use crate::service::TestService;
use crate::workflow::{TestState, Transition};

pub struct TestCasesApi {
    pub tests: TestService,
}

#[derive(ApiResponse)]
pub enum TestCreated {
    #[oai(status = 201)]
    Created(
        Json<TestView>,
        #[oai(header = "ETag")] String,
        #[oai(header = "Location")] String,
    ),
}

#[derive(ApiResponse)]
pub enum TestReply {
    /// The test; `ETag` is its version for `If-Match`.
    #[oai(status = 200)]
    Ok(Json<TestView>, #[oai(header = "ETag")] String),
}

impl TestCasesApi {
    async fn reply(&self, record: crate::model::TestRecord) -> ApiResult<TestReply> {
        let transitions = self.tests.transitions(&record.id).await?;
        let tag = etag(record.version);
        Ok(TestReply::Ok(
            Json(TestView::new(record, Some(transitions))),
            tag,
        ))
    }

    async fn transition(
        &self,
        principal: &aegis_core::auth::Principal,
        id: &str,
        transition: Transition,
    ) -> ApiResult<TestReply> {
        let record = self.tests.transition(principal, id, transition).await?;
        self.reply(record).await
    }
}

fn parse_outcome(raw: Option<String>) -> ApiResult<Option<String>> {
    match raw.filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(o) if AttackOutcome::parse(&o).is_some() || DetectionOutcome::parse(&o).is_some() => {
            Ok(Some(o))
        }
        Some(_) => Err(ApiError::invalid_field(
            "outcome",
            "one of succeeded, failed, blocked, prevented, alerted, logged, not_detected",
        )),
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "TestCasesTag::Tests")]
#[allow(clippy::too_many_arguments)] // one argument per query parameter
impl TestCasesApi {
    /// Find tests by state, technique (a technique matches its sub-techniques),
    /// tactic, campaign, assignee, outcome, platform, tag, dates and text.
    #[oai(path = "/tests", method = "get", operation_id = "list_tests")]
    async fn list_tests(
        &self,
        auth: Auth<AnyRole>,
        state: Query<Option<TestState>>,
        /// ATT&CK id, e.g. `T1059` (includes `T1059.001`...).
        technique: Query<Option<String>>,
        /// Tactic short name, e.g. `execution`.
        tactic: Query<Option<String>>,
        campaign_id: Query<Option<String>>,
        /// A user id (red or blue assignee), or `me`.
        assignee: Query<Option<String>>,
        /// An attack outcome (`succeeded`, `failed`, `blocked`) or a detection
        /// outcome (`prevented`, `alerted`, `logged`, `not_detected`).
        outcome: Query<Option<String>>,
        platform: Query<Option<String>>,
        tag: Query<Option<String>>,
        created_after: Query<Option<Timestamp>>,
        created_before: Query<Option<Timestamp>>,
        executed_after: Query<Option<Timestamp>>,
        executed_before: Query<Option<Timestamp>>,
        /// Part of the name, procedure, host or technique id.
        q: Query<Option<String>>,
        /// `name`, `created_at`, `updated_at`, `executed_at`, `state` or
        /// `technique_id`; a leading `-` sorts descending. Default `-created_at`.
        sort: Query<Option<String>>,
        limit: Query<Option<i64>>,
        offset: Query<Option<i64>>,
    ) -> ApiResult<Json<TestPage>> {
        let page = PageRequest::parse(limit.0, offset.0)?;
        let technique = technique
            .0
            .map(|t| t.trim().to_ascii_uppercase())
            .filter(|t| !t.is_empty());
        if let Some(t) = &technique
            && !is_attack_id(t)
        {
            return Err(ApiError::invalid_field(
                "technique",
                "expected an ATT&CK id such as T1059",
            ));
        }
        let sort = match sort.0.as_deref() {
            None | Some("") => TestSort::default(),
            Some(s) => TestSort::parse(s).ok_or_else(|| {
                ApiError::invalid_field(
                    "sort",
                    format!(
                        "one of {}, optionally prefixed by -",
                        TestSort::KEYS.join(", ")
                    ),
                )
            })?,
        };
        // A time outside the stored form would compare wrongly as text.
        for (field, value) in [
            ("created_after", created_after.0),
            ("created_before", created_before.0),
            ("executed_after", executed_after.0),
            ("executed_before", executed_before.0),
        ] {
            if value.is_some_and(|t| !aegis_core::time::storable(t)) {
                return Err(ApiError::invalid_field(
                    field,
                    "must be between the years 1970 and 9999",
                ));
            }
        }
        let assignee = assignee
            .0
            .filter(|a| !a.is_empty())
            .map(|a| if a == "me" { auth.user_id.clone() } else { a });
        let filter = TestFilter {
            state: state.0,
            technique,
            tactic: tactic.0.filter(|s| !s.is_empty()),
            campaign_id: campaign_id.0.filter(|s| !s.is_empty()),
            assignee_id: assignee,
            outcome: parse_outcome(outcome.0)?,
            platform: platform.0.filter(|s| !s.is_empty()),
            tag: tag
                .0
                .map(|t| t.trim().to_lowercase())
                .filter(|t| !t.is_empty()),
            created_after: created_after.0,
            created_before: created_before.0,
            executed_after: executed_after.0,
            executed_before: executed_before.0,
            text: q.0.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
            sort,
        };
        let (items, total) = self.tests.list(&filter, page.limit, page.offset).await?;
        Ok(Json(TestPage {
            items: items.into_iter().map(|r| TestView::new(r, None)).collect(),
            total,
            limit: page.limit,
            offset: page.offset,
        }))
    }

    /// Plan a test (red techs, leads, admins). It starts as a draft.
    #[oai(path = "/tests", method = "post", operation_id = "create_test")]
    async fn create_test(
        &self,
        auth: Auth<RedTechPlus>,
        body: Json<NewTestInput>,
    ) -> ApiResult<TestCreated> {
        let record = self.tests.create(&auth, &body.0.into(), None).await?;
        let location = format!("/api/v1/tests/{}", record.id);
        let tag = etag(record.version);
        let transitions = self.tests.transitions(&record.id).await?;
        Ok(TestCreated::Created(
            Json(TestView::new(record, Some(transitions))),
            tag,
            location,
        ))
    }

    /// One test with its transitions.
    #[oai(path = "/tests/:id", method = "get", operation_id = "get_test")]
    async fn get_test(&self, _auth: Auth<AnyRole>, id: Path<String>) -> ApiResult<TestReply> {
        let record = self.tests.get(&id.0).await?;
        self.reply(record).await
    }

    /// Change fields. Send the version you edited (`If-Match` or `version`);
    /// a stale one gets 412 with the current version. Red techs write plan and
    /// red fields, blue techs blue fields, leads and admins both.
    #[oai(path = "/tests/:id", method = "patch", operation_id = "update_test")]
    async fn update_test(
        &self,
        auth: Auth<Contributor>,
        id: Path<String>,
        #[oai(name = "If-Match")] if_match: Header<Option<String>>,
        body: Json<TestPatchInput>,
    ) -> ApiResult<TestReply> {
        let version = expected_version(if_match.0.as_deref(), body.0.version)?;
        let record = self
            .tests
            .update(&auth, &id.0, version, &body.0.into())
            .await?;
        self.reply(record).await
    }

    /// draft → red_executing (red techs, leads, admins).
    #[oai(
        path = "/tests/:id/start-execution",
        method = "post",
        operation_id = "start_test_execution"
    )]
    async fn start_execution(
        &self,
        auth: Auth<RedTechPlus>,
        id: Path<String>,
    ) -> ApiResult<TestReply> {
        self.transition(&auth, &id.0, Transition::StartExecution)
            .await
    }

    /// red_executing → blue_evaluating. The test needs `executed_at` and
    /// `attack_outcome` first: without them, 409 `fields_missing` names them.
    #[oai(
        path = "/tests/:id/submit-to-blue",
        method = "post",
        operation_id = "submit_test_to_blue"
    )]
    async fn submit_to_blue(
        &self,
        auth: Auth<RedTechPlus>,
        id: Path<String>,
    ) -> ApiResult<TestReply> {
        self.transition(&auth, &id.0, Transition::SubmitToBlue)
            .await
    }

    /// blue_evaluating → completed (blue techs, leads, admins). The test
    /// needs `detection_outcome` first (409 `fields_missing` otherwise).
    #[oai(
        path = "/tests/:id/complete",
        method = "post",
        operation_id = "complete_test"
    )]
    async fn complete(&self, auth: Auth<BlueTechPlus>, id: Path<String>) -> ApiResult<TestReply> {
        self.transition(&auth, &id.0, Transition::Complete).await
    }

    /// completed → blue_evaluating (leads, admins).
    #[oai(
        path = "/tests/:id/reopen",
        method = "post",
        operation_id = "reopen_test"
    )]
    async fn reopen(&self, auth: Auth<LeadPlus>, id: Path<String>) -> ApiResult<TestReply> {
        self.transition(&auth, &id.0, Transition::Reopen).await
    }

    /// draft or red_executing → cancelled (red techs, leads, admins).
    #[oai(
        path = "/tests/:id/cancel",
        method = "post",
        operation_id = "cancel_test"
    )]
    async fn cancel(&self, auth: Auth<RedTechPlus>, id: Path<String>) -> ApiResult<TestReply> {
        self.transition(&auth, &id.0, Transition::Cancel).await
    }

    /// Every change to the test, newest first: edits field by field,
    /// transitions and evidence, with who and when.
    #[oai(
        path = "/tests/:id/history",
        method = "get",
        operation_id = "get_test_history"
    )]
    async fn history(
        &self,
        _auth: Auth<AnyRole>,
        id: Path<String>,
        limit: Query<Option<i64>>,
        offset: Query<Option<i64>>,
    ) -> ApiResult<Json<HistoryPage>> {
        let page = PageRequest::parse(limit.0, offset.0)?;
        let (events, total) = self.tests.history(&id.0, page.limit, page.offset).await?;
        let items = events
            .into_iter()
            .map(|e| {
                let changes = e.entry.detail["changes"]
                    .as_array()
                    .map(|list| {
                        list.iter()
                            .map(|c| FieldChangeView {
                                field: c["field"].as_str().unwrap_or_default().to_owned(),
                                before: c["before"].clone(),
                                after: c["after"].clone(),
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                HistoryEntry {
                    id: e.id,
                    at: e.at,
                    actor_id: e.entry.actor_id,
                    actor_name: e.entry.actor_name,
                    action: e.entry.action,
                    changes,
                    detail: e.entry.detail,
                }
            })
            .collect();
        Ok(Json(HistoryPage {
            items,
            total,
            limit: page.limit,
            offset: page.offset,
        }))
    }
}
