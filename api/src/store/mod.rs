//! Storage: one trait the HTTP layer and the importer talk to, one sea-orm implementation
//! that runs on SQLite (default, a file in the data directory, WAL) and on PostgreSQL.

mod credit;
mod entity;
mod marketing;
mod migration;
mod sea;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sextant_domain::{
    BehaviourEvent, Consents, Customer, CustomerId, Event, Holding, MarketingChannel, PaymentEvent,
    Product, ProductId,
};
use sextant_hash::Fnv64;

pub use credit::{
    Idempotent, IdempotentResponse, NewCreditDecision, NewInstalmentPlan, StoredCreditModel,
};
pub use marketing::{
    CampaignEvent, CampaignLaunch, CampaignMember, MarketingRow, MemberOutcome, Membership,
    OfferInteraction, ProductVersion, StoredAudience, StoredCampaign, StoredOfferModel,
};
pub use migration::Migrator;
pub use sea::SeaStore;

/// Events per call of [`Store::ingest`]: large enough for import throughput, small enough
/// that one transaction stays short.
pub const INGEST_CALL_MAX_EVENTS: usize = 20_000;

/// Page size limit of listings.
pub const PAGE_MAX: u64 = 500;

/// Page size limit of [`Store::marketing_rows`]: audiences are evaluated over everyone, so
/// pages are larger than listings' (a row is about 1 KiB).
pub const MARKETING_PAGE_MAX: u64 = 10_000;

#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached or has no free connection; retrying later may work.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// Items (by index) refer to customers that are not registered.
    #[error("unknown customers at items {0:?}")]
    UnknownCustomers(Vec<usize>),
    /// Items (by index) refer to products that are not in the catalogue.
    #[error("unknown products at items {0:?}")]
    UnknownProducts(Vec<usize>),
    /// Items (by index) reuse an event id already stored with different content.
    #[error("event ids reused with different content at items {0:?}")]
    EventIdReused(Vec<usize>),
    /// A stored row no longer parses as a domain value.
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    /// The write conflicts with what is stored (a version or id that exists already).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(String),
}

impl From<sea_orm::DbErr> for StoreError {
    fn from(err: sea_orm::DbErr) -> Self {
        match err {
            sea_orm::DbErr::ConnectionAcquire(e) => StoreError::Unavailable(e.to_string()),
            sea_orm::DbErr::Conn(e) => StoreError::Unavailable(e.to_string()),
            other if is_transient(&other.to_string()) => StoreError::Unavailable(other.to_string()),
            other => StoreError::Database(other.to_string()),
        }
    }
}

/// Lock contention that a retry resolves: PostgreSQL deadlocks and serialisation failures,
/// SQLite's busy database (another process writing).
fn is_transient(message: &str) -> bool {
    [
        "deadlock detected",
        "could not serialize access",
        "database is locked",
        "(code: 5)",
        "(code: 517)",
    ]
    .iter()
    .any(|needle| message.contains(needle))
}

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
}

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
pub trait Store: Send + Sync {
    /// `sqlite` or `postgres`.
    fn backend_name(&self) -> &'static str;
    async fn ping(&self) -> Result<(), StoreError>;

    /// Creates or replaces a customer; returns whether it was created.
    async fn put_customer(
        &self,
        customer: &Customer,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Creates or replaces many customers at once (import).
    async fn put_customers(
        &self,
        customers: &[Customer],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn customer(&self, id: &CustomerId) -> Result<Option<StoredCustomer>, StoreError>;
    /// Applies consent changes, records each actual change; `None` if the customer is unknown.
    async fn set_consents(
        &self,
        id: &CustomerId,
        changes: &[(ConsentScope, bool)],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Consents>, StoreError>;
    async fn consent_history(
        &self,
        id: &CustomerId,
        limit: u64,
    ) -> Result<Vec<ConsentChange>, StoreError>;

    /// Stores a batch of events all-or-nothing; see [`IngestOutcome`].
    async fn ingest(
        &self,
        events: &[Event],
        now: DateTime<Utc>,
    ) -> Result<IngestOutcome, StoreError>;
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
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Creates or updates holdings of many customers (import).
    async fn upsert_holdings(
        &self,
        holdings: &[Holding],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn holdings(&self, id: &CustomerId) -> Result<Vec<Holding>, StoreError>;

    async fn products(&self) -> Result<Vec<Product>, StoreError>;

    /// One customer's registration, holdings and the events that occurred at or after `since`.
    async fn history(
        &self,
        id: &CustomerId,
        since: DateTime<Utc>,
    ) -> Result<Option<History>, StoreError>;
    /// Histories of up to `limit` customers with ids after `after`, in id order (batch profiling).
    async fn histories(
        &self,
        after: Option<&CustomerId>,
        limit: u64,
        since: DateTime<Utc>,
    ) -> Result<Vec<History>, StoreError>;
    /// When the newest event of the customer was received, if any.
    async fn last_received_at(&self, id: &CustomerId) -> Result<Option<DateTime<Utc>>, StoreError>;

    async fn put_profiles(&self, profiles: &[StoredProfile]) -> Result<(), StoreError>;
    async fn profile(&self, id: &CustomerId) -> Result<Option<StoredProfile>, StoreError>;
    /// Profiles of up to `limit` customers after `after`, in id order.
    async fn profiles(
        &self,
        after: Option<&CustomerId>,
        limit: u64,
    ) -> Result<Vec<StoredProfile>, StoreError>;
    /// Forgets a profile (the customer withdrew profiling consent).
    async fn delete_profile(&self, id: &CustomerId) -> Result<(), StoreError>;

    /// Replaces the segments and writes every customer's assignment.
    async fn replace_segments(
        &self,
        segments: &[StoredSegment],
        assignments: &[(CustomerId, u32)],
    ) -> Result<(), StoreError>;
    async fn segments(&self) -> Result<Vec<StoredSegment>, StoreError>;

    async fn put_risk_answers(
        &self,
        id: &CustomerId,
        answers: &serde_json::Value,
        actor: &str,
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
    ) -> Result<(), StoreError>;
    /// Newest first.
    async fn assessments(
        &self,
        id: &CustomerId,
        limit: u64,
    ) -> Result<Vec<StoredAssessment>, StoreError>;

    /// Records advice; returns its id.
    async fn record_advice(&self, advice: &NewAdvice) -> Result<i64, StoreError>;
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
    async fn decide_advice(&self, id: i64, decision: &StoredDecision) -> Result<bool, StoreError>;

    /// Makes a customer a client of a wealth manager (idempotent).
    async fn assign_client(
        &self,
        wealth_manager: &str,
        customer: &CustomerId,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    async fn unassign_client(
        &self,
        wealth_manager: &str,
        customer: &CustomerId,
    ) -> Result<(), StoreError>;
    async fn clients_of(&self, wealth_manager: &str) -> Result<Vec<CustomerId>, StoreError>;
    async fn is_client(
        &self,
        wealth_manager: &str,
        customer: &CustomerId,
    ) -> Result<bool, StoreError>;

    /// Stores a model version (kept if already there) and, when `activate`, makes it the one
    /// that decides.
    async fn put_credit_model(
        &self,
        model: &StoredCreditModel,
        activate: bool,
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
    ) -> Result<Idempotent, StoreError>;
    async fn instalment_plan_of(
        &self,
        quote_id: &str,
    ) -> Result<Option<NewInstalmentPlan>, StoreError>;
    /// The answer recorded under a caller's Idempotency-Key, if any.
    async fn idempotent_response(
        &self,
        caller: &str,
        key: &str,
    ) -> Result<Option<IdempotentResponse>, StoreError>;

    // Marketing.

    /// Writes a new version of a product and makes it the catalogue's entry (the `products`
    /// row follows the newest version). `Conflict` when that version exists already, or
    /// when it is not the next number (latest + 1; 1 for a new product).
    async fn put_product_version(&self, version: &ProductVersion) -> Result<(), StoreError>;
    /// Every version of a product, oldest first (a built-in product never edited: version 0).
    async fn product_versions(&self, id: &ProductId) -> Result<Vec<ProductVersion>, StoreError>;
    /// The newest version of every product, in product id order.
    async fn catalogue(&self) -> Result<Vec<ProductVersion>, StoreError>;

    /// Writes a new audience version: `Conflict` unless it is the next number.
    async fn put_audience(&self, audience: &StoredAudience) -> Result<(), StoreError>;
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

    /// Creates a campaign in `draft`; `Conflict` when the id exists.
    async fn create_campaign(&self, campaign: &StoredCampaign) -> Result<(), StoreError>;
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
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Launches a draft campaign under an Idempotency-Key: in one transaction, checks the key
    /// (`Replay` / `KeyReused`), moves the campaign from `draft` to `running` (another
    /// launch got there first: `AlreadyAccepted`), writes the members and the key's record.
    async fn launch_campaign(
        &self,
        launch: &CampaignLaunch,
        idempotency: &IdempotentResponse,
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
    ) -> Result<std::collections::HashMap<String, u32>, StoreError>;
    /// A customer's memberships in campaigns that are `running` or `paused`.
    async fn memberships(&self, customer: &CustomerId) -> Result<Vec<Membership>, StoreError>;
    /// Stores a campaign's delivery events. Keyed by (campaign, event id): a re-sent event
    /// is a duplicate, a reused id with other content `EventIdReused`, an event about a
    /// customer who is not a member `UnknownCustomers`. All or nothing.
    async fn record_campaign_events(
        &self,
        campaign_id: &str,
        events: &[CampaignEvent],
    ) -> Result<IngestOutcome, StoreError>;
    /// Every member of a campaign with what happened to them.
    async fn campaign_outcomes(&self, campaign_id: &str) -> Result<Vec<MemberOutcome>, StoreError>;

    /// A customer's offer behaviour (product views and offer events that name a product)
    /// since `since`, newest first, at most `limit`.
    async fn offer_interactions(
        &self,
        customer: &CustomerId,
        since: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<OfferInteraction>, StoreError>;
    /// Customers after `after` in id order with their profile, latest risk level and
    /// holdings, at most `limit` (bounded by [`MARKETING_PAGE_MAX`]).
    async fn marketing_rows(
        &self,
        after: Option<&CustomerId>,
        limit: u64,
    ) -> Result<Vec<MarketingRow>, StoreError>;

    /// Stores an offer model and makes it the active one (the newest decides).
    async fn put_offer_model(&self, model: &StoredOfferModel) -> Result<(), StoreError>;
    async fn active_offer_model(&self) -> Result<Option<StoredOfferModel>, StoreError>;
}

/// FNV-1a over an event's content: tells a re-sent event from a reused id.
pub fn content_hash(event: &Event) -> i64 {
    let mut hash = Fnv::default();
    match event {
        Event::Payment(p) => {
            hash.put(b"payment");
            hash.put(p.event_id.as_str().as_bytes());
            hash.put(p.customer_id.as_str().as_bytes());
            hash.put(&p.occurred_at.timestamp_millis().to_le_bytes());
            hash.put(&p.amount.get().to_le_bytes());
            hash.put(p.currency.as_str().as_bytes());
            hash.put(p.direction.as_str().as_bytes());
            hash.put(p.kind.as_str().as_bytes());
            hash.put(p.channel.as_str().as_bytes());
            hash.put_opt(p.merchant_id.as_ref().map(|m| m.as_str().as_bytes()));
            hash.put_opt(
                p.mcc
                    .map(|m| m.get().to_le_bytes())
                    .as_ref()
                    .map(|b| &b[..]),
            );
            hash.put(p.country.as_str().as_bytes());
            hash.put_opt(p.card.as_ref().map(|c| c.bin().as_bytes()));
            hash.put_opt(p.card.as_ref().map(|c| c.last4().as_bytes()));
            hash.put(p.status.as_str().as_bytes());
            hash.put_opt(
                p.balance_after_minor
                    .map(i64::to_le_bytes)
                    .as_ref()
                    .map(|b| &b[..]),
            );
        }
        Event::Behaviour(b) => {
            hash.put(b"behaviour");
            hash.put(b.event_id.as_str().as_bytes());
            hash.put(b.customer_id.as_str().as_bytes());
            hash.put(&b.occurred_at.timestamp_millis().to_le_bytes());
            hash.put(b.kind.as_str().as_bytes());
            hash.put_opt(b.session_id.as_ref().map(|s| s.as_str().as_bytes()));
            hash.put_opt(b.screen.as_ref().map(|s| s.as_str().as_bytes()));
            hash.put_opt(b.product_id.as_ref().map(|s| s.as_str().as_bytes()));
            hash.put_opt(b.offer_id.as_ref().map(|s| s.as_str().as_bytes()));
            hash.put_opt(b.query.as_ref().map(|s| s.as_str().as_bytes()));
        }
    }
    hash.stored()
}

/// FNV-1a with a separator after every field, so that ("ab","c") and ("a","bc") differ.
#[derive(Default)]
struct Fnv(Fnv64);

impl Fnv {
    fn put(&mut self, bytes: &[u8]) {
        self.0.write(bytes);
        self.0.write_u8(0xff);
    }

    fn put_opt(&mut self, bytes: Option<&[u8]>) {
        match bytes {
            Some(b) => {
                self.put(b"1");
                self.put(b);
            }
            None => self.put(b"0"),
        }
    }

    /// The hash as stored (a signed 64-bit column).
    fn stored(&self) -> i64 {
        self.0.finish() as i64
    }
}
