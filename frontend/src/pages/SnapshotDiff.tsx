// Two coverage snapshots side by side: the techniques whose status changed
// and how each KPI moved. The choice lives in the address, so a comparison
// can be shared.
import { Link, useSearchParams } from "react-router";
import type { components } from "../api/schema";
import { useCoverage, useSnapshotDiff, useSnapshotList } from "../api/hooks/coverage";
import { Card, Empty, ErrorBox, Field, formatTime, inputClass, Loading, Page, StatusBadge } from "../components/ui";

type Snapshot = components["schemas"]["Snapshot"];

/** How each KPI of the diff reads, and its unit. */
const KPI_LABELS: Record<string, [string, string]> = {
  tests_total: ["Tests", ""],
  completed: ["Completed tests", ""],
  detection_rate: ["Detection rate", " pts"],
  prevention_rate: ["Prevention rate", " pts"],
  mean_time_to_detect_seconds: ["Mean time to detect", " s"],
  median_time_to_detect_seconds: ["Median time to detect", " s"],
  mean_blue_review_seconds: ["Mean blue review", " s"],
  techniques_covered: ["Techniques covered", ""],
  techniques_partial: ["Techniques partly covered", ""],
  techniques_gap: ["Techniques with a gap", ""],
  techniques_untested: ["Techniques untested", ""],
  regressions: ["Regressions", ""],
};

function scopeWords(s: Snapshot): string {
  const parts = [s.scope.campaign_id && "one campaign", s.scope.platform && `platform ${s.scope.platform}`].filter(Boolean);
  return parts.length ? parts.join(", ") : "all tests";
}

function label(s: Snapshot): string {
  return `${formatTime(s.taken_at)} · ${s.trigger} · ${scopeWords(s)}`;
}

function SnapshotPicker(props: { label: string; items: Snapshot[]; value: string; onChange: (id: string) => void; testId: string }) {
  return (
    <Field label={props.label}>
      <select className={inputClass} value={props.value} onChange={(e) => props.onChange(e.target.value)} data-testid={props.testId}>
        {props.items.map((s) => (
          <option key={s.id} value={s.id}>
            {label(s)}
          </option>
        ))}
      </select>
    </Field>
  );
}

export function SnapshotDiff() {
  const [params, setParams] = useSearchParams();
  const list = useSnapshotList();
  const names = useCoverage();
  const items = list.data?.items ?? [];
  // By default the two newest: what changed most recently.
  const from = params.get("from") ?? items[1]?.id ?? "";
  const to = params.get("to") ?? items[0]?.id ?? "";
  const diff = useSnapshotDiff(from, to);
  const choose = (key: "from" | "to", id: string) => {
    const next = new URLSearchParams(params);
    next.set("from", from);
    next.set("to", to);
    next.set(key, id);
    setParams(next, { replace: true });
  };
  const nameOf = new Map(names.data?.techniques.map((t) => [t.attack_id, t.name]));
  const fromSnapshot = items.find((s) => s.id === from);
  const toSnapshot = items.find((s) => s.id === to);
  const kpis = Object.entries(diff.data?.kpi_change ?? {});

  return (
    <Page title="Compare coverage snapshots">
      <ErrorBox error={list.error || diff.error} />
      {list.isLoading ? (
        <Loading what="Loading snapshots" />
      ) : items.length < 2 ? (
        <Empty>Comparing needs two snapshots: one is taken daily, and leads can take one now from the dashboard.</Empty>
      ) : (
        <>
          <div className="mb-4 grid gap-3 md:grid-cols-2">
            <SnapshotPicker label="From (earlier)" items={items} value={from} onChange={(id) => choose("from", id)} testId="diff-from" />
            <SnapshotPicker label="To (later)" items={items} value={to} onChange={(id) => choose("to", id)} testId="diff-to" />
          </div>
          {fromSnapshot && toSnapshot && scopeWords(fromSnapshot) !== scopeWords(toSnapshot) && (
            <p className="mb-4 text-sm text-muted">These snapshots cover different scopes; changes may come from the scope rather than from testing.</p>
          )}
          {from === to ? (
            <Empty>Pick two different snapshots.</Empty>
          ) : diff.isLoading ? (
            <Loading what="Comparing" />
          ) : (
            diff.data && (
              <div className="grid gap-4 lg:grid-cols-2">
                <Card title={`Techniques that changed (${diff.data.changed.length})`}>
                  {diff.data.changed.length === 0 ? (
                    <Empty>No technique changed status.</Empty>
                  ) : (
                    <div className="overflow-x-auto">
                      <table className="w-full text-sm" data-testid="diff-changed">
                        <thead className="text-left text-xs text-muted">
                          <tr>
                            <th className="py-1 pr-2">Technique</th>
                            <th className="py-1 pr-2">Before</th>
                            <th className="py-1">After</th>
                          </tr>
                        </thead>
                        <tbody>
                          {diff.data.changed.map((c) => (
                            <tr key={c.attack_id} className="border-t border-line" data-technique={c.attack_id}>
                              <td className="py-1 pr-2">
                                <Link className="text-accent underline" to={`/techniques/${c.attack_id}`}>
                                  {c.attack_id}
                                </Link>{" "}
                                {nameOf.get(c.attack_id)}
                              </td>
                              <td className="py-1 pr-2">{c.before ? <StatusBadge status={c.before} /> : <span className="text-muted">not listed</span>}</td>
                              <td className="py-1">{c.after ? <StatusBadge status={c.after} /> : <span className="text-muted">not listed</span>}</td>
                            </tr>
                          ))}
                        </tbody>
                      </table>
                    </div>
                  )}
                </Card>
                <Card title="KPI changes">
                  {kpis.length === 0 ? (
                    <Empty>No KPI moved.</Empty>
                  ) : (
                    <table className="w-full text-sm" data-testid="diff-kpis">
                      <tbody>
                        {kpis.map(([key, value]) => {
                          const [name, unit] = KPI_LABELS[key] ?? [key, ""];
                          return (
                            <tr key={key} className="border-t border-line">
                              <th scope="row" className="py-1 pr-2 text-left font-normal">
                                {name}
                              </th>
                              <td className="py-1 text-right font-medium" data-kpi-change={key}>
                                {`${value > 0 ? "+" : ""}${value}${unit}`}
                              </td>
                            </tr>
                          );
                        })}
                      </tbody>
                    </table>
                  )}
                </Card>
              </div>
            )
          )}
        </>
      )}
    </Page>
  );
}
