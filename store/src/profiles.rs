//! Profiles: computed features with their segment, the segments themselves, questionnaire
//! answers and the recorded risk assessments.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sextant_domain::{CustomerId, Unconverted};

use crate::{Actor, History, StoreError};

/// A computed profile as stored: features in catalogue order of `feature_version`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredProfile {
    pub customer_id: CustomerId,
    pub feature_version: u32,
    pub features: Vec<f64>,
    pub segment: Option<u32>,
    pub embedding_model: Option<String>,
    /// The time the features describe.
    pub as_of: DateTime<Utc>,
    pub computed_at: DateTime<Utc>,
    /// Amounts left out of the features because no rate put them in the base currency.
    pub unconverted: Vec<Unconverted>,
}

/// One recorded risk assessment.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAssessment {
    pub assessed_at: DateTime<Utc>,
    pub level: u8,
    pub willingness: u8,
    /// `questionnaire` or `behaviour`.
    pub willingness_source: String,
    pub capacity: u8,
    /// Why it was recorded: `first`, `answers`, `history`.
    pub reason: String,
    /// Components and explanation, as served.
    pub detail: serde_json::Value,
}

/// A segment of the current embedding model.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredSegment {
    pub id: u32,
    pub name: String,
    pub description: String,
    pub size: u64,
    pub centroid: Vec<f32>,
    pub embedding_model: String,
}

/// Everything a refresh of one customer's profile reads, from one snapshot.
#[derive(Debug, Clone)]
pub struct RefreshInputs {
    pub history: History,
    /// The newest questionnaire answers, as stored.
    pub answers: Option<serde_json::Value>,
    /// The newest recorded assessment: a refresh records a new one only when it differs.
    pub last_assessment: Option<StoredAssessment>,
}

#[async_trait]
pub trait ProfileStore: Send + Sync {
    /// Creates or replaces profiles (one per customer; the last of a customer wins).
    async fn put_profiles(&self, profiles: &[StoredProfile], by: &Actor) -> Result<(), StoreError>;
    async fn profile(&self, id: &CustomerId) -> Result<Option<StoredProfile>, StoreError>;
    /// Profiles of up to `limit` customers after `after`, in id order.
    async fn profiles(
        &self,
        after: Option<&CustomerId>,
        limit: u64,
    ) -> Result<Vec<StoredProfile>, StoreError>;
    /// Forgets a profile (the customer withdrew profiling consent).
    async fn delete_profile(&self, id: &CustomerId, by: &Actor) -> Result<(), StoreError>;

    /// Replaces the segments and writes every customer's assignment.
    async fn replace_segments(
        &self,
        segments: &[StoredSegment],
        assignments: &[(CustomerId, u32)],
        by: &Actor,
    ) -> Result<(), StoreError>;
    async fn segments(&self) -> Result<Vec<StoredSegment>, StoreError>;

    async fn put_risk_answers(
        &self,
        id: &CustomerId,
        answers: &serde_json::Value,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn latest_risk_answers(
        &self,
        id: &CustomerId,
    ) -> Result<Option<serde_json::Value>, StoreError>;
    async fn record_assessment(
        &self,
        id: &CustomerId,
        assessment: &StoredAssessment,
        by: &Actor,
    ) -> Result<(), StoreError>;
    /// Records many customers' assessments in one transaction (a bulk load of a population;
    /// one commit per assessment would take minutes at 100,000 customers).
    async fn record_assessments(
        &self,
        assessments: &[(CustomerId, StoredAssessment)],
        by: &Actor,
    ) -> Result<(), StoreError>;
    /// Newest first.
    async fn assessments(
        &self,
        id: &CustomerId,
        limit: u64,
    ) -> Result<Vec<StoredAssessment>, StoreError>;

    /// The customer's history since `since`, newest answers and newest assessment, in one
    /// call; `None` for an unknown customer.
    async fn refresh_inputs(
        &self,
        id: &CustomerId,
        since: DateTime<Utc>,
    ) -> Result<Option<RefreshInputs>, StoreError>;
}
