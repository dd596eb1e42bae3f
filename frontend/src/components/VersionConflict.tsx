// What an edit shows when someone saved the record since it was opened: who
// changed what, and a choice that never loses the typed text silently.
import { useState } from "react";
import { ApiError } from "../api/client";
import { changedFields } from "../lib/templates";
import { Button } from "./ui";

/** Whether a save failed because the record moved on (412). */
export function isStale(error: unknown): boolean {
  return error instanceof ApiError && error.status === 412;
}

export function VersionConflict({
  what,
  version,
  updatedBy,
  changed,
  onKeepMine,
  onTakeTheirs,
}: {
  what: string;
  version: number;
  updatedBy: string;
  /** Labels of the fields the other save changed. */
  changed: string[];
  onKeepMine: () => void;
  onTakeTheirs: () => void;
}) {
  return (
    <div role="alert" className="rounded-md border border-partial bg-partial/15 px-3 py-2 text-sm">
      <p>
        {updatedBy} saved this {what} while you were editing (now version {version}).{" "}
        {changed.length ? `They changed: ${changed.join(", ")}.` : "Nothing you see here differs."} Your edits are still in the form.
      </p>
      <div className="mt-2 flex flex-wrap gap-2">
        <Button variant="primary" onClick={onKeepMine}>Keep my edits on their version</Button>
        <Button onClick={onTakeTheirs}>Discard my edits</Button>
      </div>
    </div>
  );
}

/** An edit of a versioned record: the version it started from, the form, and
 *  what the user changed (only that is sent, so a field someone else saved
 *  meanwhile is not overwritten with what the form showed before). */
export function useVersionedEdit<R extends { version: number }, F extends object>(record: R, project: (r: R) => F) {
  const [base, setBase] = useState(record);
  const [form, setForm] = useState(() => project(record));
  const [newer, setNewer] = useState<R | null>(null);
  const start = project(base);
  const keys = Object.keys(start) as (keyof F)[];
  /** The fields the user changed from the version they started from. */
  const edits = (): Partial<F> => {
    const changed = changedFields(start, form, keys);
    return Object.fromEntries(changed.map((k) => [k, form[k]])) as Partial<F>;
  };
  /** Moves the edit onto `next`, keeping the user's changes or not. */
  const rebase = (next: R, keepMine: boolean) => {
    const mine = edits();
    setBase(next);
    setForm({ ...project(next), ...(keepMine ? mine : {}) });
    setNewer(null);
    return mine;
  };
  /** The fields `newer` changed from the version the user started from. */
  const theirChanges = newer ? changedFields(start, project(newer), keys) : [];
  return { base, form, setForm, edits, rebase, newer, setNewer, theirChanges };
}
