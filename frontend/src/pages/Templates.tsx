import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { hasRole, useUser } from "../api/auth";
import type { Schemas } from "../api/client";
import { useCreateTemplate, useImportAtomic, useTemplate, useTemplates } from "../api/hooks/templates";
import { placeholders } from "../lib/templates";
import { Badge, Button, Card, Empty, ErrorBox, Field, inputClass, Loading, Page, Pager } from "../components/ui";

/** A template written by hand: its `#{name}` placeholders become arguments. */
function NewTemplate() {
  const navigate = useNavigate();
  const [form, setForm] = useState({ name: "", technique_id: "", platforms: "", executor: "", command: "", description: "" });
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [key]: e.target.value }));
  const create = useCreateTemplate();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const names = placeholders(form.command);
    create.mutate(
      {
        name: form.name,
        technique_id: form.technique_id,
        description: form.description,
        platforms: form.platforms.split(",").map((p) => p.trim()).filter(Boolean),
        executor: form.executor || undefined,
        command: form.command,
        input_arguments: Object.fromEntries(names.map((n) => [n, { description: "", type: "string", default: "" }])),
      },
      { onSuccess: (t) => navigate(`/templates/${t.id}`) },
    );
  };
  return (
    <Card title="Write a template">
      <form onSubmit={submit} className="grid gap-2 md:grid-cols-2" aria-label="New template">
        <Field label="Name"><input className={inputClass} value={form.name} onChange={set("name")} required /></Field>
        <Field label="ATT&CK technique"><input className={inputClass} value={form.technique_id} onChange={set("technique_id")} required placeholder="T1059.001" /></Field>
        <Field label="Platforms" hint="Comma separated"><input className={inputClass} value={form.platforms} onChange={set("platforms")} /></Field>
        <Field label="Executor"><input className={inputClass} value={form.executor} onChange={set("executor")} placeholder="powershell, sh, manual…" /></Field>
        <div className="md:col-span-2"><Field label="Command" hint="#{name} marks an input argument"><textarea rows={3} className={`${inputClass} font-mono`} value={form.command} onChange={set("command")} /></Field></div>
        <div className="md:col-span-2"><Field label="Description"><textarea rows={2} className={inputClass} value={form.description} onChange={set("description")} /></Field></div>
        <div className="md:col-span-2"><ErrorBox error={create.error} /><Button type="submit" variant="primary" disabled={create.isPending}>Create template</Button></div>
      </form>
    </Card>
  );
}

export function TemplatesList() {
  const user = useUser();
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const offset = Number(params.get("offset")) || 0;
  const list = useTemplates(q, offset);
  const [report, setReport] = useState<Schemas["ImportReportView"] | null>(null);
  const importer = useImportAtomic();
  function importAtomic(files: FileList | null) {
    const file = files?.[0];
    if (file) importer.mutate(file, { onSuccess: setReport });
  }
  return (
    <Page title="Templates">
      <div className="mb-4 grid gap-4 lg:grid-cols-2">
        <Card>
          <input aria-label="Search templates" placeholder="Search name, description, command…" className={`${inputClass} w-full`} defaultValue={q} onKeyDown={(e) => e.key === "Enter" && setParams(new URLSearchParams(e.currentTarget.value ? { q: e.currentTarget.value } : {}))} />
        </Card>
        {hasRole(user, "admin", "lead") && (
          <Card title="Import Atomic Red Team (one Txxxx.yaml)">
            <input type="file" accept=".yaml,.yml" aria-label="Atomic file" onChange={(e) => importAtomic(e.target.files)} />
            <ErrorBox error={importer.error} />
            {report && (
              <p className="mt-2 text-sm">
                {report.created} created, {report.updated} updated, {report.unchanged} unchanged
                {report.unknown_techniques.length > 0 && ` · not in the catalog: ${report.unknown_techniques.join(", ")}`}
              </p>
            )}
          </Card>
        )}
      </div>
      {hasRole(user, "admin", "lead", "red_tech") && <div className="mb-4"><NewTemplate /></div>}
      <ErrorBox error={list.error} />
      <Card>
        {list.isLoading ? <Loading /> : !list.data?.items.length ? <Empty>No templates yet. Import atomics or write one.</Empty> : (
          <>
            <table className="w-full text-sm">
              <thead className="border-b border-line text-left text-muted"><tr><th className="py-2">Name</th><th>Technique</th><th>Platforms</th><th>Source</th></tr></thead>
              <tbody>
                {list.data.items.map((t) => (
                  <tr key={t.id} className="border-b border-line/60">
                    <td className="py-2"><Link className="text-accent underline" to={`/templates/${t.id}`}>{t.name}</Link></td>
                    <td className="font-mono">{t.technique_id}</td>
                    <td className="text-muted">{t.platforms.join(", ")}</td>
                    <td><Badge>{t.source}</Badge></td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Pager total={list.data.total} limit={50} offset={offset} onPage={(o) => { const next = new URLSearchParams(params); next.set("offset", String(o)); setParams(next); }} />
          </>
        )}
      </Card>
    </Page>
  );
}

export function TemplateDetail() {
  const { id = "" } = useParams();
  const user = useUser();
  const template = useTemplate(id);
  if (template.isLoading) return <Page title="Template"><Loading /></Page>;
  if (!template.data) return <Page title="Template"><ErrorBox error={template.error} /></Page>;
  const t = template.data;
  return (
    <Page title={t.name} actions={hasRole(user, "admin", "lead", "red_tech") && <Link className="rounded-md bg-primary px-3 py-1.5 text-sm text-on-primary" to={`/tests/new?template=${t.id}`}>Create test</Link>}>
      <div className="mb-4 flex flex-wrap gap-2 text-sm">
        <Link className="text-accent underline" to={`/techniques/${t.technique_id}`}>{t.technique_id}</Link>
        {t.platforms.map((p) => <Badge key={p}>{p}</Badge>)}
        {t.executor && <Badge>{t.executor}</Badge>}
        {t.elevation_required && <Badge tone="warn">elevation required</Badge>}
        <Badge>{t.source}</Badge>
      </div>
      <div className="grid gap-4 lg:grid-cols-2">
        <Card title="Description"><p className="whitespace-pre-wrap text-sm">{t.description || "—"}</p></Card>
        <Card title="Input arguments">
          {Object.keys(t.input_arguments).length === 0 ? <Empty>None.</Empty> : (
            <dl className="text-sm">{Object.entries(t.input_arguments).map(([name, a]) => <div key={name} className="mb-1"><dt className="font-mono">{name} <span className="text-muted">({a.type})</span></dt><dd className="text-muted">{a.description} · default <code>{a.default}</code></dd></div>)}</dl>
          )}
        </Card>
        <Card title="Command" className="lg:col-span-2"><pre className="overflow-x-auto whitespace-pre-wrap font-mono text-sm">{t.command}</pre></Card>
        {t.cleanup_command && <Card title="Cleanup" className="lg:col-span-2"><pre className="overflow-x-auto whitespace-pre-wrap font-mono text-sm">{t.cleanup_command}</pre></Card>}
      </div>
    </Page>
  );
}
