//! Report format: a Markdown brief — key figures, coverage per tactic, gaps
//! and regressions, and every test with its outcomes and evidence.

use std::fmt::Write;

use aegis_plugin::time::{date, rfc3339};
use aegis_plugin::{
    Config, CoverageStatus, DetectionOutcome, FormatInfo, PluginError, ReportData, ReportFormat,
};

struct MarkdownReport;

const SCHEMA: &str = r#"{
  "type": "object",
  "properties": {
    "organisation": {"type": "string", "maxLength": 200,
                     "title": "Organisation named under the title"}
  },
  "additionalProperties": false
}"#;

impl ReportFormat for MarkdownReport {
    fn describe() -> FormatInfo {
        FormatInfo {
            id: "markdown-brief".into(),
            name: "Markdown brief".into(),
            media_type: "text/markdown".into(),
            file_extension: "md".into(),
            config_schema: SCHEMA.into(),
        }
    }

    fn render(data: ReportData) -> Result<Vec<u8>, PluginError> {
        let config = Config::current()?;
        let mut out = String::new();
        write_report(&mut out, &config, &data).map_err(|e| PluginError::Internal(e.to_string()))?;
        Ok(out.into_bytes())
    }
}

fn write_report(out: &mut String, config: &Config, data: &ReportData) -> std::fmt::Result {
    writeln!(out, "# {}\n", cell(&data.title))?;
    let organisation = config.str_or("organisation", "");
    if !organisation.is_empty() {
        writeln!(out, "**{}**\n", cell(organisation))?;
    }
    writeln!(
        out,
        "{} report · {} · generated {}\n",
        cell(&data.kind),
        cell(&data.scope),
        rfc3339(data.generated_at)
    )?;

    writeln!(out, "## Key figures\n\n| Figure | Value |\n|---|---|")?;
    for kpi in &data.kpis {
        writeln!(
            out,
            "| {} | {:.1}{} |",
            cell(&kpi.name),
            kpi.value,
            cell(&kpi.unit)
        )?;
    }

    writeln!(out, "\n## Coverage by tactic\n")?;
    writeln!(
        out,
        "| Tactic | Covered | Partial | Gap | Untested |\n|---|---|---|---|---|"
    )?;
    for tactic in &data.tactics {
        writeln!(
            out,
            "| {} ({}) | {} | {} | {} | {} |",
            cell(&tactic.name),
            cell(&tactic.id),
            tactic.covered,
            tactic.partial,
            tactic.gap,
            tactic.untested
        )?;
    }

    writeln!(out, "\n## Gaps and regressions\n")?;
    let mut listed = 0;
    for technique in &data.coverage {
        let label = match (technique.status, technique.regression) {
            (_, true) => "regressed",
            (CoverageStatus::Gap, false) => "gap",
            _ => continue,
        };
        listed += 1;
        writeln!(out, "- **{}**: {label}", cell(&technique.technique_id))?;
    }
    if listed == 0 {
        writeln!(out, "None.")?;
    }

    writeln!(out, "\n## Tests\n")?;
    writeln!(
        out,
        "| Test | Technique | Executed | Detection | Evidence |\n|---|---|---|---|---|"
    )?;
    for test in &data.tests {
        let evidence = data
            .evidence
            .iter()
            .filter(|e| e.test_id == test.id)
            .count();
        writeln!(
            out,
            "| {} | {} | {} | {} | {evidence} |",
            cell(&test.name),
            cell(&test.technique_id),
            test.executed_at.map(date).unwrap_or_else(|| "—".into()),
            test.detection_outcome.map_or("—", detection),
        )?;
    }
    Ok(())
}

fn detection(outcome: DetectionOutcome) -> &'static str {
    match outcome {
        DetectionOutcome::Prevented => "prevented",
        DetectionOutcome::Alerted => "alerted",
        DetectionOutcome::Logged => "logged",
        DetectionOutcome::NotDetected => "not detected",
    }
}

/// Text safe inside a table cell: no line breaks, pipes escaped.
fn cell(text: &str) -> String {
    text.replace(['\r', '\n'], " ").replace('|', "\\|")
}

aegis_plugin::export_report_format!(MarkdownReport);
