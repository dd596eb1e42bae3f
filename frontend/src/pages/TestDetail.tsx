import { useState, type ReactNode } from "react";
import { Link, useParams } from "react-router";
import { useUser } from "../api/auth";
import { ApiError, type Schemas } from "../api/client";
import { ATTACK_OUTCOMES, DETECTION_OUTCOMES, type Role, type Side } from "../api/enums";
import { useCampaigns } from "../api/hooks/campaigns";
import {
  useDeleteEvidence,
  useEvidence,
  usePatchTest,
  usePeople,
  useTest,
  useTestHistory,
  useTestStep,
  useUploadEvidence,
} from "../api/hooks/tests";
import { EditConflict } from "../components/EditConflict";
import { PersonSelect, personName } from "../components/PersonSelect";
import { TestError } from "../components/TestError";
import { Badge, Button, Card, Empty, ErrorBox, Field, formatTime, inputClass, Loading, Page } from "../components/ui";
import { changeWords, describeAction, valueWords, type Names } from "../lib/history";
import { conflictRows, editedFields, fieldLabel, formOf, rebase, toChanges, type EditField, type TestForm } from "../lib/testEdit";
import { availableTransitions, canEdit, canUpload, missingFor, STATE_LABELS, type FieldGroup, type TransitionAction } from "../lib/workflow";

type Test = Schemas["TestView"];

/** What the user is editing: the version they started from and their form. */
interface Session {
  version: number;
  base: TestForm;
  form: TestForm;
}

function fresh(test: Test): Session {
  return { version: test.version, base: formOf(test), form: formOf(test) };
}

/** A conflict after a stale save: the newer test and the user's form then. */
interface Conflict {
  theirs: Test;
  base: TestForm;
  mine: TestForm;
}

type SetField = (field: EditField) => (e: { target: { value: string } }) => void;

function Section({ label, title, tone, editable, dirty, saving, onSave, children }: {
  label: string; title: string; tone: string; editable: boolean; dirty: boolean; saving: boolean; onSave: () => void; children: ReactNode;
}) {
  return (
    <form
      aria-label={label}
      onSubmit={(e) => { e.preventDefault(); onSave(); }}
      className={`space-y-3 rounded-lg border border-line border-t-4 ${tone} bg-panel p-4`}
    >
      <h2 className="font-semibold">{title}</h2>
      <fieldset disabled={!editable || saving} className="space-y-3">
        {children}
        {editable && (
          <div className="flex items-center gap-2">
            <Button type="submit" variant="primary">{saving ? "Saving…" : `Save ${label}`}</Button>
            {dirty && <span className="text-xs text-muted">Unsaved changes</span>}
          </div>
        )}
      </fieldset>
      {!editable && <p className="text-xs text-muted">Read only for you in this state.</p>}
    </form>
  );
}

function PlanFields({ form, set, people, campaigns }: { form: TestForm; set: SetField; people: Schemas["PersonView"][] | undefined; campaigns: Schemas["CampaignView"][] }) {
  const assign = (field: EditField) => (id: string) => set(field)({ target: { value: id } });
  return (
    <div className="grid gap-3 md:grid-cols-2">
      <Field label="Name"><input className={inputClass} value={form.name} onChange={set("name")} required /></Field>
      <Field label="ATT&CK technique" hint="An id from the catalog, e.g. T1059.001"><input className={inputClass} value={form.technique_id} onChange={set("technique_id")} required /></Field>
      <div className="md:col-span-2">
        <Field label="Procedure / command"><textarea rows={4} className={`${inputClass} font-mono`} value={form.procedure} onChange={set("procedure")} /></Field>
      </div>
      <Field label="Platform"><input className={inputClass} value={form.platform} onChange={set("platform")} /></Field>
      <Field label="Target host"><input className={inputClass} value={form.target_host} onChange={set("target_host")} /></Field>
      <Field label="Tags" hint="Comma separated"><input className={inputClass} value={form.tags} onChange={set("tags")} /></Field>
      <Field label="Campaign">
        <select className={inputClass} value={form.campaign_id} onChange={set("campaign_id")}>
          <option value="">None</option>
          {campaigns.filter((c) => c.status !== "completed" || c.id === form.campaign_id).map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
        </select>
      </Field>
      <Field label="Red assignee"><PersonSelect side="red" people={people} value={form.red_assignee_id} onValue={assign("red_assignee_id")} /></Field>
      <Field label="Blue assignee"><PersonSelect side="blue" people={people} value={form.blue_assignee_id} onValue={assign("blue_assignee_id")} /></Field>
    </div>
  );
}

function HalfFields({ side, form, set }: { side: Side; form: TestForm; set: SetField }) {
  return side === "red" ? (
    <>
      <Field label="Executed at"><input type="datetime-local" className={inputClass} value={form.executed_at} onChange={set("executed_at")} /></Field>
      <Field label="Attack outcome">
        <select className={inputClass} value={form.attack_outcome} onChange={set("attack_outcome")}>
          <option value="">—</option>
          {ATTACK_OUTCOMES.map((o) => <option key={o}>{o}</option>)}
        </select>
      </Field>
      <Field label="Red notes"><textarea rows={4} className={inputClass} value={form.red_notes} onChange={set("red_notes")} /></Field>
    </>
  ) : (
    <>
      <Field label="Detection outcome">
        <select className={inputClass} value={form.detection_outcome} onChange={set("detection_outcome")}>
          <option value="">—</option>
          {DETECTION_OUTCOMES.map((o) => <option key={o} value={o}>{o.replaceAll("_", " ")}</option>)}
        </select>
      </Field>
      <Field label="Detected at"><input type="datetime-local" className={inputClass} value={form.detected_at} onChange={set("detected_at")} /></Field>
      <Field label="Detection source / rule"><input className={inputClass} value={form.detection_source} onChange={set("detection_source")} /></Field>
      <Field label="Blue notes"><textarea rows={4} className={inputClass} value={form.blue_notes} onChange={set("blue_notes")} /></Field>
    </>
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

function History({ id, names }: { id: string; names: Names }) {
  const history = useTestHistory(id);
  if (history.isLoading) return <Loading />;
  return (
    <Card title="History">
      <ErrorBox error={history.error} />
      <ol className="space-y-2 text-sm" aria-label="History">
        {history.data?.items.map((h) => {
          const changes = changeWords(h, names);
          return (
            <li key={h.id}>
              <span className="text-muted">{formatTime(h.at)}</span> · <b>{h.actor_name ?? "the system"}</b> {describeAction(h)}
              {changes.length > 0 && (
                <ul className="ml-4 list-disc text-xs text-muted">
                  {changes.map((c) => (
                    <li key={c.field}>
                      {h.action === "test.create" ? <>{c.label}: {c.after}</> : <>{c.label}: {c.before} → {c.after}</>}
                    </li>
                  ))}
                </ul>
              )}
            </li>
          );
        })}
      </ol>
    </Card>
  );
}

export function TestDetail() {
  const { id = "" } = useParams();
  const user = useUser();
  const role = user.role;
  const test = useTest(id);
  const people = usePeople();
  const campaigns = useCampaigns();
  const step = useTestStep(id);
  const patch = usePatchTest(id);
  const [editing, setEditing] = useState<Session | null>(null);
  const [conflict, setConflict] = useState<Conflict | null>(null);
  if (test.isLoading) return <Page title="Test"><Loading /></Page>;
  if (!test.data) return <Page title="Test"><ErrorBox error={test.error} /></Page>;
  const t = test.data;
  const state = t.state;

  // The session follows the server until the user has typed something; from
  // then on it keeps the version they started from, so a save sends it.
  const session = editing && (editing.version === t.version || editedFields(editing.base, editing.form).length > 0) ? editing : fresh(t);
  const set: SetField = (field) => (e) => setEditing({ ...session, form: { ...session.form, [field]: e.target.value } });
  const groups = (["plan", "red", "blue"] as FieldGroup[]).filter((g) => canEdit(g, state, role));
  const dirty = (group: FieldGroup) => editedFields(session.base, session.form, [group]).length > 0;
  const pending = editedFields(session.base, session.form, groups);

  const names: Names = {
    person: (pid) => {
      const p = people.data?.find((x) => x.id === pid);
      return p && personName(p);
    },
    campaign: (cid) => campaigns.data?.items.find((c) => c.id === cid)?.name,
  };
  const describe = (row: { field: EditField }, value: string) => {
    if (!value) return "none";
    if (row.field === "executed_at" || row.field === "detected_at") return formatTime(value);
    return valueWords(row.field, value, names);
  };

  /** Saves the edited fields of `only` groups (all when left out) from
   *  `from`; on a stale version, opens the conflict. The test after, or null. */
  const save = async (from: Session, only?: FieldGroup[]): Promise<Test | null> => {
    const fields = editedFields(from.base, from.form, only);
    if (!fields.length) return t;
    try {
      const updated = await patch.mutateAsync({ version: from.version, changes: toChanges(from.form, fields) });
      // Edits of other sections stay pending on top of the new version.
      setEditing(rebaseOnto(updated, from, fields));
      return updated;
    } catch (error) {
      if (error instanceof ApiError && error.status === 412) {
        const { data: theirs } = await test.refetch();
        if (theirs) setConflict({ theirs, base: from.base, mine: from.form });
      }
      return null;
    }
  };

  const reapply = async (c: Conflict) => {
    const theirs = formOf(c.theirs);
    const { form } = rebase(c.base, theirs, c.mine);
    const next = { version: c.theirs.version, base: theirs, form };
    setEditing(next);
    setConflict(null);
    patch.reset();
    await save(next);
  };

  const takeStep = async (action: TransitionAction) => {
    if (action.confirm && !confirm(`${action.label}?`)) return;
    step.reset();
    // One click: unsaved changes are saved first, then the step is taken.
    if (pending.length && !(await save(session, groups))) return;
    step.mutate(action.slug);
  };

  const busy = step.isPending || patch.isPending;
  const actions = availableTransitions(state, role);
  // What the step needs, counting what is typed but not saved yet.
  const needs = (action: TransitionAction) =>
    missingFor(action.slug, {
      executed_at: session.form.executed_at,
      attack_outcome: session.form.attack_outcome,
      detection_outcome: session.form.detection_outcome,
    });
  const blocked = actions.map((a) => ({ action: a, missing: needs(a) })).filter((x) => x.missing.length > 0);

  return (
    <Page
      title={t.name}
      actions={
        <>
          {actions.map((action) => (
            <Button
              key={action.slug}
              variant={action.confirm ? "danger" : "primary"}
              disabled={busy || needs(action).length > 0}
              onClick={() => takeStep(action)}
            >
              {action.label}
            </Button>
          ))}
          {(blocked.length > 0 || (pending.length > 0 && actions.length > 0)) && (
            <p className="basis-full text-right text-xs text-muted" aria-live="polite">
              {blocked.map((b) => `${b.action.label} needs ${b.missing.map(fieldLabel).join(" and ")}.`).join(" ")}
              {pending.length > 0 && " Your unsaved changes are saved first."}
            </p>
          )}
        </>
      }
    >
      {conflict ? (
        <EditConflict
          rows={conflictRows(conflict.base, formOf(conflict.theirs), conflict.mine)}
          describe={describe}
          by={conflict.theirs.updated_by}
          busy={busy}
          onReapply={() => reapply(conflict)}
          onDiscard={() => { setEditing(fresh(conflict.theirs)); setConflict(null); patch.reset(); }}
        />
      ) : (
        <TestError error={patch.error || step.error} />
      )}
      <div className="mb-4 flex flex-wrap items-center gap-2 text-sm">
        <Badge>{STATE_LABELS[state]}</Badge>
        <Link to={`/techniques/${t.technique.attack_id}`} className="text-accent underline">
          {t.technique.attack_id} {t.technique.name}
        </Link>
        {t.technique.warning && <Badge tone="warn">{t.technique.warning}</Badge>}
        {t.platform && <Badge>{t.platform}</Badge>}
        {t.target_host && <Badge>{t.target_host}</Badge>}
        {t.tags.map((tag) => <Badge key={tag}>{tag}</Badge>)}
        {t.campaign_id && <Link className="text-accent underline" to={`/campaigns/${t.campaign_id}`}>{names.campaign(t.campaign_id) ?? "campaign"}</Link>}
        <span className="text-muted">red: {t.red_assignee_id ? names.person(t.red_assignee_id) ?? "a former user" : "nobody"}</span>
        <span className="text-muted">blue: {t.blue_assignee_id ? names.person(t.blue_assignee_id) ?? "a former user" : "nobody"}</span>
        <span className="text-muted">version {t.version}</span>
      </div>
      <div className="mb-4">
        <Section label="plan" title="Plan" tone="border-t-line" editable={groups.includes("plan")} dirty={dirty("plan")} saving={patch.isPending} onSave={() => save(session, ["plan"])}>
          <PlanFields form={session.form} set={set} people={people.data} campaigns={campaigns.data?.items ?? []} />
        </Section>
      </div>
      <div className="mb-4 grid gap-4 lg:grid-cols-2">
        <Section label="red half" title="Red: what was executed" tone="border-t-red-side" editable={groups.includes("red")} dirty={dirty("red")} saving={patch.isPending} onSave={() => save(session, ["red"])}>
          <HalfFields side="red" form={session.form} set={set} />
        </Section>
        <Section label="blue half" title="Blue: what was seen" tone="border-t-blue-side" editable={groups.includes("blue")} dirty={dirty("blue")} saving={patch.isPending} onSave={() => save(session, ["blue"])}>
          <HalfFields side="blue" form={session.form} set={set} />
        </Section>
      </div>
      <div className="grid gap-4 lg:grid-cols-2">
        <Evidence test={t} role={role} userId={user.id} />
        <div className="space-y-4">
          <Card title="Transitions">
            {t.transitions?.length ? (
              <ol className="text-sm">{t.transitions.map((x) => <li key={x.at}>{formatTime(x.at)} · {x.actor_name}: {STATE_LABELS[x.from_state as keyof typeof STATE_LABELS] ?? x.from_state} → {STATE_LABELS[x.to_state as keyof typeof STATE_LABELS] ?? x.to_state}</li>)}</ol>
            ) : <Empty>Not started.</Empty>}
          </Card>
          <History id={id} names={names} />
        </div>
      </div>
    </Page>
  );
}

/** The session after saving `saved` fields of `from`: the new version, with
 *  the fields not saved still as the user typed them. */
function rebaseOnto(updated: Test, from: Session, saved: EditField[]): Session {
  const base = formOf(updated);
  const form = { ...base };
  for (const f of editedFields(from.base, from.form)) if (!saved.includes(f)) form[f] = from.form[f];
  return { version: updated.version, base, form };
}
