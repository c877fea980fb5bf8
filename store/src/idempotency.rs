//! The answers given to requests made under an `Idempotency-Key`, kept per caller so that
//! a retry gets the first answer and the same key with another request is refused.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::StoreError;

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
    /// The thing the request would create exists already, made under another key (a quote
    /// accepted, a campaign launched).
    AlreadyAccepted,
}

#[async_trait]
pub trait IdempotencyStore: Send + Sync {
    /// The answer recorded under a caller's Idempotency-Key, if any.
    async fn idempotent_response(
        &self,
        caller: &str,
        key: &str,
    ) -> Result<Option<IdempotentResponse>, StoreError>;
}
