//! Notifications: each user's inbox of notices (a test assigned to them,
//! handed to blue, returned; an alert opened). Notices are derived from the
//! kernel's audit log by a scheduled job, so the modules that change tests
//! and open alerts know nothing of this one; tests and users are looked up
//! through their modules' services. Owns the `notifications_*` tables.
#![forbid(unsafe_code)]

pub mod api;
pub mod derive;
pub mod error;
pub mod model;
pub mod repo;
pub mod service;

use aegis_core::Kernel;
use aegis_core::module::Module;
use aegis_core::scheduler::JobSpec;
use aegis_mod_test_cases::TestService;
use aegis_mod_users::UsersService;

pub use api::NotificationsApi;
pub use service::NotificationService;

/// The job that turns audit events into notices.
pub const DERIVE_JOB: &str = "notification_derive";

pub struct NotificationsModule {
    service: NotificationService,
}

impl NotificationsModule {
    pub fn new(kernel: &Kernel, tests: TestService, users: UsersService) -> Self {
        let deriver = derive::Deriver { tests, users };
        Self {
            service: NotificationService::new(kernel.clone(), deriver),
        }
    }

    pub fn api(&self) -> NotificationsApi {
        NotificationsApi {
            service: self.service.clone(),
        }
    }
}

#[async_trait::async_trait]
impl Module for NotificationsModule {
    fn id(&self) -> &'static str {
        "notifications"
    }

    fn jobs(&self) -> Vec<JobSpec> {
        let service = self.service.clone();
        vec![JobSpec::new(
            DERIVE_JOB,
            "*/5 * * * * *",
            "Tells users of work that waits for them, from the audit log",
            move |_kernel: Kernel| {
                let service = service.clone();
                async move {
                    let created = service.derive().await?;
                    Ok(format!("{created} notices"))
                }
            },
        )]
    }

    async fn start(&self, _kernel: &Kernel) -> anyhow::Result<()> {
        Ok(self.service.start().await?)
    }
}
