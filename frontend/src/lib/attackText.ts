// ATT&CK's texts are Markdown with a little HTML (`<code>`, rarely `<b>` and
// `<br>`) and `(Citation: <source name>)` markers. This turns them into plain
// Markdown that a renderer with raw HTML switched off can show: the HTML
// ATT&CK uses becomes its Markdown equivalent, any other tag stays visible
// text (often a placeholder such as `<username>`), and each citation becomes
// a numbered link to the reference list below the text.

export interface Reference {
  source_name: string;
  description?: string;
  url?: string;
}

/** A cited source with its number, in order of first citation. */
export interface NumberedReference extends Reference {
  number: number;
}

/** The anchor of reference `n` in the page. */
export const referenceAnchor = (n: number) => `ref-${n}`;

/** `text` as a Markdown code span, however many backticks it holds. */
function codeSpan(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = "`".repeat(longest + 1);
  const pad = text.startsWith("`") || text.endsWith("`") ? " " : "";
  return `${fence}${pad}${text}${pad}${fence}`;
}

function htmlToMarkdown(text: string): string {
  return text
    .replace(/<code>([\s\S]*?)<\/code>/gi, (_, code: string) => (code.trim() ? codeSpan(code) : ""))
    .replace(/<b>([\s\S]*?)<\/b>/gi, (_, bold: string) => `**${bold}**`)
    .replace(/<br\s*\/?>/gi, "  \n");
}

/**
 * Prepares the texts of one technique (description, detection): returns
 * each as Markdown, and the references they cite numbered in order of first
 * citation. A citation naming no known reference is still numbered and
 * listed by its name.
 */
export function citeAttackTexts(texts: string[], references: Reference[]): { markdown: string[]; cited: NumberedReference[] } {
  const known = new Map(references.map((r) => [r.source_name, r]));
  const numbers = new Map<string, number>();
  const cited: NumberedReference[] = [];
  const markdown = texts.map((text) =>
    htmlToMarkdown(text).replace(/\(Citation:\s*([^)]+?)\s*\)/g, (_, name: string) => {
      let number = numbers.get(name);
      if (number === undefined) {
        number = cited.length + 1;
        numbers.set(name, number);
        cited.push({ ...(known.get(name) ?? { source_name: name }), number });
      }
      return `[\\[${number}\\]](#${referenceAnchor(number)})`;
    }),
  );
  return { markdown, cited };
}

/** The dashboard route of an ATT&CK technique page URL, if it is one. */
export function techniqueRoute(href: string): string | null {
  const match = /^https?:\/\/attack\.mitre\.org\/techniques\/(T\d{4})(?:\/(\d{3}))?\/?$/i.exec(href);
  if (!match) return null;
  return `/techniques/${match[1].toUpperCase()}${match[2] ? `.${match[2]}` : ""}`;
}
