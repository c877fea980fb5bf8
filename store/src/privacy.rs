//! A customer's rights over their data: erasure by crypto-shredding, and the rotation of the
//! master key that protects every customer's data key.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sextant_domain::CustomerId;

use crate::{Actor, StoreError};

/// Tables emptied of an erased customer's rows. Their credit decisions (kept for the
/// retention the law asks of lenders, pseudonymous), monitoring alerts, cases and payment
/// assessments (kept for the five years anti-money-laundering law asks, pseudonymous: ids,
/// amounts and typologies, no personal text), consent history (the proof of lawful
/// processing), the loyalty journal and lots (the bank's points liability: keys, points and
/// days; an adjustment's reason is staff's words, to be written without personal details),
/// staff decisions on advice and the audit trail stay; whatever personal text
/// lingers in the database's free pages, log or backups was sealed under the destroyed key.
pub const ERASED_TABLES: &[&str] = &[
    "payment_events",
    "behaviour_events",
    "holdings",
    "profiles",
    "risk_answers",
    "risk_assessments",
    "advice",
    "wealth_manager_clients",
    "campaign_members",
    "campaign_events",
];

#[async_trait]
pub trait PrivacyStore: Send + Sync {
    /// Erases a customer in one transaction: destroys their data key, deletes their rows
    /// from [`ERASED_TABLES`] and their registration, and records it in the audit trail.
    /// `false` when there is no such customer.
    async fn erase_customer(
        &self,
        id: &CustomerId,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Wraps up to `limit` data keys that are not under the current master key again under
    /// it; how many were. Run until it answers 0 to finish a rotation.
    async fn rewrap_keys(&self, limit: u64, by: &Actor) -> Result<u64, StoreError>;

    /// How many data keys each master key wraps (master key id, count).
    async fn keys_by_master(&self) -> Result<Vec<(String, u64)>, StoreError>;
}
