// A form from a JSON Schema: the parameters of an alert-rule kind and the
// configuration of a plugin both come with one. Covers the flat objects
// those schemas are (strings, enums, numbers, integers, booleans); anything
// else is edited as JSON text.

export type FieldKind = "string" | "enum" | "number" | "integer" | "boolean" | "json";

export interface SchemaField {
  name: string;
  label: string;
  kind: FieldKind;
  options: string[];
  required: boolean;
  min?: number;
  max?: number;
  default?: unknown;
}

/** `value` if it is a plain JSON object, else an empty one (schemas and
 *  configurations arrive as `unknown`). */
export function asRecord(value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value));
}

/** The fields of an object schema, in the order it lists them. */
export function schemaFields(schema: unknown): SchemaField[] {
  const s = asRecord(schema);
  const required = new Set(Array.isArray(s.required) ? s.required.filter((r) => typeof r === "string") : []);
  return Object.entries(asRecord(s.properties)).map(([name, property]) => {
    const p = asRecord(property);
    const type = p.type;
    const options = Array.isArray(p.enum) ? p.enum.map(String) : [];
    const kind: FieldKind = options.length
      ? "enum"
      : type === "string" || type === "number" || type === "integer" || type === "boolean"
        ? type
        : "json";
    const bound = (v: unknown) => (typeof v === "number" ? v : undefined);
    return {
      name,
      label: typeof p.title === "string" ? p.title : name,
      kind,
      options,
      required: required.has(name),
      min: bound(p.minimum),
      max: bound(p.maximum),
      default: p.default,
    };
  });
}

/** Form text for each field, from a current value or the schema's default. */
export function initialValues(fields: SchemaField[], current: Record<string, unknown> = {}): Record<string, string> {
  const values: Record<string, string> = {};
  for (const f of fields) {
    const v = current[f.name] ?? f.default;
    values[f.name] = v === undefined ? "" : f.kind === "json" ? JSON.stringify(v) : String(v);
  }
  return values;
}

/** The object to send: typed values, empty optional fields left out. The
 *  server validates against the schema and names any field it refuses. */
export function toParams(fields: SchemaField[], values: Record<string, string>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fields) {
    const text = (values[f.name] ?? "").trim();
    if (text === "") continue;
    switch (f.kind) {
      case "number":
      case "integer":
        out[f.name] = Number(text);
        break;
      case "boolean":
        out[f.name] = text === "true";
        break;
      case "json":
        try {
          out[f.name] = JSON.parse(text);
        } catch {
          out[f.name] = text;
        }
        break;
      default:
        out[f.name] = text;
    }
  }
  return out;
}
