import { describe, expect, it } from "vitest";
import { placeholders } from "./templates";

describe("template placeholders", () => {
  it("are found once each, in order, with Atomic Red Team's names", () => {
    expect(placeholders('gcloud iam #{service-account-name} --key "#{output_file}" #{service-account-name}')).toEqual([
      "service-account-name",
      "output_file",
    ]);
    expect(placeholders("whoami /all")).toEqual([]);
    expect(placeholders("#{not closed")).toEqual([]);
  });
});
