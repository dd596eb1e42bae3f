import { useMemo, useState } from "react";
import { Link } from "react-router";
import { hasRole, useUser } from "../api/auth";
import { COVERAGE_STATUSES, type CoverageStatus } from "../api/enums";
import { useMatrix } from "../api/hooks/catalog";
import { useCoverage, useCoverageTrend, useKpis, useTakeSnapshot } from "../api/hooks/coverage";
import { Button, Card, Empty, ErrorBox, formatDuration, Loading, Page } from "../components/ui";
import { buildMatrix, displayStatus, STATUS_LABELS, type Cell } from "../lib/matrix";

const CELL: Record<CoverageStatus, string> = {
  covered: "bg-covered text-white",
  partial: "bg-partial text-black",
  gap: "bg-gap text-white",
  untested: "bg-untested text-ink",
};

function Kpi({ label, value, hint }: { label: string; value: string; hint?: string }) {
  return (
    <div className="rounded-lg border border-line bg-panel p-4">
      <div className="text-xs uppercase tracking-wide text-muted">{label}</div>
      <div className="mt-1 text-2xl font-semibold" data-kpi={label}>
        {value}
      </div>
      {hint && <div className="text-xs text-muted">{hint}</div>}
    </div>
  );
}

function delta(change: Record<string, number> | undefined, key: string, unit = ""): string | undefined {
  const value = change?.[key];
  if (value === undefined) return undefined;
  return `${value > 0 ? "+" : ""}${value}${unit} since last snapshot`;
}

function TechniqueCell({ cell }: { cell: Cell }) {
  const [open, setOpen] = useState(false);
  const status = displayStatus(cell);
  return (
    <li>
      <div className={`flex items-stretch rounded text-xs ${CELL[status]}`}>
        <Link to={`/techniques/${cell.id}`} className="flex-1 px-1.5 py-1" title={`${cell.id} ${cell.name}: ${STATUS_LABELS[cell.status]}`} data-technique={cell.id} data-status={cell.status}>
          {cell.name}
        </Link>
        {cell.subtechniques.length > 0 && (
          <button
            onClick={() => setOpen((o) => !o)}
            aria-expanded={open}
            aria-label={`${open ? "Hide" : "Show"} ${cell.subtechniques.length} sub-techniques of ${cell.name}`}
            className="border-l border-black/10 px-1"
          >
            {open ? "−" : "+"}
          </button>
        )}
      </div>
      {open && (
        <ul className="ml-2 mt-0.5 space-y-0.5 border-l border-line pl-1">
          {cell.subtechniques.map((s) => (
            <li key={s.id}>
              <Link to={`/techniques/${s.id}`} className={`block rounded px-1.5 py-0.5 text-[11px] ${CELL[s.status]}`} data-technique={s.id} data-status={s.status}>
                {s.name}
              </Link>
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}

function Trend({ points }: { points: { at: string; covered: number }[] }) {
  if (points.length < 2) return <Empty>Trends appear once two snapshots exist: one is taken daily, and leads can take one now.</Empty>;
  const width = 600;
  const height = 140;
  const max = Math.max(100, ...points.map((p) => p.covered));
  const x = (i: number) => (i / (points.length - 1)) * (width - 20) + 10;
  const y = (v: number) => height - 10 - (v / max) * (height - 20);
  const path = points.map((p, i) => `${i ? "L" : "M"}${x(i).toFixed(1)},${y(p.covered).toFixed(1)}`).join(" ");
  return (
    <svg viewBox={`0 0 ${width} ${height}`} className="h-36 w-full" role="img" aria-label="Covered techniques over time">
      <path d={path} fill="none" stroke="var(--color-covered)" strokeWidth="2.5" />
      {points.map((p, i) => (
        <circle key={p.at} cx={x(i)} cy={y(p.covered)} r="3" fill="var(--color-covered)">
          <title>{`${new Date(p.at).toLocaleDateString()}: ${p.covered}% covered`}</title>
        </circle>
      ))}
    </svg>
  );
}

export function Dashboard() {
  const user = useUser();
  const snapshot = useTakeSnapshot();
  const kpis = useKpis();
  const matrix = useMatrix();
  const coverage = useCoverage();
  const snapshots = useCoverageTrend();
  const columns = useMemo(() => {
    if (!matrix.data || !coverage.data) return [];
    const statuses = new Map(coverage.data.techniques.map((t) => [t.attack_id, t.status]));
    return buildMatrix(matrix.data, statuses);
  }, [matrix.data, coverage.data]);
  const trend = (snapshots.data?.items ?? [])
    .filter((s) => !s.scope.campaign_id && !s.scope.platform)
    .map((s) => {
      const t = s.kpis.techniques;
      const total = t.covered + t.partial + t.gap + t.untested;
      return { at: s.taken_at, covered: total ? Math.round((t.covered * 1000) / total) / 10 : 0 };
    })
    .reverse();
  const k = kpis.data?.kpis;

  return (
    <Page
      title="Dashboard"
      actions={hasRole(user, "admin", "lead") && <Button onClick={() => snapshot.mutate()} disabled={snapshot.isPending}>Take snapshot</Button>}
    >
      <ErrorBox error={kpis.error || matrix.error || coverage.error || snapshot.error} />
      {k ? (
        <div className="mb-6 grid grid-cols-2 gap-3 md:grid-cols-3 xl:grid-cols-6">
          <Kpi label="Tests" value={String(k.tests_total)} hint={`${k.completed} completed`} />
          <Kpi label="Detection rate" value={`${k.detection_rate}%`} hint={delta(kpis.data?.change, "detection_rate", " pts")} />
          <Kpi label="Prevention rate" value={`${k.prevention_rate}%`} hint={delta(kpis.data?.change, "prevention_rate", " pts")} />
          <Kpi label="Median time to detect" value={formatDuration(k.median_time_to_detect_seconds)} hint={`mean ${formatDuration(k.mean_time_to_detect_seconds)}`} />
          <Kpi label="Techniques covered" value={String(k.techniques.covered)} hint={delta(kpis.data?.change, "techniques_covered")} />
          <Kpi label="Gaps" value={String(k.techniques.gap)} hint={`${k.techniques.partial} partial · ${k.techniques.untested} untested${k.regressions ? ` · ${k.regressions} regressed` : ""}`} />
        </div>
      ) : (
        kpis.isLoading && <Loading what="Loading KPIs" />
      )}
      <Card title="ATT&CK coverage" className="mb-6">
        <div className="mb-3 flex flex-wrap gap-3 text-xs">
          {COVERAGE_STATUSES.map((s) => (
            <span key={s} className="flex items-center gap-1">
              <span className={`inline-block h-3 w-3 rounded ${CELL[s]}`} /> {STATUS_LABELS[s]}
            </span>
          ))}
          <a className="ml-auto text-accent underline" href="/api/v1/coverage/navigator-layer" download="aegis-coverage-layer.json">
            Download Navigator layer
          </a>
        </div>
        {matrix.isLoading || coverage.isLoading ? (
          <Loading what="Loading the matrix" />
        ) : columns.length === 0 ? (
          <Empty>The ATT&CK catalog is empty. An admin can sync it from Admin → MITRE sync.</Empty>
        ) : (
          <div className="overflow-x-auto">
            <div className="grid auto-cols-[minmax(9rem,1fr)] grid-flow-col gap-2" data-testid="matrix">
              {columns.map((c) => (
                <div key={c.id}>
                  <h3 className="mb-1 text-xs font-semibold" title={c.id}>
                    {c.name}
                    <span className="block font-normal text-muted">
                      {c.cells.length} techniques · {c.counts.covered} covered
                    </span>
                  </h3>
                  <ul className="space-y-0.5">
                    {c.cells.map((cell) => (
                      <TechniqueCell key={cell.id} cell={cell} />
                    ))}
                  </ul>
                </div>
              ))}
            </div>
          </div>
        )}
      </Card>
      <Card title="Coverage trend (% of techniques covered)">
        <Trend points={trend} />
      </Card>
    </Page>
  );
}
