//! Advice on record: every proposal, goal plan and rebalancing proposal with its inputs and
//! engine version, the one decision on a proposal, and wealth managers' clients.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sextant_domain::CustomerId;

use crate::{Actor, StoreError};

/// Advice as given: what kind, to whom, by whom, from which inputs and engine version.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAdvice {
    pub customer_id: CustomerId,
    /// `model_portfolio`, `goal` or `rebalance`.
    pub kind: String,
    pub actor: String,
    pub engine_version: String,
    pub inputs: serde_json::Value,
    pub output: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// A recorded piece of advice and, for proposals, the decision on it.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAdvice {
    pub id: i64,
    pub advice: NewAdvice,
    pub decision: Option<StoredDecision>,
}

/// A wealth manager's approval or rejection of a proposal.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredDecision {
    /// `approved` or `rejected`.
    pub decision: String,
    pub actor: String,
    pub decided_at: DateTime<Utc>,
    pub note: String,
}

#[async_trait]
pub trait AdviceStore: Send + Sync {
    /// Records advice; returns its id.
    async fn record_advice(&self, advice: &NewAdvice, by: &Actor) -> Result<i64, StoreError>;
    async fn advice(&self, id: i64) -> Result<Option<StoredAdvice>, StoreError>;
    /// A customer's advice of one kind (any kind when `None`), newest first.
    async fn advice_for(
        &self,
        customer: &CustomerId,
        kind: Option<&str>,
        limit: u64,
    ) -> Result<Vec<StoredAdvice>, StoreError>;
    /// Records the decision on a proposal; `false` when it was already decided (the first
    /// decision stands).
    async fn decide_advice(
        &self,
        id: i64,
        decision: &StoredDecision,
        by: &Actor,
    ) -> Result<bool, StoreError>;

    /// Makes a customer a client of a wealth manager (idempotent).
    async fn assign_client(
        &self,
        wealth_manager: &str,
        customer: &CustomerId,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn unassign_client(
        &self,
        wealth_manager: &str,
        customer: &CustomerId,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn clients_of(&self, wealth_manager: &str) -> Result<Vec<CustomerId>, StoreError>;
    async fn is_client(
        &self,
        wealth_manager: &str,
        customer: &CustomerId,
    ) -> Result<bool, StoreError>;
}
