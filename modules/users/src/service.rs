//! The users module's rules: bootstrap, login and logout, user administration,
//! password changes and personal API tokens. No HTTP types here.

use std::sync::Arc;
use std::time::Duration;

use aegis_core::Kernel;
use aegis_core::audit::AuditEntry;
use aegis_core::auth::password::{decoy_hash, hash_password, verify_password};
use aegis_core::auth::throttle::LoginThrottle;
use aegis_core::auth::token::{new_api_token, random_secret};
use aegis_core::auth::{Claims, Credential, Principal, Role};
use aegis_core::auth::{Identity, IdentityError, IdentityResolver, Member};
use aegis_core::db::Tx;
use aegis_core::http::Nullable;
use aegis_core::time::Timestamp;
use async_trait::async_trait;
use serde_json::json;

use crate::error::UsersError;
use crate::model::{
    ApiToken, EmailAddress, NewPassword, NewUser, User, UserFilter, UserId, UserPatch, Username,
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

    /// The identity port the kernel's auth extractor resolves callers through.
    pub fn identity_resolver(&self) -> Arc<dyn IdentityResolver> {
        Arc::new(UsersIdentity {
            service: self.clone(),
        })
    }

    pub fn parse_password(&self, raw: &str) -> Result<NewPassword, UsersError> {
        NewPassword::parse(raw, self.kernel.settings.auth.min_password_length)
            .map_err(|m| UsersError::invalid("password", m))
    }

    /// Records an event that goes with no stored change (a sign-in, a
    /// refused attempt, a sign-out) on its own connection; a failure is
    /// logged, never silent.
    async fn audit(&self, entry: AuditEntry) {
        let action = entry.action.clone();
        if let Err(error) = self.kernel.audit.record(entry).await {
            tracing::error!(%error, action, "cannot write an audit event");
        }
    }

    /// Writes `entry` inside the change's transaction and commits both.
    async fn commit_with(&self, mut tx: Tx, entry: AuditEntry) -> Result<(), UsersError> {
        self.kernel.audit.record_in(&mut tx, entry).await?;
        tx.commit().await?;
        Ok(())
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
            email: None,
        };
        let entry = |user: &User| AuditEntry {
            action: "user.bootstrap_admin".into(),
            target_type: Some("user".into()),
            target_id: Some(user.id.0.clone()),
            detail: json!({ "username": user.username }),
            ..AuditEntry::default()
        };
        let user = match self.insert_audited(&new_user, entry).await {
            // Another replica bootstrapped at the same moment.
            Err(UsersError::UsernameTaken) => return Ok(None),
            other => other?,
        };
        Ok(Some((user.username, generated.then_some(password))))
    }

    /// Inserts a user and its audit event (made from the stored user) in one
    /// transaction.
    async fn insert_audited(
        &self,
        new_user: &NewUser,
        entry: impl FnOnce(&User) -> AuditEntry,
    ) -> Result<User, UsersError> {
        let hash = hash_password(new_user.password.expose()).await?;
        let mut tx = self.kernel.db.begin().await?;
        let user = self
            .repo
            .insert(&mut tx, new_user, &hash, self.kernel.clock.now())
            .await?;
        self.commit_with(tx, entry(&user)).await?;
        Ok(user)
    }

    /// Creates a user; `by` is `None` for the command line.
    pub async fn create(
        &self,
        new_user: NewUser,
        by: Option<&Principal>,
    ) -> Result<User, UsersError> {
        let (actor_id, actor_name) = by.map(actor).unwrap_or((None, Some("cli".into())));
        self.insert_audited(&new_user, |user| AuditEntry {
            actor_id,
            actor_name,
            action: "user.create".into(),
            target_type: Some("user".into()),
            target_id: Some(user.id.0.clone()),
            detail: json!({ "after": { "username": user.username, "role": user.role.as_str(), "display_name": user.display_name } }),
            ..AuditEntry::default()
        })
        .await
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
            Some((user, hash, _)) => verify_password(password, hash).await && user.active,
            None => {
                verify_password(password, decoy_hash()).await;
                false
            }
        };
        let Some((user, _, session_generation)) = found.filter(|_| verified) else {
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
        throttle.record_success(username, address).await?;
        let mut conn = self.kernel.db.pool().acquire().await?;
        self.repo
            .touch_login(&mut conn, &user.id, self.kernel.clock.now())
            .await?;
        drop(conn);
        let (token, claims) = self
            .kernel
            .tokens
            .issue(&user.id.0, session_generation)
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

    /// Revokes the session's `jti` in the database (with its audit event)
    /// until the token would have expired, then caches the revocation.
    pub async fn logout(&self, principal: &Principal) -> Result<(), UsersError> {
        let (actor_id, actor_name) = actor(principal);
        let entry = AuditEntry {
            actor_id,
            actor_name,
            action: "auth.logout".into(),
            ..AuditEntry::default()
        };
        let Credential::Session {
            jti, expires_at, ..
        } = &principal.credential
        else {
            self.audit(entry).await;
            return Ok(());
        };
        let mut tx = self.kernel.db.begin().await?;
        self.kernel
            .revocations
            .revoke_in(&mut tx, jti, *expires_at, self.kernel.clock.now())
            .await?;
        self.commit_with(tx, entry).await?;
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
        let mut tx = self.kernel.db.begin().await?;
        let after = self
            .repo
            .update(&mut tx, id, patch, self.kernel.clock.now())
            .await?;
        let (actor_id, actor_name) = actor(by);
        self.commit_with(tx, AuditEntry {
            actor_id,
            actor_name,
            action: if patch.active == Some(false) { "user.deactivate" } else { "user.update" }.into(),
            target_type: Some("user".into()),
            target_id: Some(id.0.clone()),
            detail: json!({
                "before": { "display_name": before.display_name, "role": before.role.as_str(), "active": before.active, "has_email": before.email.is_some() },
                "after": { "display_name": after.display_name, "role": after.role.as_str(), "active": after.active, "has_email": after.email.is_some() },
            }),
            ..AuditEntry::default()
        })
        .await?;
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
        let hash = hash_password(password.expose()).await?;
        let mut tx = self.kernel.db.begin().await?;
        self.repo
            .set_password(&mut tx, id, &hash, self.kernel.clock.now())
            .await?;
        let (actor_id, actor_name) = actor(by);
        self.commit_with(
            tx,
            AuditEntry {
                actor_id,
                actor_name,
                action: "user.reset_password".into(),
                target_type: Some("user".into()),
                target_id: Some(id.0.clone()),
                ..AuditEntry::default()
            },
        )
        .await?;
        Ok(generated.then(|| password.expose().to_owned()))
    }

    /// Throttled like logins: a stolen session must not become a password oracle.
    /// Every session and API token of the user ends; the caller goes on with
    /// the fresh session returned, issued under the new session generation.
    pub async fn change_own_password(
        &self,
        me: &Principal,
        current: &str,
        new: NewPassword,
        address: &str,
    ) -> Result<Session, UsersError> {
        let throttle = LoginThrottle::new(self.kernel.kv.as_ref(), &self.kernel.settings.auth);
        if let Err(retry) = throttle.check(&me.username, address).await? {
            return Err(UsersError::Throttled(retry.0));
        }
        let id = UserId(me.user_id.clone());
        if !verify_password(current, &self.repo.password_hash(&id).await?).await {
            tokio::time::sleep(throttle.record_failure(&me.username, address).await?).await;
            return Err(UsersError::WrongCurrentPassword);
        }
        let hash = hash_password(new.expose()).await?;
        let mut tx = self.kernel.db.begin().await?;
        let generation = self
            .repo
            .set_password(&mut tx, &id, &hash, self.kernel.clock.now())
            .await?;
        let (actor_id, actor_name) = actor(me);
        self.commit_with(
            tx,
            AuditEntry {
                actor_id,
                actor_name,
                action: "user.change_password".into(),
                target_type: Some("user".into()),
                target_id: Some(id.0.clone()),
                ..AuditEntry::default()
            },
        )
        .await?;
        throttle.record_success(&me.username, address).await?;
        let (token, claims) = self
            .kernel
            .tokens
            .issue(&id.0, generation)
            .map_err(|e| UsersError::Corrupt(e.to_string()))?;
        let csrf_token = self.kernel.tokens.csrf_token(&claims.jti);
        Ok(Session {
            token,
            claims,
            csrf_token,
            user: self.get(&id).await?,
        })
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
        let now = self.kernel.clock.now();
        if expires_at.is_some_and(|at| at <= now) {
            return Err(UsersError::invalid("expires_at", "must be in the future"));
        }
        let (token, hash, prefix) = new_api_token();
        let id = UserId(me.user_id.clone());
        let mut tx = self.kernel.db.begin().await?;
        let record = self
            .repo
            .insert_token(&mut tx, &id, name, &hash, &prefix, expires_at, now)
            .await?;
        let (actor_id, actor_name) = actor(me);
        self.commit_with(
            tx,
            AuditEntry {
                actor_id,
                actor_name,
                action: "api_token.create".into(),
                target_type: Some("api_token".into()),
                target_id: Some(record.id.clone()),
                detail: json!({ "name": record.name }),
                ..AuditEntry::default()
            },
        )
        .await?;
        Ok((record, token))
    }

    pub async fn tokens(&self, me: &Principal) -> Result<Vec<ApiToken>, UsersError> {
        self.repo.tokens(&UserId(me.user_id.clone())).await
    }

    pub async fn revoke_token(&self, me: &Principal, token_id: &str) -> Result<(), UsersError> {
        let mut tx = self.kernel.db.begin().await?;
        self.repo
            .revoke_token(
                &mut tx,
                &UserId(me.user_id.clone()),
                token_id,
                self.kernel.clock.now(),
            )
            .await?;
        let (actor_id, actor_name) = actor(me);
        self.commit_with(
            tx,
            AuditEntry {
                actor_id,
                actor_name,
                action: "api_token.revoke".into(),
                target_type: Some("api_token".into()),
                target_id: Some(token_id.into()),
                ..AuditEntry::default()
            },
        )
        .await
    }

    /// The active user with this id, as the auth extractor sees them.
    async fn identity(&self, user_id: &str) -> Result<Option<Identity>, UsersError> {
        self.repo.identity(user_id).await
    }

    /// The active owner of a usable API token; records the token's use.
    async fn api_token_owner(
        &self,
        token_hash: &str,
    ) -> Result<Option<(String, Identity)>, UsersError> {
        let now = self.kernel.clock.now();
        let Some((token_id, user_id)) = self.repo.usable_token(token_hash, now).await? else {
            return Ok(None);
        };
        let Some(identity) = self.repo.identity(&user_id).await? else {
            return Ok(None);
        };
        let mut conn = self.kernel.db.pool().acquire().await?;
        self.repo.mark_token_used(&mut conn, &token_id, now).await?;
        Ok(Some((token_id, identity)))
    }
}

/// The identity port over the users service.
struct UsersIdentity {
    service: UsersService,
}

#[async_trait]
impl IdentityResolver for UsersIdentity {
    async fn active_user(&self, user_id: &str) -> Result<Option<Identity>, IdentityError> {
        self.service
            .identity(user_id)
            .await
            .map_err(|e| IdentityError(e.to_string()))
    }

    async fn api_token_owner(
        &self,
        token_hash: &str,
    ) -> Result<Option<(String, Identity)>, IdentityError> {
        self.service
            .api_token_owner(token_hash)
            .await
            .map_err(|e| IdentityError(e.to_string()))
    }

    async fn active_members(&self, limit: i64) -> Result<Vec<Member>, IdentityError> {
        let active = UserFilter {
            active: Some(true),
            ..UserFilter::default()
        };
        let (users, _) = self
            .service
            .list(&active, limit, 0)
            .await
            .map_err(|e| IdentityError(e.to_string()))?;
        Ok(users
            .into_iter()
            .map(|u| Member {
                user_id: u.id.0,
                username: u.username,
                display_name: u.display_name,
                role: u.role,
            })
            .collect())
    }
}

/// Parses the parts of a new user, collecting the first bad field.
pub fn parse_new_user(
    username: &str,
    display_name: Option<&str>,
    role: Role,
    password: NewPassword,
    email: Option<&str>,
) -> Result<NewUser, UsersError> {
    let username = Username::parse(username).map_err(|m| UsersError::invalid("username", m))?;
    let display_name = parse_display_name(display_name.unwrap_or(username.as_str()))
        .map_err(|m| UsersError::invalid("display_name", m))?;
    Ok(NewUser {
        username,
        display_name,
        role,
        password,
        email: email.map(parse_email).transpose()?,
    })
}

/// A request's optional display name, checked.
pub fn parse_display_name_change(raw: Option<&str>) -> Result<Option<String>, UsersError> {
    raw.map(parse_display_name)
        .transpose()
        .map_err(|m| UsersError::invalid("display_name", m))
}

/// A request's e-mail field: absent leaves the address, `null` removes it.
pub fn parse_email_change(
    field: Nullable<String>,
) -> Result<Option<Option<EmailAddress>>, UsersError> {
    field
        .change()
        .map(|address| address.as_deref().map(parse_email).transpose())
        .transpose()
}

pub fn parse_email(raw: &str) -> Result<EmailAddress, UsersError> {
    EmailAddress::parse(raw).map_err(|m| UsersError::invalid("email", m))
}
