use aegis_core::ApiResult;
use aegis_core::auth::{AdminOnly, Auth, Role};
use aegis_core::pagination::PageRequest;
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, OpenApi};

use super::UsersTag;
use crate::dto::{
    CreateUserRequest, ResetPasswordRequest, ResetPasswordResponse, UpdateUserRequest, UserPage,
    UserView,
};
use crate::model::{UserFilter, UserId, UserPatch};
use crate::service::{UsersService, parse_display_name_change, parse_email_change, parse_new_user};

pub struct UsersApi {
    pub service: UsersService,
}

#[derive(ApiResponse)]
enum UserCreated {
    #[oai(status = 201)]
    Created(Json<UserView>),
}

impl UsersApi {
    async fn deactivate(&self, auth: Auth<AdminOnly>, id: String) -> ApiResult<Json<UserView>> {
        let patch = UserPatch {
            active: Some(false),
            ..UserPatch::default()
        };
        Ok(Json(
            self.service.update(&UserId(id), patch, &auth).await?.into(),
        ))
    }
}

#[OpenApi(prefix_path = "/api/v1/users", tag = "UsersTag::Users")]
impl UsersApi {
    /// List users, filtered by role, active flag and a search text.
    #[oai(path = "/", method = "get", operation_id = "list_users")]
    async fn list_users(
        &self,
        _auth: Auth<AdminOnly>,
        role: Query<Option<Role>>,
        active: Query<Option<bool>>,
        /// Part of a username or display name.
        q: Query<Option<String>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] limit: Query<Option<i64>>,
        #[oai(validator(minimum(value = "0")))] offset: Query<Option<i64>>,
    ) -> ApiResult<Json<UserPage>> {
        let page = PageRequest::parse(limit.0, offset.0)?;
        let filter = UserFilter {
            role: role.0,
            active: active.0,
            query: q.0.filter(|s| !s.trim().is_empty()),
        };
        let (users, total) = self.service.list(&filter, page.limit, page.offset).await?;
        Ok(Json(UserPage {
            items: users.into_iter().map(Into::into).collect(),
            total,
            limit: page.limit,
            offset: page.offset,
        }))
    }

    /// Create a user.
    #[oai(path = "/", method = "post", operation_id = "create_user")]
    async fn create_user(
        &self,
        auth: Auth<AdminOnly>,
        body: Json<CreateUserRequest>,
    ) -> ApiResult<UserCreated> {
        let password = self.service.parse_password(&body.password)?;
        let new_user = parse_new_user(
            &body.username,
            body.display_name.as_deref(),
            body.role,
            password,
            body.email.as_deref(),
        )?;
        Ok(UserCreated::Created(Json(
            self.service.create(new_user, Some(&auth)).await?.into(),
        )))
    }

    /// One user.
    #[oai(path = "/:id", method = "get", operation_id = "get_user")]
    async fn get_user(
        &self,
        _auth: Auth<AdminOnly>,
        id: Path<String>,
    ) -> ApiResult<Json<UserView>> {
        Ok(Json(self.service.get(&UserId(id.0)).await?.into()))
    }

    /// Change a user's display name, role, active flag or e-mail address.
    #[oai(path = "/:id", method = "patch", operation_id = "update_user")]
    async fn update_user(
        &self,
        auth: Auth<AdminOnly>,
        id: Path<String>,
        body: Json<UpdateUserRequest>,
    ) -> ApiResult<Json<UserView>> {
        let body = body.0;
        let patch = UserPatch {
            display_name: parse_display_name_change(body.display_name.as_deref())?,
            role: body.role,
            active: body.active,
            email: parse_email_change(body.email)?,
        };
        Ok(Json(
            self.service
                .update(&UserId(id.0), patch, &auth)
                .await?
                .into(),
        ))
    }

    /// Deactivate a user: they can no longer sign in, and their sessions and
    /// tokens stop working. The account stays (its work and audit trail name
    /// it), readable with `active: false`; `PATCH` with `active: true`
    /// reactivates it.
    #[oai(
        path = "/:id/deactivate",
        method = "post",
        operation_id = "deactivate_user"
    )]
    async fn deactivate_user(
        &self,
        auth: Auth<AdminOnly>,
        id: Path<String>,
    ) -> ApiResult<Json<UserView>> {
        self.deactivate(auth, id.0).await
    }

    /// Deprecated: use `POST /api/v1/users/{id}/deactivate`, which this
    /// answers exactly as. It never deleted a user: the account stays,
    /// readable with `active: false`.
    #[oai(
        path = "/:id",
        method = "delete",
        operation_id = "deactivate_user_legacy",
        deprecated
    )]
    async fn deactivate_user_legacy(
        &self,
        auth: Auth<AdminOnly>,
        id: Path<String>,
    ) -> ApiResult<Json<UserView>> {
        self.deactivate(auth, id.0).await
    }

    /// Set a new password for a user (generated when none is given); their sessions end.
    #[oai(
        path = "/:id/reset-password",
        method = "post",
        operation_id = "reset_user_password"
    )]
    async fn reset_user_password(
        &self,
        auth: Auth<AdminOnly>,
        id: Path<String>,
        body: Json<ResetPasswordRequest>,
    ) -> ApiResult<Json<ResetPasswordResponse>> {
        let password = body
            .password
            .as_deref()
            .map(|p| self.service.parse_password(p))
            .transpose()?;
        let generated_password = self
            .service
            .reset_password(&UserId(id.0), password, &auth)
            .await?;
        Ok(Json(ResetPasswordResponse { generated_password }))
    }
}
