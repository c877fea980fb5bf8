//! Robo-advice and portfolio review: model portfolios, a customer's proposal and goal plan,
//! wealth managers' reviews and rebalancing proposals with their approval. The use cases are
//! `sextant_services::advice`; every piece of advice given is recorded there.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use chrono::Utc;
use sextant_domain::CustomerId;
use sextant_services::advice::views::{
    ClientList, DecisionBody, GoalBody, GoalView, ModelPortfolios, PortfolioProposal,
    RebalanceBody, RebalanceList, RebalanceView, ReviewView,
};
use sextant_services::advice::{proposals, review as reviews};

use super::{body_bytes, customer_id, json_body, CUSTOMER_ID_PARAM};
use crate::auth::{Caller, Role};
use crate::error::{AppError, Problem};
use crate::AppState;

/// The description of a wealth manager's subject in a path. The schema counts characters,
/// so its `maxLength` is looser than the limit in bytes for text beyond ASCII.
const MANAGER_PARAM: &str =
    "the wealth manager's subject: 1 to 128 bytes of UTF-8, no control characters";

/// Who may see a customer's advice; a wealth manager only for their own clients.
const ADVICE_READERS: &[Role] = &[
    Role::Customer,
    Role::Service,
    Role::WealthManager,
    Role::Admin,
];

/// The customer id, once the caller may see this customer's advice. A wealth manager who
/// does not manage the customer gets 404, as a customer asking about another does.
async fn reach(state: &AppState, caller: &Caller, raw: &str) -> Result<CustomerId, AppError> {
    caller.reach_customer(raw, ADVICE_READERS)?;
    let id = customer_id(raw)?;
    super::require_client(state, caller, &id).await?;
    state
        .ctx
        .store
        .customer(&id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(id)
}

/// The model portfolio of each risk level C1..C5: the efficient portfolio at the level's
/// target volatility over the products the level allows.
#[utoipa::path(get, path = "/v1/model-portfolios", tag = "advice", security(("bearer" = [])),
    responses((status = 200, body = ModelPortfolios), (status = 401, body = Problem)))]
pub async fn model_portfolios(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ModelPortfolios>, AppError> {
    caller.require(Role::ALL)?;
    Ok(Json(proposals::model_portfolios(&state.ctx).await?))
}

/// The customer's proposed portfolio: the model portfolio of their current risk level,
/// never holding a product above it. Recorded as advice.
#[utoipa::path(get, path = "/v1/customers/{id}/advice/portfolio", tag = "advice", security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM)),
    responses((status = 200, body = PortfolioProposal), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 503, body = Problem)))]
pub async fn portfolio(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<PortfolioProposal>, AppError> {
    let id = reach(&state, &caller, &id).await?;
    Ok(Json(
        proposals::portfolio(&state.ctx, &id, &caller.actor()).await?,
    ))
}

/// A proposal for a savings goal: the portfolio of the customer's level, a glide path that
/// de-risks as the date nears, and a Monte Carlo probability of reaching the target.
#[utoipa::path(post, path = "/v1/customers/{id}/advice/goal", tag = "advice", security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM)), request_body = GoalBody,
    responses((status = 200, body = GoalView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn goal(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<GoalView>, AppError> {
    let id = reach(&state, &caller, &id).await?;
    let body = body_bytes(body)?;
    let request: GoalBody = json_body(&body)?;
    Ok(Json(
        proposals::goal(&state.ctx, &id, request, &caller.actor()).await?,
    ))
}

/// A review of what the customer holds: risk measures, drift from the target model
/// portfolio of their level, and alerts (drift beyond band, drawdown, suitability).
#[utoipa::path(get, path = "/v1/customers/{id}/review", tag = "advice", security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM)),
    responses((status = 200, body = ReviewView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn review(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ReviewView>, AppError> {
    let id = reach(&state, &caller, &id).await?;
    Ok(Json(reviews::review(&state.ctx, &id).await?))
}

/// Proposes a rebalance back to the target model portfolio (threshold bands, minimum trade
/// size, costs, new cash). Recorded as pending until a wealth manager approves or rejects it.
#[utoipa::path(post, path = "/v1/customers/{id}/rebalance-proposals", tag = "advice", security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM)), request_body = RebalanceBody,
    responses((status = 201, body = RebalanceView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn propose_rebalance(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<RebalanceView>), AppError> {
    caller.reach_customer(&id, &[Role::WealthManager, Role::Admin])?;
    let id = reach(&state, &caller, &id).await?;
    let body = body_bytes(body)?;
    let request: RebalanceBody = if body.is_empty() {
        RebalanceBody::default()
    } else {
        json_body(&body)?
    };
    let view = reviews::propose_rebalance(&state.ctx, &id, request, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The customer's rebalancing proposals and the decisions on them.
#[utoipa::path(get, path = "/v1/customers/{id}/rebalance-proposals", tag = "advice", security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM)),
    responses((status = 200, body = RebalanceList), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn rebalance_proposals(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RebalanceList>, AppError> {
    let id = reach(&state, &caller, &id).await?;
    Ok(Json(RebalanceList {
        proposals: reviews::rebalance_proposals(&state.ctx, &id).await?,
    }))
}

/// A wealth manager approves or rejects a rebalancing proposal of one of their clients.
/// A proposal is decided once: a second decision gets 409 and the first stands.
#[utoipa::path(post, path = "/v1/rebalance-proposals/{advice_id}/decision", tag = "advice", security(("bearer" = [])),
    params(("advice_id" = i64, Path, minimum = 1, description = "the proposal's advice id")), request_body = DecisionBody,
    responses((status = 200, body = RebalanceView), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    Path(advice_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<RebalanceView>, AppError> {
    caller.require(&[Role::WealthManager, Role::Admin])?;
    // Not a number a proposal can have: no such proposal.
    let advice_id: i64 = advice_id
        .parse()
        .ok()
        .filter(|id| *id >= 1)
        .ok_or(AppError::NotFound)?;
    let body = body_bytes(body)?;
    let request: DecisionBody = json_body(&body)?;
    let decision = request.check()?;
    let customer = reviews::proposal_customer(&state.ctx, advice_id).await?;
    reach(&state, &caller, customer.as_str()).await?;
    let view =
        reviews::decide(&state.ctx, advice_id, decision, &caller.actor(), Utc::now()).await?;
    Ok(Json(view))
}

/// The calling wealth manager's clients, each with the alerts of their review.
#[utoipa::path(get, path = "/v1/wealth-managers/me/clients", tag = "advice", security(("bearer" = [])),
    responses((status = 200, body = ClientList), (status = 401, body = Problem), (status = 403, body = Problem), (status = 503, body = Problem)))]
pub async fn my_clients(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ClientList>, AppError> {
    caller.require(&[Role::WealthManager])?;
    Ok(Json(ClientList {
        clients: reviews::clients(&state.ctx, &caller.sub).await?,
    }))
}

/// Assigns a customer to a wealth manager (admin). Idempotent.
#[utoipa::path(put, path = "/v1/wealth-managers/{manager}/clients/{id}", tag = "advice", security(("bearer" = [])),
    params(("manager" = String, Path, min_length = 1, max_length = 128, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", description = MANAGER_PARAM), ("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 503, body = Problem)))]
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path((manager, id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    caller.reach_customer(&id, &[Role::Admin])?;
    let id = customer_id(&id)?;
    reviews::assign(&state.ctx, &manager, &id, &caller.actor(), Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Ends a customer's assignment to a wealth manager (admin).
#[utoipa::path(delete, path = "/v1/wealth-managers/{manager}/clients/{id}", tag = "advice", security(("bearer" = [])),
    params(("manager" = String, Path, min_length = 1, max_length = 128, pattern = "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", description = MANAGER_PARAM), ("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM)),
    responses((status = 204), (status = 401, body = Problem), (status = 403, body = Problem), (status = 503, body = Problem)))]
pub async fn unassign(
    State(state): State<AppState>,
    caller: Caller,
    Path((manager, id)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    caller.reach_customer(&id, &[Role::Admin])?;
    let id = customer_id(&id)?;
    reviews::unassign(&state.ctx, &manager, &id, &caller.actor(), Utc::now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
