//! HTTP routes. Each handler checks the caller, reads the request (path, query, headers,
//! body), calls one use case of `sextant-services` and wraps its answer; the use cases hold
//! the logic, the domain crates the rules.

pub mod advice;
pub mod audit;
pub mod credit;
pub mod customers;
pub mod events;
pub mod marketing;
pub mod portfolio;
pub mod products;
pub mod profiles;
pub mod system;

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use sextant_services::idempotency::{Answer, IdempotencyKey, Keyed};
use sextant_services::records::{parse_record, refuse_card_numbers, without_values, RecordError};

use crate::auth::Caller;
use crate::error::{AppError, ItemProblem};

/// The body, or a problem+json answer for one that is too large or unreadable.
pub fn body_bytes(body: Result<Bytes, BytesRejection>) -> Result<Bytes, AppError> {
    body.map_err(|rejection| match rejection.status() {
        axum::http::StatusCode::PAYLOAD_TOO_LARGE => {
            AppError::TooLarge(format!("the body exceeds {} bytes", events::BODY_MAX_BYTES))
        }
        _ => AppError::InvalidJson(ItemProblem::field(
            "body",
            "unreadable_body",
            "the body could not be read",
        )),
    })
}

/// The query parameters, or a 422 naming the query.
pub fn query<T>(query: Result<Query<T>, QueryRejection>) -> Result<T, AppError> {
    query.map(|Query(q)| q).map_err(|rejection| {
        AppError::Validation(vec![ItemProblem::field(
            "query",
            "invalid_query",
            without_values(&rejection.body_text()),
        )])
    })
}

pub fn body_text(body: &Bytes) -> Result<&str, AppError> {
    std::str::from_utf8(body).map_err(|_| {
        AppError::InvalidJson(ItemProblem::field(
            "body",
            "invalid_utf8",
            "the body is not UTF-8",
        ))
    })
}

/// Syntax and type errors are a malformed body (400); anything else is invalid content (422).
pub fn record_problems(errors: Vec<RecordError>) -> AppError {
    let items: Vec<ItemProblem> = errors
        .into_iter()
        .map(|e| ItemProblem::from_record(None, None, e))
        .collect();
    let malformed = items
        .iter()
        .position(|i| i.code == "invalid_json" || i.code == "invalid_field");
    match malformed {
        Some(at) => AppError::InvalidJson(items.into_iter().nth(at).expect("position is in range")),
        None => AppError::Validation(items),
    }
}

/// Parses a JSON body, turning any error into a 400 naming the path, line and column. A
/// body holding a card number anywhere is refused first (422 `full_card_number`).
pub fn json_body<'de, T: Deserialize<'de>>(body: &'de Bytes) -> Result<T, AppError> {
    let text = body_text(body)?;
    refuse_card_numbers(text).map_err(|e| record_problems(vec![e]))?;
    parse_record(text).map_err(|e| record_problems(vec![e]))
}

/// Parses the envelope of a batch whose items are scanned and parsed one by one (so each
/// item's problems carry its index).
pub fn json_envelope<'de, T: Deserialize<'de>>(body: &'de Bytes) -> Result<T, AppError> {
    parse_record(body_text(body)?).map_err(|e| record_problems(vec![e]))
}

/// A wealth manager reaches only their own clients: any other customer answers 404, as a
/// missing one does. Call after `Caller::reach_customer`.
pub async fn require_client(
    state: &crate::AppState,
    caller: &Caller,
    id: &sextant_domain::CustomerId,
) -> Result<(), AppError> {
    if caller.role == crate::auth::Role::WealthManager
        && !state.ctx.store.is_client(&caller.sub, id).await?
    {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// The path's customer id, once the caller may reach it.
pub fn customer_id(raw: &str) -> Result<sextant_domain::CustomerId, AppError> {
    sextant_domain::CustomerId::parse(raw).map_err(|e| {
        AppError::Validation(vec![ItemProblem::from_record(
            None,
            None,
            RecordError {
                field: Some("id".into()),
                code: e.code.into(),
                message: e.message,
                line: None,
                column: None,
            },
        )])
    })
}

/// The caller's Idempotency-Key, when the request carries one.
pub fn idempotency_key(headers: &HeaderMap) -> Result<Option<IdempotencyKey>, AppError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    // A value that is not text fails as any other invalid key does.
    let text = value.to_str().unwrap_or("\u{0}");
    Ok(Some(IdempotencyKey::parse(text)?))
}

/// A request made under `key`: the caller's namespace of keys and what it asks.
pub fn keyed(caller: &Caller, key: IdempotencyKey, request_hash: String) -> Keyed {
    Keyed {
        caller: format!("{}:{}", caller.role.as_str(), caller.sub),
        key,
        request_hash,
    }
}

/// An answer of a use case under a key: its recorded status and body.
pub fn answer(answer: Answer) -> Result<Response, AppError> {
    let status =
        StatusCode::from_u16(answer.status).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((status, Json(answer.body)).into_response())
}
