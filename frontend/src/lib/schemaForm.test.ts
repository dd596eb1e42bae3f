import { describe, expect, it } from "vitest";
import { asRecord, initialValues, schemaFields, toParams } from "./schemaForm";

const schema = {
  type: "object",
  required: ["hours"],
  properties: {
    hours: { type: "integer", minimum: 1, maximum: 8760, default: 24, title: "Hours" },
    severity: { type: "string", enum: ["low", "high"], default: "low" },
    note: { type: "string" },
    loud: { type: "boolean" },
    tags: { type: "array" },
  },
};

describe("schema forms", () => {
  it("reads fields, kinds, bounds and defaults", () => {
    const fields = schemaFields(schema);
    expect(fields.map((f) => [f.name, f.kind])).toEqual([
      ["hours", "integer"], ["severity", "enum"], ["note", "string"], ["loud", "boolean"], ["tags", "json"],
    ]);
    expect(fields[0]).toMatchObject({ label: "Hours", required: true, min: 1, max: 8760, default: 24 });
    expect(fields[1].options).toEqual(["low", "high"]);
  });

  it("starts from current values, else defaults", () => {
    const fields = schemaFields(schema);
    expect(initialValues(fields, { severity: "high", tags: ["a"] })).toEqual({
      hours: "24", severity: "high", note: "", loud: "", tags: '["a"]',
    });
  });

  it("types what it sends and leaves empty optional fields out", () => {
    const fields = schemaFields(schema);
    expect(toParams(fields, { hours: "48", severity: "high", note: " ", loud: "true", tags: '["x"]' })).toEqual({
      hours: 48, severity: "high", loud: true, tags: ["x"],
    });
  });

  it("treats a missing schema as no fields", () => {
    expect(schemaFields(undefined)).toEqual([]);
    expect(schemaFields(["not", "a", "schema"])).toEqual([]);
    expect(schemaFields({ properties: { n: "not an object" }, required: [1, "n"] })).toMatchObject([{ name: "n", kind: "json", required: true }]);
    expect(asRecord(null)).toEqual({});
    expect(toParams([], {})).toEqual({});
  });
});
