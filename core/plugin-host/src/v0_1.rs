//! The binding for `aegis:plugin@0.1.0`: generated from `plugins/wit/v0.1`,
//! plus the conversions between its types and the kernel's. A later
//! interface version gets a file of its own beside this one.

use aegis_core::plugins as port;
use aegis_core::plugins::{PluginDescription, PluginFault, PluginKind};
use wasmtime::Store;
use wasmtime::component::{Component, HasSelf, Linker};

use crate::sandbox::{CallState, Sandbox};

mod alert {
    wasmtime::component::bindgen!({
        path: "../../plugins/wit/v0.1",
        world: "alert-rule-plugin",
    });
}

mod report {
    wasmtime::component::bindgen!({
        path: "../../plugins/wit/v0.1",
        world: "report-format-plugin",
        with: {
            "aegis:plugin/host": super::alert::aegis::plugin::host,
            "aegis:plugin/types": super::alert::aegis::plugin::types,
        },
    });
}

use alert::aegis::plugin::{host, types};

pub const VERSION: &str = "0.1.0";

impl host::Host for CallState {
    fn log(&mut self, level: host::LogLevel, message: String) {
        let level = match level {
            host::LogLevel::Debug => tracing::Level::DEBUG,
            host::LogLevel::Info => tracing::Level::INFO,
            host::LogLevel::Warn => tracing::Level::WARN,
            host::LogLevel::Error => tracing::Level::ERROR,
        };
        CallState::log(self, level, &message);
    }

    fn config(&mut self) -> String {
        self.config.clone()
    }
}

impl types::Host for CallState {}

/// A component linked against this version's imports, ready to instantiate.
#[derive(Clone)]
pub enum Prepared {
    AlertRule(alert::AlertRulePluginPre<CallState>),
    ReportFormat(report::ReportFormatPluginPre<CallState>),
}

/// Links `component` (already identified as `kind` at this version).
pub fn prepare(
    sandbox: &Sandbox,
    component: &Component,
    kind: PluginKind,
) -> wasmtime::Result<Prepared> {
    let mut linker = Linker::<CallState>::new(&sandbox.engine);
    Ok(match kind {
        PluginKind::AlertRule => {
            alert::AlertRulePlugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
            Prepared::AlertRule(alert::AlertRulePluginPre::new(
                linker.instantiate_pre(component)?,
            )?)
        }
        PluginKind::ReportFormat => {
            report::ReportFormatPlugin::add_to_linker::<_, HasSelf<_>>(&mut linker, |s| s)?;
            Prepared::ReportFormat(report::ReportFormatPluginPre::new(
                linker.instantiate_pre(component)?,
            )?)
        }
    })
}

/// Runs `call` in a fresh store and classifies whatever goes wrong.
fn in_store<T>(
    sandbox: &Sandbox,
    name: &str,
    config: &str,
    call: impl FnOnce(&mut Store<CallState>) -> wasmtime::Result<T>,
) -> Result<T, PluginFault> {
    let mut store = sandbox
        .store(name, config)
        .map_err(|e| PluginFault::Trapped(format!("cannot set up the call: {e}")))?;
    call(&mut store).map_err(|error| sandbox.classify(&error, store.data()))
}

pub fn describe(
    sandbox: &Sandbox,
    prepared: &Prepared,
    name: &str,
) -> Result<PluginDescription, PluginFault> {
    match prepared {
        Prepared::AlertRule(pre) => {
            let info = in_store(sandbox, name, "{}", |store| {
                pre.instantiate(&mut *store)?
                    .aegis_plugin_alert_rule()
                    .call_describe(store)
            })?;
            Ok(PluginDescription {
                kind: PluginKind::AlertRule,
                interface_version: VERSION.into(),
                id: crate::clean(&info.id, 200, false),
                name: crate::clean(&info.name, 400, false),
                description: crate::clean(&info.description, 8_000, true),
                config_schema: parse_schema(&info.config_schema)?,
                media_type: None,
                file_extension: None,
            })
        }
        Prepared::ReportFormat(pre) => {
            let info = in_store(sandbox, name, "{}", |store| {
                pre.instantiate(&mut *store)?
                    .aegis_plugin_report_format()
                    .call_describe(store)
            })?;
            Ok(PluginDescription {
                kind: PluginKind::ReportFormat,
                interface_version: VERSION.into(),
                id: crate::clean(&info.id, 200, false),
                name: crate::clean(&info.name, 400, false),
                description: String::new(),
                config_schema: parse_schema(&info.config_schema)?,
                media_type: Some(crate::clean(&info.media_type, 200, false)),
                file_extension: Some(crate::clean(&info.file_extension, 50, false)),
            })
        }
    }
}

fn parse_schema(text: &str) -> Result<serde_json::Value, PluginFault> {
    let text = if text.trim().is_empty() { "{}" } else { text };
    match serde_json::from_str::<serde_json::Value>(text) {
        Ok(schema @ (serde_json::Value::Object(_) | serde_json::Value::Bool(_))) => Ok(schema),
        _ => Err(PluginFault::InvalidOutput(
            "config-schema is not a JSON Schema object".into(),
        )),
    }
}

pub fn evaluate(
    sandbox: &Sandbox,
    prepared: &Prepared,
    plugin: &port::PluginRef,
    params: &str,
    input: &types::EvaluationInput,
) -> Result<Vec<port::Finding>, PluginFault> {
    let Prepared::AlertRule(pre) = prepared else {
        return Err(wrong_kind(PluginKind::AlertRule));
    };
    let outcome = in_store(sandbox, &plugin.name, &plugin.config, |store| {
        pre.instantiate(&mut *store)?
            .aegis_plugin_alert_rule()
            .call_evaluate(store, params, input)
    })?;
    let findings = outcome.map_err(|e| PluginFault::Reported(plugin_error(e)))?;
    Ok(findings.into_iter().map(finding).collect())
}

pub fn render(
    sandbox: &Sandbox,
    prepared: &Prepared,
    plugin: &port::PluginRef,
    data: &types::ReportData,
) -> Result<Vec<u8>, PluginFault> {
    let Prepared::ReportFormat(pre) = prepared else {
        return Err(wrong_kind(PluginKind::ReportFormat));
    };
    let outcome = in_store(sandbox, &plugin.name, &plugin.config, |store| {
        pre.instantiate(&mut *store)?
            .aegis_plugin_report_format()
            .call_render(store, data)
    })?;
    outcome.map_err(|e| PluginFault::Reported(plugin_error(e)))
}

fn wrong_kind(wanted: PluginKind) -> PluginFault {
    PluginFault::Rejected(port::Rejection::WrongWorld {
        declared: wanted.as_str(),
        found: "the other world".into(),
    })
}

/// Longest error text kept from a plugin, in bytes.
const MAX_ERROR_TEXT: usize = 2_000;

fn plugin_error(error: types::PluginError) -> port::PluginError {
    let text = |t: String| crate::clean(&t, MAX_ERROR_TEXT, false);
    match error {
        types::PluginError::InvalidConfig(t) => port::PluginError::InvalidConfig(text(t)),
        types::PluginError::InvalidInput(t) => port::PluginError::InvalidInput(text(t)),
        types::PluginError::Internal(t) => port::PluginError::Internal(text(t)),
    }
}

fn finding(found: types::Finding) -> port::Finding {
    port::Finding {
        severity: match found.severity {
            types::Severity::Info => port::Severity::Info,
            types::Severity::Low => port::Severity::Low,
            types::Severity::Medium => port::Severity::Medium,
            types::Severity::High => port::Severity::High,
            types::Severity::Critical => port::Severity::Critical,
        },
        title: found.title,
        message: found.message,
        technique_ids: found.technique_ids,
        test_ids: found.test_ids,
    }
}

pub fn evaluation_input(input: &port::EvaluationInput) -> types::EvaluationInput {
    types::EvaluationInput {
        now: input.now,
        tests: input.tests.iter().map(test).collect(),
        techniques: input.techniques.iter().map(technique).collect(),
        coverage: input.coverage.iter().map(coverage).collect(),
    }
}

pub fn report_data(data: &port::ReportData) -> types::ReportData {
    types::ReportData {
        title: data.title.clone(),
        kind: data.kind.clone(),
        generated_at: data.generated_at,
        scope: data.scope.clone(),
        kpis: data
            .kpis
            .iter()
            .map(|k| types::Kpi {
                name: k.name.clone(),
                value: k.value,
                unit: k.unit.clone(),
            })
            .collect(),
        tactics: data
            .tactics
            .iter()
            .map(|t| types::TacticCoverage {
                id: t.id.clone(),
                name: t.name.clone(),
                covered: t.covered,
                partial: t.partial,
                gap: t.gap,
                untested: t.untested,
            })
            .collect(),
        coverage: data.coverage.iter().map(coverage).collect(),
        tests: data.tests.iter().map(test).collect(),
        evidence: data
            .evidence
            .iter()
            .map(|e| types::EvidenceItem {
                test_id: e.test_id.clone(),
                side: e.side.clone(),
                file_name: e.file_name.clone(),
                media_type: e.media_type.clone(),
                size_bytes: e.size_bytes,
                sha256: e.sha256.clone(),
            })
            .collect(),
    }
}

fn test(test: &port::TestView) -> types::Test {
    types::Test {
        id: test.id.clone(),
        name: test.name.clone(),
        technique_id: test.technique_id.clone(),
        state: match test.state {
            port::TestState::Draft => types::TestState::Draft,
            port::TestState::RedExecuting => types::TestState::RedExecuting,
            port::TestState::BlueEvaluating => types::TestState::BlueEvaluating,
            port::TestState::Completed => types::TestState::Completed,
            port::TestState::Cancelled => types::TestState::Cancelled,
        },
        campaign_id: test.campaign_id.clone(),
        platform: test.platform.clone(),
        attack_outcome: test.attack_outcome.map(|o| match o {
            port::AttackOutcome::Succeeded => types::AttackOutcome::Succeeded,
            port::AttackOutcome::Failed => types::AttackOutcome::Failed,
            port::AttackOutcome::Blocked => types::AttackOutcome::Blocked,
        }),
        detection_outcome: test.detection_outcome.map(|o| match o {
            port::DetectionOutcome::Prevented => types::DetectionOutcome::Prevented,
            port::DetectionOutcome::Alerted => types::DetectionOutcome::Alerted,
            port::DetectionOutcome::Logged => types::DetectionOutcome::Logged,
            port::DetectionOutcome::NotDetected => types::DetectionOutcome::NotDetected,
        }),
        executed_at: test.executed_at,
        detected_at: test.detected_at,
        submitted_at: test.submitted_at,
        updated_at: test.updated_at,
    }
}

fn technique(technique: &port::TechniqueView) -> types::Technique {
    types::Technique {
        id: technique.id.clone(),
        name: technique.name.clone(),
        tactics: technique.tactics.clone(),
        revoked: technique.revoked,
        deprecated: technique.deprecated,
        replaced_by: technique.replaced_by.clone(),
    }
}

fn coverage(coverage: &port::TechniqueCoverageView) -> types::TechniqueCoverage {
    types::TechniqueCoverage {
        technique_id: coverage.technique_id.clone(),
        status: match coverage.status {
            port::CoverageStatus::Covered => types::CoverageStatus::Covered,
            port::CoverageStatus::Partial => types::CoverageStatus::Partial,
            port::CoverageStatus::Gap => types::CoverageStatus::Gap,
            port::CoverageStatus::Untested => types::CoverageStatus::Untested,
        },
        tests: coverage.tests,
        regression: coverage.regression,
        last_tested_at: coverage.last_tested_at,
    }
}
