//! SQL for notices and the audit-log cursor.

use aegis_core::db::{Conn, Db, decode_opt_time, decode_time};
use aegis_core::time::{self, Timestamp};

use crate::model::{EmailState, NewNotice, Notice, NoticeKind, Subject};

const NOTICE_COLUMNS: &str = "id, user_id, kind, title, test_id, alert_id, created_at, read_at, \
     emailed_at, email_attempts, email_error";

/// The one cursor over the audit log.
const AUDIT_CURSOR: &str = "audit";

#[derive(sqlx::FromRow)]
struct NoticeRow {
    id: String,
    user_id: String,
    kind: String,
    title: String,
    test_id: Option<String>,
    alert_id: Option<String>,
    created_at: String,
    read_at: Option<String>,
    emailed_at: Option<String>,
    email_attempts: i64,
    email_error: Option<String>,
}

impl TryFrom<NoticeRow> for Notice {
    type Error = sqlx::Error;

    fn try_from(r: NoticeRow) -> Result<Self, sqlx::Error> {
        let kind = NoticeKind::parse(&r.kind)
            .ok_or_else(|| sqlx::Error::Decode(format!("kind: `{}`", r.kind).into()))?;
        let subject = match (r.test_id, r.alert_id) {
            (Some(test), _) => Subject::Test(test),
            (None, Some(alert)) => Subject::Alert(alert),
            (None, None) => return Err(sqlx::Error::Decode("a notice about nothing".into())),
        };
        Ok(Self {
            created_at: decode_time(&r.created_at)?,
            read_at: decode_opt_time(r.read_at.as_deref())?,
            email: EmailState {
                sent_at: decode_opt_time(r.emailed_at.as_deref())?,
                attempts: r.email_attempts,
                error: r.email_error,
            },
            id: r.id,
            user_id: r.user_id,
            kind,
            title: r.title,
            subject,
        })
    }
}

#[derive(Clone, Debug)]
pub struct NoticeRepo {
    db: Db,
}

impl NoticeRepo {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// Sets the audit cursor to `at` unless it is set already: the inbox
    /// starts with the module, not with the whole history before it.
    pub async fn start_cursor(&self, at: Timestamp) -> Result<(), sqlx::Error> {
        sqlx::query(
            "INSERT INTO notifications_cursor (name, at) VALUES ($1, $2)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(AUDIT_CURSOR)
        .bind(time::to_db(at))
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// The time of the newest audit event derived from.
    pub async fn cursor(&self) -> Result<Option<Timestamp>, sqlx::Error> {
        let at: Option<String> =
            sqlx::query_scalar("SELECT at FROM notifications_cursor WHERE name = $1")
                .bind(AUDIT_CURSOR)
                .fetch_optional(self.db.pool())
                .await?;
        at.as_deref().map(decode_time).transpose()
    }

    /// Moves the cursor forward to `at`, never back.
    pub async fn advance_cursor(&self, conn: &mut Conn, at: Timestamp) -> Result<(), sqlx::Error> {
        let at = time::to_db(at);
        sqlx::query(
            "INSERT INTO notifications_cursor (name, at) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET at = $2 WHERE notifications_cursor.at < $2",
        )
        .bind(AUDIT_CURSOR)
        .bind(at)
        .execute(&mut *conn)
        .await?;
        Ok(())
    }

    /// Stores `notice` unless its event already told its user; whether it is new.
    pub async fn insert(&self, conn: &mut Conn, notice: &NewNotice) -> Result<bool, sqlx::Error> {
        let (test_id, alert_id) = match &notice.subject {
            Subject::Test(id) => (Some(id.as_str()), None),
            Subject::Alert(id) => (None, Some(id.as_str())),
        };
        let done = sqlx::query(
            "INSERT INTO notifications_notice (id, user_id, kind, title, test_id, alert_id,
                audit_event_id, created_at, email_attempts)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0)
             ON CONFLICT (audit_event_id, user_id) DO NOTHING",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&notice.user_id)
        .bind(notice.kind.as_str())
        .bind(&notice.title)
        .bind(test_id)
        .bind(alert_id)
        .bind(&notice.event_id)
        .bind(time::to_db(notice.created_at))
        .execute(&mut *conn)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// One user's notices, newest first, and how many match.
    pub async fn list(
        &self,
        user_id: &str,
        unread_only: bool,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Notice>, i64), sqlx::Error> {
        let total = self.count(user_id, unread_only).await?;
        let sql = format!(
            "SELECT {NOTICE_COLUMNS} FROM notifications_notice
             WHERE user_id = $1 AND ($2 = 0 OR read_at IS NULL)
             ORDER BY created_at DESC, id DESC LIMIT $3 OFFSET $4"
        );
        let rows: Vec<NoticeRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .bind(i64::from(unread_only))
            .bind(limit)
            .bind(offset)
            .fetch_all(self.db.pool())
            .await?;
        let notices = rows
            .into_iter()
            .map(Notice::try_from)
            .collect::<Result<_, _>>()?;
        Ok((notices, total))
    }

    pub async fn count(&self, user_id: &str, unread_only: bool) -> Result<i64, sqlx::Error> {
        sqlx::query_scalar(
            "SELECT COUNT(*) FROM notifications_notice
             WHERE user_id = $1 AND ($2 = 0 OR read_at IS NULL)",
        )
        .bind(user_id)
        .bind(i64::from(unread_only))
        .fetch_one(self.db.pool())
        .await
    }

    /// `user_id`'s notice `id`, if it is theirs.
    pub async fn get(&self, user_id: &str, id: &str) -> Result<Option<Notice>, sqlx::Error> {
        let sql = format!(
            "SELECT {NOTICE_COLUMNS} FROM notifications_notice WHERE id = $1 AND user_id = $2"
        );
        let row: Option<NoticeRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(user_id)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(Notice::try_from).transpose()
    }

    /// Marks `user_id`'s unread notice `id` (or all of them) read at `at`;
    /// how many changed. A notice read before keeps its first reading.
    pub async fn mark_read(
        &self,
        user_id: &str,
        id: Option<&str>,
        at: Timestamp,
    ) -> Result<u64, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE notifications_notice SET read_at = $1
             WHERE user_id = $2 AND ($3 IS NULL OR id = $3) AND read_at IS NULL",
        )
        .bind(time::to_db(at))
        .bind(user_id)
        .bind(id)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected())
    }

    /// Notices created since `since` that are not e-mailed yet and have had
    /// fewer than `max_attempts` tries, oldest first.
    pub async fn unsent(
        &self,
        since: Timestamp,
        max_attempts: i64,
        limit: i64,
    ) -> Result<Vec<Notice>, sqlx::Error> {
        let sql = format!(
            "SELECT {NOTICE_COLUMNS} FROM notifications_notice
             WHERE emailed_at IS NULL AND email_attempts < $1 AND created_at >= $2
             ORDER BY created_at, id LIMIT $3"
        );
        let rows: Vec<NoticeRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(max_attempts)
            .bind(time::to_db(since))
            .bind(limit)
            .fetch_all(self.db.pool())
            .await?;
        rows.into_iter().map(Notice::try_from).collect()
    }

    /// Counts a try at e-mailing `notice`, unless another run has tried it
    /// since it was read: whether this run may send it.
    pub async fn claim_email(&self, notice: &Notice) -> Result<bool, sqlx::Error> {
        let done = sqlx::query(
            "UPDATE notifications_notice SET email_attempts = email_attempts + 1
             WHERE id = $1 AND emailed_at IS NULL AND email_attempts = $2",
        )
        .bind(&notice.id)
        .bind(notice.email.attempts)
        .execute(self.db.pool())
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records how a claimed try went: sent at a time, or the failure.
    pub async fn record_email(
        &self,
        id: &str,
        outcome: Result<Timestamp, &str>,
    ) -> Result<(), sqlx::Error> {
        let (sent_at, error) = match outcome {
            Ok(at) => (Some(time::to_db(at)), None),
            Err(error) => (None, Some(error)),
        };
        sqlx::query(
            "UPDATE notifications_notice SET emailed_at = $2, email_error = $3 WHERE id = $1",
        )
        .bind(id)
        .bind(sent_at)
        .bind(error)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }

    /// Gives up on e-mailing `id`, saying why (no address, say).
    pub async fn skip_email(&self, id: &str, attempts: i64, why: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE notifications_notice SET email_attempts = $2, email_error = $3
             WHERE id = $1 AND emailed_at IS NULL",
        )
        .bind(id)
        .bind(attempts)
        .bind(why)
        .execute(self.db.pool())
        .await?;
        Ok(())
    }
}
