//! Multipart forms that name their parts: each upload operation documents
//! exactly the parts its handler reads, and a part it does not name is
//! refused (the document says `additionalProperties: false`).

use std::marker::PhantomData;

use poem::Request;
use poem_openapi::impl_apirequest_for_payload;
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};

use crate::{ApiError, ApiResult};

/// The parts a multipart form declares: name, schema, and whether the
/// handler refuses the form without it.
pub trait FormParts: Send + Sync {
    fn parts() -> Vec<FormPart>;

    /// Registers the types the parts refer to (`$ref`s).
    fn register(_registry: &mut Registry) {}
}

pub struct FormPart {
    pub name: &'static str,
    pub schema: MetaSchemaRef,
    pub required: bool,
}

impl FormPart {
    /// A file part: its bytes, its file name, its part's `Content-Type`.
    pub fn file(description: &'static str) -> Self {
        Self {
            name: "file",
            schema: MetaSchemaRef::Inline(Box::new(MetaSchema {
                format: Some("binary"),
                description: Some(description),
                // An empty file is refused.
                min_length: Some(1),
                ..MetaSchema::new("string")
            })),
            required: true,
        }
    }

    /// A required part of type `T` (an enum, say), read as text.
    pub fn required<T: poem_openapi::types::Type>(name: &'static str) -> Self {
        Self {
            name,
            schema: T::schema_ref(),
            required: true,
        }
    }

    pub fn text(name: &'static str, description: &'static str, max_length: usize) -> Self {
        Self {
            name,
            schema: MetaSchemaRef::Inline(Box::new(MetaSchema {
                description: Some(description),
                max_length: Some(max_length),
                ..MetaSchema::new("string")
            })),
            required: false,
        }
    }
}

/// A `multipart/form-data` body read part by part (an upload streams to
/// storage), documented as the parts `S` names, refusing any other.
pub struct Form<S>(pub poem::web::Multipart, PhantomData<S>);

impl<S: FormParts> Payload for Form<S> {
    const CONTENT_TYPE: &'static str = "multipart/form-data";

    fn check_content_type(content_type: &str) -> bool {
        crate::http::is_multipart_form(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        let parts = S::parts();
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            required: parts
                .iter()
                .filter(|p| p.required)
                .map(|p| p.name)
                .collect(),
            properties: parts.into_iter().map(|p| (p.name, p.schema)).collect(),
            ..MetaSchema::new("object")
        }))
    }

    fn register(registry: &mut Registry) {
        S::register(registry);
    }
}

impl<S: FormParts> ParsePayload for Form<S> {
    const IS_REQUIRED: bool = true;

    async fn from_request(request: &Request, body: &mut poem::RequestBody) -> poem::Result<Self> {
        use poem::FromRequest;
        let form = poem::web::Multipart::from_request(request, body).await?;
        Ok(Self(form, PhantomData))
    }
}

impl_apirequest_for_payload!(Form<S>, S: FormParts);

impl<S: FormParts> Form<S> {
    /// The next part; one the form does not declare is refused (422), so
    /// the document can say `additionalProperties: false` and mean it.
    pub async fn next_part(&mut self, request: &Request) -> ApiResult<Option<poem::web::Field>> {
        let Some(field) = crate::http::next_field(request, &mut self.0).await? else {
            return Ok(None);
        };
        let parts = S::parts();
        let name = field.name().unwrap_or_default();
        if parts.iter().all(|p| p.name != name) {
            let known: Vec<String> = parts.iter().map(|p| format!("`{}`", p.name)).collect();
            return Err(ApiError::invalid_field(
                "form",
                format!(
                    "no part named {name:?} here; the parts are {}",
                    known.join(", ")
                ),
            ));
        }
        Ok(Some(field))
    }

    /// Refuses a part after the one just read: the file is the last part.
    pub async fn end(&mut self, request: &Request) -> ApiResult<()> {
        match crate::http::next_field(request, &mut self.0).await? {
            None => Ok(()),
            Some(field) => Err(ApiError::invalid_field(
                "form",
                format!(
                    "{:?} comes after `file`; the file is the form's last part",
                    field.name().unwrap_or_default()
                ),
            )),
        }
    }

    /// The whole of a form whose one part is `file`, up to `max` bytes:
    /// the file's name and bytes.
    pub async fn only_file(
        mut self,
        request: &Request,
        max: u64,
    ) -> ApiResult<(Option<String>, Vec<u8>)> {
        let Some(field) = self.next_part(request).await? else {
            return Err(ApiError::invalid_field("file", "required: a `file` part"));
        };
        let name = field.file_name().map(str::to_owned);
        let bytes = crate::http::read_bounded_part(request, field, max).await?;
        self.end(request).await?;
        Ok((name, bytes))
    }
}
