//! The users module's rules: bootstrap, login and logout, user administration,
//! password changes and personal API tokens. No HTTP types here.

use std::time::Duration;

use aegis_core::Kernel;
use aegis_core::audit::AuditEntry;
use aegis_core::auth::password::{decoy_hash, hash_password, verify_password};
use aegis_core::auth::throttle::LoginThrottle;
use aegis_core::auth::token::{new_api_token, random_secret};
use aegis_core::auth::{Claims, Credential, Principal, Role, revoked_key};
use aegis_core::time::Timestamp;
use serde_json::json;

use crate::error::UsersError;
use crate::model::{
    ApiToken, NewPassword, NewUser, User, UserFilter, UserId, UserPatch, Username,
    parse_display_name,
};
use crate::repo::UsersRepo;

/// Key-value lock around role and active-flag changes.
const ROSTER_LOCK: &str = "users:roster-change";

#[derive(Clone)]
pub struct UsersService {
    kernel: Kernel,
    repo: UsersRepo,
}

/// A successful login.
pub struct Session {
    pub token: String,
    pub claims: Claims,
    pub csrf_token: String,
    pub user: User,
}

fn actor(principal: &Principal) -> (Option<String>, Option<String>) {
    (
        Some(principal.user_id.clone()),
        Some(principal.username.clone()),
    )
}

impl UsersService {
    pub fn new(kernel: Kernel) -> Self {
        Self {
            repo: UsersRepo::new(kernel.db.clone()),
            kernel,
        }
    }

    pub fn repo(&self) -> &UsersRepo {
        &self.repo
    }

    pub fn parse_password(&self, raw: &str) -> Result<NewPassword, UsersError> {
        NewPassword::parse(raw, self.kernel.settings.auth.min_password_length)
            .map_err(|m| UsersError::invalid("password", m))
    }

    async fn audit(&self, entry: AuditEntry) {
        if let Err(error) = self.kernel.audit.record(entry).await {
            tracing::error!(%error, "cannot write an audit event");
        }
    }

    /// With no users at all, creates the configured admin. Returns the
    /// password when it was generated, for the caller to print once.
    pub async fn bootstrap_admin(&self) -> Result<Option<(String, Option<String>)>, UsersError> {
        if self.repo.count().await? > 0 {
            return Ok(None);
        }
        let settings = &self.kernel.settings.admin;
        let (password, generated) = match &settings.password {
            Some(p) => (p.expose().to_owned(), false),
            None => (random_secret(18), true),
        };
        let new_user = NewUser {
            username: Username::parse(&settings.username)
                .map_err(|m| UsersError::invalid("admin.username", m))?,
            display_name: "Administrator".into(),
            role: Role::Admin,
            password: NewPassword::parse(&password, 1)
                .map_err(|m| UsersError::invalid("admin.password", m))?,
        };
        let user = match self.create_unaudited(&new_user).await {
            // Another replica bootstrapped at the same moment.
            Err(UsersError::UsernameTaken) => return Ok(None),
            other => other?,
        };
        self.audit(AuditEntry {
            action: "user.bootstrap_admin".into(),
            target_type: Some("user".into()),
            target_id: Some(user.id.0.clone()),
            detail: json!({ "username": user.username }),
            ..AuditEntry::default()
        })
        .await;
        Ok(Some((user.username, generated.then_some(password))))
    }

    async fn create_unaudited(&self, new_user: &NewUser) -> Result<User, UsersError> {
        let hash = hash_password(new_user.password.expose()).await?;
        self.repo.insert(new_user, &hash).await
    }

    /// Creates a user; `by` is `None` for the command line.
    pub async fn create(
        &self,
        new_user: NewUser,
        by: Option<&Principal>,
    ) -> Result<User, UsersError> {
        let user = self.create_unaudited(&new_user).await?;
        let (actor_id, actor_name) = by.map(actor).unwrap_or((None, Some("cli".into())));
        self.audit(AuditEntry {
            actor_id,
            actor_name,
            action: "user.create".into(),
            target_type: Some("user".into()),
            target_id: Some(user.id.0.clone()),
            detail: json!({ "after": { "username": user.username, "role": user.role.as_str(), "display_name": user.display_name } }),
            ..AuditEntry::default()
        })
        .await;
        Ok(user)
    }

    pub async fn login(
        &self,
        username: &str,
        password: &str,
        address: &str,
    ) -> Result<Session, UsersError> {
        let settings = &self.kernel.settings.auth;
        let throttle = LoginThrottle::new(self.kernel.kv.as_ref(), settings);
        if let Err(retry) = throttle.check(username, address).await? {
            self.audit(AuditEntry {
                actor_name: Some(username.chars().take(64).collect()),
                action: "auth.login_throttled".into(),
                address: Some(address.into()),
                ..AuditEntry::default()
            })
            .await;
            return Err(UsersError::Throttled(retry.0));
        }
        let found = self
            .repo
            .credentials(&username.trim().to_lowercase())
            .await?;
        let verified = match &found {
            Some((user, hash)) => verify_password(password, hash).await && user.active,
            None => {
                verify_password(password, decoy_hash()).await;
                false
            }
        };
        let Some((user, _)) = found.filter(|_| verified) else {
            let delay = throttle.record_failure(username, address).await?;
            self.audit(AuditEntry {
                actor_name: Some(username.chars().take(64).collect()),
                action: "auth.login_failed".into(),
                address: Some(address.into()),
                ..AuditEntry::default()
            })
            .await;
            tokio::time::sleep(delay).await;
            return Err(UsersError::InvalidCredentials);
        };
        throttle.record_success(username).await?;
        self.repo.touch_login(&user.id).await?;
        let (token, claims) = self
            .kernel
            .tokens
            .issue(&user.id.0)
            .map_err(|e| UsersError::Corrupt(e.to_string()))?;
        self.audit(AuditEntry {
            actor_id: Some(user.id.0.clone()),
            actor_name: Some(user.username.clone()),
            action: "auth.login".into(),
            address: Some(address.into()),
            ..AuditEntry::default()
        })
        .await;
        let csrf_token = self.kernel.tokens.csrf_token(&claims.jti);
        Ok(Session {
            token,
            claims,
            csrf_token,
            user,
        })
    }

    /// Blacklists the session's `jti` until the token would have expired.
    pub async fn logout(&self, principal: &Principal) -> Result<(), UsersError> {
        if let Credential::Session {
            jti, expires_at, ..
        } = &principal.credential
        {
            let remaining = (*expires_at - chrono::Utc::now().timestamp()).max(1);
            let ttl = Duration::from_secs(u64::try_from(remaining).unwrap_or(1));
            self.kernel
                .kv
                .set(&revoked_key(jti), "1", Some(ttl))
                .await?;
        }
        let (actor_id, actor_name) = actor(principal);
        self.audit(AuditEntry {
            actor_id,
            actor_name,
            action: "auth.logout".into(),
            ..AuditEntry::default()
        })
        .await;
        Ok(())
    }

    pub async fn get(&self, id: &UserId) -> Result<User, UsersError> {
        self.repo.get(id).await
    }

    pub async fn list(
        &self,
        filter: &UserFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<User>, i64), UsersError> {
        self.repo.list(filter, limit, offset).await
    }

    pub async fn update(
        &self,
        id: &UserId,
        patch: UserPatch,
        by: &Principal,
    ) -> Result<User, UsersError> {
        // Role and active changes are serialised across replicas, so two admins
        // demoting each other at once cannot leave no administrator.
        let roster_lock = if patch.role.is_some() || patch.active.is_some() {
            Some(self.lock_roster().await?)
        } else {
            None
        };
        let result = self.update_unlocked(id, &patch, by).await;
        if let Some(token) = roster_lock
            && let Err(error) = self.kernel.kv.delete_if_equals(ROSTER_LOCK, &token).await
        {
            tracing::warn!(%error, "cannot free the roster lock; it expires on its own");
        }
        result
    }

    async fn lock_roster(&self) -> Result<String, UsersError> {
        let token = uuid::Uuid::new_v4().to_string();
        for _ in 0..50 {
            if self
                .kernel
                .kv
                .set_if_absent(ROSTER_LOCK, &token, Duration::from_secs(30))
                .await?
            {
                return Ok(token);
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(UsersError::WouldLockOut(
            "another role change is in progress; retry",
        ))
    }

    async fn update_unlocked(
        &self,
        id: &UserId,
        patch: &UserPatch,
        by: &Principal,
    ) -> Result<User, UsersError> {
        let before = self.repo.get(id).await?;
        let demotes = patch.role.is_some_and(|r| r != Role::Admin) || patch.active == Some(false);
        if demotes && before.role == Role::Admin && before.active {
            if before.id.0 == by.user_id {
                return Err(UsersError::WouldLockOut(
                    "administrators cannot demote or deactivate themselves",
                ));
            }
            if self.repo.count_active_admins().await? <= 1 {
                return Err(UsersError::WouldLockOut(
                    "the last active administrator must stay",
                ));
            }
        }
        let after = self.repo.update(id, patch).await?;
        let (actor_id, actor_name) = actor(by);
        self.audit(AuditEntry {
            actor_id,
            actor_name,
            action: if patch.active == Some(false) { "user.deactivate" } else { "user.update" }.into(),
            target_type: Some("user".into()),
            target_id: Some(id.0.clone()),
            detail: json!({
                "before": { "display_name": before.display_name, "role": before.role.as_str(), "active": before.active },
                "after": { "display_name": after.display_name, "role": after.role.as_str(), "active": after.active },
            }),
            ..AuditEntry::default()
        })
        .await;
        Ok(after)
    }

    /// Admin reset; a generated password is returned when none was given.
    pub async fn reset_password(
        &self,
        id: &UserId,
        password: Option<NewPassword>,
        by: &Principal,
    ) -> Result<Option<String>, UsersError> {
        let (password, generated) = match password {
            Some(p) => (p, false),
            None => (
                NewPassword::parse(&random_secret(18), 1)
                    .map_err(|m| UsersError::invalid("password", m))?,
                true,
            ),
        };
        self.repo
            .set_password(id, &hash_password(password.expose()).await?)
            .await?;
        let (actor_id, actor_name) = actor(by);
        self.audit(AuditEntry {
            actor_id,
            actor_name,
            action: "user.reset_password".into(),
            target_type: Some("user".into()),
            target_id: Some(id.0.clone()),
            ..AuditEntry::default()
        })
        .await;
        Ok(generated.then(|| password.expose().to_owned()))
    }

    /// Throttled like logins: a stolen session must not become a password oracle.
    pub async fn change_own_password(
        &self,
        me: &Principal,
        current: &str,
        new: NewPassword,
        address: &str,
    ) -> Result<(), UsersError> {
        let throttle = LoginThrottle::new(self.kernel.kv.as_ref(), &self.kernel.settings.auth);
        if let Err(retry) = throttle.check(&me.username, address).await? {
            return Err(UsersError::Throttled(retry.0));
        }
        let id = UserId(me.user_id.clone());
        if !verify_password(current, &self.repo.password_hash(&id).await?).await {
            tokio::time::sleep(throttle.record_failure(&me.username, address).await?).await;
            return Err(UsersError::invalid("current_password", "does not match"));
        }
        self.repo
            .set_password(&id, &hash_password(new.expose()).await?)
            .await?;
        let (actor_id, actor_name) = actor(me);
        self.audit(AuditEntry {
            actor_id,
            actor_name,
            action: "user.change_password".into(),
            target_type: Some("user".into()),
            target_id: Some(id.0),
            ..AuditEntry::default()
        })
        .await;
        Ok(())
    }

    /// A new personal API token; the token text is returned only here.
    pub async fn create_token(
        &self,
        me: &Principal,
        name: &str,
        expires_at: Option<Timestamp>,
    ) -> Result<(ApiToken, String), UsersError> {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 100 {
            return Err(UsersError::invalid("name", "must be 1 to 100 characters"));
        }
        if expires_at.is_some_and(|at| at <= chrono::Utc::now()) {
            return Err(UsersError::invalid("expires_at", "must be in the future"));
        }
        let (token, hash, prefix) = new_api_token();
        let id = UserId(me.user_id.clone());
        let record = self
            .repo
            .insert_token(&id, name, &hash, &prefix, expires_at)
            .await?;
        let (actor_id, actor_name) = actor(me);
        self.audit(AuditEntry {
            actor_id,
            actor_name,
            action: "api_token.create".into(),
            target_type: Some("api_token".into()),
            target_id: Some(record.id.clone()),
            detail: json!({ "name": record.name }),
            ..AuditEntry::default()
        })
        .await;
        Ok((record, token))
    }

    pub async fn tokens(&self, me: &Principal) -> Result<Vec<ApiToken>, UsersError> {
        self.repo.tokens(&UserId(me.user_id.clone())).await
    }

    pub async fn revoke_token(&self, me: &Principal, token_id: &str) -> Result<(), UsersError> {
        self.repo
            .revoke_token(&UserId(me.user_id.clone()), token_id)
            .await?;
        let (actor_id, actor_name) = actor(me);
        self.audit(AuditEntry {
            actor_id,
            actor_name,
            action: "api_token.revoke".into(),
            target_type: Some("api_token".into()),
            target_id: Some(token_id.into()),
            ..AuditEntry::default()
        })
        .await;
        Ok(())
    }
}

/// Parses the parts of a new user, collecting the first bad field.
pub fn parse_new_user(
    username: &str,
    display_name: Option<&str>,
    role: Role,
    password: NewPassword,
) -> Result<NewUser, UsersError> {
    let username = Username::parse(username).map_err(|m| UsersError::invalid("username", m))?;
    let display_name = parse_display_name(display_name.unwrap_or(username.as_str()))
        .map_err(|m| UsersError::invalid("display_name", m))?;
    Ok(NewUser {
        username,
        display_name,
        role,
        password,
    })
}
