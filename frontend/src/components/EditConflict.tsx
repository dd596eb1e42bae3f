// After a save answered "changed since the version you sent" (412): what the
// other change did and what the user typed, field by field, and the choice to
// put the user's changes on top of the new version or to drop them.
import type { ConflictRow } from "../lib/testEdit";
import { Button } from "./ui";

export function EditConflict({
  rows,
  describe,
  by,
  busy,
  onReapply,
  onDiscard,
}: {
  rows: ConflictRow[];
  /** A field's value in words (names for ids, "none" for empty). */
  describe: (row: ConflictRow, value: string) => string;
  /** Who saved the newer version. */
  by: string;
  busy: boolean;
  onReapply: () => void;
  onDiscard: () => void;
}) {
  return (
    <section role="alert" aria-label="Edit conflict" className="mb-4 rounded-lg border border-partial bg-partial/10 p-4 text-sm">
      <h2 className="font-semibold">{by} saved this test while you were editing it.</h2>
      <p className="mb-2 text-muted">Your changes are kept below. Reapply them to the new version, or discard them.</p>
      <div className="overflow-x-auto">
        <table className="w-full text-left">
          <thead className="text-muted">
            <tr>
              <th className="px-2 py-1">Field</th>
              <th className="px-2 py-1">When you started</th>
              <th className="px-2 py-1">Theirs (now)</th>
              <th className="px-2 py-1">Yours</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.field} data-field={row.field} className="border-t border-line/60 align-top">
                <th scope="row" className="px-2 py-1 font-medium">{row.label}{row.clash && <span className="ml-1 text-xs">(both changed)</span>}</th>
                <td className="px-2 py-1">{describe(row, row.before)}</td>
                <td className="px-2 py-1">{describe(row, row.theirs)}</td>
                <td className="px-2 py-1">{row.yours === undefined ? <span className="text-muted">unchanged</span> : describe(row, row.yours)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <div className="mt-3 flex flex-wrap gap-2">
        <Button variant="primary" disabled={busy} onClick={onReapply}>Reload and reapply my changes</Button>
        <Button disabled={busy} onClick={onDiscard}>Discard my changes</Button>
      </div>
    </section>
  );
}
