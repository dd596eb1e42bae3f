//! Evidence files: streamed to object storage while their SHA-256 is
//! computed, never held whole in memory. A row exists only for a stored
//! object. What a failed upload stored is removed at once when storage
//! lets it; what stays (storage down, or a crash mid-way) is an object
//! without a row or, on S3, an unfinished multipart upload, and the
//! `evidence_orphan_sweep` job removes both. The row and its audit event
//! are one transaction.

use aegis_core::Kernel;
use aegis_core::auth::{Principal, Role};
use aegis_core::storage::Swept;
use futures::Stream;
use serde_json::json;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::error::TestCaseError;
use crate::evidence_repo::{EvidenceRecord, EvidenceRepo};
use crate::service::{TestService, audit_test, check_works_on};
use crate::workflow::{EvidenceRefusal, TestState, evidence_side};

/// Objects under this prefix are evidence: `evidence/{test_id}/{evidence_id}`.
pub const PREFIX: &str = "evidence/";
/// S3 multipart parts must be at least 5 MiB; this bounds the memory an upload holds.
const WRITE_CHUNK: usize = 8 * 1024 * 1024;
const READ_BUFFER: usize = 256 * 1024;
const MAX_FILE_NAME: usize = 255;

/// A file in storage that no row records yet: [`EvidenceService::record`]
/// or [`EvidenceService::abandon`] it.
#[must_use]
pub struct StoredEvidence(EvidenceRecord);

impl StoredEvidence {
    /// A description sent after the file: a form's parts come in any order.
    pub fn describe(&mut self, description: &str) -> Result<(), TestCaseError> {
        self.0.description = checked_description(description)?;
        Ok(())
    }
}

/// A description of at most 2,000 characters, trimmed.
fn checked_description(text: &str) -> Result<String, TestCaseError> {
    if text.chars().count() > 2000 {
        return Err(TestCaseError::invalid(
            "description",
            "at most 2000 characters",
        ));
    }
    Ok(text.trim().to_owned())
}

/// What the client said about the file.
#[derive(Debug, Clone, Default)]
pub struct UploadMeta {
    pub file_name: Option<String>,
    pub media_type: Option<String>,
    pub description: String,
}

#[derive(Clone)]
pub struct EvidenceService {
    kernel: Kernel,
    repo: EvidenceRepo,
    tests: TestService,
}

impl EvidenceService {
    pub fn new(kernel: Kernel, tests: TestService) -> Self {
        Self {
            repo: EvidenceRepo::new(kernel.db.clone()),
            kernel,
            tests,
        }
    }

    /// Streams `body` into storage and records it. On any failure no row
    /// is written and what reached storage is removed: at once when storage
    /// answers, else by the sweep (the error says which).
    pub async fn upload<R: AsyncRead + Unpin + Send>(
        &self,
        who: &Principal,
        test_id: &str,
        meta: UploadMeta,
        body: R,
    ) -> Result<EvidenceRecord, TestCaseError> {
        let stored = self.store(who, test_id, meta, body).await?;
        self.record(who, stored).await
    }

    /// The first half of [`Self::upload`]: the file streamed into storage,
    /// checked, and not yet recorded, so the caller may still refuse the
    /// request ([`Self::abandon`]) once it has read what followed the file.
    pub async fn store<R: AsyncRead + Unpin + Send>(
        &self,
        who: &Principal,
        test_id: &str,
        meta: UploadMeta,
        mut body: R,
    ) -> Result<StoredEvidence, TestCaseError> {
        let test = self.tests.get(test_id).await?;
        check_works_on(who, &test)?;
        let side = evidence_side(who.role, test.state)
            .map_err(|refusal| refused(refusal, who.role, test.state))?;
        let file_name = clean_file_name(meta.file_name.as_deref())?;
        let media_type = aegis_core::http::essence(
            meta.media_type
                .as_deref()
                .unwrap_or("application/octet-stream"),
        );
        let settings = self.kernel.settings.section::<crate::EvidenceSettings>();
        if !settings
            .allowed_media_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case(&media_type))
        {
            return Err(TestCaseError::UnsupportedMediaType(format!(
                "{media_type} is not an accepted evidence type"
            )));
        }
        let description = checked_description(&meta.description)?;

        let id = uuid::Uuid::now_v7().to_string();
        let key = format!("{PREFIX}{test_id}/{id}");
        let operator = self.kernel.storage.operator();
        let mut writer = operator
            .writer_with(&key)
            .chunk(WRITE_CHUNK)
            .content_type(&media_type)
            .await
            .map_err(|e| TestCaseError::NotStored {
                error: e.into(),
                leftover: false,
            })?;
        let mut hasher = Sha256::new();
        let mut size: u64 = 0;
        let mut buffer = vec![0u8; READ_BUFFER];
        let outcome: Result<(), TestCaseError> = async {
            loop {
                // A body cut at the size limit surfaces here as a read error;
                // the API layer, which sees the request, answers it with 413.
                let n = body.read(&mut buffer).await.map_err(|e| {
                    TestCaseError::BadUpload(format!("the upload stopped before its end: {e}"))
                })?;
                if n == 0 {
                    return Ok(());
                }
                size += n as u64;
                if size > settings.max_bytes {
                    return Err(TestCaseError::TooLarge(format!(
                        "evidence files are limited to {} bytes",
                        settings.max_bytes
                    )));
                }
                hasher.update(&buffer[..n]);
                writer.write(buffer[..n].to_vec()).await?;
            }
        }
        .await;
        let outcome = match outcome {
            Ok(()) => writer.close().await.map(|_| ()).map_err(Into::into),
            Err(error) => Err(error),
        };
        if let Err(error) = outcome {
            let leftover = !self.discard(&mut writer, &key).await;
            return Err(match error {
                TestCaseError::Storage(error) => TestCaseError::NotStored { error, leftover },
                other => other,
            });
        }
        if size == 0 {
            self.remove_object(&key).await;
            return Err(TestCaseError::invalid("file", "the file is empty"));
        }

        let record = EvidenceRecord {
            id,
            test_id: test_id.to_owned(),
            side,
            file_name,
            media_type,
            size_bytes: i64::try_from(size).unwrap_or(i64::MAX),
            sha256: format!("{:x}", hasher.finalize()),
            storage_key: key.clone(),
            description,
            uploaded_by_id: who.user_id.clone(),
            uploaded_by_name: who.username.clone(),
            uploaded_at: self.kernel.clock.now(),
        };
        Ok(StoredEvidence(record))
    }

    /// Removes a stored file that will not be recorded.
    pub async fn abandon(&self, stored: StoredEvidence) {
        self.remove_object(&stored.0.storage_key).await;
    }

    /// The second half of [`Self::upload`]: the row and its audit event,
    /// if the test is still open to the file's side; else the file goes.
    pub async fn record(
        &self,
        who: &Principal,
        stored: StoredEvidence,
    ) -> Result<EvidenceRecord, TestCaseError> {
        let StoredEvidence(record) = stored;
        let (key, test_id) = (record.storage_key.clone(), record.test_id.clone());
        match self.record_upload(who, &record).await {
            Ok(true) => Ok(record),
            Ok(false) => {
                // The test moved on while the bytes streamed in.
                self.remove_object(&key).await;
                let now = self.tests.get(&test_id).await?;
                Err(refused(
                    evidence_side(who.role, now.state)
                        .err()
                        .unwrap_or(EvidenceRefusal::State),
                    who.role,
                    now.state,
                ))
            }
            Err(error) => {
                // Neither row nor event was committed: the object goes too.
                self.remove_object(&key).await;
                Err(error.into())
            }
        }
    }

    /// The row of a stored object and its audit event, in one transaction,
    /// if the test is still open to the record's side; false when it moved on.
    async fn record_upload(
        &self,
        who: &Principal,
        record: &EvidenceRecord,
    ) -> Result<bool, sqlx::Error> {
        let open: Vec<&str> = record
            .side
            .open_states()
            .iter()
            .map(|s| s.as_str())
            .collect();
        let mut tx = self.kernel.db.begin().await?;
        if !self.repo.insert_if_open(&mut tx, record, &open).await? {
            return Ok(false);
        }
        audit_test(
            &self.kernel,
            &mut tx,
            &self.tests.actor(who),
            "test.evidence_add",
            &record.test_id,
            json!({
                "evidence_id": record.id,
                "side": record.side.as_str(),
                "file_name": record.file_name,
                "media_type": record.media_type,
                "size_bytes": record.size_bytes,
                "sha256": record.sha256,
            }),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// Drops what a failed upload wrote: the pending multipart upload (S3)
    /// and whatever object exists at its key (the local folder writes in
    /// place; S3 may have completed the object before the failure reached
    /// us). False when something may remain, for the sweep to remove.
    async fn discard(&self, writer: &mut opendal::Writer, key: &str) -> bool {
        let aborted = match writer.abort().await {
            Ok(()) => true,
            // The local folder cannot abort; its partial file goes with the delete.
            Err(error) if error.kind() == opendal::ErrorKind::Unsupported => true,
            Err(error) => {
                tracing::warn!(%error, key, "cannot abort an evidence upload; the sweep job will");
                false
            }
        };
        self.remove_object(key).await && aborted
    }

    /// Deletes an evidence object; false when it may remain (the sweep job
    /// removes it once storage answers again).
    async fn remove_object(&self, key: &str) -> bool {
        match self.kernel.storage.delete(key).await {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!(%error, key, "cannot remove an evidence object; the sweep job will");
                false
            }
        }
    }

    pub async fn list(&self, test_id: &str) -> Result<Vec<EvidenceRecord>, TestCaseError> {
        self.tests.get(test_id).await?;
        Ok(self.repo.list(test_id).await?)
    }

    pub async fn get(&self, test_id: &str, id: &str) -> Result<EvidenceRecord, TestCaseError> {
        self.repo
            .get(test_id, id)
            .await?
            .ok_or_else(|| TestCaseError::NotFound(format!("no evidence {id} on test {test_id}")))
    }

    /// The file's bytes as a stream, read from storage as the client reads.
    pub async fn open(
        &self,
        record: &EvidenceRecord,
    ) -> Result<impl Stream<Item = std::io::Result<bytes::Bytes>> + Send + use<>, TestCaseError>
    {
        let reader = self
            .kernel
            .storage
            .operator()
            .reader_with(&record.storage_key)
            .chunk(1024 * 1024)
            .await?;
        Ok(reader.into_bytes_stream(..).await?)
    }

    /// Removes a file: its uploader or a lead may, until the test completes.
    pub async fn delete(
        &self,
        who: &Principal,
        test_id: &str,
        id: &str,
    ) -> Result<(), TestCaseError> {
        let test = self.tests.get(test_id).await?;
        let record = self.get(test_id, id).await?;
        let is_lead = matches!(who.role, Role::Admin | Role::Lead);
        if !is_lead && (record.uploaded_by_id != who.user_id || who.role == Role::Viewer) {
            return Err(TestCaseError::Forbidden(
                "only the uploader or a lead may delete evidence".into(),
            ));
        }
        if test.state == TestState::Completed {
            return Err(TestCaseError::WrongState {
                code: "evidence_locked",
                detail: "evidence of a completed test is locked".into(),
                state: test.state.as_str().into(),
            });
        }
        // Row (and its event) first: a failure after the commit leaves an
        // object for the sweep, never a row without a file.
        let mut tx = self.kernel.db.begin().await?;
        if self.repo.delete(&mut tx, id).await? {
            audit_test(
                &self.kernel,
                &mut tx,
                &self.tests.actor(who),
                "test.evidence_delete",
                test_id,
                json!({ "evidence_id": id, "file_name": record.file_name, "sha256": record.sha256 }),
            )
            .await?;
            tx.commit().await?;
            self.remove_object(&record.storage_key).await;
        }
        Ok(())
    }
}

/// Removes what interrupted uploads left once older than `grace` (so no
/// upload still running is touched): evidence objects without a row and,
/// on S3, multipart uploads never completed or aborted.
pub async fn sweep_orphans(
    kernel: &Kernel,
    grace: chrono::Duration,
) -> Result<Swept, TestCaseError> {
    use futures::TryStreamExt;
    let cutoff = kernel.clock.now() - grace;
    let repo = EvidenceRepo::new(kernel.db.clone());
    let operator = kernel.storage.operator();
    let mut lister = operator.lister_with(PREFIX).recursive(true).await?;
    let mut swept = Swept::default();
    while let Some(entry) = lister.try_next().await? {
        if !entry.metadata().is_file() {
            continue;
        }
        let key = entry.path();
        let Some(started) = started_at(key) else {
            tracing::warn!(
                key,
                "an object under evidence/ that Aegis did not name; left alone"
            );
            continue;
        };
        if started < cutoff && !repo.key_exists(key).await? {
            kernel.storage.delete(key).await?;
            tracing::info!(key, "removed an evidence object without a row");
            swept.objects += 1;
        }
    }
    // Dated by the key, as objects are: S3 servers differ in how they
    // report an upload's start, and a key Aegis did not name is not ours.
    swept.uploads = kernel
        .storage
        .abort_stale_uploads(PREFIX, cutoff, |upload| started_at(&upload.key))
        .await?;
    Ok(swept)
}

/// When the upload of `key` began: the evidence id is a UUIDv7, which
/// carries it. None for a key Aegis did not name.
fn started_at(key: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    let id = uuid::Uuid::parse_str(key.rsplit('/').next()?).ok()?;
    let (secs, nanos) = id.get_timestamp()?.to_unix();
    chrono::DateTime::from_timestamp(i64::try_from(secs).ok()?, nanos)
}

fn refused(refusal: EvidenceRefusal, role: Role, state: TestState) -> TestCaseError {
    match refusal {
        EvidenceRefusal::Role => {
            TestCaseError::Forbidden(format!("a {} cannot add evidence", role.as_str()))
        }
        EvidenceRefusal::Locked => TestCaseError::WrongState {
            code: "evidence_locked",
            detail: "evidence of a completed test is locked".into(),
            state: state.as_str().into(),
        },
        EvidenceRefusal::State => TestCaseError::WrongState {
            code: "evidence_side_closed",
            detail: format!(
                "a {} cannot add evidence while the test is {}",
                role.as_str(),
                state.as_str()
            ),
            state: state.as_str().into(),
        },
    }
}

/// The name a download will carry. Names that try to leave their folder
/// (`..`, `/`, `\`) or carry control characters are refused, not rewritten,
/// so the uploader learns; quotes and other awkward characters become `_`.
pub fn clean_file_name(raw: Option<&str>) -> Result<String, TestCaseError> {
    let bad = |why: &str| TestCaseError::invalid("file", format!("file name {why}"));
    let name = raw.map(str::trim).unwrap_or_default();
    if name.is_empty() {
        return Err(bad("is missing"));
    }
    if name.contains(['/', '\\']) || name.chars().all(|c| c == '.') {
        return Err(bad("must be a plain name, not a path"));
    }
    if name.chars().any(char::is_control) {
        return Err(bad("contains control characters"));
    }
    if name.len() > MAX_FILE_NAME {
        return Err(bad("is too long"));
    }
    Ok(name
        .chars()
        .map(|c| {
            if matches!(c, '"' | ';' | '<' | '>' | '|' | ':' | '*' | '?') {
                '_'
            } else {
                c
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_plain_names() {
        assert_eq!(clean_file_name(Some("dump.pcap")).unwrap(), "dump.pcap");
        assert_eq!(clean_file_name(Some("a\"b;c.txt")).unwrap(), "a_b_c.txt");
        assert_eq!(
            clean_file_name(Some("résumé 1.png")).unwrap(),
            "résumé 1.png"
        );
        for bad in [
            "../etc/passwd",
            "..",
            "a/b",
            "c:\\x\\y",
            "x\u{0}y",
            "",
            "...",
        ] {
            assert!(clean_file_name(Some(bad)).is_err(), "{bad:?}");
        }
    }
}
