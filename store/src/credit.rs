//! What the store keeps about credit: model versions with their activations, decisions with
//! everything needed to replay them, and the instalment plans made from accepted quotes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sextant_domain::{Customer, CustomerId};

use crate::{Actor, Idempotent, IdempotentResponse, StoreError, StoredProfile};

/// A trained credit model as stored: the artifact is `CreditModel::to_json`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCreditModel {
    pub version: String,
    /// `scorecard` or `gbm`.
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub actor: String,
    /// Held-out figures measured when it was trained.
    pub metrics: serde_json::Value,
    pub artifact: String,
}

/// A quote or application with everything needed to replay it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCreditDecision {
    /// Opaque and unguessable (`cq_...` for quotes, `ca_...` for applications).
    pub id: String,
    pub customer_id: CustomerId,
    /// `instalment_quote` or `loan_application`.
    pub kind: String,
    pub created_at: DateTime<Utc>,
    /// Quotes can be accepted until then; applications do not expire.
    pub expires_at: Option<DateTime<Utc>>,
    pub actor: String,
    pub model_version: String,
    pub policy_version: String,
    /// `approved` or `declined`.
    pub outcome: String,
    /// The request, the applicant, the model's input row and the policy, as decided on.
    pub inputs: serde_json::Value,
    /// The decision as returned.
    pub output: serde_json::Value,
    /// The applicant's age when decided (also in `inputs`): kept apart so that fairness is
    /// reported by age without reading every decision. Never a model input.
    pub applicant_age_years: Option<u32>,
}

/// A plan created by accepting a quote.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInstalmentPlan {
    pub id: String,
    pub quote_id: String,
    pub customer_id: CustomerId,
    pub months: u32,
    pub actor: String,
    pub created_at: DateTime<Utc>,
    pub plan: serde_json::Value,
}

/// How many decisions of a kind were made, and how many approved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OutcomeCounts {
    pub decisions: u64,
    pub approved: u64,
}

/// Everything a credit decision reads about a customer, from one snapshot.
#[derive(Debug, Clone)]
pub struct QuoteInputs {
    pub customer: Customer,
    pub profile: Option<StoredProfile>,
    /// When the newest event was received: a profile computed before it is stale.
    pub newest_event_at: Option<DateTime<Utc>>,
}

/// What a search of credit decisions asks for; absent parts match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionFilter {
    pub customer: Option<CustomerId>,
    /// `approved` or `declined`.
    pub outcome: Option<String>,
    /// `instalment_quote` or `loan_application`.
    pub kind: Option<String>,
    /// Decided at or after.
    pub from: Option<DateTime<Utc>>,
    /// Decided before.
    pub to: Option<DateTime<Utc>>,
    /// Oldest first instead of newest first.
    pub oldest_first: bool,
}

/// How many decisions had one outcome at one applicant age.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeOutcomeCount {
    /// `None` for decisions that recorded no age.
    pub age_years: Option<u32>,
    pub outcome: String,
    pub decisions: u64,
}

/// A model version in the registry (credit or offer models), without its artifact.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisteredModel {
    /// `credit_model` or `offer_model`.
    pub family: &'static str,
    pub version: String,
    pub created_at: DateTime<Utc>,
    pub actor: String,
    pub metrics: serde_json::Value,
    /// Whether it is the one in use now.
    pub active: bool,
    /// When it was activated and by whom, oldest first.
    pub activations: Vec<(DateTime<Utc>, String)>,
}

#[async_trait]
pub trait CreditStore: Send + Sync {
    /// Decisions matching `filter`, newest first, `limit` (at most [`crate::PAGE_MAX`]) from
    /// `offset`; and how many match in all.
    async fn search_credit_decisions(
        &self,
        filter: &DecisionFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<NewCreditDecision>, u64), StoreError>;
    /// Decisions matching `filter`, counted by applicant age and outcome (in the database:
    /// no decision is read).
    async fn outcomes_by_age(
        &self,
        filter: &DecisionFilter,
    ) -> Result<Vec<AgeOutcomeCount>, StoreError>;
    /// The credit and offer model registries: every version, newest first.
    async fn model_registry(&self) -> Result<Vec<RegisteredModel>, StoreError>;
    /// Stores a model version (kept if already there) and, when `activate`, makes it the one
    /// that decides.
    async fn put_credit_model(
        &self,
        model: &StoredCreditModel,
        activate: bool,
        by: &Actor,
    ) -> Result<(), StoreError>;
    async fn credit_model(&self, version: &str) -> Result<Option<StoredCreditModel>, StoreError>;
    /// The most recently activated model.
    async fn active_credit_model(&self) -> Result<Option<StoredCreditModel>, StoreError>;
    /// Records a decision; with an idempotency record, only if its key is new (see
    /// [`Idempotent`]), and the two commit together.
    async fn record_credit_decision(
        &self,
        decision: &NewCreditDecision,
        idempotency: Option<&IdempotentResponse>,
        by: &Actor,
    ) -> Result<Idempotent, StoreError>;
    async fn credit_decision(&self, id: &str) -> Result<Option<NewCreditDecision>, StoreError>;
    /// A customer's decisions, newest first.
    async fn credit_decisions_for(
        &self,
        customer: &CustomerId,
        limit: u64,
    ) -> Result<Vec<NewCreditDecision>, StoreError>;
    /// Creates the plan of an accepted quote once, with its idempotency record.
    async fn accept_quote(
        &self,
        plan: &NewInstalmentPlan,
        idempotency: &IdempotentResponse,
        by: &Actor,
    ) -> Result<Idempotent, StoreError>;
    async fn instalment_plan_of(
        &self,
        quote_id: &str,
    ) -> Result<Option<NewInstalmentPlan>, StoreError>;

    /// Decisions of `kind` (`instalment_quote` or `loan_application`) on record, and how
    /// many were approved.
    async fn outcome_counts(&self, kind: &str) -> Result<OutcomeCounts, StoreError>;

    /// The customer, their profile and the newest event's arrival, in one call; `None` for
    /// an unknown customer.
    async fn quote_inputs(&self, id: &CustomerId) -> Result<Option<QuoteInputs>, StoreError>;
}
