//! E-mail for notices, through the configured SMTP server.

use std::time::Duration;

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::model::{Notice, Subject};
use crate::settings::{SmtpSecurity, SmtpSettings};

/// Sends one notice per message to one recipient.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    dashboard_url: String,
}

impl Mailer {
    /// A mailer for `settings`, or none when no SMTP host is set. The
    /// settings were checked at start-up; an error here says what is wrong.
    pub fn from_settings(settings: &SmtpSettings) -> Result<Option<Self>, String> {
        if !settings.enabled() {
            return Ok(None);
        }
        let host = settings.host.trim();
        let builder = match settings.security {
            SmtpSecurity::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
            SmtpSecurity::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
            SmtpSecurity::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                host,
            )),
        }
        .map_err(|e| format!("SMTP host `{host}`: {e}"))?;
        let mut builder = builder
            .port(settings.port)
            .timeout(Some(Duration::from_secs(settings.timeout_seconds)));
        if !settings.username.is_empty() {
            builder = builder.credentials(Credentials::new(
                settings.username.clone(),
                settings.password.expose().to_owned(),
            ));
        }
        let from = settings
            .from
            .parse::<Mailbox>()
            .map_err(|e| format!("SMTP sender `{}`: {e}", settings.from))?;
        Ok(Some(Self {
            transport: builder.build(),
            from,
            dashboard_url: settings
                .dashboard_url
                .trim()
                .trim_end_matches('/')
                .to_owned(),
        }))
    }

    /// Sends `notice` to `to`; the error is one line for the notice's record.
    pub async fn send(&self, to: &str, notice: &Notice) -> Result<(), SendFailure> {
        let to: Mailbox = to.parse().map_err(|e| SendFailure {
            reason: format!("address: {e}"),
            permanent: true,
        })?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(format!("[Aegis] {}", notice.title))
            .header(ContentType::TEXT_PLAIN)
            .body(self.body(notice))
            .map_err(|e| SendFailure {
                reason: format!("message: {e}"),
                permanent: true,
            })?;
        self.transport
            .send(message)
            .await
            .map(drop)
            .map_err(|e| SendFailure {
                // A server's permanent refusal (5xx) is not retried.
                permanent: e.is_permanent(),
                reason: one_line(&e.to_string()),
            })
    }

    fn body(&self, notice: &Notice) -> String {
        let mut text = format!("{}\n", notice.title);
        if !self.dashboard_url.is_empty() {
            let path = match &notice.subject {
                Subject::Test(id) => format!("/tests/{id}"),
                Subject::Alert(_) => "/alerts".to_owned(),
            };
            text.push_str(&format!("\nOpen it: {}{path}\n", self.dashboard_url));
        }
        text.push_str(
            "\nAegis e-mails your notices because your account has an e-mail address; \
             remove it on your Account page to get them in the inbox only.\n",
        );
        text
    }
}

/// Why a message did not go; a permanent failure is not tried again.
#[derive(Debug)]
pub struct SendFailure {
    pub reason: String,
    pub permanent: bool,
}

/// Server replies can span lines; the notice keeps one, bounded.
fn one_line(text: &str) -> String {
    let line = text.split_whitespace().collect::<Vec<_>>().join(" ");
    line.chars().take(500).collect()
}
