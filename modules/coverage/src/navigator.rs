//! Coverage as an ATT&CK Navigator layer (format 4.5): one colour and score
//! per status, a legend, and the test counts in each technique's comment.
//! A parent's score and colour are its rolled-up status (`crate::rollup`),
//! as on the heatmap.

use poem_openapi::Object;

use crate::model::{Coverage, Status, TechniqueCoverage};

pub const LAYER_FORMAT: &str = "4.5";
pub const NAVIGATOR_VERSION: &str = "5.1.0";

pub fn color(status: Status) -> &'static str {
    match status {
        Status::Covered => "#31a354",
        Status::Partial => "#fdae6b",
        Status::Gap => "#e6550d",
        Status::Untested => "#d9d9d9",
    }
}

/// Higher is better, so Navigator's aggregate scores mean something.
pub fn score(status: Status) -> u8 {
    match status {
        Status::Covered => 3,
        Status::Partial => 2,
        Status::Gap => 1,
        Status::Untested => 0,
    }
}

fn comment(t: &TechniqueCoverage) -> String {
    if t.tests == 0 {
        return "no completed tests".into();
    }
    let mut text = format!(
        "{} completed test{} over {} procedure{}: {} detected, {} logged only, {} missed (latest per procedure)",
        t.tests,
        if t.tests == 1 { "" } else { "s" },
        t.procedures,
        if t.procedures == 1 { "" } else { "s" },
        t.detected,
        t.logged,
        t.missed
    );
    if !t.subtechniques_tested.is_empty() {
        text.push_str(&format!(
            ", including sub-technique{} {}",
            if t.subtechniques_tested.len() == 1 {
                ""
            } else {
                "s"
            },
            t.subtechniques_tested.join(", ")
        ));
    }
    if t.regression {
        text.push_str("; REGRESSION: detected before, missed by the latest test");
    }
    if t.revoked {
        text.push_str(&match &t.replaced_by {
            Some(by) => format!("; revoked, replaced by {by}"),
            None => "; revoked".into(),
        });
    } else if t.deprecated {
        text.push_str("; deprecated");
    }
    text
}

/// An ATT&CK Navigator layer (format 4.5) as Aegis writes it: Navigator
/// opens it as is, and `POST /api/v1/campaigns/import/navigator` reads it back.
#[derive(Debug, Clone, Object)]
#[oai(
    rename = "NavigatorLayer",
    rename_all = "camelCase",
    skip_serializing_if_is_none
)]
pub struct Layer {
    pub name: String,
    pub versions: LayerVersions,
    /// Always `enterprise-attack`.
    pub domain: String,
    pub description: String,
    /// Navigator's sort order: 0 sorts by name, ascending.
    pub sorting: i64,
    pub layout: LayerLayout,
    pub hide_disabled: bool,
    pub techniques: Vec<LayerTechnique>,
    pub gradient: LayerGradient,
    pub legend_items: Vec<LegendItem>,
    pub show_tactic_row_background: bool,
    pub select_techniques_across_tactics: bool,
    pub select_subtechniques_with_parent: bool,
    pub select_visible_techniques: bool,
}

/// The versions a layer was written for.
#[derive(Debug, Clone, Object)]
#[oai(rename = "NavigatorLayerVersions", skip_serializing_if_is_none)]
pub struct LayerVersions {
    /// The Navigator version, e.g. `5.1.0`.
    pub navigator: String,
    /// The layer format, `4.5`.
    pub layer: String,
    /// The ATT&CK major version of the catalog (`18`); absent before the
    /// first sync.
    pub attack: Option<String>,
}

/// How Navigator lays the matrix out.
#[derive(Debug, Clone, Object)]
#[oai(
    rename = "NavigatorLayout",
    rename_all = "camelCase",
    skip_serializing_if_is_none
)]
pub struct LayerLayout {
    /// `side`.
    pub layout: String,
    #[oai(rename = "showID")]
    pub show_id: bool,
    pub show_name: bool,
    /// `average`: a parent's score is the mean of its sub-techniques'.
    pub aggregate_function: String,
}

/// One technique of the layer: its status as score, colour and metadata.
#[derive(Debug, Clone, Object)]
#[oai(
    rename = "NavigatorTechnique",
    rename_all = "camelCase",
    skip_serializing_if_is_none
)]
pub struct LayerTechnique {
    /// An ATT&CK id, e.g. `T1059.001`.
    #[oai(rename = "techniqueID")]
    pub technique_id: String,
    /// 3 covered, 2 partial, 1 gap, 0 untested.
    pub score: i64,
    /// The status's colour, `#rrggbb`.
    pub color: String,
    /// The test counts, and any regression, revocation or deprecation.
    pub comment: String,
    pub enabled: bool,
    /// `status`, and `last tested` once tested.
    pub metadata: Vec<LayerMetadata>,
    pub show_subtechniques: bool,
}

/// A name and value Navigator shows with a technique.
#[derive(Debug, Clone, Object)]
#[oai(rename = "NavigatorMetadata", skip_serializing_if_is_none)]
pub struct LayerMetadata {
    pub name: String,
    pub value: String,
}

/// The colour scale of the scores, untested to covered.
#[derive(Debug, Clone, Object)]
#[oai(
    rename = "NavigatorGradient",
    rename_all = "camelCase",
    skip_serializing_if_is_none
)]
pub struct LayerGradient {
    pub colors: Vec<String>,
    pub min_value: i64,
    pub max_value: i64,
}

/// One status of the legend and its colour.
#[derive(Debug, Clone, Object)]
#[oai(rename = "NavigatorLegendItem", skip_serializing_if_is_none)]
pub struct LegendItem {
    pub label: String,
    pub color: String,
}

pub fn layer(coverage: &Coverage, name: &str, attack_version: Option<&str>) -> Layer {
    let techniques = coverage
        .techniques
        .iter()
        .map(|t| {
            let mut metadata = vec![LayerMetadata {
                name: "status".into(),
                value: t.status.as_str().into(),
            }];
            if let Some(at) = &t.last_tested_at {
                metadata.push(LayerMetadata {
                    name: "last tested".into(),
                    value: at.clone(),
                });
            }
            LayerTechnique {
                technique_id: t.attack_id.clone(),
                score: score(t.status).into(),
                color: color(t.status).into(),
                comment: comment(t),
                enabled: true,
                metadata,
                show_subtechniques: false,
            }
        })
        .collect();
    let o = &coverage.overall;
    Layer {
        name: name.into(),
        versions: LayerVersions {
            navigator: NAVIGATOR_VERSION.into(),
            layer: LAYER_FORMAT.into(),
            // Navigator names the major version only ("18"), as its own exports do.
            attack: attack_version.map(|v| v.split('.').next().unwrap_or(v).to_owned()),
        },
        domain: "enterprise-attack".into(),
        description: format!(
            "Aegis detection coverage: {} covered, {} partial, {} gaps, {} untested ({}% covered)",
            o.covered, o.partial, o.gap, o.untested, coverage.covered_percent
        ),
        sorting: 0,
        layout: LayerLayout {
            layout: "side".into(),
            show_id: true,
            show_name: true,
            aggregate_function: "average".into(),
        },
        hide_disabled: false,
        techniques,
        gradient: LayerGradient {
            colors: [
                Status::Untested,
                Status::Gap,
                Status::Partial,
                Status::Covered,
            ]
            .map(|s| color(s).to_owned())
            .into(),
            min_value: 0,
            max_value: 3,
        },
        legend_items: Status::ALL
            .iter()
            .map(|s| LegendItem {
                label: s.as_str().into(),
                color: color(*s).into(),
            })
            .collect(),
        show_tactic_row_background: false,
        select_techniques_across_tactics: true,
        select_subtechniques_with_parent: false,
        select_visible_techniques: false,
    }
}
