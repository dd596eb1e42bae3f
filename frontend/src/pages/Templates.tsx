import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams, useSearchParams } from "react-router";
import { hasRole, useUser } from "../api/auth";
import { useCreateTemplate, useDeleteTemplate, useTemplate, useTemplates } from "../api/hooks/templates";
import { AtomicImport } from "../components/AtomicImport";
import { BulkFromTemplates } from "../components/BulkFromTemplates";
import { ConfirmAction } from "../components/ConfirmAction";
import { TemplateEditor } from "../components/TemplateEditor";
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
  const planner = hasRole(user, "admin", "lead", "red_tech");
  // Template id → name, kept across pages and searches.
  const [selected, setSelected] = useState<Map<string, string>>(new Map());
  const toggle = (id: string, name: string) =>
    setSelected((current) => {
      const next = new Map(current);
      if (next.has(id)) next.delete(id);
      else next.set(id, name);
      return next;
    });
  const items = list.data?.items ?? [];
  const allOnPage = items.length > 0 && items.every((t) => selected.has(t.id));
  const togglePage = () =>
    setSelected((current) => {
      const next = new Map(current);
      for (const t of items) {
        if (allOnPage) next.delete(t.id);
        else next.set(t.id, t.name);
      }
      return next;
    });
  return (
    <Page title="Templates">
      <div className="mb-4 grid gap-4 lg:grid-cols-2">
        <Card>
          <input aria-label="Search templates" placeholder="Search name, description, command…" className={`${inputClass} w-full`} defaultValue={q} onKeyDown={(e) => e.key === "Enter" && setParams(new URLSearchParams(e.currentTarget.value ? { q: e.currentTarget.value } : {}))} />
        </Card>
        {hasRole(user, "admin", "lead") && <AtomicImport />}
      </div>
      {planner && <div className="mb-4"><NewTemplate /></div>}
      {planner && selected.size > 0 && (
        <div className="mb-4">
          <Card title="Create tests from the selected templates">
            <BulkFromTemplates selected={selected} />
            <Button className="mt-2" onClick={() => setSelected(new Map())}>Clear the selection</Button>
          </Card>
        </div>
      )}
      <ErrorBox error={list.error} />
      <Card>
        {list.isLoading ? <Loading /> : !items.length ? <Empty>No templates yet. Import atomics or write one.</Empty> : (
          <>
            <div className="overflow-x-auto">
              <table className="w-full text-sm">
                <thead className="border-b border-line text-left text-muted">
                  <tr>
                    {planner && <th className="w-8 py-2"><input type="checkbox" aria-label="Select every template on this page" checked={allOnPage} onChange={togglePage} /></th>}
                    <th className="py-2">Name</th><th>Technique</th><th>Platforms</th><th>Source</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((t) => (
                    <tr key={t.id} className="border-b border-line/60">
                      {planner && <td className="py-2"><input type="checkbox" aria-label={`Select ${t.name}`} checked={selected.has(t.id)} onChange={() => toggle(t.id, t.name)} /></td>}
                      <td className="py-2"><Link className="text-accent underline" to={`/templates/${t.id}`}>{t.name}</Link></td>
                      <td className="font-mono">{t.technique_id}</td>
                      <td className="text-muted">{t.platforms.join(", ")}</td>
                      <td><Badge>{t.source}</Badge></td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager total={list.data?.total ?? 0} limit={50} offset={offset} onPage={(o) => { const next = new URLSearchParams(params); next.set("offset", String(o)); setParams(next); }} />
          </>
        )}
      </Card>
    </Page>
  );
}

export function TemplateDetail() {
  const { id = "" } = useParams();
  const user = useUser();
  const navigate = useNavigate();
  const template = useTemplate(id);
  const remove = useDeleteTemplate(id);
  const [editing, setEditing] = useState(false);
  if (template.isLoading) return <Page title="Template"><Loading /></Page>;
  if (!template.data) return <Page title="Template"><ErrorBox error={template.error} /></Page>;
  const t = template.data;
  const planner = hasRole(user, "admin", "lead", "red_tech");
  return (
    <Page
      title={t.name}
      actions={
        <>
          {planner && <Link className="rounded-md bg-primary px-3 py-1.5 text-sm text-on-primary" to={`/tests/new?template=${t.id}`}>Create test</Link>}
          {planner && !editing && <Button onClick={() => setEditing(true)}>Edit</Button>}
          {hasRole(user, "admin", "lead") && (
            <ConfirmAction
              label="Delete template"
              question={<>Delete the template <strong>{t.name}</strong>? Tests already made from it stay as they are.{t.source !== "manual" && " Importing its source again brings it back."}</>}
              confirmLabel="Delete it"
              pending={remove.isPending}
              error={remove.error}
              onConfirm={() => remove.mutate(undefined, { onSuccess: () => navigate("/templates") })}
            />
          )}
        </>
      }
    >
      {editing ? (
        <Card title={`Edit (version ${t.version})`}>
          {t.source !== "manual" && <p className="mb-2 text-sm text-muted">Imported from {t.source}: importing a changed file again replaces these edits.</p>}
          <TemplateEditor template={t} onDone={() => setEditing(false)} />
        </Card>
      ) : (
        <>
          <div className="mb-4 flex flex-wrap gap-2 text-sm">
            <Link className="text-accent underline" to={`/techniques/${t.technique_id}`}>{t.technique_id}</Link>
            {t.platforms.map((p) => <Badge key={p}>{p}</Badge>)}
            {t.executor && <Badge>{t.executor}</Badge>}
            {t.elevation_required && <Badge tone="warn">elevation required</Badge>}
            <Badge>{t.source}</Badge>
            <span className="text-muted">version {t.version} · {t.updated_by}</span>
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
        </>
      )}
    </Page>
  );
}
