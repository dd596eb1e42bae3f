import { describe, expect, it } from "vitest";
import { citeAttackTexts, techniqueRoute } from "./attackText";

const references = [
  { source_name: "Deep Instinct LSASS", description: "Gilboa, A. (2021).", url: "https://www.deepinstinct.com/blog/lsass" },
  { source_name: "Volexity", url: "https://www.volexity.com/" },
];

describe("citeAttackTexts", () => {
  it("numbers citations in order of first use across texts and lists each once", () => {
    const { markdown, cited } = citeAttackTexts(
      ["Dump it.(Citation: Volexity)(Citation: Deep Instinct LSASS)", "Watch it.(Citation: Volexity)"],
      references,
    );
    expect(markdown).toEqual(["Dump it.[\\[1\\]](#ref-1)[\\[2\\]](#ref-2)", "Watch it.[\\[1\\]](#ref-1)"]);
    expect(cited.map((r) => [r.number, r.source_name, r.url])).toEqual([
      [1, "Volexity", "https://www.volexity.com/"],
      [2, "Deep Instinct LSASS", "https://www.deepinstinct.com/blog/lsass"],
    ]);
  });

  it("lists a citation of an unknown source by its name", () => {
    const { cited } = citeAttackTexts(["(Citation: Nobody 2020)"], references);
    expect(cited).toEqual([{ source_name: "Nobody 2020", number: 1 }]);
  });

  it("turns ATT&CK's HTML into Markdown and leaves other tags as text", () => {
    const { markdown } = citeAttackTexts(
      ["* <code>procdump -ma lsass.exe</code> as <b>SYSTEM</b><br>then <code>net user <username></code> or <code>a`b</code>"],
      [],
    );
    expect(markdown[0]).toBe("* `procdump -ma lsass.exe` as **SYSTEM**  \nthen `net user <username>` or ``a`b``");
  });
});

describe("techniqueRoute", () => {
  it("maps ATT&CK technique pages to the dashboard's", () => {
    expect(techniqueRoute("https://attack.mitre.org/techniques/T1550")).toBe("/techniques/T1550");
    expect(techniqueRoute("https://attack.mitre.org/techniques/T1546/012")).toBe("/techniques/T1546.012");
    expect(techniqueRoute("https://attack.mitre.org/tactics/TA0008")).toBeNull();
    expect(techniqueRoute("javascript:alert(1)")).toBeNull();
  });
});
