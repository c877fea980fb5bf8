//! HTTP routes. Each handler checks the caller, converts wire records into domain values and
//! calls the store; business rules live in the domain crates.

pub mod customers;
pub mod events;
pub mod products;
pub mod system;

use axum::body::Bytes;
use serde::Deserialize;

use crate::error::{AppError, ItemProblem};
use crate::wire::parse_record;

/// Parses a JSON body, turning any error into a 400 naming the path, line and column.
pub fn json_body<'de, T: Deserialize<'de>>(body: &'de Bytes) -> Result<T, AppError> {
    let text = std::str::from_utf8(body).map_err(|_| {
        AppError::InvalidJson(ItemProblem::field(
            "body",
            "invalid_utf8",
            "the body is not UTF-8",
        ))
    })?;
    parse_record(text).map_err(|e| {
        let item = ItemProblem::from_record(None, None, e);
        if item.code == "full_card_number" {
            AppError::Validation(vec![item])
        } else {
            AppError::InvalidJson(item)
        }
    })
}

/// The path's customer id, once the caller may reach it.
pub fn customer_id(raw: &str) -> Result<sextant_domain::CustomerId, AppError> {
    sextant_domain::CustomerId::parse(raw).map_err(|e| {
        AppError::Validation(vec![ItemProblem::from_record(
            None,
            None,
            crate::wire::RecordError {
                field: Some("id".into()),
                code: e.code.into(),
                message: e.message,
                line: None,
                column: None,
            },
        )])
    })
}
