import { useState, type FormEvent } from "react";
import { Link, useParams } from "react-router";
import { useUser } from "../api/auth";
import type { Schemas } from "../api/client";
import { ATTACK_OUTCOMES, DETECTION_OUTCOMES, parseEnum, type Role, type Side } from "../api/enums";
import {
  useDeleteEvidence,
  useEvidence,
  usePatchTest,
  useTest,
  useTestHistory,
  useTestStep,
  useUploadEvidence,
  type TestChanges,
} from "../api/hooks/tests";
import { Badge, Button, Card, Empty, ErrorBox, Field, formatTime, inputClass, Loading, Page } from "../components/ui";
import { availableTransitions, canEdit, canUpload, missingFor, STATE_LABELS } from "../lib/workflow";

type Test = Schemas["TestView"];

/** `2026-11-01T10:00` for a datetime-local input, in local time. */
function toLocalInput(value?: string | null): string {
  if (!value) return "";
  const d = new Date(value);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function fromLocalInput(value: string): string | null {
  return value ? new Date(value).toISOString() : null;
}

function HalfForm({ test, side, editable }: { test: Test; side: Side; editable: boolean }) {
  const [v, setValues] = useState<Record<string, string>>((): Record<string, string> =>
    side === "red"
      ? { executed_at: toLocalInput(test.executed_at), attack_outcome: test.attack_outcome ?? "", red_notes: test.red_notes }
      : { detected_at: toLocalInput(test.detected_at), detection_outcome: test.detection_outcome ?? "", detection_source: test.detection_source ?? "", blue_notes: test.blue_notes },
  );
  const save = usePatchTest(test);
  const set = (key: string) => (e: { target: { value: string } }) => setValues((x) => ({ ...x, [key]: e.target.value }));
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    // `null` clears a field (the API reads it as "unset").
    const changes: TestChanges =
      side === "red"
        ? { executed_at: fromLocalInput(v.executed_at), attack_outcome: parseEnum(ATTACK_OUTCOMES, v.attack_outcome) ?? null, red_notes: v.red_notes }
        : { detected_at: fromLocalInput(v.detected_at), detection_outcome: parseEnum(DETECTION_OUTCOMES, v.detection_outcome) ?? null, detection_source: v.detection_source || null, blue_notes: v.blue_notes };
    save.mutate(changes);
  };
  const tone = side === "red" ? "border-t-red-side" : "border-t-blue-side";
  return (
    <form onSubmit={onSubmit} className={`space-y-3 rounded-lg border border-line border-t-4 ${tone} bg-panel p-4`} aria-label={`${side} half`}>
      <h2 className="font-semibold">{side === "red" ? "Red: what was executed" : "Blue: what was seen"}</h2>
      <ErrorBox error={save.error} />
      <fieldset disabled={!editable || save.isPending} className="space-y-3">
        {side === "red" ? (
          <>
            <Field label="Executed at"><input type="datetime-local" className={inputClass} value={v.executed_at} onChange={set("executed_at")} /></Field>
            <Field label="Attack outcome">
              <select className={inputClass} value={v.attack_outcome} onChange={set("attack_outcome")}>
                <option value="">—</option>
                {ATTACK_OUTCOMES.map((o) => <option key={o}>{o}</option>)}
              </select>
            </Field>
            <Field label="Red notes"><textarea rows={4} className={inputClass} value={v.red_notes} onChange={set("red_notes")} /></Field>
          </>
        ) : (
          <>
            <Field label="Detection outcome">
              <select className={inputClass} value={v.detection_outcome} onChange={set("detection_outcome")}>
                <option value="">—</option>
                {DETECTION_OUTCOMES.map((o) => <option key={o}>{o}</option>)}
              </select>
            </Field>
            <Field label="Detected at"><input type="datetime-local" className={inputClass} value={v.detected_at} onChange={set("detected_at")} /></Field>
            <Field label="Detection source / rule"><input className={inputClass} value={v.detection_source} onChange={set("detection_source")} /></Field>
            <Field label="Blue notes"><textarea rows={4} className={inputClass} value={v.blue_notes} onChange={set("blue_notes")} /></Field>
          </>
        )}
        {editable && <Button type="submit" variant="primary">{save.isPending ? "Saving…" : `Save ${side} half`}</Button>}
      </fieldset>
      {!editable && <p className="text-xs text-muted">Read only for you in this state.</p>}
    </form>
  );
}

function Evidence({ test, role, userId }: { test: Test; role: Role; userId: string }) {
  const evidence = useEvidence(test.id);
  const send = useUploadEvidence(test.id);
  const { progress } = send;
  const remove = useDeleteEvidence(test.id);
  const choose = (files: FileList | null) => {
    const file = files?.[0];
    if (file) send.mutate(file);
  };
  return (
    <Card title="Evidence">
      <ErrorBox error={send.error || evidence.error || remove.error} />
      {canUpload(test.state, role) && (
        <div className="mb-3">
          <label className="text-sm">
            <span className="mr-2 font-medium">Attach a file</span>
            <input type="file" aria-label="Evidence file" onChange={(e) => choose(e.target.files)} disabled={progress !== null} />
          </label>
          {progress !== null && <progress className="mt-2 block w-full" max={1} value={progress} aria-label="Upload progress" />}
        </div>
      )}
      {evidence.isLoading ? <Loading /> : !evidence.data?.length ? <Empty>No evidence yet.</Empty> : (
        <ul className="divide-y divide-line text-sm">
          {evidence.data.map((e) => (
            <li key={e.id} className="flex flex-wrap items-center gap-2 py-2">
              <Badge tone={e.side === "red" ? "red" : "blue"}>{e.side}</Badge>
              <a className="font-medium text-accent underline" href={e.download_url} download={e.file_name}>{e.file_name}</a>
              <span className="text-muted">{(e.size_bytes / 1024).toFixed(1)} KiB · {e.media_type} · {e.uploaded_by_name} · {formatTime(e.uploaded_at)}</span>
              <code className="text-xs text-muted" title="SHA-256">{e.sha256.slice(0, 16)}…</code>
              {test.state !== "completed" && (role === "admin" || role === "lead" || e.uploaded_by_id === userId) && (
                <Button className="ml-auto" onClick={() => confirm(`Delete ${e.file_name}?`) && remove.mutate(e.id)}>Delete</Button>
              )}
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

function History({ id }: { id: string }) {
  const history = useTestHistory(id);
  if (history.isLoading) return <Loading />;
  return (
    <Card title="History">
      <ErrorBox error={history.error} />
      <ol className="space-y-2 text-sm">
        {history.data?.items.map((h) => (
          <li key={h.id}>
            <span className="text-muted">{formatTime(h.at)}</span> · <b>{h.actor_name}</b> · <code>{h.action}</code>
            {h.changes.length > 0 && (
              <ul className="ml-4 list-disc text-xs text-muted">
                {h.changes.map((c) => (
                  <li key={c.field}><code>{c.field}</code>: {JSON.stringify(c.before)} → {JSON.stringify(c.after)}</li>
                ))}
              </ul>
            )}
          </li>
        ))}
      </ol>
    </Card>
  );
}

export function TestDetail() {
  const { id = "" } = useParams();
  const user = useUser();
  const role = user.role;
  const test = useTest(id);
  const step = useTestStep(id);
  if (test.isLoading) return <Page title="Test"><Loading /></Page>;
  if (!test.data) return <Page title="Test"><ErrorBox error={test.error} /></Page>;
  const t = test.data;
  const state = t.state;
  return (
    <Page
      title={t.name}
      actions={availableTransitions(state, role).map((action) => {
        const missing = missingFor(action.slug, t);
        return (
          <Button
            key={action.slug}
            variant={action.confirm ? "danger" : "primary"}
            disabled={step.isPending || missing.length > 0}
            title={missing.length ? `Fill ${missing.join(", ")} first` : undefined}
            onClick={() => (!action.confirm || confirm(`${action.label}?`)) && step.mutate(action.slug)}
          >
            {action.label}
          </Button>
        );
      })}
    >
      <ErrorBox error={step.error} />
      <div className="mb-4 flex flex-wrap items-center gap-2 text-sm">
        <Badge>{STATE_LABELS[state]}</Badge>
        <Link to={`/techniques/${t.technique.attack_id}`} className="text-accent underline">
          {t.technique.attack_id} {t.technique.name}
        </Link>
        {t.technique.warning && <Badge tone="warn">{t.technique.warning}</Badge>}
        {t.platform && <Badge>{t.platform}</Badge>}
        {t.target_host && <Badge>{t.target_host}</Badge>}
        {t.tags.map((tag) => <Badge key={tag}>{tag}</Badge>)}
        {t.campaign_id && <Link className="text-accent underline" to={`/campaigns/${t.campaign_id}`}>campaign</Link>}
        <span className="text-muted">version {t.version}</span>
      </div>
      {t.procedure && (
        <Card title="Procedure" className="mb-4"><pre className="overflow-x-auto whitespace-pre-wrap font-mono text-sm">{t.procedure}</pre></Card>
      )}
      <div className="mb-4 grid gap-4 lg:grid-cols-2">
        <HalfForm key={`red-${t.version}`} test={t} side="red" editable={canEdit("red", state, role)} />
        <HalfForm key={`blue-${t.version}`} test={t} side="blue" editable={canEdit("blue", state, role)} />
      </div>
      <div className="grid gap-4 lg:grid-cols-2">
        <Evidence test={t} role={role} userId={user.id} />
        <div className="space-y-4">
          <Card title="Transitions">
            {t.transitions?.length ? (
              <ol className="text-sm">{t.transitions.map((x) => <li key={x.at}>{formatTime(x.at)} · {x.actor_name}: {x.from_state} → {x.to_state}</li>)}</ol>
            ) : <Empty>Not started.</Empty>}
          </Card>
          <History id={id} />
        </div>
      </div>
    </Page>
  );
}
