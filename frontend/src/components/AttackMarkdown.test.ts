import { createElement } from "react";
import { renderToStaticMarkup } from "react-dom/server";
import { MemoryRouter } from "react-router";
import { describe, expect, it } from "vitest";
import { citeAttackTexts } from "../lib/attackText";
import { AttackMarkdown } from "./AttackMarkdown";

function render(text: string): string {
  const { markdown } = citeAttackTexts([text], [{ source_name: "Src", url: "https://example.org/" }]);
  return renderToStaticMarkup(createElement(MemoryRouter, null, createElement(AttackMarkdown, null, markdown[0])));
}

describe("AttackMarkdown", () => {
  it("shows code as code and citations as numbered links", () => {
    const html = render("Run <code>procdump -ma lsass.exe</code>.(Citation: Src)");
    expect(html).toContain("<code>procdump -ma lsass.exe</code>");
    expect(html).toContain('<sup><a class="text-accent no-underline" href="#ref-1">[1]</a></sup>');
    expect(html).not.toContain("Citation:");
    expect(html).not.toContain("&lt;code&gt;");
  });

  it("never renders raw HTML or script URLs from the text", () => {
    const html = render('<img src=x onerror="alert(1)"> <script>alert(2)</script> [x](javascript:alert(3))');
    expect(html).not.toContain("<img");
    expect(html).not.toContain("<script");
    expect(html).not.toContain("javascript:");
    expect(html).toContain("&lt;img");
  });

  it("keeps ATT&CK technique links inside the dashboard", () => {
    const html = render("See [Use Alternate Authentication Material](https://attack.mitre.org/techniques/T1550/002).");
    expect(html).toContain('href="/techniques/T1550.002"');
  });
});
