//! `Allow` on every 405 (RFC 9110 §15.5.6): the methods the request's path
//! supports. poem answers 405 without it, so the methods of each path the
//! OpenAPI document declares are gathered once at start-up, and a 405 looks
//! its path up in a poem router built from those same paths, so the lookup
//! matches exactly as the real routing did (static segments before
//! `{params}`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{Endpoint, IntoResponse, Request, Response, Route};

/// The methods of every routed path, looked up by request path.
pub(crate) struct AllowedMethods {
    router: Route,
}

/// A route's answer in the lookup router: its `Allow` value.
struct Allow(HeaderValue);

impl Endpoint for Allow {
    type Output = Response;

    async fn call(&self, _req: Request) -> poem::Result<Response> {
        Ok(Response::builder()
            .header(header::ALLOW, self.0.clone())
            .finish())
    }
}

impl AllowedMethods {
    /// `paths`: each path template as the document writes it
    /// (`/api/v1/tests/{id}`) with one of its methods.
    pub(crate) fn new<'a>(paths: impl IntoIterator<Item = (&'a str, Method)>) -> Self {
        let mut methods: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (path, method) in paths {
            let entry = methods.entry(route_pattern(path)).or_default();
            // poem answers HEAD wherever it answers GET.
            if method == Method::GET {
                entry.insert(Method::HEAD.to_string());
            }
            entry.insert(method.to_string());
        }
        let router = methods
            .into_iter()
            .fold(Route::new(), |router, (path, set)| {
                let list = set.into_iter().collect::<Vec<_>>().join(", ");
                match HeaderValue::from_str(&list) {
                    Ok(value) => router.at(path, Allow(value)),
                    Err(_) => router,
                }
            });
        Self { router }
    }

    /// The `Allow` value for `uri`'s path, if a route serves it.
    pub(crate) async fn lookup(&self, uri: &poem::http::Uri) -> Option<HeaderValue> {
        let probe = Request::builder().uri(uri.clone()).finish();
        let answer = self.router.call(probe).await.ok()?;
        answer.headers().get(header::ALLOW).cloned()
    }
}

/// `{id}` segments as poem's router writes them (`:id`).
fn route_pattern(template: &str) -> String {
    template
        .split('/')
        .map(
            |segment| match segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => format!(":{name}"),
                None => segment.to_owned(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// Adds `Allow` to every 405 whose path a route serves.
pub(crate) async fn add_allow<E: Endpoint>(
    ep: Arc<E>,
    req: Request,
    allowed: Arc<AllowedMethods>,
) -> poem::Result<Response> {
    let uri = req.uri().clone();
    let mut response = ep.call(req).await?.into_response();
    if response.status() == StatusCode::METHOD_NOT_ALLOWED
        && !response.headers().contains_key(header::ALLOW)
        && let Some(value) = allowed.lookup(&uri).await
    {
        response.headers_mut().insert(header::ALLOW, value);
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed() -> AllowedMethods {
        AllowedMethods::new([
            ("/api/v1/tests", Method::GET),
            ("/api/v1/tests", Method::POST),
            ("/api/v1/tests/{id}", Method::GET),
            ("/api/v1/tests/{id}", Method::PATCH),
            ("/api/v1/tests/{id}/cancel", Method::POST),
            ("/api/v1/coverage/snapshots/{id}", Method::GET),
            ("/api/v1/coverage/snapshots/{id}", Method::DELETE),
            ("/api/v1/coverage/snapshots/diff", Method::GET),
        ])
    }

    async fn allow(path: &str) -> Option<String> {
        let uri = path.parse().unwrap();
        allowed()
            .lookup(&uri)
            .await
            .map(|v| v.to_str().unwrap().to_owned())
    }

    #[tokio::test]
    async fn each_path_lists_its_own_methods() {
        assert_eq!(allow("/api/v1/tests").await.unwrap(), "GET, HEAD, POST");
        assert_eq!(allow("/api/v1/tests/42").await.unwrap(), "GET, HEAD, PATCH");
        assert_eq!(allow("/api/v1/tests/42/cancel").await.unwrap(), "POST");
        // A static segment wins over `{id}`, as in the real routing.
        assert_eq!(
            allow("/api/v1/coverage/snapshots/diff").await.unwrap(),
            "GET, HEAD"
        );
        assert_eq!(
            allow("/api/v1/coverage/snapshots/7").await.unwrap(),
            "DELETE, GET, HEAD"
        );
        assert_eq!(allow("/api/v1/nothing").await, None);
        assert_eq!(allow("/api/v1/tests/42/cancel/more").await, None);
    }
}
