//! The one place that lists Aegis's modules, their settings sections, and
//! composes their APIs and services; `serve` and every command of the
//! command line build on [`compose`]. Adding a module touches this file and
//! nothing else in the server.

use aegis_core::Kernel;
use aegis_core::auth::IdentityResolver;
use aegis_core::config::{SectionSpec, Settings, check_unique_sections};
use aegis_core::module::Module;
use aegis_core::plugins::{PluginHost, PluginSettings};
use aegis_core::scheduler::JobRegistry;
use aegis_mod_alerts::{AlertSettings, AlertsApi, AlertsModule};
use aegis_mod_campaigns::{CampaignsApi, CampaignsModule, campaign_directory};
use aegis_mod_coverage::{CoverageApi, CoverageModule, CoverageSettings};
use aegis_mod_notifications::{NotificationsApi, NotificationsModule, SmtpSettings};
use aegis_mod_plugins::{PluginsApi, PluginsModule};
use aegis_mod_reports::{ReportService, ReportsApi, ReportsModule};
use aegis_mod_system::{AuditSettings, HealthApi, SystemApi, SystemModule};
use aegis_mod_techniques::{
    MitreSettings, MitreSyncApi, SyncService, TechniquesApi, TechniquesModule,
};
use aegis_mod_test_cases::{
    EvidenceApi, EvidenceSettings, TemplateService, TemplatesApi, TestCasesApi, TestCasesModule,
};
use aegis_mod_users::{AuthApi, UsersApi, UsersModule, UsersService};
use poem_openapi::OpenApi;
use std::sync::Arc;

/// Every module's API, composed into one OpenAPI document.
pub type Apis = (
    HealthApi,
    AuthApi,
    UsersApi,
    SystemApi,
    TechniquesApi,
    MitreSyncApi,
    TestCasesApi,
    EvidenceApi,
    TemplatesApi,
    CampaignsApi,
    CoverageApi,
    PluginsApi,
    AlertsApi,
    ReportsApi,
    NotificationsApi,
);

/// Every module's own settings section (`[evidence]`, `[mitre]`, …): loading
/// checks each, warns about variables that match none, and `aegis config`
/// prints them. The kernel's settings know none of them.
pub fn settings_sections() -> Vec<SectionSpec> {
    vec![
        SectionSpec::of::<AuditSettings>(),
        SectionSpec::of::<MitreSettings>(),
        SectionSpec::of::<EvidenceSettings>(),
        SectionSpec::of::<CoverageSettings>(),
        SectionSpec::of::<PluginSettings>(),
        SectionSpec::of::<AlertSettings>(),
        SectionSpec::of::<SmtpSettings>(),
    ]
}

/// Each section parses and passes its module's checks, and has one owner.
pub fn check_settings(settings: &Settings) -> anyhow::Result<()> {
    let sections = settings_sections();
    check_unique_sections(&sections)?;
    for section in &sections {
        section.check(settings)?;
    }
    Ok(())
}

/// The modules wired together: what `serve` runs and what the command line drives.
pub struct Composition {
    pub modules: Vec<Box<dyn Module>>,
    pub identity: Arc<dyn IdentityResolver>,
    pub jobs: JobRegistry,
    pub apis: Apis,
    /// The largest upload any module accepts, for the HTTP body limit.
    pub largest_upload: u64,
    /// `aegis user create`.
    pub users: UsersService,
    /// `aegis sync-mitre`.
    pub sync: SyncService,
    /// `aegis import atomics`.
    pub templates: TemplateService,
    /// Report generation, for callers that hold the work themselves (the
    /// crash-recovery tests run it as a replica would).
    pub reports: ReportService,
    /// `aegis plugin validate`: the same sandbox uploads go through.
    pub plugin_host: Arc<dyn PluginHost>,
}

pub fn compose(kernel: &Kernel) -> anyhow::Result<Composition> {
    check_settings(&kernel.settings)?;
    let plugin_settings = kernel.settings.section::<PluginSettings>();
    let largest_upload = kernel
        .settings
        .section::<EvidenceSettings>()
        .max_bytes
        .max(plugin_settings.max_bytes)
        .max(kernel.settings.section::<MitreSettings>().max_bundle_bytes as u64)
        .max(aegis_mod_test_cases::api::MAX_ATOMIC_ARCHIVE);
    let users = UsersModule::new(kernel);
    let (auth_api, users_api) = users.apis(kernel);
    let identity = users.identity_resolver();
    let techniques = TechniquesModule::new(kernel);
    let (techniques_api, mitre_sync_api) = techniques.apis();
    // Tests ask campaigns whether one exists through a port; campaigns use tests.
    let tests = TestCasesModule::new(
        kernel,
        identity.clone(),
        campaign_directory(kernel),
        techniques.catalog().clone(),
    );
    let (tests_api, evidence_api, templates_api) = tests.apis();
    let coverage = CoverageModule::new(kernel, techniques.catalog().clone());
    let campaigns = CampaignsModule::new(
        kernel,
        tests.tests().clone(),
        coverage.service().clone(),
        techniques.catalog().clone(),
    );
    let (campaigns_api, coverage_api) = (campaigns.api(), coverage.api());
    // The one place wasmtime enters: the host implements the kernel's plugin ports.
    let plugin_host: Arc<dyn PluginHost> = Arc::new(aegis_plugin_host::WasmHost::new(
        &plugin_settings,
        kernel.storage.clone(),
    )?);
    let plugins = PluginsModule::new(kernel, plugin_host.clone());
    let plugins_api = plugins.api();
    let alerts = AlertsModule::new(
        kernel,
        coverage.service().clone(),
        plugins.service().clone(),
    );
    let alerts_api = alerts.api();
    let reports = ReportsModule::new(
        kernel,
        coverage.service().clone(),
        campaigns.service().clone(),
        plugins.service().clone(),
    );
    let reports_api = reports.api();
    let reports_service = reports.service().clone();
    let notifications =
        NotificationsModule::new(kernel, tests.tests().clone(), users.service().clone())?;
    let notifications_api = notifications.api();
    let users_service = users.service().clone();
    let sync = techniques.sync().clone();
    let templates = tests.templates().clone();
    let modules: Vec<Box<dyn Module>> = vec![
        Box::new(users),
        Box::new(SystemModule),
        Box::new(techniques),
        Box::new(tests),
        Box::new(coverage),
        Box::new(campaigns),
        Box::new(plugins),
        Box::new(alerts),
        Box::new(reports),
        Box::new(notifications),
    ];
    aegis_core::module::check_unique_ids(&modules)?;
    let jobs = JobRegistry::new(
        modules.iter().flat_map(|m| m.jobs()).collect(),
        &kernel.settings.jobs,
    )?;
    check_unique_routes()?;
    let apis = (
        HealthApi {
            kernel: kernel.clone(),
        },
        auth_api,
        users_api,
        SystemApi {
            kernel: kernel.clone(),
            jobs: jobs.clone(),
        },
        techniques_api,
        mitre_sync_api,
        tests_api,
        evidence_api,
        templates_api,
        campaigns_api,
        coverage_api,
        plugins_api,
        alerts_api,
        reports_api,
        notifications_api,
    );
    Ok(Composition {
        modules,
        identity,
        jobs,
        apis,
        largest_upload,
        users: users_service,
        sync,
        templates,
        reports: reports_service,
        plugin_host,
    })
}

/// poem-openapi lets a later API silently replace an earlier one's route.
fn check_unique_routes() -> anyhow::Result<()> {
    let mut seen = std::collections::BTreeSet::new();
    for api in <Apis as OpenApi>::meta() {
        for path in api.paths {
            for op in path.operations {
                if !seen.insert((path.path.clone(), op.method.to_string())) {
                    anyhow::bail!("two modules declare {} {}", op.method, path.path);
                }
            }
        }
    }
    Ok(())
}
