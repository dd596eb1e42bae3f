//! What every request's values must be before a handler runs: no NUL
//! anywhere, and values that fit the OpenAPI document. poem-openapi refuses
//! a parameter or a JSON body that does not fit the declared schema (a wrong
//! type, an unknown field, a declared bound such as `limit` ≤ 500) with a
//! bare 400; the request was read fine and only its values are wrong, so it
//! answers 422 `validation_failed` naming the field, as the handlers' own
//! checks do. A body that is not JSON at all stays a 400.

use std::sync::Arc;

use aegis_core::ApiError;
use aegis_core::http::{invalid_text, json_has_nul};
use poem::{Endpoint, IntoResponse, Request, Response};
use poem_openapi::error::{ParseParamError, ParseRequestPayloadError};

/// Refuses NUL (U+0000) in the path, the query string and JSON bodies with
/// 422 `invalid_text`: PostgreSQL cannot store it in text, and SQLite would
/// take it, so both backends answer alike. A URI can only carry NUL as
/// `%00` and JSON only as the escape `\u0000`, so only a body holding that
/// escape is parsed for it. Runs inside the body limit, so the read is
/// bounded. Multipart text fields are checked where they are read
/// (`aegis_core::http::read_text_field`).
///
/// Then turns poem-openapi's refusal of a parameter, or of a well-formed
/// JSON body, into a 422 (see the module's doc).
pub(super) async fn check_values<E: Endpoint>(
    ep: Arc<E>,
    mut req: Request,
) -> poem::Result<Response> {
    if req.uri().path().contains("%00") {
        return Ok(invalid_text("the path").into_response());
    }
    if req.uri().query().is_some_and(|q| q.contains("%00")) {
        return Ok(invalid_text("the query string").into_response());
    }
    // Kept (a cheap shared handle) to tell, only if the body is refused,
    // whether it was JSON at all.
    let mut json_body = None;
    if req.content_type().is_some_and(is_json) {
        let body = req.take_body().into_bytes().await?;
        if body.windows(6).any(|w| w == b"\\u0000")
            && serde_json::from_slice::<serde_json::Value>(&body).is_ok_and(|v| json_has_nul(&v))
        {
            return Ok(invalid_text("the request body").into_response());
        }
        json_body = Some(body.clone());
        req.set_body(body);
    }
    match ep.call(req).await {
        Ok(response) => Ok(response.into_response()),
        Err(error) => {
            let well_formed_json = json_body
                .is_some_and(|body| serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_ok());
            match unfit_value(&error, well_formed_json) {
                Some(refusal) => Ok(refusal.into_response()),
                None => Err(error),
            }
        }
    }
}

/// The 422 for poem-openapi's refusal of a parameter or of a readable body.
fn unfit_value(error: &poem::Error, well_formed_json: bool) -> Option<ApiError> {
    if let Some(param) = error.downcast_ref::<ParseParamError>() {
        return Some(ApiError::invalid_field(param.name, &param.reason));
    }
    if !well_formed_json {
        return None;
    }
    let payload = error.downcast_ref::<ParseRequestPayloadError>()?;
    Some(ApiError::invalid_field(
        body_field(&payload.reason).unwrap_or("body"),
        &payload.reason,
    ))
}

/// The field poem-openapi's message names, when it names one: ``unknown
/// field `x` `` or ``field `x` verification failed``.
fn body_field(reason: &str) -> Option<&str> {
    let (_, rest) = reason.split_once("field `")?;
    let (name, _) = rest.split_once('`')?;
    Some(name)
}

/// `application/json` or any `application/*+json`, as poem-openapi reads them.
fn is_json(content_type: &str) -> bool {
    let essence = aegis_core::http::essence(content_type);
    essence == "application/json"
        || essence.starts_with("application/") && essence.ends_with("+json")
}

#[cfg(test)]
mod tests {
    use super::body_field;

    #[test]
    fn the_named_field_is_found_in_poem_openapi_messages() {
        assert_eq!(
            body_field(r#"failed to parse "CreateTokenRequest": unknown field `x`."#),
            Some("x")
        );
        assert_eq!(
            body_field(
                r#"failed to parse "LoginRequest": field `password` verification failed. maxLength(256)"#
            ),
            Some("password")
        );
        assert_eq!(
            body_field(
                r#"Expected input type "string", found true. (occurred while parsing "CreateTokenRequest")"#
            ),
            None
        );
    }
}
