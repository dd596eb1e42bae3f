//! `/api/v1/alert-kinds`, `/alert-rules`, `/alert-evaluations` and
//! `/alerts`: everyone reads; leads and admins manage rules and evaluate
//! them now; everyone who records work acknowledges and resolves alerts.

use std::collections::BTreeMap;

use aegis_core::auth::{AnyRole, Auth, Contributor, LeadPlus};
use aegis_core::http::strict_json;
use aegis_core::http::{NoContent, etag, expected_version};
use aegis_core::pagination::PageRequest;
use aegis_core::plugins::Severity;
use aegis_core::time::Timestamp;
use aegis_core::{ApiError, ApiResult};
use poem_openapi::param::{Header, Path, Query};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi, Tags};
use serde_json::Value;

use crate::model::{
    Alert, AlertFilter, AlertStatus, Delivery, Evaluation, Rule, RuleFields, RuleScope,
};
use crate::service::{AlertService, KindInfo};

#[derive(Tags)]
enum AlertsTag {
    /// Alert rules, the alerts they open, and their evaluations.
    Alerts,
}

pub struct AlertsApi {
    pub service: AlertService,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AlertKindView {
    /// A built-in id, or `plugin:<plugin id>`.
    pub id: String,
    pub name: String,
    pub description: String,
    /// JSON Schema of a rule's `params`.
    pub params_schema: Value,
    /// `builtin` or `plugin`.
    pub source: String,
}

impl From<KindInfo> for AlertKindView {
    fn from(k: KindInfo) -> Self {
        Self {
            id: k.id,
            name: k.name,
            description: k.description,
            params_schema: k.schema,
            source: k.source.into(),
        }
    }
}

/// An alert rule. A scope field (`campaign_id`, `tactic`, `platform`) is
/// absent when the rule looks at everything.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AlertRuleView {
    pub id: String,
    pub name: String,
    pub kind: String,
    /// Valid against the kind's `params_schema`.
    pub params: BTreeMap<String, Value>,
    pub severity: Severity,
    pub enabled: bool,
    pub campaign_id: Option<String>,
    /// A tactic's short name, e.g. `credential-access`.
    pub tactic: Option<String>,
    pub platform: Option<String>,
    /// Where new alerts are posted, as scheme and host only: a webhook's
    /// full URL is often its credential (chat tools), so it is never
    /// returned. Absent without a webhook.
    pub webhook: Option<String>,
    /// Whether deliveries are signed; the secret itself is never returned.
    pub webhook_secret_set: bool,
    /// Absent until the rule's first evaluation.
    pub last_evaluated_at: Option<Timestamp>,
    /// Why the last evaluation failed; absent when it did not.
    pub last_error: Option<String>,
    pub version: i64,
    pub created_at: Timestamp,
    pub created_by: String,
    pub updated_at: Timestamp,
    pub updated_by: String,
}

impl From<Rule> for AlertRuleView {
    fn from(r: Rule) -> Self {
        Self {
            id: r.id,
            name: r.name,
            kind: r.kind,
            params: object(r.params),
            severity: r.severity,
            enabled: r.enabled,
            campaign_id: r.scope.campaign_id,
            tactic: r.scope.tactic,
            platform: r.scope.platform,
            webhook: r.webhook_url.as_deref().map(webhook_origin),
            webhook_secret_set: r.webhook_secret.is_some(),
            last_evaluated_at: r.last_evaluated_at,
            last_error: r.last_error,
            version: r.version,
            created_at: r.created_at,
            created_by: r.created_by,
            updated_at: r.updated_at,
            updated_by: r.updated_by,
        }
    }
}

/// A rule to create, or the whole of a rule to replace. `severity` defaults
/// to `medium`. Which `kind`s exist (built-in ones and enabled plugins) and
/// which `params` each takes are known only at run time: `GET
/// /api/v1/alert-kinds` lists them with their parameters' JSON Schema, and
/// anything else is a 422.
#[derive(Debug, Object)]
#[oai(deny_unknown_fields, example, skip_serializing_if_is_none)]
pub struct AlertRuleInput {
    /// Updates: the version you edited, unless sent as `If-Match`.
    #[oai(deserialize_with = "strict_json")]
    pub version: Option<i64>,
    /// 1 to 200 characters, not only spaces.
    #[oai(
        deserialize_with = "strict_json",
        validator(max_length = 200, pattern = r"\S")
    )]
    pub name: String,
    /// One of `GET /api/v1/alert-kinds`.
    #[oai(deserialize_with = "strict_json")]
    pub kind: String,
    /// Valid against the kind's `params_schema`; default `{}`.
    #[oai(deserialize_with = "strict_json")]
    pub params: Option<BTreeMap<String, Value>>,
    #[oai(deserialize_with = "strict_json")]
    pub severity: Option<Severity>,
    /// Default true.
    #[oai(deserialize_with = "strict_json")]
    pub enabled: Option<bool>,
    #[oai(deserialize_with = "strict_json")]
    pub campaign_id: Option<String>,
    #[oai(deserialize_with = "strict_json")]
    pub tactic: Option<String>,
    #[oai(deserialize_with = "strict_json")]
    pub platform: Option<String>,
    /// New alerts are posted here (JSON with a Slack-compatible `text`):
    /// an http(s) URL of at most 2,000 characters whose host is not on a
    /// private network unless the server allows it (422 otherwise).
    /// Write-only; on update, omit it to keep the current one and send ""
    /// to remove it.
    #[oai(
        deserialize_with = "strict_json",
        validator(
            max_length = 2000,
            pattern = r"^(https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?([/?#]\S*)?|\s*)$"
        )
    )]
    pub webhook_url: Option<String>,
    /// Signs deliveries (`X-Aegis-Signature`); 16 to 256 characters.
    /// Write-only; on update, omit it to keep the current one — unless the
    /// URL changes, which needs a new secret.
    #[oai(
        deserialize_with = "strict_json",
        validator(min_length = 16, max_length = 256)
    )]
    pub webhook_secret: Option<String>,
}

impl poem_openapi::types::Example for AlertRuleInput {
    fn example() -> Self {
        Self {
            version: None,
            name: "Regressions on credential access".into(),
            kind: "technique_regressed".into(),
            params: None,
            severity: Some(Severity::High),
            enabled: Some(true),
            campaign_id: None,
            tactic: Some("credential-access".into()),
            platform: None,
            // No webhook: the example is a request that succeeds as it is,
            // and a webhook's host must resolve to a public address.
            webhook_url: None,
            webhook_secret: None,
        }
    }
}

/// A rule's stored parameters as the object they are (every kind's schema
/// is an object's; anything else would be an empty one).
fn object(params: Value) -> BTreeMap<String, Value> {
    match params {
        Value::Object(map) => map.into_iter().collect(),
        _ => BTreeMap::new(),
    }
}

/// `https://hooks.example.com/…`: enough to recognise, nothing to reuse.
fn webhook_origin(url: &str) -> String {
    match reqwest::Url::parse(url) {
        Ok(u) => format!("{}://{}/…", u.scheme(), u.host_str().unwrap_or("")),
        Err(_) => "…".into(),
    }
}

impl AlertRuleInput {
    /// The rule to store; what the input leaves out of the webhook is kept.
    fn fields(self, current: Option<&Rule>) -> RuleFields {
        let blank = |v: Option<String>| v.filter(|s| !s.trim().is_empty());
        let webhook_url = match self.webhook_url {
            None => current.and_then(|r| r.webhook_url.clone()),
            given => blank(given),
        };
        // The secret stays only with the URL it was set for: whoever points
        // the rule elsewhere must give a new one.
        let same_url = webhook_url.is_some()
            && current.and_then(|r| r.webhook_url.as_ref()) == webhook_url.as_ref();
        let webhook_secret = match (&webhook_url, blank(self.webhook_secret)) {
            (None, _) => None,
            (Some(_), Some(secret)) => Some(secret),
            (Some(_), None) if same_url => current.and_then(|r| r.webhook_secret.clone()),
            (Some(_), None) => None,
        };
        RuleFields {
            name: self.name,
            kind: self.kind,
            params: Value::Object(self.params.unwrap_or_default().into_iter().collect()),
            severity: self.severity.unwrap_or(Severity::Medium),
            enabled: self.enabled.unwrap_or(true),
            scope: RuleScope {
                campaign_id: blank(self.campaign_id),
                tactic: blank(self.tactic),
                platform: blank(self.platform),
            },
            webhook_secret,
            webhook_url,
        }
    }
}

/// An alert; who acknowledged or resolved it, and when, are absent until
/// someone did.
#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AlertView {
    pub id: String,
    pub rule_id: String,
    pub severity: Severity,
    pub title: String,
    pub message: String,
    pub technique_ids: Vec<String>,
    pub test_ids: Vec<String>,
    pub status: AlertStatus,
    pub opened_at: Timestamp,
    pub acknowledged_at: Option<Timestamp>,
    pub acknowledged_by: Option<String>,
    pub resolved_at: Option<Timestamp>,
    pub resolved_by: Option<String>,
}

impl From<Alert> for AlertView {
    fn from(a: Alert) -> Self {
        Self {
            id: a.id,
            rule_id: a.rule_id,
            severity: a.severity,
            title: a.title,
            message: a.message,
            technique_ids: a.technique_ids,
            test_ids: a.test_ids,
            status: a.status,
            opened_at: a.opened_at,
            acknowledged_at: a.acknowledged_at,
            acknowledged_by: a.acknowledged_by,
            resolved_at: a.resolved_at,
            resolved_by: a.resolved_by,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct EvaluationView {
    pub id: String,
    pub rule_id: String,
    /// `schedule` or `manual`.
    pub trigger: String,
    pub started_at: Timestamp,
    pub duration_ms: i64,
    pub findings: i64,
    /// Alerts it opened (findings already open are not opened again).
    pub opened: i64,
    /// Why the rule failed; absent when it did not.
    pub error: Option<String>,
}

impl From<Evaluation> for EvaluationView {
    fn from(e: Evaluation) -> Self {
        Self {
            id: e.id,
            rule_id: e.rule_id,
            trigger: e.trigger,
            started_at: e.started_at,
            duration_ms: e.duration_ms,
            findings: e.findings,
            opened: e.opened,
            error: e.error,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DeliveryView {
    pub id: String,
    pub alert_id: String,
    pub attempts: i64,
    /// The last answer's HTTP status; absent when the webhook never answered.
    pub status_code: Option<i64>,
    pub delivered: bool,
    /// Why the last attempt failed; absent once delivered.
    pub error: Option<String>,
    pub at: Timestamp,
}

impl From<Delivery> for DeliveryView {
    fn from(d: Delivery) -> Self {
        Self {
            id: d.id,
            alert_id: d.alert_id,
            attempts: d.attempts,
            status_code: d.status_code,
            delivered: d.delivered,
            error: d.error,
            at: d.at,
        }
    }
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct DeliveryPage {
    pub items: Vec<DeliveryView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct AlertPage {
    pub items: Vec<AlertView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(Debug, Object)]
#[oai(skip_serializing_if_is_none)]
pub struct EvaluationPage {
    pub items: Vec<EvaluationView>,
    pub total: i64,
    pub limit: i64,
    pub offset: i64,
}

#[derive(ApiResponse)]
pub enum RuleReply {
    #[oai(status = 200)]
    Ok(Json<AlertRuleView>, #[oai(header = "ETag")] String),
    #[oai(status = 201)]
    Created(Json<AlertRuleView>, #[oai(header = "Location")] String),
}

#[OpenApi(prefix_path = "/api/v1", tag = "AlertsTag::Alerts")]
impl AlertsApi {
    /// Rule kinds: the built-in ones and every enabled alert-rule plugin,
    /// each with the JSON Schema of its parameters.
    #[oai(
        path = "/alert-kinds",
        method = "get",
        operation_id = "list_alert_kinds"
    )]
    async fn kinds(&self, _auth: Auth<AnyRole>) -> ApiResult<Json<Vec<AlertKindView>>> {
        Ok(Json(
            self.service
                .kinds()
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        ))
    }

    #[oai(
        path = "/alert-rules",
        method = "get",
        operation_id = "list_alert_rules"
    )]
    async fn rules(&self, _auth: Auth<AnyRole>) -> ApiResult<Json<Vec<AlertRuleView>>> {
        Ok(Json(
            self.service
                .rules()
                .await?
                .into_iter()
                .map(Into::into)
                .collect(),
        ))
    }

    #[oai(
        path = "/alert-rules",
        method = "post",
        operation_id = "create_alert_rule"
    )]
    async fn create(
        &self,
        auth: Auth<LeadPlus>,
        body: Json<AlertRuleInput>,
    ) -> ApiResult<RuleReply> {
        let rule = self.service.create_rule(&auth, body.0.fields(None)).await?;
        let location = format!("/api/v1/alert-rules/{}", rule.id);
        Ok(RuleReply::Created(Json(rule.into()), location))
    }

    #[oai(
        path = "/alert-rules/:id",
        method = "get",
        operation_id = "get_alert_rule"
    )]
    async fn get(&self, _auth: Auth<AnyRole>, id: Path<String>) -> ApiResult<RuleReply> {
        let rule = self.service.rule(&id.0).await?;
        Ok(RuleReply::Ok(Json(rule.clone().into()), etag(rule.version)))
    }

    /// Replace a rule; needs the version edited, as `If-Match` or as the
    /// body's `version` (428 `version_required` without either: OpenAPI
    /// cannot say that one of a header and a body field is required). A
    /// version that is not the current one is a 412; `If-Match` and `version`
    /// that disagree are a 400.
    #[oai(
        path = "/alert-rules/:id",
        method = "put",
        operation_id = "update_alert_rule"
    )]
    async fn update(
        &self,
        auth: Auth<LeadPlus>,
        id: Path<String>,
        /// The version edited, as the rule's `ETag` gave it: `"3"`, `W/"3"` or `3`.
        #[oai(name = "If-Match", validator(pattern = r#"^(W/)?"?[0-9]{1,18}"?$"#))]
        if_match: Header<Option<String>>,
        body: Json<AlertRuleInput>,
    ) -> ApiResult<RuleReply> {
        // An unknown rule is a 404 whatever version was sent.
        let current = self.service.rule(&id.0).await?;
        let expected = expected_version(if_match.0.as_deref(), body.0.version)?
            .ok_or_else(|| ApiError::version_required("send If-Match or version"))?;
        let fields = body.0.fields(Some(&current));
        let rule = self
            .service
            .update_rule(&auth, &id.0, expected, fields)
            .await?;
        Ok(RuleReply::Ok(Json(rule.clone().into()), etag(rule.version)))
    }

    /// Delete a rule with its alerts and evaluation history.
    #[oai(
        path = "/alert-rules/:id",
        method = "delete",
        operation_id = "delete_alert_rule"
    )]
    async fn delete(&self, auth: Auth<LeadPlus>, id: Path<String>) -> ApiResult<NoContent> {
        self.service.delete_rule(&auth, &id.0).await?;
        Ok(NoContent::Done)
    }

    /// Evaluate one rule now (disabled ones too, to try them out).
    #[oai(
        path = "/alert-rules/:id/evaluate",
        method = "post",
        operation_id = "evaluate_alert_rule"
    )]
    async fn evaluate(
        &self,
        _auth: Auth<LeadPlus>,
        id: Path<String>,
    ) -> ApiResult<Json<EvaluationView>> {
        let rule = self.service.rule(&id.0).await?;
        let evaluation = self.service.evaluate_now(&rule, "manual").await?;
        Ok(Json(evaluation.into()))
    }

    /// A rule's webhook deliveries, newest first (leads and admins).
    #[oai(
        path = "/alert-rules/:id/deliveries",
        method = "get",
        operation_id = "list_alert_deliveries"
    )]
    async fn deliveries(
        &self,
        _auth: Auth<LeadPlus>,
        id: Path<String>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] limit: Query<Option<i64>>,
        #[oai(validator(minimum(value = "0")))] offset: Query<Option<i64>>,
    ) -> ApiResult<Json<DeliveryPage>> {
        let page = PageRequest::parse(limit.0, offset.0)?;
        let (items, total) = self
            .service
            .deliveries(&id.0, page.limit, page.offset)
            .await?;
        Ok(Json(DeliveryPage {
            items: items.into_iter().map(Into::into).collect(),
            total,
            limit: page.limit,
            offset: page.offset,
        }))
    }

    /// Evaluations, newest first.
    #[oai(
        path = "/alert-evaluations",
        method = "get",
        operation_id = "list_alert_evaluations"
    )]
    async fn evaluations(
        &self,
        _auth: Auth<AnyRole>,
        rule_id: Query<Option<String>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] limit: Query<Option<i64>>,
        #[oai(validator(minimum(value = "0")))] offset: Query<Option<i64>>,
    ) -> ApiResult<Json<EvaluationPage>> {
        let page = PageRequest::parse(limit.0, offset.0)?;
        let (items, total) = self
            .service
            .evaluations(rule_id.0.as_deref(), page.limit, page.offset)
            .await?;
        Ok(Json(EvaluationPage {
            items: items.into_iter().map(Into::into).collect(),
            total,
            limit: page.limit,
            offset: page.offset,
        }))
    }

    /// The alert inbox, newest first.
    #[oai(path = "/alerts", method = "get", operation_id = "list_alerts")]
    async fn alerts(
        &self,
        _auth: Auth<AnyRole>,
        status: Query<Option<AlertStatus>>,
        severity: Query<Option<Severity>>,
        rule_id: Query<Option<String>>,
        #[oai(validator(minimum(value = "1"), maximum(value = "500")))] limit: Query<Option<i64>>,
        #[oai(validator(minimum(value = "0")))] offset: Query<Option<i64>>,
    ) -> ApiResult<Json<AlertPage>> {
        let page = PageRequest::parse(limit.0, offset.0)?;
        let filter = AlertFilter {
            status: status.0,
            severity: severity.0,
            rule_id: rule_id.0,
        };
        let (items, total) = self
            .service
            .alerts(&filter, page.limit, page.offset)
            .await?;
        Ok(Json(AlertPage {
            items: items.into_iter().map(Into::into).collect(),
            total,
            limit: page.limit,
            offset: page.offset,
        }))
    }

    /// Acknowledge an open alert: someone is on it.
    #[oai(
        path = "/alerts/:id/acknowledge",
        method = "post",
        operation_id = "acknowledge_alert"
    )]
    async fn acknowledge(
        &self,
        auth: Auth<Contributor>,
        id: Path<String>,
    ) -> ApiResult<Json<AlertView>> {
        Ok(Json(self.service.acknowledge(&auth, &id.0).await?.into()))
    }

    /// Resolve an open or acknowledged alert; the same finding may then open a new one.
    #[oai(
        path = "/alerts/:id/resolve",
        method = "post",
        operation_id = "resolve_alert"
    )]
    async fn resolve(
        &self,
        auth: Auth<Contributor>,
        id: Path<String>,
    ) -> ApiResult<Json<AlertView>> {
        Ok(Json(self.service.resolve(&auth, &id.0).await?.into()))
    }
}
