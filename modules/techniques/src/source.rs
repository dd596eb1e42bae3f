//! Fetches a bundle from an http(s) URL (with ETag / If-Modified-Since), a
//! `file://` URL or a path; gzip-compressed bundles are inflated. Everything is
//! bounded by `max_bytes`.

use std::io::Read;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {0}: {1}")]
    Read(String, String),
    #[error("fetching {0} failed: {1}")]
    Network(String, String),
    #[error("{0} answered HTTP {1}")]
    Status(String, u16),
    #[error("the bundle is larger than {0} bytes")]
    TooLarge(usize),
    #[error("the gzip stream is corrupt: {0}")]
    Gzip(String),
}

/// What the previous sync saw, to ask the server whether anything changed.
#[derive(Debug, Clone, Default)]
pub struct Validators {
    pub etag: Option<String>,
    pub last_modified: Option<String>,
}

#[derive(Debug)]
pub enum Fetched {
    NotModified,
    Bundle {
        bytes: Vec<u8>,
        validators: Validators,
    },
}

pub async fn fetch(
    source: &str,
    previous: &Validators,
    max_bytes: usize,
    timeout: Duration,
) -> Result<Fetched, SourceError> {
    if source.starts_with("http://") || source.starts_with("https://") {
        return fetch_http(source, previous, max_bytes, timeout).await;
    }
    let path = source.strip_prefix("file://").unwrap_or(source).to_owned();
    let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, SourceError> {
        let file = std::fs::File::open(&path)
            .map_err(|e| SourceError::Read(path.clone(), e.to_string()))?;
        let mut bytes = Vec::new();
        file.take(max_bytes as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| SourceError::Read(path.clone(), e.to_string()))?;
        Ok(bytes)
    })
    .await
    .map_err(|e| SourceError::Read(source.into(), e.to_string()))??;
    Ok(Fetched::Bundle {
        bytes: inflate(bounded(bytes, max_bytes)?, max_bytes)?,
        validators: Validators::default(),
    })
}

async fn fetch_http(
    url: &str,
    previous: &Validators,
    max_bytes: usize,
    timeout: Duration,
) -> Result<Fetched, SourceError> {
    let network = |e: reqwest::Error| SourceError::Network(url.into(), e.to_string());
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(network)?;
    let mut request = client.get(url);
    if let Some(etag) = &previous.etag {
        request = request.header("If-None-Match", etag);
    }
    if let Some(modified) = &previous.last_modified {
        request = request.header("If-Modified-Since", modified);
    }
    let mut response = request.send().await.map_err(network)?;
    if response.status() == reqwest::StatusCode::NOT_MODIFIED {
        return Ok(Fetched::NotModified);
    }
    if !response.status().is_success() {
        return Err(SourceError::Status(url.into(), response.status().as_u16()));
    }
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let validators = Validators {
        etag: header("etag"),
        last_modified: header("last-modified"),
    };
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(network)? {
        bytes.extend_from_slice(&chunk);
        if bytes.len() > max_bytes {
            return Err(SourceError::TooLarge(max_bytes));
        }
    }
    Ok(Fetched::Bundle {
        bytes: inflate(bytes, max_bytes)?,
        validators,
    })
}

fn bounded(bytes: Vec<u8>, max: usize) -> Result<Vec<u8>, SourceError> {
    if bytes.len() > max {
        Err(SourceError::TooLarge(max))
    } else {
        Ok(bytes)
    }
}

/// Inflates gzip (magic 1f 8b); anything else passes through.
fn inflate(bytes: Vec<u8>, max: usize) -> Result<Vec<u8>, SourceError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(bytes.as_slice())
        .take(max as u64 + 1)
        .read_to_end(&mut out)
        .map_err(|e| SourceError::Gzip(e.to_string()))?;
    bounded(out, max)
}
