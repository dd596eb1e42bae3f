//! One integration-test binary for the server: every story runs on both
//! stacks — embedded (SQLite, in-process store, local folder) and shared
//! (PostgreSQL, Redis, S3) — through `stack_tests!`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::field_reassign_with_default
)]

mod helpers;

mod aggregates;
mod alerts;
mod audit;
mod auth;
mod backends;
mod backup;
mod cli;
mod dashboard;
mod edge;
mod health;
mod list_plans;
mod migrations;
mod notifications;
mod openapi;
mod outages;
mod plugins;
mod proxies;
mod reports;
mod techniques;
mod techniques_offline;
mod test_campaigns;
mod test_cases;
mod test_coverage;
mod test_evidence;
mod test_templates;
mod test_work;
mod timeouts;
mod users;
