//! Customers and their events: registrations, consents (with every change on record),
//! payment and behaviour events (idempotent batches), holdings and the product table.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sextant_domain::{
    BehaviourEvent, Consents, Customer, CustomerId, Event, Holding, MarketingChannel, PaymentEvent,
    Product, RateTable,
};

use crate::{Actor, StoreError};

/// What a consent change applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsentScope {
    Profiling,
    Marketing(MarketingChannel),
}

impl ConsentScope {
    pub fn name(self) -> String {
        match self {
            ConsentScope::Profiling => "profiling".into(),
            ConsentScope::Marketing(channel) => format!("marketing.{channel}"),
        }
    }
}

/// A customer with the times the bank's records keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCustomer {
    pub customer: Customer,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One recorded consent change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsentChange {
    pub scope: String,
    pub granted: bool,
    pub actor: String,
    pub changed_at: DateTime<Utc>,
}

/// The result of an accepted batch: every item is now committed, either by this call or
/// by an earlier one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IngestOutcome {
    pub stored: usize,
    /// Indices of items that were already stored with the same content.
    pub duplicates: Vec<usize>,
}

/// Position after which a listing continues (newest first).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    pub occurred_at_ms: i64,
    pub event_id: String,
}

/// Everything stored about one customer, for profiling.
#[derive(Debug, Clone)]
pub struct History {
    pub customer: Customer,
    pub payments: Vec<PaymentEvent>,
    pub behaviour: Vec<BehaviourEvent>,
    pub holdings: Vec<Holding>,
    /// The reference rates the history's foreign amounts need, from the first such payment's
    /// date (less the weekend allowance) to today; empty when every amount is in the
    /// customer's base currency. Shared by the histories of one page.
    pub rates: Arc<RateTable>,
    /// Their loyalty points: the balance before `since` and every posting from it.
    pub loyalty: sextant_loyalty::Activity,
}

#[async_trait]
pub trait CustomerStore: Send + Sync {
    /// Creates or replaces a customer; returns whether it was created.
    async fn put_customer(
        &self,
        customer: &Customer,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Creates or replaces many customers at once (import). Consents of customers already
    /// stored are kept: a re-import never re-grants a consent the customer withdrew.
    async fn put_customers(
        &self,
        customers: &[Customer],
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn customer(&self, id: &CustomerId) -> Result<Option<StoredCustomer>, StoreError>;
    /// Applies consent changes, records each actual change; `None` if the customer is unknown.
    async fn set_consents(
        &self,
        id: &CustomerId,
        changes: &[(ConsentScope, bool)],
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<Consents>, StoreError>;
    /// Newest first.
    async fn consent_history(
        &self,
        id: &CustomerId,
        limit: u64,
    ) -> Result<Vec<ConsentChange>, StoreError>;

    /// Stores a batch of events all-or-nothing; see [`IngestOutcome`].
    async fn ingest(
        &self,
        events: &[Event],
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<IngestOutcome, StoreError>;
    /// A customer's payments, newest first, after `after`.
    async fn payments(
        &self,
        id: &CustomerId,
        after: Option<&Cursor>,
        limit: u64,
    ) -> Result<Vec<PaymentEvent>, StoreError>;

    /// Replaces the customer's holdings with `holdings`.
    async fn replace_holdings(
        &self,
        id: &CustomerId,
        holdings: &[Holding],
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Creates or updates holdings of many customers (import).
    async fn upsert_holdings(
        &self,
        holdings: &[Holding],
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn holdings(&self, id: &CustomerId) -> Result<Vec<Holding>, StoreError>;

    /// Every product a holding may refer to, at its current version.
    async fn products(&self) -> Result<Vec<Product>, StoreError>;

    /// One customer's registration, holdings and the events that occurred at or after `since`.
    async fn history(
        &self,
        id: &CustomerId,
        since: DateTime<Utc>,
    ) -> Result<Option<History>, StoreError>;
    /// Histories of up to `limit` customers with ids after `after`, in id order (batch
    /// profiling).
    async fn histories(
        &self,
        after: Option<&CustomerId>,
        limit: u64,
        since: DateTime<Utc>,
    ) -> Result<Vec<History>, StoreError>;
    /// When the newest event of the customer was received, if any.
    async fn last_received_at(&self, id: &CustomerId) -> Result<Option<DateTime<Utc>>, StoreError>;
}
