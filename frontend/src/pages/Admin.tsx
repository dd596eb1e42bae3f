import { useState, type FormEvent } from "react";
import { parseEnum, ROLES, type Role } from "../api/enums";
import { useAudit, useSchedulerStatus, useSyncMitre, useSyncRuns } from "../api/hooks/system";
import { useChangeUser, useCreateToken, useCreateUser, useRevokeToken, useTokens, useUsers } from "../api/hooks/users";
import { Badge, Button, Card, Empty, ErrorBox, Field, formatTime, inputClass, Loading, Page } from "../components/ui";

function Users() {
  const users = useUsers();
  const blank: { username: string; role: Role; password: string } = { username: "", role: "red_tech", password: "" };
  const [form, setForm] = useState(blank);
  const create = useCreateUser();
  const change = useChangeUser();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(form, { onSuccess: () => setForm(blank) });
  };
  return (
    <Card title="Users">
      <form onSubmit={submit} className="mb-3 flex flex-wrap items-end gap-2" aria-label="New user">
        <Field label="Username"><input className={inputClass} value={form.username} onChange={(e) => setForm({ ...form, username: e.target.value })} required /></Field>
        <Field label="Role">
          <select className={inputClass} value={form.role} onChange={(e) => setForm({ ...form, role: parseEnum(ROLES, e.target.value) ?? form.role })}>{ROLES.map((r) => <option key={r}>{r}</option>)}</select>
        </Field>
        <Field label="Password"><input type="password" className={inputClass} value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} required minLength={10} /></Field>
        <Button type="submit" variant="primary">Create user</Button>
      </form>
      <ErrorBox error={create.error || users.error || change.error} />
      {users.isLoading ? <Loading /> : (
        <table className="w-full text-sm">
          <thead className="text-left text-muted"><tr><th>User</th><th>Role</th><th>Active</th><th>Last sign-in</th><th /></tr></thead>
          <tbody>
            {users.data?.items.map((u) => (
              <tr key={u.id} className="border-t border-line/60">
                <td className="py-1">{u.username}</td>
                <td>
                  <select aria-label={`Role of ${u.username}`} className={inputClass} value={u.role} onChange={(e) => change.mutate({ id: u.id, role: parseEnum(ROLES, e.target.value) })}>
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

function MitreSync() {
  const runs = useSyncRuns();
  const sync = useSyncMitre();
  return (
    <Card title="MITRE ATT&CK sync">
      <Button variant="primary" onClick={() => sync.mutate()} disabled={sync.isPending}>Sync now</Button>
      <ErrorBox error={sync.error || runs.error} />
      <ul className="mt-2 text-sm">{runs.data?.items.map((r) => <li key={r.id}><Badge>{r.status}</Badge> {formatTime(r.started_at)} · {r.release_version ?? ""} · +{r.added} ~{r.updated} {r.error && <span className="text-danger">{r.error}</span>}</li>)}</ul>
    </Card>
  );
}

function Audit() {
  const audit = useAudit();
  return (
    <Card title="Audit log (latest 50)">
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
