//! `aegis`: parse the command line, load config, start tracing, hand over.

use aegis::cli::{Cli, run};
use aegis_core::config::Settings;
use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let loaded = match Settings::load(&cli.config_dir, &aegis::modules::settings_sections()) {
        Ok(loaded) => loaded,
        Err(error) => {
            eprintln!("{error}");
            return std::process::ExitCode::from(2);
        }
    };
    aegis::telemetry::init(&loaded.settings);
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    match run(cli, loaded.settings).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
