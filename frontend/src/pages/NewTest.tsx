import { useState, type FormEvent } from "react";
import { useNavigate, useSearchParams } from "react-router";
import { useUser } from "../api/auth";
import { useCampaigns } from "../api/hooks/campaigns";
import { useTemplate } from "../api/hooks/templates";
import { useCreateTest, usePeople } from "../api/hooks/tests";
import { PersonSelect } from "../components/PersonSelect";
import { TestError } from "../components/TestError";
import { Button, Card, Field, inputClass, Page } from "../components/ui";
import { splitTags } from "../lib/testEdit";

/** Plan a test from scratch, or from a template (`?template=<id>`). */
export function NewTest() {
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const templateId = params.get("template");
  const template = useTemplate(templateId);
  const campaigns = useCampaigns();
  const people = usePeople();
  const user = useUser();
  const [form, setForm] = useState({ name: "", technique_id: params.get("technique") ?? "", procedure: "", platform: "", target_host: "", tags: "", campaign_id: params.get("campaign") ?? "", red_assignee_id: "", blue_assignee_id: "" });
  const [args, setArgs] = useState<Record<string, string>>({});
  const set = (key: keyof typeof form) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [key]: e.target.value }));
  const tags = splitTags(form.tags);
  const assignees = { red_assignee_id: form.red_assignee_id || undefined, blue_assignee_id: form.blue_assignee_id || undefined };
  const create = useCreateTest();
  const submit = (e: FormEvent) => {
    e.preventDefault();
    create.mutate(
      templateId
        ? {
            from: "template",
            templateId,
            body: { name: form.name || undefined, arguments: args, platform: form.platform || undefined, target_host: form.target_host || undefined, tags, campaign_id: form.campaign_id || undefined, ...assignees },
          }
        : {
            from: "scratch",
            body: { name: form.name, technique_id: form.technique_id, procedure: form.procedure, platform: form.platform || undefined, target_host: form.target_host || undefined, tags, campaign_id: form.campaign_id || undefined, ...assignees },
          },
      { onSuccess: (test) => navigate(`/tests/${test.id}`) },
    );
  };
  return (
    <Page title={template.data ? `New test from “${template.data.name}”` : "New test"}>
      <Card>
        <form onSubmit={submit} className="grid max-w-3xl gap-3 md:grid-cols-2">
          <div className="md:col-span-2"><TestError error={create.error || template.error} /></div>
          <Field label="Name"><input className={inputClass} value={form.name} onChange={set("name")} required={!templateId} placeholder={template.data?.name} /></Field>
          {!templateId && <Field label="ATT&CK technique" hint="An id from the catalog, e.g. T1059.001"><input className={inputClass} value={form.technique_id} onChange={set("technique_id")} required /></Field>}
          {!templateId && (
            <div className="md:col-span-2"><Field label="Procedure / command"><textarea rows={5} className={`${inputClass} font-mono`} value={form.procedure} onChange={set("procedure")} /></Field></div>
          )}
          {template.data && Object.entries(template.data.input_arguments).map(([name, a]) => (
            <Field key={name} label={`Argument ${name}`} hint={a.description}>
              <input className={inputClass} placeholder={a.default} value={args[name] ?? ""} onChange={(e) => setArgs((x) => ({ ...x, [name]: e.target.value }))} />
            </Field>
          ))}
          <Field label="Platform"><input className={inputClass} value={form.platform} onChange={set("platform")} /></Field>
          <Field label="Target host"><input className={inputClass} value={form.target_host} onChange={set("target_host")} /></Field>
          <Field label="Tags" hint="Comma separated"><input className={inputClass} value={form.tags} onChange={set("tags")} /></Field>
          <Field label="Campaign">
            <select className={inputClass} value={form.campaign_id} onChange={set("campaign_id")}>
              <option value="">None</option>
              {campaigns.data?.items.filter((c) => c.status !== "completed").map((c) => <option key={c.id} value={c.id}>{c.name}</option>)}
            </select>
          </Field>
          <Field label="Red assignee" hint={user.role === "red_tech" ? "Left empty, the test is yours" : undefined}>
            <PersonSelect side="red" people={people.data} value={form.red_assignee_id} onValue={(id) => setForm((f) => ({ ...f, red_assignee_id: id }))} />
          </Field>
          <Field label="Blue assignee">
            <PersonSelect side="blue" people={people.data} value={form.blue_assignee_id} onValue={(id) => setForm((f) => ({ ...f, blue_assignee_id: id }))} />
          </Field>
          <div className="md:col-span-2"><Button type="submit" variant="primary" disabled={create.isPending}>{create.isPending ? "Creating…" : "Create draft"}</Button></div>
        </form>
      </Card>
    </Page>
  );
}
