//! Alert rule: a test has waited in blue review longer than the configured
//! number of hours. One finding per overdue test, so each can be
//! acknowledged on its own.

use aegis_plugin::time::{HOUR, rfc3339};
use aegis_plugin::{
    AlertRule, Config, EvaluationInput, Finding, PluginError, RuleInfo, Severity, TestState,
};

struct BlueReviewOverdue;

const SCHEMA: &str = r#"{
  "type": "object",
  "properties": {
    "hours": {"type": "integer", "minimum": 1, "maximum": 8760, "default": 24,
              "title": "Hours in blue review before a test is overdue"},
    "severity": {"type": "string", "enum": ["info", "low", "medium", "high", "critical"],
                 "default": "medium", "title": "Severity of the finding"}
  },
  "additionalProperties": false
}"#;

impl AlertRule for BlueReviewOverdue {
    fn describe() -> RuleInfo {
        RuleInfo {
            id: "blue-review-overdue".into(),
            name: "Blue review overdue".into(),
            description: "A test has waited for the blue team's evaluation longer than the \
                          configured number of hours."
                .into(),
            config_schema: SCHEMA.into(),
        }
    }

    fn evaluate(config: Config, input: EvaluationInput) -> Result<Vec<Finding>, PluginError> {
        let hours = config.u64_or("hours", 24);
        if hours == 0 {
            return Err(PluginError::InvalidConfig(
                "hours must be at least 1".into(),
            ));
        }
        let severity = severity(config.str_or("severity", "medium"))?;
        let limit = i64::try_from(hours).unwrap_or(i64::MAX / HOUR) * HOUR;
        let findings = input
            .tests
            .iter()
            .filter(|test| test.state == TestState::BlueEvaluating)
            .filter_map(|test| {
                let submitted = test.submitted_at?;
                let waited = input.now - submitted;
                (waited > limit).then(|| Finding {
                    severity,
                    title: format!("Blue review overdue: {}", test.name),
                    message: format!(
                        "Test {} ({}) was handed to the blue team at {} and has waited \
                         {} hours, more than the {hours} allowed.",
                        test.name,
                        test.technique_id,
                        rfc3339(submitted),
                        waited / HOUR
                    ),
                    technique_ids: vec![test.technique_id.clone()],
                    test_ids: vec![test.id.clone()],
                })
            })
            .collect();
        Ok(findings)
    }
}

fn severity(text: &str) -> Result<Severity, PluginError> {
    Ok(match text {
        "info" => Severity::Info,
        "low" => Severity::Low,
        "medium" => Severity::Medium,
        "high" => Severity::High,
        "critical" => Severity::Critical,
        other => {
            return Err(PluginError::InvalidConfig(format!(
                "unknown severity {other}"
            )));
        }
    })
}

aegis_plugin::export_alert_rule!(BlueReviewOverdue);
