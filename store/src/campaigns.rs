//! Audiences (rule segments and lookalikes, versioned) and campaigns: their status moves,
//! the members placed at launch, the delivery events the bank's channels report, and the
//! pages of customers audiences are evaluated over. The shapes of campaign specifications and
//! launch summaries belong to the services and are kept here as JSON.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sextant_domain::{Customer, CustomerId, ProductId};

use crate::{Actor, Idempotent, IdempotentResponse, IngestOutcome, StoreError, StoredProfile};

/// One saved version of an audience: a rule segment or a lookalike of a seed list.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAudience {
    pub id: String,
    pub version: u32,
    pub name: String,
    /// `rule` or `lookalike`.
    pub kind: String,
    /// For `rule`: `{"rule": "..."}`; for `lookalike`: seeds and size or threshold.
    pub definition: serde_json::Value,
    pub actor: String,
    pub created_at: DateTime<Utc>,
}

/// A campaign as stored. `spec` is the request that created it (audience, product, channel,
/// schedule, caps, holdout); `launch` is the summary written at launch.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCampaign {
    pub id: String,
    pub name: String,
    /// `draft`, `running`, `paused`, `stopped`.
    pub status: String,
    pub product_id: ProductId,
    /// A `MarketingChannel` name.
    pub channel: String,
    pub spec: serde_json::Value,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub launched_at: Option<DateTime<Utc>>,
    pub launch: Option<serde_json::Value>,
}

/// One move of a campaign's status, as logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CampaignStatusChange {
    pub from: String,
    pub to: String,
    pub actor: String,
    pub at: DateTime<Utc>,
}

/// A customer placed in a campaign at launch.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignMember {
    pub customer_id: CustomerId,
    /// `treatment` or `holdout`.
    pub arm: String,
    /// The offer model's probability for the campaign's product when launched (orders the
    /// Qini curve).
    pub score: f64,
}

/// A launch: the campaign's status moves from `draft` to `running` and its members are
/// written, together, once.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignLaunch {
    pub campaign_id: String,
    pub launched_at: DateTime<Utc>,
    pub summary: serde_json::Value,
    pub members: Vec<CampaignMember>,
}

/// A customer's place in a campaign, with the campaign's state.
#[derive(Debug, Clone, PartialEq)]
pub struct Membership {
    pub campaign_id: String,
    pub product_id: ProductId,
    pub channel: String,
    pub status: String,
    pub arm: String,
    pub assigned_at: DateTime<Utc>,
}

/// One customer's live campaign memberships and recent offer behaviour.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OfferActivity {
    pub memberships: Vec<Membership>,
    /// Newest first.
    pub interactions: Vec<crate::OfferInteraction>,
}

/// A delivery or outcome event of a campaign, reported by the bank's channels.
#[derive(Debug, Clone, PartialEq)]
pub struct CampaignEvent {
    pub event_id: String,
    pub customer_id: CustomerId,
    /// `sent`, `delivered`, `opened`, `clicked`, `converted`, `bounced`, `failed`.
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
}

/// What happened to one member of a campaign, for the report.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberOutcome {
    pub customer_id: String,
    pub arm: String,
    pub score: f64,
    /// Any `sent` or `delivered` event.
    pub reached: bool,
    /// Any `converted` event.
    pub converted: bool,
    /// When the first `converted` event happened (ms since the epoch).
    pub converted_at_ms: Option<i64>,
}

/// Everything marketing reads about a customer when it evaluates an audience, in one page.
#[derive(Debug, Clone, PartialEq)]
pub struct MarketingRow {
    pub customer: Customer,
    pub profile: Option<StoredProfile>,
    /// The latest recorded risk level (1..5), if any.
    pub risk_level: Option<u8>,
    pub held: Vec<ProductId>,
}

#[async_trait]
pub trait CampaignStore: Send + Sync {
    /// Writes a new audience version: `Conflict` unless it is the next number.
    async fn put_audience(&self, audience: &StoredAudience, by: &Actor) -> Result<(), StoreError>;
    /// An audience at a version, or its newest when `version` is `None`.
    async fn audience(
        &self,
        id: &str,
        version: Option<u32>,
    ) -> Result<Option<StoredAudience>, StoreError>;
    /// The newest version of every audience (of one kind, when given), in id order.
    async fn audiences(&self, kind: Option<&str>) -> Result<Vec<StoredAudience>, StoreError>;
    /// Every version of an audience, oldest first.
    async fn audience_versions(&self, id: &str) -> Result<Vec<StoredAudience>, StoreError>;
    /// Customers after `after` in id order with their profile, latest risk level and
    /// holdings, at most `limit` (bounded by [`crate::MARKETING_PAGE_MAX`]).
    async fn marketing_rows(
        &self,
        after: Option<&CustomerId>,
        limit: u64,
    ) -> Result<Vec<MarketingRow>, StoreError>;
    /// The rows of these customers (any number), in id order; an unknown or erased
    /// customer has none.
    async fn marketing_rows_of(&self, ids: &[CustomerId]) -> Result<Vec<MarketingRow>, StoreError>;
    /// The position of the marketing change feed now (see [`crate::MarketingChanges`]): a
    /// reader takes it, then reads every row, then asks what changed since.
    fn marketing_head(&self) -> u64;
    /// Whose marketing rows changed since position `since`, as far as this process saw.
    fn marketing_changes(&self, since: u64) -> crate::MarketingChanges;
    /// The position of the activity feed now: customers who received events or whose
    /// campaign memberships changed (a launch, or any campaign's status: everyone).
    fn activity_head(&self) -> u64;
    /// Whose events or memberships changed since position `since`, as far as this process
    /// saw.
    fn activity_changes(&self, since: u64) -> crate::MarketingChanges;
    /// Live campaign memberships and offer behaviour (since `since`, newest first, at most
    /// `limit` per customer) of these customers (any number): a few queries however many,
    /// to fill a serving read model in bulk.
    async fn offer_activity(
        &self,
        ids: &[CustomerId],
        since: DateTime<Utc>,
        limit: u64,
    ) -> Result<HashMap<CustomerId, OfferActivity>, StoreError>;

    /// Creates a campaign in `draft`; `Conflict` when the id exists.
    async fn create_campaign(
        &self,
        campaign: &StoredCampaign,
        by: &Actor,
    ) -> Result<(), StoreError>;
    async fn campaign(&self, id: &str) -> Result<Option<StoredCampaign>, StoreError>;
    /// Campaigns, newest first, optionally of one status.
    async fn campaigns(
        &self,
        status: Option<&str>,
        limit: u64,
    ) -> Result<Vec<StoredCampaign>, StoreError>;
    /// Moves a campaign to `to` if its status is one of `from` (recorded in the campaign's
    /// status log with the actor). `Ok(false)`: the status was not one of `from`.
    async fn set_campaign_status(
        &self,
        id: &str,
        from: &[&str],
        to: &str,
        by: &Actor,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Every status move of a campaign, oldest first, the launch included.
    async fn campaign_status_log(&self, id: &str) -> Result<Vec<CampaignStatusChange>, StoreError>;
    /// Launches a draft campaign under an Idempotency-Key: in one transaction, checks the key
    /// (`Replay` / `KeyReused`), moves the campaign from `draft` to `running` (another
    /// launch got there first: `AlreadyAccepted`), writes the members and the key's record.
    async fn launch_campaign(
        &self,
        launch: &CampaignLaunch,
        idempotency: &IdempotentResponse,
        by: &Actor,
    ) -> Result<Idempotent, StoreError>;
    /// A campaign's members after `after` in customer id order, optionally of one arm.
    async fn campaign_members(
        &self,
        campaign_id: &str,
        arm: Option<&str>,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<CampaignMember>, StoreError>;
    /// Treatment memberships per customer in campaigns launched since `since` (any status),
    /// for the cross-campaign frequency cap. Customers with none are absent.
    async fn contact_counts(
        &self,
        since: DateTime<Utc>,
    ) -> Result<HashMap<String, u32>, StoreError>;
    /// A customer's memberships in campaigns that are `running` or `paused`.
    async fn memberships(&self, customer: &CustomerId) -> Result<Vec<Membership>, StoreError>;
    /// Stores a campaign's delivery events. Keyed by (campaign, event id): a re-sent event
    /// is a duplicate, a reused id with other content `EventIdReused`, an event about a
    /// customer who is not a member `UnknownCustomers`. All or nothing.
    async fn record_campaign_events(
        &self,
        campaign_id: &str,
        events: &[CampaignEvent],
        by: &Actor,
    ) -> Result<IngestOutcome, StoreError>;
    /// Every member of a campaign with what happened to them.
    async fn campaign_outcomes(&self, campaign_id: &str) -> Result<Vec<MemberOutcome>, StoreError>;
}
