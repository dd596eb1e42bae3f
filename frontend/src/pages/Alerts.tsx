// The alert inbox, the alert rules (with a form built from each kind's
// schema) and the history of evaluations.
import { useMemo, useState, type FormEvent } from "react";
import { Link, NavLink, useSearchParams } from "react-router";
import { hasRole, useUser } from "../api/auth";
import { plural } from "../lib/words";
import type { Schemas } from "../api/client";
import { ALERT_STATUSES, parseEnum, SEVERITIES, type Severity } from "../api/enums";
import {
  useAlertAction,
  useAlertEvaluations,
  useAlertKinds,
  useAlertRules,
  useAlerts,
  useCreateRule,
  useDeleteRule,
  useEvaluateRule,
  useLastDelivery,
  useToggleRule,
} from "../api/hooks/alerts";
import { SchemaInputs } from "../components/SchemaForm";
import { Badge, Button, Card, Empty, ErrorBox, Field, formatTime, inputClass, Loading, Page, Pager } from "../components/ui";
import { initialValues, schemaFields, toParams } from "../lib/schemaForm";

function SeverityBadge({ severity }: { severity: Severity }) {
  const tone = severity === "critical" || severity === "high" ? "red" : severity === "medium" ? "warn" : "neutral";
  return <Badge tone={tone}>{severity}</Badge>;
}

function Tabs() {
  const tab = ({ isActive }: { isActive: boolean }) => `rounded-md px-3 py-1.5 text-sm ${isActive ? "bg-accent/15 font-semibold text-accent" : "text-muted hover:text-ink"}`;
  return (
    <nav aria-label="Alerts" className="mb-4 flex gap-1">
      <NavLink end to="/alerts" className={tab}>Inbox</NavLink>
      <NavLink to="/alerts/rules" className={tab}>Rules</NavLink>
      <NavLink to="/alerts/evaluations" className={tab}>Evaluations</NavLink>
    </nav>
  );
}

export function AlertInbox() {
  const user = useUser();
  const canAct = !hasRole(user, "viewer");
  const [params, setParams] = useSearchParams();
  const status = parseEnum(ALERT_STATUSES, params.get("status")) ?? "open";
  const offset = Number(params.get("offset") ?? 0);
  const alerts = useAlerts(status, offset);
  const rules = useAlertRules();
  const ruleName = (id: string) => rules.data?.find((r) => r.id === id)?.name ?? "a deleted rule";
  const act = useAlertAction();
  return (
    <Page title="Alerts">
      <Tabs />
      <div className="mb-3 flex gap-2" role="group" aria-label="Status">
        {ALERT_STATUSES.map((s) => (
          <Button key={s} variant={s === status ? "primary" : "secondary"} onClick={() => setParams({ status: s })}>{s}</Button>
        ))}
      </div>
      <ErrorBox error={alerts.error ?? act.error} />
      <Card>
        {alerts.isLoading ? <Loading /> : !alerts.data?.items.length ? <Empty>No {status} alerts.</Empty> : (
          <>
            <ul className="divide-y divide-line">
              {alerts.data.items.map((a) => (
                <li key={a.id} className="flex flex-wrap items-start gap-3 py-3" data-alert={a.title}>
                  <SeverityBadge severity={a.severity} />
                  <div className="min-w-0 flex-1">
                    <p className="font-medium">{a.title}</p>
                    <p className="text-sm text-muted">{a.message}</p>
                    <p className="mt-1 text-xs text-muted">
                      {ruleName(a.rule_id)} · opened {formatTime(a.opened_at)}
                      {a.acknowledged_by && ` · acknowledged by ${a.acknowledged_by} ${formatTime(a.acknowledged_at)}`}
                      {a.resolved_by && ` · resolved by ${a.resolved_by} ${formatTime(a.resolved_at)}`}
                    </p>
                    {(a.technique_ids.length > 0 || a.test_ids.length > 0) && (
                      <p className="mt-1 flex flex-wrap gap-2 text-xs">
                        {a.technique_ids.slice(0, 10).map((t) => <Link key={t} className="text-accent underline" to={`/techniques/${t}`}>{t}</Link>)}
                        {a.test_ids.slice(0, 10).map((t, i) => <Link key={t} className="text-accent underline" to={`/tests/${t}`}>test {i + 1}</Link>)}
                        {a.test_ids.length > 10 && <span className="text-muted">and {a.test_ids.length - 10} more tests</span>}
                      </p>
                    )}
                  </div>
                  {canAct && a.status === "open" && <Button onClick={() => act.mutate({ id: a.id, action: "acknowledge" })}>Acknowledge</Button>}
                  {canAct && a.status !== "resolved" && <Button onClick={() => act.mutate({ id: a.id, action: "resolve" })}>Resolve</Button>}
                </li>
              ))}
            </ul>
            <Pager total={alerts.data.total} limit={50} offset={offset} onPage={(o) => setParams({ status, offset: String(o) })} />
          </>
        )}
      </Card>
    </Page>
  );
}

export function AlertRules() {
  const user = useUser();
  const lead = hasRole(user, "admin", "lead");
  const rules = useAlertRules();
  const kinds = useAlertKinds();
  const evaluate = useEvaluateRule();
  const remove = useDeleteRule();
  const toggle = useToggleRule();
  const kindName = (id: string) => kinds.data?.find((k) => k.id === id)?.name ?? id;
  return (
    <Page title="Alert rules">
      <Tabs />
      {lead && kinds.data && <NewRule kinds={kinds.data} />}
      <ErrorBox error={rules.error ?? evaluate.error ?? remove.error ?? toggle.error} />
      {evaluate.data && (
        <p role="status" className="mb-3 text-sm">
          Evaluated: {plural(evaluate.data.findings, "finding")}, {plural(evaluate.data.opened, "new alert")}{evaluate.data.error ? ` — failed: ${evaluate.data.error}` : ""}.
        </p>
      )}
      <Card title="Rules">
        {rules.isLoading ? <Loading /> : !rules.data?.length ? <Empty>No alert rules yet.</Empty> : (
          <table className="w-full text-sm">
            <thead className="border-b border-line text-left text-muted"><tr><th className="py-2">Name</th><th>Kind</th><th>Severity</th><th>Scope</th><th>Last evaluated</th><th></th></tr></thead>
            <tbody>
              {rules.data.map((r) => (
                <tr key={r.id} className="border-b border-line/60 align-top">
                  <td className="py-2 font-medium">{r.name}{!r.enabled && <span className="text-muted"> (disabled)</span>}{r.webhook && <span className="text-xs text-muted"> · webhook {r.webhook}</span>}{lead && r.webhook && <LastDelivery ruleId={r.id} />}</td>
                  <td>{kindName(r.kind)}<div className="font-mono text-xs text-muted">{JSON.stringify(r.params)}</div></td>
                  <td><SeverityBadge severity={r.severity} /></td>
                  <td className="text-xs">{[r.tactic, r.platform, r.campaign_id && "campaign"].filter(Boolean).join(", ") || "everything"}</td>
                  <td className="text-xs">{formatTime(r.last_evaluated_at)}{r.last_error && <div className="text-danger">{r.last_error}</div>}</td>
                  <td className="whitespace-nowrap text-right">
                    {lead && <Button onClick={() => evaluate.mutate(r.id)}>Evaluate now</Button>}{" "}
                    {lead && <Button onClick={() => toggle.mutate(r)}>{r.enabled ? "Disable" : "Enable"}</Button>}{" "}
                    {lead && <Button variant="danger" onClick={() => confirm(`Delete the rule "${r.name}" and its alerts?`) && remove.mutate(r.id)}>Delete</Button>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </Card>
    </Page>
  );
}

/** The newest webhook delivery of a rule, in one line. */
function LastDelivery({ ruleId }: { ruleId: string }) {
  const deliveries = useLastDelivery(ruleId);
  const last = deliveries.data?.items[0];
  if (!last) return null;
  return (
    <div className={`text-xs ${last.delivered ? "text-muted" : "text-danger"}`}>
      last delivery {formatTime(last.at)}: {last.delivered ? "delivered" : `failed (${last.error ?? last.status_code})`} after {last.attempts} attempt{last.attempts === 1 ? "" : "s"}
    </div>
  );
}

function NewRule({ kinds }: { kinds: Schemas["AlertKindView"][] }) {
  const [name, setName] = useState("");
  const [kind, setKind] = useState(kinds[0]?.id ?? "");
  const [severity, setSeverity] = useState<Severity>("medium");
  const [tactic, setTactic] = useState("");
  const [platform, setPlatform] = useState("");
  const [webhook, setWebhook] = useState("");
  const [secret, setSecret] = useState("");
  const chosen = kinds.find((k) => k.id === kind);
  const fields = useMemo(() => schemaFields(chosen?.params_schema), [chosen]);
  const [values, setValues] = useState<Record<string, string>>(() => initialValues(fields));
  const create = useCreateRule();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      {
        name, kind, severity, params: toParams(fields, values),
        tactic: tactic || undefined, platform: platform || undefined,
        webhook_url: webhook || undefined, webhook_secret: secret || undefined,
      },
      { onSuccess: () => setName("") },
    );
  };
  return (
    <Card title="New rule" className="mb-4">
      <form aria-label="New rule" onSubmit={submit} className="flex flex-col gap-3">
        <div className="flex flex-wrap gap-3">
          <Field label="Name"><input className={inputClass} value={name} onChange={(e) => setName(e.target.value)} required /></Field>
          <Field label="Kind">
            <select className={inputClass} value={kind} onChange={(e) => { setKind(e.target.value); setValues(initialValues(schemaFields(kinds.find((k) => k.id === e.target.value)?.params_schema))); }}>
              {kinds.map((k) => <option key={k.id} value={k.id}>{k.name}{k.source === "plugin" ? " (plugin)" : ""}</option>)}
            </select>
          </Field>
          <Field label="Severity">
            <select className={inputClass} value={severity} onChange={(e) => setSeverity(parseEnum(SEVERITIES, e.target.value) ?? severity)}>
              {SEVERITIES.map((s) => <option key={s}>{s}</option>)}
            </select>
          </Field>
          <Field label="Tactic (optional)" hint="short name, e.g. credential-access"><input className={inputClass} value={tactic} onChange={(e) => setTactic(e.target.value)} /></Field>
          <Field label="Platform (optional)"><input className={inputClass} value={platform} onChange={(e) => setPlatform(e.target.value)} /></Field>
        </div>
        {chosen && <p className="text-sm text-muted">{chosen.description}</p>}
        <SchemaInputs fields={fields} values={values} onChange={setValues} />
        <div className="flex flex-wrap gap-3">
          <Field label="Webhook URL (optional)"><input className={inputClass} type="url" value={webhook} onChange={(e) => setWebhook(e.target.value)} /></Field>
          <Field label="Webhook secret" hint="16+ characters; signs each delivery"><input className={inputClass} type="password" value={secret} onChange={(e) => setSecret(e.target.value)} /></Field>
        </div>
        <div><Button type="submit" variant="primary">Create rule</Button></div>
        <ErrorBox error={create.error} />
      </form>
    </Card>
  );
}

export function AlertEvaluations() {
  const [offset, setOffset] = useState(0);
  const evaluations = useAlertEvaluations(offset);
  const rules = useAlertRules();
  const ruleName = (id: string) => rules.data?.find((r) => r.id === id)?.name ?? "a deleted rule";
  return (
    <Page title="Evaluations">
      <Tabs />
      <ErrorBox error={evaluations.error} />
      <Card>
        {evaluations.isLoading ? <Loading /> : !evaluations.data?.items.length ? <Empty>No evaluations yet; rules run hourly.</Empty> : (
          <>
            <table className="w-full text-sm">
              <thead className="border-b border-line text-left text-muted"><tr><th className="py-2">Rule</th><th>Started</th><th>Trigger</th><th>Duration</th><th>Findings</th><th>New alerts</th><th>Error</th></tr></thead>
              <tbody>
                {evaluations.data.items.map((e) => (
                  <tr key={e.id} className="border-b border-line/60">
                    <td className="py-2">{ruleName(e.rule_id)}</td><td>{formatTime(e.started_at)}</td><td>{e.trigger}</td>
                    <td>{e.duration_ms} ms</td><td>{e.findings}</td><td>{e.opened}</td><td className="text-danger">{e.error ?? ""}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Pager total={evaluations.data.total} limit={50} offset={offset} onPage={setOffset} />
          </>
        )}
      </Card>
    </Page>
  );
}
