// The Atomic Red Team import: many Txxxx.yaml files or a whole folder, sent
// one by one with each file's progress, or one archive the server unpacks
// and reports on.
import { useState } from "react";
import { type FileImport, useImportAtomicArchive, useImportAtomicFiles } from "../api/hooks/templates";
import { addReports, describeImport, type ImportTotals, isYamlPick } from "../lib/templates";
import { plural } from "../lib/words";
import { Button, Card, ErrorBox } from "./ui";

function Totals({ totals }: { totals: ImportTotals }) {
  return (
    <div className="mt-2 text-sm">
      <p>{describeImport(totals)}</p>
      {totals.unknown_techniques.length > 0 && (
        <p className="text-muted">Not in the catalog (imported anyway): {totals.unknown_techniques.join(", ")}</p>
      )}
      {totals.problems.length > 0 && (
        <details className="mt-1">
          <summary>{plural(totals.problems.length, "problem")}</summary>
          <ul className="list-disc pl-5">
            {totals.problems.map((p, i) => (
              <li key={i}><code>{p.file}</code>{p.test ? ` · ${p.test}` : ""}: {p.reason}</li>
            ))}
          </ul>
        </details>
      )}
    </div>
  );
}

function fileLine(f: FileImport): string {
  if (f.state === "waiting") return "waiting";
  if (f.state === "sending") return `sending ${Math.round(f.fraction * 100)}%`;
  if (f.state === "failed") return f.error instanceof Error ? f.error.message : "failed";
  const r = f.report;
  return r ? `${plural(r.created, "template")} created, ${r.updated} updated, ${r.unchanged} unchanged` : "done";
}

function FilesProgress({ files, running, onStop }: { files: FileImport[]; running: boolean; onStop: () => void }) {
  const finished = files.filter((f) => f.state === "done" || f.state === "failed").length;
  const failed = files.filter((f) => f.state === "failed").length;
  const reports = files.flatMap((f) => (f.report ? [f.report] : []));
  return (
    <div className="mt-3">
      <div className="flex items-center gap-2 text-sm">
        <progress className="h-2 w-48" max={files.length} value={finished} aria-label="Files imported" />
        <span aria-live="polite">
          {finished} of {plural(files.length, "file")} imported{failed ? `, ${failed} failed` : ""}
        </span>
        {running && <Button onClick={onStop}>Stop</Button>}
      </div>
      <ul className="mt-2 max-h-56 overflow-y-auto text-sm" aria-label="Import progress">
        {files.map((f, i) => (
          <li key={i} data-state={f.state} className="flex flex-wrap gap-2 border-b border-line/60 py-1">
            <code className="break-all">{f.name}</code>
            <span className={f.state === "failed" ? "text-danger" : "text-muted"}>{fileLine(f)}</span>
          </li>
        ))}
      </ul>
      {!running && reports.length > 0 && <Totals totals={addReports(reports)} />}
    </div>
  );
}

export function AtomicImport() {
  const files = useImportAtomicFiles();
  const archive = useImportAtomicArchive();
  const [skipped, setSkipped] = useState(0);
  const busy = files.running || archive.isPending;

  const pickFiles = (list: FileList | null) => {
    const all = [...(list ?? [])].map((file) => ({ file, name: file.webkitRelativePath || file.name }));
    const yaml = all.filter((f) => isYamlPick(f.name));
    setSkipped(all.length - yaml.length);
    archive.reset();
    if (yaml.length) files.start(yaml);
  };
  const pickArchive = (list: FileList | null) => {
    const file = list?.[0];
    if (file) archive.mutate(file);
  };

  return (
    <Card title="Import Atomic Red Team">
      <p className="mb-2 text-sm text-muted">
        Txxxx.yaml files, a folder of them (such as the <code>atomics</code> folder), or an archive of one
        (.zip, .tar.gz). Importing again updates templates, never duplicates them.
      </p>
      <div className="flex flex-wrap gap-3 text-sm">
        <label className="flex flex-col gap-1">
          <span className="font-medium text-muted">YAML files</span>
          <input type="file" multiple accept=".yaml,.yml" disabled={busy} aria-label="Atomic files" onChange={(e) => pickFiles(e.target.files)} />
        </label>
        <label className="flex flex-col gap-1">
          <span className="font-medium text-muted">A folder</span>
          <input
            type="file"
            disabled={busy}
            aria-label="Atomic folder"
            ref={(input) => input?.setAttribute("webkitdirectory", "")}
            onChange={(e) => pickFiles(e.target.files)}
          />
        </label>
        <label className="flex flex-col gap-1">
          <span className="font-medium text-muted">An archive</span>
          <input
            type="file"
            accept=".zip,.tar.gz,.tgz,.tar,application/zip,application/gzip"
            disabled={busy}
            aria-label="Atomic archive"
            onChange={(e) => pickArchive(e.target.files)}
          />
        </label>
      </div>
      {skipped > 0 && <p className="mt-2 text-sm text-muted">{plural(skipped, "file")} that {skipped === 1 ? "is" : "are"} not YAML left out.</p>}
      {files.files.length > 0 && <FilesProgress files={files.files} running={files.running} onStop={files.stop} />}
      {archive.progress !== null && (
        <div className="mt-3 flex items-center gap-2 text-sm" aria-live="polite">
          <progress className="h-2 w-48" max={1} value={archive.progress} aria-label="Archive upload" />
          {archive.progress < 1 ? `Uploading ${Math.round(archive.progress * 100)}%` : "Importing on the server…"}
        </div>
      )}
      <ErrorBox error={archive.error} />
      {archive.data && <Totals totals={addReports([archive.data])} />}
    </Card>
  );
}
