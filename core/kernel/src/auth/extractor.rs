//! `Auth<P>`: a poem-openapi security extractor generic over a role policy, so
//! a handler states its roles in its signature (`auth: Auth<AdminOnly>`) and the
//! OpenAPI document lists bearer and cookie security on the operation.

use std::marker::PhantomData;

use poem::Request;
use poem::http::Method;
use poem_openapi::registry::{MetaSecurityScheme, Registry};
use poem_openapi::{ApiExtractor, ApiExtractorType, ExtractParamOptions};

use super::token::{API_TOKEN_PREFIX, TokenError, hash_api_token};
use super::{AuthContext, CSRF_HEADER, Credential, Principal, Role, SESSION_COOKIE};
use crate::error::ApiError;

/// Which roles an endpoint admits.
pub trait RolePolicy: Send + Sync + 'static {
    const ROLES: &'static [Role];
}

macro_rules! policy {
    ($(#[$doc:meta])* $name:ident => [$($role:ident),+]) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name;
        impl RolePolicy for $name {
            const ROLES: &'static [Role] = &[$(Role::$role),+];
        }
    };
}

policy!(/// Every signed-in user, viewers included.
    AnyRole => [Admin, Lead, RedTech, BlueTech, Viewer]);
policy!(/// Everyone who records work: every role but viewers.
    Contributor => [Admin, Lead, RedTech, BlueTech]);
policy!(/// Administrators only.
    AdminOnly => [Admin]);
policy!(/// Leads and administrators.
    LeadPlus => [Admin, Lead]);
policy!(/// The red side: red techs, leads and administrators.
    RedTechPlus => [Admin, Lead, RedTech]);
policy!(/// The blue side: blue techs, leads and administrators.
    BlueTechPlus => [Admin, Lead, BlueTech]);

/// The authenticated caller, admitted by policy `P`.
#[derive(Debug)]
pub struct Auth<P: RolePolicy = AnyRole> {
    pub principal: Principal,
    policy: PhantomData<P>,
}

impl<P: RolePolicy> std::ops::Deref for Auth<P> {
    type Target = Principal;
    fn deref(&self) -> &Principal {
        &self.principal
    }
}

const BEARER_SCHEME: &str = "bearerAuth";
const COOKIE_SCHEME: &str = "cookieAuth";

impl<'a, P: RolePolicy> ApiExtractor<'a> for Auth<P> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::SecurityScheme];
    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        registry.create_security_scheme(
            BEARER_SCHEME,
            MetaSecurityScheme {
                ty: "http",
                description: Some(
                    "A session token from login, or a personal API token (`aegis_pat_...`).",
                ),
                name: None,
                key_in: None,
                scheme: Some("bearer"),
                bearer_format: Some("JWT"),
                flows: None,
                openid_connect_url: None,
            },
        );
        registry.create_security_scheme(
            COOKIE_SCHEME,
            MetaSecurityScheme {
                ty: "apiKey",
                description: Some("The HttpOnly `aegis_token` cookie set by login; unsafe methods also need `X-CSRF-Token`."),
                name: Some(SESSION_COOKIE),
                key_in: Some("cookie"),
                scheme: None,
                bearer_format: None,
                flows: None,
                openid_connect_url: None,
            },
        );
    }

    fn security_schemes() -> Vec<&'static str> {
        vec![BEARER_SCHEME, COOKIE_SCHEME]
    }

    async fn from_request(
        request: &'a Request,
        _body: &mut poem::RequestBody,
        _param_opts: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let principal = authenticate(request).await?;
        if !P::ROLES.contains(&principal.role) {
            let allowed: Vec<&str> = P::ROLES.iter().map(|r| r.as_str()).collect();
            return Err(ApiError::forbidden(
                "insufficient_role",
                format!("this action needs one of the roles: {}", allowed.join(", ")),
            )
            .into());
        }
        Ok(Self {
            principal,
            policy: PhantomData,
        })
    }
}

/// Resolves the caller or fails with a 401/403 problem.
pub async fn authenticate(request: &Request) -> Result<Principal, ApiError> {
    let ctx = request
        .data::<AuthContext>()
        .ok_or_else(|| ApiError::internal("auth", &"AuthContext missing from request data"))?;

    let bearer = request
        .headers()
        .get(poem::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim);

    let (token, from_cookie) = match bearer {
        Some(token) if token.starts_with(API_TOKEN_PREFIX) => {
            return api_token_principal(ctx, token).await;
        }
        Some(token) => (token.to_owned(), false),
        None => match request.cookie().get(SESSION_COOKIE) {
            Some(cookie) => (cookie.value_str().to_owned(), true),
            None => {
                return Err(ApiError::unauthorized(
                    "unauthenticated",
                    "sign in or send a bearer token",
                ));
            }
        },
    };

    let claims = ctx.tokens.verify(&token).map_err(|e| match e {
        TokenError::Expired => {
            ApiError::unauthorized("token_expired", "the session has expired; sign in again")
        }
        TokenError::Invalid => ApiError::unauthorized("invalid_token", "the token is not valid"),
    })?;
    if ctx
        .revocations
        .is_revoked(&claims.jti)
        .await
        .map_err(|e| ApiError::database("auth revocations", &e))?
    {
        return Err(ApiError::unauthorized(
            "token_revoked",
            "the session was signed out",
        ));
    }
    let identity = ctx
        .identity
        .active_user(&claims.sub)
        .await
        .map_err(|e| ApiError::dependency_down("auth identity", "database_unavailable", &e))?
        .ok_or_else(|| {
            ApiError::unauthorized("invalid_token", "the account is unknown or deactivated")
        })?;
    // The generation is exact; `iat` (whole seconds) stays for tokens
    // issued before generations existed.
    if claims.sgen != identity.session_generation
        || identity
            .sessions_valid_after
            .is_some_and(|after| claims.iat < after.timestamp())
    {
        return Err(ApiError::unauthorized(
            "token_revoked",
            "the password changed since this session began",
        ));
    }
    if from_cookie && !is_safe(request.method()) {
        let presented = request
            .headers()
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        if !ctx.tokens.csrf_matches(&claims.jti, presented) {
            return Err(ApiError::forbidden(
                "csrf_failed",
                "cookie-authenticated changes need a valid X-CSRF-Token header",
            ));
        }
    }
    Ok(Principal {
        user_id: identity.user_id,
        username: identity.username,
        role: identity.role,
        credential: Credential::Session {
            jti: claims.jti,
            expires_at: claims.exp,
            cookie: from_cookie,
        },
    })
}

async fn api_token_principal(ctx: &AuthContext, token: &str) -> Result<Principal, ApiError> {
    let (token_id, identity) = ctx
        .identity
        .api_token_owner(&hash_api_token(token))
        .await
        .map_err(|e| ApiError::dependency_down("auth identity", "database_unavailable", &e))?
        .ok_or_else(|| {
            ApiError::unauthorized(
                "invalid_token",
                "the API token is unknown, revoked or expired",
            )
        })?;
    Ok(Principal {
        user_id: identity.user_id,
        username: identity.username,
        role: identity.role,
        credential: Credential::ApiToken { token_id },
    })
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}
