// Lays the ATT&CK matrix out for the heatmap from the coverage answer alone:
// tactics as columns in matrix order, the techniques the server counts as
// cells, sub-techniques folded under their parent. Every status and every
// column total is the server's (one rule, in modules/coverage): nothing here
// decides a standing, so the cells, the totals and the other views agree.

import type { components } from "../api/schema";
import type { CoverageStatus } from "../api/enums";

type Coverage = components["schemas"]["Coverage"];

/** The parts of the coverage answer the layout reads. */
export interface MatrixInput {
  tactics: Pick<Coverage["tactics"][number], "attack_id" | "short_name" | "name" | "counts">[];
  techniques: Pick<
    Coverage["techniques"][number],
    "attack_id" | "name" | "tactics" | "parent_attack_id" | "status" | "counted" | "revoked" | "deprecated" | "missing_from_release" | "regression"
  >[];
}

export interface Cell {
  id: string;
  name: string;
  status: CoverageStatus;
  regression: boolean;
  subtechniques: { id: string; name: string; status: CoverageStatus }[];
}

export interface Column {
  id: string;
  shortName: string;
  name: string;
  cells: Cell[];
  /** The server's totals for the tactic: one per cell. */
  counts: Record<CoverageStatus, number>;
}

const byName = (a: { name: string }, b: { name: string }) => a.name.localeCompare(b.name);

/** Columns in matrix order; techniques sorted by name, as Navigator shows them. */
export function buildMatrix(coverage: MatrixInput): Column[] {
  const current = coverage.techniques.filter((t) => !t.revoked && !t.deprecated && !t.missing_from_release);
  const subsOf = new Map<string, Cell["subtechniques"]>();
  for (const t of current) {
    if (!t.parent_attack_id) continue;
    const list = subsOf.get(t.parent_attack_id) ?? [];
    list.push({ id: t.attack_id, name: t.name, status: t.status });
    subsOf.set(t.parent_attack_id, list);
  }
  const cells = coverage.techniques.filter((t) => t.counted).sort(byName);
  return coverage.tactics.map((tactic) => ({
    id: tactic.attack_id,
    shortName: tactic.short_name,
    name: tactic.name,
    counts: tactic.counts,
    cells: cells
      .filter((t) => t.tactics.includes(tactic.short_name))
      .map((t) => ({
        id: t.attack_id,
        name: t.name,
        status: t.status,
        regression: t.regression,
        subtechniques: [...(subsOf.get(t.attack_id) ?? [])].sort(byName),
      })),
  }));
}

/** How many cells of each status a column holds: what its totals must say. */
export function countCells(column: Column): Record<CoverageStatus, number> {
  const counts: Record<CoverageStatus, number> = { covered: 0, partial: 0, gap: 0, untested: 0 };
  for (const cell of column.cells) counts[cell.status] += 1;
  return counts;
}

/** Where focus goes from cell `row` of column `col` on an arrow key, over
 *  columns of the given lengths (ragged: a shorter column clamps the row);
 *  null when the key moves nowhere. */
export function moveFocus(lengths: number[], col: number, row: number, key: string): { col: number; row: number } | null {
  const clamp = (c: number, r: number) => ({ col: c, row: Math.max(0, Math.min(r, lengths[c] - 1)) });
  const nonEmpty = (from: number, step: number) => {
    for (let c = from; c >= 0 && c < lengths.length; c += step) if (lengths[c] > 0) return c;
    return -1;
  };
  switch (key) {
    case "ArrowDown":
      return row + 1 < lengths[col] ? { col, row: row + 1 } : null;
    case "ArrowUp":
      return row > 0 ? { col, row: row - 1 } : null;
    case "ArrowRight": {
      const c = nonEmpty(col + 1, 1);
      return c < 0 ? null : clamp(c, row);
    }
    case "ArrowLeft": {
      const c = nonEmpty(col - 1, -1);
      return c < 0 ? null : clamp(c, row);
    }
    case "Home":
      return { col, row: 0 };
    case "End":
      return { col, row: lengths[col] - 1 };
    default:
      return null;
  }
}

export const STATUS_LABELS: Record<CoverageStatus, string> = {
  covered: "Covered",
  partial: "Partial",
  gap: "Gap",
  untested: "Untested",
};
