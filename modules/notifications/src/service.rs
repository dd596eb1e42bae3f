//! The inbox: derives notices from the audit log (the scheduled job) and
//! answers each user about their own.

use aegis_core::Kernel;
use aegis_core::time::Timestamp;

use crate::derive::{Deriver, FOLLOWED};
use crate::error::NotificationsError;
use crate::model::Notice;
use crate::repo::NoticeRepo;

/// How far behind its cursor each run reads the log again. A change's
/// event carries the time it was written, not the time its transaction
/// committed, so one committed late can sit just behind the cursor; reading
/// again is harmless because a notice is unique per event and user.
const LOOKBACK: chrono::Duration = chrono::Duration::seconds(60);

/// Events read per page.
const BATCH: i64 = 200;

#[derive(Clone)]
pub struct NotificationService {
    kernel: Kernel,
    repo: NoticeRepo,
    deriver: Deriver,
}

impl NotificationService {
    pub fn new(kernel: Kernel, deriver: Deriver) -> Self {
        Self {
            repo: NoticeRepo::new(kernel.db.clone()),
            kernel,
            deriver,
        }
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
