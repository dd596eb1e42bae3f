// The ATT&CK coverage heatmap: tactics as columns, each technique a cell in
// its status's colour, sub-techniques folded under it. The statuses and the
// column totals are the server's; this only lays them out.
//
// Keyboard: the grid is one tab stop (roving tabindex). Arrow keys move
// between cells, Home and End jump within a column, Enter opens the
// technique, + and − show or hide its sub-techniques. A skip link before the
// grid jumps past it. A compact mode (remembered in this browser) fits every
// tactic into the page width.
import { useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { Link } from "react-router";
import { COVERAGE_STATUSES, type CoverageStatus } from "../api/enums";
import { useCoverage } from "../api/hooks/coverage";
import { buildMatrix, moveFocus, STATUS_LABELS, type Column, type MatrixInput } from "../lib/matrix";
import { Empty, ErrorBox, Loading } from "./ui";

const CELL: Record<CoverageStatus, string> = {
  covered: "bg-covered text-white",
  partial: "bg-partial text-black",
  gap: "bg-gap text-white",
  untested: "bg-untested text-ink",
};

const COMPACT_KEY = "aegis.heatmap.compact";

function useCompact(): [boolean, (on: boolean) => void] {
  const [compact, setCompact] = useState(() => {
    try {
      return window.localStorage.getItem(COMPACT_KEY) === "1";
    } catch {
      return false;
    }
  });
  const set = (on: boolean) => {
    setCompact(on);
    try {
      window.localStorage.setItem(COMPACT_KEY, on ? "1" : "0");
    } catch {
      // Storage may be off (private mode); the choice then lasts the visit.
    }
  };
  return [compact, set];
}

/** One focusable entry of a column: a technique, or a shown sub-technique. */
interface Item {
  id: string;
  name: string;
  status: CoverageStatus;
  sub: boolean;
  /** The technique cell it belongs to, for folding. */
  cellKey: string;
  subCount: number;
}

function itemsOf(column: Column, open: Set<string>): Item[] {
  return column.cells.flatMap((cell) => {
    const cellKey = `${column.id}/${cell.id}`;
    const head: Item = { id: cell.id, name: cell.name, status: cell.status, sub: false, cellKey, subCount: cell.subtechniques.length };
    if (!open.has(cellKey)) return [head];
    return [head, ...cell.subtechniques.map((s) => ({ id: s.id, name: s.name, status: s.status, sub: true, cellKey, subCount: 0 }))];
  });
}

/** The heatmap of coverage already at hand. */
export function HeatmapGrid({ coverage, layerHref = "/api/v1/coverage/navigator-layer" }: { coverage: MatrixInput; layerHref?: string }) {
  const columns = useMemo(() => buildMatrix(coverage), [coverage]);
  const [compact, setCompact] = useCompact();
  const [open, setOpen] = useState<Set<string>>(() => new Set());
  const [active, setActive] = useState({ col: 0, row: 0 });
  const grid = useRef<HTMLDivElement>(null);
  const end = useRef<HTMLDivElement>(null);
  const ids = useId();
  const items = useMemo(() => columns.map((c) => itemsOf(c, open)), [columns, open]);
  const lengths = items.map((i) => i.length);
  // The one tab stop, kept on an entry that exists after folding.
  const firstCol = lengths.findIndex((n) => n > 0);
  const current =
    lengths[active.col] > 0 ? { col: active.col, row: Math.min(active.row, lengths[active.col] - 1) } : { col: Math.max(firstCol, 0), row: 0 };
  const [pendingFocus, setPendingFocus] = useState<string | null>(null);
  // The row left and right aim for: kept across shorter columns on the way.
  const wantRow = useRef(0);
  const moving = useRef(false);

  useEffect(() => {
    if (!pendingFocus) return;
    grid.current?.querySelector<HTMLElement>(`[data-pos="${pendingFocus}"]`)?.focus();
    setPendingFocus(null);
  }, [pendingFocus]);

  const toggle = (cellKey: string, show?: boolean) =>
    setOpen((prev) => {
      const next = new Set(prev);
      if (show ?? !next.has(cellKey)) next.add(cellKey);
      else next.delete(cellKey);
      return next;
    });

  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const pos = (event.target as HTMLElement).dataset.pos;
    if (!pos) return;
    const [col, row] = pos.split(":").map(Number);
    const item = items[col]?.[row];
    if (item && (event.key === "+" || event.key === "-" || event.key === "−")) {
      if (item.subCount === 0 && !item.sub) return;
      event.preventDefault();
      const show = event.key === "+";
      toggle(item.cellKey, show);
      if (!show && item.sub) {
        // Folding from a sub-technique returns to its technique.
        const head = items[col].findIndex((i) => i.cellKey === item.cellKey && !i.sub);
        setActive({ col, row: head });
        setPendingFocus(`${col}:${head}`);
      }
      return;
    }
    const sideways = event.key === "ArrowLeft" || event.key === "ArrowRight";
    const next = moveFocus(lengths, col, sideways ? wantRow.current : row, event.key);
    if (!next) return;
    event.preventDefault();
    if (!sideways) wantRow.current = next.row;
    setActive(next);
    moving.current = true;
    grid.current?.querySelector<HTMLElement>(`[data-pos="${next.col}:${next.row}"]`)?.focus();
    moving.current = false;
  };

  if (columns.length === 0) return <Empty>The ATT&CK catalog is empty. An admin can sync it from Admin → MITRE sync.</Empty>;

  const cellText = compact ? "text-[10px] leading-tight" : "text-xs";
  return (
    <div>
      <div className="mb-3 flex flex-wrap items-center gap-3 text-xs">
        {COVERAGE_STATUSES.map((s) => (
          <span key={s} className="flex items-center gap-1">
            <span className={`inline-block h-3 w-3 rounded ${CELL[s]}`} /> {STATUS_LABELS[s]}
          </span>
        ))}
        <label className="ml-auto flex items-center gap-1">
          <input type="checkbox" checked={compact} onChange={(e) => setCompact(e.target.checked)} data-testid="heatmap-compact" />
          Compact (fit the width)
        </label>
        <a className="text-accent underline" href={layerHref} download="aegis-coverage-layer.json">
          Download Navigator layer
        </a>
      </div>
      <p id={`${ids}-help`} className="mb-2 text-xs text-muted">
        A technique's colour counts its sub-techniques' tests too. In the matrix, arrow keys move between techniques, Enter opens one, + and − show or hide its sub-techniques.
      </p>
      <a
        href={`#${ids}-end`}
        className="sr-only focus:not-sr-only focus:mb-2 focus:inline-block focus:rounded focus:bg-panel focus:px-2 focus:py-1 focus:text-sm"
        onClick={(e) => {
          e.preventDefault();
          end.current?.focus();
        }}
        data-testid="heatmap-skip"
      >
        Skip the ATT&CK matrix
      </a>
      <div className="relative overflow-x-auto">
        <div
          ref={grid}
          role="group"
          aria-label="ATT&CK coverage matrix"
          aria-describedby={`${ids}-help`}
          onKeyDown={onKeyDown}
          className={compact ? "grid gap-1" : "grid auto-cols-[minmax(9rem,1fr)] grid-flow-col gap-2"}
          style={compact ? { gridTemplateColumns: `repeat(${columns.length}, minmax(0, 1fr))` } : undefined}
          data-testid="matrix"
          data-compact={compact ? "true" : "false"}
        >
          {columns.map((column, col) => (
            <div key={column.id} className="min-w-0" data-tactic={column.shortName}>
              <h3 className={`mb-1 font-semibold ${compact ? "truncate text-[10px]" : "text-xs"}`} title={`${column.id} ${column.name}`}>
                {column.name}
                <span className="block font-normal text-muted" data-counts={column.shortName}>
                  {column.cells.length} techniques
                  <span className={compact ? "block" : ""}>
                    {COVERAGE_STATUSES.map((s) => (
                      <span key={s} className="mr-1 inline-flex items-center gap-0.5 whitespace-nowrap" data-count={s}>
                        <span className={`inline-block h-2 w-2 rounded-sm ${CELL[s]}`} aria-hidden="true" />
                        {column.counts[s]}
                        <span className="sr-only"> {STATUS_LABELS[s].toLowerCase()}</span>
                      </span>
                    ))}
                  </span>
                </span>
              </h3>
              <ul className="space-y-0.5">
                {items[col].map((item, row) => {
                  const focusable = current.col === col && current.row === row;
                  const shown = open.has(item.cellKey);
                  const link = (
                    <Link
                      to={`/techniques/${item.id}`}
                      tabIndex={focusable ? 0 : -1}
                      data-pos={`${col}:${row}`}
                      onFocus={() => {
                        setActive({ col, row });
                        if (!moving.current) wantRow.current = row;
                      }}
                      className={
                        item.sub
                          ? `block min-w-0 truncate rounded px-1.5 py-0.5 ${compact ? "text-[10px]" : "text-[11px]"} ${CELL[item.status]}`
                          : `min-w-0 flex-1 truncate px-1.5 py-1`
                      }
                      title={`${item.id} ${item.name}: ${STATUS_LABELS[item.status]}`}
                      aria-label={`${item.id} ${item.name}: ${STATUS_LABELS[item.status]}${item.subCount ? `, ${item.subCount} sub-techniques, ${shown ? "shown" : "hidden"}` : ""}`}
                      data-technique={item.id}
                      data-status={item.status}
                      data-cell={item.sub ? undefined : "true"}
                    >
                      {compact && !item.sub ? item.id : item.name}
                    </Link>
                  );
                  if (item.sub) {
                    return (
                      <li key={`${item.cellKey}/${item.id}`} className="ml-2 border-l border-line pl-1">
                        {link}
                      </li>
                    );
                  }
                  return (
                    <li key={item.cellKey}>
                      <div className={`flex items-stretch rounded ${cellText} ${CELL[item.status]}`}>
                        {link}
                        {item.subCount > 0 && (
                          <button
                            type="button"
                            tabIndex={-1}
                            onClick={() => toggle(item.cellKey)}
                            aria-expanded={shown}
                            aria-label={`${shown ? "Hide" : "Show"} ${item.subCount} sub-techniques of ${item.name}`}
                            className="border-l border-black/10 px-1"
                          >
                            {shown ? "−" : "+"}
                          </button>
                        )}
                      </div>
                    </li>
                  );
                })}
              </ul>
            </div>
          ))}
        </div>
      </div>
      <div ref={end} id={`${ids}-end`} tabIndex={-1} className="sr-only" data-testid="heatmap-end">
        End of the ATT&CK matrix
      </div>
    </div>
  );
}

/** The heatmap of every test, or of one campaign's tests. */
export function Heatmap({ campaignId }: { campaignId?: string }) {
  const coverage = useCoverage({ campaign_id: campaignId });
  const layerHref = `/api/v1/coverage/navigator-layer${campaignId ? `?campaign_id=${encodeURIComponent(campaignId)}` : ""}`;
  if (coverage.isLoading) return <Loading what="Loading the matrix" />;
  if (!coverage.data) return <ErrorBox error={coverage.error} />;
  return <HeatmapGrid coverage={coverage.data} layerHref={layerHref} />;
}
