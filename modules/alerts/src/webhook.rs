//! Webhook delivery of newly opened alerts: a JSON body that is also a
//! Slack-compatible message (`text`), signed with the rule's secret
//! (HMAC-SHA256 over `timestamp.body`), retried with backoff on 5xx, 429
//! and network errors, every outcome recorded. Runs beside the evaluation,
//! never in its way.

use std::time::Duration;

use aegis_core::time;
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::model::{Alert, Rule, severity_str};
use crate::repo::AlertRepo;

/// Attempts per alert, and the first pause between them (doubling).
const ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const TIMEOUT: Duration = Duration::from_secs(10);

pub const SIGNATURE_HEADER: &str = "X-Aegis-Signature";
pub const TIMESTAMP_HEADER: &str = "X-Aegis-Timestamp";

#[derive(Clone)]
pub struct Webhooks {
    client: reqwest::Client,
    repo: AlertRepo,
}

impl Webhooks {
    pub fn new(repo: AlertRepo) -> Self {
        let client = reqwest::Client::builder()
            .timeout(TIMEOUT)
            // A webhook target cannot bounce the request elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap_or_default();
        Self { client, repo }
    }

    /// Delivers each alert in the background, one after another.
    pub fn deliver(&self, rule: &Rule, alerts: Vec<Alert>) -> Option<tokio::task::JoinHandle<()>> {
        let url = rule.webhook_url.clone()?;
        if alerts.is_empty() {
            return None;
        }
        let (this, rule) = (self.clone(), rule.clone());
        Some(tokio::spawn(async move {
            for alert in alerts {
                this.deliver_one(&rule, &url, &alert).await;
            }
        }))
    }

    async fn deliver_one(&self, rule: &Rule, url: &str, alert: &Alert) {
        let body = body(rule, alert).to_string();
        let mut outcome = (None, Some(String::from("not attempted")));
        let mut attempts = 0;
        let mut pause = FIRST_BACKOFF;
        while attempts < ATTEMPTS {
            attempts += 1;
            let stamp = time::now().timestamp().to_string();
            let mut request = self
                .client
                .post(url)
                .header("Content-Type", "application/json")
                .header(TIMESTAMP_HEADER, &stamp);
            if let Some(secret) = &rule.webhook_secret {
                request = request.header(SIGNATURE_HEADER, sign(secret, &stamp, &body));
            }
            let retry = match request.body(body.clone()).send().await {
                Ok(response) if response.status().is_success() => {
                    outcome = (Some(i64::from(response.status().as_u16())), None);
                    break;
                }
                Ok(response) => {
                    let status = response.status();
                    outcome = (Some(i64::from(status.as_u16())), Some(format!("answered {status}")));
                    status.is_server_error() || status.as_u16() == 429
                }
                Err(e) => {
                    // Without the URL: it may be the webhook's credential.
                    outcome = (None, Some(format!("cannot reach the webhook: {}", e.without_url())));
                    true
                }
            };
            if !retry || attempts == ATTEMPTS {
                break;
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
        let (status, error) = outcome;
        if let Some(error) = &error {
            tracing::warn!(rule = %rule.id, alert = %alert.id, attempts, "webhook failed: {error}");
        }
        if let Err(e) = self
            .repo
            .record_delivery(&rule.id, &alert.id, i64::from(attempts), status, error.as_deref(), time::now())
            .await
        {
            tracing::error!(error = %e, "cannot record a webhook delivery");
        }
    }
}

fn body(rule: &Rule, alert: &Alert) -> serde_json::Value {
    let severity = severity_str(alert.severity);
    json!({
        // Slack and compatible chat tools show `text`.
        "text": format!("[{severity}] {}: {}", alert.title, alert.message),
        "rule": {"id": rule.id, "name": rule.name, "kind": rule.kind},
        "alert": {
            "id": alert.id,
            "severity": severity,
            "title": alert.title,
            "message": alert.message,
            "technique_ids": alert.technique_ids,
            "test_ids": alert.test_ids,
            "opened_at": time::to_db(alert.opened_at),
        },
    })
}

/// `sha256=<hex>` of HMAC-SHA256(secret, "<timestamp>.<body>").
pub fn sign(secret: &str, timestamp: &str, body: &str) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body.as_bytes());
    let digest = mac.finalize().into_bytes();
    format!("sha256={}", digest.iter().map(|b| format!("{b:02x}")).collect::<String>())
}
