import { describe, expect, it } from "vitest";
import { isTechniqueId, parseQuery, toApiQuery, toParams, toggleSort, withFilter } from "./filters";

describe("list filters in the URL", () => {
  it("round-trip, dropping defaults and unknown keys", () => {
    const query = parseQuery(new URLSearchParams("state=completed&tag=apt29&evil=1&limit=50&offset=50&sort=name"));
    expect(query).toEqual({ filters: { state: "completed", tag: "apt29" }, sort: "name", limit: 50, offset: 50 });
    expect(toParams(query).toString()).toBe("state=completed&tag=apt29&sort=name&limit=50&offset=50");
    expect(toParams(parseQuery(new URLSearchParams())).toString()).toBe("");
  });

  it("drop a state, an outcome or a sort the API does not know", () => {
    const query = parseQuery(new URLSearchParams("state=finished&outcome=maybe&sort=colour&tag=apt29"));
    expect(query.filters).toEqual({ tag: "apt29" });
    expect(query.sort).toBe("-created_at");
    expect(toApiQuery(parseQuery(new URLSearchParams("outcome=not_detected&sort=-state")))).toMatchObject({ outcome: "not_detected", sort: "-state" });
  });

  it("become the API's query", () => {
    const query = parseQuery(new URLSearchParams("state=blue_evaluating&q=lsass&limit=50&offset=50"));
    expect(toApiQuery(query)).toEqual({ state: "blue_evaluating", q: "lsass", sort: "-created_at", limit: 50, offset: 50 });
  });

  it("refuse bad paging", () => {
    const query = parseQuery(new URLSearchParams("limit=100000&offset=-3"));
    expect(query.limit).toBe(25);
    expect(query.offset).toBe(0);
  });

  it("go back to the first page when a filter changes and toggle sorting", () => {
    const query = parseQuery(new URLSearchParams("offset=75&sort=name"));
    expect(withFilter(query, "q", "lsass").offset).toBe(0);
    expect(withFilter(withFilter(query, "q", "lsass"), "q", "").filters).toEqual({});
    expect(toggleSort(query, "name").sort).toBe("-name");
    expect(toggleSort(query, "state").sort).toBe("state");
  });

  it("keep the queue and leave a half-typed technique out of the API query", () => {
    const query = parseQuery(new URLSearchParams("waiting_for=me&technique=T10"));
    expect(query.filters).toEqual({ waiting_for: "me", technique: "T10" });
    expect(toApiQuery(query)).toMatchObject({ waiting_for: "me", technique: undefined });
    expect(toApiQuery(parseQuery(new URLSearchParams("technique=t1059.001"))).technique).toBe("t1059.001");
    expect(parseQuery(new URLSearchParams("waiting_for=someone")).filters).toEqual({});
    expect([isTechniqueId("T1059"), isTechniqueId("T1059.00"), isTechniqueId("")]).toEqual([true, false, false]);
  });
});
