import { Link, useParams, useSearchParams } from "react-router";
import { useTactics, useTechnique, useTechniques, useTechniqueTemplates } from "../api/hooks/catalog";
import { AttackMarkdown, References } from "../components/AttackMarkdown";
import { citeAttackTexts } from "../lib/attackText";
import { useCoverage } from "../api/hooks/coverage";
import { useTests } from "../api/hooks/tests";
import { Badge, Card, Empty, ErrorBox, inputClass, Loading, Page, Pager, StatusBadge } from "../components/ui";

export function TechniquesList() {
  const [params, setParams] = useSearchParams();
  const q = params.get("q") ?? "";
  const tactic = params.get("tactic") ?? "";
  const offset = Number(params.get("offset")) || 0;
  const update = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value); else next.delete(key);
    next.delete("offset");
    setParams(next);
  };
  const tactics = useTactics();
  const list = useTechniques({ q, tactic, offset });
  const coverage = useCoverage();
  const status = new Map(coverage.data?.techniques.map((t) => [t.attack_id, t.status]));
  return (
    <Page title="Techniques">
      <Card className="mb-4">
        <div className="flex flex-wrap gap-2">
          <input aria-label="Search techniques" placeholder="Id or name…" className={inputClass} defaultValue={q} onKeyDown={(e) => e.key === "Enter" && update("q", e.currentTarget.value)} />
          <select aria-label="Tactic" className={inputClass} value={tactic} onChange={(e) => update("tactic", e.target.value)}>
            <option value="">Every tactic</option>
            {tactics.data?.map((t) => <option key={t.attack_id} value={t.short_name}>{t.name}</option>)}
          </select>
        </div>
      </Card>
      <ErrorBox error={list.error} />
      <Card>
        {list.isLoading ? <Loading /> : !list.data?.items.length ? <Empty>No techniques. An admin can sync the catalog from Admin.</Empty> : (
          <>
            <table className="w-full text-sm">
              <thead className="border-b border-line text-left text-muted"><tr><th className="py-2">Id</th><th>Name</th><th>Tactics</th><th>Coverage</th></tr></thead>
              <tbody>
                {list.data.items.map((t) => (
                  <tr key={t.attack_id} className="border-b border-line/60">
                    <td className="py-2 font-mono"><Link className="text-accent underline" to={`/techniques/${t.attack_id}`}>{t.attack_id}</Link></td>
                    <td>{t.name}</td>
                    <td className="text-muted">{t.tactics.join(", ")}</td>
                    <td><StatusBadge status={status.get(t.attack_id) ?? "untested"} /></td>
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

export function TechniqueDetail() {
  const { id = "" } = useParams();
  const technique = useTechnique(id);
  const tests = useTests({ technique: id, limit: 100 });
  const templates = useTechniqueTemplates(id);
  const coverage = useCoverage();
  const mine = coverage.data?.techniques.find((t) => t.attack_id === id);
  if (technique.isLoading) return <Page title={id}><Loading /></Page>;
  if (!technique.data) return <Page title={id}><ErrorBox error={technique.error} /></Page>;
  const t = technique.data;
  const { markdown: [description, detection], cited } = citeAttackTexts([t.description, t.detection], t.references);
  return (
    <Page title={`${t.attack_id} ${t.name}`} actions={<Link className="rounded-md bg-primary px-3 py-1.5 text-sm text-on-primary" to={`/tests/new?technique=${t.attack_id}`}>Plan a test</Link>}>
      <div className="mb-4 flex flex-wrap gap-2 text-sm">
        <StatusBadge status={mine?.status ?? "untested"} />
        {mine?.regression && <Badge tone="warn">regression</Badge>}
        {t.revoked && <Badge tone="warn">revoked{t.replaced_by ? ` → ${t.replaced_by.attack_id}` : ""}</Badge>}
        {t.deprecated && <Badge tone="warn">deprecated</Badge>}
        {t.tactics.map((x) => <Badge key={x.attack_id}>{x.name}</Badge>)}
        {t.platforms.map((x) => <Badge key={x}>{x}</Badge>)}
        {t.url && <a className="text-accent underline" href={t.url} target="_blank" rel="noreferrer noopener">ATT&CK page</a>}
      </div>
      <div className="grid gap-4 lg:grid-cols-3">
        <div className="min-w-0 space-y-4 lg:col-span-2">
          <Card title="Description"><AttackMarkdown>{description}</AttackMarkdown></Card>
          {detection.trim() && <Card title="Detection"><AttackMarkdown>{detection}</AttackMarkdown></Card>}
          {cited.length > 0 && <Card title="References"><References cited={cited} /></Card>}
        </div>
        <div className="min-w-0 space-y-4">
          {t.parent && <Card title="Parent"><Link className="text-accent underline" to={`/techniques/${t.parent.attack_id}`}>{t.parent.attack_id} {t.parent.name}</Link></Card>}
          <Card title="Sub-techniques">
            {t.subtechniques.length ? <ul className="text-sm">{t.subtechniques.map((s) => <li key={s.attack_id}><Link className="text-accent underline" to={`/techniques/${s.attack_id}`}>{s.attack_id}</Link> {s.name}</li>)}</ul> : <Empty>None.</Empty>}
          </Card>
          <Card title="Tests">
            {tests.data?.items.length ? <ul className="text-sm">{tests.data.items.map((x) => <li key={x.id}><Link className="text-accent underline" to={`/tests/${x.id}`}>{x.name}</Link> <span className="text-muted">{x.state}{x.detection_outcome ? ` · ${x.detection_outcome}` : ""}</span></li>)}</ul> : <Empty>No tests yet.</Empty>}
          </Card>
          <Card title="Templates">
            <ErrorBox error={templates.error} />
            {templates.isLoading ? <Loading /> : templates.data?.items.length ? (
              <ul className="space-y-1 text-sm" aria-label="Templates for this technique">
                {templates.data.items.map((x) => (
                  <li key={x.id} className="break-words">
                    <span className="font-mono text-xs text-muted">{x.technique_id}</span> {x.name}{" "}
                    <Link className="text-accent underline" to={`/tests/new?template=${x.id}`} aria-label={`Plan a test from ${x.name}`}>plan a test</Link>
                  </li>
                ))}
                {templates.data.total > templates.data.items.length && <li className="text-muted">{templates.data.total - templates.data.items.length} more in <Link className="text-accent underline" to={`/templates?q=${t.attack_id}`}>Templates</Link></li>}
              </ul>
            ) : <Empty>No templates for this technique.</Empty>}
          </Card>
        </div>
      </div>
    </Page>
  );
}
