import { describe, expect, it } from "vitest";
import { alertKeys } from "./alerts";
import { campaignKeys } from "./campaigns";
import { coverageKeys } from "./coverage";
import { templateKeys } from "./templates";
import { testKeys } from "./tests";

/** TanStack Query invalidates every query whose key starts with the given one. */
const startsWith = (key: unknown[], prefix: unknown[]) => prefix.every((part, i) => Object.is(key[i], part));

describe("query keys", () => {
  it("let each invalidation reach the queries it means", () => {
    expect(startsWith(campaignKeys.list, campaignKeys.all)).toBe(true);
    expect(startsWith(templateKeys.list("lsass", 50), templateKeys.all)).toBe(true);
    expect(startsWith(alertKeys.inbox("open", 0), alertKeys.alerts)).toBe(true);
    expect(startsWith(alertKeys.evaluationPage(50), alertKeys.evaluations)).toBe(true);
    expect(startsWith(alertKeys.lastDelivery("r1"), alertKeys.deliveries)).toBe(true);
    expect(startsWith(coverageKeys.trend, coverageKeys.snapshots)).toBe(true);
    expect(startsWith(coverageKeys.snapshotList, coverageKeys.snapshots)).toBe(true);
    expect(startsWith(coverageKeys.scoped({ campaign_id: "c1" }), coverageKeys.coverage)).toBe(true);
    expect(startsWith(testKeys.list({ campaign_id: "c1" }), testKeys.all)).toBe(true);
  });

  it("keep one test's queries apart from the others'", () => {
    expect(startsWith(testKeys.history("t2"), testKeys.history("t1"))).toBe(false);
    expect(startsWith(testKeys.evidence("t1"), testKeys.detail("t1"))).toBe(false);
    expect(startsWith(alertKeys.rules, alertKeys.alerts)).toBe(false);
  });
});

