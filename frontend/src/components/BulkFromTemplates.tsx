// Tests from many templates at once: the selected templates, one draft test
// each, into a campaign with shared host, assignees and tags.
import { type FormEvent, useState } from "react";
import { Link } from "react-router";
import { hasRole, useUser } from "../api/auth";
import type { Schemas } from "../api/client";
import { useCampaigns } from "../api/hooks/campaigns";
import { useCreateTestsFromTemplates } from "../api/hooks/templates";
import { useUsers } from "../api/hooks/users";
import { plural } from "../lib/templates";
import { Button, ErrorBox, Field, inputClass } from "./ui";

/** Users to assign, for administrators (the only role that lists users). */
function AssigneeOptions({ role }: { role: "red_tech" | "blue_tech" }) {
  const users = useUsers();
  return (
    <>
      {users.data?.items
        .filter((u) => u.active && (u.role === role || u.role === "lead" || u.role === "admin"))
        .map((u) => <option key={u.id} value={u.id}>{u.display_name || u.username}</option>)}
    </>
  );
}

export function BulkFromTemplates({ selected }: { selected: Map<string, string> }) {
  const user = useUser();
  const admin = hasRole(user, "admin");
  const campaigns = useCampaigns();
  const create = useCreateTestsFromTemplates();
  const [plan, setPlan] = useState({ campaign_id: "", target_host: "", tags: "", red_assignee_id: "", blue_assignee_id: "" });
  const set = (key: keyof typeof plan) => (e: { target: { value: string } }) => setPlan((p) => ({ ...p, [key]: e.target.value }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    const body: Schemas["FromTemplatesInput"] = {
      template_ids: [...selected.keys()],
      campaign_id: plan.campaign_id || undefined,
      target_host: plan.target_host.trim() || undefined,
      red_assignee_id: plan.red_assignee_id || undefined,
      blue_assignee_id: plan.blue_assignee_id || undefined,
      tags: plan.tags.split(",").map((t) => t.trim()).filter(Boolean),
    };
    create.mutate(body);
  };
  const report = create.data;
  const open = campaigns.data?.items.filter((c) => c.status !== "completed") ?? [];
  return (
    <form onSubmit={submit} aria-label="Tests from templates" className="flex flex-col gap-2">
      <p className="text-sm">
        One draft test from each of the {plural(selected.size, "selected template")}, with its command's default arguments.
      </p>
      <div className="grid gap-2 md:grid-cols-3">
        <Field label="Campaign">
          <select className={inputClass} value={plan.campaign_id} onChange={set("campaign_id")}>
            <option value="">No campaign</option>
            {open.map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
          </select>
        </Field>
        <Field label="Target host"><input className={inputClass} value={plan.target_host} onChange={set("target_host")} maxLength={255} /></Field>
        <Field label="Tags" hint="Comma separated"><input className={inputClass} value={plan.tags} onChange={set("tags")} /></Field>
        <Field label="Red assignee" hint={admin ? undefined : "A red tech's own tests are theirs"}>
          <select className={inputClass} value={plan.red_assignee_id} onChange={set("red_assignee_id")}>
            <option value="">{hasRole(user, "red_tech") ? "Me" : "Nobody yet"}</option>
            {!hasRole(user, "red_tech") && <option value={user.id}>Me</option>}
            {admin && <AssigneeOptions role="red_tech" />}
          </select>
        </Field>
        <Field label="Blue assignee">
          <select className={inputClass} value={plan.blue_assignee_id} onChange={set("blue_assignee_id")}>
            <option value="">Nobody yet</option>
            {admin && <AssigneeOptions role="blue_tech" />}
          </select>
        </Field>
      </div>
      <ErrorBox error={create.error} />
      {report && (
        <div role="status" className="text-sm">
          <p>
            {plural(report.created, "test")} created{report.failed ? `, ${report.failed} not` : ""}.{" "}
            {plan.campaign_id && report.created > 0 && <Link className="text-accent underline" to={`/campaigns/${plan.campaign_id}`}>Open the campaign</Link>}
          </p>
          {report.failed > 0 && (
            <ul className="list-disc pl-5">
              {report.results.filter((r) => r.problem).map((r) => (
                <li key={r.template_id}>{selected.get(r.template_id) ?? r.template_id}: {r.problem?.detail}</li>
              ))}
            </ul>
          )}
        </div>
      )}
      <div>
        <Button type="submit" variant="primary" disabled={create.isPending || selected.size === 0}>
          Create {plural(selected.size, "test")}
        </Button>
      </div>
    </form>
  );
}
