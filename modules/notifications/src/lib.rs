//! Notifications: each user's inbox of notices (a test assigned to them,
//! handed to blue, returned; an alert opened). Notices are derived from the
//! kernel's audit log by a scheduled job, so the modules that change tests
//! and open alerts know nothing of this one; tests and users are looked up
//! through their modules' services. Owns the `notifications_*` tables.
#![forbid(unsafe_code)]

pub mod api;
pub mod derive;
pub mod error;
pub mod mailer;
pub mod model;
pub mod repo;
pub mod service;
pub mod settings;

use aegis_core::Kernel;
use aegis_core::module::Module;
use aegis_core::scheduler::JobSpec;
use aegis_mod_test_cases::TestService;
use aegis_mod_users::UsersService;

pub use api::NotificationsApi;
pub use service::NotificationService;
pub use settings::SmtpSettings;

use mailer::Mailer;
use service::EmailOutcome;

/// The job that turns audit events into notices.
pub const DERIVE_JOB: &str = "notification_derive";

/// The job that e-mails notices (when `[smtp]` has a host).
pub const EMAIL_JOB: &str = "notification_email";

pub struct NotificationsModule {
    service: NotificationService,
}

impl NotificationsModule {
    /// Fails when `[smtp]` cannot be used (it was checked at start-up).
    pub fn new(kernel: &Kernel, tests: TestService, users: UsersService) -> anyhow::Result<Self> {
        let deriver = derive::Deriver { tests, users };
        let mailer = Mailer::from_settings(&kernel.settings.section::<SmtpSettings>())
            .map_err(anyhow::Error::msg)?;
        Ok(Self {
            service: NotificationService::new(kernel.clone(), deriver, mailer),
        })
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
        let mailing = self.service.clone();
        vec![
            JobSpec::new(
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
            ),
            JobSpec::new(
                EMAIL_JOB,
                "*/30 * * * * *",
                "E-mails notices to users with an address, through the [smtp] server",
                move |_kernel: Kernel| {
                    let service = mailing.clone();
                    async move {
                        Ok(match service.email().await? {
                            EmailOutcome::Off => "e-mail is off: no [smtp] host".to_owned(),
                            EmailOutcome::Busy => "another run is sending".to_owned(),
                            EmailOutcome::Ran(run) => format!(
                                "{} e-mailed, {} failed, {} without an address",
                                run.sent, run.failed, run.skipped
                            ),
                        })
                    }
                },
            ),
        ]
    }

    async fn start(&self, _kernel: &Kernel) -> anyhow::Result<()> {
        Ok(self.service.start().await?)
    }
}
