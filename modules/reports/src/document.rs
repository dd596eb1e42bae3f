//! What every format renders: the report data plugins get (`ReportData`)
//! plus the names built-in formats print beside ids.

use std::collections::BTreeMap;

use aegis_core::plugins::{AttackOutcome, CoverageStatus, DetectionOutcome, ReportData};

pub struct Document {
    pub data: ReportData,
    /// Technique names by ATT&CK id.
    pub technique_names: BTreeMap<String, String>,
}

impl Document {
    pub fn technique(&self, id: &str) -> String {
        match self.technique_names.get(id) {
            Some(name) => format!("{id} {name}"),
            None => id.to_owned(),
        }
    }

    /// Gaps (every procedure missed) and regressions, in matrix order.
    pub fn gaps_and_regressions(&self) -> impl Iterator<Item = (&str, &'static str)> {
        self.data.coverage.iter().filter_map(|c| {
            let label = match (c.status, c.regression) {
                (_, true) => "regressed",
                (CoverageStatus::Gap, false) => "gap",
                _ => return None,
            };
            Some((c.technique_id.as_str(), label))
        })
    }
}

/// An outcome's name, or empty when there is none yet.
pub fn attack(o: Option<AttackOutcome>) -> &'static str {
    o.map_or("", AttackOutcome::as_str)
}

pub fn detection(o: Option<DetectionOutcome>) -> &'static str {
    o.map_or("", DetectionOutcome::as_str)
}

/// `2026-11-29T10:15:00Z`, or empty.
pub fn when(unix: Option<i64>) -> String {
    unix.and_then(|t| chrono::DateTime::from_timestamp(t, 0))
        .map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// A figure as printed: one decimal, its unit after it.
pub fn figure(value: f64, unit: &str) -> String {
    if unit.is_empty() && value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}{unit}")
    }
}
