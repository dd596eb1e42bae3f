//! HTML: one self-contained, printable page. Styles are inline in the
//! document; nothing is loaded from anywhere, and every text is escaped.

use std::fmt::Write;

use crate::document::{Document, attack, detection, figure, when};

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;color:#111;margin:2rem auto;max-width:60rem;padding:0 1rem}\
h1{font-size:1.8rem;margin-bottom:.2rem}h2{margin-top:2rem;border-bottom:2px solid #333}\
table{border-collapse:collapse;width:100%;margin:.5rem 0}th,td{border:1px solid #bbb;padding:.25rem .45rem;text-align:left;vertical-align:top}\
th{background:#eee}.kpis{display:flex;flex-wrap:wrap;gap:.6rem}.kpi{border:1px solid #bbb;border-radius:6px;padding:.5rem .8rem;min-width:9rem}\
.kpi b{display:block;font-size:1.4rem}.gap{color:#a40000}.regressed{color:#8a3b00;font-weight:600}\
.bar{display:flex;height:.7rem;min-width:8rem}.bar span{display:block}.c{background:#2e7d32}.p{background:#f9a825}.g{background:#c62828}.u{background:#cfd8dc}\
code{font-size:.8em;word-break:break-all}@media print{body{margin:0;max-width:none}h2{break-after:avoid}tr{break-inside:avoid}}";

pub fn render(doc: &Document) -> Result<Vec<u8>, String> {
    let mut out = String::new();
    write(&mut out, doc).map_err(|e| e.to_string())?;
    Ok(out.into_bytes())
}

fn write(out: &mut String, doc: &Document) -> std::fmt::Result {
    let d = &doc.data;
    write!(
        out,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{}</title><style>{STYLE}</style></head><body>",
        esc(&d.title)
    )?;
    write!(
        out,
        "<h1>{}</h1><p>{} report · {} · generated {}</p>",
        esc(&d.title),
        esc(&d.kind),
        esc(&d.scope),
        when(Some(d.generated_at))
    )?;
    write!(out, "<h2>Key figures</h2><div class=\"kpis\">")?;
    for k in &d.kpis {
        write!(
            out,
            "<div class=\"kpi\">{}<b>{}</b></div>",
            esc(&k.name),
            esc(&figure(k.value, &k.unit))
        )?;
    }
    write!(
        out,
        "</div><h2>Coverage by tactic</h2><table><tr><th>Tactic</th><th>Covered</th><th>Partial</th><th>Gap</th><th>Untested</th><th></th></tr>"
    )?;
    for t in &d.tactics {
        let total = (t.covered + t.partial + t.gap + t.untested).max(1) as f64;
        let width = |n: u32| f64::from(n) * 100.0 / total;
        write!(
            out,
            "<tr><td>{} ({})</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><div class=\"bar\"><span class=\"c\" style=\"width:{:.1}%\"></span><span class=\"p\" style=\"width:{:.1}%\"></span><span class=\"g\" style=\"width:{:.1}%\"></span><span class=\"u\" style=\"width:{:.1}%\"></span></div></td></tr>",
            esc(&t.name),
            esc(&t.id),
            t.covered,
            t.partial,
            t.gap,
            t.untested,
            width(t.covered),
            width(t.partial),
            width(t.gap),
            width(t.untested)
        )?;
    }
    write!(out, "</table><h2>Gaps and regressions</h2>")?;
    let mut items = doc.gaps_and_regressions().peekable();
    if items.peek().is_none() {
        write!(out, "<p>None.</p>")?;
    } else {
        write!(out, "<ul>")?;
        for (id, label) in items {
            write!(
                out,
                "<li class=\"{label}\">{}: {label}</li>",
                esc(&doc.technique(id))
            )?;
        }
        write!(out, "</ul>")?;
    }
    if !d.tests.is_empty() {
        write!(
            out,
            "<h2>Tests</h2><table><tr><th>Test</th><th>Technique</th><th>State</th><th>Attack</th><th>Detection</th><th>Executed</th></tr>"
        )?;
        for t in &d.tests {
            write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&t.name),
                esc(&doc.technique(&t.technique_id)),
                t.state.as_str(),
                attack(t.attack_outcome),
                detection(t.detection_outcome),
                when(t.executed_at)
            )?;
        }
        write!(out, "</table>")?;
    }
    if !d.evidence.is_empty() {
        write!(
            out,
            "<h2>Evidence</h2><table><tr><th>Test</th><th>Side</th><th>File</th><th>Bytes</th><th>SHA-256</th></tr>"
        )?;
        for e in &d.evidence {
            write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                esc(&e.test_id),
                esc(&e.side),
                esc(&e.file_name),
                e.size_bytes,
                esc(&e.sha256)
            )?;
        }
        write!(out, "</table>")?;
    }
    write!(out, "</body></html>")
}

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
