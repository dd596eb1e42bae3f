//! `[smtp]`: where e-mailed notices go out. With no host, notices stay in
//! the inbox only.

use aegis_core::config::{ConfigError, Section};
use aegis_core::secret::Secret;
use serde::{Deserialize, Serialize};

/// How the connection to the SMTP server is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpSecurity {
    /// Plain connection upgraded with STARTTLS, which must succeed (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
    /// No encryption: only for a relay on a trusted network, and never with a password.
    None,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct SmtpSettings {
    /// The SMTP server; empty: no e-mail.
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    /// Empty: no authentication.
    pub username: String,
    pub password: Secret,
    /// The sender, as `Aegis <aegis@example.org>` or a bare address.
    pub from: String,
    /// The dashboard's address as users reach it (`https://aegis.example.org`),
    /// for the link in each e-mail; empty: no link.
    pub dashboard_url: String,
    /// Connecting and each exchange with the server.
    pub timeout_seconds: u64,
}

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: String::new(),
            port: 587,
            security: SmtpSecurity::Starttls,
            username: String::new(),
            password: Secret::default(),
            from: String::new(),
            dashboard_url: String::new(),
            timeout_seconds: 15,
        }
    }
}

impl SmtpSettings {
    pub fn enabled(&self) -> bool {
        !self.host.trim().is_empty()
    }
}

impl Section for SmtpSettings {
    const NAME: &'static str = "smtp";

    fn check(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: &str| Err(ConfigError(format!("AEGIS_SMTP__{key}: {why}")));
        if !self.enabled() {
            return Ok(());
        }
        if self.port == 0 {
            return bad("PORT", "must be 1 to 65535");
        }
        if self.from.parse::<lettre::message::Mailbox>().is_err() {
            return bad(
                "FROM",
                "expected a sender like `Aegis <aegis@example.org>` (required with a host)",
            );
        }
        if !self.password.is_empty() && self.security == SmtpSecurity::None {
            return bad(
                "SECURITY",
                "a password is never sent unencrypted: use starttls or tls",
            );
        }
        if !self.password.is_empty() && self.username.is_empty() {
            return bad("USERNAME", "required with a password");
        }
        if !(1..=300).contains(&self.timeout_seconds) {
            return bad("TIMEOUT_SECONDS", "expected 1 to 300 seconds");
        }
        let url = self.dashboard_url.trim();
        if !(url.is_empty() || url.starts_with("https://") || url.starts_with("http://")) {
            return bad("DASHBOARD_URL", "expected an http(s) URL");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on() -> SmtpSettings {
        SmtpSettings {
            host: "mail.example.org".into(),
            from: "Aegis <aegis@example.org>".into(),
            ..SmtpSettings::default()
        }
    }

    #[test]
    fn no_host_is_off_and_needs_nothing_else() {
        assert!(!SmtpSettings::default().enabled());
        assert!(SmtpSettings::default().check().is_ok());
        assert!(on().check().is_ok());
    }

    #[test]
    fn each_bad_setting_is_named() {
        let refused = |change: fn(&mut SmtpSettings)| {
            let mut settings = on();
            change(&mut settings);
            settings.check().unwrap_err().to_string()
        };
        assert!(refused(|s| s.from = "not an address".into()).contains("AEGIS_SMTP__FROM"));
        assert!(
            refused(|s| {
                s.security = SmtpSecurity::None;
                s.username = "aegis".into();
                s.password = Secret::new("hunter22");
            })
            .contains("AEGIS_SMTP__SECURITY")
        );
        assert!(refused(|s| s.password = Secret::new("x")).contains("AEGIS_SMTP__USERNAME"));
        assert!(refused(|s| s.timeout_seconds = 0).contains("AEGIS_SMTP__TIMEOUT_SECONDS"));
        assert!(refused(|s| s.dashboard_url = "aegis.local".into()).contains("DASHBOARD_URL"));
    }
}
