//! `/api/v1/tests`: create, read, edit, list, transitions and history.

use aegis_core::auth::{AnyRole, Auth, BlueTechPlus, Contributor, LeadPlus, RedTechPlus};
use aegis_core::pagination::PageRequest;
use aegis_core::{ApiError, ApiResult};
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::{TestCasesTag, etag, expected_version};
use crate::dto::{
    BulkItemStatus, BulkItemView, BulkTestInput, BulkTestReport, FieldChangeView, HistoryEntry,
    HistoryPage, NewTestInput, OutcomeFilter, PersonView, TestPage, TestPatchInput, TestSortKey,
    TestView, WaitingFor,
};
use crate::model::{Position, TestFilter, TestSort};
use crate::service::TestService;
use crate::workflow::{Queue, TestState, Transition};
use aegis_core::time::StorableTime;

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

/// Keyset cursors: a test's place in a sort order, opaque to clients
/// (base64url of JSON), bound to the sort it was made for.
mod cursor {
    use aegis_core::ApiError;
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    use crate::model::{Position, TestSort};

    #[derive(serde::Serialize, serde::Deserialize)]
    struct Cursor {
        sort: String,
        #[serde(flatten)]
        at: Position,
    }

    pub fn write(at: &Position, sort: TestSort) -> String {
        let cursor = Cursor {
            sort: sort.key(),
            at: at.clone(),
        };
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&cursor).unwrap_or_default())
    }

    pub fn read(text: &str, sort: TestSort) -> Result<Position, ApiError> {
        let refused = |why: &str| ApiError::invalid_field("after", why.to_owned());
        let bytes = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| refused("not a cursor this list gave"))?;
        let cursor: Cursor =
            serde_json::from_slice(&bytes).map_err(|_| refused("not a cursor this list gave"))?;
        if cursor.sort != sort.key() {
            return Err(refused("made for another sort; page from the start again"));
        }
        Ok(cursor.at)
    }
}

/// How far past a page's offset the test list counts unless asked for an
/// exact total: counting every match of a long list costs more than the page.
const COUNT_AHEAD: i64 = 10_000;

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
        #[oai(validator(pattern = r"^[Tt][0-9]{4}(\.[0-9]{3})?$"))]
        technique: Query<Option<String>>,
        /// Tactic short name, e.g. `execution`.
        tactic: Query<Option<String>>,
        campaign_id: Query<Option<String>>,
        /// A user id (red or blue assignee), or `me`.
        assignee: Query<Option<String>>,
        outcome: Query<Option<OutcomeFilter>>,
        platform: Query<Option<String>>,
        tag: Query<Option<String>>,
        created_after: Query<Option<StorableTime>>,
        created_before: Query<Option<StorableTime>>,
        executed_after: Query<Option<StorableTime>>,
        executed_before: Query<Option<StorableTime>>,
        /// Words to find: a test matches when each word begins a word of
        /// its name, procedure, host or technique id, in any case
        /// (`lsa` finds "LSASS", `powershell exe` finds "powershell.exe").
        /// Words are runs of letters and digits; other characters only
        /// separate them.
        #[oai(validator(max_length = 200))]
        q: Query<Option<String>>,
        /// `me`: only what waits for the caller. A red tech: their tests in
        /// draft or red_executing. A blue tech: tests in blue_evaluating
        /// given to them or to nobody. Leads and admins: every test neither
        /// completed nor cancelled. Viewers: none.
        waiting_for: Query<Option<WaitingFor>>,
        /// Default `-created_at`.
        sort: Query<Option<TestSortKey>>,
        /// 1 to 500, default 50.
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<i64>>,
        #[oai(validator(minimum(value = "0")))] offset: Query<Option<i64>>,
        /// `true`: count every matching test, however many (slower on long
        /// lists). Otherwise counting stops 10,000 tests past `offset`, and
        /// `total_exact` says whether it stopped.
        exact_total: Query<Option<bool>>,
        /// The `next` of the previous page, with the same `sort`: the tests
        /// after its last one. A page found this way costs what the first
        /// page does at any depth; not with an `offset`.
        #[oai(validator(max_length = 2048))]
        after: Query<Option<String>>,
    ) -> ApiResult<Json<TestPage>> {
        let page = PageRequest::parse(limit.0, offset.0)?;
        // The pattern above already refused anything but an ATT&CK id.
        let technique = technique.0.map(|t| t.to_ascii_uppercase());
        let sort = sort.0.map(TestSort::from).unwrap_or_default();
        let after = after.0.map(|text| cursor::read(&text, sort)).transpose()?;
        if after.is_some() && page.offset > 0 {
            return Err(ApiError::invalid_field(
                "offset",
                "page with either `after` or `offset`, not both",
            ));
        }
        // A time outside the stored form would compare wrongly as text.
        let [
            created_after,
            created_before,
            executed_after,
            executed_before,
        ] = [
            created_after.0,
            created_before.0,
            executed_after.0,
            executed_before.0,
        ]
        .map(|t| t.map(|t| t.0));
        for (field, value) in [
            ("created_after", created_after),
            ("created_before", created_before),
            ("executed_after", executed_after),
            ("executed_before", executed_before),
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
            outcome: outcome.0.map(|o| o.as_str().to_owned()),
            platform: platform.0.filter(|s| !s.is_empty()),
            tag: tag
                .0
                .map(|t| t.trim().to_lowercase())
                .filter(|t| !t.is_empty()),
            created_after,
            created_before,
            executed_after,
            executed_before,
            text: q.0.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()),
            queue: waiting_for
                .0
                .map(|WaitingFor::Me| Queue::of(auth.role, &auth.user_id)),
            sort,
            after,
        };
        let count_up_to =
            (exact_total.0 != Some(true)).then(|| page.offset.saturating_add(COUNT_AHEAD));
        let (items, total) = self
            .tests
            .list(&filter, page.limit, page.offset, count_up_to)
            .await?;
        // A full page may have a next one; its cursor is the last test's place.
        let next = (items.len() as i64 == page.limit)
            .then(|| items.last())
            .flatten()
            .map(|last| cursor::write(&Position::of(last, sort), sort));
        Ok(Json(TestPage {
            items: items.into_iter().map(|r| TestView::new(r, None)).collect(),
            next,
            total: total.count,
            total_exact: total.exact,
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

    /// The active users a test can name, with the sides each may be
    /// assigned to (at most 1000, by username): for assignee pickers and to
    /// name people in a test's history.
    #[oai(
        path = "/tests/people",
        method = "get",
        operation_id = "list_test_people"
    )]
    async fn list_test_people(&self, _auth: Auth<AnyRole>) -> ApiResult<Json<Vec<PersonView>>> {
        let people = self.tests.members().await?;
        Ok(Json(people.into_iter().map(PersonView::from).collect()))
    }

    /// One action on up to 500 tests: assign red or blue, add or remove
    /// tags, move to a campaign, start execution or cancel. Each test is
    /// checked as the single operation checks it (role, assignee, state)
    /// and written in its own transaction with its own audit event, so
    /// some may be done while others are refused: the answer lists each
    /// test's outcome. 403 when the caller's role may never take the action.
    #[oai(
        path = "/tests/bulk",
        method = "post",
        operation_id = "bulk_update_tests"
    )]
    async fn bulk_update_tests(
        &self,
        auth: Auth<Contributor>,
        body: Json<BulkTestInput>,
    ) -> ApiResult<Json<BulkTestReport>> {
        let (ids, action) = body.0.action().map_err(ApiError::invalid)?;
        let results = self.tests.bulk(&auth, &ids, &action).await?;
        let items: Vec<BulkItemView> = results
            .into_iter()
            .map(|(id, outcome)| BulkItemView::new(id, outcome))
            .collect();
        let count = |status| items.iter().filter(|i| i.status == status).count() as i64;
        Ok(Json(BulkTestReport {
            done: count(BulkItemStatus::Done),
            unchanged: count(BulkItemStatus::Unchanged),
            refused: count(BulkItemStatus::Refused),
            items,
        }))
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
        /// The version you edited, as its `ETag` gave it (`"3"`). This or
        /// the body's `version` is required (428 without either, 400 when
        /// they disagree); a version that is no longer current gets 412.
        #[oai(name = "If-Match", validator(pattern = r#"^(W/)?"?[0-9]{1,18}"?$"#))]
        if_match: Header<Option<String>>,
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
        /// 1 to 500, default 50.
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))]
        limit: Query<Option<i64>>,
        #[oai(validator(minimum(value = "0")))] offset: Query<Option<i64>>,
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
