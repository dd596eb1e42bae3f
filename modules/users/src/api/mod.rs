//! HTTP APIs of the users module: sign-in and own account (`/api/v1/auth`)
//! and user administration (`/api/v1/users`).

mod auth;
mod users;

pub use auth::AuthApi;
pub use users::UsersApi;

use poem_openapi::Tags;

#[derive(Tags)]
pub enum UsersTag {
    /// Sign in and out, own account, personal API tokens.
    Auth,
    /// User administration (admin).
    Users,
}
