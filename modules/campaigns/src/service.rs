//! Campaign rules: status `planned → active → completed` (completion takes a
//! coverage snapshot), optimistic versions, and the Navigator import.

use aegis_core::Kernel;
use aegis_core::auth::Principal;
use aegis_core::concurrency::{VersionError, WriteOutcome, check_version};
use aegis_core::error::FieldError;
use aegis_mod_coverage::{CoverageService, Scope};
use aegis_mod_techniques::repo::CatalogRepo;
use aegis_mod_test_cases::TestService;
use aegis_mod_test_cases::error::TestCaseError;
use aegis_mod_test_cases::model::TestPatch;
use aegis_mod_test_cases::service::actor;
use serde_json::json;

use crate::layer::LayerDraft;
use crate::model::{Campaign, CampaignFields, CampaignPatch, CampaignStatus};
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
    catalog: CatalogRepo,
}

impl CampaignService {
    pub fn new(kernel: Kernel, tests: TestService, coverage: CoverageService) -> Self {
        Self {
            repo: CampaignRepo::new(kernel.db.clone()),
            catalog: CatalogRepo::new(kernel.db.clone()),
            kernel,
            tests,
            coverage,
        }
    }

    pub fn repo(&self) -> &CampaignRepo {
        &self.repo
    }

    pub fn coverage(&self) -> &CoverageService {
        &self.coverage
    }

    async fn audit(&self, who: &Principal, action: &str, id: &str, detail: serde_json::Value) {
        aegis_mod_test_cases::service::record(
            &self.kernel,
            &actor(who),
            action,
            ("campaign", id),
            detail,
        )
        .await;
    }

    pub async fn get(&self, id: &str) -> Result<Campaign, TestCaseError> {
        self.repo
            .get(id)
            .await?
            .ok_or_else(|| TestCaseError::NotFound(format!("no campaign {id}")))
    }

    pub async fn create(
        &self,
        who: &Principal,
        patch: &CampaignPatch,
        source: &str,
    ) -> Result<Campaign, TestCaseError> {
        if patch.name.is_none() {
            return Err(TestCaseError::invalid("name", "required"));
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
        self.repo.insert(&id, &fields, source, &actor(who)).await?;
        self.audit(
            who,
            "campaign.create",
            &id,
            json!({ "name": fields.name, "source": source }),
        )
        .await;
        self.get(&id).await
    }

    pub async fn update(
        &self,
        who: &Principal,
        id: &str,
        expected_version: Option<i64>,
        patch: &CampaignPatch,
    ) -> Result<Campaign, TestCaseError> {
        let current = self.get(id).await?;
        let expected = check_version(expected_version, current.version)?;
        let fields = apply(&current.fields, patch)?;
        if fields == current.fields {
            return Ok(current);
        }
        match self.repo.update(id, expected, &fields, &actor(who)).await? {
            WriteOutcome::Written(version) => {
                self.audit(who, "campaign.update", id, json!({ "version": version }))
                    .await;
                self.get(id).await
            }
            WriteOutcome::Conflict => Err(TestCaseError::Version(VersionError::Stale {
                current: self.get(id).await?.version,
            })),
        }
    }

    /// planned → active, or active → completed (which takes a snapshot).
    pub async fn advance(
        &self,
        who: &Principal,
        id: &str,
        to: CampaignStatus,
    ) -> Result<Campaign, TestCaseError> {
        let from = match to {
            CampaignStatus::Active => CampaignStatus::Planned,
            CampaignStatus::Completed => CampaignStatus::Active,
            CampaignStatus::Planned => {
                return Err(TestCaseError::invalid(
                    "status",
                    "a campaign never goes back to planned",
                ));
            }
        };
        let current = self.get(id).await?;
        let wrong = |state: CampaignStatus| TestCaseError::WrongState {
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
        // Completion's snapshot is taken first: if it fails the campaign stays
        // active and the request can be retried; if the status change then
        // loses a race, the snapshot goes again.
        let snapshot = if to == CampaignStatus::Completed {
            let scope = Scope {
                campaign_id: Some(id.to_owned()),
                ..Scope::default()
            };
            Some(self.coverage.take_snapshot("campaign", &scope).await?)
        } else {
            None
        };
        if !self.repo.set_status(id, from, to, &actor(who)).await? {
            if let Some(s) = &snapshot {
                self.coverage.repo().delete_snapshot(&s.id).await?;
            }
            return Err(wrong(self.get(id).await?.status));
        }
        let mut detail = json!({ "from": from.as_str(), "to": to.as_str() });
        if let Some(s) = &snapshot {
            detail["snapshot_id"] = json!(s.id);
        }
        self.audit(who, &format!("campaign.{}", to.as_str()), id, detail)
            .await;
        self.get(id).await
    }

    pub async fn delete(&self, who: &Principal, id: &str) -> Result<(), TestCaseError> {
        let current = self.get(id).await?;
        if !self.repo.delete_if_empty(id).await? {
            return Err(TestCaseError::WrongState {
                code: "campaign_has_tests",
                detail: "the campaign has tests; cancel or move them first".into(),
                state: current.status.as_str().into(),
            });
        }
        self.audit(
            who,
            "campaign.delete",
            id,
            json!({ "name": current.fields.name }),
        )
        .await;
        Ok(())
    }

    /// A new campaign with one draft test per technique of the layer.
    pub async fn import_layer(
        &self,
        who: &Principal,
        layer: &LayerDraft,
    ) -> Result<LayerImport, TestCaseError> {
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
                Err(other) => return Err(other),
            }
        }
        Ok(LayerImport {
            campaign,
            tests_created,
            skipped,
        })
    }
}

fn apply(current: &CampaignFields, patch: &CampaignPatch) -> Result<CampaignFields, TestCaseError> {
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
        Err(TestCaseError::Invalid(errors))
    }
}
