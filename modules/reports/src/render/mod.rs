//! The built-in formats. Each turns a [`Document`] into bytes; none reads
//! anything else, so every format shows the same report.

mod csv;
mod html;
mod json;
mod markdown;
mod pdf;

use crate::document::Document;

/// A built-in format: id, name, media type, extension and renderer.
pub struct Format {
    pub id: &'static str,
    pub name: &'static str,
    pub media_type: &'static str,
    pub extension: &'static str,
    pub render: fn(&Document) -> Result<Vec<u8>, String>,
}

pub const FORMATS: &[Format] = &[
    Format {
        id: "json",
        name: "JSON",
        media_type: "application/json",
        extension: "json",
        render: json::render,
    },
    Format {
        id: "csv",
        name: "CSV (one row per test)",
        media_type: "text/csv",
        extension: "csv",
        render: csv::render,
    },
    Format {
        id: "markdown",
        name: "Markdown",
        media_type: "text/markdown",
        extension: "md",
        render: markdown::render,
    },
    Format {
        id: "html",
        name: "HTML (printable, self-contained)",
        media_type: "text/html",
        extension: "html",
        render: html::render,
    },
    Format {
        id: "pdf",
        name: "PDF",
        media_type: "application/pdf",
        extension: "pdf",
        render: pdf::render,
    },
];

pub fn builtin(id: &str) -> Option<&'static Format> {
    FORMATS.iter().find(|f| f.id == id)
}
