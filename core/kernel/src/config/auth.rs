//! `[admin]` and `[auth]`: the first administrator, tokens, cookies and the
//! login limits; what makes a secret key strong enough.

use serde::{Deserialize, Serialize};

use crate::secret::{Secret, lenient_string};

/// The shortest `AEGIS_SECRET_KEY` production accepts.
pub const MIN_SECRET_KEY_LEN: usize = 32;

/// Bounds of a new password in characters, as the OpenAPI document declares
/// them: `auth.min_password_length` may raise the lower one, never lower it.
pub const PASSWORD_LENGTHS: std::ops::RangeInclusive<usize> = 10..=256;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AdminSettings {
    #[serde(deserialize_with = "lenient_string")]
    pub username: String,
    /// First-run admin password; unset means a generated one printed once.
    pub password: Option<Secret>,
}

impl Default for AdminSettings {
    fn default() -> Self {
        Self {
            username: "admin".into(),
            password: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CookieSecure {
    /// Secure in production, not in development.
    #[default]
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthSettings {
    pub token_ttl_minutes: u32,
    pub cookie_secure: CookieSecure,
    /// Failed logins (per username and per address) before each answer is slowed.
    pub login_slowdown_after: u32,
    /// Failed logins within the window before logins are refused with 429.
    pub login_max_failures: u32,
    pub login_window_seconds: u32,
    pub min_password_length: usize,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            token_ttl_minutes: 12 * 60,
            cookie_secure: CookieSecure::Auto,
            login_slowdown_after: 3,
            login_max_failures: 10,
            login_window_seconds: 15 * 60,
            min_password_length: 10,
        }
    }
}

/// Long enough, and not one character repeated or a well-known placeholder.
pub fn is_strong_secret(key: &str) -> bool {
    let distinct: std::collections::BTreeSet<char> = key.chars().collect();
    let lower = key.to_ascii_lowercase();
    key.len() >= MIN_SECRET_KEY_LEN
        && distinct.len() >= 8
        && !["change", "secret", "password", "example"]
            .iter()
            .any(|w| lower.contains(w))
}
