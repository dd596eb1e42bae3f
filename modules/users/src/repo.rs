//! SQL for users and API tokens: portable statements over the kernel's Any
//! pool. Writes go through the caller's connection (the service's
//! transaction) and take their time from the service; reads use the pool.

use aegis_core::auth::{Identity, Role};
use aegis_core::db::{Conn, Db, escape_like, flag, is_unique_violation};
use aegis_core::time::{self, Timestamp};

use crate::error::UsersError;
use crate::model::{ApiToken, EmailAddress, NewUser, User, UserFilter, UserId, UserPatch};

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    username: String,
    display_name: String,
    role: String,
    active: i64,
    email: Option<String>,
    created_at: String,
    updated_at: String,
    last_login_at: Option<String>,
}

fn parse_time(text: &str) -> Result<Timestamp, UsersError> {
    time::from_db(text).map_err(|e| UsersError::Corrupt(e.to_string()))
}

fn parse_opt_time(text: Option<&str>) -> Result<Option<Timestamp>, UsersError> {
    text.map(parse_time).transpose()
}

impl TryFrom<UserRow> for User {
    type Error = UsersError;
    fn try_from(row: UserRow) -> Result<Self, UsersError> {
        Ok(User {
            role: Role::parse(&row.role)
                .ok_or_else(|| UsersError::Corrupt(format!("role `{}`", row.role)))?,
            id: UserId(row.id),
            username: row.username,
            display_name: row.display_name,
            active: row.active != 0,
            email: row.email,
            created_at: parse_time(&row.created_at)?,
            updated_at: parse_time(&row.updated_at)?,
            last_login_at: parse_opt_time(row.last_login_at.as_deref())?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: String,
    name: String,
    token_prefix: String,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
    revoked_at: Option<String>,
}

impl TryFrom<TokenRow> for ApiToken {
    type Error = UsersError;
    fn try_from(row: TokenRow) -> Result<Self, UsersError> {
        Ok(ApiToken {
            created_at: parse_time(&row.created_at)?,
            expires_at: parse_opt_time(row.expires_at.as_deref())?,
            last_used_at: parse_opt_time(row.last_used_at.as_deref())?,
            revoked_at: parse_opt_time(row.revoked_at.as_deref())?,
            id: row.id,
            name: row.name,
            prefix: row.token_prefix,
        })
    }
}

const USER_COLUMNS: &str =
    "id, username, display_name, role, active, email, created_at, updated_at, last_login_at";

macro_rules! user_filter {
    () => {
        "($1 IS NULL OR role = $1) AND ($2 IS NULL OR active = $2)
         AND ($3 IS NULL OR username_key LIKE $3 ESCAPE '\\' OR LOWER(display_name) LIKE $3 ESCAPE '\\')"
    };
}

#[derive(Clone, Debug)]
pub struct UsersRepo {
    db: Db,
}

impl UsersRepo {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn count(&self) -> Result<i64, UsersError> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM users_user")
            .fetch_one(self.db.pool())
            .await?)
    }

    pub async fn count_active_admins(&self) -> Result<i64, UsersError> {
        Ok(sqlx::query_scalar(
            "SELECT COUNT(*) FROM users_user WHERE role = 'admin' AND active = 1",
        )
        .fetch_one(self.db.pool())
        .await?)
    }

    pub async fn insert(
        &self,
        conn: &mut Conn,
        user: &NewUser,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<User, UsersError> {
        let id = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO users_user (id, username, username_key, display_name, role, password_hash, active, email, created_at, updated_at)
             VALUES ($1, $2, $3, $4, $5, $6, 1, $8, $7, $7)",
        )
        .bind(&id)
        .bind(user.username.as_str())
        .bind(user.username.key())
        .bind(&user.display_name)
        .bind(user.role.as_str())
        .bind(password_hash)
        .bind(time::to_db(now))
        .bind(user.email.as_ref().map(EmailAddress::as_str))
        .execute(&mut *conn)
        .await
        .map_err(|e| if is_unique_violation(&e) { UsersError::UsernameTaken } else { e.into() })?;
        fetch_user(conn, &UserId(id)).await
    }

    pub async fn get(&self, id: &UserId) -> Result<User, UsersError> {
        fetch_user(self.db.pool(), id).await
    }

    /// The user, password hash and session generation for a login, by
    /// case-folded username.
    pub async fn credentials(
        &self,
        username_key: &str,
    ) -> Result<Option<(User, String, i64)>, UsersError> {
        // One round trip, so a known username costs what an unknown one does.
        #[derive(sqlx::FromRow)]
        struct Credentials {
            #[sqlx(flatten)]
            user: UserRow,
            password_hash: String,
            session_generation: i64,
        }
        let sql = format!(
            "SELECT {USER_COLUMNS}, password_hash, session_generation FROM users_user WHERE username_key = $1"
        );
        let row: Option<Credentials> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(username_key)
            .fetch_optional(self.db.pool())
            .await?;
        row.map(|c| Ok((c.user.try_into()?, c.password_hash, c.session_generation)))
            .transpose()
    }

    pub async fn password_hash(&self, id: &UserId) -> Result<String, UsersError> {
        sqlx::query_scalar("SELECT password_hash FROM users_user WHERE id = $1")
            .bind(&id.0)
            .fetch_optional(self.db.pool())
            .await?
            .ok_or(UsersError::NotFound)
    }

    pub async fn list(
        &self,
        filter: &UserFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<User>, i64), UsersError> {
        let role = filter.role.map(Role::as_str);
        let active = filter.active.map(flag);
        let query = filter
            .query
            .as_ref()
            .map(|q| format!("%{}%", escape_like(&q.to_lowercase())));
        let total: i64 = sqlx::query_scalar(concat!(
            "SELECT COUNT(*) FROM users_user WHERE ",
            user_filter!()
        ))
        .bind(role)
        .bind(active)
        .bind(&query)
        .fetch_one(self.db.pool())
        .await?;
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users_user WHERE {} ORDER BY username_key LIMIT $4 OFFSET $5",
            user_filter!()
        );
        let rows: Vec<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
            .bind(role)
            .bind(active)
            .bind(&query)
            .bind(limit)
            .bind(offset)
            .fetch_all(self.db.pool())
            .await?;
        Ok((
            rows.into_iter()
                .map(User::try_from)
                .collect::<Result<_, _>>()?,
            total,
        ))
    }

    pub async fn update(
        &self,
        conn: &mut Conn,
        id: &UserId,
        patch: &UserPatch,
        now: Timestamp,
    ) -> Result<User, UsersError> {
        let done = sqlx::query(
            "UPDATE users_user SET display_name = COALESCE($2, display_name), role = COALESCE($3, role),
             active = COALESCE($4, active), updated_at = $5,
             email = CASE WHEN $6 = 1 THEN $7 ELSE email END WHERE id = $1",
        )
        .bind(&id.0)
        .bind(&patch.display_name)
        .bind(patch.role.map(Role::as_str))
        .bind(patch.active.map(flag))
        .bind(time::to_db(now))
        .bind(flag(patch.email.is_some()))
        .bind(patch.email.as_ref().and_then(|e| e.as_ref().map(EmailAddress::as_str)))
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            return Err(UsersError::NotFound);
        }
        fetch_user(conn, id).await
    }

    /// Stores a new hash, ends every session issued before now (a new session
    /// generation, which it returns) and revokes the user's API tokens (a
    /// password change is how a compromise is answered).
    pub async fn set_password(
        &self,
        conn: &mut Conn,
        id: &UserId,
        password_hash: &str,
        now: Timestamp,
    ) -> Result<i64, UsersError> {
        let now = time::to_db(now);
        let generation: Option<i64> = sqlx::query_scalar(
            "UPDATE users_user SET password_hash = $2, sessions_valid_after = $3, updated_at = $3,
             session_generation = session_generation + 1 WHERE id = $1 RETURNING session_generation",
        )
        .bind(&id.0)
        .bind(password_hash)
        .bind(&now)
        .fetch_optional(&mut *conn)
        .await?;
        let Some(generation) = generation else {
            return Err(UsersError::NotFound);
        };
        sqlx::query(
            "UPDATE users_api_token SET revoked_at = $2 WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(&id.0)
        .bind(&now)
        .execute(&mut *conn)
        .await?;
        Ok(generation)
    }

    pub async fn touch_login(
        &self,
        conn: &mut Conn,
        id: &UserId,
        now: Timestamp,
    ) -> Result<(), UsersError> {
        sqlx::query("UPDATE users_user SET last_login_at = $2 WHERE id = $1")
            .bind(&id.0)
            .bind(time::to_db(now))
            .execute(conn)
            .await?;
        Ok(())
    }

    pub async fn identity(&self, id: &str) -> Result<Option<Identity>, UsersError> {
        let row: Option<(String, String, String, Option<String>, i64)> = sqlx::query_as(
            "SELECT id, username, role, sessions_valid_after, session_generation FROM users_user WHERE id = $1 AND active = 1",
        )
        .bind(id)
        .fetch_optional(self.db.pool())
        .await?;
        row.map(|(user_id, username, role, after, session_generation)| {
            Ok(Identity {
                role: Role::parse(&role)
                    .ok_or_else(|| UsersError::Corrupt(format!("role `{role}`")))?,
                sessions_valid_after: parse_opt_time(after.as_deref())?,
                session_generation,
                user_id,
                username,
            })
        })
        .transpose()
    }

    #[allow(clippy::too_many_arguments)]
    pub async fn insert_token(
        &self,
        conn: &mut Conn,
        user: &UserId,
        name: &str,
        hash: &str,
        prefix: &str,
        expires_at: Option<Timestamp>,
        now: Timestamp,
    ) -> Result<ApiToken, UsersError> {
        let id = uuid::Uuid::now_v7().to_string();
        sqlx::query(
            "INSERT INTO users_api_token (id, user_id, name, token_hash, token_prefix, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(&user.0)
        .bind(name)
        .bind(hash)
        .bind(prefix)
        .bind(time::to_db(now))
        .bind(expires_at.map(time::to_db))
        .execute(conn)
        .await?;
        Ok(ApiToken {
            id,
            name: name.to_owned(),
            prefix: prefix.to_owned(),
            created_at: now,
            expires_at,
            last_used_at: None,
            revoked_at: None,
        })
    }

    pub async fn tokens(&self, user: &UserId) -> Result<Vec<ApiToken>, UsersError> {
        let rows: Vec<TokenRow> = sqlx::query_as(
            "SELECT id, name, token_prefix, created_at, expires_at, last_used_at, revoked_at
             FROM users_api_token WHERE user_id = $1 ORDER BY created_at DESC",
        )
        .bind(&user.0)
        .fetch_all(self.db.pool())
        .await?;
        rows.into_iter().map(ApiToken::try_from).collect()
    }

    pub async fn revoke_token(
        &self,
        conn: &mut Conn,
        user: &UserId,
        token_id: &str,
        now: Timestamp,
    ) -> Result<(), UsersError> {
        let done = sqlx::query(
            "UPDATE users_api_token SET revoked_at = $3 WHERE id = $1 AND user_id = $2 AND revoked_at IS NULL",
        )
        .bind(token_id)
        .bind(&user.0)
        .bind(time::to_db(now))
        .execute(conn)
        .await?;
        if done.rows_affected() == 0 {
            return Err(UsersError::TokenNotFound);
        }
        Ok(())
    }

    /// The id and owner of a usable token (unrevoked, unexpired at `now`).
    pub async fn usable_token(
        &self,
        token_hash: &str,
        now: Timestamp,
    ) -> Result<Option<(String, String)>, UsersError> {
        Ok(sqlx::query_as(
            "SELECT id, user_id FROM users_api_token
             WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(token_hash)
        .bind(time::to_db(now))
        .fetch_optional(self.db.pool())
        .await?)
    }

    pub async fn mark_token_used(
        &self,
        conn: &mut Conn,
        token_id: &str,
        now: Timestamp,
    ) -> Result<(), UsersError> {
        sqlx::query("UPDATE users_api_token SET last_used_at = $2 WHERE id = $1")
            .bind(token_id)
            .bind(time::to_db(now))
            .execute(conn)
            .await?;
        Ok(())
    }
}

/// One user by id, through the pool or inside a transaction (a row the
/// transaction wrote is visible only through it).
async fn fetch_user<'e, E>(executor: E, id: &UserId) -> Result<User, UsersError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let sql = format!("SELECT {USER_COLUMNS} FROM users_user WHERE id = $1");
    let row: Option<UserRow> = sqlx::query_as(sqlx::AssertSqlSafe(sql))
        .bind(&id.0)
        .fetch_optional(executor)
        .await?;
    row.ok_or(UsersError::NotFound)?.try_into()
}
