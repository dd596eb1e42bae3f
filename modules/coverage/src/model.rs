//! Coverage, KPIs and snapshots as the service computes them.

use std::collections::BTreeMap;

use aegis_core::time::Timestamp;
use poem_openapi::{Enum, Object};
use serde::{Deserialize, Serialize};

use crate::error::CoverageError;

/// Which tests count: one campaign, one platform, a date range on when the
/// test ran (or was created, before it ran). A part left out means "any".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Scope {
    pub campaign_id: Option<String>,
    pub platform: Option<String>,
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
}

impl Scope {
    /// A scope from request parameters: dates the database can store, `from`
    /// not after `to`, a campaign id that is an id, a trimmed lower-case
    /// platform; empty values mean "any".
    pub fn parse(
        campaign_id: Option<String>,
        platform: Option<String>,
        from: Option<Timestamp>,
        to: Option<Timestamp>,
    ) -> Result<Self, CoverageError> {
        for (field, value) in [("from", from), ("to", to)] {
            if value.is_some_and(|t| !aegis_core::time::storable(t)) {
                return Err(CoverageError::invalid(
                    field,
                    "must be between the years 1970 and 9999",
                ));
            }
        }
        if let (Some(f), Some(t)) = (from, to)
            && f > t
        {
            return Err(CoverageError::invalid("from", "must not be after to"));
        }
        let campaign_id = match campaign_id.filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(
                uuid::Uuid::parse_str(&c)
                    .map_err(|_| CoverageError::invalid("campaign_id", "expected an id (UUID)"))?
                    .to_string(),
            ),
        };
        Ok(Self {
            campaign_id,
            platform: platform
                .map(|p| p.trim().to_lowercase())
                .filter(|p| !p.is_empty()),
            from,
            to,
        })
    }
}

/// A technique's standing, from the latest completed test of each of its
/// procedures: `covered` when every one was prevented or alerted, `gap` when
/// every one went undetected, `partial` otherwise (logged only, or a mix),
/// `untested` without completed tests. A parent technique's procedures are
/// its own and those of its current sub-techniques.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Enum, Serialize, Deserialize)]
#[oai(rename_all = "snake_case")]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Covered,
    Partial,
    Gap,
    Untested,
}

impl Status {
    pub const ALL: [Status; 4] = [Self::Covered, Self::Partial, Self::Gap, Self::Untested];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Covered => "covered",
            Self::Partial => "partial",
            Self::Gap => "gap",
            Self::Untested => "untested",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// From the latest outcome of each procedure: how many there are, how
    /// many were prevented or alerted, how many went undetected.
    pub fn from_counts(procedures: i64, detected: i64, missed: i64) -> Self {
        if procedures == 0 {
            Self::Untested
        } else if detected == procedures {
            Self::Covered
        } else if missed == procedures {
            Self::Gap
        } else {
            Self::Partial
        }
    }
}

/// One technique's coverage. For a parent technique every figure (status,
/// counts, last test, regression) includes its current sub-techniques'
/// tests, so the row says what its heatmap cell shows; a sub-technique's row
/// holds its own tests only.
#[derive(Debug, Clone, Serialize, Deserialize, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TechniqueCoverage {
    pub attack_id: String,
    pub name: String,
    pub tactics: Vec<String>,
    /// The parent technique, for a sub-technique.
    pub parent_attack_id: Option<String>,
    pub status: Status,
    /// Completed tests in scope, every one.
    pub tests: i64,
    /// Procedures tested (the latest test of each decides).
    pub procedures: i64,
    pub detected: i64,
    pub logged: i64,
    pub missed: i64,
    /// When the newest completed test in scope ran; absent when untested.
    pub last_tested_at: Option<String>,
    /// Detected (prevented or alerted) before, missed by the latest test of
    /// the same procedure.
    pub regression: bool,
    /// The tests behind `regression`: the latest test of each procedure
    /// that was detected before and went undetected.
    pub regressed_test_ids: Vec<String>,
    /// Sub-techniques whose completed tests this row's figures include.
    pub subtechniques_tested: Vec<String>,
    /// Whether the row counts in the overall, tactic and KPI totals: a
    /// current technique that is not a sub-technique (a sub-technique
    /// counts through its parent). Revoked, deprecated and dropped
    /// techniques with tests are listed as drift and not counted.
    pub counted: bool,
    pub revoked: bool,
    pub deprecated: bool,
    /// No longer in the synced ATT&CK release.
    pub missing_from_release: bool,
    /// The technique that replaces a revoked one, when MITRE names it.
    pub replaced_by: Option<String>,
}

impl From<Status> for aegis_core::plugins::CoverageStatus {
    fn from(status: Status) -> Self {
        match status {
            Status::Covered => Self::Covered,
            Status::Partial => Self::Partial,
            Status::Gap => Self::Gap,
            Status::Untested => Self::Untested,
        }
    }
}

impl TechniqueCoverage {
    /// This technique's coverage as alert rules, reports and plugins see it.
    pub fn view(&self) -> aegis_core::plugins::TechniqueCoverageView {
        aegis_core::plugins::TechniqueCoverageView {
            technique_id: self.attack_id.clone(),
            status: self.status.into(),
            tests: u32::try_from(self.tests).unwrap_or(u32::MAX),
            regression: self.regression,
            regressed_test_ids: self.regressed_test_ids.clone(),
            counted: self.counted,
            last_tested_at: self
                .last_tested_at
                .as_deref()
                .and_then(|t| aegis_core::time::from_db(t).ok())
                .map(|t| t.timestamp()),
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Counts {
    pub covered: i64,
    pub partial: i64,
    pub gap: i64,
    pub untested: i64,
}

impl Counts {
    pub fn add(&mut self, status: Status) {
        match status {
            Status::Covered => self.covered += 1,
            Status::Partial => self.partial += 1,
            Status::Gap => self.gap += 1,
            Status::Untested => self.untested += 1,
        }
    }

    pub fn total(&self) -> i64 {
        self.covered + self.partial + self.gap + self.untested
    }

    /// Covered share of all techniques, in percent (0 when there are none).
    pub fn covered_percent(&self) -> f64 {
        percent(self.covered, self.total())
    }
}

pub fn percent(part: i64, whole: i64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        (part as f64 * 10_000.0 / whole as f64).round() / 100.0
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct TacticCoverage {
    pub attack_id: String,
    pub short_name: String,
    pub name: String,
    pub counts: Counts,
    pub covered_percent: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Coverage {
    pub scope: Scope,
    pub overall: Counts,
    pub covered_percent: f64,
    pub tactics: Vec<TacticCoverage>,
    pub techniques: Vec<TechniqueCoverage>,
}

impl Coverage {
    pub fn statuses(&self) -> BTreeMap<String, Status> {
        self.techniques
            .iter()
            .map(|t| (t.attack_id.clone(), t.status))
            .collect()
    }
}

/// The numbers a lead reads first. The times are absent while no test in
/// scope has them.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Kpis {
    pub tests_total: i64,
    pub tests_by_state: BTreeMap<String, i64>,
    pub completed: i64,
    pub outcomes: BTreeMap<String, i64>,
    /// Prevented or alerted, of completed tests, in percent.
    pub detection_rate: f64,
    /// Prevented, of completed tests, in percent.
    pub prevention_rate: f64,
    /// detected_at − executed_at over detected tests, in seconds.
    pub mean_time_to_detect_seconds: Option<f64>,
    pub median_time_to_detect_seconds: Option<f64>,
    /// From submit-to-blue to completion, in seconds.
    pub mean_blue_review_seconds: Option<f64>,
    pub techniques: Counts,
    pub regressions: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct Snapshot {
    pub id: String,
    pub taken_at: Timestamp,
    /// `daily`, `campaign` or `manual`.
    pub trigger: String,
    pub scope: Scope,
    pub kpis: Kpis,
    pub statuses: BTreeMap<String, Status>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_follow_the_latest_outcome_of_each_procedure() {
        // (procedures, detected, missed) → status
        let table = [
            ((0, 0, 0), Status::Untested),
            ((1, 1, 0), Status::Covered),
            ((3, 3, 0), Status::Covered),
            ((1, 0, 0), Status::Partial), // logged only
            ((2, 1, 1), Status::Partial), // one procedure detected, one missed
            ((2, 1, 0), Status::Partial), // alerted and logged
            ((1, 0, 1), Status::Gap),
            ((2, 0, 2), Status::Gap),
        ];
        for ((p, d, m), expected) in table {
            assert_eq!(Status::from_counts(p, d, m), expected, "{p} {d} {m}");
        }
    }

    #[test]
    fn percentages_round_to_hundredths() {
        assert_eq!(percent(1, 3), 33.33);
        assert_eq!(percent(0, 0), 0.0);
    }
}
