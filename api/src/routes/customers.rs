//! Routes about one customer. Every handler starts with `caller.reach_customer`, so a
//! customer token never reaches another customer (404).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sextant_services::customers::{self, ConsentPatch};
use sextant_services::privacy::{self, Export};
use sextant_services::records::{
    format_timestamp, parse_customer, ConsentsRecord, CustomerRecord, HoldingRecord, PaymentRecord,
};
use sextant_store::{Cursor, StoredCustomer, PAGE_MAX};
use utoipa::{IntoParams, ToSchema};

use super::{
    body_bytes, body_text, customer_id, json_body, query, record_problems, CUSTOMER_ID_PARAM,
};
use crate::auth::{Caller, Role};
use crate::error::{AppError, ItemProblem, Problem};
use crate::AppState;

const READERS: &[Role] = &[
    Role::Customer,
    Role::Service,
    Role::WealthManager,
    Role::Admin,
];
const REGISTRARS: &[Role] = &[Role::Service, Role::Admin];
const CONSENT_EDITORS: &[Role] = &[Role::Customer, Role::Service, Role::Admin];

#[derive(Serialize, ToSchema)]
pub struct CustomerView {
    #[serde(flatten)]
    pub customer: CustomerRecord,
    pub created_at: String,
    pub updated_at: String,
}

/// Registers or replaces a customer (the payment app's back end).
#[utoipa::path(put, path = "/v1/customers/{id}", tag = "customers", security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM)),
    request_body = CustomerRecord,
    responses((status = 201, body = CustomerView, description = "created"), (status = 200, body = CustomerView, description = "replaced"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 413, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<CustomerView>), AppError> {
    caller.reach_customer(&id, REGISTRARS)?;
    let body = body_bytes(body)?;
    let customer =
        parse_customer(body_text(&body)?, Some(&id), Utc::now()).map_err(record_problems)?;
    let (stored, created) =
        customers::register(&state.ctx, &customer, &caller.actor(), Utc::now()).await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(view(stored))))
}

fn view(stored: StoredCustomer) -> CustomerView {
    CustomerView {
        customer: CustomerRecord::from_domain(&stored.customer),
        created_at: format_timestamp(stored.created_at),
        updated_at: format_timestamp(stored.updated_at),
    }
}

/// One customer's registration data and consents.
#[utoipa::path(get, path = "/v1/customers/{id}", tag = "customers", security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM)),
    responses((status = 200, body = CustomerView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CustomerView>, AppError> {
    caller.reach_customer(&id, READERS)?;
    let id = customer_id(&id)?;
    super::require_client(&state, &caller, &id).await?;
    let stored = state
        .ctx
        .store
        .customer(&id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(view(stored)))
}

/// Erases a customer (right to erasure): their data key is destroyed, so nothing sealed
/// under it (personal fields, merchants, cards, search texts) can be read again anywhere,
/// backups included; their events, holdings, profile, risk answers, advice and campaign
/// rows are deleted. Credit decisions, consent history and the audit trail stay under the
/// pseudonymous id. Recorded in the audit trail. Admin only.
#[utoipa::path(delete, path = "/v1/customers/{id}", tag = "customers", security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM)),
    responses((status = 204, description = "erased"), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn erase(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, AppError> {
    caller.reach_customer(&id, &[Role::Admin])?;
    let id = customer_id(&id)?;
    privacy::erase(&state.ctx, &id, &caller.actor(), Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Everything Sextant holds about a customer (right of access): registration, consent
/// history, holdings, payments, behaviour, profile, risk assessments, credit decisions with
/// their inputs, and who did what with their data.
#[utoipa::path(get, path = "/v1/customers/{id}/export", tag = "customers", security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM)),
    responses((status = 200, body = Export), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn export(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Export>, AppError> {
    caller.reach_customer(&id, &[Role::Customer, Role::Admin])?;
    let id = customer_id(&id)?;
    Ok(Json(privacy::export(&state.ctx, &id, Utc::now()).await?))
}

/// Grants or withdraws consents. A withdrawal takes effect at once and is recorded.
#[utoipa::path(patch, path = "/v1/customers/{id}/consents", tag = "customers", security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM)),
    request_body = ConsentPatch,
    responses((status = 200, body = ConsentsRecord), (status = 400, body = Problem), (status = 413, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn patch_consents(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ConsentsRecord>, AppError> {
    caller.reach_customer(&id, CONSENT_EDITORS)?;
    let id = customer_id(&id)?;
    let body = body_bytes(body)?;
    let patch: ConsentPatch = json_body(&body)?;
    let consents =
        customers::set_consents(&state.ctx, &id, &patch, &caller.actor(), Utc::now()).await?;
    Ok(Json(consents.into()))
}

#[derive(Serialize, ToSchema)]
pub struct ConsentChangeView {
    /// `profiling` or `marketing.<channel>`
    pub scope: String,
    pub granted: bool,
    pub actor: String,
    pub changed_at: String,
}

#[derive(Serialize, ToSchema)]
pub struct ConsentHistory {
    pub changes: Vec<ConsentChangeView>,
}

/// Every recorded consent change, newest first (up to 500).
#[utoipa::path(get, path = "/v1/customers/{id}/consents/history", tag = "customers", security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM)),
    responses((status = 200, body = ConsentHistory), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn consent_history(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ConsentHistory>, AppError> {
    caller.reach_customer(&id, CONSENT_EDITORS)?;
    let id = customer_id(&id)?;
    let store = &state.ctx.store;
    store.customer(&id).await?.ok_or(AppError::NotFound)?;
    let changes = store.consent_history(&id, PAGE_MAX).await?;
    Ok(Json(ConsentHistory {
        changes: changes
            .into_iter()
            .map(|c| ConsentChangeView {
                scope: c.scope,
                granted: c.granted,
                actor: c.actor,
                changed_at: format_timestamp(c.changed_at),
            })
            .collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// 1..=500, default 100.
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page: milliseconds, `~` and an event id. (The
    /// milliseconds must fit a 64-bit integer, which the pattern does not state.)
    #[param(pattern = "^[+-]?[0-9]+~")]
    pub cursor: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct PaymentPage {
    pub payments: Vec<PaymentRecord>,
    /// Pass as `cursor` for the next (older) page; null once fewer than `limit` payments
    /// came back (a full last page is followed by an empty one).
    pub next_cursor: Option<String>,
}

fn parse_cursor(text: &str) -> Result<Cursor, AppError> {
    let bad = || {
        AppError::Validation(vec![ItemProblem::field(
            "cursor",
            "invalid_cursor",
            "use the next_cursor of a previous page",
        )])
    };
    let (ms, id) = text.split_once('~').ok_or_else(bad)?;
    Ok(Cursor {
        occurred_at_ms: ms.parse().map_err(|_| bad())?,
        event_id: id.to_owned(),
    })
}

/// The customer's payments, newest first.
#[utoipa::path(get, path = "/v1/customers/{id}/payments", tag = "customers", security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM), PageQuery),
    responses((status = 200, body = PaymentPage), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn payments(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    page: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<PaymentPage>, AppError> {
    caller.reach_customer(&id, READERS)?;
    let id = customer_id(&id)?;
    super::require_client(&state, &caller, &id).await?;
    let page = query(page)?;
    let limit = page.limit.unwrap_or(100);
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(AppError::Validation(vec![ItemProblem::field(
            "limit",
            "out_of_range",
            format!("limit must lie in 1..={PAGE_MAX}"),
        )]));
    }
    let cursor = page.cursor.as_deref().map(parse_cursor).transpose()?;
    let store = &state.ctx.store;
    store.customer(&id).await?.ok_or(AppError::NotFound)?;
    let payments = store.payments(&id, cursor.as_ref(), limit).await?;
    let next_cursor = (payments.len() as u64 == limit)
        .then(|| {
            payments
                .last()
                .map(|p| format!("{}~{}", p.occurred_at.timestamp_millis(), p.event_id))
        })
        .flatten();
    Ok(Json(PaymentPage {
        payments: payments.iter().map(PaymentRecord::from_domain).collect(),
        next_cursor,
    }))
}

#[derive(Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Holdings {
    /// At most 200 positions, one per product (uniqueness the schema cannot state).
    #[schema(max_items = 200)]
    pub holdings: Vec<HoldingRecord>,
}

/// Replaces the customer's holdings (the bank's position feed).
#[utoipa::path(put, path = "/v1/customers/{id}/holdings", tag = "customers", security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM)),
    request_body = Holdings,
    responses((status = 200, body = Holdings), (status = 400, body = Problem), (status = 413, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn put_holdings(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Holdings>, AppError> {
    caller.reach_customer(&id, REGISTRARS)?;
    let id = customer_id(&id)?;
    let body = body_bytes(body)?;
    let request: Holdings = json_body(&body)?;
    let holdings = customers::parse_holdings(&id, request.holdings)?;
    customers::replace_holdings(&state.ctx, &id, &holdings, &caller.actor(), Utc::now()).await?;
    Ok(Json(Holdings {
        holdings: holdings.iter().map(HoldingRecord::from_domain).collect(),
    }))
}

/// The customer's current holdings.
#[utoipa::path(get, path = "/v1/customers/{id}/holdings", tag = "customers", security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM)),
    responses((status = 200, body = Holdings), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn holdings(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Holdings>, AppError> {
    caller.reach_customer(&id, READERS)?;
    let id = customer_id(&id)?;
    super::require_client(&state, &caller, &id).await?;
    let store = &state.ctx.store;
    store.customer(&id).await?.ok_or(AppError::NotFound)?;
    let holdings = store.holdings(&id).await?;
    Ok(Json(Holdings {
        holdings: holdings.iter().map(HoldingRecord::from_domain).collect(),
    }))
}
