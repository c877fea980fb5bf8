//! What the store keeps about transaction monitoring: the alerts raised on payments, the
//! cases that group one customer's alerts for compliance, and the payment assessments
//! answered to the payment app, with everything needed to replay them.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sextant_domain::{CustomerId, PaymentEvent};

use crate::{Actor, Idempotent, IdempotentResponse, StoreError};

/// An alert as raised: by a detector (`source` names the typology) on an ingested payment
/// (`event_id`) or on an assessed one (`assessment_id`).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    /// Opaque (`al_...`).
    pub id: String,
    pub customer_id: CustomerId,
    /// What raised it: a typology's name.
    pub source: String,
    /// 0..=1.
    pub score: f64,
    /// In plain words, for the analyst (never shown to the customer).
    pub reason: String,
    pub event_id: Option<String>,
    pub assessment_id: Option<String>,
    /// When the payment was made.
    pub occurred_at: DateTime<Utc>,
    pub raised_at: DateTime<Utc>,
}

/// An alert as stored: in the case it was filed under.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAlert {
    pub case_id: String,
    pub alert: NewAlert,
}

/// Open until an analyst closes it with a disposition.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCase {
    /// Opaque (`case_...`).
    pub id: String,
    pub customer_id: CustomerId,
    /// `open` or `closed`.
    pub status: String,
    /// The analyst's staff username.
    pub assignee: Option<String>,
    /// When closed: `fraud`, `laundering_reported` or `false_positive`.
    pub disposition: Option<String>,
    pub opened_at: DateTime<Utc>,
    /// The last alert, assignment, comment or closing.
    pub updated_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    /// Alerts filed under it.
    pub alerts: u64,
    /// The highest alert score.
    pub max_score: f64,
}

/// One line of a case's history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseNote {
    pub at: DateTime<Utc>,
    /// `role:id` of who wrote it.
    pub actor: String,
    /// `assigned`, `comment` or `closed`.
    pub kind: String,
    pub text: String,
}

/// A change an analyst makes to a case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseChange {
    /// To a staff username, or back to nobody.
    Assign(Option<String>),
    Comment(String),
    /// With a disposition and why; a closed case stays closed (a new alert opens a new one).
    Close {
        disposition: String,
        note: String,
    },
}

/// What a listing of cases asks for; absent parts match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaseFilter {
    /// `open` or `closed`.
    pub status: Option<String>,
    pub assignee: Option<String>,
    pub customer: Option<CustomerId>,
}

/// What [`MonitoringStore::record_alerts`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlertsFiled {
    /// Alerts stored (an alert already on record for the same payment and source is not).
    pub stored: u64,
    /// Cases opened for them.
    pub cases_opened: u64,
}

/// A payment assessment with everything needed to replay it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewPaymentAssessment {
    /// Opaque (`pa_...`).
    pub id: String,
    pub customer_id: CustomerId,
    pub created_at: DateTime<Utc>,
    pub actor: String,
    pub policy_version: String,
    /// `allow`, `review` or `block`.
    pub verdict: String,
    pub score: f64,
    /// The payment as sent, the customer's state before it and the parameters: JSON text,
    /// written as the service serialised it (a state is about 5 KiB of numbers; no tree of
    /// values is built for it on the checkout path).
    pub inputs: String,
    /// The assessment as answered.
    pub output: serde_json::Value,
}

/// What tells a process that the monitoring in force changed in the database (a rule
/// written or its mode changed, a model activated), whichever process changed it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MonitoringStamp {
    /// Rule versions stored, and the latest change of any.
    pub rule_versions: i64,
    pub rules_changed_at_ms: i64,
    /// The newest model activation's id.
    pub model_activation: Option<i64>,
}

/// A trained monitoring model as stored: the artifact is the serving model's JSON (the
/// calibrated trees, their feature names and the review threshold).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMonitoringModel {
    pub version: String,
    pub created_at: DateTime<Utc>,
    pub actor: String,
    /// Held-out figures measured when it was trained.
    pub metrics: serde_json::Value,
    pub artifact: String,
}

#[async_trait]
pub trait MonitoringStore: Send + Sync {
    /// Files each alert under its customer's open case, opening one where there is none,
    /// in one transaction with their audit entries. An alert on a payment that already has
    /// one from the same source is left out, so that evaluating a payment twice (a retried
    /// import, a rebuilt state) raises nothing new.
    async fn record_alerts(
        &self,
        alerts: &[NewAlert],
        by: &Actor,
    ) -> Result<AlertsFiled, StoreError>;
    /// Cases matching `filter`, the most recently updated first, `limit` (at most
    /// [`crate::PAGE_MAX`]) from `offset`; and how many match in all.
    async fn cases(
        &self,
        filter: &CaseFilter,
        offset: u64,
        limit: u64,
    ) -> Result<(Vec<StoredCase>, u64), StoreError>;
    /// A case with its alerts (oldest first) and its notes (oldest first).
    async fn case(
        &self,
        id: &str,
    ) -> Result<Option<(StoredCase, Vec<StoredAlert>, Vec<CaseNote>)>, StoreError>;
    /// Applies an analyst's change, with its note and audit entry; `None` for an unknown
    /// case. Closing a closed case, or changing one, is [`StoreError::Conflict`].
    async fn update_case(
        &self,
        id: &str,
        change: &CaseChange,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<StoredCase>, StoreError>;
    /// Customers' payments made at or after `since`, by customer then oldest first: what a
    /// customer's monitoring state is rebuilt from.
    async fn payments_since(
        &self,
        customers: &[CustomerId],
        since: DateTime<Utc>,
    ) -> Result<Vec<PaymentEvent>, StoreError>;
    /// How many payments each of `customers` made at or after `since` (customers with none
    /// are left out): a state whose customer has no payments but the ones just stored is
    /// built from those, without reading them back.
    async fn payment_counts_since(
        &self,
        customers: &[CustomerId],
        since: DateTime<Utc>,
    ) -> Result<Vec<(CustomerId, u64)>, StoreError>;
    /// Registered customers' ids after `after`, in id order, at most `limit` (at most
    /// [`crate::MARKETING_PAGE_MAX`]): how monitoring pages through everyone when it warms up.
    async fn customer_ids_after(
        &self,
        after: Option<&CustomerId>,
        limit: u64,
    ) -> Result<Vec<CustomerId>, StoreError>;
    /// Whether a customer is registered (an index look-up; nothing is decrypted).
    async fn customer_registered(&self, id: &CustomerId) -> Result<bool, StoreError>;
    /// Records an assessment (group-committed with credit decisions); with an idempotency
    /// record, only if its key is new (see [`Idempotent`]), and the two commit together.
    async fn record_payment_assessment(
        &self,
        assessment: &NewPaymentAssessment,
        idempotency: Option<&IdempotentResponse>,
        by: &Actor,
    ) -> Result<Idempotent, StoreError>;
    async fn payment_assessment(
        &self,
        id: &str,
    ) -> Result<Option<NewPaymentAssessment>, StoreError>;
    /// Stores a monitoring model version (kept if already there) and, when `activate`,
    /// makes it the one that scores payments; audited.
    async fn put_monitoring_model(
        &self,
        model: &StoredMonitoringModel,
        activate: bool,
        by: &Actor,
    ) -> Result<(), StoreError>;
    async fn monitoring_model(
        &self,
        version: &str,
    ) -> Result<Option<StoredMonitoringModel>, StoreError>;
    /// The most recently activated monitoring model.
    async fn active_monitoring_model(&self) -> Result<Option<StoredMonitoringModel>, StoreError>;
    /// Makes a stored version the one that scores payments, at `at`; audited. `false` when
    /// no such version is stored.
    async fn activate_monitoring_model(
        &self,
        version: &str,
        by: &Actor,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Where the rules and the model in force stand (see [`MonitoringStamp`]): one cheap
    /// read, for processes that keep them in memory.
    async fn monitoring_stamp(&self) -> Result<MonitoringStamp, StoreError>;
    /// The payments alerted in closed cases, each with its case's disposition (a payment
    /// alerted in several closed cases appears once per case): labels for the model.
    async fn disposed_alert_events(&self) -> Result<Vec<(String, String)>, StoreError>;
}
