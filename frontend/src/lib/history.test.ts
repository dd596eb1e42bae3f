import { describe, expect, it } from "vitest";
import { changeWords, describeAction, type Names } from "./history";
import { plural } from "./words";

const names: Names = {
  person: (id) => (id === "u-red" ? "Ruth (ruth)" : undefined),
  campaign: (id) => (id === "c-1" ? "APT29 emulation" : undefined),
};

describe("a test's history in words", () => {
  it("names actions, states and files", () => {
    expect(describeAction({ action: "test.start_execution", detail: { from: "draft", to: "red_executing" } })).toBe("started execution (now Red executing)");
    expect(describeAction({ action: "test.evidence_add", detail: { side: "red", file_name: "out.txt" } })).toBe("attached red evidence out.txt");
    expect(describeAction({ action: "test.update", detail: {} })).toBe("edited");
  });

  it("labels fields and names people and campaigns instead of ids", () => {
    const words = changeWords(
      {
        action: "test.update",
        changes: [
          { field: "red_assignee_id", before: null, after: "u-red" },
          { field: "blue_assignee_id", before: "u-gone", after: null },
          { field: "campaign_id", before: null, after: "c-1" },
          { field: "tags", before: [], after: ["apt29", "q3"] },
          { field: "detection_outcome", before: null, after: "not_detected" },
        ],
      },
      names,
    );
    expect(words.map((w) => `${w.label}: ${w.before} → ${w.after}`)).toEqual([
      "Red assignee: none → Ruth (ruth)",
      "Blue assignee: a former user → none",
      "Campaign: none → APT29 emulation",
      "Tags: none → apt29, q3",
      "Detection outcome: none → not detected",
    ]);
  });

  it("counts in words", () => {
    expect(plural(1, "finding")).toBe("1 finding");
    expect(plural(3, "test")).toBe("3 tests");
    expect(plural(0, "test")).toBe("0 tests");
  });
});
