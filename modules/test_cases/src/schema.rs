//! Request shapes poem-openapi cannot describe by itself: a PATCH field that
//! `null` clears and a multipart form naming
//! exactly the parts its handler reads. Campaigns use them too.

use std::borrow::Cow;
use std::marker::PhantomData;

use aegis_core::{ApiError, ApiResult};
use poem::Request;
use poem_openapi::impl_apirequest_for_payload;
use poem_openapi::payload::{ParsePayload, Payload};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef, Registry};
use poem_openapi::types::{MaybeUndefined, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

/// A field of a partial change: absent leaves it, `null` clears it, a value
/// sets it. The document says `nullable: true`; a `$ref` (an enum) is put
/// in an `anyOf` first, because OpenAPI 3.0 ignores `nullable` beside a
/// `$ref` and generators refuse the `allOf` poem-openapi would write.
#[derive(Debug, Clone)]
pub struct Nullable<T>(pub MaybeUndefined<T>);

impl<T> Default for Nullable<T> {
    /// Absent: the field is left as it is.
    fn default() -> Self {
        Self(MaybeUndefined::Undefined)
    }
}

impl<T> Nullable<T> {
    /// `None` leaves the field, `Some(None)` clears it.
    pub fn change(self) -> Option<Option<T>> {
        match self.0 {
            MaybeUndefined::Undefined => None,
            MaybeUndefined::Null => Some(None),
            MaybeUndefined::Value(v) => Some(Some(v)),
        }
    }
}

impl<T: Type> Type for Nullable<T> {
    const IS_REQUIRED: bool = false;
    type RawValueType = T::RawValueType;
    type RawElementValueType = T::RawElementValueType;

    fn name() -> Cow<'static, str> {
        format!("nullable_{}", T::name()).into()
    }

    fn schema_ref() -> MetaSchemaRef {
        match T::schema_ref() {
            MetaSchemaRef::Inline(schema) => MetaSchemaRef::Inline(Box::new(MetaSchema {
                nullable: true,
                ..*schema
            })),
            reference @ MetaSchemaRef::Reference(_) => {
                MetaSchemaRef::Inline(Box::new(MetaSchema {
                    any_of: vec![reference],
                    nullable: true,
                    ..MetaSchema::ANY
                }))
            }
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }

    fn as_raw_value(&self) -> Option<&Self::RawValueType> {
        self.0.as_raw_value()
    }

    fn raw_element_iter<'a>(
        &'a self,
    ) -> Box<dyn Iterator<Item = &'a Self::RawElementValueType> + 'a> {
        self.0.raw_element_iter()
    }

    fn is_none(&self) -> bool {
        self.0.is_none()
    }
}

impl<T: ParseFromJSON> ParseFromJSON for Nullable<T> {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        if let Some(found) = &value {
            aegis_core::http::refuse_coercion::<T>(found)
                .map_err(poem_openapi::types::ParseError::propagate)?;
        }
        MaybeUndefined::parse_from_json(value)
            .map(Self)
            .map_err(poem_openapi::types::ParseError::propagate)
    }
}

impl<T: ToJSON> ToJSON for Nullable<T> {
    fn to_json(&self) -> Option<Value> {
        self.0.to_json()
    }
}

/// The parts a multipart form declares: name, schema, and whether the
/// handler refuses the form without it.
pub trait FormParts: Send + Sync {
    fn parts() -> Vec<FormPart>;
}

pub struct FormPart {
    pub name: &'static str,
    pub schema: MetaSchema,
    pub required: bool,
}

impl FormPart {
    /// A file part: its bytes, its file name, its part's `Content-Type`.
    pub fn file(description: &'static str) -> Self {
        Self {
            name: "file",
            schema: MetaSchema {
                format: Some("binary"),
                description: Some(description),
                // An empty file is refused.
                min_length: Some(1),
                ..MetaSchema::new("string")
            },
            required: true,
        }
    }

    pub fn text(name: &'static str, description: &'static str, max_length: usize) -> Self {
        Self {
            name,
            schema: MetaSchema {
                description: Some(description),
                max_length: Some(max_length),
                ..MetaSchema::new("string")
            },
            required: false,
        }
    }
}

/// A `multipart/form-data` body read part by part (an upload streams to
/// storage), documented as the parts `S` names. The form is read by the
/// kernel's helpers; this type only gives each operation its own schema.
pub struct Form<S>(pub poem::web::Multipart, PhantomData<S>);

impl<S: FormParts> Payload for Form<S> {
    const CONTENT_TYPE: &'static str = "multipart/form-data";

    fn check_content_type(content_type: &str) -> bool {
        aegis_core::http::is_multipart_form(content_type)
    }

    fn schema_ref() -> MetaSchemaRef {
        let parts = S::parts();
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            required: parts
                .iter()
                .filter(|p| p.required)
                .map(|p| p.name)
                .collect(),
            properties: parts
                .into_iter()
                .map(|p| (p.name, MetaSchemaRef::Inline(Box::new(p.schema))))
                .collect(),
            ..MetaSchema::new("object")
        }))
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
        let Some(field) = aegis_core::http::next_field(request, &mut self.0).await? else {
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
        match aegis_core::http::next_field(request, &mut self.0).await? {
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
        let bytes = aegis_core::http::read_bounded_part(request, field, max).await?;
        self.end(request).await?;
        Ok((name, bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem_openapi::registry::MetaSchemaRef;

    #[test]
    fn a_nullable_enum_is_an_any_of_not_an_all_of() {
        let MetaSchemaRef::Inline(schema) = Nullable::<crate::model::AttackOutcome>::schema_ref()
        else {
            panic!("inline expected");
        };
        assert!(schema.nullable);
        assert!(schema.all_of.is_empty());
        assert!(
            matches!(schema.any_of.as_slice(), [MetaSchemaRef::Reference(name)] if name == "AttackOutcome")
        );
        let MetaSchemaRef::Inline(text) = Nullable::<String>::schema_ref() else {
            panic!("inline expected");
        };
        assert_eq!((text.ty, text.nullable), ("string", true));
    }

    #[test]
    fn null_clears_and_absent_leaves() {
        let parse = |v| Nullable::<String>::parse_from_json(v).unwrap().change();
        assert_eq!(parse(None), None);
        assert_eq!(parse(Some(Value::Null)), Some(None));
        assert_eq!(parse(Some(Value::from("x"))), Some(Some("x".to_owned())));
    }
}
