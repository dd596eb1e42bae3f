import { describe, expect, it } from "vitest";
import type { Schemas } from "../api/client";
import { conflictRows, editedFields, formOf, rebase, toChanges } from "./testEdit";

const test: Schemas["TestView"] = {
  id: "t1",
  name: "Dump LSASS",
  technique: { domain: "enterprise-attack", attack_id: "T1003.001", revoked: false, deprecated: false },
  procedure: "rundll32",
  tags: ["q3", "apt29"],
  state: "blue_evaluating",
  red_notes: "",
  blue_notes: "",
  version: 4,
  created_at: "2026-11-01T10:00:00Z",
  created_by: "red",
  updated_at: "2026-11-01T10:00:00Z",
  updated_by: "red",
};

describe("editing a test as one form", () => {
  it("sends only what the user changed, empty text clearing", () => {
    const base = formOf(test);
    const form = { ...base, target_host: "ws-1", tags: "APT29, q3", detection_outcome: "alerted", procedure: "rundll32" };
    expect(editedFields(base, form)).toEqual(["target_host", "detection_outcome"]);
    expect(editedFields(base, form, ["blue"])).toEqual(["detection_outcome"]);
    expect(toChanges(form, editedFields(base, form))).toEqual({ target_host: "ws-1", detection_outcome: "alerted" });
    expect(toChanges({ ...form, platform: " ", red_assignee_id: "" }, ["platform", "red_assignee_id", "tags"])).toEqual({
      platform: null,
      red_assignee_id: null,
      tags: ["APT29", "q3"],
    });
  });

  it("shows field by field what the other change and the user did", () => {
    const base = formOf(test);
    const theirs = { ...base, name: "Dump LSASS (comsvcs)", blue_notes: "seen by EDR" };
    const mine = { ...base, blue_notes: "alert 4411", detection_outcome: "alerted" };
    const rows = conflictRows(base, theirs, mine);
    expect(rows.map((r) => [r.field, r.theirs, r.yours, r.clash])).toEqual([
      ["name", "Dump LSASS (comsvcs)", undefined, false],
      ["detection_outcome", "", "alerted", false],
      ["blue_notes", "seen by EDR", "alert 4411", true],
    ]);
  });

  it("reapplies the user's changes on top of the newer version", () => {
    const base = formOf(test);
    const theirs = { ...base, name: "Renamed", blue_notes: "theirs" };
    const mine = { ...base, blue_notes: "mine", detection_outcome: "logged" };
    const { form, fields } = rebase(base, theirs, mine);
    expect(form.name).toBe("Renamed");
    expect(form.blue_notes).toBe("mine");
    expect(fields).toEqual(["detection_outcome", "blue_notes"]);
    // A change the other side already made the same way needs no sending.
    expect(rebase(base, { ...base, detection_outcome: "logged" }, mine).fields).toEqual(["blue_notes"]);
  });
});
