//! The one error type of the HTTP layer, rendered as RFC 9457 problem+json.
//!
//! Internal details (database messages, panics) are never sent: the response carries the
//! detail in an extension that the logging middleware writes to the log once.

use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sextant_services::ServiceError;
use sextant_store::StoreError;
use utoipa::ToSchema;

pub use sextant_services::ItemProblem;

/// Most item errors listed in one response; the count says how many there were.
pub const ITEM_ERRORS_MAX: usize = 100;

/// RFC 9457 problem details, with Sextant's `code` and item list.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub code: String,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ItemProblem>,
    /// How many item errors there were, when more than are listed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_count: Option<usize>,
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("authentication required: {0}")]
    Unauthenticated(&'static str),
    #[error("the caller's role may not do this")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    /// Over a rate limit: retry after the duration.
    #[error("rate limited")]
    RateLimited(std::time::Duration),
    /// The body did not arrive within the body read timeout.
    #[error("request timeout")]
    RequestTimeout,
    /// The request ran past its deadline; its work was cancelled.
    #[error("deadline exceeded")]
    DeadlineExceeded,
    #[error("the request body is not valid JSON")]
    InvalidJson(ItemProblem),
    #[error("validation failed")]
    Validation(Vec<ItemProblem>),
    #[error("conflict: {0}")]
    Conflict(&'static str, Vec<ItemProblem>),
    #[error("too large: {0}")]
    TooLarge(String),
    #[error("the service is unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// A component the request needs is not set up yet (e.g. no credit model is active).
    #[error("not ready: {1}")]
    NotReady(&'static str, String),
    /// An advisory computation refused its input: infeasible constraints, an impossible
    /// target, a matrix that is not positive semidefinite.
    #[error("advice: {0}")]
    Advice(#[from] sextant_advisor::AdvisorError),
    /// The credit engine refused the request (an amount or term it cannot decide on).
    #[error("credit: {0}")]
    Lending(#[from] sextant_lending::LendingError),
}

/// The internal message of a 5xx, for the logging middleware only.
#[derive(Clone, Debug)]
pub struct InternalDetail(pub String);

impl From<ServiceError> for AppError {
    fn from(err: ServiceError) -> Self {
        match err {
            ServiceError::NotFound => AppError::NotFound,
            ServiceError::Invalid(items) => AppError::Validation(items),
            ServiceError::Conflict { code, problems } => AppError::Conflict(code, problems),
            ServiceError::TooLarge(what) => AppError::TooLarge(what),
            ServiceError::NotReady { code, message } => AppError::NotReady(code, message),
            ServiceError::Unavailable(e) => AppError::Unavailable(e),
            ServiceError::Advice(sextant_advisor::AdvisorError::DeadlineExceeded) => {
                AppError::DeadlineExceeded
            }
            ServiceError::Advice(e) => AppError::Advice(e),
            ServiceError::Lending(e) => AppError::Lending(e),
            ServiceError::Internal(e) => AppError::Internal(e),
        }
    }
}

/// A store error read directly by a route means what it means to the use cases.
impl From<StoreError> for AppError {
    fn from(err: StoreError) -> Self {
        ServiceError::from(err).into()
    }
}

impl AppError {
    pub(crate) fn parts(&self) -> (StatusCode, &'static str, &'static str, String) {
        match self {
            AppError::Unauthenticated(why) => (
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
                (*why).into(),
            ),
            AppError::Forbidden => (
                StatusCode::FORBIDDEN,
                "forbidden",
                "Forbidden",
                "the caller's role may not use this route".into(),
            ),
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "not_found",
                "Not found",
                "no such resource".into(),
            ),
            AppError::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "Method not allowed",
                "this path does not take this method".into(),
            ),
            AppError::RateLimited(wait) => (
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                "Too many requests",
                format!(
                    "over the rate limit; retry after {} s",
                    wait.as_secs_f64().ceil().max(1.0)
                ),
            ),
            AppError::RequestTimeout => (
                StatusCode::REQUEST_TIMEOUT,
                "request_timeout",
                "Request timeout",
                "the body did not arrive in time; nothing was done".into(),
            ),
            AppError::DeadlineExceeded | AppError::Advice(sextant_advisor::AdvisorError::DeadlineExceeded) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "deadline_exceeded",
                "Deadline exceeded",
                "the request ran past its time budget and its work was stopped; make it smaller or retry later".into(),
            ),
            AppError::InvalidJson(_) => (
                StatusCode::BAD_REQUEST,
                "invalid_json",
                "Malformed request body",
                "the body is not valid JSON of the expected shape".into(),
            ),
            AppError::Validation(items) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation_failed",
                "Validation failed",
                format!("{} problem(s); nothing was stored", items.len()),
            ),
            AppError::Conflict(code, _) => (
                StatusCode::CONFLICT,
                code,
                "Conflict",
                "the request conflicts with stored data; nothing was stored".into(),
            ),
            AppError::TooLarge(what) => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                "Request too large",
                what.clone(),
            ),
            AppError::Unavailable(_) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "Service unavailable",
                "storage is unavailable; retry later".into(),
            ),
            AppError::NotReady(code, why) => (
                StatusCode::SERVICE_UNAVAILABLE,
                code,
                "Service not ready",
                why.clone(),
            ),
            AppError::Internal(_) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal",
                "Internal error",
                "an internal error occurred; it has been logged".into(),
            ),
            AppError::Advice(e) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                e.code(),
                "Cannot compute this advice",
                e.to_string(),
            ),
            AppError::Lending(e) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                e.code(),
                "Cannot compute this advice",
                e.to_string(),
            ),
        }
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, code, title, detail) = self.parts();
        let retry_after_secs = match &self {
            AppError::RateLimited(wait) => wait.as_secs_f64().ceil().max(1.0) as u64,
            _ => 5,
        };
        let (mut errors, internal) = match self {
            AppError::InvalidJson(item) => (vec![item], None),
            AppError::Validation(items) | AppError::Conflict(_, items) => (items, None),
            AppError::Unavailable(e) | AppError::Internal(e) => (Vec::new(), Some(e)),
            AppError::Advice(e) => (
                vec![ItemProblem {
                    field: e.field().map(str::to_owned),
                    ..ItemProblem::field("", e.code(), e.to_string())
                }],
                None,
            ),
            AppError::Lending(e) => (
                vec![ItemProblem {
                    field: e.field().map(str::to_owned),
                    ..ItemProblem::field("", e.code(), e.to_string())
                }],
                None,
            ),
            _ => (Vec::new(), None),
        };
        let error_count = (errors.len() > ITEM_ERRORS_MAX).then_some(errors.len());
        errors.truncate(ITEM_ERRORS_MAX);
        let problem = Problem {
            kind: format!("urn:sextant:problem:{code}"),
            title: title.into(),
            status: status.as_u16(),
            code: code.into(),
            detail,
            errors,
            error_count,
        };
        let mut response = (status, axum::Json(problem)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::SERVICE_UNAVAILABLE || status == StatusCode::TOO_MANY_REQUESTS {
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry_after_secs));
        }
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(detail) = internal {
            response.extensions_mut().insert(InternalDetail(detail));
        }
        response
    }
}
