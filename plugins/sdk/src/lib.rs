//! The Aegis plugin SDK for Rust. A plugin is a struct implementing
//! [`AlertRule`] or [`ReportFormat`] and one call of [`export_alert_rule!`]
//! or [`export_report_format!`]; the bindings to `aegis:plugin@0.1.0` are
//! generated here from `plugins/wit/v0.1`, so authors never touch them.
//!
//! ```ignore
//! use aegis_plugin::{AlertRule, Config, EvaluationInput, Finding, PluginError, RuleInfo};
//!
//! struct Quiet;
//!
//! impl AlertRule for Quiet {
//!     fn describe() -> RuleInfo { /* id, name, description, config schema */ }
//!     fn evaluate(config: Config, input: EvaluationInput) -> Result<Vec<Finding>, PluginError> {
//!         Ok(Vec::new())
//!     }
//! }
//!
//! aegis_plugin::export_alert_rule!(Quiet);
//! ```

mod config;
pub mod time;

pub use config::Config;

#[doc(hidden)]
pub mod bindings {
    pub mod alert {
        wit_bindgen::generate!({
            path: "../wit/v0.1",
            world: "alert-rule-plugin",
            pub_export_macro: true,
            export_macro_name: "export_alert_rule_world",
            default_bindings_module: "aegis_plugin::bindings::alert",
        });
    }

    pub mod report {
        wit_bindgen::generate!({
            path: "../wit/v0.1",
            world: "report-format-plugin",
            pub_export_macro: true,
            export_macro_name: "export_report_format_world",
            default_bindings_module: "aegis_plugin::bindings::report",
            with: {
                "aegis:plugin/host@0.1.0": crate::bindings::alert::aegis::plugin::host,
                "aegis:plugin/types@0.1.0": crate::bindings::alert::aegis::plugin::types,
            },
        });
    }
}

pub use bindings::alert::aegis::plugin::types::{
    AttackOutcome, CoverageStatus, DetectionOutcome, EvaluationInput, EvidenceItem, Finding, Kpi,
    PluginError, ReportData, Severity, TacticCoverage, Technique, TechniqueCoverage, Test,
    TestState, Timestamp,
};
pub use bindings::alert::exports::aegis::plugin::alert_rule::RuleInfo;
pub use bindings::report::exports::aegis::plugin::report_format::FormatInfo;

/// A kind of alert rule: turns a read-only view of tests, techniques and
/// coverage into findings.
pub trait AlertRule {
    /// Called once when the plugin is registered.
    fn describe() -> RuleInfo;

    /// `config` holds the rule's parameters, already valid against the
    /// schema from [`describe`](Self::describe).
    fn evaluate(config: Config, input: EvaluationInput) -> Result<Vec<Finding>, PluginError>;
}

/// A report format: renders report data into a file's bytes.
pub trait ReportFormat {
    /// Called once when the plugin is registered.
    fn describe() -> FormatInfo;

    /// The administrator's configuration, if any, is [`Config::current`].
    fn render(data: ReportData) -> Result<Vec<u8>, PluginError>;
}

#[doc(hidden)]
pub struct AlertRuleAdapter<T>(core::marker::PhantomData<T>);

impl<T: AlertRule> bindings::alert::exports::aegis::plugin::alert_rule::Guest
    for AlertRuleAdapter<T>
{
    fn describe() -> RuleInfo {
        T::describe()
    }

    fn evaluate(config: String, input: EvaluationInput) -> Result<Vec<Finding>, PluginError> {
        T::evaluate(Config::parse(&config)?, input)
    }
}

#[doc(hidden)]
pub struct ReportFormatAdapter<T>(core::marker::PhantomData<T>);

impl<T: ReportFormat> bindings::report::exports::aegis::plugin::report_format::Guest
    for ReportFormatAdapter<T>
{
    fn describe() -> FormatInfo {
        T::describe()
    }

    fn render(data: ReportData) -> Result<Vec<u8>, PluginError> {
        T::render(data)
    }
}

/// Exports a type implementing [`AlertRule`] as this component's rule.
#[macro_export]
macro_rules! export_alert_rule {
    ($rule:ty) => {
        const _: () = {
            // The generated export macro takes a plain name, not a generic type.
            type AegisAlertRule = $crate::AlertRuleAdapter<$rule>;
            $crate::bindings::alert::export_alert_rule_world!(
                AegisAlertRule with_types_in $crate::bindings::alert
            );
        };
    };
}

/// Exports a type implementing [`ReportFormat`] as this component's format.
#[macro_export]
macro_rules! export_report_format {
    ($format:ty) => {
        const _: () = {
            type AegisReportFormat = $crate::ReportFormatAdapter<$format>;
            $crate::bindings::report::export_report_format_world!(
                AegisReportFormat with_types_in $crate::bindings::report
            );
        };
    };
}

/// Writes to Aegis's log, tagged with the plugin's name. The host keeps the
/// first hundred lines of a call.
pub mod log {
    use crate::bindings::alert::aegis::plugin::host::{self, LogLevel};

    pub fn debug(message: &str) {
        host::log(LogLevel::Debug, message);
    }

    pub fn info(message: &str) {
        host::log(LogLevel::Info, message);
    }

    pub fn warn(message: &str) {
        host::log(LogLevel::Warn, message);
    }

    pub fn error(message: &str) {
        host::log(LogLevel::Error, message);
    }
}
