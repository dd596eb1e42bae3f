import { describe, expect, it } from "vitest";
import type { CoverageStatus } from "../api/enums";
import { buildMatrix, displayStatus, type MatrixInput } from "./matrix";

const matrix: MatrixInput = {
  tactics: [
    {
      tactic: { attack_id: "TA0002", short_name: "execution", name: "Execution" },
      techniques: [
        {
          attack_id: "T1059",
          name: "Command and Scripting Interpreter",
          subtechniques: [
            { attack_id: "T1059.004", name: "Unix Shell" },
            { attack_id: "T1059.001", name: "PowerShell" },
          ],
        },
        { attack_id: "T1053", name: "Scheduled Task/Job", subtechniques: [] },
      ],
    },
    {
      tactic: { attack_id: "TA0006", short_name: "credential-access", name: "Credential Access" },
      techniques: [{ attack_id: "T1003", name: "OS Credential Dumping", subtechniques: [] }],
    },
  ],
};

describe("matrix layout", () => {
  const statuses = new Map<string, CoverageStatus>([
    ["T1059.001", "covered"],
    ["T1059.004", "gap"],
    ["T1003", "partial"],
  ]);
  const columns = buildMatrix(matrix, statuses);

  it("keeps tactic order and sorts techniques and sub-techniques by name", () => {
    expect(columns.map((c) => c.shortName)).toEqual(["execution", "credential-access"]);
    expect(columns[0].cells.map((c) => c.id)).toEqual(["T1059", "T1053"]);
    expect(columns[0].cells[0].subtechniques.map((s) => s.name)).toEqual(["PowerShell", "Unix Shell"]);
  });

  it("colours by status, untested by default, and counts per column", () => {
    expect(columns[1].cells[0].status).toBe("partial");
    expect(columns[0].cells[1].status).toBe("untested");
    expect(columns[0].counts).toEqual({ covered: 0, partial: 0, gap: 0, untested: 2 });
    expect(columns[0].cells[0].subCounts).toEqual({ covered: 1, partial: 0, gap: 1, untested: 0 });
  });

  it("shows the most urgent sub-technique status on an untested parent", () => {
    expect(displayStatus(columns[0].cells[0])).toBe("gap");
    expect(displayStatus(columns[0].cells[1])).toBe("untested");
  });
});
