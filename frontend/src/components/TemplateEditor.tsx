// Editing a template: every field its PATCH takes, sent as a change of the
// version the edit started from.
import type { FormEvent } from "react";
import type { Schemas } from "../api/client";
import { useTemplate, useUpdateTemplate } from "../api/hooks/templates";
import { argumentsFor } from "../lib/templates";
import { Button, Field, inputClass } from "./ui";
import { SaveProblem, useVersionedEdit } from "./VersionConflict";

type Template = Schemas["TemplateView"];
type Argument = Schemas["InputArgumentInput"];

type TemplateForm = {
  name: string;
  technique_id: string;
  platforms: string;
  executor: string;
  command: string;
  cleanup_command: string;
  elevation_required: boolean;
  description: string;
  input_arguments: Record<string, Argument>;
};

const LABELS: Record<keyof TemplateForm, string> = {
  name: "name",
  technique_id: "technique",
  platforms: "platforms",
  executor: "executor",
  command: "command",
  cleanup_command: "cleanup",
  elevation_required: "elevation",
  description: "description",
  input_arguments: "input arguments",
};

function project(t: Template): TemplateForm {
  return {
    name: t.name,
    technique_id: t.technique_id,
    platforms: t.platforms.join(", "),
    executor: t.executor ?? "",
    command: t.command,
    cleanup_command: t.cleanup_command ?? "",
    elevation_required: t.elevation_required,
    description: t.description,
    input_arguments: t.input_arguments,
  };
}

/** The PATCH body for the changed fields: empty executor and cleanup clear them. */
function toPatch(edits: Partial<TemplateForm>): Schemas["TemplatePatchInput"] {
  const patch: Schemas["TemplatePatchInput"] = {};
  if (edits.name !== undefined) patch.name = edits.name;
  if (edits.technique_id !== undefined) patch.technique_id = edits.technique_id.trim();
  if (edits.platforms !== undefined) patch.platforms = edits.platforms.split(",").map((p) => p.trim()).filter(Boolean);
  if (edits.executor !== undefined) patch.executor = edits.executor.trim() || null;
  if (edits.command !== undefined) patch.command = edits.command;
  if (edits.cleanup_command !== undefined) patch.cleanup_command = edits.cleanup_command.trim() || null;
  if (edits.elevation_required !== undefined) patch.elevation_required = edits.elevation_required;
  if (edits.description !== undefined) patch.description = edits.description;
  if (edits.input_arguments !== undefined) patch.input_arguments = edits.input_arguments;
  return patch;
}

export function TemplateEditor({ template, onDone }: { template: Template; onDone: () => void }) {
  const save = useUpdateTemplate(template.id);
  const current = useTemplate(template.id);
  const edit = useVersionedEdit(template, project, {
    save: (version, edits, handlers) => save.mutate({ version, ...toPatch(edits) }, handlers),
    refetch: async () => (await current.refetch()).data,
    onDone,
  });
  const { form, setForm } = edit;
  const set = <K extends keyof TemplateForm>(key: K, value: TemplateForm[K]) => setForm((f) => ({ ...f, [key]: value }));
  const setArgument = (name: string, change: Partial<Argument>) =>
    set("input_arguments", { ...form.input_arguments, [name]: { ...form.input_arguments[name], ...change } });

  const submit = (e: FormEvent) => {
    e.preventDefault();
    edit.submit();
  };

  return (
    <form onSubmit={submit} aria-label="Edit template" className="grid gap-2 md:grid-cols-2">
      <Field label="Name"><input className={inputClass} value={form.name} onChange={(e) => set("name", e.target.value)} required maxLength={200} /></Field>
      <Field label="ATT&CK technique"><input className={inputClass} value={form.technique_id} onChange={(e) => set("technique_id", e.target.value)} required pattern="[Tt][0-9]{4}(\.[0-9]{3})?" /></Field>
      <Field label="Platforms" hint="Comma separated"><input className={inputClass} value={form.platforms} onChange={(e) => set("platforms", e.target.value)} /></Field>
      <Field label="Executor" hint="Empty clears it"><input className={inputClass} value={form.executor} onChange={(e) => set("executor", e.target.value)} maxLength={255} /></Field>
      <div className="md:col-span-2">
        <Field label="Command" hint="#{name} marks an input argument">
          <textarea rows={4} className={`${inputClass} font-mono`} value={form.command} onChange={(e) => set("command", e.target.value)} />
        </Field>
      </div>
      <div className="md:col-span-2">
        <Field label="Cleanup command" hint="Empty clears it">
          <textarea rows={2} className={`${inputClass} font-mono`} value={form.cleanup_command} onChange={(e) => set("cleanup_command", e.target.value)} />
        </Field>
      </div>
      <div className="md:col-span-2"><Field label="Description"><textarea rows={3} className={inputClass} value={form.description} onChange={(e) => set("description", e.target.value)} /></Field></div>
      <label className="flex items-center gap-2 text-sm">
        <input type="checkbox" checked={form.elevation_required} onChange={(e) => set("elevation_required", e.target.checked)} /> Elevation required
      </label>
      <fieldset className="md:col-span-2 rounded-md border border-line p-2">
        <legend className="px-1 text-sm font-medium text-muted">Input arguments</legend>
        {Object.keys(form.input_arguments).length === 0 && <p className="text-sm text-muted">None.</p>}
        {Object.entries(form.input_arguments).map(([name, a]) => (
          <div key={name} className="mb-2 grid gap-2 sm:grid-cols-[8rem_6rem_1fr_1fr_auto] sm:items-end">
            <code className="break-all py-1.5 text-sm">{name}</code>
            <Field label={`Type of ${name}`}><input className={inputClass} value={a.type ?? ""} onChange={(e) => setArgument(name, { type: e.target.value })} /></Field>
            <Field label={`Default of ${name}`}><input className={inputClass} value={a.default ?? ""} onChange={(e) => setArgument(name, { default: e.target.value })} /></Field>
            <Field label={`Description of ${name}`}><input className={inputClass} value={a.description ?? ""} onChange={(e) => setArgument(name, { description: e.target.value })} /></Field>
            <Button type="button" onClick={() => set("input_arguments", Object.fromEntries(Object.entries(form.input_arguments).filter(([n]) => n !== name)))}>Remove {name}</Button>
          </div>
        ))}
        <Button type="button" onClick={() => set("input_arguments", argumentsFor(form.command, form.input_arguments, true))}>
          Add the command's #{"{…}"} arguments
        </Button>
      </fieldset>
      <div className="flex flex-col gap-2 md:col-span-2">
        <SaveProblem what="template" error={save.error} conflict={edit.conflict} labels={LABELS} onTakeTheirs={save.reset} />
        <div className="flex gap-2">
          <Button type="submit" variant="primary" disabled={save.isPending}>Save template</Button>
          <Button type="button" onClick={onDone}>Cancel</Button>
        </div>
      </div>
    </form>
  );
}
