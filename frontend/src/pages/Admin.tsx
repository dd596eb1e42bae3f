import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent } from "react";
import { parseEnum, ROLES, type Role } from "../api/enums";
import { useAudit, useSchedulerStatus, useSyncMitre, useSyncRuns, useUploadBundle } from "../api/hooks/system";
import { useChangeUser, useCreateToken, useCreateUser, useRevokeToken, useTokens, useUsers } from "../api/hooks/users";
import { Badge, Button, Card, Empty, ErrorBox, Field, formatTime, inputClass, Loading, Page } from "../components/ui";

function Users() {
  const users = useUsers();
  const blank: { username: string; role: Role; password: string; email: string } = { username: "", role: "red_tech", password: "", email: "" };
  const [form, setForm] = useState(blank);
  const create = useCreateUser();
  const change = useChangeUser();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const email = form.email.trim();
    create.mutate({ ...form, email: email === "" ? undefined : email }, { onSuccess: () => setForm(blank) });
  };
  return (
    <Card title="Users">
      <form onSubmit={submit} className="mb-3 flex flex-wrap items-end gap-2" aria-label="New user">
        <Field label="Username"><input className={inputClass} value={form.username} onChange={(e) => setForm({ ...form, username: e.target.value })} required /></Field>
        <Field label="Role">
          <select className={inputClass} value={form.role} onChange={(e) => setForm({ ...form, role: parseEnum(ROLES, e.target.value) ?? form.role })}>{ROLES.map((r) => <option key={r}>{r}</option>)}</select>
        </Field>
        <Field label="Password"><input type="password" className={inputClass} value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} required minLength={10} /></Field>
        <Field label="E-mail (optional)"><input type="email" className={inputClass} value={form.email} onChange={(e) => setForm({ ...form, email: e.target.value })} maxLength={254} /></Field>
        <Button type="submit" variant="primary">Create user</Button>
      </form>
      <ErrorBox error={create.error || users.error || change.error} />
      {users.isLoading ? <Loading /> : (
        <table className="w-full text-sm">
          <thead className="text-left text-muted"><tr><th>User</th><th>Role</th><th>Active</th><th>Last sign-in</th><th /></tr></thead>
          <tbody>
            {users.data?.items.map((u) => (
              <tr key={u.id} className="border-t border-line/60">
                <td className="py-1">{u.username}{u.email && <div className="text-xs text-muted">{u.email}</div>}</td>
                <td>
                  <select aria-label={`Role of ${u.username}`} className={inputClass} value={u.role} onChange={(e) => {
                    const role = parseEnum(ROLES, e.target.value);
                    // The select shows the stored role until the change is confirmed and saved.
                    if (role && role !== u.role && confirm(`Change ${u.username}'s role from ${u.role} to ${role}? It takes effect on their next request.`)) {
                      change.mutate({ id: u.id, role });
                    }
                  }}>
                    {ROLES.map((r) => <option key={r}>{r}</option>)}
                  </select>
                </td>
                <td>{u.active ? "yes" : <Badge tone="warn">deactivated</Badge>}</td>
                <td className="text-muted">{formatTime(u.last_login_at)}</td>
                <td>
                  {u.active ? (
                    <Button onClick={() => confirm(`Deactivate ${u.username}? Their sessions and tokens stop at once.`) && change.mutate({ id: u.id, active: false })}>Deactivate</Button>
                  ) : (
                    <Button onClick={() => change.mutate({ id: u.id, active: true })}>Reactivate</Button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Card>
  );
}

function Tokens() {
  const tokens = useTokens();
  const [name, setName] = useState("");
  const [secret, setSecret] = useState<string | null>(null);
  const create = useCreateToken();
  const revoke = useRevokeToken();
  return (
    <Card title="My API tokens">
      <form onSubmit={(e) => {
        e.preventDefault();
        create.mutate({ name }, {
          onSuccess: (t) => {
            setSecret(t.token);
            setName("");
          },
        });
      }} className="mb-2 flex items-end gap-2">
        <Field label="Token name"><input className={inputClass} value={name} onChange={(e) => setName(e.target.value)} required /></Field>
        <Button type="submit">Create token</Button>
      </form>
      {secret && <p className="mb-2 break-all rounded bg-surface p-2 text-sm">Copy it now, it is shown once: <code>{secret}</code></p>}
      <ErrorBox error={create.error || tokens.error || revoke.error} />
      {tokens.data?.length ? (
        <ul className="text-sm">
          {tokens.data.map((t) => (
            <li key={t.id} className="flex items-center gap-2 py-1">
              {t.name} <span className="text-muted">created {formatTime(t.created_at)}</span>
              <Button className="ml-auto" onClick={() => confirm(`Revoke ${t.name}?`) && revoke.mutate(t.id)}>Revoke</Button>
            </li>
          ))}
        </ul>
      ) : <Empty>No tokens.</Empty>}
    </Card>
  );
}

function Scheduler() {
  const jobs = useSchedulerStatus();
  return (
    <Card title="Scheduler">
      <ErrorBox error={jobs.error} />
      <table className="w-full text-sm">
        <thead className="text-left text-muted"><tr><th>Job</th><th>Schedule</th><th>Last run</th><th>Outcome</th><th>Next run</th></tr></thead>
        <tbody>{jobs.data?.map((j) => <tr key={j.id} className="border-t border-line/60"><td className="py-1 font-mono">{j.id}</td><td className="font-mono text-xs">{j.schedule ?? "off"}</td><td className="text-muted">{formatTime(j.last_run_at)}</td><td>{j.last_outcome ?? "—"}</td><td className="text-muted">{formatTime(j.next_run_at)}</td></tr>)}</tbody>
      </table>
    </Card>
  );
}

/** Catalog pages show the new catalog once a sync ends. */
function useCatalogFollowsSyncs(runs: { id: string; status: string }[] | undefined) {
  const client = useQueryClient();
  const running = useRef(new Set<string>());
  useEffect(() => {
    if (!runs) return;
    const ended = runs.some((r) => running.current.has(r.id) && r.status !== "running");
    running.current = new Set(runs.filter((r) => r.status === "running").map((r) => r.id));
    if (ended) for (const key of ["matrix", "tactics", "techniques", "technique", "coverage"]) void client.invalidateQueries({ queryKey: [key] });
  }, [runs, client]);
}

function stageText(progress?: { stage: string; done: number; total: number }): string {
  if (!progress) return "starting";
  if (progress.stage === "applying" && progress.total) return `applying: ${progress.done} of ${progress.total} techniques`;
  return progress.stage;
}

function MitreSync() {
  const runs = useSyncRuns();
  const sync = useSyncMitre();
  const bundle = useUploadBundle();
  const [file, setFile] = useState<File | null>(null);
  useCatalogFollowsSyncs(runs.data?.items);
  const running = runs.data?.items.some((r) => r.status === "running");
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (file) bundle.mutate(file, { onSuccess: () => setFile(null) });
  };
  return (
    <Card title="MITRE ATT&CK">
      <p className="mb-2 text-sm text-muted">Sync from the configured source, or, without a network, upload a STIX bundle (enterprise-attack.json, plain or .gz).</p>
      <div className="flex flex-wrap items-end gap-2">
        <Button variant="primary" onClick={() => sync.mutate()} disabled={sync.isPending || running}>Sync now</Button>
        <form onSubmit={submit} className="flex flex-wrap items-end gap-2" aria-label="Upload a STIX bundle">
          <Field label="STIX bundle">
            <input key={file ? "chosen" : "empty"} type="file" accept=".json,.gz,application/json,application/gzip" className={inputClass} onChange={(e) => setFile(e.target.files?.[0] ?? null)} />
          </Field>
          <Button type="submit" disabled={!file || bundle.isPending || running}>Upload bundle</Button>
        </form>
      </div>
      {bundle.progress !== null && <p className="mt-2 text-sm" role="status">Uploading… {Math.round(bundle.progress * 100)}%{bundle.progress >= 1 ? " (reading the bundle)" : ""}</p>}
      <ErrorBox error={sync.error || bundle.error || runs.error} />
      <ul className="mt-2 space-y-1 text-sm" aria-label="Sync runs">
        {runs.data?.items.map((r) => (
          <li key={r.id} className="break-words">
            <Badge tone={r.status === "failed" ? "warn" : "neutral"}>{r.status}</Badge> {formatTime(r.started_at)} · {r.trigger} · <span className="text-muted wrap-anywhere">{r.source}</span>
            {r.status === "running" && <span role="status"> · {stageText(r.progress)}</span>}
            {r.release_version && <> · {r.domain} {r.release_version}</>}
            {r.status === "succeeded" && <> · {r.added} added, {r.updated} updated</>}
            {r.error && <p className="text-danger">{r.error}</p>}
          </li>
        ))}
      </ul>
    </Card>
  );
}

function Audit() {
  const audit = useAudit();
  return (
    <Card title="Audit log (latest 50)">
      <Button className="mb-2" onClick={() => void audit.refetch()} disabled={audit.isFetching}>{audit.isFetching ? "Refreshing…" : "Refresh"}</Button>
      <ErrorBox error={audit.error} />
      <ul className="text-sm">{audit.data?.items.map((e) => <li key={e.id} className="border-t border-line/60 py-1"><span className="text-muted">{formatTime(e.at)}</span> · {e.actor_name ?? "system"} · <code>{e.action}</code> {e.target_type && <span className="text-muted">{e.target_type} {e.target_id}</span>}</li>)}</ul>
    </Card>
  );
}

export function Admin() {
  return (
    <Page title="Admin">
      <div className="grid gap-4 xl:grid-cols-2">
        <Users />
        <div className="space-y-4"><Tokens /><MitreSync /></div>
        <Scheduler />
        <Audit />
      </div>
    </Page>
  );
}
