// Small building blocks shared by every page.
import { Children, cloneElement, Fragment, isValidElement, useEffect, useRef, useState, type ButtonHTMLAttributes, type ReactElement, type ReactNode } from "react";
import { ApiError } from "../api/client";
import type { CoverageStatus } from "../api/enums";

export function Page({ title, actions, children }: { title: string; actions?: ReactNode; children: ReactNode }) {
  return (
    <main className="mx-auto w-full max-w-[1600px] px-4 py-6 lg:px-8">
      <div className="mb-5 flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-semibold tracking-tight">{title}</h1>
        <div className="flex flex-wrap gap-2">{actions}</div>
      </div>
      {children}
    </main>
  );
}

export function Card({ title, children, className = "" }: { title?: string; children: ReactNode; className?: string }) {
  return (
    // min-w-0: in a grid or flex row the card may shrink below its content's width.
    <section className={`min-w-0 rounded-lg border border-line bg-panel p-4 shadow-sm ${className}`}>
      {title && <h2 className="mb-3 text-sm font-semibold uppercase tracking-wide text-muted">{title}</h2>}
      {scrollTables(children, title)}
    </section>
  );
}

/** Puts each table among a card's children (fragments included) in a TableScroll, so no page has to. */
function scrollTables(children: ReactNode, label?: string): ReactNode {
  return Children.map(children, (child) => {
    if (!isValidElement<{ children?: ReactNode; "aria-label"?: string }>(child)) return child;
    if (child.type === Fragment) return cloneElement(child, undefined, scrollTables(child.props.children, label));
    if (child.type !== "table") return child;
    return <TableScroll label={child.props["aria-label"] ?? label ?? "Table"}>{child as ReactElement}</TableScroll>;
  });
}

type Variant = "primary" | "secondary" | "danger";
const VARIANTS: Record<Variant, string> = {
  primary: "bg-primary text-on-primary hover:opacity-90",
  secondary: "border border-line bg-panel hover:bg-surface",
  danger: "bg-danger-fill text-on-danger hover:opacity-90",
};

/** A button's look, also for a link that acts as one. */
export function buttonClass(variant: Variant = "secondary"): string {
  return `inline-flex items-center gap-1 rounded-md px-3 py-1.5 text-sm font-medium disabled:cursor-not-allowed disabled:opacity-50 ${VARIANTS[variant]}`;
}

export function Button({ variant = "secondary", className = "", ...props }: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant }) {
  return <button className={`${buttonClass(variant)} ${className}`} {...props} />;
}

export function Field({ label, children, hint }: { label: string; children: ReactNode; hint?: string }) {
  return (
    // min-w-0 max-w-full: in a wrapping row a field narrows to the row, and its input with it.
    <label className="flex min-w-0 max-w-full flex-col gap-1 text-sm">
      <span className="font-medium text-muted">{label}</span>
      {children}
      {hint && <span className="text-xs text-muted">{hint}</span>}
    </label>
  );
}

export const inputClass =
  "min-w-0 max-w-full rounded-md border border-line bg-panel px-2 py-1.5 text-sm text-ink placeholder:text-muted focus:border-accent";

export function ErrorBox({ error }: { error: unknown }) {
  if (!error) return null;
  const fields = error instanceof ApiError ? error.fields : [];
  // A refusal that names fields has a detail listing the same fields; the
  // list below says it once, under a lead in words.
  const message =
    fields.length > 0
      ? (error as ApiError).status === 409
        ? "Fill these in first:"
        : "Not saved; please correct:"
      : error instanceof Error
        ? error.message
        : String(error);
  return (
    <div role="alert" className="rounded-md border border-danger/40 bg-danger/10 px-3 py-2 text-sm">
      <p>{message}</p>
      {fields.length > 0 && (
        <ul className="mt-1 list-disc pl-5">
          {fields.map((f) => (
            <li key={f.field + f.message}>
              <code>{f.field}</code>: {f.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Loading({ what = "Loading" }: { what?: string }) {
  return (
    <p className="animate-pulse py-6 text-sm text-muted" aria-live="polite">
      {what}…
    </p>
  );
}

export function Empty({ children }: { children: ReactNode }) {
  return <p className="py-6 text-center text-sm text-muted">{children}</p>;
}

/** A coverage status's fill and the text colour readable on it, in both themes. */
export const STATUS_CLASSES: Record<CoverageStatus, string> = {
  covered: "bg-covered text-on-covered",
  partial: "bg-partial text-on-partial",
  gap: "bg-gap text-on-gap",
  untested: "bg-untested text-on-untested",
};

export function StatusBadge({ status }: { status: CoverageStatus }) {
  return <span className={`rounded px-1.5 py-0.5 text-xs font-medium ${STATUS_CLASSES[status]}`}>{status}</span>;
}

export function Badge({ children, tone = "neutral" }: { children: ReactNode; tone?: "neutral" | "red" | "blue" | "warn" }) {
  const tones = {
    neutral: "border-line text-muted",
    red: "border-red-side/50 text-red-side",
    blue: "border-blue-side/50 text-blue-side",
    warn: "border-partial text-ink bg-partial/20",
  };
  return <span className={`rounded border px-1.5 py-0.5 text-xs ${tones[tone]}`}>{children}</span>;
}

/**
 * A table that scrolls sideways inside its own box (a Card does this for the tables it holds) when the screen is
 * narrower than its columns, so the page itself never does. While it
 * overflows it is a named region that keyboard users can focus and scroll.
 */
export function TableScroll({ label, children }: { label: string; children: ReactNode }) {
  const box = useRef<HTMLDivElement>(null);
  const [overflows, setOverflows] = useState(false);
  useEffect(() => {
    const element = box.current;
    if (!element) return;
    const measure = () => setOverflows(element.scrollWidth > element.clientWidth + 1);
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    if (element.firstElementChild) observer.observe(element.firstElementChild);
    measure();
    return () => observer.disconnect();
  }, []);
  return (
    <div
      ref={box}
      className="scroll-hint overflow-x-auto"
      {...(overflows ? { role: "region", "aria-label": label, tabIndex: 0 } : {})}
    >
      {children}
    </div>
  );
}

export function formatTime(value?: string | null): string {
  if (!value) return "—";
  return new Date(value).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" });
}

export function formatDuration(seconds?: number | null): string {
  if (seconds === undefined || seconds === null) return "—";
  if (seconds < 90) return `${Math.round(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}

/** Previous and next pages; an inexact total (the server stopped counting) reads "of N+". */
export function Pager({ total, limit, offset, onPage, exact = true }: { total: number; limit: number; offset: number; onPage: (offset: number) => void; exact?: boolean }) {
  const first = total === 0 ? 0 : offset + 1;
  const last = Math.min(offset + limit, total);
  return (
    <div className="mt-3 flex items-center justify-between text-sm text-muted">
      <span>
        {first}–{last} of {exact ? total : `${total.toLocaleString()}+`}
      </span>
      <div className="flex gap-2">
        <Button disabled={offset === 0} onClick={() => onPage(Math.max(0, offset - limit))}>
          Previous
        </Button>
        <Button disabled={exact && last >= total} onClick={() => onPage(offset + limit)}>
          Next
        </Button>
      </div>
    </div>
  );
}
