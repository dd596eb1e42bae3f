//! `[http]`: the listener, CORS, docs, body limits and trusted proxies.

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
        }
    }
}
