//! The one rule that decides a technique's standing in every view: the
//! heatmap's cells and totals, the technique list, KPIs, the Navigator
//! layer, snapshots and their diffs, alert kinds and reports all read the
//! rows this produces, so none of them decides on its own.
//!
//! The rule: a parent technique is judged on every tested procedure of its
//! own and of its current sub-techniques. It is `covered` only when the
//! latest test of each of those procedures was prevented or alerted, a `gap`
//! when each went undetected, `partial` otherwise, and `untested` when none
//! was tested. Its counts, last test and regressions add up the same way.
//! Testing one sub-technique therefore never makes the parent look covered
//! while another of its sub-techniques is missed.
//!
//! Totals count each matrix cell once: current techniques that are not
//! sub-techniques. A revoked, deprecated or dropped technique is listed
//! (drift) but neither counted nor rolled into its parent.

use std::collections::BTreeMap;

use crate::model::{Status, TechniqueCoverage};

/// What a parent takes from its sub-techniques.
#[derive(Default)]
struct Inherited {
    tests: i64,
    procedures: i64,
    detected: i64,
    logged: i64,
    missed: i64,
    last_tested_at: Option<String>,
    regressed_test_ids: Vec<String>,
    tested: Vec<String>,
}

fn current(t: &TechniqueCoverage) -> bool {
    !t.revoked && !t.deprecated && !t.missing_from_release
}

/// Applies the rule to rows holding each technique's own figures: parents
/// take in their current sub-techniques' figures, and `counted` marks the
/// rows the totals count.
pub fn roll_up(techniques: &mut [TechniqueCoverage]) {
    let mut by_parent: BTreeMap<String, Inherited> = BTreeMap::new();
    for sub in techniques.iter().filter(|t| current(t) && t.tests > 0) {
        let Some(parent) = &sub.parent_attack_id else {
            continue;
        };
        let into = by_parent.entry(parent.clone()).or_default();
        into.tests += sub.tests;
        into.procedures += sub.procedures;
        into.detected += sub.detected;
        into.logged += sub.logged;
        into.missed += sub.missed;
        into.last_tested_at = into.last_tested_at.take().max(sub.last_tested_at.clone());
        into.regressed_test_ids
            .extend(sub.regressed_test_ids.iter().cloned());
        into.tested.push(sub.attack_id.clone());
    }
    for t in techniques.iter_mut() {
        t.counted = current(t) && t.parent_attack_id.is_none();
        if !current(t) {
            continue;
        }
        let Some(subs) = by_parent.remove(&t.attack_id) else {
            continue;
        };
        t.tests += subs.tests;
        t.procedures += subs.procedures;
        t.detected += subs.detected;
        t.logged += subs.logged;
        t.missed += subs.missed;
        // Stored times share one format, so text order is time order.
        t.last_tested_at = t.last_tested_at.take().max(subs.last_tested_at);
        t.regressed_test_ids.extend(subs.regressed_test_ids);
        t.regressed_test_ids.sort();
        t.regression = !t.regressed_test_ids.is_empty();
        t.subtechniques_tested = subs.tested;
        t.status = Status::from_counts(t.procedures, t.detected, t.missed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row with its own figures: `(procedures, detected, logged, missed)`.
    fn row(id: &str, own: (i64, i64, i64, i64)) -> TechniqueCoverage {
        let (procedures, detected, logged, missed) = own;
        TechniqueCoverage {
            attack_id: id.into(),
            name: id.into(),
            tactics: vec!["credential-access".into()],
            parent_attack_id: id.split_once('.').map(|(p, _)| p.to_owned()),
            status: Status::from_counts(procedures, detected, missed),
            tests: procedures,
            procedures,
            detected,
            logged,
            missed,
            last_tested_at: (procedures > 0).then(|| format!("2026-11-0{procedures}T10:00:00Z")),
            regression: false,
            regressed_test_ids: Vec::new(),
            subtechniques_tested: Vec::new(),
            counted: false,
            revoked: false,
            deprecated: false,
            missing_from_release: false,
            replaced_by: None,
        }
    }

    fn status_of(rows: &[TechniqueCoverage], id: &str) -> Status {
        rows.iter().find(|t| t.attack_id == id).unwrap().status
    }

    #[test]
    fn a_parent_is_judged_on_its_own_and_its_subtechniques_procedures() {
        // (parent's own, first sub, second sub) → parent's status
        let table = [
            ((0, 0, 0, 0), (0, 0, 0, 0), (0, 0, 0, 0), Status::Untested),
            ((0, 0, 0, 0), (1, 1, 0, 0), (0, 0, 0, 0), Status::Covered),
            ((0, 0, 0, 0), (1, 1, 0, 0), (1, 0, 0, 1), Status::Partial),
            ((0, 0, 0, 0), (1, 0, 0, 1), (2, 0, 0, 2), Status::Gap),
            ((1, 1, 0, 0), (1, 0, 0, 1), (0, 0, 0, 0), Status::Partial),
            ((1, 0, 0, 1), (0, 0, 0, 0), (0, 0, 0, 0), Status::Gap),
            ((0, 0, 0, 0), (1, 0, 1, 0), (0, 0, 0, 0), Status::Partial),
        ];
        for (own, first, second, expected) in table {
            let mut rows = vec![
                row("T1003", own),
                row("T1003.001", first),
                row("T1003.002", second),
            ];
            roll_up(&mut rows);
            assert_eq!(
                status_of(&rows, "T1003"),
                expected,
                "{own:?} {first:?} {second:?}"
            );
            // Sub-techniques keep their own standing.
            assert_eq!(
                status_of(&rows, "T1003.001"),
                Status::from_counts(first.0, first.1, first.3)
            );
        }
    }

    #[test]
    fn figures_and_regressions_add_up_and_only_cells_are_counted() {
        let mut sub = row("T1003.001", (2, 1, 0, 1));
        sub.regressed_test_ids = vec!["t-late".into()];
        sub.regression = true;
        let mut rows = vec![row("T1003", (1, 1, 0, 0)), sub, row("T1059", (0, 0, 0, 0))];
        roll_up(&mut rows);
        let parent = &rows[0];
        assert_eq!(
            (
                parent.tests,
                parent.procedures,
                parent.detected,
                parent.missed
            ),
            (3, 3, 2, 1)
        );
        assert_eq!(
            parent.last_tested_at.as_deref(),
            Some("2026-11-02T10:00:00Z")
        );
        assert!(parent.regression);
        assert_eq!(parent.regressed_test_ids, ["t-late"]);
        assert_eq!(parent.subtechniques_tested, ["T1003.001"]);
        let counted: Vec<&str> = rows
            .iter()
            .filter(|t| t.counted)
            .map(|t| t.attack_id.as_str())
            .collect();
        assert_eq!(counted, ["T1003", "T1059"]);
    }

    #[test]
    fn retired_subtechniques_stay_out_of_their_parent() {
        let mut revoked = row("T1003.009", (1, 0, 0, 1));
        revoked.revoked = true;
        let mut dropped = row("T1003.010", (1, 0, 0, 1));
        dropped.missing_from_release = true;
        let mut rows = vec![row("T1003", (1, 1, 0, 0)), revoked, dropped];
        roll_up(&mut rows);
        assert_eq!(rows[0].status, Status::Covered);
        assert!(rows[0].subtechniques_tested.is_empty());
        assert!(!rows[1].counted && !rows[2].counted);
    }
}
