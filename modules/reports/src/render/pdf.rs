//! PDF for handing to management: a title page, the key figures, coverage
//! per tactic with bars, gaps and regressions, and the tests. Set in
//! Helvetica, one of the standard fonts every reader has, so nothing is
//! embedded; text is encoded as WinAnsi (Latin-1), other characters as `?`.

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str};

use crate::document::{Document, attack, detection, figure, when};

const WIDTH: f32 = 595.0;
const HEIGHT: f32 = 842.0;
const MARGIN: f32 = 56.0;
const REGULAR: Name<'static> = Name(b"F1");
const BOLD: Name<'static> = Name(b"F2");

/// Pages being laid out, top to bottom.
struct Layout {
    pages: Vec<Content>,
    y: f32,
}

impl Layout {
    fn new() -> Self {
        Self {
            pages: vec![Content::new()],
            y: HEIGHT - MARGIN,
        }
    }

    fn page(&mut self) -> &mut Content {
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Content::new());
        self.y = HEIGHT - MARGIN;
    }

    /// Room for `height` more points, else a new page.
    fn need(&mut self, height: f32) {
        if self.y - height < MARGIN {
            self.new_page();
        }
    }

    fn text_at(&mut self, x: f32, size: f32, bold: bool, text: &str) {
        let y = self.y;
        let page = self.page();
        page.begin_text();
        page.set_font(if bold { BOLD } else { REGULAR }, size);
        page.next_line(x, y);
        page.show(Str(&win_ansi(text)));
        page.end_text();
    }

    /// A paragraph, wrapped to the text width.
    fn paragraph(&mut self, size: f32, bold: bool, text: &str) {
        for line in wrap(text, size, WIDTH - 2.0 * MARGIN) {
            self.need(size * 1.4);
            self.y -= size * 1.4;
            self.text_at(MARGIN, size, bold, &line);
        }
    }

    fn heading(&mut self, text: &str) {
        self.need(60.0);
        self.y -= 14.0;
        self.paragraph(15.0, true, text);
        self.y -= 4.0;
    }

    /// A row of cells at the given x offsets, each cut to its column.
    fn row(&mut self, columns: &[f32], cells: &[String], bold: bool) {
        let size = 8.5;
        self.need(size * 1.5);
        self.y -= size * 1.5;
        for (i, cell) in cells.iter().enumerate() {
            let x = MARGIN + columns[i];
            let room = columns
                .get(i + 1)
                .map_or(WIDTH - 2.0 * MARGIN, |next| *next)
                - columns[i]
                - 4.0;
            let text = cut(cell, size, room);
            self.text_at(x, size, bold, &text);
        }
    }

    /// A stacked bar of covered / partial / gap / untested.
    fn bar(&mut self, x: f32, width: f32, parts: [u32; 4]) {
        let total = parts.iter().sum::<u32>().max(1) as f32;
        let colours = [
            (0.18, 0.49, 0.20),
            (0.98, 0.66, 0.15),
            (0.78, 0.16, 0.16),
            (0.81, 0.85, 0.86),
        ];
        let y = self.y;
        let page = self.page();
        let mut at = MARGIN + x;
        for (part, (r, g, b)) in parts.iter().zip(colours) {
            let w = width * *part as f32 / total;
            page.set_fill_rgb(r, g, b);
            page.rect(at, y, w, 7.0);
            page.fill_nonzero();
            at += w;
        }
        page.set_fill_gray(0.0);
    }
}

pub fn render(doc: &Document) -> Result<Vec<u8>, String> {
    let d = &doc.data;
    let mut layout = Layout::new();

    // Title page.
    layout.y = HEIGHT * 0.62;
    layout.paragraph(26.0, true, &d.title);
    layout.y -= 10.0;
    layout.paragraph(12.0, false, &format!("{} report", capitalised(&d.kind)));
    layout.paragraph(12.0, false, &format!("Scope: {}", d.scope));
    layout.paragraph(
        12.0,
        false,
        &format!("Generated {}", when(Some(d.generated_at))),
    );
    layout.new_page();

    layout.heading("Key figures");
    for k in &d.kpis {
        layout.row(
            &[0.0, 260.0],
            &[k.name.clone(), figure(k.value, &k.unit)],
            false,
        );
    }

    layout.heading("Coverage by tactic");
    let columns = [0.0, 190.0, 240.0, 290.0, 330.0, 380.0];
    let head = ["Tactic", "Covered", "Partial", "Gap", "Untested", ""].map(String::from);
    layout.row(&columns, &head, true);
    for t in &d.tactics {
        let cells = [
            t.name.clone(),
            t.covered.to_string(),
            t.partial.to_string(),
            t.gap.to_string(),
            t.untested.to_string(),
            String::new(),
        ];
        layout.row(&columns, &cells, false);
        layout.bar(380.0, 100.0, [t.covered, t.partial, t.gap, t.untested]);
    }

    layout.heading("Gaps and regressions");
    let mut any = false;
    for (id, label) in doc.gaps_and_regressions() {
        any = true;
        layout.row(&[0.0, 330.0], &[doc.technique(id), label.to_owned()], false);
    }
    if !any {
        layout.paragraph(10.0, false, "None.");
    }

    if !d.tests.is_empty() {
        layout.heading("Tests");
        let columns = [0.0, 150.0, 290.0, 355.0, 405.0];
        let head = ["Test", "Technique", "State", "Attack", "Detection"].map(String::from);
        layout.row(&columns, &head, true);
        for t in &d.tests {
            let cells = [
                t.name.clone(),
                doc.technique(&t.technique_id),
                t.state.as_str().to_owned(),
                attack(t.attack_outcome).to_owned(),
                detection(t.detection_outcome).to_owned(),
            ];
            layout.row(&columns, &cells, false);
        }
    }
    Ok(write(layout, &d.title))
}

fn write(layout: Layout, title: &str) -> Vec<u8> {
    let mut pdf = Pdf::new();
    let (catalog, tree, regular, bold, info) = (
        Ref::new(1),
        Ref::new(2),
        Ref::new(3),
        Ref::new(4),
        Ref::new(5),
    );
    let mut next = 6;
    let mut page_ids = Vec::new();
    let mut streams = Vec::new();
    let count = layout.pages.len();
    for (i, mut content) in layout.pages.into_iter().enumerate() {
        if i > 0 {
            // Page numbers, bottom right, except on the title page.
            content.begin_text();
            content.set_font(REGULAR, 8.0);
            content.next_line(WIDTH - MARGIN - 40.0, MARGIN / 2.0);
            content.show(Str(format!("{} / {}", i + 1, count).as_bytes()));
            content.end_text();
        }
        let (page, stream) = (Ref::new(next), Ref::new(next + 1));
        next += 2;
        page_ids.push(page);
        streams.push((page, stream, content.finish()));
    }
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree)
        .kids(page_ids.iter().copied())
        .count(page_ids.len() as i32);
    for (page, stream, data) in &streams {
        let mut p = pdf.page(*page);
        p.media_box(Rect::new(0.0, 0.0, WIDTH, HEIGHT));
        p.parent(tree);
        p.contents(*stream);
        let mut resources = p.resources();
        resources.fonts().pair(REGULAR, regular).pair(BOLD, bold);
        resources.finish();
        p.finish();
        pdf.stream(*stream, data);
    }
    pdf.type1_font(regular)
        .base_font(Name(b"Helvetica"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.type1_font(bold)
        .base_font(Name(b"Helvetica-Bold"))
        .encoding_predefined(Name(b"WinAnsiEncoding"));
    pdf.document_info(info)
        .title(pdf_writer::TextStr(title))
        .producer(pdf_writer::TextStr("Aegis"));
    pdf.finish()
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    chars
        .next()
        .map(|c| c.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}

/// Latin-1 bytes (WinAnsi agrees on the printable range), `?` otherwise.
fn win_ansi(text: &str) -> Vec<u8> {
    text.chars()
        .map(|c| match u32::from(c) {
            0x20..=0x7e | 0xa0..=0xff => c as u32 as u8,
            _ => b'?',
        })
        .collect()
}

/// Helvetica's average advance is about half the size; good enough to keep
/// text inside its column.
fn advance(size: f32) -> f32 {
    size * 0.52
}

fn cut(text: &str, size: f32, room: f32) -> String {
    let fits = (room / advance(size)).max(1.0) as usize;
    if text.chars().count() <= fits {
        text.to_owned()
    } else {
        let mut short: String = text.chars().take(fits.saturating_sub(3)).collect();
        short.push_str("...");
        short
    }
}

fn wrap(text: &str, size: f32, width: f32) -> Vec<String> {
    let fits = (width / advance(size)).max(10.0) as usize;
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split_whitespace() {
        if !line.is_empty() && line.chars().count() + 1 + word.chars().count() > fits {
            lines.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        lines.push(line);
    }
    lines
}

#[cfg(test)]
#[allow(clippy::expect_used)]
mod tests {
    use super::*;
    use aegis_core::plugins::{Kpi, ReportData};

    #[test]
    fn a_title_page_then_the_figures() {
        let doc = Document {
            data: ReportData {
                title: "T".into(),
                kind: "executive".into(),
                kpis: vec![Kpi {
                    name: "detection rate".into(),
                    value: 50.0,
                    unit: "%".into(),
                }],
                ..ReportData::default()
            },
            technique_names: Default::default(),
        };
        let bytes = render(&doc).expect("renders");
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.starts_with("%PDF-"));
        assert!(
            text.contains("/Count 2"),
            "title page and one page of figures"
        );
        assert!(text.contains("(detection rate) Tj"));
    }
}
