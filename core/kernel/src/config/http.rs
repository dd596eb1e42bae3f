//! `[http]`: the listener, CORS, docs, body limits, trusted proxies, and the
//! connection limit and timeouts that keep slow or silent clients from
//! holding connections open.

use std::path::PathBuf;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::secret::lenient_string;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpSettings {
    #[serde(deserialize_with = "lenient_string")]
    pub host: String,
    pub port: u16,
    /// Origins allowed by CORS in production (development allows any).
    pub cors_origins: Vec<String>,
    /// Swagger UI and ReDoc; unset means on in development, off in production.
    pub docs: Option<bool>,
    /// Largest request body outside of uploads.
    pub max_body_bytes: usize,
    /// The built dashboard (`npm run build` in `frontend/`); served at `/`
    /// when it holds an `index.html`.
    pub frontend_dir: PathBuf,
    /// Networks of the reverse proxies in front of Aegis: only a socket peer
    /// in one of them may name the client with `Forwarded` or
    /// `X-Forwarded-For` (used by the login throttle and the audit log).
    /// Empty: the socket address is the client's.
    pub trusted_proxies: Vec<IpNet>,
    /// A request head (request line and headers) must be complete this long
    /// after its first byte, or after the connection opened for its first
    /// request; trickling it a byte at a time does not extend the deadline.
    pub header_read_timeout_seconds: u64,
    /// Longest silence between two requests on a kept-alive connection.
    pub idle_timeout_seconds: u64,
    /// Longest silence while a request body is being read, and the grace
    /// before `body_min_bytes_per_second` applies.
    pub body_read_timeout_seconds: u64,
    /// Slowest request body accepted, on average over the time spent waiting
    /// for it: each byte received buys `1 / rate` seconds of waiting on top of
    /// `body_read_timeout_seconds`. 0 keeps only the silence rule.
    pub body_min_bytes_per_second: u64,
    /// Connections served at once; further ones wait in the listen backlog
    /// until one closes.
    pub max_connections: usize,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 8000,
            cors_origins: Vec::new(),
            docs: None,
            max_body_bytes: 1024 * 1024,
            frontend_dir: PathBuf::from("frontend/dist"),
            trusted_proxies: Vec::new(),
            header_read_timeout_seconds: 20,
            idle_timeout_seconds: 75,
            body_read_timeout_seconds: 30,
            body_min_bytes_per_second: 1024,
            max_connections: 512,
        }
    }
}
