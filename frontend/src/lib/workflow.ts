// The test state machine as the dashboard offers it. The API enforces the
// same rules; the UI only avoids offering what a role may not do.

import type { Role, Side, TestState } from "../api/enums";

export type FieldGroup = "plan" | Side;

/** The last segment of a transition's route, `POST /api/v1/tests/{id}/<slug>`. */
export type TransitionSlug = "start-execution" | "submit-to-blue" | "complete" | "reopen" | "cancel";

export interface TransitionAction {
  slug: TransitionSlug;
  label: string;
  from: TestState[];
  roles: Role[];
  /** A destructive or unusual step asks for confirmation. */
  confirm?: boolean;
}

const RED: Role[] = ["admin", "lead", "red_tech"];
const BLUE: Role[] = ["admin", "lead", "blue_tech"];

export const TRANSITIONS: TransitionAction[] = [
  { slug: "start-execution", label: "Start execution", from: ["draft"], roles: RED },
  { slug: "submit-to-blue", label: "Submit to blue", from: ["red_executing"], roles: RED },
  { slug: "complete", label: "Complete", from: ["blue_evaluating"], roles: BLUE },
  { slug: "reopen", label: "Reopen", from: ["completed"], roles: ["admin", "lead"], confirm: true },
  { slug: "cancel", label: "Cancel test", from: ["draft", "red_executing"], roles: RED, confirm: true },
];

/** The transitions `role` may take from `state`, in workflow order. */
export function availableTransitions(state: TestState, role: Role): TransitionAction[] {
  return TRANSITIONS.filter((t) => t.from.includes(state) && t.roles.includes(role));
}

const WRITERS: Record<FieldGroup, Role[]> = { plan: RED, red: RED, blue: BLUE };
const OPEN_IN: Record<FieldGroup, TestState[]> = {
  plan: ["draft", "red_executing", "blue_evaluating"],
  red: ["draft", "red_executing"],
  blue: ["blue_evaluating"],
};

/** Whether `role` may change the `group` fields of a test in `state`. */
export function canEdit(group: FieldGroup, state: TestState, role: Role): boolean {
  return WRITERS[group].includes(role) && OPEN_IN[group].includes(state);
}

/** Whether `role` may attach evidence now (the side follows the role). */
export function canUpload(state: TestState, role: Role): boolean {
  if (role === "viewer" || state === "completed" || state === "cancelled") return false;
  if (role === "red_tech") return OPEN_IN.red.includes(state);
  if (role === "blue_tech") return OPEN_IN.blue.includes(state);
  return true;
}

/** What is missing before a transition is accepted (mirrors the API's 409 `fields_missing`). */
export function missingFor(
  slug: TransitionSlug,
  test: { executed_at?: string | null; attack_outcome?: string | null; detection_outcome?: string | null },
): string[] {
  if (slug === "submit-to-blue") {
    return [
      ...(test.executed_at ? [] : ["executed_at"]),
      ...(test.attack_outcome ? [] : ["attack_outcome"]),
    ];
  }
  if (slug === "complete" && !test.detection_outcome) return ["detection_outcome"];
  return [];
}

export const STATE_LABELS: Record<TestState, string> = {
  draft: "Draft",
  red_executing: "Red executing",
  blue_evaluating: "Blue evaluating",
  completed: "Completed",
  cancelled: "Cancelled",
};
