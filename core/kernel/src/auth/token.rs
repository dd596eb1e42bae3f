//! Session tokens (HS256 JWT with a `jti`), their CSRF companions, and
//! personal API tokens. Only HS256 is accepted: a token naming any other
//! algorithm, including `none`, is refused before its signature is looked at.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::secret::Secret;
use crate::time::Clock;

/// Prefix of personal API tokens, so they are recognisable in a leak scan.
pub const API_TOKEN_PREFIX: &str = "aegis_pat_";
const ISSUER: &str = "aegis";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// The user id.
    pub sub: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
    pub iss: String,
    /// The user's session generation when the token was issued; a password
    /// change or reset bumps it, which ends the session exactly (`iat` has
    /// one-second resolution). Absent in older tokens: generation 0.
    #[serde(default)]
    pub sgen: i64,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("token expired")]
    Expired,
    #[error("invalid token")]
    Invalid,
}

/// Issues and verifies session tokens with the installation's secret key.
#[derive(Clone)]
pub struct TokenService {
    encoding: EncodingKey,
    decoding: DecodingKey,
    secret: Secret,
    ttl_seconds: i64,
    clock: Clock,
}

impl std::fmt::Debug for TokenService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenService")
            .field("ttl_seconds", &self.ttl_seconds)
            .finish_non_exhaustive()
    }
}

impl TokenService {
    /// Tokens signed with `secret`, valid for `ttl_minutes`; `clock` is the
    /// kernel's, from which a token's `iat` is read.
    pub fn new(secret: &Secret, ttl_minutes: u32, clock: Clock) -> Result<Self, TokenError> {
        let bytes = secret.expose().as_bytes();
        Ok(Self {
            encoding: EncodingKey::from_secret(bytes).map_err(|_| TokenError::Invalid)?,
            decoding: DecodingKey::from_secret(bytes).map_err(|_| TokenError::Invalid)?,
            secret: secret.clone(),
            ttl_seconds: i64::from(ttl_minutes) * 60,
            clock,
        })
    }

    pub fn ttl_seconds(&self) -> i64 {
        self.ttl_seconds
    }

    /// A fresh token for `user_id` under its `session_generation`, with its
    /// claims. `iat` comes from the kernel's clock, as do the password-change
    /// times it is compared with; `exp` from the system clock, which the JWT
    /// validation reads.
    pub fn issue(
        &self,
        user_id: &str,
        session_generation: i64,
    ) -> Result<(String, Claims), TokenError> {
        let claims = Claims {
            sub: user_id.to_owned(),
            jti: uuid::Uuid::new_v4().to_string(),
            iat: self.clock.now().timestamp(),
            exp: chrono::Utc::now().timestamp() + self.ttl_seconds,
            iss: ISSUER.into(),
            sgen: session_generation,
        };
        let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|_| TokenError::Invalid)?;
        Ok((token, claims))
    }

    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "sub", "iss"]);
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &validation)
            .map(|d| d.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid,
            })
    }

    /// The CSRF token bound to a session: HMAC(secret, jti). The browser sends
    /// it back in `X-CSRF-Token`; a cross-site page can neither read nor forge it.
    pub fn csrf_token(&self, jti: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(self.secret.expose().as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
        mac.update(b"aegis-csrf:");
        mac.update(jti.as_bytes());
        URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
    }

    pub fn csrf_matches(&self, jti: &str, presented: &str) -> bool {
        self.csrf_token(jti)
            .as_bytes()
            .ct_eq(presented.as_bytes())
            .into()
    }
}

/// A new personal API token: (the token shown once, its stored hash, its display prefix).
pub fn new_api_token() -> (String, String, String) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let token = format!("{API_TOKEN_PREFIX}{}", URL_SAFE_NO_PAD.encode(bytes));
    let prefix = token.chars().take(API_TOKEN_PREFIX.len() + 6).collect();
    (token.clone(), hash_api_token(&token), prefix)
}

/// API tokens carry 256 random bits, so a plain SHA-256 suffices to store them:
/// unlike passwords there is nothing to brute-force.
pub fn hash_api_token(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

/// A random secret for development installations and generated passwords.
pub fn random_secret(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> TokenService {
        TokenService::new(&Secret::new("k".repeat(40)), 10, Clock::system()).unwrap()
    }

    #[test]
    fn issued_tokens_verify_and_tampering_fails() {
        let tokens = service();
        let (token, claims) = tokens.issue("user-1", 0).unwrap();
        assert_eq!(tokens.verify(&token).unwrap(), claims);
        let mut tampered = token.clone();
        tampered.pop();
        tampered.push(if token.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(tokens.verify(&tampered), Err(TokenError::Invalid));
        let other = TokenService::new(&Secret::new("z".repeat(40)), 10, Clock::system()).unwrap();
        assert_eq!(other.verify(&token), Err(TokenError::Invalid));
    }

    #[test]
    fn issued_at_follows_the_clock_and_expiry_the_system_time() {
        let clock = Clock::system();
        let tokens = TokenService::new(&Secret::new("k".repeat(40)), 10, clock.clone()).unwrap();
        clock.advance(chrono::Duration::hours(2));
        let (token, claims) = tokens.issue("user-1", 3).unwrap();
        assert_eq!(claims.sgen, 3);
        assert!(claims.iat >= chrono::Utc::now().timestamp() + 7_199);
        let exp = chrono::Utc::now().timestamp() + 600;
        assert!((exp - 1..=exp).contains(&claims.exp));
        assert_eq!(tokens.verify(&token).unwrap(), claims);
    }

    #[test]
    fn csrf_is_bound_to_the_session() {
        let tokens = service();
        let csrf = tokens.csrf_token("jti-1");
        assert!(tokens.csrf_matches("jti-1", &csrf));
        assert!(!tokens.csrf_matches("jti-2", &csrf));
    }

    #[test]
    fn api_tokens_are_prefixed_and_hashed() {
        let (token, hash, prefix) = new_api_token();
        assert!(token.starts_with(API_TOKEN_PREFIX));
        assert!(token.starts_with(&prefix));
        assert_eq!(hash, hash_api_token(&token));
        assert_eq!(hash.len(), 64);
    }
}
