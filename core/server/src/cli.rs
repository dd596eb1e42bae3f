//! The `aegis` command line. Every command that needs a module's service
//! takes it from [`crate::modules::compose`], the wiring `serve` uses: no
//! module and no plugin host is built a second time here.

use std::io::Read;
use std::path::PathBuf;

use aegis_core::Kernel;
use aegis_core::audit::AuditEntry;
use aegis_core::auth::Role;
use aegis_core::auth::token::random_secret;
use aegis_core::backup::{Manifest, ObjectColumn};
use aegis_core::config::Settings;
use aegis_core::plugins::PluginSettings;
use aegis_mod_techniques::service::SyncOutcome;
use aegis_mod_users::service::parse_new_user;
use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(
    name = "aegis",
    version,
    about = "Aegis: the self-hosted purple-team platform"
)]
pub struct Cli {
    /// Folder holding default.toml and {AEGIS_ENV}.toml.
    #[arg(
        long,
        global = true,
        env = "AEGIS_CONFIG_DIR",
        default_value = "config"
    )]
    pub config_dir: PathBuf,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the API (and run migrations first in development).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Manage users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Print the effective configuration, secrets redacted.
    Config,
    /// Sync the ATT&CK catalog now, with a progress bar.
    SyncMitre {
        /// A bundle URL, `file://` URL or path; default: every configured source.
        #[arg(long)]
        source: Option<String>,
    },
    /// Print the OpenAPI document (what the dashboard's client is generated from).
    Openapi,
    /// Import test templates.
    Import {
        #[command(subcommand)]
        command: ImportCommand,
    },
    /// Work with WebAssembly plugins.
    Plugin {
        #[command(subcommand)]
        command: PluginCommand,
    },
    /// Back up the database (every table, read in one snapshot) and the
    /// objects its rows name (evidence, report files, plugin components)
    /// into a new folder, while Aegis keeps serving. Redis holds nothing to
    /// keep; the secret key is not included.
    Backup {
        /// A folder that does not exist yet, or an empty one.
        #[arg(long)]
        to: PathBuf,
    },
    /// Recompute the aggregates coverage and KPIs read (latest outcome per
    /// procedure, KPI sums) from the tests, in one transaction. Restores do
    /// it themselves; use it after loading tests into the tables directly.
    RebuildAggregates,
    /// Restore a backup into this installation, which must be empty: a new
    /// database (migrated or not) and an empty storage. Checks every file's
    /// SHA-256 before writing anything, then migrates, stores the objects
    /// and inserts the rows in one transaction. Either backend restores a
    /// backup taken on either.
    Restore {
        /// The folder `aegis backup --to` wrote.
        #[arg(long)]
        from: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum PluginCommand {
    /// Check a component as an upload would be checked — compiled, world,
    /// interface version and imports, `describe` called in the sandbox —
    /// and print what it is. Exits 1 with the reason when it is refused.
    Validate {
        file: PathBuf,
        /// The kind it must be; default: whatever it exports.
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum KindArg {
    AlertRule,
    ReportFormat,
}

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
    /// Import Atomic Red Team atomics: every `*.yaml` under DIR (e.g. the
    /// repository's `atomics/` folder). Re-importing updates, never duplicates.
    Atomics { dir: PathBuf },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user; the password is read from stdin with --password-stdin,
    /// otherwise generated and printed once.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        #[arg(long)]
        display_name: Option<String>,
        /// Where the user's notices are e-mailed (when SMTP is configured).
        #[arg(long)]
        email: Option<String>,
        /// Read the password from standard input instead of generating one.
        #[arg(long)]
        password_stdin: bool,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum RoleArg {
    Admin,
    Lead,
    RedTech,
    BlueTech,
    Viewer,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Self {
        match r {
            RoleArg::Admin => Role::Admin,
            RoleArg::Lead => Role::Lead,
            RoleArg::RedTech => Role::RedTech,
            RoleArg::BlueTech => Role::BlueTech,
            RoleArg::Viewer => Role::Viewer,
        }
    }
}

/// Runs a parsed command line.
pub async fn run(cli: Cli, settings: Settings) -> anyhow::Result<()> {
    match cli.command {
        Command::SyncMitre { source } => sync_mitre(settings, source).await,
        Command::Import {
            command: ImportCommand::Atomics { dir },
        } => import_atomics(settings, &dir).await,
        Command::Plugin {
            command: PluginCommand::Validate { file, kind },
        } => validate_plugin(settings, &file, kind).await,
        Command::Backup { to } => backup(settings, &to).await,
        Command::Restore { from } => restore(settings, &from).await,
        Command::RebuildAggregates => {
            let kernel = connect_without_key_value(settings).await?;
            if kernel.settings.migrate_on_start() {
                kernel.db.migrate().await.context("migrations failed")?;
            }
            let rebuilt = rebuild_aggregates(&kernel).await;
            kernel.db.close().await;
            rebuilt
        }
        Command::Openapi => {
            println!("{}", crate::openapi_document(settings).await?);
            Ok(())
        }
        Command::Config => {
            let sections = crate::modules::settings_sections();
            print!("{}", settings.to_redacted_toml(&sections)?);
            Ok(())
        }
        Command::Migrate => {
            let kernel = Kernel::connect(settings).await?;
            kernel.db.migrate().await.context("migrations failed")?;
            println!("migrations applied ({})", kernel.db.backend().name());
            Ok(())
        }
        Command::Serve => {
            let address = format!("{}:{}", settings.http.host, settings.http.port);
            let kernel = Kernel::connect(settings).await?;
            let app = crate::build(kernel).await?;
            let listener = tokio::net::TcpListener::bind(&address)
                .await
                .with_context(|| {
                    format!("cannot listen on {address} (AEGIS_HTTP__HOST / AEGIS_HTTP__PORT)")
                })?;
            println!("Aegis is running on http://{address} (API docs at /docs when enabled)");
            crate::run_with_listener(app, listener, shutdown_signal()).await
        }
        Command::User {
            command:
                UserCommand::Create {
                    username,
                    role,
                    display_name,
                    email,
                    password_stdin,
                },
        } => {
            let kernel = connect(settings).await?;
            let service = crate::modules::compose(&kernel)?.users;
            let (raw, generated) = if password_stdin {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text)?;
                (text.trim_end_matches(['\n', '\r']).to_owned(), false)
            } else {
                (random_secret(18), true)
            };
            let password = service
                .parse_password(&raw)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let new_user = parse_new_user(
                &username,
                display_name.as_deref(),
                role.into(),
                password,
                email.as_deref(),
            )
            .map_err(|e| anyhow::anyhow!("{e}"))?;
            let user = service
                .create(new_user, None)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "created {} ({}) with id {}",
                user.username,
                user.role.as_str(),
                user.id.0
            );
            if generated {
                println!("password (shown once): {raw}");
            }
            Ok(())
        }
    }
}

/// Connects the configured backends, migrating first when configured.
async fn connect(settings: Settings) -> anyhow::Result<Kernel> {
    let kernel = Kernel::connect(settings).await?;
    if kernel.settings.migrate_on_start() {
        kernel.db.migrate().await.context("migrations failed")?;
    }
    Ok(kernel)
}

/// Backup and restore touch the database and storage only: without Redis
/// configured they keep working while it is down (it holds nothing to keep).
async fn connect_without_key_value(mut settings: Settings) -> anyhow::Result<Kernel> {
    settings.redis.url = None;
    Kernel::connect(settings).await
}

async fn backup(settings: Settings, to: &std::path::Path) -> anyhow::Result<()> {
    let kernel = connect_without_key_value(settings).await?;
    let columns: Vec<ObjectColumn> = crate::modules::compose(&kernel)?
        .modules
        .iter()
        .flat_map(|m| m.object_columns())
        .collect();
    let taken = aegis_core::backup::take(&kernel.db, &kernel.storage, &columns, to).await;
    kernel.db.close().await;
    let manifest = taken.with_context(|| format!("backup into {}", to.display()))?;
    print_contents("backed up", &manifest);
    println!(
        "not in the backup: the secret key (AEGIS_SECRET_KEY, or secret.key in the data \
         folder), which signs sessions; keep it safe apart from the backup and give the \
         restored installation the same one"
    );
    Ok(())
}

async fn restore(settings: Settings, from: &std::path::Path) -> anyhow::Result<()> {
    let kernel = connect_without_key_value(settings).await?;
    let restored = aegis_core::backup::restore(&kernel.db, &kernel.storage, from).await;
    let manifest = match restored {
        Ok(manifest) => manifest,
        Err(error) => {
            kernel.db.close().await;
            return Err(error).with_context(|| format!("restore from {}", from.display()));
        }
    };
    // A backup of any version restores rows, not necessarily the aggregates
    // this version keeps of them.
    if let Err(error) = rebuild_aggregates(&kernel).await {
        kernel.db.close().await;
        return Err(error.context(
            "the rows are restored, but not the aggregates of them: run `aegis rebuild-aggregates`",
        ));
    }
    // After the commit, so the restored log carries who restored what.
    let event = AuditEntry::about(
        None,
        "system.restore",
        ("backup", &manifest.taken_at),
        serde_json::json!({
            "taken_at": manifest.taken_at,
            "backend": manifest.backend,
            "schema_version": manifest.schema_version,
            "aegis_version": manifest.aegis_version,
            "rows": manifest.rows(),
            "objects": manifest.objects.len(),
        }),
    );
    if let Err(error) = kernel.audit.record(event).await {
        tracing::warn!(%error, "the restore is done but its audit event was not written");
    }
    kernel.db.close().await;
    print_contents("restored", &manifest);
    Ok(())
}

async fn rebuild_aggregates(kernel: &Kernel) -> anyhow::Result<()> {
    let mut tx = kernel.db.begin().await?;
    let rebuilt = aegis_mod_test_cases::aggregates::rebuild(&mut tx).await?;
    tx.commit().await?;
    println!(
        "aggregates rebuilt: {} procedures, {} state and outcome tallies, {} seconds of time to detect",
        rebuilt.procedures, rebuilt.tallies, rebuilt.ttd_seconds
    );
    Ok(())
}

fn print_contents(done: &str, manifest: &Manifest) {
    println!(
        "{done} the snapshot of {} ({}, schema {}):",
        manifest.taken_at, manifest.backend, manifest.schema_version
    );
    for table in &manifest.tables {
        println!("  {:<34} {:>9} rows", table.name, table.rows);
    }
    println!(
        "  {:<34} {:>9} objects, {} bytes",
        "storage",
        manifest.objects.len(),
        manifest.object_bytes()
    );
}

async fn validate_plugin(
    settings: Settings,
    file: &std::path::Path,
    kind: Option<KindArg>,
) -> anyhow::Result<()> {
    use aegis_core::plugins::PluginKind;
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let max_bytes = settings.section::<PluginSettings>().max_bytes;
    anyhow::ensure!(
        bytes.len() as u64 <= max_bytes,
        "{} is {} bytes; uploads are limited to {max_bytes} (AEGIS_PLUGINS__MAX_BYTES)",
        file.display(),
        bytes.len(),
    );
    // Only the sandbox is needed: no configured backend is touched.
    let kernel = crate::offline_kernel(settings).await?;
    let host = crate::modules::compose(&kernel)?.plugin_host;
    let kind = kind.map(|k| match k {
        KindArg::AlertRule => PluginKind::AlertRule,
        KindArg::ReportFormat => PluginKind::ReportFormat,
    });
    match host.inspect(bytes, kind).await {
        Ok(inspected) => {
            let d = inspected.description;
            println!("valid {} plugin", d.kind.as_str());
            println!("  id:                {}", d.id);
            println!("  name:              {}", d.name);
            if !d.description.is_empty() {
                println!("  description:       {}", d.description);
            }
            println!("  interface version: aegis:plugin@{}", d.interface_version);
            if let (Some(media), Some(extension)) = (&d.media_type, &d.file_extension) {
                println!("  produces:          {media} (.{extension})");
            }
            println!("  config schema:     {}", d.config_schema);
            println!("  sha256:            {}", inspected.sha256);
            Ok(())
        }
        Err(fault) => anyhow::bail!("refused ({}): the plugin {fault}", fault.code()),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! { () = ctrl_c => {}, () = terminate => {} }
    tracing::info!("shutting down");
}

async fn sync_mitre(settings: Settings, source: Option<String>) -> anyhow::Result<()> {
    let kernel = connect(settings).await?;
    let service = crate::modules::compose(&kernel)?.sync;
    let sources = source.map_or_else(|| service.configured_sources(), |s| vec![s]);
    for source in sources {
        let bar = indicatif::ProgressBar::new(1);
        bar.set_style(
            indicatif::ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len}")
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        let progress = |stage: &str, done: usize, total: usize| {
            bar.set_message(stage.to_owned());
            bar.set_length(total as u64);
            bar.set_position(done as u64);
        };
        let result = service.run("cli", &source, &progress).await;
        bar.finish_and_clear();
        match result.map_err(|e| anyhow::anyhow!("{source}: {e}"))? {
            (run, SyncOutcome::Applied { version, counts }) => println!(
                "ATT&CK {version} from {source}: {} added, {} updated, {} revoked, {} deprecated, {} missing (run {run})",
                counts.added, counts.updated, counts.revoked, counts.deprecated, counts.missing
            ),
            (run, SyncOutcome::Unchanged { version }) => println!(
                "{source}: release {} unchanged (run {run})",
                version.unwrap_or_else(|| "not modified".into())
            ),
        }
    }
    Ok(())
}

async fn import_atomics(settings: Settings, dir: &std::path::Path) -> anyhow::Result<()> {
    let kernel = connect(settings).await?;
    let templates = crate::modules::compose(&kernel)?.templates;
    let actor = aegis_core::concurrency::Actor {
        user_id: "cli".into(),
        username: "aegis-cli".into(),
        at: kernel.clock.now(),
    };
    let bar = indicatif::ProgressBar::new(0);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>24} [{bar:40}] {pos}/{len} files")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let progress = |done: usize, total: usize, file: &str| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
        bar.set_message(file.to_owned());
    };
    let report = aegis_mod_test_cases::import_atomic_dir(&templates, &actor, dir, &progress)
        .await
        .with_context(|| format!("importing {}", dir.display()))?;
    bar.finish_and_clear();
    println!(
        "{} files: {} templates created, {} updated, {} unchanged",
        report.files, report.created, report.updated, report.unchanged
    );
    if !report.unknown_techniques.is_empty() {
        println!(
            "not in the ATT&CK catalog (imported anyway; run `aegis sync-mitre`): {}",
            report.unknown_techniques.join(", ")
        );
    }
    for problem in &report.problems {
        println!(
            "skipped {}{}: {}",
            problem.file,
            problem
                .test
                .as_deref()
                .map(|t| format!(" / {t}"))
                .unwrap_or_default(),
            problem.reason
        );
    }
    Ok(())
}
