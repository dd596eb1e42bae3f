import { describe, expect, it } from "vitest";
import { addReports, argumentsFor, changedFields, describeImport, isYamlPick, placeholders } from "./templates";
import { plural } from "./words";

describe("template placeholders", () => {
  it("are found once each, in order, with Atomic Red Team's names", () => {
    expect(placeholders('gcloud iam #{service-account-name} --key "#{output_file}" #{service-account-name}')).toEqual([
      "service-account-name",
      "output_file",
    ]);
    expect(placeholders("whoami /all")).toEqual([]);
    expect(placeholders("#{not closed")).toEqual([]);
  });

  it("become arguments that keep what was already said about them", () => {
    const file = { description: "what to read", type: "path", default: "/etc/shadow" };
    expect(argumentsFor("cat #{file} > #{out}", { file, gone: file })).toEqual({
      file,
      out: { description: "", type: "string", default: "" },
    });
    expect(Object.keys(argumentsFor("id", { gone: file }, true))).toEqual(["gone"]);
  });
});

describe("imports", () => {
  it("pick YAML files, not hidden ones", () => {
    expect(isYamlPick("atomics/T1003/T1003.yaml")).toBe(true);
    expect(isYamlPick("T1003.YML")).toBe(true);
    expect(isYamlPick("atomics/T1003/._T1003.yaml")).toBe(false);
    expect(isYamlPick("atomics/T1003/T1003.md")).toBe(false);
  });

  it("add up, each unknown technique once, in words with plurals that agree", () => {
    const one = { files: 1, created: 1, updated: 0, unchanged: 2, unknown_techniques: ["T1999"], problems: [] };
    const two = { files: 1, created: 3, updated: 1, unchanged: 0, unknown_techniques: ["T1999", "T1998"], problems: [{ file: "x.yaml", reason: "bad" }] };
    const total = addReports([one, two]);
    expect(total).toMatchObject({ files: 2, created: 4, updated: 1, unchanged: 2, unknown_techniques: ["T1999", "T1998"] });
    expect(total.problems).toHaveLength(1);
    expect(describeImport(total)).toBe("2 files: 4 templates created, 1 updated, 2 unchanged");
    expect(describeImport(addReports([one]))).toBe("1 file: 1 template created, 0 updated, 2 unchanged");
    expect(plural(0, "finding")).toBe("0 findings");
    expect(plural(1, "finding")).toBe("1 finding");
  });
});

describe("changed fields", () => {
  it("compare values, lists and maps by content", () => {
    const before = { name: "a", platforms: ["linux"], args: { x: 1 }, cleanup: undefined as string | undefined };
    expect(changedFields(before, { ...before, platforms: ["linux"] }, ["name", "platforms", "args", "cleanup"])).toEqual([]);
    expect(changedFields(before, { ...before, name: "b", args: { x: 2 }, cleanup: "rm" }, ["name", "platforms", "args", "cleanup"])).toEqual([
      "name",
      "args",
      "cleanup",
    ]);
  });
});
