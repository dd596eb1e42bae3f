//! The inbox: derives notices from the audit log (the scheduled job) and
//! answers each user about their own.

use aegis_core::Kernel;
use aegis_core::time::Timestamp;

use aegis_mod_users::model::UserId;

use crate::derive::{Deriver, FOLLOWED};
use crate::error::NotificationsError;
use crate::mailer::Mailer;
use crate::model::Notice;
use crate::repo::NoticeRepo;

/// How far behind its cursor each run reads the log again. A change's
/// event carries the time it was written, not the time its transaction
/// committed, so one committed late can sit just behind the cursor; reading
/// again is harmless because a notice is unique per event and user.
const LOOKBACK: chrono::Duration = chrono::Duration::seconds(60);

/// Events read per page.
const BATCH: i64 = 200;

/// Notices older than this are not e-mailed: after SMTP is first set up, or
/// after a long outage, users are not sent a backlog they have seen in the inbox.
const EMAIL_WINDOW: chrono::Duration = chrono::Duration::hours(24);

/// Tries per notice before its e-mail is given up (the inbox still has it).
pub const EMAIL_MAX_ATTEMPTS: i64 = 5;

/// Notices e-mailed per run at most; the next run takes the rest.
const EMAIL_BATCH: i64 = 100;

/// The one e-mail run of the cluster holds this key.
const EMAIL_LOCK: &str = "notification-email-run";
/// Longer than a run may take, so a replica that stops mid-run frees it.
const EMAIL_LOCK_TTL: std::time::Duration = std::time::Duration::from_secs(300);
/// A run takes no new notice after this; the next run goes on.
const EMAIL_RUN_BUDGET: std::time::Duration = std::time::Duration::from_secs(25);

/// What an e-mail job run found to do.
#[derive(Debug, PartialEq, Eq)]
pub enum EmailOutcome {
    /// No `[smtp]` host.
    Off,
    /// Another run (here or on another replica) is still sending.
    Busy,
    Ran(EmailRun),
}

/// What one e-mail run did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct EmailRun {
    pub sent: u64,
    pub failed: u64,
    /// Notices of users with no address (or deactivated): never e-mailed.
    pub skipped: u64,
}

#[derive(Clone)]
pub struct NotificationService {
    kernel: Kernel,
    repo: NoticeRepo,
    deriver: Deriver,
    /// None: no SMTP host is configured.
    mailer: Option<Mailer>,
}

impl NotificationService {
    pub fn new(kernel: Kernel, deriver: Deriver, mailer: Option<Mailer>) -> Self {
        Self {
            repo: NoticeRepo::new(kernel.db.clone()),
            kernel,
            deriver,
            mailer,
        }
    }

    /// E-mails the notices not sent yet to their users' addresses. One run
    /// at a time across replicas (a key-value lock), each within
    /// [`EMAIL_RUN_BUDGET`], so runs never overlap and send a notice twice.
    /// A failed try is recorded on the notice and retried by later runs, up
    /// to [`EMAIL_MAX_ATTEMPTS`]; a permanent one is not retried.
    pub async fn email(&self) -> anyhow::Result<EmailOutcome> {
        let Some(mailer) = &self.mailer else {
            return Ok(EmailOutcome::Off);
        };
        let token = uuid::Uuid::new_v4().to_string();
        if !self
            .kernel
            .kv
            .set_if_absent(EMAIL_LOCK, &token, EMAIL_LOCK_TTL)
            .await?
        {
            return Ok(EmailOutcome::Busy);
        }
        let run = self.email_unlocked(mailer).await;
        if let Err(error) = self.kernel.kv.delete_if_equals(EMAIL_LOCK, &token).await {
            tracing::warn!(%error, "cannot free the e-mail lock; it expires on its own");
        }
        Ok(EmailOutcome::Ran(run?))
    }

    async fn email_unlocked(&self, mailer: &Mailer) -> anyhow::Result<EmailRun> {
        let started = std::time::Instant::now();
        let since = self.kernel.clock.now() - EMAIL_WINDOW;
        let mut run = EmailRun::default();
        for notice in self
            .repo
            .unsent(since, EMAIL_MAX_ATTEMPTS, EMAIL_BATCH)
            .await?
        {
            if started.elapsed() > EMAIL_RUN_BUDGET {
                break;
            }
            let user = match self
                .deriver
                .users
                .get(&UserId(notice.user_id.clone()))
                .await
            {
                Ok(user) => user,
                Err(error) => {
                    // One unreadable user holds up nobody else's mail.
                    tracing::warn!(notice = %notice.id, %error, "cannot read a notice's user");
                    continue;
                }
            };
            let address = match (&user.email, user.active) {
                (Some(address), true) => address,
                (None, _) | (_, false) => {
                    let why = if user.active {
                        "no e-mail address"
                    } else {
                        "account deactivated"
                    };
                    self.repo
                        .skip_email(&notice.id, EMAIL_MAX_ATTEMPTS, why)
                        .await?;
                    run.skipped += 1;
                    continue;
                }
            };
            if !self.repo.claim_email(&notice).await? {
                continue;
            }
            match mailer.send(address, &notice).await {
                Ok(()) => {
                    let at = self.kernel.clock.now();
                    self.repo.record_email(&notice.id, Ok(at)).await?;
                    run.sent += 1;
                }
                Err(failure) => {
                    tracing::warn!(notice = %notice.id, error = %failure.reason, "e-mailing a notice failed");
                    if failure.permanent {
                        self.repo
                            .skip_email(&notice.id, EMAIL_MAX_ATTEMPTS, &failure.reason)
                            .await?;
                    } else {
                        self.repo
                            .record_email(&notice.id, Err(&failure.reason))
                            .await?;
                    }
                    run.failed += 1;
                }
            }
        }
        Ok(run)
    }

    /// The first start sets the cursor: the inbox begins now.
    pub async fn start(&self) -> Result<(), NotificationsError> {
        Ok(self.repo.start_cursor(self.kernel.clock.now()).await?)
    }

    /// Reads the audit log after the cursor and stores the notices it gives;
    /// how many are new. Each page's notices and the cursor move together.
    pub async fn derive(&self) -> anyhow::Result<u64> {
        let cursor = match self.repo.cursor().await? {
            Some(at) => at,
            None => {
                self.start().await?;
                return Ok(0);
            }
        };
        let since = cursor - LOOKBACK;
        let mut after: Option<(Timestamp, String)> = None;
        let mut created = 0;
        loop {
            let position = after.as_ref().map(|(at, id)| (*at, id.as_str()));
            let events = self
                .kernel
                .audit
                .oldest_after(FOLLOWED, since, position, BATCH)
                .await?;
            let Some(last) = events.last() else {
                return Ok(created);
            };
            let mut notices = Vec::new();
            for event in &events {
                notices.extend(self.deriver.notices_for(event).await?);
            }
            let mut tx = self.kernel.db.begin().await?;
            for notice in &notices {
                if self.repo.insert(&mut tx, notice).await? {
                    created += 1;
                }
            }
            self.repo.advance_cursor(&mut tx, last.at).await?;
            tx.commit().await?;
            if (events.len() as i64) < BATCH {
                return Ok(created);
            }
            after = Some((last.at, last.id.clone()));
        }
    }

    pub async fn list(
        &self,
        user_id: &str,
        unread_only: bool,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Notice>, i64), NotificationsError> {
        Ok(self.repo.list(user_id, unread_only, limit, offset).await?)
    }

    pub async fn unread_count(&self, user_id: &str) -> Result<i64, NotificationsError> {
        Ok(self.repo.count(user_id, true).await?)
    }

    /// Marks one of the user's notices read; another user's is not found.
    pub async fn mark_read(&self, user_id: &str, id: &str) -> Result<Notice, NotificationsError> {
        self.repo
            .mark_read(user_id, Some(id), self.kernel.clock.now())
            .await?;
        self.repo
            .get(user_id, id)
            .await?
            .ok_or(NotificationsError::NotFound)
    }

    /// Marks every unread notice of the user read; how many.
    pub async fn mark_all_read(&self, user_id: &str) -> Result<u64, NotificationsError> {
        Ok(self
            .repo
            .mark_read(user_id, None, self.kernel.clock.now())
            .await?)
    }
}
