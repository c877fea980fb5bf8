//! Loyalty points: each customer's journal, kept append-only, and their lots.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sextant_domain::{Currency, CustomerId};
use sextant_loyalty::{Applied, CustomerLedger, LedgerError};

use crate::{Actor, StoreError};

/// What a write asks of a customer's ledger: run on the journal as stored, under a lock that
/// serialises every write of that customer's points (on every server sharing the
/// database). It returns what it applied; a refusal leaves the journal as it was.
pub type LedgerStep =
    Box<dyn FnOnce(&mut CustomerLedger) -> Result<Vec<Applied>, LedgerError> + Send>;

/// Points outstanding that expire in one month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiabilityMonth {
    /// `YYYY-MM` of the lots' last valid day.
    pub month: String,
    pub points: i64,
    pub lots: u64,
    pub customers: u64,
}

/// A stored completed purchase or refund, as the earning rules read it (tiers from a year's
/// spending, refunds in proportion to the purchase).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpendRow {
    pub customer_id: CustomerId,
    pub event_id: String,
    pub occurred_at: DateTime<Utc>,
    pub amount_minor: i64,
    pub currency: Currency,
    pub refund: bool,
}

/// What [`LoyaltyStore::post_points_many`] did for one customer.
pub type StepResult = Result<Vec<Applied>, LedgerError>;

#[async_trait]
pub trait LoyaltyStore: Send + Sync {
    /// Runs `step` on the customer's ledger and stores every posting it added, with the lots
    /// they changed, in one transaction, audited as `loyalty.<kind>` per posting. The
    /// ledger's refusal comes back as the inner error, with nothing stored.
    async fn post_points(
        &self,
        customer: &CustomerId,
        step: LedgerStep,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Result<Vec<Applied>, LedgerError>, StoreError>;

    /// Runs each customer's step as [`LoyaltyStore::post_points`] does, all in one
    /// transaction (the earning of an ingested batch): one read of every journal, one insert
    /// of every posting, one audit entry per customer whose points changed. A step the
    /// ledger refuses leaves that customer's journal as it was; the others are stored.
    /// Results come back in the order of `steps`.
    async fn post_points_many(
        &self,
        steps: Vec<(CustomerId, LedgerStep)>,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<StepResult>, StoreError>;

    /// The completed purchases and refunds of `customers` that happened from `since` to
    /// `until` (inclusive), oldest first.
    async fn purchases_and_refunds(
        &self,
        customers: &[CustomerId],
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<SpendRow>, StoreError>;

    /// How many payments (of any kind and status) each of `customers` has from `since` to
    /// `until` (inclusive), counted on the index alone; a customer with none is absent.
    async fn payment_counts(
        &self,
        customers: &[CustomerId],
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<std::collections::HashMap<CustomerId, u64>, StoreError>;

    /// The customer's ledger, rebuilt from their journal (and checked).
    async fn loyalty_ledger(&self, customer: &CustomerId) -> Result<CustomerLedger, StoreError>;

    /// Points outstanding (in lots not past their last day on `as_of`) by the month they
    /// expire: the bank's liability.
    async fn loyalty_liability(&self, as_of: NaiveDate) -> Result<Vec<LiabilityMonth>, StoreError>;

    /// Customers, after `after` in id order, holding points in a lot whose last day is
    /// before `day`: the expiry job's work list.
    async fn loyalty_due_for_expiry(
        &self,
        day: NaiveDate,
        after: Option<&CustomerId>,
        limit: u64,
    ) -> Result<Vec<CustomerId>, StoreError>;
}
