//! `[alerts]`: where rules' webhooks may go.

use aegis_core::config::Section;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct AlertSettings {
    /// Lets webhooks reach loopback, private, link-local and other
    /// non-public addresses. Off: a rule's webhook could otherwise probe
    /// the server's own network (or a cloud metadata endpoint).
    pub webhook_allow_private_networks: bool,
}

impl Section for AlertSettings {
    const NAME: &'static str = "alerts";
}
