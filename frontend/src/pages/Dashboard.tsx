import { Link } from "react-router";
import { hasRole, useUser } from "../api/auth";
import { useCoverageTrend, useKpis, useTakeSnapshot } from "../api/hooks/coverage";
import { Heatmap } from "../components/Heatmap";
import { Button, Card, Empty, ErrorBox, formatDuration, Loading, Page } from "../components/ui";

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

/** Covered share over time: a time axis with dates, a 0–100 % axis. */
function Trend({ points }: { points: { at: string; covered: number }[] }) {
  if (points.length < 2) return <Empty>Trends appear once two snapshots exist: one is taken daily, and leads can take one now.</Empty>;
  const [width, height] = [640, 210];
  const margin = { left: 48, right: 16, top: 12, bottom: 48 };
  const times = points.map((p) => new Date(p.at).getTime());
  const [first, last] = [Math.min(...times), Math.max(...times)];
  const span = Math.max(last - first, 1);
  const plotWidth = width - margin.left - margin.right;
  const plotHeight = height - margin.top - margin.bottom;
  const x = (t: number) => margin.left + ((t - first) / span) * plotWidth;
  const y = (v: number) => margin.top + plotHeight - (v / 100) * plotHeight;
  const path = points.map((p, i) => `${i ? "L" : "M"}${x(times[i]).toFixed(1)},${y(p.covered).toFixed(1)}`).join(" ");
  // Dates with the time of day when the snapshots span less than two days.
  const short = last - first < 2 * 86_400_000;
  const dateLabel = (t: number) =>
    new Date(t).toLocaleString(undefined, short ? { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" } : { year: "numeric", month: "short", day: "numeric" });
  const dateTicks = [0, 0.25, 0.5, 0.75, 1].map((f) => first + f * (last - first));
  return (
    <svg viewBox={`0 0 ${width} ${height}`} className="h-56 w-full text-muted" role="img" aria-labelledby="trend-title" data-testid="trend">
      <title id="trend-title">{`Covered techniques, ${dateLabel(first)} to ${dateLabel(last)}: ${points[0].covered}% to ${points[points.length - 1].covered}%`}</title>
      {[0, 25, 50, 75, 100].map((v) => (
        <g key={v}>
          <line x1={margin.left} x2={width - margin.right} y1={y(v)} y2={y(v)} stroke="var(--color-line)" />
          <text x={margin.left - 6} y={y(v) + 4} textAnchor="end" fontSize="11" fill="currentColor">{`${v}%`}</text>
        </g>
      ))}
      <line x1={margin.left} x2={width - margin.right} y1={y(0)} y2={y(0)} stroke="currentColor" />
      {dateTicks.map((t, i) => (
        <g key={i} data-axis="date">
          <line x1={x(t)} x2={x(t)} y1={y(0)} y2={y(0) + 4} stroke="currentColor" />
          <text x={x(t)} y={y(0) + 17} textAnchor={i === 0 ? "start" : i === 4 ? "end" : "middle"} fontSize="11" fill="currentColor">
            {dateLabel(t)}
          </text>
        </g>
      ))}
      <text x={margin.left + plotWidth / 2} y={height - 6} textAnchor="middle" fontSize="11" fill="currentColor">
        Snapshot date
      </text>
      <text transform={`translate(12 ${margin.top + plotHeight / 2}) rotate(-90)`} textAnchor="middle" fontSize="11" fill="currentColor">
        % of techniques covered
      </text>
      <path d={path} fill="none" stroke="var(--color-covered)" strokeWidth="2.5" />
      {points.map((p, i) => (
        <circle key={p.at} cx={x(times[i])} cy={y(p.covered)} r="3" fill="var(--color-covered)">
          <title>{`${dateLabel(times[i])}: ${p.covered}% covered`}</title>
        </circle>
      ))}
    </svg>
  );
}

export function Dashboard() {
  const user = useUser();
  const snapshot = useTakeSnapshot();
  const kpis = useKpis();
  const snapshots = useCoverageTrend();
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
      <ErrorBox error={kpis.error || snapshots.error || snapshot.error} />
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
        <Heatmap />
      </Card>
      <Card title="Coverage trend (% of techniques covered)">
        <Trend points={trend} />
        <p className="mt-2 text-sm">
          <Link className="text-accent underline" to="/coverage/compare">
            Compare two snapshots
          </Link>
        </p>
      </Card>
    </Page>
  );
}
