// Template helpers: placeholders, argument sets, import picks and reports,
// and what changed under an edit.
import { plural } from "./words";
import type { Schemas } from "../api/client";

/** The `#{name}` input arguments a command uses, each once, in order. */
export function placeholders(command: string): string[] {
  return [...new Set([...command.matchAll(/#\{([A-Za-z0-9_-]+)\}/g)].map((m) => m[1]))];
}

type Argument = Schemas["InputArgumentInput"];

/** The arguments `command` uses: those already described keep their
 *  description, type and default; new ones start empty. Arguments the
 *  command no longer names are kept too when `keepUnused`. */
export function argumentsFor(
  command: string,
  current: Record<string, Argument>,
  keepUnused = false,
): Record<string, Argument> {
  const names = placeholders(command);
  const next: Record<string, Argument> = {};
  for (const name of keepUnused ? [...Object.keys(current), ...names] : names) {
    next[name] = current[name] ?? { description: "", type: "string", default: "" };
  }
  return next;
}

/** Whether a picked file is one to send to the single-file import: YAML that
 *  is not hidden (a folder pick brings `.git` and macOS `._` files too). */
export function isYamlPick(path: string): boolean {
  const name = path.split("/").pop() ?? path;
  return !name.startsWith(".") && /\.ya?ml$/i.test(name);
}

export type ImportTotals = Pick<Schemas["ImportReportView"], "files" | "created" | "updated" | "unchanged"> & {
  unknown_techniques: string[];
  problems: Schemas["ImportProblemView"][];
};

/** The reports of many imports added up, unknown techniques each once. */
export function addReports(reports: Schemas["ImportReportView"][]): ImportTotals {
  const totals: ImportTotals = { files: 0, created: 0, updated: 0, unchanged: 0, unknown_techniques: [], problems: [] };
  for (const r of reports) {
    totals.files += r.files;
    totals.created += r.created;
    totals.updated += r.updated;
    totals.unchanged += r.unchanged;
    for (const t of r.unknown_techniques) if (!totals.unknown_techniques.includes(t)) totals.unknown_techniques.push(t);
    totals.problems.push(...r.problems);
  }
  return totals;
}

/** A report in one line: "3 files: 12 templates created, 0 updated, 2 unchanged". */
export function describeImport(r: ImportTotals): string {
  return `${plural(r.files, "file")}: ${plural(r.created, "template")} created, ${r.updated} updated, ${r.unchanged} unchanged`;
}

/** The fields of `keys` whose values differ between two versions of a record
 *  (compared as JSON, so lists and maps compare by content). */
export function changedFields<T extends object>(before: T, after: T, keys: readonly (keyof T)[]): (keyof T)[] {
  return keys.filter((k) => JSON.stringify(before[k] ?? null) !== JSON.stringify(after[k] ?? null));
}
