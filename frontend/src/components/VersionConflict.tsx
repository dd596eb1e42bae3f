// What an edit shows when someone saved the record since it was opened: who
// changed what, and a choice that never loses the typed text silently.
import { useState } from "react";
import { ApiError } from "../api/client";
import { changedFields } from "../lib/templates";
import { Button, ErrorBox } from "./ui";

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

type Handlers = { onSuccess: () => void; onError: (error: unknown) => void };

/** An edit of a versioned record: the version it started from, the form, and
 *  what the user changed (only that is sent, so a field someone else saved
 *  meanwhile is not overwritten with what the form showed before). `save`
 *  sends the changed fields on a version; after a 412 `refetch` gives the
 *  newer record, to show what changed and reapply the user's edits on it. */
export function useVersionedEdit<R extends { version: number; updated_by: string }, F extends object>(
  record: R,
  project: (r: R) => F,
  { save, refetch, onDone }: {
    save: (version: number, edits: Partial<F>, handlers: Handlers) => void;
    refetch: () => Promise<R | undefined>;
    onDone: () => void;
  },
) {
  const [base, setBase] = useState(record);
  const [form, setForm] = useState(() => project(record));
  const [newer, setNewer] = useState<R | null>(null);
  const start = project(base);
  const keys = Object.keys(start) as (keyof F)[];
  const edits = (): Partial<F> => {
    const changed = changedFields(start, form, keys);
    return Object.fromEntries(changed.map((k) => [k, form[k]])) as Partial<F>;
  };
  const send = (version: number, changes: Partial<F>) => {
    if (Object.keys(changes).length === 0) return onDone();
    save(version, changes, {
      onSuccess: onDone,
      onError: async (error) => {
        if (!isStale(error)) return;
        const fresh = await refetch();
        if (fresh) setNewer(fresh);
      },
    });
  };
  /** Moves the edit onto `next`, keeping the user's changes or not. */
  const rebase = (next: R, keepMine: boolean) => {
    const mine = edits();
    setBase(next);
    setForm({ ...project(next), ...(keepMine ? mine : {}) });
    setNewer(null);
    return mine;
  };
  return {
    base,
    form,
    setForm,
    submit: () => send(base.version, edits()),
    /** The conflict to show after a 412, with the two ways out. */
    conflict: newer && {
      newer,
      theirChanges: changedFields(start, project(newer), keys),
      keepMine: () => send(newer.version, rebase(newer, true)),
      takeTheirs: () => rebase(newer, false),
    },
  };
}

/** A save's failure: the conflict after a 412, any other problem as itself. */
export function SaveProblem<F>({
  what,
  error,
  conflict,
  labels,
  onTakeTheirs,
}: {
  what: string;
  error: unknown;
  conflict: ReturnType<typeof useVersionedEdit<{ version: number; updated_by: string }, F & object>>["conflict"];
  labels: Record<keyof F, string>;
  onTakeTheirs: () => void;
}) {
  if (!(isStale(error) && conflict)) return <ErrorBox error={error} />;
  return (
    <VersionConflict
      what={what}
      version={conflict.newer.version}
      updatedBy={conflict.newer.updated_by}
      changed={conflict.theirChanges.map((k) => labels[k as keyof F])}
      onKeepMine={conflict.keepMine}
      onTakeTheirs={() => {
        conflict.takeTheirs();
        onTakeTheirs();
      }}
    />
  );
}
