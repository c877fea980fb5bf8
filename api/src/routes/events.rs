//! `POST /v1/events`: idempotent batch ingestion.
//!
//! A batch is all-or-nothing: if any item is invalid (or names an unknown customer, or
//! reuses an event id with different content) nothing is stored and every bad item is
//! listed with its index and field. Otherwise every item is committed before the answer:
//! stored now, or acknowledged as a duplicate of what was stored before.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use sextant_services::customers;
use sextant_services::records::{parse_event, EventRecord};
use utoipa::ToSchema;

use super::{body_bytes, json_envelope};
use crate::auth::{Caller, Role};
use crate::error::{AppError, ItemProblem, Problem};
use crate::metrics::Metrics;
use crate::AppState;

/// Most events in one request.
pub const BATCH_MAX_EVENTS: usize = 1_000;
/// Largest request body of the API, in bytes (about 1 KiB per event at the batch limit).
pub const BODY_MAX_BYTES: usize = 2 * 1024 * 1024;

/// The request shape (documented); parsing keeps each item as raw text so that every
/// item's errors are reported with its own index and field.
#[derive(ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct EventBatch {
    /// 1..=1000 events (more are refused with 413).
    #[schema(min_items = 1, max_items = 1000)]
    events: Vec<EventRecord>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBatch<'a> {
    #[serde(borrow)]
    events: Vec<&'a RawValue>,
}

#[derive(Serialize, ToSchema)]
pub struct IngestReceipt {
    /// Items in the batch; all are now committed.
    pub accepted: usize,
    /// Items stored by this request.
    pub stored: usize,
    /// Items already stored before (same id, same content): acknowledged, not stored again.
    pub duplicates: usize,
    pub duplicate_indices: Vec<usize>,
}

/// Ingests a batch of payment and behaviour events (idempotent per event id and type).
#[utoipa::path(post, path = "/v1/events", tag = "events", security(("bearer" = [])),
    request_body = EventBatch,
    responses((status = 200, body = IngestReceipt, description = "every item is committed"),
        (status = 400, body = Problem, description = "malformed JSON"),
        (status = 401, body = Problem),
        (status = 403, body = Problem),
        (status = 409, body = Problem, description = "an event id is reused with different content; nothing stored"),
        (status = 413, body = Problem, description = "more than 1000 events"),
        (status = 422, body = Problem, description = "invalid items; nothing stored"),
        (status = 503, body = Problem, description = "storage unavailable or busy; retry after Retry-After")))]
pub async fn ingest(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<IngestReceipt>, AppError> {
    caller.require(&[Role::Service, Role::Admin])?;
    let body = body_bytes(body)?;
    let batch: RawBatch = json_envelope(&body)?;
    if batch.events.is_empty() {
        return Err(AppError::Validation(vec![ItemProblem::field(
            "events",
            "empty",
            "send at least one event",
        )]));
    }
    if batch.events.len() > BATCH_MAX_EVENTS {
        return Err(AppError::TooLarge(format!(
            "{} events; at most {BATCH_MAX_EVENTS} per request",
            batch.events.len()
        )));
    }
    let mut events = Vec::with_capacity(batch.events.len());
    let mut problems = Vec::new();
    for (index, raw) in batch.events.iter().enumerate() {
        match parse_event(raw.get()) {
            Ok(event) => events.push(event),
            Err(errors) => problems.extend(errors.into_iter().map(|e| ItemProblem {
                // Positions inside one item's text would mislead: the item is named by index.
                line: None,
                column: None,
                ..ItemProblem::from_record(Some(index), None, e)
            })),
        }
    }
    if !problems.is_empty() {
        Metrics::add(&state.metrics.events_rejected, batch.events.len());
        return Err(AppError::Validation(problems));
    }
    let outcome = customers::ingest(&state.ctx, &events, &caller.actor(), Utc::now())
        .await
        .inspect_err(|_| {
            Metrics::add(&state.metrics.events_rejected, events.len());
        })?;
    Metrics::add(&state.metrics.events_stored, outcome.stored);
    Metrics::add(&state.metrics.events_duplicate, outcome.duplicates.len());
    Ok(Json(IngestReceipt {
        accepted: events.len(),
        stored: outcome.stored,
        duplicates: outcome.duplicates.len(),
        duplicate_indices: outcome.duplicates,
    }))
}
