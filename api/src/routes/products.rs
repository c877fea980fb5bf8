use axum::extract::State;
use axum::Json;
use serde::Serialize;
use sextant_services::records::ProductRecord;
use utoipa::ToSchema;

use crate::auth::{Caller, Role};
use crate::error::AppError;
use crate::AppState;

#[derive(Serialize, ToSchema)]
pub struct ProductList {
    pub products: Vec<ProductRecord>,
}

/// The product catalogue with risk levels R1..R5.
#[utoipa::path(get, path = "/v1/products", tag = "products", security(("bearer" = [])),
    responses((status = 200, body = ProductList), (status = 401, body = crate::error::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ProductList>, AppError> {
    caller.require(Role::ALL)?;
    let products = state.ctx.store.products().await?;
    Ok(Json(ProductList {
        products: products.iter().map(ProductRecord::from).collect(),
    }))
}
