//! Markdown: headings and tables, readable as text.

use std::fmt::Write;

use crate::document::{Document, attack, detection, figure, when};

pub fn render(doc: &Document) -> Result<Vec<u8>, String> {
    let mut out = String::new();
    write(&mut out, doc).map_err(|e| e.to_string())?;
    Ok(out.into_bytes())
}

fn write(out: &mut String, doc: &Document) -> std::fmt::Result {
    let d = &doc.data;
    writeln!(out, "# {}\n", cell(&d.title))?;
    writeln!(
        out,
        "{} report · {} · generated {}\n",
        d.kind,
        cell(&d.scope),
        when(Some(d.generated_at))
    )?;
    writeln!(out, "## Key figures\n\n| Figure | Value |\n|---|---|")?;
    for k in &d.kpis {
        writeln!(out, "| {} | {} |", cell(&k.name), figure(k.value, &k.unit))?;
    }
    writeln!(
        out,
        "\n## Coverage by tactic\n\n| Tactic | Covered | Partial | Gap | Untested |\n|---|---|---|---|---|"
    )?;
    for t in &d.tactics {
        writeln!(
            out,
            "| {} ({}) | {} | {} | {} | {} |",
            cell(&t.name),
            t.id,
            t.covered,
            t.partial,
            t.gap,
            t.untested
        )?;
    }
    writeln!(out, "\n## Gaps and regressions\n")?;
    let mut any = false;
    for (id, label) in doc.gaps_and_regressions() {
        any = true;
        writeln!(out, "- {}: {label}", cell(&doc.technique(id)))?;
    }
    if !any {
        writeln!(out, "None.")?;
    }
    if !d.tests.is_empty() {
        writeln!(
            out,
            "\n## Tests\n\n| Test | Technique | State | Attack | Detection | Executed |\n|---|---|---|---|---|---|"
        )?;
        for t in &d.tests {
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} |",
                cell(&t.name),
                cell(&doc.technique(&t.technique_id)),
                t.state.as_str(),
                attack(t.attack_outcome),
                detection(t.detection_outcome),
                when(t.executed_at)
            )?;
        }
    }
    if !d.evidence.is_empty() {
        writeln!(
            out,
            "\n## Evidence\n\n| Test | Side | File | Size | SHA-256 |\n|---|---|---|---|---|"
        )?;
        for e in &d.evidence {
            writeln!(
                out,
                "| {} | {} | {} | {} | `{}` |",
                e.test_id,
                e.side,
                cell(&e.file_name),
                e.size_bytes,
                e.sha256
            )?;
        }
    }
    Ok(())
}

/// Text safe inside a table cell and inert when the Markdown becomes HTML:
/// one line; pipes, brackets and backticks escaped; no raw tags.
fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            '|' | '[' | ']' | '`' | '*' | '_' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            c => out.push(c),
        }
    }
    out
}
