//! Small pieces every module's API uses.

use poem::Request;
use poem_openapi::ApiResponse;

/// A change with nothing to return.
#[derive(Debug, ApiResponse)]
pub enum NoContent {
    #[oai(status = 204)]
    Done,
}

/// The client's IP address as the socket reports it (proxies are not trusted,
/// so a forged `X-Forwarded-For` cannot dodge login throttling).
pub fn client_address(request: &Request) -> String {
    request
        .remote_addr()
        .as_socket_addr()
        .map_or_else(|| "unknown".into(), |a| a.ip().to_string())
}
