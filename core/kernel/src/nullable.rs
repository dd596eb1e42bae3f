//! A request shape poem-openapi cannot describe by itself: a PATCH field
//! that `null` clears (tests, campaigns, users).

use std::borrow::Cow;

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
            crate::http::refuse_coercion::<T>(found)
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

#[cfg(test)]
mod tests {
    use super::*;
    use poem_openapi::registry::MetaSchemaRef;

    #[derive(poem_openapi::Enum)]
    enum Outcome {
        Blocked,
    }

    #[test]
    fn a_nullable_enum_is_an_any_of_not_an_all_of() {
        let MetaSchemaRef::Inline(schema) = Nullable::<Outcome>::schema_ref() else {
            panic!("inline expected");
        };
        assert!(schema.nullable);
        assert!(schema.all_of.is_empty());
        assert!(
            matches!(schema.any_of.as_slice(), [MetaSchemaRef::Reference(name)] if name == "Outcome")
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
