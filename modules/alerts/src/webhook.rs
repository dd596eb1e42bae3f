//! Webhook delivery of newly opened alerts: a JSON body that is also a
//! Slack-compatible message (`text`), signed with the rule's secret
//! (HMAC-SHA256 over `timestamp.body`), retried with backoff on 5xx, 429
//! and network errors, every outcome recorded. Runs beside the evaluation,
//! never in its way. Targets must resolve to public addresses unless
//! `alerts.webhook_allow_private_networks` says otherwise, and the checked
//! address is the one connected to.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use aegis_core::db::Db;
use aegis_core::time::{self, Clock};
use hmac::{Hmac, Mac};
use serde_json::json;
use sha2::Sha256;

use crate::model::{Alert, Rule};
use crate::repo::AlertRepo;

/// Attempts per alert, and the first pause between them (doubling).
const ATTEMPTS: u32 = 3;
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
const TIMEOUT: Duration = Duration::from_secs(10);

pub const SIGNATURE_HEADER: &str = "X-Aegis-Signature";
pub const TIMESTAMP_HEADER: &str = "X-Aegis-Timestamp";

#[derive(Clone)]
pub struct Webhooks {
    db: Db,
    clock: Clock,
    repo: AlertRepo,
    allow_private: bool,
}

impl Webhooks {
    pub fn new(db: Db, clock: Clock, repo: AlertRepo, allow_private: bool) -> Self {
        Self {
            db,
            clock,
            repo,
            allow_private,
        }
    }

    /// Records one delivery's outcome on its own connection.
    async fn record(
        &self,
        rule: &Rule,
        alert: &Alert,
        attempts: u32,
        status: Option<i64>,
        error: Option<&str>,
    ) -> Result<(), sqlx::Error> {
        let mut conn = self.db.pool().acquire().await?;
        self.repo
            .record_delivery(
                &mut conn,
                &rule.id,
                &alert.id,
                i64::from(attempts),
                status,
                error,
                self.clock.now(),
            )
            .await
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
        let (attempts, status, error) = match self.client(url).await {
            Ok(client) => self.attempt(&client, rule, url, alert).await,
            Err(refused) => (0, None, Some(refused)),
        };
        if let Some(error) = &error {
            tracing::warn!(rule = %rule.id, alert = %alert.id, attempts, "webhook failed: {error}");
        }
        if let Err(e) = self
            .record(rule, alert, attempts, status, error.as_deref())
            .await
        {
            tracing::error!(error = %e, "cannot record a webhook delivery");
        }
    }

    /// A client that connects only to the address checked here, so a name
    /// cannot resolve to a public address for the check and a private one
    /// for the request.
    async fn client(&self, url: &str) -> Result<reqwest::Client, String> {
        let address = target(url, self.allow_private).await?;
        let host = reqwest::Url::parse(url)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        reqwest::Client::builder()
            .timeout(TIMEOUT)
            // A webhook target cannot bounce the request elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .resolve(&host, address)
            .build()
            .map_err(|e| format!("cannot prepare the request: {e}"))
    }

    async fn attempt(
        &self,
        client: &reqwest::Client,
        rule: &Rule,
        url: &str,
        alert: &Alert,
    ) -> (u32, Option<i64>, Option<String>) {
        let body = body(rule, alert).to_string();
        let mut outcome = (None, Some(String::from("not attempted")));
        let mut attempts = 0;
        let mut pause = FIRST_BACKOFF;
        while attempts < ATTEMPTS {
            attempts += 1;
            let stamp = time::now().timestamp().to_string();
            let mut request = client
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
                    outcome = (
                        Some(i64::from(status.as_u16())),
                        Some(format!("answered {status}")),
                    );
                    status.is_server_error() || status.as_u16() == 429
                }
                Err(e) => {
                    // Without the URL: it may be the webhook's credential.
                    outcome = (
                        None,
                        Some(format!("cannot reach the webhook: {}", e.without_url())),
                    );
                    true
                }
            };
            if !retry || attempts == ATTEMPTS {
                break;
            }
            tokio::time::sleep(pause).await;
            pause *= 2;
        }
        (attempts, outcome.0, outcome.1)
    }
}

/// The address a webhook URL resolves to, refused when any of its addresses
/// is not public (unless allowed).
pub async fn target(url: &str, allow_private: bool) -> Result<SocketAddr, String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| "not a URL".to_owned())?;
    let host = parsed.host_str().ok_or("the URL has no host")?;
    let port = parsed
        .port_or_known_default()
        .ok_or("the URL has no port")?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addresses: Vec<SocketAddr> = tokio::net::lookup_host((host, port))
        .await
        .map_err(|_| format!("cannot resolve {host}"))?
        .collect();
    let first = *addresses
        .first()
        .ok_or_else(|| format!("{host} has no address"))?;
    if !allow_private && let Some(private) = addresses.iter().find(|a| !public(a.ip())) {
        return Err(format!(
            "{host} resolves to {}, which is not a public address (AEGIS_ALERTS__WEBHOOK_ALLOW_PRIVATE_NETWORKS)",
            private.ip()
        ));
    }
    Ok(first)
}

/// Whether an address is on the public internet: not loopback, private,
/// link-local (cloud metadata lives there), shared, documentation,
/// multicast or unspecified.
pub fn public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, ..] = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_multicast()
                || v4.is_documentation()
                || a == 0
                || (a == 100 && (64..128).contains(&b)))
        }
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => public(IpAddr::V4(v4)),
            None => {
                !(v6.is_loopback()
                    || v6.is_unspecified()
                    || v6.is_multicast()
                    || v6.is_unique_local()
                    || v6.is_unicast_link_local())
            }
        },
    }
}

/// Slack reads `<…>` as links and mentions and `&` as entities: escape them.
fn chat_text(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn body(rule: &Rule, alert: &Alert) -> serde_json::Value {
    let severity = alert.severity.as_str();
    json!({
        // Slack and compatible chat tools show `text`.
        "text": chat_text(&format!("[{severity}] {}: {}", alert.title, alert.message)),
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
    format!("sha256={:x}", mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_public_addresses_are_public() {
        for private in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(
                !public(private.parse().unwrap_or_else(|_| unreachable!())),
                "{private}"
            );
        }
        for open in ["93.184.216.34", "1.1.1.1", "2606:4700::1111"] {
            assert!(
                public(open.parse().unwrap_or_else(|_| unreachable!())),
                "{open}"
            );
        }
    }

    #[test]
    fn signatures_match_an_independent_hmac() {
        // Computed with Python's hmac module.
        assert_eq!(
            sign("0123456789abcdef", "1795860900", r#"{"a":1}"#),
            "sha256=7f17848668bae84afbbb3f26e2da848bcd9276e7e3d27e8a6fca16808a045048"
        );
    }

    #[test]
    fn chat_text_cannot_mention_or_link() {
        assert_eq!(
            chat_text("<!channel> & <https://x|y>"),
            "&lt;!channel&gt; &amp; &lt;https://x|y&gt;"
        );
    }
}
