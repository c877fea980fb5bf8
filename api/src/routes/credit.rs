//! Consumer credit at checkout: instalment quotes and their acceptance, loan applications,
//! and the recorded decisions. The use cases are `sextant_services::lending::decisions`:
//! every decision is stored with its inputs, model and policy versions before it is
//! answered, so `sextant credit replay ID` reproduces it.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use sextant_services::idempotency::{missing, request_hash};
use sextant_services::lending::decisions;
use sextant_services::lending::views::{
    AcceptRequest, ApplicationRequest, ApplicationView, DecisionList, DecisionRecordView,
    PlanCreated, QuoteRequest, QuoteView,
};

use super::{
    answer, body_bytes, customer_id, idempotency_key, json_body, keyed, CUSTOMER_ID_PARAM,
    IDEMPOTENCY_KEY_PARAM, OPAQUE_ID_PARAM,
};
use crate::auth::{Caller, Role};
use crate::error::{AppError, Problem};
use crate::AppState;

/// Who may ask for credit on a customer's behalf: the customer, the payment app, an admin.
const CREDIT_CALLERS: &[Role] = &[Role::Customer, Role::Service, Role::Admin];

/// Instalment plans for a purchase at checkout, or a decline with its reasons.
#[utoipa::path(post, path = "/v1/instalments/quote", tag = "credit", security(("bearer" = [])),
    request_body = QuoteRequest,
    responses((status = 201, body = QuoteView), (status = 400, body = Problem),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "exchange_rate_missing: an amount of the customer's history, or the policy, cannot be put in their base currency"),
        (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn quote(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<QuoteView>), AppError> {
    caller.require(CREDIT_CALLERS)?;
    let body = body_bytes(body)?;
    let request: QuoteRequest = json_body(&body)?;
    caller.reach_customer(&request.customer_id, CREDIT_CALLERS)?;
    let view = decisions::quote(&state.ctx, &caller.actor(), &request).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Accepts one plan of an approved quote, once. Requires an Idempotency-Key: a retry with
/// the same key and body gets the same answer; the quote never becomes two plans.
#[utoipa::path(post, path = "/v1/instalments/quotes/{quote_id}/accept", tag = "credit",
    security(("bearer" = [])), request_body = AcceptRequest,
    params(("quote_id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = OPAQUE_ID_PARAM),
        ("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,255}$", description = IDEMPOTENCY_KEY_PARAM)),
    responses((status = 201, body = PlanCreated), (status = 404, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn accept(
    State(state): State<AppState>,
    caller: Caller,
    Path(quote_id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    caller.require(CREDIT_CALLERS)?;
    let key = idempotency_key(&headers)?.ok_or_else(|| missing("accepting a quote"))?;
    let body = body_bytes(body)?;
    let request: AcceptRequest = json_body(&body)?;
    let keyed = keyed(
        &caller,
        key,
        request_hash(&format!("accept {quote_id}"), &body),
    );
    let may_see = |id: &sextant_domain::CustomerId| caller.may_reach(id.as_str());
    answer(
        decisions::accept(
            &state.ctx,
            &keyed,
            &caller.actor(),
            &quote_id,
            &request,
            may_see,
        )
        .await?,
    )
}

/// A consumer-loan application: an offer with its exact schedule, or a decline with reasons.
/// An Idempotency-Key is optional; with one, a retry gets the first answer.
#[utoipa::path(post, path = "/v1/credit/applications", tag = "credit", security(("bearer" = [])),
    request_body = ApplicationRequest,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = IDEMPOTENCY_KEY_PARAM)),
    responses((status = 201, body = ApplicationView), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "exchange_rate_missing: an amount of the customer's history, or the policy, cannot be put in their base currency"),
        (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn apply(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    caller.require(CREDIT_CALLERS)?;
    let key = idempotency_key(&headers)?;
    let body = body_bytes(body)?;
    let request: ApplicationRequest = json_body(&body)?;
    caller.reach_customer(&request.customer_id, CREDIT_CALLERS)?;
    let keyed = key.map(|key| keyed(&caller, key, request_hash("apply", &body)));
    answer(decisions::apply(&state.ctx, keyed.as_ref(), &caller.actor(), &request).await?)
}

/// A recorded quote or application: every rule, the reasons, the plans, the versions.
#[utoipa::path(get, path = "/v1/credit/decisions/{decision_id}", tag = "credit",
    security(("bearer" = [])), params(("decision_id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = OPAQUE_ID_PARAM)),
    responses((status = 200, body = DecisionRecordView), (status = 404, body = Problem)))]
pub async fn decision(
    State(state): State<AppState>,
    caller: Caller,
    Path(decision_id): Path<String>,
) -> Result<Json<DecisionRecordView>, AppError> {
    caller.require(CREDIT_CALLERS)?;
    let may_see = |id: &sextant_domain::CustomerId| caller.may_reach(id.as_str());
    Ok(Json(
        decisions::decision(&state.ctx, &decision_id, may_see).await?,
    ))
}

/// A customer's credit decisions, newest first (at most 100).
#[utoipa::path(get, path = "/v1/customers/{id}/credit/decisions", tag = "credit",
    security(("bearer" = [])), params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM)),
    responses((status = 200, body = DecisionList), (status = 404, body = Problem)))]
pub async fn decisions_of(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<DecisionList>, AppError> {
    caller.reach_customer(&raw, CREDIT_CALLERS)?;
    let id = customer_id(&raw)?;
    Ok(Json(DecisionList {
        decisions: decisions::decisions_of(&state.ctx, &id).await?,
    }))
}
