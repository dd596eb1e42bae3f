//! Alert rules and their evaluation: gathers the view a rule sees (tests,
//! techniques and coverage in its scope), runs a built-in kind or a plugin,
//! opens deduplicated alerts, records the evaluation and hands new alerts
//! to the webhook. A failing rule is recorded on that rule and stops no other.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use aegis_core::Kernel;
use aegis_core::auth::Principal;
use aegis_core::db::Conn;
use aegis_core::error::FieldError;
use aegis_core::plugins::{EvaluationInput, Finding, PluginKind, TechniqueView};
use aegis_core::text::truncate;
use aegis_core::time::{self, Timestamp};
use aegis_mod_coverage::{CoverageService, Scope};
use aegis_mod_plugins::PluginService;
use aegis_mod_plugins::model::PluginFilter;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::AlertsError;
use crate::kinds::{self, Baseline};
use crate::model::{
    Alert, AlertFilter, AlertStatus, Delivery, Evaluation, PLUGIN_KIND_PREFIX, Rule, RuleFields,
};
use crate::repo::AlertRepo;
use crate::webhook::{self, Webhooks};
use aegis_mod_test_cases::read::{ReadScope, TestCaseReads};

/// A kind a rule can have, with the schema its parameters follow.
#[derive(Debug, Clone)]
pub struct KindInfo {
    pub id: String,
    pub name: String,
    pub description: String,
    pub schema: Value,
    /// `builtin` or `plugin`.
    pub source: &'static str,
}

#[derive(Clone)]
pub struct AlertService {
    kernel: Kernel,
    repo: AlertRepo,
    coverage: CoverageService,
    plugins: PluginService,
    webhooks: Webhooks,
    views: TestCaseReads,
    /// `[alerts]`, read once: settings do not change while the server runs.
    allow_private_networks: bool,
}

impl AlertService {
    pub fn new(kernel: Kernel, coverage: CoverageService, plugins: PluginService) -> Self {
        let repo = AlertRepo::new(kernel.db.clone());
        let allow_private_networks = kernel
            .settings
            .section::<crate::AlertSettings>()
            .webhook_allow_private_networks;
        Self {
            webhooks: Webhooks::new(
                kernel.db.clone(),
                kernel.clock.clone(),
                repo.clone(),
                allow_private_networks,
            ),
            allow_private_networks,
            views: TestCaseReads::new(kernel.db.clone()),
            repo,
            kernel,
            coverage,
            plugins,
        }
    }

    /// Built-in kinds, then every enabled alert-rule plugin.
    pub async fn kinds(&self) -> Result<Vec<KindInfo>, AlertsError> {
        let mut kinds: Vec<KindInfo> = kinds::BUILTIN
            .iter()
            .map(|k| KindInfo {
                id: k.id.into(),
                name: k.name.into(),
                description: k.description.into(),
                schema: (k.schema)(),
                source: "builtin",
            })
            .collect();
        let filter = PluginFilter {
            kind: Some(PluginKind::AlertRule),
            enabled: Some(true),
        };
        let (plugins, _) = self.plugins.list(&filter, 1_000, 0).await?;
        kinds.extend(plugins.into_iter().map(|p| KindInfo {
            id: format!("{PLUGIN_KIND_PREFIX}{}", p.id),
            name: p.name,
            description: p.description,
            schema: p.config_schema,
            source: "plugin",
        }));
        Ok(kinds)
    }

    async fn check(&self, f: &RuleFields) -> Result<(), AlertsError> {
        let mut errors = Vec::new();
        // Characters, not bytes: as the document's `maxLength` counts.
        if f.name.trim().is_empty() || f.name.chars().count() > 200 {
            errors.push(FieldError::new("name", "1 to 200 characters"));
        }
        let kinds = self.kinds().await?;
        match kinds.iter().find(|k| k.id == f.kind) {
            None => errors.push(FieldError::new(
                "kind",
                "unknown kind (or a disabled plugin); GET /api/v1/alert-kinds lists them",
            )),
            Some(kind) => {
                // A plugin kind runs with the rule's params over the plugin's
                // configuration: that whole is what must match the schema.
                let effective = match f.kind.strip_prefix(PLUGIN_KIND_PREFIX) {
                    Some(plugin_id) => {
                        merged(&self.plugins.get(plugin_id).await?.config, &f.params)
                    }
                    None => f.params.clone(),
                };
                match aegis_mod_plugins::service::validate_config(&kind.schema, &effective) {
                    Ok(()) => {}
                    Err(aegis_mod_plugins::PluginsError::InvalidConfig(found)) => {
                        errors.extend(found.into_iter().map(|e| {
                            FieldError::new(e.field.replacen("config", "params", 1), e.message)
                        }));
                    }
                    Err(other) => errors.push(FieldError::new("kind", other.to_string())),
                }
            }
        }
        if let Some(url) = &f.webhook_url {
            let ok = url.len() <= 2_000
                && (url.starts_with("https://") || url.starts_with("http://"))
                && reqwest::Url::parse(url).is_ok();
            if !ok {
                errors.push(FieldError::new("webhook_url", "an http(s) URL"));
            } else if let Err(refused) = webhook::target(url, self.allow_private_networks).await {
                errors.push(FieldError::new("webhook_url", refused));
            }
            if f.webhook_secret.as_deref().is_none_or(|s| s.len() < 16) {
                errors.push(FieldError::new(
                    "webhook_secret",
                    "at least 16 characters, to sign deliveries",
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(AlertsError::Invalid(errors))
        }
    }

    pub async fn create_rule(&self, who: &Principal, f: RuleFields) -> Result<Rule, AlertsError> {
        self.check(&f).await?;
        let id = uuid::Uuid::now_v7().to_string();
        let mut tx = self.kernel.db.begin().await?;
        self.repo
            .insert_rule(&mut tx, &id, &f, &who.username, self.kernel.clock.now())
            .await?;
        self.audit(
            &mut tx,
            who,
            "alert_rule.create",
            ("alert_rule", &id),
            json!({"name": f.name, "kind": f.kind}),
        )
        .await?;
        tx.commit().await?;
        self.rule(&id).await
    }

    pub async fn update_rule(
        &self,
        who: &Principal,
        id: &str,
        expected: i64,
        f: RuleFields,
    ) -> Result<Rule, AlertsError> {
        let current = self.rule(id).await?;
        self.check(&f).await?;
        let mut tx = self.kernel.db.begin().await?;
        if !self
            .repo
            .update_rule(
                &mut tx,
                id,
                expected,
                &f,
                &who.username,
                self.kernel.clock.now(),
            )
            .await?
        {
            return Err(AlertsError::StaleVersion {
                expected,
                current: current.version,
            });
        }
        self.audit(
            &mut tx,
            who,
            "alert_rule.update",
            ("alert_rule", id),
            json!({"name": f.name, "kind": f.kind}),
        )
        .await?;
        tx.commit().await?;
        self.rule(id).await
    }

    pub async fn delete_rule(&self, who: &Principal, id: &str) -> Result<(), AlertsError> {
        let mut tx = self.kernel.db.begin().await?;
        if !self.repo.delete_rule(&mut tx, id).await? {
            return Err(AlertsError::NotFound("rule"));
        }
        self.audit(
            &mut tx,
            who,
            "alert_rule.delete",
            ("alert_rule", id),
            json!({}),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn rule(&self, id: &str) -> Result<Rule, AlertsError> {
        self.repo
            .rule(id)
            .await?
            .ok_or(AlertsError::NotFound("rule"))
    }

    pub async fn rules(&self) -> Result<Vec<Rule>, AlertsError> {
        Ok(self.repo.rules(false).await?)
    }

    /// Evaluates every enabled rule (the hourly job).
    pub async fn evaluate_all(&self, now: Timestamp) -> Result<Vec<Evaluation>, AlertsError> {
        let mut done = Vec::new();
        for rule in self.repo.rules(true).await? {
            // One rule that cannot be recorded does not hold up the others.
            match self.evaluate(&rule, "schedule", now).await {
                Ok(evaluation) => done.push(evaluation),
                Err(e) => {
                    tracing::error!(rule = %rule.id, error = %e, "cannot evaluate an alert rule")
                }
            }
        }
        Ok(done)
    }

    /// Evaluates one rule now, by the kernel's clock.
    pub async fn evaluate_now(
        &self,
        rule: &Rule,
        trigger: &str,
    ) -> Result<Evaluation, AlertsError> {
        self.evaluate(rule, trigger, self.kernel.clock.now()).await
    }

    /// Evaluates one rule at `now`. Whatever the rule does wrong is
    /// recorded in the evaluation; only a database failure is an error here.
    pub async fn evaluate(
        &self,
        rule: &Rule,
        trigger: &str,
        now: Timestamp,
    ) -> Result<Evaluation, AlertsError> {
        let started = Instant::now();
        let outcome = self.findings(rule, now).await;
        let mut evaluation = Evaluation {
            id: uuid::Uuid::now_v7().to_string(),
            rule_id: rule.id.clone(),
            trigger: trigger.into(),
            started_at: now,
            duration_ms: 0,
            findings: 0,
            opened: 0,
            error: None,
        };
        let mut opened = Vec::new();
        match outcome {
            Ok(findings) => {
                evaluation.findings = findings.len() as i64;
                for finding in findings {
                    let alert = Alert {
                        id: uuid::Uuid::now_v7().to_string(),
                        rule_id: rule.id.clone(),
                        severity: finding.severity,
                        title: finding.title.clone(),
                        message: finding.message.clone(),
                        technique_ids: finding.technique_ids.clone(),
                        test_ids: finding.test_ids.clone(),
                        status: AlertStatus::Open,
                        opened_at: now,
                        acknowledged_at: None,
                        acknowledged_by: None,
                        resolved_at: None,
                        resolved_by: None,
                    };
                    // Each alert opens in its own transaction, with its
                    // `alert.open` event (what the inbox follows): a duplicate
                    // is refused by a unique index, which would abort a
                    // PostgreSQL transaction around them all.
                    let mut tx = self.kernel.db.begin().await?;
                    if self
                        .repo
                        .open_alert(&mut tx, &alert, &fingerprint(&finding))
                        .await?
                    {
                        self.kernel
                            .audit
                            .record_about_in(
                                &mut tx,
                                None,
                                "alert.open",
                                ("alert", &alert.id),
                                json!({"title": alert.title, "rule_id": rule.id}),
                            )
                            .await?;
                        tx.commit().await?;
                        opened.push(alert);
                    }
                }
            }
            Err(error) => {
                let error = truncate(&error, MAX_ERROR_TEXT).to_owned();
                tracing::warn!(rule = %rule.id, "alert rule failed: {error}");
                evaluation.error = Some(error);
            }
        }
        evaluation.opened = opened.len() as i64;
        evaluation.duration_ms = started.elapsed().as_millis() as i64;
        // The evaluation and the rule's last-evaluated mark, together.
        let mut tx = self.kernel.db.begin().await?;
        self.repo.record_evaluation(&mut tx, &evaluation).await?;
        tx.commit().await?;
        self.webhooks.deliver(rule, opened);
        Ok(evaluation)
    }

    /// The findings of one rule, or why there are none.
    async fn findings(&self, rule: &Rule, now: Timestamp) -> Result<Vec<Finding>, String> {
        let scope = Scope {
            campaign_id: rule.scope.campaign_id.clone(),
            platform: rule.scope.platform.clone(),
            from: None,
            to: None,
        };
        let db = |e: sqlx::Error| format!("cannot read the data: {e}");
        let coverage = self.coverage.coverage(&scope).await.map_err(db)?;
        let view_scope = ReadScope {
            campaign_id: rule.scope.campaign_id.clone(),
            platform: rule.scope.platform.clone(),
        };
        let tests = self.views.tests(&view_scope).await.map_err(db)?;
        let input = view(now, &coverage, tests, rule.scope.tactic.as_deref());
        if let Some(plugin_id) = rule.kind.strip_prefix(PLUGIN_KIND_PREFIX) {
            let plugin = self
                .plugins
                .get(plugin_id)
                .await
                .map_err(|e| e.to_string())?;
            let params = merged(&plugin.config, &rule.params);
            return self
                .plugins
                .evaluate(plugin_id, &params, &input)
                .await
                .map_err(|e| e.to_string());
        }
        let baseline = if rule.kind == "coverage_drop" {
            // Only the newest snapshot is needed, not the KPIs around it.
            let previous = self.coverage.latest_snapshot(&scope).await.map_err(db)?;
            previous.map(|s| Baseline {
                before: s
                    .statuses
                    .iter()
                    .map(|(k, v)| (k.clone(), (*v).into()))
                    .collect(),
                taken_at: time::to_db(s.taken_at),
            })
        } else {
            None
        };
        if kinds::builtin(&rule.kind).is_none() {
            return Err(format!("unknown kind `{}`", rule.kind));
        }
        let tactic = rule.scope.tactic.as_deref();
        Ok(kinds::evaluate(
            &rule.kind,
            &rule.params,
            rule.severity,
            &input,
            tactic,
            baseline.as_ref(),
        ))
    }

    pub async fn alerts(
        &self,
        filter: &AlertFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Alert>, i64), AlertsError> {
        Ok(self.repo.alerts(filter, limit, offset).await?)
    }

    pub async fn acknowledge(&self, who: &Principal, id: &str) -> Result<Alert, AlertsError> {
        self.move_alert(who, id, &[AlertStatus::Open], AlertStatus::Acknowledged)
            .await
    }

    pub async fn resolve(&self, who: &Principal, id: &str) -> Result<Alert, AlertsError> {
        let from = [AlertStatus::Open, AlertStatus::Acknowledged];
        self.move_alert(who, id, &from, AlertStatus::Resolved).await
    }

    async fn move_alert(
        &self,
        who: &Principal,
        id: &str,
        from: &[AlertStatus],
        to: AlertStatus,
    ) -> Result<Alert, AlertsError> {
        let current = self
            .repo
            .alert(id)
            .await?
            .ok_or(AlertsError::NotFound("alert"))?;
        let mut tx = self.kernel.db.begin().await?;
        if !self
            .repo
            .set_alert_status(
                &mut tx,
                id,
                from,
                to,
                &who.username,
                self.kernel.clock.now(),
            )
            .await?
        {
            return Err(AlertsError::WrongState(current.status.as_str()));
        }
        let action = match to {
            AlertStatus::Acknowledged => "alert.acknowledge",
            AlertStatus::Resolved => "alert.resolve",
            AlertStatus::Open => "alert.reopen",
        };
        self.audit(
            &mut tx,
            who,
            action,
            ("alert", id),
            json!({"rule_id": current.rule_id, "before": current.status.as_str(), "after": to.as_str()}),
        )
        .await?;
        tx.commit().await?;
        self.repo
            .alert(id)
            .await?
            .ok_or(AlertsError::NotFound("alert"))
    }

    pub async fn evaluations(
        &self,
        rule_id: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Evaluation>, i64), AlertsError> {
        Ok(self.repo.evaluations(rule_id, limit, offset).await?)
    }

    pub async fn deliveries(
        &self,
        rule_id: &str,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Delivery>, i64), AlertsError> {
        self.rule(rule_id).await?;
        Ok(self.repo.deliveries(rule_id, limit, offset).await?)
    }

    /// Records an event inside the change's transaction.
    async fn audit(
        &self,
        conn: &mut Conn,
        who: &Principal,
        action: &str,
        target: (&str, &str),
        detail: Value,
    ) -> Result<(), sqlx::Error> {
        let actor = Some((who.user_id.as_str(), who.username.as_str()));
        self.kernel
            .audit
            .record_about_in(conn, actor, action, target, detail)
            .await
    }
}

/// Longest error text kept on an evaluation and its rule.
const MAX_ERROR_TEXT: usize = 2_000;

/// Same finding, same fingerprint: its title and the sorted ids it names.
fn fingerprint(finding: &Finding) -> String {
    let techniques: BTreeSet<&str> = finding.technique_ids.iter().map(String::as_str).collect();
    let tests: BTreeSet<&str> = finding.test_ids.iter().map(String::as_str).collect();
    let canonical = json!([finding.title, techniques, tests]).to_string();
    format!("{:x}", Sha256::digest(canonical.as_bytes()))
}

/// The rule's parameters over the plugin's configuration.
fn merged(config: &Value, params: &Value) -> Value {
    let mut out = config.as_object().cloned().unwrap_or_default();
    if let Some(params) = params.as_object() {
        out.extend(params.clone());
    }
    Value::Object(out)
}

/// The view a rule evaluates: the catalog's techniques, their coverage and
/// the tests, narrowed to a tactic when the rule has one.
fn view(
    now: Timestamp,
    coverage: &aegis_mod_coverage::model::Coverage,
    tests: Vec<aegis_core::plugins::TestView>,
    tactic: Option<&str>,
) -> EvaluationInput {
    let in_tactic = |tactics: &[String]| tactic.is_none_or(|t| tactics.iter().any(|x| x == t));
    let techniques: BTreeMap<&str, &aegis_mod_coverage::model::TechniqueCoverage> = coverage
        .techniques
        .iter()
        .filter(|t| in_tactic(&t.tactics))
        .map(|t| (t.attack_id.as_str(), t))
        .collect();
    EvaluationInput {
        now: now.timestamp(),
        tests: tests
            .into_iter()
            .filter(|t| tactic.is_none() || techniques.contains_key(t.technique_id.as_str()))
            .collect(),
        techniques: techniques
            .values()
            .map(|t| TechniqueView {
                id: t.attack_id.clone(),
                name: t.name.clone(),
                tactics: t.tactics.clone(),
                revoked: t.revoked,
                deprecated: t.deprecated,
                replaced_by: t.replaced_by.clone(),
            })
            .collect(),
        coverage: techniques.values().map(|t| t.view()).collect(),
    }
}
