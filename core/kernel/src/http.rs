//! Small pieces every module's API uses.

use std::net::{IpAddr, SocketAddr};

pub use ipnet::IpNet;
use poem::Request;
use poem::http::HeaderMap;
use poem_openapi::ApiResponse;

/// The error text of a request body cut off at the size limit, so upload
/// handlers can tell it from a client that hung up.
pub const BODY_TOO_LARGE: &str = "request body exceeds the size limit";

/// Set in a request's extensions when its body has no length: tripped once
/// the body limit cut it off, since multipart errors lose the reason.
#[derive(Clone, Default, Debug)]
pub struct BodyCut(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl BodyCut {
    pub fn trip(&self) {
        self.0.store(true, std::sync::atomic::Ordering::Relaxed);
    }

    /// Whether `request`'s body was cut at the size limit.
    pub fn happened(request: &Request) -> bool {
        request
            .extensions()
            .get::<BodyCut>()
            .is_some_and(|cut| cut.0.load(std::sync::atomic::Ordering::Relaxed))
    }
}

pub use crate::concurrency::{etag, expected_version};
pub use crate::nullable::Nullable;

/// A change with nothing to return.
#[derive(Debug, ApiResponse)]
pub enum NoContent {
    #[oai(status = 204)]
    Done,
}

/// The client's IP address, for the login throttle and the audit log: the
/// socket peer, unless that peer is one of the `trusted` proxies; then the
/// right-most address of `Forwarded` (else `X-Forwarded-For`) that is not
/// itself a trusted proxy. Entries left of it could be forged by the client,
/// so they are never read. Without trusted proxies a forged header changes
/// nothing.
pub fn client_address(request: &Request, trusted: &[IpNet]) -> String {
    let Some(peer) = request
        .remote_addr()
        .as_socket_addr()
        .map(|a| a.ip().to_canonical())
    else {
        return "unknown".into();
    };
    forwarded_client(request.headers(), peer, trusted).to_string()
}

fn forwarded_client(headers: &HeaderMap, peer: IpAddr, trusted: &[IpNet]) -> IpAddr {
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(&peer) {
        return peer;
    }
    let chain = forwarded_for(headers);
    let mut client = peer;
    for entry in chain.iter().rev() {
        // An unreadable entry ("unknown", an obfuscated name) ends the walk at
        // the last proxy that spoke.
        let Some(ip) = parse_node(entry) else { break };
        client = ip;
        if !is_trusted(&ip) {
            break;
        }
    }
    client
}

/// The `for=` nodes of every `Forwarded` header, or else the entries of every
/// `X-Forwarded-For` header, left to right.
fn forwarded_for(headers: &HeaderMap) -> Vec<String> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(|e| e.trim().to_owned())
            .collect()
    };
    let forwarded: Vec<String> = values("forwarded")
        .iter()
        .filter_map(|element| {
            element.split(';').find_map(|pair| {
                let (key, value) = pair.trim().split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("for")
                    .then(|| value.trim().trim_matches('"').to_owned())
            })
        })
        .collect();
    if forwarded.is_empty() {
        values("x-forwarded-for")
    } else {
        forwarded
    }
}

/// An address as proxies write it: `192.0.2.1`, `192.0.2.1:4711`,
/// `2001:db8::1`, `[2001:db8::1]` or `[2001:db8::1]:4711`.
fn parse_node(node: &str) -> Option<IpAddr> {
    let ip = node
        .parse::<IpAddr>()
        .ok()
        .or_else(|| node.parse::<SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| {
            node.strip_prefix('[')
                .and_then(|n| n.strip_suffix(']'))
                .and_then(|n| n.parse().ok())
        })?;
    Some(ip.to_canonical())
}

/// Whether a request's `Content-Type` is `multipart/form-data` (with any
/// parameters, in any case): the check of every upload payload.
pub fn is_multipart_form(content_type: &str) -> bool {
    essence(content_type) == "multipart/form-data"
}

/// Reads a JSON field of a request object as the document declares it,
/// where poem-openapi is laxer: a number or a boolean is refused where a
/// string is declared, at any depth of arrays and maps (poem-openapi would
/// store `true` as the text "true"), and `null` is refused for an optional
/// field (the document does not say it may be null; leaving the field out
/// is how a client omits it). Put it on every field of request objects:
/// `#[oai(deserialize_with = "strict_json")]`. A field that `null` clears
/// has a type of its own that calls [`refuse_coercion`].
pub fn strict_json<T: poem_openapi::types::ParseFromJSON>(
    value: Option<serde_json::Value>,
) -> poem_openapi::types::ParseResult<T> {
    use poem_openapi::types::ParseError;
    match &value {
        Some(serde_json::Value::Null) => Err(ParseError::custom(
            "null is not allowed; leave the field out instead",
        )),
        Some(found) => {
            refuse_coercion::<T>(found)?;
            T::parse_from_json(value)
        }
        None => T::parse_from_json(None),
    }
}

/// Refuses a number or a boolean where `T`'s schema declares a string, in
/// `T` itself or in the items and values of its arrays and maps. Referenced
/// objects check their own fields.
pub fn refuse_coercion<T: poem_openapi::types::Type>(
    value: &serde_json::Value,
) -> Result<(), poem_openapi::types::ParseError<T>> {
    use poem_openapi::registry::MetaSchemaRef;
    use serde_json::Value;
    fn check(schema: &MetaSchemaRef, value: &Value) -> Result<(), Value> {
        let MetaSchemaRef::Inline(schema) = schema else {
            return Ok(());
        };
        match value {
            Value::Bool(_) | Value::Number(_) if schema.ty == "string" => Err(value.clone()),
            Value::Array(items) => match &schema.items {
                Some(item) => items.iter().try_for_each(|v| check(item, v)),
                None => Ok(()),
            },
            Value::Object(map) => match &schema.additional_properties {
                Some(each) => map.values().try_for_each(|v| check(each, v)),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }
    check(&T::schema_ref(), value).map_err(poem_openapi::types::ParseError::expected_type)
}

/// The media type of an upload part, lower-cased and without parameters.
pub fn essence(media_type: &str) -> String {
    media_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase()
}

/// A multipart body that could not be read: 413 when it was cut at the
/// size limit, 400 otherwise.
pub fn multipart_error(request: &Request, error: &dyn std::fmt::Display) -> crate::error::ApiError {
    let text = error.to_string();
    if BodyCut::happened(request) || text.contains(BODY_TOO_LARGE) {
        crate::error::ApiError::payload_too_large("the upload exceeds the size limit")
    } else {
        crate::error::ApiError::bad_request(
            "invalid_multipart",
            format!("cannot read the form: {text}"),
        )
    }
}

/// The 422 for text carrying NUL (U+0000): PostgreSQL cannot store it in
/// text, so it is refused at the edge on every backend alike.
pub fn invalid_text(what: &str) -> crate::error::ApiError {
    crate::error::ApiError::unprocessable(
        "invalid_text",
        format!("{what} contains a NUL character (U+0000), which no text may hold"),
    )
}

/// Refuses `text` when it carries NUL (see [`invalid_text`]).
pub fn refuse_nul(what: &str, text: &str) -> crate::error::ApiResult<()> {
    if text.contains('\0') {
        return Err(invalid_text(what));
    }
    Ok(())
}

/// Whether any string of `value`, key or value, at any depth, carries NUL.
/// serde_json bounds the depth when it parses, so this recursion is bounded.
pub fn json_has_nul(value: &serde_json::Value) -> bool {
    use serde_json::Value;
    match value {
        Value::String(s) => s.contains('\0'),
        Value::Array(items) => items.iter().any(json_has_nul),
        Value::Object(map) => map
            .iter()
            .any(|(key, item)| key.contains('\0') || json_has_nul(item)),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// A small text form field, read whole up to `max` bytes; NUL is refused.
pub async fn read_text_field(
    request: &Request,
    field: poem::web::Field,
    max: usize,
) -> crate::error::ApiResult<String> {
    use tokio::io::AsyncReadExt;
    let field_name = field.name().map(str::to_owned);
    let mut text = String::new();
    field
        .into_async_read()
        .take(max as u64)
        .read_to_string(&mut text)
        .await
        .map_err(|e| multipart_error(request, &e))?;
    let name = field_name.unwrap_or_else(|| "a form field".into());
    refuse_nul(&name, &text)?;
    Ok(text)
}

/// Reads a whole part up to `max` bytes; one more is a 413.
pub async fn read_bounded_part(
    request: &Request,
    field: poem::web::Field,
    max: u64,
) -> crate::error::ApiResult<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut bytes = Vec::new();
    field
        .into_async_read()
        .take(max + 1)
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| multipart_error(request, &e))?;
    if bytes.len() as u64 > max {
        return Err(crate::error::ApiError::payload_too_large(format!(
            "this file is limited to {max} bytes"
        )));
    }
    Ok(bytes)
}

/// The next part of a multipart form. A part whose headers carry a byte no
/// header may hold (NUL in a file name, or another control character) is
/// refused like NUL anywhere else, with 422 `invalid_text`; any other
/// unreadable form as [`multipart_error`] says.
pub async fn next_field(
    request: &Request,
    form: &mut poem::web::Multipart,
) -> crate::error::ApiResult<Option<poem::web::Field>> {
    use poem::error::ParseMultipartError;
    form.next_field().await.map_err(|error| match error {
        ParseMultipartError::Multipart(multer::Error::ReadHeaderFailed(
            httparse::Error::HeaderValue,
        )) => crate::error::ApiError::unprocessable(
            "invalid_text",
            "a form part's name or file name contains a NUL character (U+0000) or another \
             control character, which no text may hold",
        ),
        other => multipart_error(request, &other),
    })
}

/// The `file` part of a small upload (an import, not evidence), read whole
/// up to `max` bytes: its file name and its bytes.
pub async fn read_file_part(
    request: &Request,
    form: &mut poem::web::Multipart,
    max: u64,
) -> crate::error::ApiResult<(Option<String>, Vec<u8>)> {
    while let Some(field) = next_field(request, form).await? {
        if field.name() != Some("file") {
            continue;
        }
        let name = field.file_name().map(str::to_owned);
        return Ok((name, read_bounded_part(request, field, max).await?));
    }
    Err(crate::error::ApiError::invalid_field(
        "file",
        "required: a `file` part",
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_json_reads_only_what_the_document_declares() {
        use serde_json::json;
        use std::collections::HashMap;
        let text = |v| strict_json::<Option<String>>(Some(v)).map_err(|e| e.into_message());
        assert_eq!(text(json!("x")).unwrap().as_deref(), Some("x"));
        assert!(text(json!(true)).is_err(), "a boolean is not a string");
        assert!(text(json!(12)).is_err(), "a number is not a string");
        assert!(text(json!(null)).is_err(), "null is not declared");
        assert_eq!(strict_json::<Option<String>>(None).ok(), Some(None));
        // At any depth of arrays and maps.
        assert!(strict_json::<Vec<String>>(Some(json!(["a", 1]))).is_err());
        assert!(strict_json::<HashMap<String, String>>(Some(json!({"k": false}))).is_err());
        let map = strict_json::<HashMap<String, String>>(Some(json!({"k": "v"}))).ok();
        assert_eq!(map.and_then(|m| m.get("k").cloned()).as_deref(), Some("v"));
        // A number stays a number where one is declared.
        assert_eq!(
            strict_json::<Option<i64>>(Some(json!(3))).ok(),
            Some(Some(3))
        );
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                poem::http::HeaderName::from_bytes(name.as_bytes()).unwrap(),
                value.parse().unwrap(),
            );
        }
        map
    }

    fn client(pairs: &[(&str, &str)], peer: &str, trusted: &[&str]) -> String {
        let trusted: Vec<IpNet> = trusted.iter().map(|n| n.parse().unwrap()).collect();
        forwarded_client(&headers(pairs), peer.parse().unwrap(), &trusted).to_string()
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_peers() {
        let xff = [("x-forwarded-for", "203.0.113.7")];
        assert_eq!(client(&xff, "10.0.0.2", &[]), "10.0.0.2");
        assert_eq!(client(&xff, "10.0.0.2", &["10.0.0.0/8"]), "203.0.113.7");
        assert_eq!(client(&xff, "192.0.2.9", &["10.0.0.0/8"]), "192.0.2.9");
    }

    #[test]
    fn the_rightmost_untrusted_address_is_the_client() {
        let trusted = ["10.0.0.0/8"];
        let chain = [("x-forwarded-for", "1.1.1.1, 203.0.113.7, 10.0.0.5")];
        assert_eq!(client(&chain, "10.0.0.2", &trusted), "203.0.113.7");
        let lines = [
            ("x-forwarded-for", "1.1.1.1"),
            ("x-forwarded-for", "203.0.113.7"),
        ];
        assert_eq!(client(&lines, "10.0.0.2", &trusted), "203.0.113.7");
        let all_trusted = [("x-forwarded-for", "10.0.0.7, 10.0.0.5")];
        assert_eq!(client(&all_trusted, "10.0.0.2", &trusted), "10.0.0.7");
        let unknown = [("x-forwarded-for", "203.0.113.7, unknown")];
        assert_eq!(client(&unknown, "10.0.0.2", &trusted), "10.0.0.2");
    }

    #[test]
    fn forwarded_wins_over_x_forwarded_for_and_is_parsed() {
        let trusted = ["127.0.0.1/32"];
        let both = [
            ("x-forwarded-for", "198.51.100.1"),
            ("forwarded", "for=192.0.2.60;proto=http;by=203.0.113.43"),
        ];
        assert_eq!(client(&both, "127.0.0.1", &trusted), "192.0.2.60");
        let v6 = [("forwarded", "for=1.1.1.1, For=\"[2001:db8:cafe::17]:4711\"")];
        assert_eq!(client(&v6, "127.0.0.1", &trusted), "2001:db8:cafe::17");
        let port = [("forwarded", "for=\"192.0.2.43:47011\"")];
        assert_eq!(client(&port, "127.0.0.1", &trusted), "192.0.2.43");
        let mapped = [("x-forwarded-for", "::ffff:192.0.2.5")];
        assert_eq!(
            client(
                &mapped,
                "::ffff:127.0.0.1"
                    .parse::<IpAddr>()
                    .unwrap()
                    .to_canonical()
                    .to_string()
                    .as_str(),
                &trusted
            ),
            "192.0.2.5"
        );
    }
}
