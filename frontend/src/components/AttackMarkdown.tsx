// ATT&CK text (descriptions, detection) rendered safely: markdown-to-jsx
// builds React elements (never innerHTML), with raw HTML parsing off so any
// tag in the text shows as text, and its built-in URL sanitizer drops
// `javascript:` and the like. Links to ATT&CK technique pages stay in the
// dashboard; citations link to the numbered references below the text.
import { Markdown, type MarkdownToJSX } from "markdown-to-jsx/react";
import type { AnchorHTMLAttributes } from "react";
import { Link } from "react-router";
import { referenceAnchor, techniqueRoute, type NumberedReference } from "../lib/attackText";

function AttackLink({ href = "", children, title }: AnchorHTMLAttributes<HTMLAnchorElement>) {
  if (href.startsWith("#ref-")) {
    return <sup><a className="text-accent no-underline" href={href} title={title}>{children}</a></sup>;
  }
  const route = techniqueRoute(href);
  if (route) return <Link className="text-accent underline" to={route} title={title}>{children}</Link>;
  return <a className="text-accent underline" href={href} title={title} target="_blank" rel="noreferrer noopener">{children}</a>;
}

const options: MarkdownToJSX.Options = {
  disableParsingRawHTML: true,
  overrides: { a: { component: AttackLink } },
};

const textStyle =
  "text-sm leading-relaxed [&_p]:mb-2 [&_ul]:mb-2 [&_ul]:list-disc [&_ul]:pl-5 [&_ol]:mb-2 [&_ol]:list-decimal [&_ol]:pl-5 " +
  "[&_code]:break-all [&_code]:rounded [&_code]:bg-surface [&_code]:px-1 [&_code]:font-mono [&_code]:text-xs";

/** One ATT&CK text, prepared by `citeAttackTexts`. */
export function AttackMarkdown({ children }: { children: string }) {
  return <Markdown className={textStyle} options={options}>{children}</Markdown>;
}

/** The numbered references a technique's texts cite. */
export function References({ cited }: { cited: NumberedReference[] }) {
  return (
    <ol className="space-y-1 text-sm" aria-label="References">
      {cited.map((r) => (
        <li key={r.number} id={referenceAnchor(r.number)} className="flex gap-2">
          <span className="text-muted">[{r.number}]</span>
          <span className="min-w-0 break-words">
            {r.description ?? r.source_name}{" "}
            {r.url && <a className="break-all text-accent underline" href={r.url} target="_blank" rel="noreferrer noopener">{r.url}</a>}
          </span>
        </li>
      ))}
    </ol>
  );
}
