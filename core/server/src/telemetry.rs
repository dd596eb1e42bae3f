//! Tracing: human-readable in development, JSON lines in production, on
//! standard error: standard output is what a command prints (`aegis openapi`
//! is piped into a file), so no log line may land there.

use aegis_core::config::Settings;
use tracing_subscriber::EnvFilter;

pub fn init(settings: &Settings) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&settings.log.level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    let result = if settings.json_logs() {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    if result.is_err() {
        eprintln!("tracing was already initialised");
    }
}
