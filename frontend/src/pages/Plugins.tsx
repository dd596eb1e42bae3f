// Plugins (administrators): upload a component, switch it on and off,
// configure it with a form built from its schema, delete it.
import { useMemo, useState } from "react";
import type { Schemas } from "../api/client";
import { parseEnum, PLUGIN_KIND_LABELS, PLUGIN_KINDS, type PluginKind } from "../api/enums";
import { useConfigurePlugin, useDeletePlugin, usePlugins, useTogglePlugin, useUploadPlugin } from "../api/hooks/plugins";
import { SchemaInputs } from "../components/SchemaForm";
import { Badge, Button, Card, Empty, ErrorBox, Field, formatTime, inputClass, Loading, Page } from "../components/ui";
import { asRecord, initialValues, schemaFields, toParams } from "../lib/schemaForm";

export function Plugins() {
  const plugins = usePlugins();
  const [kind, setKind] = useState<PluginKind>("alert_rule");
  const uploader = useUploadPlugin(kind);
  const { progress } = uploader;
  function send(files: FileList | null) {
    const file = files?.[0];
    if (file) uploader.mutate(file);
  }
  const toggle = useTogglePlugin();
  const remove = useDeletePlugin();
  return (
    <Page title="Plugins">
      <Card title="Upload a plugin" className="mb-4">
        <div className="flex flex-wrap items-end gap-3">
          <Field label="Kind">
            <select className={inputClass} value={kind} onChange={(e) => setKind(parseEnum(PLUGIN_KINDS, e.target.value) ?? kind)}>
              {PLUGIN_KINDS.map((k) => <option key={k} value={k}>{PLUGIN_KIND_LABELS[k]}</option>)}
            </select>
          </Field>
          <Field label="Component (.wasm)" hint="checked in the sandbox before it is stored">
            <input type="file" accept=".wasm,application/wasm" aria-label="Plugin component" onChange={(e) => send(e.target.files)} />
          </Field>
          {progress !== null && <progress max={1} value={progress} aria-label="Uploading" />}
        </div>
        <ErrorBox error={uploader.error} />
        <p className="mt-2 text-xs text-muted">How to write one: plugins/README.md in the Aegis repository.</p>
      </Card>
      <ErrorBox error={plugins.error ?? toggle.error ?? remove.error} />
      {plugins.isLoading ? <Loading /> : !plugins.data?.items.length ? <Card><Empty>No plugins yet.</Empty></Card> : (
        <div className="grid gap-4 lg:grid-cols-2">
          {plugins.data.items.map((p) => (
            <Card key={p.id}>
              <div className="flex flex-wrap items-start justify-between gap-2" data-plugin={p.key}>
                <div>
                  <h2 className="font-semibold">{p.name} <span className="font-mono text-xs text-muted">{p.key}</span></h2>
                  <p className="text-sm text-muted">{p.description}</p>
                  <p className="mt-1 flex flex-wrap gap-2 text-xs">
                    <Badge>{PLUGIN_KIND_LABELS[p.kind].toLowerCase()}</Badge>
                    <Badge tone={p.enabled ? "blue" : "warn"}>{p.enabled ? "enabled" : "disabled"}</Badge>
                    <span className="text-muted">aegis:plugin@{p.interface_version} · {p.calls} calls, {p.failures} failed · {Math.round(p.size_bytes / 1024)} KB</span>
                  </p>
                  {p.disabled_reason && <p className="text-xs text-danger">{p.disabled_reason}</p>}
                  {p.last_error && <p className="text-xs text-danger">Last error ({formatTime(p.last_error_at)}): {p.last_error}</p>}
                </div>
                <div className="flex gap-2">
                  <Button onClick={() => toggle.mutate(p)}>{p.enabled ? "Disable" : "Enable"}</Button>
                  <Button variant="danger" onClick={() => confirm(`Delete the plugin "${p.name}"?`) && remove.mutate(p.id)}>Delete</Button>
                </div>
              </div>
              <PluginConfig plugin={p} />
            </Card>
          ))}
        </div>
      )}
    </Page>
  );
}

function PluginConfig({ plugin }: { plugin: Schemas["PluginView"] }) {
  const fields = useMemo(() => schemaFields(plugin.config_schema), [plugin.config_schema]);
  const [values, setValues] = useState(() => initialValues(fields, asRecord(plugin.config)));
  const save = useConfigurePlugin(plugin);
  if (!fields.length) return null;
  return (
    <form aria-label={`Configure ${plugin.name}`} className="mt-3 border-t border-line pt-3" onSubmit={(e) => { e.preventDefault(); save.mutate(toParams(fields, values)); }}>
      <SchemaInputs fields={fields} values={values} onChange={setValues} />
      <Button type="submit" className="mt-2">Save configuration</Button>
      {save.isSuccess && <span role="status" className="ml-2 text-sm text-muted">Saved.</span>}
      <ErrorBox error={save.error} />
    </form>
  );
}
