//! Health, metrics, the OpenAPI document and its offline docs page.

use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use sextant_services::readiness::{self, StatusView};

use crate::auth::Caller;
use crate::error::AppError;
use crate::AppState;

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok` or `degraded`.
    pub status: &'static str,
    /// `sqlite` or `postgres`.
    pub database: &'static str,
    pub database_reachable: bool,
    pub version: &'static str,
}

/// Liveness and storage reachability; no authentication.
#[utoipa::path(get, path = "/healthz", tag = "system", responses((status = 200, body = Health), (status = 503, body = Health)))]
pub async fn healthz(State(state): State<AppState>) -> impl IntoResponse {
    let store = &state.ctx.store;
    let reachable = store.ping().await.is_ok();
    let health = Health {
        status: if reachable { "ok" } else { "degraded" },
        database: store.backend_name(),
        database_reachable: reachable,
        version: env!("CARGO_PKG_VERSION"),
    };
    let status = if reachable {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    (status, Json(health))
}

/// Which models are ready and what the server is still preparing (the demo's import,
/// profiling and training run in the background while it serves), with percentages. Any
/// authenticated caller.
#[utoipa::path(get, path = "/v1/status", tag = "system", security(("bearer" = [])),
    responses((status = 200, body = StatusView), (status = 401, body = crate::error::Problem),
        (status = 503, body = crate::error::Problem)))]
pub async fn status(
    State(state): State<AppState>,
    _caller: Caller,
) -> Result<Json<StatusView>, AppError> {
    Ok(Json(readiness::status(&state.ctx).await?))
}

/// Prometheus metrics in the text exposition format; no authentication (scrape it from
/// inside the cluster only).
#[utoipa::path(get, path = "/metrics", tag = "system", responses((status = 200, description = "Prometheus text format", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}

pub async fn openapi(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "application/json")],
        state.openapi_json.as_ref().clone(),
    )
}

/// An interactive API reference that needs nothing from the internet: it reads
/// `/openapi.json` and sends requests from the page.
pub async fn docs() -> Html<&'static str> {
    Html(include_str!("docs.html"))
}
