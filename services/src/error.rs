//! The one error type of the use cases. It says what went wrong in the caller's terms (which
//! field, which conflict, what is not ready yet) and never how it would travel: `api` maps
//! every variant to a status and a problem+json body in one place, the command line prints
//! it.

use serde::Serialize;
use sextant_store::StoreError;
use utoipa::ToSchema;

use crate::records::RecordError;

/// One problem with one part of the request.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct ItemProblem {
    /// Position of the item in a batch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// Dotted path of the offending field.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// Stable, machine-readable reason.
    pub code: String,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl ItemProblem {
    pub fn field(field: &str, code: &str, message: impl Into<String>) -> Self {
        ItemProblem {
            index: None,
            field: Some(field.into()),
            code: code.into(),
            message: message.into(),
            line: None,
            column: None,
        }
    }

    /// The same problem about item `index` of a batch.
    pub fn at(self, index: usize) -> Self {
        ItemProblem {
            index: Some(index),
            ..self
        }
    }

    pub fn from_record(index: Option<usize>, prefix: Option<&str>, e: RecordError) -> Self {
        let field = match (prefix, e.field) {
            (Some(p), Some(f)) => Some(format!("{p}.{f}")),
            (Some(p), None) => Some(p.to_owned()),
            (None, f) => f,
        };
        ItemProblem {
            index,
            field,
            code: e.code,
            message: e.message,
            line: e.line,
            column: e.column,
        }
    }
}

/// Why a use case did not do what was asked. Nothing was changed unless a variant says so.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    /// No such resource, or one the caller may not see (the two are not told apart).
    #[error("not found")]
    NotFound,
    /// The request is invalid; every problem names its field.
    #[error("validation failed: {0:?}")]
    Invalid(Vec<ItemProblem>),
    /// The request conflicts with what is stored (`code` says how).
    #[error("conflict: {code}")]
    Conflict {
        code: &'static str,
        problems: Vec<ItemProblem>,
    },
    /// More than a use case accepts at once.
    #[error("too large: {0}")]
    TooLarge(String),
    /// A component the request needs is not set up yet (no credit model is active, too
    /// few customers to train on).
    #[error("not ready: {message}")]
    NotReady { code: &'static str, message: String },
    /// A dependency (the database, the vector store) cannot be reached; retrying later may
    /// work.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// An advisory computation refused its input: infeasible constraints, an impossible
    /// target, a matrix that is not positive semidefinite.
    #[error("advice: {0}")]
    Advice(#[from] sextant_advisor::AdvisorError),
    /// The credit engine refused the request (an amount or term it cannot decide on).
    #[error("credit: {0}")]
    Lending(#[from] sextant_lending::LendingError),
    /// A fault of ours (corrupt data, a broken invariant); the detail is for the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type Result<T, E = ServiceError> = std::result::Result<T, E>;

impl ServiceError {
    /// A 422-style refusal of one field.
    pub fn invalid(field: &str, code: &str, message: impl Into<String>) -> Self {
        ServiceError::Invalid(vec![ItemProblem::field(field, code, message)])
    }

    /// A conflict about one field, whose code is the conflict's.
    pub fn conflict(code: &'static str, field: &str, message: impl Into<String>) -> Self {
        ServiceError::Conflict {
            code,
            problems: vec![ItemProblem::field(field, code, message)],
        }
    }

    pub fn internal(what: impl std::fmt::Display) -> Self {
        ServiceError::Internal(what.to_string())
    }
}

fn indexed(indices: Vec<usize>, field: &str, code: &str, message: &str) -> Vec<ItemProblem> {
    indices
        .into_iter()
        .map(|i| ItemProblem::field(field, code, message).at(i))
        .collect()
}

impl From<StoreError> for ServiceError {
    fn from(err: StoreError) -> Self {
        match err {
            StoreError::Unavailable(e) => ServiceError::Unavailable(e),
            StoreError::UnknownCustomers(ix) => ServiceError::Invalid(indexed(
                ix,
                "customer_id",
                "unknown_customer",
                "no customer is registered under this id",
            )),
            StoreError::UnknownProducts(ix) => ServiceError::Invalid(indexed(
                ix,
                "product_id",
                "unknown_product",
                "no product of the catalogue has this id",
            )),
            StoreError::EventIdReused(ix) => ServiceError::Conflict {
                code: "event_id_reused",
                problems: indexed(
                    ix,
                    "event_id",
                    "event_id_reused",
                    "this event id is already stored with different content",
                ),
            },
            StoreError::Conflict(e) => ServiceError::Conflict {
                code: "version_conflict",
                problems: vec![ItemProblem::field("version", "version_conflict", e)],
            },
            StoreError::Corrupt(e) | StoreError::Database(e) => ServiceError::Internal(e),
        }
    }
}

impl From<sextant_vectors::VectorError> for ServiceError {
    fn from(err: sextant_vectors::VectorError) -> Self {
        ServiceError::Unavailable(format!("vector store: {err}"))
    }
}
