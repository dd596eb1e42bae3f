// Lays the ATT&CK matrix out for the heatmap: tactics as columns, each
// technique coloured by its coverage status, sub-techniques folded under
// their parent with the best and worst of them summarised.

import type { CoverageStatus } from "../api/enums";

export interface MatrixInput {
  tactics: {
    tactic: { attack_id: string; short_name: string; name: string };
    techniques: { attack_id: string; name: string; subtechniques: { attack_id: string; name: string }[] }[];
  }[];
}

export interface Cell {
  id: string;
  name: string;
  status: CoverageStatus;
  subtechniques: { id: string; name: string; status: CoverageStatus }[];
  /** Counts over the sub-techniques, for the folded badge. */
  subCounts: Record<CoverageStatus, number>;
}

export interface Column {
  id: string;
  shortName: string;
  name: string;
  cells: Cell[];
  counts: Record<CoverageStatus, number>;
}

/** Most urgent first. */
const ORDER = ["gap", "partial", "covered", "untested"] as const satisfies readonly CoverageStatus[];

function emptyCounts(): Record<CoverageStatus, number> {
  return { covered: 0, partial: 0, gap: 0, untested: 0 };
}

/** Columns in matrix order; techniques sorted by name, as Navigator shows them. */
export function buildMatrix(matrix: MatrixInput, statuses: Map<string, CoverageStatus>): Column[] {
  const of = (id: string): CoverageStatus => statuses.get(id) ?? "untested";
  return matrix.tactics.map(({ tactic, techniques }) => {
    const counts = emptyCounts();
    const cells = [...techniques]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((t) => {
        const subtechniques = [...t.subtechniques]
          .sort((a, b) => a.name.localeCompare(b.name))
          .map((s) => ({ id: s.attack_id, name: s.name, status: of(s.attack_id) }));
        const subCounts = emptyCounts();
        for (const s of subtechniques) subCounts[s.status] += 1;
        const status = of(t.attack_id);
        counts[status] += 1;
        return { id: t.attack_id, name: t.name, status, subtechniques, subCounts };
      });
    return { id: tactic.attack_id, shortName: tactic.short_name, name: tactic.name, cells, counts };
  });
}

/** The status a folded technique shows: its own, unless it is untested and
 *  its sub-techniques were tested, then the most urgent of theirs. */
export function displayStatus(cell: Cell): CoverageStatus {
  if (cell.status !== "untested") return cell.status;
  return ORDER.find((s) => s !== "untested" && cell.subCounts[s] > 0) ?? "untested";
}

export const STATUS_LABELS: Record<CoverageStatus, string> = {
  covered: "Covered",
  partial: "Partial",
  gap: "Gap",
  untested: "Untested",
};
