// Editing a campaign's plan: name, dates, description and adversary, sent
// as a change of the version the edit started from.
import type { FormEvent } from "react";
import type { Schemas } from "../api/client";
import { useCampaign, useUpdateCampaign } from "../api/hooks/campaigns";
import { Button, Field, inputClass } from "./ui";
import { SaveProblem, useVersionedEdit } from "./VersionConflict";

type Campaign = Schemas["CampaignView"];
type CampaignForm = { name: string; threat_actor: string; starts_on: string; ends_on: string; description: string };

const LABELS: Record<keyof CampaignForm, string> = {
  name: "name",
  threat_actor: "threat actor",
  starts_on: "start",
  ends_on: "end",
  description: "description",
};

const project = (c: Campaign): CampaignForm => ({
  name: c.name,
  threat_actor: c.threat_actor ?? "",
  starts_on: c.starts_on ?? "",
  ends_on: c.ends_on ?? "",
  description: c.description,
});

/** The PATCH body for the changed fields: an emptied actor or date clears it. */
function toPatch(edits: Partial<CampaignForm>): Schemas["CampaignPatchInput"] {
  const patch: Schemas["CampaignPatchInput"] = {};
  if (edits.name !== undefined) patch.name = edits.name;
  if (edits.description !== undefined) patch.description = edits.description;
  if (edits.threat_actor !== undefined) patch.threat_actor = edits.threat_actor.trim() || null;
  if (edits.starts_on !== undefined) patch.starts_on = edits.starts_on || null;
  if (edits.ends_on !== undefined) patch.ends_on = edits.ends_on || null;
  return patch;
}

export function CampaignEditor({ campaign, onDone }: { campaign: Campaign; onDone: () => void }) {
  const save = useUpdateCampaign(campaign.id);
  const current = useCampaign(campaign.id);
  const edit = useVersionedEdit(campaign, project, {
    save: (version, edits, handlers) => save.mutate({ version, ...toPatch(edits) }, handlers),
    refetch: async () => (await current.refetch()).data,
    onDone,
  });
  const { form, setForm } = edit;
  const set = (key: keyof CampaignForm) => (e: { target: { value: string } }) => setForm((f) => ({ ...f, [key]: e.target.value }));
  const submit = (e: FormEvent) => {
    e.preventDefault();
    edit.submit();
  };
  const datesBackwards = form.starts_on && form.ends_on && form.ends_on < form.starts_on;
  return (
    <form onSubmit={submit} aria-label="Edit campaign" className="grid gap-2 md:grid-cols-2">
      <Field label="Name"><input className={inputClass} value={form.name} onChange={set("name")} required maxLength={200} /></Field>
      <Field label="Threat actor" hint="The adversary emulated; empty clears it"><input className={inputClass} value={form.threat_actor} onChange={set("threat_actor")} maxLength={200} /></Field>
      <Field label="Starts on"><input type="date" className={inputClass} value={form.starts_on} onChange={set("starts_on")} /></Field>
      <Field label="Ends on" hint={datesBackwards ? "The end is before the start" : undefined}>
        <input type="date" className={inputClass} value={form.ends_on} min={form.starts_on || undefined} onChange={set("ends_on")} aria-invalid={!!datesBackwards} />
      </Field>
      <div className="md:col-span-2"><Field label="Description"><textarea rows={3} className={inputClass} value={form.description} onChange={set("description")} /></Field></div>
      <div className="flex flex-col gap-2 md:col-span-2">
        <SaveProblem what="campaign" error={save.error} conflict={edit.conflict} labels={LABELS} onTakeTheirs={save.reset} />
        <div className="flex gap-2">
          <Button type="submit" variant="primary" disabled={save.isPending || !!datesBackwards}>Save campaign</Button>
          <Button type="button" onClick={onDone}>Cancel</Button>
        </div>
      </div>
    </form>
  );
}
