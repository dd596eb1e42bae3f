//! Fetches a bundle from an http(s) URL (with ETag / If-Modified-Since), a
//! `file://` URL or a path; gzip-compressed bundles are inflated. Everything is
//! bounded by `max_bytes`. Failures say in words what went wrong and what to
//! do, never a network client's raw error: an admin on an air-gapped
//! machine reads them in the dashboard.

use std::io::Read;
use std::time::Duration;

/// What to do when the configured source is out of reach.
const OFFLINE_ADVICE: &str = "upload a STIX bundle instead (Admin → MITRE ATT&CK), \
     or point mitre.source (AEGIS_MITRE__SOURCE) at a copy this server can read";

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read {0}: {1}")]
    Read(String, String),
    /// No connection to the source's host at all: no network, no DNS, a
    /// refused connection or no answer in time.
    #[error("cannot reach {0}: {1}; {OFFLINE_ADVICE}")]
    Unreachable(String, String),
    #[error("the download from {0} broke off: {1}")]
    BrokenOff(String, String),
    #[error("{0} answered HTTP {1}")]
    Status(String, u16),
    #[error("the bundle is larger than {0} bytes (mitre.max_bundle_bytes)")]
    TooLarge(usize),
    #[error("the gzip stream is corrupt: {0}")]
    Gzip(String),
}

/// Why a file cannot be read, in words.
fn why_unreadable(error: &std::io::Error) -> String {
    match error.kind() {
        std::io::ErrorKind::NotFound => "there is no such file".into(),
        std::io::ErrorKind::PermissionDenied => "the server may not read it".into(),
        std::io::ErrorKind::IsADirectory => "it is a folder, not a file".into(),
        _ => error.to_string(),
    }
}

/// Why a request never got an answer, in words: the network client's
/// errors name its internals (hyper, connectors), which help nobody.
fn why_unreachable(error: &reqwest::Error, timeout: Duration) -> String {
    if error.is_timeout() {
        return format!("no answer within {} s", timeout.as_secs());
    }
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    let mut chain = String::new();
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            match io.kind() {
                ConnectionRefused => return "the connection was refused".into(),
                NetworkUnreachable | HostUnreachable | NetworkDown => {
                    return "no network route to the host".into();
                }
                TimedOut => return format!("no answer within {} s", timeout.as_secs()),
                _ => {}
            }
        }
        chain.push_str(&e.to_string().to_lowercase());
        cause = e.source();
    }
    if chain.contains("dns") || chain.contains("lookup") || chain.contains("resolve") {
        "the host name does not resolve (no network, or no DNS)".into()
    } else if chain.contains("certificate") || chain.contains("tls") {
        "the TLS handshake failed (the host's certificate is not trusted here)".into()
    } else {
        "no connection could be made (no network?)".into()
    }
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
        let unreadable = |e: std::io::Error| SourceError::Read(path.clone(), why_unreadable(&e));
        let file = std::fs::File::open(&path).map_err(unreadable)?;
        let mut bytes = Vec::new();
        file.take(max_bytes as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(unreadable)?;
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
    let unreachable =
        |e: reqwest::Error| SourceError::Unreachable(url.into(), why_unreachable(&e, timeout));
    let client = reqwest::Client::builder()
        .timeout(timeout)
        .build()
        .map_err(unreachable)?;
    let mut request = client.get(url);
    if let Some(etag) = &previous.etag {
        request = request.header("If-None-Match", etag);
    }
    if let Some(modified) = &previous.last_modified {
        request = request.header("If-Modified-Since", modified);
    }
    let mut response = request.send().await.map_err(unreachable)?;
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
    let broken_off = |e: reqwest::Error| {
        let why = if e.is_timeout() {
            format!("not complete within {} s", timeout.as_secs())
        } else {
            "the connection closed early".into()
        };
        SourceError::BrokenOff(url.into(), why)
    };
    while let Some(chunk) = response.chunk().await.map_err(broken_off)? {
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
pub fn inflate(bytes: Vec<u8>, max: usize) -> Result<Vec<u8>, SourceError> {
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
