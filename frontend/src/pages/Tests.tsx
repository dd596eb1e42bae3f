import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import { hasRole, useUser } from "../api/auth";
import { OUTCOME_FILTERS, TEST_STATES } from "../api/enums";
import { useCampaigns } from "../api/hooks/campaigns";
import { useTactics } from "../api/hooks/catalog";
import { usePeople, useTests } from "../api/hooks/tests";
import { BulkActions } from "../components/BulkActions";
import { personName } from "../components/PersonSelect";
import { TypingInput } from "../components/TypingInput";
import { Badge, Button, Card, Empty, ErrorBox, formatTime, inputClass, Loading, Page, Pager } from "../components/ui";
import { isTechniqueId, parseQuery, toApiQuery, toggleSort, toParams, withFilter, type FilterKey, type ListQuery, type SortColumn } from "../lib/filters";
import { STATE_LABELS } from "../lib/workflow";

/** What "my queue" holds, in the words of the caller's role. */
const QUEUE_HINTS: Record<string, string> = {
  red_tech: "Your tests still on the red side: drafts and executions.",
  blue_tech: "Tests in blue evaluation given to you or to nobody yet.",
  lead: "Every test not completed or cancelled.",
  admin: "Every test not completed or cancelled.",
  viewer: "Nothing waits for a viewer.",
};

export function TestsList() {
  const user = useUser();
  const [params, setParams] = useSearchParams();
  const query = parseQuery(params);
  const go = (next: ListQuery) => setParams(toParams(next));
  const set = (key: FilterKey) => (value: string) => go(withFilter(query, key, value));
  const tests = useTests(toApiQuery(query));
  const campaigns = useCampaigns();
  const tactics = useTactics();
  const people = usePeople();
  // Bulk actions are plan changes and red steps: for the red side and leads.
  const canBulk = hasRole(user, "admin", "lead", "red_tech");
  const [selected, setSelected] = useState<Map<string, string>>(new Map());
  const toggle = (id: string, name: string) =>
    setSelected((s) => {
      const next = new Map(s);
      if (next.has(id)) next.delete(id);
      else next.set(id, name);
      return next;
    });
  const pageItems = tests.data?.items ?? [];
  const allOnPage = pageItems.length > 0 && pageItems.every((t) => selected.has(t.id));
  const togglePage = () =>
    setSelected((s) => {
      const next = new Map(s);
      for (const t of pageItems) {
        if (allOnPage) next.delete(t.id);
        else next.set(t.id, t.name);
      }
      return next;
    });
  const person = (id?: string) => {
    if (!id) return "—";
    const p = people.data?.find((x) => x.id === id);
    return p ? personName(p) : "a former user";
  };
  const day = (value?: string) => (value ? value.slice(0, 10) : "");
  const setDay = (key: FilterKey) => (value: string) => set(key)(value ? new Date(`${value}T00:00:00`).toISOString() : "");
  const technique = query.filters.technique ?? "";
  const sortHeader = (column: SortColumn, label: string) => (
    <th className="px-2 py-2 text-left" aria-sort={query.sort === column ? "ascending" : query.sort === `-${column}` ? "descending" : undefined}>
      <button onClick={() => go(toggleSort(query, column))} className="font-semibold hover:text-accent">
        {label}
        {query.sort === column ? " ▲" : query.sort === `-${column}` ? " ▼" : ""}
      </button>
    </th>
  );
  const queue = query.filters.waiting_for === "me";

  return (
    <Page
      title={queue ? "My queue" : "Tests"}
      actions={canBulk && <Link to="/tests/new" className="rounded-md bg-primary px-3 py-1.5 text-sm font-medium text-on-primary">New test</Link>}
    >
      <Card className="mb-4">
        <div className="grid grid-cols-2 gap-2 md:grid-cols-4 xl:grid-cols-8">
          <TypingInput aria-label="Search" placeholder="Search name, procedure, host…" className={`${inputClass} col-span-2`} value={query.filters.q ?? ""} onValue={set("q")} />
          <select aria-label="State" className={inputClass} value={query.filters.state ?? ""} onChange={(e) => set("state")(e.target.value)}>
            <option value="">Any state</option>
            {TEST_STATES.map((s) => <option key={s} value={s}>{STATE_LABELS[s]}</option>)}
          </select>
          <select aria-label="Outcome" className={inputClass} value={query.filters.outcome ?? ""} onChange={(e) => set("outcome")(e.target.value)}>
            <option value="">Any outcome</option>
            {OUTCOME_FILTERS.map((o) => <option key={o} value={o}>{o.replaceAll("_", " ")}</option>)}
          </select>
          <TypingInput
            aria-label="Technique"
            placeholder="Technique, e.g. T1059"
            className={inputClass}
            value={technique}
            onValue={set("technique")}
            aria-invalid={technique !== "" && !isTechniqueId(technique)}
            title={technique !== "" && !isTechniqueId(technique) ? "An ATT&CK id such as T1059 or T1059.001" : undefined}
          />
          <select aria-label="Tactic" className={inputClass} value={query.filters.tactic ?? ""} onChange={(e) => set("tactic")(e.target.value)}>
            <option value="">Any tactic</option>
            {tactics.data?.map((t) => <option key={t.short_name} value={t.short_name}>{t.name}</option>)}
          </select>
          <TypingInput aria-label="Platform" placeholder="Platform" className={inputClass} value={query.filters.platform ?? ""} onValue={set("platform")} />
          <TypingInput aria-label="Tag" placeholder="Tag" className={inputClass} value={query.filters.tag ?? ""} onValue={set("tag")} />
          <select aria-label="Campaign" className={`${inputClass} col-span-2`} value={query.filters.campaign_id ?? ""} onChange={(e) => set("campaign_id")(e.target.value)}>
            <option value="">Any campaign</option>
            {campaigns.data?.items.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
          </select>
          <label className="flex items-center gap-1 text-xs text-muted">From <input type="date" aria-label="Created from" className={inputClass} value={day(query.filters.created_after)} onChange={(e) => setDay("created_after")(e.target.value)} /></label>
          <label className="flex items-center gap-1 text-xs text-muted">Until <input type="date" aria-label="Created before" className={inputClass} value={day(query.filters.created_before)} onChange={(e) => setDay("created_before")(e.target.value)} /></label>
        </div>
        <div className="mt-2 flex flex-wrap items-center gap-2 text-sm">
          <Button aria-pressed={queue} onClick={() => go(withFilter(query, "waiting_for", queue ? "" : "me"))}>My queue</Button>
          <Button aria-pressed={query.filters.assignee === "me"} onClick={() => go(withFilter(query, "assignee", query.filters.assignee === "me" ? "" : "me"))}>Assigned to me</Button>
          {Object.keys(query.filters).length > 0 && <Button onClick={() => setParams(new URLSearchParams())}>Clear filters</Button>}
          {queue && <span className="text-muted">{QUEUE_HINTS[user.role]}</span>}
        </div>
      </Card>
      <ErrorBox error={tests.error} />
      <Card>
        {canBulk && selected.size > 0 && (
          <BulkActions ids={[...selected.keys()]} names={selected} people={people.data} campaigns={campaigns.data?.items ?? []} onClear={() => setSelected(new Map())} />
        )}
        {tests.isLoading ? (
          <Loading what="Loading tests" />
        ) : !tests.data || tests.data.items.length === 0 ? (
          <Empty>{queue ? "Nothing waits for you." : "No tests match."} {canBulk && <Link className="text-accent underline" to="/tests/new">Plan one.</Link>}</Empty>
        ) : (
          <>
            <div className="overflow-x-auto">
              <table className="w-full text-sm">
                <thead className="border-b border-line text-muted">
                  <tr>
                    {canBulk && (
                      <th className="w-8 px-2 py-2"><input type="checkbox" aria-label="Select all tests on this page" checked={allOnPage} onChange={togglePage} /></th>
                    )}
                    {sortHeader("name", "Name")}
                    {sortHeader("technique_id", "Technique")}
                    {sortHeader("state", "State")}
                    <th className="px-2 py-2 text-left">Assignees</th>
                    <th className="px-2 py-2 text-left">Outcome</th>
                    {sortHeader("executed_at", "Executed")}
                    {sortHeader("updated_at", "Updated")}
                  </tr>
                </thead>
                <tbody>
                  {tests.data.items.map((t) => (
                    <tr key={t.id} data-test={t.name} className="border-b border-line/60 hover:bg-surface">
                      {canBulk && (
                        <td className="px-2 py-2"><input type="checkbox" aria-label={`Select ${t.name}`} checked={selected.has(t.id)} onChange={() => toggle(t.id, t.name)} /></td>
                      )}
                      <td className="px-2 py-2">
                        <Link className="font-medium text-accent hover:underline" to={`/tests/${t.id}`}>{t.name}</Link>
                        <div className="flex flex-wrap gap-1">{t.tags.map((tag) => <Badge key={tag}>{tag}</Badge>)}</div>
                      </td>
                      <td className="px-2 py-2">
                        <span className="font-mono">{t.technique.attack_id}</span> {t.technique.name}
                        {t.technique.warning && <div><Badge tone="warn">{t.technique.warning}</Badge></div>}
                      </td>
                      <td className="px-2 py-2">{STATE_LABELS[t.state]}</td>
                      <td className="px-2 py-2 text-xs">
                        <div><span className="text-red-side">red</span> {person(t.red_assignee_id)}</div>
                        <div><span className="text-blue-side">blue</span> {person(t.blue_assignee_id)}</div>
                      </td>
                      <td className="px-2 py-2">
                        {t.attack_outcome && <Badge tone="red">{t.attack_outcome}</Badge>} {t.detection_outcome && <Badge tone="blue">{t.detection_outcome.replaceAll("_", " ")}</Badge>}
                      </td>
                      <td className="px-2 py-2 text-muted">{formatTime(t.executed_at)}</td>
                      <td className="px-2 py-2 text-muted">{formatTime(t.updated_at)}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <Pager total={tests.data.total} exact={tests.data.total_exact} limit={query.limit} offset={query.offset} onPage={(offset) => go({ ...query, offset })} />
          </>
        )}
      </Card>
    </Page>
  );
}
