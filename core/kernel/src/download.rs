//! A stored file as an HTTP answer (evidence, reports): its bytes under the
//! media type it was stored with, as an attachment, with its SHA-256.

use poem::http::header;
use poem::{Body, IntoResponse};
use poem_openapi::ApiResponse;
use poem_openapi::registry::{
    MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use sha2::{Digest, Sha256};

/// The answer of a download. The document lists `application/octet-stream`
/// (what generated clients read as bytes) and `*/*` with any content, since
/// the media type is the file's own.
pub struct FileDownload(poem::Response);

/// What a download says about its file.
pub struct FileFacts<'a> {
    pub media_type: &'a str,
    pub file_name: &'a str,
    pub size_bytes: u64,
    /// Hex SHA-256 of the bytes.
    pub sha256: &'a str,
}

impl FileDownload {
    pub fn new(facts: &FileFacts<'_>, body: Body) -> Self {
        Self(
            poem::Response::builder()
                .header(header::CONTENT_TYPE, facts.media_type)
                .header(header::CONTENT_LENGTH, facts.size_bytes.to_string())
                .header(
                    header::CONTENT_DISPOSITION,
                    content_disposition(facts.file_name),
                )
                .header(header::X_CONTENT_TYPE_OPTIONS, "nosniff")
                .header(header::CACHE_CONTROL, "private, no-store")
                .header("X-Checksum-SHA256", facts.sha256)
                .body(body),
        )
    }

    /// A file held in memory; its checksum is computed here.
    pub fn from_bytes(media_type: &str, file_name: &str, bytes: Vec<u8>) -> Self {
        let sha256 = sha256_hex(&bytes);
        let facts = FileFacts {
            media_type,
            file_name,
            size_bytes: bytes.len() as u64,
            sha256: &sha256,
        };
        Self::new(&facts, Body::from_vec(bytes))
    }
}

/// Lowercase hex SHA-256: the form stored files' and plugins' digests take.
pub fn sha256_hex(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

impl IntoResponse for FileDownload {
    fn into_response(self) -> poem::Response {
        self.0
    }
}

impl ApiResponse for FileDownload {
    fn meta() -> MetaResponses {
        let binary =
            || MetaSchemaRef::Inline(Box::new(MetaSchema::new_with_format("string", "binary")));
        let header = |name: &str, description: &str| MetaHeader {
            name: name.into(),
            description: Some(description.into()),
            required: true,
            deprecated: false,
            schema: MetaSchemaRef::Inline(Box::new(MetaSchema::new("string"))),
        };
        MetaResponses {
            responses: vec![MetaResponse {
                description: "The file, with the media type it was stored with.",
                status: Some(200),
                status_range: None,
                content: vec![
                    MetaMediaType {
                        content_type: "application/octet-stream",
                        schema: binary(),
                    },
                    // Any schema at all: a JSON file, say, is read as JSON
                    // by a checker, and is what it is.
                    MetaMediaType {
                        content_type: "*/*",
                        schema: MetaSchemaRef::Inline(Box::new(MetaSchema::ANY)),
                    },
                ],
                headers: vec![
                    header(
                        "Content-Disposition",
                        "`attachment` with the file's name (RFC 6266).",
                    ),
                    header("X-Checksum-SHA256", "Hex SHA-256 of the file."),
                ],
            }],
        }
    }

    fn register(_registry: &mut Registry) {}
}

/// `attachment` with the name twice (RFC 6266): an ASCII fallback whose
/// quotes and controls are replaced, and the exact name percent-encoded.
fn content_disposition(name: &str) -> String {
    let fallback: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"!#$&+-.^_`|~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    format!("attachment; filename=\"{fallback}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_keep_names_inert() {
        assert_eq!(
            content_disposition("résumé 1.png"),
            "attachment; filename=\"r_sum_ 1.png\"; filename*=UTF-8''r%C3%A9sum%C3%A9%201.png"
        );
    }

    #[test]
    fn a_file_in_memory_carries_its_checksum() {
        let answer = FileDownload::from_bytes("text/csv", "r.csv", b"abc".to_vec()).into_response();
        assert_eq!(
            answer.headers()["X-Checksum-SHA256"],
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(answer.headers()[header::CONTENT_TYPE], "text/csv");
    }
}
