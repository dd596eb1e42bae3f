import { describe, expect, it } from "vitest";
import { buildMatrix, countCells, moveFocus, type MatrixInput } from "./matrix";

type Row = MatrixInput["techniques"][number];

const technique = (attack_id: string, name: string, tactics: string[], status: Row["status"], extra: Partial<Row> = {}): Row => ({
  attack_id,
  name,
  tactics,
  status,
  counted: !attack_id.includes("."),
  parent_attack_id: attack_id.includes(".") ? attack_id.split(".")[0] : undefined,
  revoked: false,
  deprecated: false,
  missing_from_release: false,
  regression: false,
  ...extra,
});

// As the server answers: T1059's status already includes its sub-techniques'.
const coverage: MatrixInput = {
  tactics: [
    { attack_id: "TA0002", short_name: "execution", name: "Execution", counts: { covered: 0, partial: 1, gap: 0, untested: 1 } },
    { attack_id: "TA0006", short_name: "credential-access", name: "Credential Access", counts: { covered: 0, partial: 0, gap: 1, untested: 0 } },
  ],
  techniques: [
    technique("T1059", "Command and Scripting Interpreter", ["execution"], "partial"),
    technique("T1059.004", "Unix Shell", ["execution"], "gap"),
    technique("T1059.001", "PowerShell", ["execution"], "covered"),
    technique("T1059.007", "JavaScript", ["execution"], "covered", { revoked: true, counted: false }),
    technique("T1053", "Scheduled Task/Job", ["execution"], "untested"),
    technique("T1003", "OS Credential Dumping", ["credential-access"], "gap"),
  ],
};

describe("matrix layout", () => {
  const columns = buildMatrix(coverage);

  it("keeps tactic order and sorts techniques and sub-techniques by name", () => {
    expect(columns.map((c) => c.shortName)).toEqual(["execution", "credential-access"]);
    expect(columns[0].cells.map((c) => c.id)).toEqual(["T1059", "T1053"]);
    expect(columns[0].cells[0].subtechniques.map((s) => s.name)).toEqual(["PowerShell", "Unix Shell"]);
  });

  it("shows the server's status on each cell and leaves retired sub-techniques out", () => {
    expect(columns[0].cells[0].status).toBe("partial");
    expect(columns[0].cells[0].subtechniques.map((s) => s.id)).not.toContain("T1059.007");
    expect(columns[1].cells[0].status).toBe("gap");
  });

  it("takes each column's totals from the server, and they match its cells", () => {
    for (const column of columns) expect(countCells(column)).toEqual(column.counts);
  });
});

describe("moving focus with the keyboard", () => {
  // Three columns of 3, 0 and 2 cells.
  const lengths = [3, 0, 2];

  it("moves within a column and stops at its ends", () => {
    expect(moveFocus(lengths, 0, 0, "ArrowDown")).toEqual({ col: 0, row: 1 });
    expect(moveFocus(lengths, 0, 2, "ArrowDown")).toBeNull();
    expect(moveFocus(lengths, 0, 0, "ArrowUp")).toBeNull();
    expect(moveFocus(lengths, 0, 1, "End")).toEqual({ col: 0, row: 2 });
    expect(moveFocus(lengths, 0, 2, "Home")).toEqual({ col: 0, row: 0 });
  });

  it("skips empty columns and clamps the row into a shorter one", () => {
    expect(moveFocus(lengths, 0, 2, "ArrowRight")).toEqual({ col: 2, row: 1 });
    expect(moveFocus(lengths, 2, 1, "ArrowLeft")).toEqual({ col: 0, row: 1 });
    expect(moveFocus(lengths, 2, 0, "ArrowRight")).toBeNull();
    expect(moveFocus(lengths, 0, 0, "Tab")).toBeNull();
  });
});
