//! What the store keeps about credit: model versions, decisions, instalment plans and the
//! idempotency records of the requests that create them.

use chrono::{DateTime, Utc};
use sextant_domain::CustomerId;

/// A trained credit model as stored: the artifact is `CreditModel::to_json`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCreditModel {
    pub version: String,
    /// `scorecard` or `gbm`.
    pub kind: String,
    pub created_at: DateTime<Utc>,
    pub actor: String,
    /// Held-out figures measured when it was trained.
    pub metrics: serde_json::Value,
    pub artifact: String,
}

/// A quote or application with everything needed to replay it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewCreditDecision {
    /// Opaque and unguessable (`cq_...` for quotes, `ca_...` for applications).
    pub id: String,
    pub customer_id: CustomerId,
    /// `instalment_quote` or `loan_application`.
    pub kind: String,
    pub created_at: DateTime<Utc>,
    /// Quotes can be accepted until then; applications do not expire.
    pub expires_at: Option<DateTime<Utc>>,
    pub actor: String,
    pub model_version: String,
    pub policy_version: String,
    /// `approved` or `declined`.
    pub outcome: String,
    /// The request, the applicant, the model's input row and the policy, as decided on.
    pub inputs: serde_json::Value,
    /// The decision as returned.
    pub output: serde_json::Value,
}

/// A plan created by accepting a quote.
#[derive(Debug, Clone, PartialEq)]
pub struct NewInstalmentPlan {
    pub id: String,
    pub quote_id: String,
    pub customer_id: CustomerId,
    pub months: u32,
    pub actor: String,
    pub created_at: DateTime<Utc>,
    pub plan: serde_json::Value,
}

/// The answer given to a request made with an Idempotency-Key.
#[derive(Debug, Clone, PartialEq)]
pub struct IdempotentResponse {
    /// Who asked: a key is only ever compared with the same caller's keys.
    pub caller: String,
    pub key: String,
    /// Hash of the method, path and body: the same key with another request is refused.
    pub request_hash: String,
    pub status: u16,
    pub response: serde_json::Value,
    pub created_at: DateTime<Utc>,
}

/// What happened to a write made under an Idempotency-Key.
#[derive(Debug, Clone, PartialEq)]
pub enum Idempotent {
    /// Written now; the response given is on record under the key.
    Written,
    /// The key was used before for the same request: here is the answer given then.
    Replay(IdempotentResponse),
    /// The key was used before for a different request.
    KeyReused,
    /// (Accepting a quote) the quote was accepted before, under another key.
    AlreadyAccepted,
}
