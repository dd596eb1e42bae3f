//! Users: accounts, roles, passwords, sign-in, personal API tokens, and the
//! identity port the kernel's auth extractor resolves callers through.
//! Depends on the kernel only.
#![forbid(unsafe_code)]

pub mod api;
pub mod dto;
pub mod error;
pub mod jobs;
pub mod model;
pub mod repo;
pub mod service;

use std::sync::Arc;

use aegis_core::Kernel;
use aegis_core::auth::IdentityResolver;
use aegis_core::module::Module;
use aegis_core::scheduler::JobSpec;
use async_trait::async_trait;

pub use api::{AuthApi, UsersApi};
pub use service::UsersService;

pub struct UsersModule {
    service: UsersService,
}

impl UsersModule {
    pub fn new(kernel: &Kernel) -> Self {
        Self {
            service: UsersService::new(kernel.clone()),
        }
    }

    pub fn apis(&self, kernel: &Kernel) -> (AuthApi, UsersApi) {
        (
            AuthApi {
                service: self.service.clone(),
                secure_cookies: kernel.settings.cookie_secure(),
                trusted_proxies: kernel.settings.http.trusted_proxies.clone(),
            },
            UsersApi {
                service: self.service.clone(),
            },
        )
    }

    /// Users and passwords, for the command line.
    pub fn service(&self) -> &UsersService {
        &self.service
    }

    pub fn identity_resolver(&self) -> Arc<dyn IdentityResolver> {
        self.service.identity_resolver()
    }
}

#[async_trait]
impl Module for UsersModule {
    fn id(&self) -> &'static str {
        "users"
    }

    fn jobs(&self) -> Vec<JobSpec> {
        vec![JobSpec::new(
            "revoked_token_prune",
            "0 15 * * * *",
            "Deletes revocations of session tokens that have expired anyway",
            jobs::revoked_token_prune,
        )]
    }

    /// First run: create the admin, printing a generated password once.
    async fn start(&self, _kernel: &Kernel) -> anyhow::Result<()> {
        if let Some((username, generated)) = self.service.bootstrap_admin().await? {
            match generated {
                Some(password) => {
                    // Printed, not logged: log pipelines keep lines; a terminal shows this once.
                    println!(
                        "\n  First run: created the administrator `{username}` with the password\n\n      {password}\n\n  Sign in to the dashboard and change it (or POST /api/v1/auth/password).\n"
                    );
                }
                None => tracing::info!(
                    username,
                    "first run: created the administrator from AEGIS_ADMIN__PASSWORD"
                ),
            }
        }
        Ok(())
    }
}
