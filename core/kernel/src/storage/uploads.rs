//! Multipart uploads that S3 still holds because nobody completed or aborted
//! them: a server killed mid-upload, or S3 unreachable when the abort was
//! sent. S3 keeps (and bills) their parts until they are aborted, and no
//! object listing shows them. opendal starts, completes and aborts its own
//! uploads but cannot list anyone's, so the two requests needed here,
//! ListMultipartUploads and AbortMultipartUpload, are signed with reqsign
//! (the signer opendal itself uses) and sent through opendal's HTTP transport.

use opendal::{Buffer, HttpTransporter};
use percent_encoding::utf8_percent_encode;
use reqsign_aws_v4::constants::AWS_QUERY_ENCODE_SET;
use reqsign_aws_v4::{Credential, RequestSigner};
use reqsign_core::SignRequest;
use serde::Deserialize;

use super::StorageError;
use crate::config::S3Settings;
use crate::time::Timestamp;

/// A multipart upload begun and never completed or aborted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingUpload {
    /// The object key it would have written, relative to the storage root
    /// (as every other key Aegis uses).
    pub key: String,
    pub upload_id: String,
    /// When S3 says it began, if it says so in a form we can read.
    pub initiated: Option<Timestamp>,
}

/// Lists and aborts pending uploads in the configured bucket and root.
#[derive(Debug, Clone)]
pub(super) struct S3Uploads {
    /// `scheme://host[:port]/bucket`: the path-style address opendal uses.
    bucket_url: String,
    /// The root folder as it prefixes keys in the bucket: `""` or `"a/b/"`.
    root: String,
    region: String,
    credential: Option<Credential>,
    http: HttpTransporter,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListResult {
    #[serde(default)]
    is_truncated: bool,
    #[serde(default)]
    next_key_marker: Option<String>,
    #[serde(default)]
    next_upload_id_marker: Option<String>,
    #[serde(default, rename = "Upload")]
    uploads: Vec<ListedUpload>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListedUpload {
    key: String,
    upload_id: String,
    #[serde(default)]
    initiated: Option<String>,
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, &AWS_QUERY_ENCODE_SET).to_string()
}

fn unavailable(what: &str, error: impl std::fmt::Display) -> StorageError {
    StorageError::Unavailable(format!("{what}: {error}"))
}

impl S3Uploads {
    pub(super) fn new(settings: &S3Settings) -> Self {
        let endpoint = match settings.endpoint.as_deref() {
            Some(e) if e.starts_with("http") => e.trim_end_matches('/').to_owned(),
            Some(e) => format!("https://{}", e.trim_end_matches('/')),
            None => format!("https://s3.{}.amazonaws.com", settings.region),
        };
        let root = settings.root.trim_matches('/');
        let credential = match (&settings.access_key_id, &settings.secret_access_key) {
            (Some(id), Some(secret)) => Some(Credential {
                access_key_id: id.expose().to_owned(),
                secret_access_key: secret.expose().to_owned(),
                session_token: None,
                expires_in: None,
            }),
            _ => None,
        };
        Self {
            bucket_url: format!("{endpoint}/{}", settings.bucket),
            root: if root.is_empty() {
                String::new()
            } else {
                format!("{root}/")
            },
            region: settings.region.clone(),
            credential,
            http: HttpTransporter::default(),
        }
    }

    /// Every pending upload whose key starts with `prefix`, page by page.
    pub(super) async fn list(&self, prefix: &str) -> Result<Vec<PendingUpload>, StorageError> {
        let mut found = Vec::new();
        let mut marker: Option<(String, String)> = None;
        loop {
            let mut url = format!(
                "{}?uploads&prefix={}",
                self.bucket_url,
                encode(&format!("{}{prefix}", self.root))
            );
            if let Some((key, id)) = &marker {
                url.push_str(&format!(
                    "&key-marker={}&upload-id-marker={}",
                    encode(key),
                    encode(id)
                ));
            }
            let body = self.send(http::Method::GET, &url).await?;
            let page: ListResult = quick_xml::de::from_reader(body.as_slice())
                .map_err(|e| unavailable("unreadable ListMultipartUploads answer", e))?;
            for upload in page.uploads {
                let Some(key) = upload.key.strip_prefix(&self.root) else {
                    continue;
                };
                found.push(PendingUpload {
                    key: key.to_owned(),
                    upload_id: upload.upload_id,
                    initiated: upload.initiated.and_then(|t| crate::time::from_db(&t).ok()),
                });
            }
            match (
                page.is_truncated,
                page.next_key_marker,
                page.next_upload_id_marker,
            ) {
                (true, Some(key), Some(id))
                    if marker.as_ref() != Some(&(key.clone(), id.clone())) =>
                {
                    marker = Some((key, id));
                }
                _ => return Ok(found),
            }
        }
    }

    /// Aborts `upload`, dropping its parts; one already gone is not an error.
    pub(super) async fn abort(&self, upload: &PendingUpload) -> Result<(), StorageError> {
        let path: Vec<String> = format!("{}{}", self.root, upload.key)
            .split('/')
            .map(encode)
            .collect();
        let url = format!(
            "{}/{}?uploadId={}",
            self.bucket_url,
            path.join("/"),
            encode(&upload.upload_id)
        );
        match self.send(http::Method::DELETE, &url).await {
            Err(StorageError::NotFound(_)) => Ok(()),
            other => other.map(|_| ()),
        }
    }

    /// Signs and sends a bodiless request; the answer's body when it succeeds.
    async fn send(&self, method: http::Method, url: &str) -> Result<Vec<u8>, StorageError> {
        let request = http::Request::builder()
            .method(method)
            .uri(url)
            .body(())
            .map_err(|e| StorageError::Config(format!("bad S3 address {url}: {e}")))?;
        let (mut parts, ()) = request.into_parts();
        RequestSigner::new("s3", &self.region)
            .sign_request(
                &reqsign_core::Context::new(),
                &mut parts,
                self.credential.as_ref(),
                None,
            )
            .await
            .map_err(|e| StorageError::Config(format!("cannot sign an S3 request: {e}")))?;
        let answer = self
            .http
            .send(http::Request::from_parts(parts, Buffer::new()))
            .await
            .map_err(|e| unavailable("S3 unreachable", e))?;
        let status = answer.status();
        let body = answer.into_body().to_vec();
        if status.is_success() {
            return Ok(body);
        }
        let text = String::from_utf8_lossy(&body);
        let detail = crate::text::truncate(&text, 500);
        if status == http::StatusCode::NOT_FOUND && detail.contains("NoSuchUpload") {
            return Err(StorageError::NotFound(detail.to_owned()));
        }
        Err(unavailable(&format!("S3 answered {status}"), detail))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn list_answers_are_read_with_their_markers() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListMultipartUploadsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Bucket>aegis</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>
  <NextKeyMarker>r/evidence/b</NextKeyMarker><NextUploadIdMarker>2</NextUploadIdMarker>
  <MaxUploads>2</MaxUploads><IsTruncated>true</IsTruncated>
  <Upload><Key>r/evidence/a</Key><UploadId>1</UploadId>
    <Initiator><ID>x</ID></Initiator><Owner><ID>x</ID></Owner>
    <StorageClass>STANDARD</StorageClass><Initiated>2026-11-30T10:00:00.000Z</Initiated></Upload>
  <Upload><Key>r/evidence/b</Key><UploadId>2</UploadId></Upload>
</ListMultipartUploadsResult>"#;
        let page: ListResult = quick_xml::de::from_str(xml).unwrap();
        assert!(page.is_truncated);
        assert_eq!(page.next_key_marker.as_deref(), Some("r/evidence/b"));
        assert_eq!(page.uploads.len(), 2);
        assert_eq!(page.uploads[0].upload_id, "1");
        assert_eq!(
            page.uploads[0].initiated.as_deref(),
            Some("2026-11-30T10:00:00.000Z")
        );
        let empty: ListResult = quick_xml::de::from_str(
            "<ListMultipartUploadsResult><IsTruncated>false</IsTruncated></ListMultipartUploadsResult>",
        )
        .unwrap();
        assert!(empty.uploads.is_empty());
    }

    #[test]
    fn addresses_follow_the_configured_endpoint_bucket_and_root() {
        let uploads = S3Uploads::new(&S3Settings {
            endpoint: Some("http://127.0.0.1:9100/".into()),
            bucket: "aegis-test".into(),
            root: "/run-1/".into(),
            ..S3Settings::default()
        });
        assert_eq!(uploads.bucket_url, "http://127.0.0.1:9100/aegis-test");
        assert_eq!(uploads.root, "run-1/");
        let aws = S3Uploads::new(&S3Settings {
            region: "eu-west-3".into(),
            ..S3Settings::default()
        });
        assert_eq!(aws.bucket_url, "https://s3.eu-west-3.amazonaws.com/aegis");
        assert_eq!(aws.root, "");
        assert!(aws.credential.is_none());
    }
}
