//! The HTTP edge: routes, the OpenAPI document and docs UIs, and the
//! middleware every request passes (problem bodies for every error, CORS,
//! body size limit, security headers, cookies, auth context).

use aegis_core::auth::AuthContext;
use aegis_core::config::{Environment, Settings};
use aegis_core::error::Problem;
use poem::endpoint::StaticFilesEndpoint;
use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::middleware::{CookieJarManager, Cors, SetHeader, Tracing};
use poem::web::{Json, Redirect};
use poem::{Endpoint, EndpointExt, IntoResponse, Response, Route};
use poem_openapi::OpenApiService;

use crate::modules::Apis;

/// The API's version, apart from the server's: the README's compatibility
/// promise says when it moves; `scripts/contract.sh` fails a breaking change
/// that keeps it.
pub const API_VERSION: &str = "0.2.0";

mod allow;
mod document;
mod values;

pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// The dashboard loads only its own scripts and styles and talks only to us.
const DASHBOARD_CSP: &str = "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'";

/// The one OpenAPI service of every module's API.
pub fn openapi(apis: Apis) -> OpenApiService<Apis, ()> {
    OpenApiService::new(apis, "Aegis", API_VERSION)
        .description("Aegis purple-team platform API. Sign in with POST /api/v1/auth/login, then send the returned token as `Authorization: Bearer ...` (or use the session cookie with `X-CSRF-Token` on changes).")
        .server("/")
}

/// The OpenAPI document as served and printed (see `document.rs`).
pub fn document(service: &OpenApiService<Apis, ()>) -> String {
    document::close_request_objects(service.spec())
}

/// Paths the API, its document and the docs UIs own; everything else is
/// the dashboard's (a single-page app: unknown paths get its index.html).
fn is_backend_path(path: &str) -> bool {
    ["/api/", "/health", "/docs", "/redoc"]
        .iter()
        .any(|prefix| path == prefix.trim_end_matches('/') || path.starts_with(prefix))
}

/// `largest_upload`: the largest upload any module accepts (see
/// `Composition::largest_upload`).
pub fn endpoint(
    settings: &Settings,
    apis: Apis,
    auth: AuthContext,
    largest_upload: u64,
) -> impl Endpoint + 'static {
    let allowed = std::sync::Arc::new(allowed_methods());
    let service = openapi(apis);
    let spec = document(&service);
    let spec_endpoint = poem::get(poem::endpoint::make_sync(move |_| {
        Response::builder()
            .content_type("application/json")
            .body(spec.clone())
    }));
    let mut route = Route::new().at(OPENAPI_PATH, spec_endpoint);
    if settings.docs_enabled() {
        route = route
            .nest("/docs", service.swagger_ui())
            .nest("/redoc", service.redoc());
    }
    let docs = settings.docs_enabled();
    let dashboard = settings
        .http
        .frontend_dir
        .join("index.html")
        .is_file()
        .then(|| {
            std::sync::Arc::new(
                StaticFilesEndpoint::new(&settings.http.frontend_dir)
                    .index_file("index.html")
                    .fallback_to_index(),
            )
        });
    if dashboard.is_none() {
        tracing::info!(
            dir = %settings.http.frontend_dir.display(),
            "no built dashboard; serving the API only (npm run build in frontend/)"
        );
    }
    // The API's own paths sit under `/`, so the dashboard and the landing
    // page are answered before routing.
    let route = route.nest("/", service).around(move |ep, req| {
        let dashboard = dashboard.clone();
        async move {
            let read = req.method() == Method::GET || req.method() == Method::HEAD;
            if read && !is_backend_path(req.uri().path()) {
                if let Some(files) = dashboard {
                    let mut response = files.call(req).await?;
                    response.headers_mut().insert(
                        header::CONTENT_SECURITY_POLICY,
                        HeaderValue::from_static(DASHBOARD_CSP),
                    );
                    return Ok(response);
                }
                if docs && req.uri().path() == "/" {
                    return Ok(Redirect::see_other("/docs").into_response());
                }
            }
            ep.call(req).await.map(IntoResponse::into_response)
        }
    });

    let cors = match settings.env {
        Environment::Development => Cors::new().allow_credentials(true),
        // Exactly the configured origins; with none configured, no cross-origin
        // caller at all (poem's Cors would otherwise admit every origin).
        Environment::Production => {
            let origins = settings.http.cors_origins.clone();
            Cors::new()
                .allow_credentials(true)
                .allow_origins_fn(move |origin| origins.iter().any(|o| o == origin))
        }
    }
    .allow_methods([
        Method::GET,
        Method::POST,
        Method::PUT,
        Method::PATCH,
        Method::DELETE,
    ]);

    let limits = BodyLimits {
        body: settings.http.max_body_bytes as u64,
        upload: settings.upload_body_limit(largest_upload),
    };
    route
        .with(CookieJarManager::new())
        .data(auth)
        .around(values::check_values)
        .around(move |ep, req| limit_body(ep, req, limits))
        .catch_all_error(problem_response)
        .around(move |ep, req| allow::add_allow(ep, req, allowed.clone()))
        .around(no_store_api)
        .with(cors)
        .with(security_headers(settings.env))
        .with(Tracing)
}

/// The methods of every path the document declares, and of the document's own.
fn allowed_methods() -> allow::AllowedMethods {
    let metas = <Apis as poem_openapi::OpenApi>::meta();
    let operations = metas.iter().flat_map(|api| &api.paths).flat_map(|path| {
        path.operations
            .iter()
            .map(|op| (path.path.as_str(), op.method.clone()))
    });
    allow::AllowedMethods::new(operations.chain([(OPENAPI_PATH, Method::GET)]))
}

/// Headers on every answer, errors and the dashboard's files included. In
/// production, HSTS tells browsers to use HTTPS only (a year; subdomains are
/// the operator's to decide, so not included). Development serves plain HTTP
/// on localhost, which HSTS would break for every other local app.
fn security_headers(env: Environment) -> SetHeader {
    let headers = SetHeader::new()
        .overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        )
        .overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("no-referrer"),
        )
        .overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    match env {
        Environment::Production => headers.overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static(HSTS),
        ),
        Environment::Development => headers,
    }
}

const HSTS: &str = "max-age=31536000";

/// Every `/api/` answer may carry a token or private data (login, `me`,
/// lists, evidence), so no cache, shared or the browser's, keeps it. The
/// dashboard's static files stay cacheable.
async fn no_store_api<E: Endpoint>(
    ep: std::sync::Arc<E>,
    req: poem::Request,
) -> poem::Result<Response> {
    let api = req.uri().path().starts_with("/api/");
    let mut response = ep.call(req).await?.into_response();
    if api {
        response
            .headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(response)
}

/// Refuses bodies over the limit: at once when `Content-Length` says so,
/// otherwise while the handler reads a chunked body. Nothing is buffered here,
/// so an upload still streams. Multipart uploads get the upload limit.
async fn limit_body<E: Endpoint>(
    ep: std::sync::Arc<E>,
    mut req: poem::Request,
    limits: BodyLimits,
) -> poem::Result<Response> {
    let multipart = req.content_type().is_some_and(|t| {
        t.trim_start()
            .to_ascii_lowercase()
            .starts_with("multipart/")
    });
    let max = if multipart {
        limits.upload
    } else {
        limits.body
    };
    match req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .map(str::parse::<u64>)
    {
        Some(Ok(length)) if length > max => {
            return Err(poem::Error::from_status(StatusCode::PAYLOAD_TOO_LARGE));
        }
        Some(Ok(_)) => {}
        Some(Err(_)) => return Err(poem::Error::from_status(StatusCode::BAD_REQUEST)),
        // Chunked, or HTTP/2 without a length: count while the handler reads.
        None => {
            use futures::StreamExt;
            let cut = aegis_core::http::BodyCut::default();
            req.extensions_mut().insert(cut.clone());
            let mut seen: u64 = 0;
            let limited = req.take_body().into_bytes_stream().map(move |chunk| {
                let chunk = chunk?;
                seen += chunk.len() as u64;
                if seen > max {
                    cut.trip();
                    Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        aegis_core::http::BODY_TOO_LARGE,
                    ))
                } else {
                    Ok(chunk)
                }
            });
            req.set_body(poem::Body::from_bytes_stream(limited));
        }
    }
    ep.call(req).await.map(IntoResponse::into_response)
}

#[derive(Clone, Copy)]
struct BodyLimits {
    body: u64,
    upload: u64,
}

/// Every error becomes a JSON problem. Our own `ApiError`s already are one;
/// poem's (routing, body parsing, size limit) are rewritten, keeping their
/// status, and a 500 never carries internals.
async fn problem_response(error: poem::Error) -> Response {
    if error.is_from_response() {
        return error.into_response();
    }
    let status = error.status();
    let problem = if status == StatusCode::PAYLOAD_TOO_LARGE
        || error.is::<poem::error::ReadBodyError>() && status.is_client_error()
    {
        Problem::for_status(StatusCode::PAYLOAD_TOO_LARGE.as_u16(), "")
    } else if status.is_server_error() {
        tracing::error!(%error, "unhandled error");
        Problem::for_status(500, "")
    } else {
        Problem::for_status(status.as_u16(), &error.to_string())
    };
    let code = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = Json(ProblemBody::from(problem)).into_response();
    response.set_status(code);
    response
}

/// A request whose body arrived too slowly (see `serve/pace.rs`): 408, and
/// the connection closes, since the rest of the body will not be read.
pub(crate) fn request_timeout() -> Response {
    let problem = Problem::new(
        StatusCode::REQUEST_TIMEOUT.as_u16(),
        "request_timeout",
        "the request body arrived too slowly",
    );
    let mut response = Json(ProblemBody::from(problem)).into_response();
    response.set_status(StatusCode::REQUEST_TIMEOUT);
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// The problem as plain serde JSON (poem's `Json`, outside poem-openapi).
#[derive(serde::Serialize)]
struct ProblemBody {
    #[serde(rename = "type")]
    kind: String,
    title: String,
    status: u16,
    detail: String,
    code: String,
}

impl From<Problem> for ProblemBody {
    fn from(p: Problem) -> Self {
        Self {
            kind: p.kind,
            title: p.title,
            status: p.status,
            detail: p.detail,
            code: p.code,
        }
    }
}
