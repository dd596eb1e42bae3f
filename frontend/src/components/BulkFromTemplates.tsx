// Tests from many templates at once: the selected templates, one draft test
// each, into a campaign with shared host, assignees and tags.
import { type FormEvent, useState } from "react";
import { Link } from "react-router";
import { hasRole, useUser } from "../api/auth";
import type { Schemas } from "../api/client";
import { useCampaigns } from "../api/hooks/campaigns";
import { useCreateTestsFromTemplates } from "../api/hooks/templates";
import { usePeople } from "../api/hooks/tests";
import { plural } from "../lib/words";
import { PersonSelect } from "./PersonSelect";
import { Button, ErrorBox, Field, inputClass } from "./ui";

export function BulkFromTemplates({ selected }: { selected: Map<string, string> }) {
  const user = useUser();
  const people = usePeople();
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
        <Field label="Red assignee" hint={hasRole(user, "red_tech") ? "Left out: yours" : undefined}>
          <PersonSelect side="red" people={people.data} value={plan.red_assignee_id} onValue={(id) => setPlan((p) => ({ ...p, red_assignee_id: id }))} nobody={hasRole(user, "red_tech") ? "Me" : "Nobody yet"} />
        </Field>
        <Field label="Blue assignee">
          <PersonSelect side="blue" people={people.data} value={plan.blue_assignee_id} onValue={(id) => setPlan((p) => ({ ...p, blue_assignee_id: id }))} nobody="Nobody yet" />
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
