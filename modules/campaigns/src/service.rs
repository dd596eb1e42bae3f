//! Campaign rules: status `planned → active → completed` (completion takes a
//! coverage snapshot in the same unit of work), optimistic versions, and the
//! Navigator import. Every change is written with its audit event in one
//! transaction the service opens.

use std::collections::{BTreeMap, HashMap};

use aegis_core::Kernel;
use aegis_core::auth::Principal;
use aegis_core::concurrency::{Actor, VersionError, WriteOutcome, check_version};
use aegis_core::db::Conn;
use aegis_core::error::FieldError;
use aegis_mod_coverage::model::Kpis;
use aegis_mod_coverage::{CoverageService, Scope};
use aegis_mod_techniques::CatalogService;
use aegis_mod_test_cases::TestService;
use aegis_mod_test_cases::error::TestCaseError;
use aegis_mod_test_cases::model::TestPatch;
use serde_json::json;

use crate::error::CampaignError;
use crate::layer::LayerDraft;
use crate::model::{Campaign, CampaignFields, CampaignFilter, CampaignPatch, CampaignStatus};
use crate::repo::CampaignRepo;

/// What importing one layer made.
#[derive(Debug, Clone)]
pub struct LayerImport {
    pub campaign: Campaign,
    pub tests_created: u64,
    /// Techniques not made into tests, with the reason (unknown, revoked...).
    pub skipped: Vec<(String, String)>,
}

#[derive(Clone)]
pub struct CampaignService {
    kernel: Kernel,
    repo: CampaignRepo,
    tests: TestService,
    coverage: CoverageService,
    catalog: CatalogService,
}

impl CampaignService {
    pub fn new(
        kernel: Kernel,
        tests: TestService,
        coverage: CoverageService,
        catalog: CatalogService,
    ) -> Self {
        Self {
            repo: CampaignRepo::new(kernel.db.clone()),
            kernel,
            tests,
            coverage,
            catalog,
        }
    }

    /// Who makes a change now, by the kernel clock.
    fn actor(&self, who: &Principal) -> Actor {
        self.kernel.actor(who)
    }

    /// Writes the audit event about campaign `id` through `conn`, the
    /// change's transaction.
    async fn audit(
        &self,
        conn: &mut Conn,
        actor: &Actor,
        action: &str,
        id: &str,
        detail: serde_json::Value,
    ) -> Result<(), sqlx::Error> {
        self.kernel
            .audit
            .record_about_in(conn, actor.audit(), action, ("campaign", id), detail)
            .await
    }

    pub async fn get(&self, id: &str) -> Result<Campaign, CampaignError> {
        self.repo
            .get(id)
            .await?
            .ok_or_else(|| CampaignError::NotFound(format!("no campaign {id}")))
    }

    /// The campaign `id`, or `None`: the read other modules (reports) use.
    pub async fn find(&self, id: &str) -> Result<Option<Campaign>, sqlx::Error> {
        self.repo.get(id).await
    }

    /// Campaigns matching `filter`, newest first, and how many match.
    pub async fn list(
        &self,
        filter: &CampaignFilter,
        limit: i64,
        offset: i64,
    ) -> Result<(Vec<Campaign>, i64), CampaignError> {
        Ok(self.repo.list(filter, limit, offset).await?)
    }

    /// Tests by state for each of `ids` (campaigns without tests are absent).
    pub async fn progress(
        &self,
        ids: &[String],
    ) -> Result<HashMap<String, BTreeMap<String, i64>>, CampaignError> {
        Ok(self.repo.progress(ids).await?)
    }

    /// Tests by state of one campaign.
    pub async fn progress_of(&self, id: &str) -> Result<BTreeMap<String, i64>, CampaignError> {
        let mut progress = self.progress(&[id.to_owned()]).await?;
        Ok(progress.remove(id).unwrap_or_default())
    }

    /// The campaign's own KPIs, from the coverage module.
    pub async fn kpis(&self, id: &str) -> Result<Kpis, CampaignError> {
        let scope = Scope {
            campaign_id: Some(id.to_owned()),
            ..Scope::default()
        };
        Ok(self.coverage.kpis(&scope).await?.kpis)
    }

    pub async fn create(
        &self,
        who: &Principal,
        patch: &CampaignPatch,
        source: &str,
    ) -> Result<Campaign, CampaignError> {
        if patch.name.is_none() {
            return Err(CampaignError::invalid("name", "required"));
        }
        let empty = CampaignFields {
            name: String::new(),
            description: String::new(),
            threat_actor: None,
            starts_on: None,
            ends_on: None,
        };
        let fields = apply(&empty, patch)?;
        let id = uuid::Uuid::now_v7().to_string();
        let actor = self.actor(who);
        let mut tx = self.kernel.db.begin().await?;
        self.repo
            .insert(&mut tx, &id, &fields, source, &actor)
            .await?;
        self.audit(
            &mut tx,
            &actor,
            "campaign.create",
            &id,
            json!({ "name": fields.name, "source": source }),
        )
        .await?;
        tx.commit().await?;
        self.get(&id).await
    }

    pub async fn update(
        &self,
        who: &Principal,
        id: &str,
        expected_version: Option<i64>,
        patch: &CampaignPatch,
    ) -> Result<Campaign, CampaignError> {
        let current = self.get(id).await?;
        let expected = check_version(expected_version, current.version)?;
        let fields = apply(&current.fields, patch)?;
        if fields == current.fields {
            return Ok(current);
        }
        let actor = self.actor(who);
        let mut tx = self.kernel.db.begin().await?;
        match self
            .repo
            .update(&mut tx, id, expected, &fields, &actor)
            .await?
        {
            WriteOutcome::Written(version) => {
                self.audit(
                    &mut tx,
                    &actor,
                    "campaign.update",
                    id,
                    json!({ "version": version }),
                )
                .await?;
                tx.commit().await?;
                self.get(id).await
            }
            WriteOutcome::Conflict => {
                drop(tx);
                Err(VersionError::Stale {
                    current: self.get(id).await?.version,
                }
                .into())
            }
        }
    }

    /// planned → active, or active → completed. Completion is one unit of
    /// work: the status change, the campaign's coverage snapshot and the
    /// audit event commit together or not at all.
    pub async fn advance(
        &self,
        who: &Principal,
        id: &str,
        to: CampaignStatus,
    ) -> Result<Campaign, CampaignError> {
        let from = match to {
            CampaignStatus::Active => CampaignStatus::Planned,
            CampaignStatus::Completed => CampaignStatus::Active,
            CampaignStatus::Planned => {
                return Err(CampaignError::invalid(
                    "status",
                    "a campaign never goes back to planned",
                ));
            }
        };
        let current = self.get(id).await?;
        let wrong = |state: CampaignStatus| CampaignError::WrongState {
            code: "illegal_transition",
            detail: format!(
                "a campaign becomes {} only from {}; it is {}",
                to.as_str(),
                from.as_str(),
                state.as_str()
            ),
            state: state.as_str().into(),
        };
        if current.status != from {
            return Err(wrong(current.status));
        }
        let actor = self.actor(who);
        let mut tx = self.kernel.db.begin().await?;
        // The status first: a request that lost the race stops here, before
        // any coverage is computed.
        if !self.repo.set_status(&mut tx, id, from, to, &actor).await? {
            drop(tx);
            return Err(wrong(self.get(id).await?.status));
        }
        let mut detail = json!({ "from": from.as_str(), "to": to.as_str() });
        if to == CampaignStatus::Completed {
            let scope = Scope {
                campaign_id: Some(id.to_owned()),
                ..Scope::default()
            };
            let snapshot = self
                .coverage
                .take_snapshot_in(&mut tx, "campaign", &scope)
                .await?;
            detail["snapshot_id"] = json!(snapshot.id);
        }
        self.audit(
            &mut tx,
            &actor,
            &format!("campaign.{}", to.as_str()),
            id,
            detail,
        )
        .await?;
        tx.commit().await?;
        self.get(id).await
    }

    pub async fn delete(&self, who: &Principal, id: &str) -> Result<(), CampaignError> {
        let current = self.get(id).await?;
        let actor = self.actor(who);
        let mut tx = self.kernel.db.begin().await?;
        if !self.repo.delete_if_empty(&mut tx, id).await? {
            drop(tx);
            // Tests are never deleted, so a cancelled one keeps its campaign too.
            let tests: i64 = self.progress_of(id).await?.values().sum();
            let plural = if tests == 1 { "test" } else { "tests" };
            return Err(CampaignError::WrongState {
                code: "campaign_has_tests",
                detail: format!(
                    "the campaign has {tests} {plural} (cancelled ones count); only a campaign \
                     without tests can be deleted: move them to another campaign first"
                ),
                state: current.status.as_str().into(),
            });
        }
        self.audit(
            &mut tx,
            &actor,
            "campaign.delete",
            id,
            json!({ "name": current.fields.name }),
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// A new campaign with one draft test per technique of the layer.
    pub async fn import_layer(
        &self,
        who: &Principal,
        layer: &LayerDraft,
    ) -> Result<LayerImport, CampaignError> {
        let campaign = self
            .create(
                who,
                &CampaignPatch {
                    name: Some(layer.name.clone()),
                    description: Some(layer.description.clone()),
                    ..CampaignPatch::default()
                },
                "navigator",
            )
            .await?;
        let mut tests_created = 0;
        let mut skipped = Vec::new();
        for id in &layer.techniques {
            if !aegis_mod_test_cases::model::is_attack_id(id) {
                skipped.push((id.clone(), "not an ATT&CK technique id".into()));
                continue;
            }
            let name = match self.catalog.technique(&layer.domain, id).await? {
                Some(stored) => format!("{id} {}", stored.technique.name),
                None => {
                    skipped.push((id.clone(), format!("not in the {} catalog", layer.domain)));
                    continue;
                }
            };
            let patch = TestPatch {
                name: Some(name.chars().take(200).collect()),
                technique_domain: Some(layer.domain.clone()),
                technique_id: Some(id.clone()),
                campaign_id: Some(Some(campaign.id.clone())),
                ..TestPatch::default()
            };
            match self.tests.create(who, &patch, None).await {
                Ok(_) => tests_created += 1,
                Err(TestCaseError::Invalid(errors)) => skipped.push((
                    id.clone(),
                    errors
                        .into_iter()
                        .map(|e| e.message)
                        .collect::<Vec<_>>()
                        .join("; "),
                )),
                Err(other) => return Err(other.into()),
            }
        }
        Ok(LayerImport {
            campaign,
            tests_created,
            skipped,
        })
    }
}

fn apply(current: &CampaignFields, patch: &CampaignPatch) -> Result<CampaignFields, CampaignError> {
    let mut next = current.clone();
    let mut errors = Vec::new();
    if let Some(name) = &patch.name {
        let name = name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            errors.push(FieldError::new("name", "1 to 200 characters"));
        } else {
            next.name = name.to_owned();
        }
    }
    if let Some(description) = &patch.description {
        if description.chars().count() > 64 * 1024 {
            errors.push(FieldError::new("description", "at most 65536 characters"));
        } else {
            next.description = description.trim().to_owned();
        }
    }
    if let Some(actor) = &patch.threat_actor {
        match actor.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
            Some(a) if a.chars().count() > 200 => {
                errors.push(FieldError::new("threat_actor", "at most 200 characters"));
            }
            other => next.threat_actor = other.map(str::to_owned),
        }
    }
    if let Some(starts) = patch.starts_on {
        next.starts_on = starts;
    }
    if let Some(ends) = patch.ends_on {
        next.ends_on = ends;
    }
    if let (Some(s), Some(e)) = (next.starts_on, next.ends_on)
        && e < s
    {
        errors.push(FieldError::new("ends_on", "must not be before starts_on"));
    }
    if errors.is_empty() {
        Ok(next)
    } else {
        Err(CampaignError::Invalid(errors))
    }
}
