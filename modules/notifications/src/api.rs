//! `/api/v1/notifications`: every signed-in user reads and marks their own
//! notices; nobody sees another's (a 404, as for a notice that never was).

use aegis_core::ApiResult;
use aegis_core::auth::{AnyRole, Auth};
use aegis_core::pagination::PageRequest;
use aegis_core::time::Timestamp;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{Object, OpenApi, Tags};

use crate::model::{Notice, NoticeKind, Subject};
use crate::service::NotificationService;

#[derive(Tags)]
enum NotificationsTag {
    /// Each user's inbox: work that waits for them.
    Notifications,
}

pub struct NotificationsApi {
    pub service: NotificationService,
}

/// One notice. Exactly one of `test_id` and `alert_id` is present.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NoticeView {
    pub id: String,
    pub kind: NoticeKind,
    /// What happened, in words: `Assigned to you: <test name>`.
    pub title: String,
    pub test_id: Option<String>,
    pub alert_id: Option<String>,
    pub created_at: Timestamp,
    /// Absent while unread.
    pub read_at: Option<Timestamp>,
    /// When it was e-mailed to you; absent if it was not (yet).
    pub emailed_at: Option<Timestamp>,
}

impl From<Notice> for NoticeView {
    fn from(n: Notice) -> Self {
        let (test_id, alert_id) = match n.subject {
            Subject::Test(id) => (Some(id), None),
            Subject::Alert(id) => (None, Some(id)),
        };
        Self {
            id: n.id,
            kind: n.kind,
            title: n.title,
            test_id,
            alert_id,
            created_at: n.created_at,
            read_at: n.read_at,
            emailed_at: n.email.sent_at,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct NoticePage {
    pub items: Vec<NoticeView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct UnreadCount {
    pub unread: i64,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct MarkedRead {
    /// How many notices were unread and are read now.
    pub marked: i64,
}

#[OpenApi(prefix_path = "/api/v1", tag = "NotificationsTag::Notifications")]
impl NotificationsApi {
    /// My notices, newest first; `unread=true` for the unread ones only.
    #[oai(
        path = "/notifications",
        method = "get",
        operation_id = "list_notifications"
    )]
    async fn list(
        &self,
        auth: Auth<AnyRole>,
        unread: Query<Option<bool>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] limit: Query<Option<i64>>,
        #[oai(validator(minimum(value = "0")))] offset: Query<Option<i64>>,
    ) -> ApiResult<Json<NoticePage>> {
        let page = PageRequest::parse(limit.0, offset.0)?;
        let (items, total) = self
            .service
            .list(
                &auth.user_id,
                unread.0.unwrap_or(false),
                page.limit,
                page.offset,
            )
            .await?;
        Ok(Json(NoticePage {
            items: items.into_iter().map(Into::into).collect(),
            total,
            limit: page.limit,
            offset: page.offset,
        }))
    }

    /// How many of my notices are unread.
    #[oai(
        path = "/notifications/unread-count",
        method = "get",
        operation_id = "count_unread_notifications"
    )]
    async fn unread_count(&self, auth: Auth<AnyRole>) -> ApiResult<Json<UnreadCount>> {
        let unread = self.service.unread_count(&auth.user_id).await?;
        Ok(Json(UnreadCount { unread }))
    }

    /// Mark one of my notices read (again is harmless).
    #[oai(
        path = "/notifications/:id/read",
        method = "post",
        operation_id = "mark_notification_read"
    )]
    async fn mark_read(
        &self,
        auth: Auth<AnyRole>,
        #[oai(validator(max_length = 64))] id: Path<String>,
    ) -> ApiResult<Json<NoticeView>> {
        let notice = self.service.mark_read(&auth.user_id, &id.0).await?;
        Ok(Json(notice.into()))
    }

    /// Mark every one of my notices read.
    #[oai(
        path = "/notifications/read-all",
        method = "post",
        operation_id = "mark_all_notifications_read"
    )]
    async fn mark_all_read(&self, auth: Auth<AnyRole>) -> ApiResult<Json<MarkedRead>> {
        let marked = self.service.mark_all_read(&auth.user_id).await?;
        Ok(Json(MarkedRead {
            marked: i64::try_from(marked).unwrap_or(i64::MAX),
        }))
    }
}
