//! Compliance's monitoring rules: every version of every rule with its mode, and the hits
//! each version had on ingested payments (shadow and live alike), which is how a shadow
//! version is measured before it goes live.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sextant_domain::CustomerId;

use crate::{Actor, Idempotent, IdempotentResponse, StoreError};

/// A new version of a rule, as compliance wrote it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRuleVersion {
    /// The rule's name, stable across versions.
    pub rule_id: String,
    /// The rule in the rule language, as written.
    pub source: String,
    pub description: String,
    /// `shadow` or `live`.
    pub mode: String,
    pub severity: f64,
    pub cooldown_ms: i64,
    pub created_at: DateTime<Utc>,
}

/// One version of a rule.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRule {
    pub rule_id: String,
    /// 1, 2, ... per rule.
    pub version: u32,
    pub source: String,
    pub description: String,
    /// `shadow`, `live` or `retired`.
    pub mode: String,
    pub severity: f64,
    pub cooldown_ms: i64,
    /// Who wrote it (`role:id`).
    pub author: String,
    pub created_at: DateTime<Utc>,
    /// When its mode last changed (its creation, at first).
    pub changed_at: DateTime<Utc>,
}

/// A rule version that fired on a stored payment.
#[derive(Debug, Clone, PartialEq)]
pub struct NewRuleHit {
    pub rule_id: String,
    pub version: u32,
    /// The version's mode when it fired: `shadow` or `live`.
    pub mode: String,
    pub customer_id: CustomerId,
    pub event_id: String,
    pub occurred_at: DateTime<Utc>,
    pub reason: String,
    pub recorded_at: DateTime<Utc>,
}

/// How often a rule version fired on ingested payments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleHitCount {
    pub rule_id: String,
    pub version: u32,
    pub hits: u64,
    /// Distinct customers it fired on.
    pub customers: u64,
}

#[async_trait]
pub trait RuleStore: Send + Sync {
    /// Adds the next version of a rule (1 for a new rule). A `live` version retires the
    /// rule's live version, if any. Audited.
    async fn add_rule_version(
        &self,
        new: &NewRuleVersion,
        by: &Actor,
    ) -> Result<StoredRule, StoreError>;

    /// [`RuleStore::add_rule_version`] under an Idempotency-Key: the version and the answer
    /// recorded under the key (`{"rule_id", "version"}`) commit together; a retry gets what
    /// the key already means, and adds nothing.
    async fn add_rule_version_once(
        &self,
        new: &NewRuleVersion,
        record: &IdempotentResponse,
        by: &Actor,
    ) -> Result<Idempotent, StoreError>;

    /// Sets a version's mode (`shadow`, `live` or `retired`); making one live retires the
    /// rule's other live version. `None` when there is no such version. A retired version is
    /// not brought back: `Conflict`. Audited.
    async fn set_rule_mode(
        &self,
        rule_id: &str,
        version: u32,
        mode: &str,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredRule>, StoreError>;

    /// Every version of every rule, by rule and version.
    async fn rules(&self) -> Result<Vec<StoredRule>, StoreError>;

    /// Records hits; one already on record (the same version, the same payment) is left
    /// out. Returns how many were recorded.
    async fn record_rule_hits(&self, hits: &[NewRuleHit]) -> Result<u64, StoreError>;

    /// Hits per rule version, by rule and version.
    async fn rule_hit_counts(&self) -> Result<Vec<RuleHitCount>, StoreError>;

    /// The hits of one rule version on record, oldest first, at most `limit`.
    async fn rule_hits(
        &self,
        rule_id: &str,
        version: u32,
        limit: u64,
    ) -> Result<Vec<NewRuleHit>, StoreError>;

    /// The dispositions of closed cases, by customer (a customer with several closed cases
    /// appears once per case): the labels backtests measure rules against.
    async fn case_dispositions(&self) -> Result<Vec<(CustomerId, String)>, StoreError>;
}
