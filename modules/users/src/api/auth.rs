use aegis_core::auth::{AnyRole, Auth, CSRF_COOKIE, SESSION_COOKIE};
use aegis_core::http::{NoContent, client_address};
use aegis_core::{ApiError, ApiResult};
use poem::Request;
use poem::web::cookie::{Cookie, CookieJar, SameSite};
use poem_openapi::param::Path;
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::UsersTag;
use crate::dto::{
    ApiTokenView, ChangePasswordRequest, CreateTokenRequest, CreatedToken, LoginRequest,
    LoginResponse, UpdateMeRequest, UserView,
};
use crate::model::{UserId, UserPatch};
use crate::service::{Session, UsersService, parse_display_name_change, parse_email_change};

pub struct AuthApi {
    pub service: UsersService,
    pub secure_cookies: bool,
    /// Proxies whose `Forwarded` / `X-Forwarded-For` name the client.
    pub trusted_proxies: Vec<aegis_core::http::IpNet>,
}

#[derive(ApiResponse)]
enum TokenCreated {
    #[oai(status = 201)]
    Created(Json<CreatedToken>),
}

impl AuthApi {
    fn cookie(&self, name: &str, value: &str, max_age_secs: i64, http_only: bool) -> Cookie {
        let mut cookie = Cookie::new_with_str(name, value);
        cookie.set_path("/");
        cookie.set_http_only(http_only);
        cookie.set_secure(self.secure_cookies);
        cookie.set_same_site(SameSite::Strict);
        cookie.set_max_age(std::time::Duration::from_secs(
            u64::try_from(max_age_secs).unwrap_or(0),
        ));
        cookie
    }

    /// Hands a new session to the client: cookies for the dashboard, the
    /// bearer token in the body for API clients.
    fn start_session(&self, jar: &CookieJar, session: Session) -> Json<LoginResponse> {
        let expires_in = session.claims.exp - session.claims.iat;
        jar.add(self.cookie(SESSION_COOKIE, &session.token, expires_in, true));
        jar.add(self.cookie(CSRF_COOKIE, &session.csrf_token, expires_in, false));
        Json(LoginResponse {
            access_token: session.token,
            token_type: "bearer".into(),
            expires_in,
            csrf_token: session.csrf_token,
            user: session.user.into(),
        })
    }
}

#[OpenApi(prefix_path = "/api/v1/auth", tag = "UsersTag::Auth")]
impl AuthApi {
    /// Sign in: sets the HttpOnly `aegis_token` cookie and returns a bearer token.
    #[oai(path = "/login", method = "post", operation_id = "login")]
    async fn login(
        &self,
        request: &Request,
        jar: &CookieJar,
        body: Json<LoginRequest>,
    ) -> ApiResult<Json<LoginResponse>> {
        let session = self
            .service
            .login(
                &body.username,
                &body.password,
                &client_address(request, &self.trusted_proxies),
            )
            .await?;
        Ok(self.start_session(jar, session))
    }

    /// Sign out: the token is refused everywhere until it would have expired.
    #[oai(path = "/logout", method = "post", operation_id = "logout")]
    async fn logout(&self, auth: Auth<AnyRole>, jar: &CookieJar) -> ApiResult<NoContent> {
        self.service.logout(&auth).await?;
        jar.add(self.cookie(SESSION_COOKIE, "", 0, true));
        jar.add(self.cookie(CSRF_COOKIE, "", 0, false));
        Ok(NoContent::Done)
    }

    /// The signed-in user.
    #[oai(path = "/me", method = "get", operation_id = "get_me")]
    async fn get_me(&self, auth: Auth<AnyRole>) -> ApiResult<Json<UserView>> {
        Ok(Json(
            self.service
                .get(&UserId(auth.user_id.clone()))
                .await?
                .into(),
        ))
    }

    /// Change one's own display name or e-mail address (where one's notices
    /// are e-mailed; `null` removes it).
    #[oai(path = "/me", method = "patch", operation_id = "update_me")]
    async fn update_me(
        &self,
        auth: Auth<AnyRole>,
        body: Json<UpdateMeRequest>,
    ) -> ApiResult<Json<UserView>> {
        let body = body.0;
        let patch = UserPatch {
            display_name: parse_display_name_change(body.display_name.as_deref())?,
            email: parse_email_change(body.email)?,
            ..UserPatch::default()
        };
        let me = UserId(auth.user_id.clone());
        Ok(Json(self.service.update(&me, patch, &auth).await?.into()))
    }

    /// Change one's own password. Every session and API token of the user
    /// ends, the caller's included; the caller goes on with the new session
    /// returned (and set in the cookies), as after a login.
    #[oai(
        path = "/password",
        method = "post",
        operation_id = "change_own_password"
    )]
    async fn change_own_password(
        &self,
        request: &Request,
        jar: &CookieJar,
        auth: Auth<AnyRole>,
        body: Json<ChangePasswordRequest>,
    ) -> ApiResult<Json<LoginResponse>> {
        let new = self
            .service
            .parse_password(&body.new_password)
            .map_err(|_| {
                ApiError::invalid_field(
                    "new_password",
                    "too short or too long for the configured policy",
                )
            })?;
        let session = self
            .service
            .change_own_password(
                &auth,
                &body.current_password,
                new,
                &client_address(request, &self.trusted_proxies),
            )
            .await?;
        Ok(self.start_session(jar, session))
    }

    /// One's personal API tokens (never the token text).
    #[oai(path = "/tokens", method = "get", operation_id = "list_api_tokens")]
    async fn list_api_tokens(&self, auth: Auth<AnyRole>) -> ApiResult<Json<Vec<ApiTokenView>>> {
        Ok(Json(
            self.service
                .tokens(&auth)
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        ))
    }

    /// Create a personal API token for OpenAPI clients; the token is shown once.
    #[oai(path = "/tokens", method = "post", operation_id = "create_api_token")]
    async fn create_api_token(
        &self,
        auth: Auth<AnyRole>,
        body: Json<CreateTokenRequest>,
    ) -> ApiResult<TokenCreated> {
        let (record, token) = self
            .service
            .create_token(&auth, &body.name, body.expires_at)
            .await?;
        Ok(TokenCreated::Created(Json(CreatedToken {
            token,
            details: record.into(),
        })))
    }

    /// Revoke one of one's API tokens.
    #[oai(
        path = "/tokens/:id",
        method = "delete",
        operation_id = "revoke_api_token"
    )]
    async fn revoke_api_token(
        &self,
        auth: Auth<AnyRole>,
        id: Path<String>,
    ) -> ApiResult<NoContent> {
        self.service.revoke_token(&auth, &id).await?;
        Ok(NoContent::Done)
    }
}
