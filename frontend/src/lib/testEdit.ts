// Editing a test as one form: every field the API lets people change, kept
// as the strings the inputs hold. The page compares the form with the version
// it started from to know what the user changed, sends only that, and on a
// stale version (412) puts those changes on top of the newer version.
import type { Schemas } from "../api/client";
import { ATTACK_OUTCOMES, DETECTION_OUTCOMES, parseEnum } from "../api/enums";
import type { FieldGroup } from "./workflow";

type Test = Schemas["TestView"];
export type TestChanges = Schemas["TestPatchInput"];

export const FIELDS = {
  name: { label: "Name", group: "plan" },
  technique_id: { label: "ATT&CK technique", group: "plan" },
  procedure: { label: "Procedure", group: "plan" },
  platform: { label: "Platform", group: "plan" },
  target_host: { label: "Target host", group: "plan" },
  tags: { label: "Tags", group: "plan" },
  campaign_id: { label: "Campaign", group: "plan" },
  red_assignee_id: { label: "Red assignee", group: "plan" },
  blue_assignee_id: { label: "Blue assignee", group: "plan" },
  executed_at: { label: "Executed at", group: "red" },
  attack_outcome: { label: "Attack outcome", group: "red" },
  red_notes: { label: "Red notes", group: "red" },
  detection_outcome: { label: "Detection outcome", group: "blue" },
  detected_at: { label: "Detected at", group: "blue" },
  detection_source: { label: "Detection source", group: "blue" },
  blue_notes: { label: "Blue notes", group: "blue" },
} as const satisfies Record<string, { label: string; group: FieldGroup }>;

export type EditField = keyof typeof FIELDS;
export type TestForm = Record<EditField, string>;

/** A field's label, for any field name the API or history uses. */
export function fieldLabel(field: string): string {
  return field in FIELDS ? FIELDS[field as EditField].label : field.replaceAll("_", " ");
}

/** `2026-11-01T10:00` for a datetime-local input, in local time. */
export function toLocalInput(value?: string | null): string {
  if (!value) return "";
  const d = new Date(value);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function fromLocalInput(value: string): string | null {
  return value ? new Date(value).toISOString() : null;
}

export function formOf(test: Test): TestForm {
  return {
    name: test.name,
    technique_id: test.technique.attack_id,
    procedure: test.procedure,
    platform: test.platform ?? "",
    target_host: test.target_host ?? "",
    tags: test.tags.join(", "),
    campaign_id: test.campaign_id ?? "",
    red_assignee_id: test.red_assignee_id ?? "",
    blue_assignee_id: test.blue_assignee_id ?? "",
    executed_at: toLocalInput(test.executed_at),
    attack_outcome: test.attack_outcome ?? "",
    red_notes: test.red_notes,
    detection_outcome: test.detection_outcome ?? "",
    detected_at: toLocalInput(test.detected_at),
    detection_source: test.detection_source ?? "",
    blue_notes: test.blue_notes,
  };
}

export function splitTags(text: string): string[] {
  return text.split(",").map((t) => t.trim()).filter(Boolean);
}

/** Same meaning: tags compare as sets, the rest as trimmed text. */
function same(field: EditField, a: string, b: string): boolean {
  if (field === "tags") {
    const norm = (s: string) => [...new Set(splitTags(s).map((t) => t.toLowerCase()))].sort().join(",");
    return norm(a) === norm(b);
  }
  return a.trim() === b.trim();
}

/** The fields of `form` that differ from `base`, optionally only in `groups`. */
export function editedFields(base: TestForm, form: TestForm, groups?: FieldGroup[]): EditField[] {
  return (Object.keys(FIELDS) as EditField[]).filter(
    (f) => (!groups || groups.includes(FIELDS[f].group)) && !same(f, base[f], form[f]),
  );
}

/** The API change for `fields` of `form`: empty text clears a field (`null`). */
export function toChanges(form: TestForm, fields: EditField[]): TestChanges {
  const changes: TestChanges = {};
  const orNull = (v: string) => (v.trim() ? v.trim() : null);
  for (const f of fields) {
    const v = form[f];
    switch (f) {
      case "name": changes.name = v.trim(); break;
      case "technique_id": changes.technique_id = v.trim(); break;
      case "procedure": changes.procedure = v; break;
      case "red_notes": changes.red_notes = v; break;
      case "blue_notes": changes.blue_notes = v; break;
      case "tags": changes.tags = splitTags(v); break;
      case "platform": changes.platform = orNull(v); break;
      case "target_host": changes.target_host = orNull(v); break;
      case "detection_source": changes.detection_source = orNull(v); break;
      case "campaign_id": changes.campaign_id = orNull(v); break;
      case "red_assignee_id": changes.red_assignee_id = orNull(v); break;
      case "blue_assignee_id": changes.blue_assignee_id = orNull(v); break;
      case "executed_at": changes.executed_at = fromLocalInput(v); break;
      case "detected_at": changes.detected_at = fromLocalInput(v); break;
      case "attack_outcome": changes.attack_outcome = parseEnum(ATTACK_OUTCOMES, v) ?? null; break;
      case "detection_outcome": changes.detection_outcome = parseEnum(DETECTION_OUTCOMES, v) ?? null; break;
    }
  }
  return changes;
}

/** One row of the "what changed" table after a stale save. */
export interface ConflictRow {
  field: EditField;
  label: string;
  /** When the user started editing. */
  before: string;
  theirs: string;
  /** Absent when the user did not touch the field. */
  yours?: string;
  /** Both changed it, to different values: reapplying keeps yours. */
  clash: boolean;
}

/** Field by field: what the other change did and what the user did, from
 *  the version the user started from (`base`) to the current one (`theirs`). */
export function conflictRows(base: TestForm, theirs: TestForm, mine: TestForm): ConflictRow[] {
  const edited = new Set(editedFields(base, mine));
  const changed = new Set(editedFields(base, theirs));
  return (Object.keys(FIELDS) as EditField[])
    .filter((f) => edited.has(f) || changed.has(f))
    .map((f) => ({
      field: f,
      label: FIELDS[f].label,
      before: base[f],
      theirs: theirs[f],
      yours: edited.has(f) ? mine[f] : undefined,
      clash: edited.has(f) && changed.has(f) && !same(f, theirs[f], mine[f]),
    }));
}

/** The user's edits put on top of the current version: the new form, and
 *  the fields still to send (those whose value differs from the current). */
export function rebase(base: TestForm, theirs: TestForm, mine: TestForm): { form: TestForm; fields: EditField[] } {
  const form = { ...theirs };
  for (const f of editedFields(base, mine)) form[f] = mine[f];
  return { form, fields: editedFields(theirs, form) };
}
