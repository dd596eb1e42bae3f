import { Link, useSearchParams } from "react-router";
import { hasRole, useUser } from "../api/auth";
import { OUTCOME_FILTERS, TEST_STATES } from "../api/enums";
import { useCampaigns } from "../api/hooks/campaigns";
import { useTests } from "../api/hooks/tests";
import { Badge, Button, Card, Empty, ErrorBox, formatTime, inputClass, Loading, Page, Pager } from "../components/ui";
import { parseQuery, toApiQuery, toggleSort, toParams, withFilter, type FilterKey, type ListQuery, type SortColumn } from "../lib/filters";
import { STATE_LABELS } from "../lib/workflow";


export function TestsList() {
  const user = useUser();
  const [params, setParams] = useSearchParams();
  const query = parseQuery(params);
  const go = (next: ListQuery) => setParams(toParams(next));
  const set = (key: FilterKey) => (value: string) => go(withFilter(query, key, value));
  const tests = useTests(toApiQuery(query));
  const campaigns = useCampaigns();
  const day = (value?: string) => (value ? value.slice(0, 10) : "");
  const setDay = (key: FilterKey) => (value: string) => set(key)(value ? new Date(`${value}T00:00:00`).toISOString() : "");
  const sortHeader = (column: SortColumn, label: string) => (
    <th className="px-2 py-2 text-left">
      <button onClick={() => go(toggleSort(query, column))} className="font-semibold hover:text-accent">
        {label}
        {query.sort === column ? " ▲" : query.sort === `-${column}` ? " ▼" : ""}
      </button>
    </th>
  );

  return (
    <Page
      title="Tests"
      actions={hasRole(user, "admin", "lead", "red_tech") && <Link to="/tests/new" className="rounded-md bg-primary px-3 py-1.5 text-sm font-medium text-on-primary">New test</Link>}
    >
      <Card className="mb-4">
        <div className="grid grid-cols-2 gap-2 md:grid-cols-4 xl:grid-cols-8">
          <input aria-label="Search" placeholder="Search name, procedure, host…" className={`${inputClass} col-span-2`} defaultValue={query.filters.q} onKeyDown={(e) => e.key === "Enter" && set("q")(e.currentTarget.value)} />
          <select aria-label="State" className={inputClass} value={query.filters.state ?? ""} onChange={(e) => set("state")(e.target.value)}>
            <option value="">Any state</option>
            {TEST_STATES.map((s) => (
              <option key={s} value={s}>{STATE_LABELS[s]}</option>
            ))}
          </select>
          <select aria-label="Outcome" className={inputClass} value={query.filters.outcome ?? ""} onChange={(e) => set("outcome")(e.target.value)}>
            <option value="">Any outcome</option>
            {OUTCOME_FILTERS.map((o) => (
              <option key={o}>{o}</option>
            ))}
          </select>
          <input aria-label="Technique" placeholder="Technique, e.g. T1059" className={inputClass} defaultValue={query.filters.technique} onBlur={(e) => set("technique")(e.target.value)} />
          <input aria-label="Tactic" placeholder="Tactic, e.g. execution" className={inputClass} defaultValue={query.filters.tactic} onBlur={(e) => set("tactic")(e.target.value)} />
          <input aria-label="Platform" placeholder="Platform" className={inputClass} defaultValue={query.filters.platform} onBlur={(e) => set("platform")(e.target.value)} />
          <input aria-label="Tag" placeholder="Tag" className={inputClass} defaultValue={query.filters.tag} onBlur={(e) => set("tag")(e.target.value)} />
          <select aria-label="Campaign" className={`${inputClass} col-span-2`} value={query.filters.campaign_id ?? ""} onChange={(e) => set("campaign_id")(e.target.value)}>
            <option value="">Any campaign</option>
            {campaigns.data?.items.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
          </select>
          <label className="flex items-center gap-1 text-xs text-muted">From <input type="date" aria-label="Created from" className={inputClass} value={day(query.filters.created_after)} onChange={(e) => setDay("created_after")(e.target.value)} /></label>
          <label className="flex items-center gap-1 text-xs text-muted">Until <input type="date" aria-label="Created before" className={inputClass} value={day(query.filters.created_before)} onChange={(e) => setDay("created_before")(e.target.value)} /></label>
        </div>
        <div className="mt-2 flex gap-2 text-sm">
          <Button onClick={() => go(withFilter(query, "assignee", query.filters.assignee === "me" ? "" : "me"))}>
            {query.filters.assignee === "me" ? "Everyone's tests" : "Assigned to me"}
          </Button>
          {Object.keys(query.filters).length > 0 && <Button onClick={() => setParams(new URLSearchParams())}>Clear filters</Button>}
        </div>
      </Card>
      <ErrorBox error={tests.error} />
      <Card>
        {tests.isLoading ? (
          <Loading what="Loading tests" />
        ) : !tests.data || tests.data.items.length === 0 ? (
          <Empty>No tests match. {hasRole(user, "admin", "lead", "red_tech") && <Link className="text-accent underline" to="/tests/new">Plan one.</Link>}</Empty>
        ) : (
          <>
            <div className="overflow-x-auto">
              <table className="w-full text-sm">
                <thead className="border-b border-line text-muted">
                  <tr>
                    {sortHeader("name", "Name")}
                    {sortHeader("technique_id", "Technique")}
                    {sortHeader("state", "State")}
                    <th className="px-2 py-2 text-left">Outcome</th>
                    {sortHeader("executed_at", "Executed")}
                    {sortHeader("updated_at", "Updated")}
                  </tr>
                </thead>
                <tbody>
                  {tests.data.items.map((t) => (
                    <tr key={t.id} className="border-b border-line/60 hover:bg-surface">
                      <td className="px-2 py-2">
                        <Link className="font-medium text-accent hover:underline" to={`/tests/${t.id}`}>{t.name}</Link>
                        <div className="flex gap-1">{t.tags.map((tag) => <Badge key={tag}>{tag}</Badge>)}</div>
                      </td>
                      <td className="px-2 py-2">
                        <span className="font-mono">{t.technique.attack_id}</span> {t.technique.name}
                        {t.technique.warning && <div><Badge tone="warn">{t.technique.warning}</Badge></div>}
                      </td>
                      <td className="px-2 py-2">{STATE_LABELS[t.state]}</td>
                      <td className="px-2 py-2">
                        {t.attack_outcome && <Badge tone="red">{t.attack_outcome}</Badge>} {t.detection_outcome && <Badge tone="blue">{t.detection_outcome}</Badge>}
                      </td>
                      <td className="px-2 py-2 text-muted">{formatTime(t.executed_at)}</td>
                      <td className="px-2 py-2 text-muted">{formatTime(t.updated_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager total={tests.data.total} limit={query.limit} offset={query.offset} onPage={(offset) => go({ ...query, offset })} />
          </>
        )}
      </Card>
    </Page>
  );
}
