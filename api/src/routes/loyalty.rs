//! Loyalty points: a customer's balance and statement, redemptions (Idempotency-Key
//! required) and their reversal, staff adjustments, the expiry job and finance's liability
//! report. The use cases are `sextant_services::loyalty`.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use sextant_services::idempotency::{missing, request_hash};
use sextant_services::loyalty::{
    self, AdjustmentRequest, ExpiryReport, LiabilityReport, LoyaltyView, RedemptionRequest,
    RedemptionView, StatementLine,
};
use utoipa::IntoParams;

use super::{
    answer, body_bytes, customer_id, idempotency_key, json_body, keyed, query, CUSTOMER_ID_PARAM,
    IDEMPOTENCY_KEY_PARAM, OPAQUE_ID_PARAM,
};
use crate::auth::{Caller, Role};
use crate::error::{AppError, Problem};
use crate::AppState;

/// Who reads a customer's points: the customer, the payment app, oversight.
const READERS: &[Role] = &[Role::Customer, Role::Service, Role::Compliance, Role::Admin];
/// Who spends them: the customer at checkout, the payment app, an admin.
const SPENDERS: &[Role] = &[Role::Customer, Role::Service, Role::Admin];
/// Who reverses a redemption (a returned purchase): the payment app, an admin.
const REVERSERS: &[Role] = &[Role::Service, Role::Admin];
/// Finance's report and the expiry job.
const FINANCE: &[Role] = &[Role::Compliance, Role::Admin];

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StatementQuery {
    /// Statement entries before this journal place (from `next_before`); newest when absent.
    #[param(minimum = 0)]
    pub before: Option<i64>,
    /// 1..=100, default 20.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<usize>,
}

/// The customer's points: balance, what can be spent today and its value, tier, lots
/// expiring in the next 90 days, and the statement, newest first, by pages.
#[utoipa::path(get, path = "/v1/customers/{id}/loyalty", tag = "loyalty", security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM), StatementQuery),
    responses((status = 200, body = LoyaltyView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn balance(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Result<Query<StatementQuery>, QueryRejection>,
) -> Result<Json<LoyaltyView>, AppError> {
    caller.reach_customer(&id, READERS)?;
    let id = customer_id(&id)?;
    let params = query(params)?;
    let limit = params.limit.unwrap_or(20);
    let before = params.before.map(u64::try_from).transpose().map_err(|_| {
        sextant_services::ServiceError::invalid("before", "out_of_range", "a journal place, from 0")
    })?;
    if !(1..=loyalty::STATEMENT_PAGE_MAX).contains(&limit) {
        return Err(sextant_services::ServiceError::invalid(
            "limit",
            "out_of_range",
            "1 to 100 entries per page",
        )
        .into());
    }
    Ok(Json(
        loyalty::view(&state.ctx, &id, before, limit, Utc::now()).await?,
    ))
}

/// Spends points on a purchase or an instalment plan's fee, at the published value of a
/// point, answering the exact money off. Requires an Idempotency-Key: a retry with the same
/// key and body gets the same answer; two simultaneous redemptions never spend the same
/// points.
#[utoipa::path(post, path = "/v1/loyalty/redemptions", tag = "loyalty", security(("bearer" = [])),
    request_body = RedemptionRequest,
    params(("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,255}$", description = IDEMPOTENCY_KEY_PARAM)),
    responses((status = 201, body = RedemptionView), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "insufficient_points"), (status = 422, body = Problem)))]
pub async fn redeem(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    caller.require(SPENDERS)?;
    let key = idempotency_key(&headers)?.ok_or_else(|| missing("a redemption"))?;
    let body = body_bytes(body)?;
    let request: RedemptionRequest = json_body(&body)?;
    caller.reach_customer(&request.customer_id, SPENDERS)?;
    let keyed = keyed(&caller, key, request_hash("redeem", &body));
    answer(loyalty::redeem(&state.ctx, &keyed, &caller.actor(), &request, Utc::now()).await?)
}

/// Reverses a redemption within 30 days of it (a returned purchase, a cancelled plan): its
/// points go back to the lots they came from, or lapse for a lot past its last day. Once:
/// sent again, it is the same reversal and the same answer.
#[utoipa::path(post, path = "/v1/customers/{id}/loyalty/redemptions/{redemption_id}/reverse", tag = "loyalty",
    security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM),
        ("redemption_id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = OPAQUE_ID_PARAM)),
    responses((status = 200, body = StatementLine), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "reversal_window_closed"),
        (status = 422, body = Problem)))]
pub async fn reverse(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, redemption_id)): Path<(String, String)>,
) -> Result<Json<StatementLine>, AppError> {
    caller.reach_customer(&id, REVERSERS)?;
    let id = customer_id(&id)?;
    Ok(Json(
        loyalty::reverse_redemption(&state.ctx, &id, &redemption_id, &caller.actor(), Utc::now())
            .await?,
    ))
}

/// Adds or takes points by hand (a goodwill gesture, a correction), with a reason; recorded
/// with the actor. Requires an Idempotency-Key.
#[utoipa::path(post, path = "/v1/customers/{id}/loyalty/adjustments", tag = "loyalty", security(("bearer" = [])),
    request_body = AdjustmentRequest,
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM),
        ("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,255}$", description = IDEMPOTENCY_KEY_PARAM)),
    responses((status = 201, body = StatementLine), (status = 400, body = Problem), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "insufficient_points"), (status = 422, body = Problem)))]
pub async fn adjust(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<StatementLine>), AppError> {
    caller.reach_customer(&id, &[Role::Admin])?;
    let id = customer_id(&id)?;
    let key = idempotency_key(&headers)?.ok_or_else(|| missing("an adjustment"))?;
    let body = body_bytes(body)?;
    let request: AdjustmentRequest = json_body(&body)?;
    let keyed = keyed(&caller, key, request_hash("adjust", &body));
    let line = loyalty::adjust(
        &state.ctx,
        &keyed,
        &id,
        &caller.actor(),
        &request,
        Utc::now(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(line)))
}

/// Expires every lot past its last day. Safe to run twice or on two servers at once: each
/// lot expires in one posting.
#[utoipa::path(post, path = "/v1/loyalty/expiry", tag = "loyalty", security(("bearer" = [])),
    responses((status = 200, body = ExpiryReport), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn expire(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ExpiryReport>, AppError> {
    caller.require(&[Role::Service, Role::Admin])?;
    Ok(Json(
        loyalty::expire_all(state.ctx.store.as_ref(), &caller.actor(), Utc::now()).await?,
    ))
}

/// Points outstanding by the month they expire, and what they are worth: the bank's
/// liability, for finance.
#[utoipa::path(get, path = "/v1/loyalty/liability", tag = "loyalty", security(("bearer" = [])),
    responses((status = 200, body = LiabilityReport), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn liability(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<LiabilityReport>, AppError> {
    caller.require(FINANCE)?;
    Ok(Json(
        loyalty::liability(state.ctx.store.as_ref(), Utc::now()).await?,
    ))
}
