//! The OpenAPI document as it is served (`/api/v1/openapi.json`) and printed
//! (`aegis openapi`): poem-openapi's, plus the one thing its types cannot
//! say. Every request object refuses unknown fields (`deny_unknown_fields`),
//! but poem-openapi's schema model has no `additionalProperties: false`, so
//! the document would invite fields the server then refuses. The objects a
//! JSON request body reaches get it here, and so do the forms of multipart
//! bodies, whose handlers refuse a part they do not name; a request object
//! that still took unknown fields would be caught by the contract run
//! (schemathesis sends them and expects a refusal).

use std::collections::BTreeSet;

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// JSON that keeps the order of object keys (serde_json's map sorts them),
/// so the document reads in declaration order.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Ordered {
    Object(IndexMap<String, Ordered>),
    Array(Vec<Ordered>),
    Scalar(serde_json::Value),
}

/// poem-openapi's document `spec`, closed as the module doc says. Returned
/// unchanged if it cannot be read, which its own serializer rules out.
pub(crate) fn close_request_objects(spec: String) -> String {
    let Ok(mut document) = serde_json::from_str::<Ordered>(&spec) else {
        return spec;
    };
    let names = request_schema_names(&document);
    if let Some(schemas) = field_mut(&mut document, &["components", "schemas"])
        && let Ordered::Object(schemas) = schemas
    {
        for (name, schema) in schemas.iter_mut() {
            if names.contains(name) {
                close(schema);
            }
        }
    }
    close_forms(&mut document);
    serde_json::to_string_pretty(&document).unwrap_or(spec)
}

/// The inline schema of every `multipart/form-data` request body.
fn close_forms(document: &mut Ordered) {
    let Some(Ordered::Object(paths)) = field_mut(document, &["paths"]) else {
        return;
    };
    for item in paths.values_mut() {
        let Ordered::Object(operations) = item else {
            continue;
        };
        for operation in operations.values_mut() {
            let Some(Ordered::Object(content)) = field_mut(operation, &["requestBody", "content"])
            else {
                continue;
            };
            for (media_type, body) in content.iter_mut() {
                if aegis_core::http::essence(media_type) == "multipart/form-data"
                    && let Some(schema) = field_mut(body, &["schema"])
                {
                    close(schema);
                }
            }
        }
    }
}

/// Component schemas a JSON request body reaches, at any depth.
fn request_schema_names(document: &Ordered) -> BTreeSet<String> {
    let mut pending = Vec::new();
    if let Some(Ordered::Object(paths)) = field(document, &["paths"]) {
        for item in paths.values() {
            let Ordered::Object(operations) = item else {
                continue;
            };
            for operation in operations.values() {
                let Some(Ordered::Object(content)) = field(operation, &["requestBody", "content"])
                else {
                    continue;
                };
                // `application/json; charset=utf-8`, as poem-openapi writes it.
                let json = content.iter().filter(|(media_type, _)| {
                    aegis_core::http::essence(media_type) == "application/json"
                });
                for (_, body) in json {
                    if let Some(schema) = field(body, &["schema"]) {
                        refs(schema, &mut pending);
                    }
                }
            }
        }
    }
    let mut seen = BTreeSet::new();
    while let Some(name) = pending.pop() {
        if seen.insert(name.clone())
            && let Some(schema) = field(document, &["components", "schemas", &name])
        {
            refs(schema, &mut pending);
        }
    }
    seen
}

/// Every `#/components/schemas/...` name `value` refers to.
fn refs(value: &Ordered, out: &mut Vec<String>) {
    match value {
        Ordered::Object(map) => {
            for (key, item) in map {
                match item {
                    Ordered::Scalar(serde_json::Value::String(target)) if key == "$ref" => {
                        if let Some(name) = target.strip_prefix("#/components/schemas/") {
                            out.push(name.to_owned());
                        }
                    }
                    _ => refs(item, out),
                }
            }
        }
        Ordered::Array(items) => items.iter().for_each(|item| refs(item, out)),
        Ordered::Scalar(_) => {}
    }
}

/// `additionalProperties: false` on an object schema with named properties
/// that says nothing about others yet (a map keeps its own).
fn close(schema: &mut Ordered) {
    let Ordered::Object(map) = schema else {
        return;
    };
    let is_object = matches!(map.get("type"), Some(Ordered::Scalar(serde_json::Value::String(t))) if t == "object");
    if is_object && map.contains_key("properties") && !map.contains_key("additionalProperties") {
        let at = map.get_index_of("properties").map_or(map.len(), |i| i + 1);
        map.shift_insert(
            at,
            "additionalProperties".into(),
            Ordered::Scalar(serde_json::Value::Bool(false)),
        );
    }
}

fn field<'a>(value: &'a Ordered, path: &[&str]) -> Option<&'a Ordered> {
    path.iter().try_fold(value, |value, key| match value {
        Ordered::Object(map) => map.get(*key),
        _ => None,
    })
}

fn field_mut<'a>(value: &'a mut Ordered, path: &[&str]) -> Option<&'a mut Ordered> {
    path.iter().try_fold(value, |value, key| match value {
        Ordered::Object(map) => map.get_mut(*key),
        _ => None,
    })
}

#[cfg(test)]
mod tests {
    use super::close_request_objects;

    #[test]
    fn objects_a_request_body_reaches_are_closed_and_the_order_kept() {
        // Written out, since `json!` would sort the keys.
        let spec = r##"{
          "openapi": "3.0.0",
          "paths": {"/x": {"post": {
            "requestBody": {"content": {"application/json; charset=utf-8": {"schema": {"$ref": "#/components/schemas/Input"}}}},
            "responses": {"200": {"content": {"application/json; charset=utf-8": {"schema": {"$ref": "#/components/schemas/View"}}}}}
          }}, "/form": {"post": {
            "requestBody": {"content": {"multipart/form-data": {"schema": {"type": "object", "properties": {
              "file": {"type": "string", "format": "binary"}
            }}}}}
          }}},
          "components": {"schemas": {
            "Input": {"type": "object", "required": ["z"], "properties": {
              "z": {"type": "string"},
              "a": {"type": "array", "items": {"$ref": "#/components/schemas/Nested"}},
              "m": {"type": "object", "additionalProperties": {"type": "string"}}
            }},
            "Nested": {"type": "object", "properties": {"b": {"type": "integer"}}},
            "View": {"type": "object", "properties": {"v": {"type": "string"}}}
          }}
        }"##;
        let closed = close_request_objects(spec.to_owned());
        let doc: serde_json::Value = serde_json::from_str(&closed).unwrap();
        let schemas = &doc["components"]["schemas"];
        assert_eq!(schemas["Input"]["additionalProperties"], false);
        assert_eq!(schemas["Nested"]["additionalProperties"], false);
        // A map keeps its own rule, and answers may grow new fields.
        assert_eq!(
            schemas["Input"]["properties"]["m"]["additionalProperties"]["type"],
            "string"
        );
        assert!(schemas["View"].get("additionalProperties").is_none());
        let form = &doc["paths"]["/form"]["post"]["requestBody"]["content"]["multipart/form-data"];
        assert_eq!(form["schema"]["additionalProperties"], false);
        // Declaration order, not sorted: `z` before `a`, `openapi` first.
        assert!(closed.find("\"z\"").unwrap() < closed.find("\"a\"").unwrap());
        assert!(closed.trim_start().starts_with("{\n  \"openapi\""));
    }
}
