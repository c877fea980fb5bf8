//! Portfolio construction for wealth managers and analysts: optimisation, the efficient
//! frontier and discrete allocation, on prices or on given expected returns and covariance.
//! The same requests drive `sextant portfolio ...`; see `sextant_services::portfolio`.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::Json;
use serde::de::DeserializeOwned;
use sextant_advisor::deadline;
use sextant_services::portfolio::{
    self, AllocateOutcome, AllocateRequest, FrontierOutcome, FrontierRequest, OptimiseOutcome,
    OptimiseRequest,
};

use super::{body_bytes, json_body};
use crate::auth::{Caller, Role};
use crate::error::{AppError, Problem};
use crate::AppState;

const ANALYSTS: &[Role] = &[Role::WealthManager, Role::Service, Role::Admin];

/// Parses the body and runs `job` off the async runtime (optimisation is CPU work).
async fn run<R, T>(
    state: &AppState,
    caller: &Caller,
    body: Result<Bytes, BytesRejection>,
    job: fn(&R) -> sextant_advisor::Result<T>,
) -> Result<Json<T>, AppError>
where
    R: DeserializeOwned + Send + 'static,
    T: Send + 'static,
{
    caller.require(ANALYSTS)?;
    let body = body_bytes(body)?;
    let request: R = json_body(&body)?;
    // The job watches the request's deadline itself: a dropped handler cannot stop a
    // blocking thread.
    let budget = state.request_budget();
    let outcome = tokio::task::spawn_blocking(move || deadline::within(budget, || job(&request)))
        .await
        .map_err(|e| AppError::Internal(format!("portfolio job: {e}")))??;
    Ok(Json(outcome))
}

/// Optimises a portfolio: max Sharpe, min volatility, efficient risk or return, quadratic
/// utility, HRP, CVaR, CDaR or Black-Litterman, with bounds, group limits, L2
/// regularisation, transaction costs, a turnover cap and a cardinality limit. Infeasible
/// constraints, impossible targets and covariances that are not positive semidefinite get
/// 422 naming the constraint or field.
#[utoipa::path(post, path = "/v1/portfolio/optimise", tag = "portfolio", security(("bearer" = [])),
    request_body = OptimiseRequest,
    responses((status = 200, body = OptimiseOutcome), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn optimise(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<OptimiseOutcome>, AppError> {
    run(&state, &caller, body, portfolio::optimise).await
}

/// The efficient frontier: `points` portfolios from the least volatile to the highest
/// return, each with its weights.
#[utoipa::path(post, path = "/v1/portfolio/frontier", tag = "portfolio", security(("bearer" = [])),
    request_body = FrontierRequest,
    responses((status = 200, body = FrontierOutcome), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 413, body = Problem), (status = 422, body = Problem)))]
pub async fn frontier(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<FrontierOutcome>, AppError> {
    run(&state, &caller, body, portfolio::frontier).await
}

/// Turns target weights into whole units at the latest prices: `integer` (exact, branch and
/// bound) or `greedy`.
#[utoipa::path(post, path = "/v1/portfolio/allocate", tag = "portfolio", security(("bearer" = [])),
    request_body = AllocateRequest,
    responses((status = 200, body = AllocateOutcome), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub async fn allocate(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<AllocateOutcome>, AppError> {
    run(&state, &caller, body, portfolio::allocate).await
}
