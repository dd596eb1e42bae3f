// A test's history in words: what was done, each changed field by its label,
// people and campaigns by their names instead of ids.
import type { Schemas } from "../api/client";
import { fieldLabel } from "./testEdit";
import { STATE_LABELS } from "./workflow";

type Entry = Schemas["HistoryEntry"];

/** Names for the ids a history holds. */
export interface Names {
  person: (id: string) => string | undefined;
  campaign: (id: string) => string | undefined;
}

const ACTIONS: Record<string, string> = {
  "test.create": "planned the test",
  "test.update": "edited",
  "test.start_execution": "started execution",
  "test.submit_to_blue": "submitted it to blue",
  "test.complete": "completed it",
  "test.reopen": "reopened it",
  "test.cancel": "cancelled it",
  "test.evidence_add": "attached",
  "test.evidence_delete": "deleted the evidence",
};

/** Words for a state slug (`blue_evaluating` → "Blue evaluating"). */
function stateWords(value: unknown): string | undefined {
  return typeof value === "string" && value in STATE_LABELS ? STATE_LABELS[value as keyof typeof STATE_LABELS] : undefined;
}

/** The sentence after the actor's name. */
export function describeAction(entry: Pick<Entry, "action" | "detail">): string {
  const detail = (entry.detail ?? {}) as Record<string, unknown>;
  const file = typeof detail.file_name === "string" ? detail.file_name : undefined;
  if (entry.action === "test.evidence_add" && file) {
    const side = typeof detail.side === "string" ? `${detail.side} ` : "";
    return `attached ${side}evidence ${file}`;
  }
  if (entry.action === "test.evidence_delete" && file) return `deleted the evidence ${file}`;
  const base = ACTIONS[entry.action] ?? entry.action.replace(/^test\./, "").replaceAll("_", " ");
  const to = stateWords(detail.to);
  return to && entry.action !== "test.update" && entry.action !== "test.create" ? `${base} (now ${to})` : base;
}

const TEXT_LIMIT = 80;

/** One value in words: none, a name, a date, a list or short text. */
export function valueWords(field: string, value: unknown, names: Names): string {
  if (value === null || value === undefined || value === "" || (Array.isArray(value) && value.length === 0)) return "none";
  if (Array.isArray(value)) return value.map(String).join(", ");
  if (typeof value !== "string") return JSON.stringify(value);
  if (field === "red_assignee_id" || field === "blue_assignee_id") return names.person(value) ?? "a former user";
  if (field === "campaign_id") return names.campaign(value) ?? "a deleted campaign";
  if (field === "executed_at" || field === "detected_at") {
    return new Date(value).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
  }
  if (field === "attack_outcome" || field === "detection_outcome") return value.replaceAll("_", " ");
  const flat = value.replace(/\s+/g, " ").trim();
  return flat.length > TEXT_LIMIT ? `“${flat.slice(0, TEXT_LIMIT)}…”` : `“${flat}”`;
}

export interface ChangeWords {
  field: string;
  label: string;
  before: string;
  after: string;
}

/** Each changed field in words. A creation lists only what it set. */
export function changeWords(entry: Pick<Entry, "action" | "changes">, names: Names): ChangeWords[] {
  return entry.changes
    // technique_domain is always the default on creation: noise.
    .filter((c) => c.field !== "technique_domain" || entry.action !== "test.create")
    .map((c) => ({
      field: c.field,
      label: fieldLabel(c.field),
      before: valueWords(c.field, c.before, names),
      after: valueWords(c.field, c.after, names),
    }));
}
