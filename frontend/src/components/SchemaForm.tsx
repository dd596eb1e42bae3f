// Inputs for the fields of a JSON Schema (see lib/schemaForm).
import { inputClass, Field } from "./ui";
import type { SchemaField } from "../lib/schemaForm";

export function SchemaInputs({
  fields,
  values,
  onChange,
}: {
  fields: SchemaField[];
  values: Record<string, string>;
  onChange: (values: Record<string, string>) => void;
}) {
  if (!fields.length) return <p className="text-sm text-muted">No parameters.</p>;
  const set = (name: string, value: string) => onChange({ ...values, [name]: value });
  return (
    <div className="flex flex-wrap gap-3">
      {fields.map((f) => {
        const value = values[f.name] ?? "";
        const hint = f.min !== undefined || f.max !== undefined ? `${f.min ?? "…"} to ${f.max ?? "…"}` : undefined;
        return (
          <Field key={f.name} label={f.label + (f.required ? " *" : "")} hint={hint}>
            {f.kind === "enum" ? (
              <select className={inputClass} value={value} onChange={(e) => set(f.name, e.target.value)}>
                {!f.required && <option value="">—</option>}
                {f.options.map((o) => <option key={o} value={o}>{o}</option>)}
              </select>
            ) : f.kind === "boolean" ? (
              <select className={inputClass} value={value} onChange={(e) => set(f.name, e.target.value)}>
                <option value="">—</option>
                <option value="true">yes</option>
                <option value="false">no</option>
              </select>
            ) : (
              <input
                className={inputClass}
                type={f.kind === "number" || f.kind === "integer" ? "number" : "text"}
                step={f.kind === "integer" ? 1 : "any"}
                min={f.min}
                max={f.max}
                required={f.required}
                value={value}
                onChange={(e) => set(f.name, e.target.value)}
              />
            )}
          </Field>
        );
      })}
    </div>
  );
}
