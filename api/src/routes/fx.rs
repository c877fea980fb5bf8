//! Reference exchange rates: the service role writes a day's published set; any caller
//! reads the rates in effect on a date.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::Json;
use chrono::Utc;
use serde::Serialize;
use sextant_services::fx::{self, DailyRatesRecord, RatesOn};
use utoipa::ToSchema;

use super::{body_bytes, json_body};
use crate::auth::{Caller, Role};
use crate::error::{AppError, Problem};
use crate::AppState;

const PUBLISHERS: &[Role] = &[Role::Service, Role::Admin];

/// What a day's write changed.
#[derive(Serialize, ToSchema)]
pub struct FxPut {
    pub date: String,
    /// Currencies the day did not have.
    pub added: u64,
    /// Currencies whose rate changed.
    pub changed: u64,
    /// Currencies of the day's earlier set that this set leaves out.
    pub removed: u64,
    pub unchanged: u64,
}

/// Sets the reference rates published on a date (units of each currency for one euro),
/// replacing the day's earlier set. Amounts on a weekend or holiday convert at the last
/// rate published before it, at most 7 days old.
#[utoipa::path(put, path = "/v1/fx-rates/{date}", tag = "fx", security(("bearer" = [])),
    params(("date" = String, Path, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description = "the publication date, YYYY-MM-DD")),
    request_body = DailyRatesRecord,
    responses((status = 200, body = FxPut), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 413, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path(date): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<FxPut>, AppError> {
    caller.require(PUBLISHERS)?;
    let date = fx::parse_date(&date)?;
    let body = body_bytes(body)?;
    let record: DailyRatesRecord = json_body(&body)?;
    let day = fx::parse_daily(date, &record)?;
    let write = fx::put_days(
        state.ctx.store.as_ref(),
        std::slice::from_ref(&day),
        "api",
        &caller.actor(),
        Utc::now(),
    )
    .await?;
    Ok(Json(FxPut {
        date: date.format("%Y-%m-%d").to_string(),
        added: write.added,
        changed: write.changed,
        removed: write.removed,
        unchanged: write.unchanged,
    }))
}

/// The reference rates in effect on a date: each currency's rate with the day it was
/// published, and the currencies that have none (their amounts cannot be converted).
#[utoipa::path(get, path = "/v1/fx-rates/{date}", tag = "fx", security(("bearer" = [])),
    params(("date" = String, Path, pattern = "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description = "YYYY-MM-DD")),
    responses((status = 200, body = RatesOn), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(date): Path<String>,
) -> Result<Json<RatesOn>, AppError> {
    caller.require(Role::ALL)?;
    let date = fx::parse_date(&date)?;
    Ok(Json(fx::rates_on(state.ctx.store.as_ref(), date).await?))
}
