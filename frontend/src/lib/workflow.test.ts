import { describe, expect, it } from "vitest";
import { ROLES, TEST_STATES as STATES, type Role, type TestState } from "../api/enums";
import { availableTransitions, canEdit, canUpload, missingFor } from "./workflow";

describe("state machine buttons", () => {
  it("offer exactly what the API accepts", () => {
    // Expected slugs per (state, role), from the API's rules.
    const expected: Record<TestState, Partial<Record<Role, string[]>>> = {
      draft: { admin: ["start-execution", "cancel"], lead: ["start-execution", "cancel"], red_tech: ["start-execution", "cancel"] },
      red_executing: { admin: ["submit-to-blue", "cancel"], lead: ["submit-to-blue", "cancel"], red_tech: ["submit-to-blue", "cancel"] },
      blue_evaluating: { admin: ["complete"], lead: ["complete"], blue_tech: ["complete"] },
      completed: { admin: ["reopen"], lead: ["reopen"] },
      cancelled: {},
    };
    for (const state of STATES) {
      for (const role of ROLES) {
        const slugs = availableTransitions(state, role).map((t) => t.slug);
        expect(slugs, `${role} in ${state}`).toEqual(expected[state][role] ?? []);
      }
    }
  });

  it("open each half only to its side and in its states", () => {
    expect(canEdit("red", "red_executing", "red_tech")).toBe(true);
    expect(canEdit("red", "blue_evaluating", "red_tech")).toBe(false);
    expect(canEdit("blue", "blue_evaluating", "red_tech")).toBe(false);
    expect(canEdit("blue", "blue_evaluating", "blue_tech")).toBe(true);
    expect(canEdit("plan", "completed", "admin")).toBe(false);
    expect(canEdit("plan", "draft", "viewer")).toBe(false);
    expect(canUpload("draft", "red_tech")).toBe(true);
    expect(canUpload("red_executing", "blue_tech")).toBe(false);
    expect(canUpload("completed", "admin")).toBe(false);
  });

  it("name the fields a transition still needs", () => {
    expect(missingFor("submit-to-blue", {})).toEqual(["executed_at", "attack_outcome"]);
    expect(missingFor("complete", { detection_outcome: "alerted" })).toEqual([]);
    expect(missingFor("start-execution", {})).toEqual([]);
  });
});
