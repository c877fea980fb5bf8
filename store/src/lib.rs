//! Sextant's storage: one trait per area of the data, and their sea-orm implementation
//! ([`SeaStore`]) on SQLite (the default: a file in the data directory, WAL,
//! `synchronous=FULL`) and on PostgreSQL.
//!
//! | area | trait | what it keeps |
//! |---|---|---|
//! | customers and events | [`CustomerStore`] | registrations, consents and their history, payment and behaviour events, holdings, the product table |
//! | profiles | [`ProfileStore`] | computed profiles, segments, questionnaire answers, risk assessments |
//! | advice | [`AdviceStore`] | advice given with its inputs, decisions on proposals, wealth managers' clients |
//! | credit | [`CreditStore`] | credit model versions, decisions with their inputs, instalment plans |
//! | catalogue and offers | [`CatalogueStore`] | product versions, offer models, offer behaviour |
//! | audiences and campaigns | [`CampaignStore`] | audience versions, campaigns, members, delivery events |
//! | idempotency | [`IdempotencyStore`] | the answers given under an `Idempotency-Key` |
//! | staff | [`StaffStore`] | console accounts (role, password hash, lock-out) and sessions |
//! | monitoring | [`MonitoringStore`] | alerts on payments, cases with their notes and dispositions, payment assessments |
//! | monitoring rules | [`RuleStore`] | compliance's rule versions with their modes, and each version's hits |
//! | exchange rates | [`FxStore`] | each day's published reference rates, units of a currency for one euro |
//! | loyalty | [`LoyaltyStore`] | each customer's points journal (append-only, double-entry) and lots |
//!
//! [`Store`] is all of them together: what the services hold as `Arc<dyn Store>`. The hot
//! paths read in one call each ([`ProfileStore::refresh_inputs`],
//! [`CreditStore::quote_inputs`], [`CatalogueStore::offer_inputs`]), from one consistent
//! snapshot. This is the only crate that knows sea-orm, SQL or the schema; migrations are
//! append-only.

mod advice;
pub mod audit;
mod campaigns;
mod catalogue;
mod changes;
mod credit;
pub mod crypto;
mod customers;
mod entity;
mod error;
mod fx;
mod idempotency;
mod loyalty;
mod migration;
mod monitoring;
mod privacy;
mod profiles;
mod rules;
mod scratch;
mod sea;
mod staff;

use async_trait::async_trait;

pub use advice::{AdviceStore, NewAdvice, StoredAdvice, StoredDecision};
pub use audit::{Actor, AuditEntry, AuditFilter, AuditStore, NewAuditEntry};
pub use campaigns::{
    CampaignEvent, CampaignLaunch, CampaignMember, CampaignStatusChange, CampaignStore,
    MarketingRow, MemberOutcome, Membership, OfferActivity, StoredAudience, StoredCampaign,
};
pub use catalogue::{
    CatalogueStore, OfferInputs, OfferInteraction, ProductVersion, StoredOfferModel,
};
pub use changes::{MarketingChanges, CHANGE_FEED_CAPACITY};
pub use credit::{
    AgeOutcomeCount, CreditStore, DecisionFilter, NewCreditDecision, NewInstalmentPlan,
    OutcomeCounts, QuoteInputs, RegisteredModel, StoredCreditModel,
};
pub use customers::{
    ConsentChange, ConsentScope, Cursor, CustomerStore, History, IngestOutcome, StoredCustomer,
};
pub use error::StoreError;
pub use fx::{DailyRates, FxStore, FxWrite};
pub use idempotency::{IdempotencyStore, Idempotent, IdempotentResponse};
pub use loyalty::{LedgerStep, LiabilityMonth, LoyaltyStore, SpendRow, StepResult};
pub use monitoring::{
    AlertsFiled, CaseChange, CaseFilter, CaseNote, MonitoringStamp, MonitoringStore, NewAlert,
    NewPaymentAssessment, StoredAlert, StoredCase, StoredMonitoringModel,
};
pub use privacy::{PrivacyStore, ERASED_TABLES};
pub use profiles::{ProfileStore, RefreshInputs, StoredAssessment, StoredProfile, StoredSegment};
pub use rules::{NewRuleHit, NewRuleVersion, RuleHitCount, RuleStore, StoredRule};
pub use scratch::ScratchDatabase;
pub use sea::SeaStore;
pub use staff::{LiveSession, LockPolicy, StaffAccount, StaffSession, StaffStore};

/// Events per call of [`CustomerStore::ingest`]: large enough for import throughput, small
/// enough that one transaction stays short.
pub const INGEST_CALL_MAX_EVENTS: usize = 20_000;

/// Page size limit of listings.
pub const PAGE_MAX: u64 = 500;

/// Page size limit of [`CampaignStore::marketing_rows`]: audiences are evaluated over
/// everyone, so pages are larger than listings' (a row is about 1 KiB).
pub const MARKETING_PAGE_MAX: u64 = 10_000;

/// The storage traits, for callers that use several areas through one `Arc<dyn Store>`
/// (a trait's methods are callable only where the trait is in scope).
pub mod prelude {
    pub use crate::{
        AdviceStore, AuditStore, CampaignStore, CatalogueStore, CreditStore, CustomerStore,
        FxStore, IdempotencyStore, LoyaltyStore, MonitoringStore, PrivacyStore, ProfileStore,
        RuleStore, StaffStore, Store,
    };
}

/// Every area together, and what concerns the database as a whole.
#[async_trait]
pub trait Store:
    CustomerStore
    + ProfileStore
    + AdviceStore
    + CreditStore
    + CatalogueStore
    + CampaignStore
    + IdempotencyStore
    + AuditStore
    + PrivacyStore
    + StaffStore
    + MonitoringStore
    + RuleStore
    + FxStore
    + LoyaltyStore
{
    /// `sqlite` or `postgres`.
    fn backend_name(&self) -> &'static str;
    async fn ping(&self) -> Result<(), StoreError>;
    /// Folds SQLite's write-ahead log back into the database file (nothing to do on
    /// PostgreSQL): after a bulk load, so that what is measured next is the steady state and
    /// a copy of the data folder is complete.
    async fn checkpoint(&self) -> Result<(), StoreError>;
}
