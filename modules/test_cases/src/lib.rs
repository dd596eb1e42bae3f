//! Test cases: the heart of Aegis, where red and blue record what happened.
//! Test cases and their state machine, evidence files, templates and the
//! Atomic Red Team import. Depends on the kernel, and checks techniques
//! through `aegis_mod_techniques::CatalogService`; the test queries join
//! the catalog's published view `techniques_catalog_technique` to name a
//! test's technique and flag revoked ones.
//!
//! The boundary. The `test_cases_*` tables belong to this module alone;
//! other modules reach test cases only through what it publishes:
//! - SQL: the `test_cases_fact` view (created by the module's migrations),
//!   one row per test with its facts (state, outcomes, times, procedure key),
//!   and the maintained aggregates of [`aggregates`] (views
//!   `test_cases_procedure_latest`, `test_cases_tally`,
//!   `test_cases_ttd_histogram`) with the SQL that computes the same over
//!   any scope ([`read`]);
//! - Rust: [`read::TestCaseReads`] (the views alert rules, reports and
//!   plugins see) and [`TestService`] (create, read and change a test, under
//!   its rules, from another module's workflow);
//! - the [`service::CampaignDirectory`] port, which the campaigns module
//!   implements so this one never reads campaign tables.
//!
//! A change to a table here stays inside the module as long as the view and
//! those types keep their meaning. Inside: handlers (`api`) call services
//! only; services own the transactions and write each change's audit event
//! in the change's transaction; repositories (crate-private) take the
//! caller's connection for writes.
#![forbid(unsafe_code)]

pub mod aggregates;
pub mod api;
pub mod atomic;
pub mod atomic_archive;
pub mod bulk;
pub mod dto;
pub mod error;
pub mod evidence;
pub mod evidence_repo;
pub mod model;
pub mod read;
pub mod repo;
pub mod service;
pub mod settings;
pub mod template;
pub mod template_repo;
pub mod workflow;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use aegis_core::Kernel;
use aegis_core::auth::IdentityResolver;
use aegis_core::backup::ObjectColumn;
use aegis_core::module::Module;
use aegis_core::scheduler::JobSpec;
use aegis_mod_techniques::CatalogService;

pub use api::{EvidenceApi, TemplatesApi, TestCasesApi};
pub use evidence::EvidenceService;
pub use service::TestService;
pub use settings::EvidenceSettings;
pub use template::{ImportReport, TemplateService};

pub struct TestCasesModule {
    tests: TestService,
    evidence: EvidenceService,
    templates: TemplateService,
}

impl TestCasesModule {
    pub fn new(
        kernel: &Kernel,
        identity: Arc<dyn IdentityResolver>,
        campaigns: Arc<dyn service::CampaignDirectory>,
        catalog: CatalogService,
    ) -> Self {
        let tests = TestService::new(kernel.clone(), identity, campaigns, catalog);
        Self {
            evidence: EvidenceService::new(kernel.clone(), tests.clone()),
            templates: TemplateService::new(kernel.clone(), tests.clone()),
            tests,
        }
    }

    pub fn apis(&self) -> (TestCasesApi, EvidenceApi, TemplatesApi) {
        (
            TestCasesApi {
                tests: self.tests.clone(),
            },
            EvidenceApi {
                evidence: self.evidence.clone(),
            },
            TemplatesApi {
                templates: self.templates.clone(),
            },
        )
    }
}

#[async_trait::async_trait]
impl Module for TestCasesModule {
    fn id(&self) -> &'static str {
        "test_cases"
    }

    fn object_columns(&self) -> Vec<ObjectColumn> {
        vec![ObjectColumn {
            table: "test_cases_evidence",
            key: "storage_key",
            sha256: Some("sha256"),
            size: Some("size_bytes"),
        }]
    }

    fn jobs(&self) -> Vec<JobSpec> {
        vec![JobSpec::new(
            "evidence_orphan_sweep",
            "0 17 * * * *",
            "Removes what interrupted evidence uploads left: objects without a row, unfinished S3 multipart uploads",
            evidence_orphan_sweep,
        )]
    }
}

impl TestCasesModule {
    pub fn templates(&self) -> &TemplateService {
        &self.templates
    }

    pub fn tests(&self) -> &TestService {
        &self.tests
    }

    pub fn evidence(&self) -> &EvidenceService {
        &self.evidence
    }
}

async fn evidence_orphan_sweep(kernel: Kernel) -> anyhow::Result<String> {
    let evidence = kernel.settings.try_section::<EvidenceSettings>()?;
    let grace = chrono::Duration::minutes(evidence.orphan_grace_minutes.into());
    let swept = evidence::sweep_orphans(&kernel, grace).await?;
    Ok(format!("evidence: {swept}"))
}

/// Imports every `*.yaml` under `dir` (the atomics folder layout), reporting
/// `(done, total, file)` after each file. A file that cannot be read is a
/// problem in the report, not the end of the import.
pub async fn import_atomic_dir(
    templates: &TemplateService,
    actor: &aegis_core::concurrency::Actor,
    dir: &Path,
    progress: &dyn Fn(usize, usize, &str),
) -> anyhow::Result<ImportReport> {
    let mut files = Vec::new();
    collect_yaml(dir, &mut files)?;
    files.sort();
    if files.is_empty() {
        anyhow::bail!("no .yaml files under {}", dir.display());
    }
    let mut report = ImportReport::default();
    let mut known = HashMap::new();
    for (done, path) in files.iter().enumerate() {
        let label = path.strip_prefix(dir).unwrap_or(path).display().to_string();
        match std::fs::read(path) {
            Ok(bytes) => {
                templates
                    .import_atomic_bytes(actor, &label, bytes, &mut known, &mut report)
                    .await?
            }
            Err(error) => report.problems.push(template::ImportProblem {
                file: label.clone(),
                test: None,
                reason: error.to_string(),
            }),
        }
        progress(done + 1, files.len(), &label);
    }
    Ok(report)
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_yaml(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("yaml") || e.eq_ignore_ascii_case("yml"))
        {
            out.push(path);
        }
    }
    Ok(())
}
