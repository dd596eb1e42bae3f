//! `/api/v1/plugins` (administrators): upload, list, read, enable and
//! disable, configure, delete. Every change is audited.

use aegis_core::auth::{AdminOnly, Auth};
use aegis_core::form::{Form, FormPart, FormParts};
use aegis_core::http::strict_json;
use aegis_core::http::{NoContent, etag, expected_version, read_bounded_part, read_text_field};
use aegis_core::pagination::PageRequest;
use aegis_core::plugins::PluginKind;
use aegis_core::time::Timestamp;
use aegis_core::{ApiError, ApiResult};
use std::collections::BTreeMap;

use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::registry::Registry;
use poem_openapi::types::Type;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};

use crate::model::{Plugin, PluginFilter};
use crate::service::{PluginService, Upload};

#[derive(Tags)]
enum PluginsTag {
    /// WebAssembly plugins: alert-rule kinds and report formats.
    Plugins,
}

pub struct PluginsApi {
    pub service: PluginService,
}

/// A registered plugin. What a plugin does not have (a file name, a report
/// format's media type and extension, a reason it was switched off, a last
/// failure) is absent.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PluginView {
    pub id: String,
    pub kind: PluginKind,
    /// The author's id for it, unique per kind.
    pub key: String,
    pub name: String,
    pub description: String,
    /// The `aegis:plugin` interface version it was built against.
    pub interface_version: String,
    pub sha256: String,
    pub size_bytes: i64,
    pub file_name: Option<String>,
    /// JSON Schema of its configuration.
    pub config_schema: serde_json::Value,
    /// Valid against `config_schema`.
    pub config: BTreeMap<String, serde_json::Value>,
    /// Report formats: the media type and extension of what they render.
    pub media_type: Option<String>,
    pub file_extension: Option<String>,
    pub enabled: bool,
    /// Set when the server switched it off after repeated failures.
    pub disabled_reason: Option<String>,
    pub calls: i64,
    pub failures: i64,
    pub consecutive_failures: i64,
    /// The last failure's code (`plugin_timed_out`, `plugin_out_of_memory`, …).
    pub last_error_code: Option<String>,
    pub last_error: Option<String>,
    pub last_error_at: Option<Timestamp>,
    pub version: i64,
    pub created_at: Timestamp,
    pub created_by: String,
    pub updated_at: Timestamp,
    pub updated_by: String,
}

impl From<Plugin> for PluginView {
    fn from(p: Plugin) -> Self {
        Self {
            id: p.id,
            kind: p.kind,
            key: p.key,
            name: p.name,
            description: p.description,
            interface_version: p.interface_version,
            sha256: p.sha256,
            size_bytes: p.size_bytes,
            file_name: p.file_name,
            config_schema: p.config_schema,
            // Stored only once checked against `config_schema`, an object's.
            config: match p.config {
                serde_json::Value::Object(map) => map.into_iter().collect(),
                _ => BTreeMap::new(),
            },
            media_type: p.media_type,
            file_extension: p.file_extension,
            enabled: p.enabled,
            disabled_reason: p.disabled_reason,
            calls: p.health.calls,
            failures: p.health.failures,
            consecutive_failures: p.health.consecutive_failures,
            last_error_code: p.health.last_error_code,
            last_error: p.health.last_error,
            last_error_at: p.health.last_error_at,
            version: p.version,
            created_at: p.created_at,
            created_by: p.created_by,
            updated_at: p.updated_at,
            updated_by: p.updated_by,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct PluginPage {
    pub items: Vec<PluginView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

/// A plugin's new configuration. Whether it is valid depends on the
/// plugin's own `config_schema`, known only at run time: a violation is a
/// 422 naming each field by its JSON pointer.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example, skip_serializing_if_is_none)]
pub struct PluginConfigInput {
    /// The version you edited, unless sent as `If-Match`.
    #[oai(deserialize_with = "strict_json")]
    pub version: Option<i64>,
    /// The new configuration: a JSON object valid against `config_schema`.
    #[oai(deserialize_with = "strict_json")]
    pub config: BTreeMap<String, serde_json::Value>,
}

impl poem_openapi::types::Example for PluginConfigInput {
    fn example() -> Self {
        Self {
            version: Some(3),
            config: BTreeMap::from([("hours".to_owned(), serde_json::json!(48))]),
        }
    }
}

/// The form of an upload: the plugin's `kind` and its component as `file`,
/// in either order, nothing else; the component streams as it is read.
pub struct PluginParts;

impl FormParts for PluginParts {
    fn parts() -> Vec<FormPart> {
        vec![
            FormPart::required::<PluginKind>("kind"),
            FormPart::file("The WebAssembly component (`.wasm`)."),
        ]
    }

    fn register(registry: &mut Registry) {
        PluginKind::register(registry);
    }
}

#[derive(ApiResponse)]
pub enum PluginCreated {
    #[oai(status = 201)]
    Created(Json<PluginView>, #[oai(header = "Location")] String),
}

#[derive(ApiResponse)]
pub enum PluginReply {
    #[oai(status = 200)]
    Ok(Json<PluginView>, #[oai(header = "ETag")] String),
}

impl PluginReply {
    fn of(plugin: Plugin) -> Self {
        let tag = etag(plugin.version);
        Self::Ok(Json(plugin.into()), tag)
    }
}

impl PluginsApi {
    async fn switch(
        &self,
        auth: &Auth<AdminOnly>,
        id: &str,
        if_match: Option<&str>,
        on: bool,
    ) -> ApiResult<PluginReply> {
        let expected = expected_version(if_match, None)?;
        let plugin = self.service.set_enabled(auth, id, expected, on).await?;
        Ok(PluginReply::of(plugin))
    }
}

#[OpenApi(prefix_path = "/api/v1", tag = "PluginsTag::Plugins")]
impl PluginsApi {
    /// Upload a component (multipart: `kind` — `alert_rule` or
    /// `report_format` — and `file`). It is compiled, its world, interface
    /// version and imports are checked, and its `describe` is called in the
    /// sandbox before anything is stored; a refusal is a 422 whose `code`
    /// says why (`wrong_world`, `unsupported_interface_version`,
    /// `not_a_component`, `forbidden_import`, `plugin_timed_out`, …).
    #[oai(path = "/plugins", method = "post", operation_id = "upload_plugin")]
    async fn upload(
        &self,
        auth: Auth<AdminOnly>,
        request: &poem::Request,
        body: Form<PluginParts>,
    ) -> ApiResult<PluginCreated> {
        let max = self.service.max_bytes();
        let mut form = body;
        let (mut kind, mut file) = (None, None);
        while let Some(field) = form.next_part(request).await? {
            if field.name() == Some("kind") {
                let text = read_text_field(request, field, 64).await?;
                kind = Some(PluginKind::parse(text.trim()).ok_or_else(|| {
                    ApiError::invalid_field("kind", "must be alert_rule or report_format")
                })?);
            } else {
                let name = field.file_name().map(str::to_owned);
                file = Some((name, read_bounded_part(request, field, max).await?));
            }
        }
        let kind = kind.ok_or_else(|| ApiError::invalid_field("kind", "required"))?;
        let (file_name, bytes) =
            file.ok_or_else(|| ApiError::invalid_field("file", "required: a `file` part"))?;
        let file_name =
            file_name.map(|n| n.chars().filter(|c| !c.is_control()).take(200).collect());
        let plugin = self
            .service
            .upload(
                &auth,
                Upload {
                    kind,
                    file_name,
                    bytes,
                },
            )
            .await?;
        let location = format!("/api/v1/plugins/{}", plugin.id);
        Ok(PluginCreated::Created(Json(plugin.into()), location))
    }

    /// Registered plugins, by kind and name.
    #[oai(path = "/plugins", method = "get", operation_id = "list_plugins")]
    async fn list(
        &self,
        _auth: Auth<AdminOnly>,
        kind: Query<Option<PluginKind>>,
        enabled: Query<Option<bool>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] limit: Query<Option<i64>>,
        #[oai(validator(minimum(value = "0")))] offset: Query<Option<i64>>,
    ) -> ApiResult<Json<PluginPage>> {
        let page = PageRequest::parse(limit.0, offset.0)?;
        let filter = PluginFilter {
            kind: kind.0,
            enabled: enabled.0,
        };
        let (items, total) = self.service.list(&filter, page.limit, page.offset).await?;
        Ok(Json(PluginPage {
            items: items.into_iter().map(Into::into).collect(),
            total,
            limit: page.limit,
            offset: page.offset,
        }))
    }

    #[oai(path = "/plugins/:id", method = "get", operation_id = "get_plugin")]
    async fn get(&self, _auth: Auth<AdminOnly>, id: Path<String>) -> ApiResult<PluginReply> {
        Ok(PluginReply::of(self.service.get(&id.0).await?))
    }

    /// Switch a plugin on; this also clears its run of failures. Send
    /// `If-Match` to act only on the version you saw.
    #[oai(
        path = "/plugins/:id/enable",
        method = "post",
        operation_id = "enable_plugin"
    )]
    async fn enable(
        &self,
        auth: Auth<AdminOnly>,
        id: Path<String>,
        /// Act only on this version, as the plugin's `ETag` gave it: `"3"`,
        /// `W/"3"` or `3` (412 when it is not the current one).
        #[oai(name = "If-Match", validator(pattern = r#"^(W/)?"?[0-9]{1,18}"?$"#))]
        if_match: Header<Option<String>>,
    ) -> ApiResult<PluginReply> {
        self.switch(&auth, &id.0, if_match.0.as_deref(), true).await
    }

    /// Switch a plugin off: it is offered nowhere and never called. Send
    /// `If-Match` to act only on the version you saw.
    #[oai(
        path = "/plugins/:id/disable",
        method = "post",
        operation_id = "disable_plugin"
    )]
    async fn disable(
        &self,
        auth: Auth<AdminOnly>,
        id: Path<String>,
        /// Act only on this version, as the plugin's `ETag` gave it: `"3"`,
        /// `W/"3"` or `3` (412 when it is not the current one).
        #[oai(name = "If-Match", validator(pattern = r#"^(W/)?"?[0-9]{1,18}"?$"#))]
        if_match: Header<Option<String>>,
    ) -> ApiResult<PluginReply> {
        self.switch(&auth, &id.0, if_match.0.as_deref(), false)
            .await
    }

    /// Replace the configuration; it must be valid against `config_schema`
    /// (each violation is listed in `errors`, named by its JSON pointer).
    /// `If-Match` or `version` names the version edited (412 when it is not
    /// the current one; 400 when the two disagree); without either, the
    /// current version is replaced.
    #[oai(
        path = "/plugins/:id/config",
        method = "put",
        operation_id = "configure_plugin"
    )]
    async fn configure(
        &self,
        auth: Auth<AdminOnly>,
        id: Path<String>,
        /// Act only on this version, as the plugin's `ETag` gave it: `"3"`,
        /// `W/"3"` or `3` (412 when it is not the current one).
        #[oai(name = "If-Match", validator(pattern = r#"^(W/)?"?[0-9]{1,18}"?$"#))]
        if_match: Header<Option<String>>,
        body: Json<PluginConfigInput>,
    ) -> ApiResult<PluginReply> {
        // An unknown plugin is a 404 whatever version was sent.
        self.service.get(&id.0).await?;
        let expected = expected_version(if_match.0.as_deref(), body.0.version)?;
        let plugin = self
            .service
            .set_config(&auth, &id.0, expected, body.0.config.into_iter().collect())
            .await?;
        Ok(PluginReply::of(plugin))
    }

    /// Unregister a plugin and delete its stored component.
    #[oai(
        path = "/plugins/:id",
        method = "delete",
        operation_id = "delete_plugin"
    )]
    async fn delete(&self, auth: Auth<AdminOnly>, id: Path<String>) -> ApiResult<NoContent> {
        self.service.delete(&auth, &id.0).await?;
        Ok(NoContent::Done)
    }
}
