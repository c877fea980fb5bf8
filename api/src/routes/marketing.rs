//! Marketing: the versioned catalogue, segments and lookalike audiences with previews,
//! campaigns (create, launch under an Idempotency-Key, pause, resume, stop, the contact list,
//! delivery events, the uplift report) and a customer's offers. The use cases are
//! `sextant_services::marketing`.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use serde::Deserialize;
use sextant_services::idempotency::missing;
use sextant_services::marketing::audiences::{
    self, AudienceList, AudienceRequest, AudienceView, Preview, PreviewRequest,
};
use sextant_services::marketing::campaigns::delivery::{
    self, CampaignEventBatch, CampaignEventsAccepted, ContactList,
};
use sextant_services::marketing::campaigns::launch::{self, LaunchSummary};
use sextant_services::marketing::campaigns::report::{self, CampaignReport};
use sextant_services::marketing::campaigns::{self, CampaignList, CampaignSpec, CampaignView};
use sextant_services::marketing::catalogue::{
    self, CatalogueView, ProductVersionRequest, ProductVersionView,
};
use sextant_services::marketing::offers::{self, OfferList};
use sextant_services::marketing::status::Move;
use sextant_store::PAGE_MAX;
use utoipa::IntoParams;

use super::{
    answer, body_bytes, customer_id, idempotency_key, json_body, keyed, query, CUSTOMER_ID_PARAM,
    IDEMPOTENCY_KEY_PARAM, OPAQUE_ID_PARAM,
};
use crate::auth::{Caller, Role};
use crate::error::{AppError, ItemProblem, Problem};
use crate::AppState;

/// Who runs marketing.
const MARKETERS: &[Role] = &[Role::Marketer, Role::Admin];
/// Who may read a customer's offers: the customer, the payment app, an admin.
const OFFER_READERS: &[Role] = &[Role::Customer, Role::Service, Role::Admin];
/// Who reports campaign deliveries and reads the contact list: the bank's channels.
const CHANNELS: &[Role] = &[Role::Service, Role::Marketer, Role::Admin];
/// Most offers one request returns.
pub const OFFERS_LIMIT_MAX: usize = 20;

// ---------------------------------------------------------------------------------------------
// Catalogue

/// The catalogue as marketing manages it: the newest version of every product, with its
/// eligibility rule, terms and whether it is offered.
#[utoipa::path(get, path = "/v1/catalogue", tag = "marketing", security(("bearer" = [])),
    responses((status = 200, body = CatalogueView), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn catalogue(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<CatalogueView>, AppError> {
    caller.require(MARKETERS)?;
    Ok(Json(catalogue::catalogue(&state.ctx).await?))
}

/// Writes the next version of a product (or a new product at version 1). Offers use it at
/// once: suitability is checked again on every offer against the product's new level.
#[utoipa::path(put, path = "/v1/catalogue/{product_id}", tag = "marketing", security(("bearer" = [])),
    request_body = ProductVersionRequest,
    params(("product_id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = "product id: 1 to 64 ASCII letters, digits and `- _ . :`; never a card number")),
    responses((status = 201, body = ProductVersionView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem, description = "`version_conflict`: not the next version"), (status = 422, body = Problem)))]
pub async fn put_product(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    caller.require(MARKETERS)?;
    let body = body_bytes(body)?;
    let request: ProductVersionRequest = json_body(&body)?;
    let view =
        catalogue::put_version(&state.ctx, &id, &request, &caller.actor(), Utc::now()).await?;
    Ok((StatusCode::CREATED, Json::<ProductVersionView>(view)).into_response())
}

/// Every version of a product, oldest first.
#[utoipa::path(get, path = "/v1/catalogue/{product_id}/versions", tag = "marketing", security(("bearer" = [])),
    params(("product_id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = OPAQUE_ID_PARAM)),
    responses((status = 200, body = CatalogueView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn product_versions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CatalogueView>, AppError> {
    caller.require(MARKETERS)?;
    Ok(Json(catalogue::versions(&state.ctx, &id).await?))
}

// ---------------------------------------------------------------------------------------------
// Audiences

/// Saves the next version of an audience: a rule segment, or a lookalike of a seed list
/// (by `size` or `min_similarity`). A rule that does not parse is a 422 naming `rule` with
/// the line and column; a version that is not the next is a 409.
#[utoipa::path(put, path = "/v1/audiences/{audience_id}", tag = "marketing", security(("bearer" = [])),
    request_body = AudienceRequest,
    params(("audience_id" = String, Path, pattern = "^[a-z0-9_-]{1,64}$", description = "audience id: 1 to 64 of a-z, 0-9, - and _")),
    responses((status = 201, body = AudienceView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_audience_version(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    caller.require(MARKETERS)?;
    let id = audiences::audience_id(&id)?;
    let body = body_bytes(body)?;
    let request: AudienceRequest = json_body(&body)?;
    let view = audiences::put_version(&state.ctx, id, &request, &caller.actor()).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

/// Every audience at its newest version.
#[utoipa::path(get, path = "/v1/audiences", tag = "marketing", security(("bearer" = [])),
    responses((status = 200, body = AudienceList), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn audiences(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<AudienceList>, AppError> {
    caller.require(MARKETERS)?;
    let audiences = state.ctx.store.audiences(None).await?;
    Ok(Json(AudienceList {
        audiences: audiences.iter().map(AudienceView::from).collect(),
    }))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AudienceQuery {
    /// A version; the newest when absent.
    pub version: Option<u32>,
}

/// An audience at a version (the newest by default).
#[utoipa::path(get, path = "/v1/audiences/{audience_id}", tag = "marketing", security(("bearer" = [])),
    params(("audience_id" = String, Path, pattern = "^[a-z0-9_-]{1,64}$", description = "audience id: 1 to 64 of a-z, 0-9, - and _ (any other value is not found)"), AudienceQuery),
    responses((status = 200, body = AudienceView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn audience(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: Result<Query<AudienceQuery>, QueryRejection>,
) -> Result<Json<AudienceView>, AppError> {
    caller.require(MARKETERS)?;
    let q = query(q)?;
    let audience = state
        .ctx
        .store
        .audience(&id, q.version)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(AudienceView::from(&audience)))
}

/// How many customers a stored audience selects now, how many each channel may reach, and
/// a sample.
#[utoipa::path(get, path = "/v1/audiences/{audience_id}/preview", tag = "marketing", security(("bearer" = [])),
    params(("audience_id" = String, Path, pattern = "^[a-z0-9_-]{1,64}$", description = "audience id: 1 to 64 of a-z, 0-9, - and _ (any other value is not found)"), AudienceQuery),
    responses((status = 200, body = Preview), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn preview_stored(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: Result<Query<AudienceQuery>, QueryRejection>,
) -> Result<Json<Preview>, AppError> {
    caller.require(MARKETERS)?;
    let q = query(q)?;
    Ok(Json(
        audiences::preview_stored(&state.ctx, &id, q.version).await?,
    ))
}

/// Tries an audience definition before saving it: size, reach and a sample.
#[utoipa::path(post, path = "/v1/audiences/preview", tag = "marketing", security(("bearer" = [])),
    request_body = PreviewRequest,
    responses((status = 200, body = Preview), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn preview(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<Preview>, AppError> {
    caller.require(MARKETERS)?;
    let body = body_bytes(body)?;
    let request: PreviewRequest = json_body(&body)?;
    let definition = request.definition()?;
    let ctx = &state.ctx;
    Ok(Json(audiences::preview(ctx, &definition).await?))
}

// ---------------------------------------------------------------------------------------------
// Campaigns

/// Creates a campaign in `draft`: the audience (pinned to its current version), the
/// product, channel, schedule, send cap or budget, frequency cap and holdout share.
#[utoipa::path(post, path = "/v1/campaigns", tag = "marketing", security(("bearer" = [])),
    request_body = CampaignSpec,
    responses((status = 201, body = CampaignView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn create_campaign(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    caller.require(MARKETERS)?;
    let body = body_bytes(body)?;
    let spec: CampaignSpec = json_body(&body)?;
    let view = campaigns::create(&state.ctx, spec, &caller.actor(), Utc::now()).await?;
    Ok((StatusCode::CREATED, Json(view)).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CampaignsQuery {
    /// Only campaigns in this status.
    pub status: Option<String>,
    /// At most this many, newest first (1..=500, default 100).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
}

/// Campaigns, newest first.
#[utoipa::path(get, path = "/v1/campaigns", tag = "marketing", security(("bearer" = [])),
    params(CampaignsQuery),
    responses((status = 200, body = CampaignList), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub async fn campaigns(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<CampaignsQuery>, QueryRejection>,
) -> Result<Json<CampaignList>, AppError> {
    caller.require(MARKETERS)?;
    let q = query(q)?;
    let limit = q.limit.unwrap_or(100);
    if !(1..=PAGE_MAX).contains(&limit) {
        return Err(AppError::Validation(vec![ItemProblem::field(
            "limit",
            "out_of_range",
            format!("limit must lie in 1..={PAGE_MAX}"),
        )]));
    }
    let list = campaigns::list(&state.ctx, q.status.as_deref(), limit, Utc::now()).await?;
    Ok(Json(list))
}

/// One campaign with its launch summary.
#[utoipa::path(get, path = "/v1/campaigns/{campaign_id}", tag = "marketing", security(("bearer" = [])),
    params(("campaign_id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = OPAQUE_ID_PARAM)),
    responses((status = 200, body = CampaignView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn campaign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, AppError> {
    caller.require(MARKETERS)?;
    Ok(Json(campaigns::get(&state.ctx, &id, Utc::now()).await?))
}

/// Launches a draft campaign: evaluates the audience now, leaves out customers without
/// consent on the channel, for whom the product is unsuitable, held or not eligible, and
/// those at the frequency cap, applies the send cap, and assigns each remaining customer to
/// treatment or holdout by a sticky hash. Needs an Idempotency-Key: a repeated launch with
/// the same key returns the first answer and changes nothing.
#[utoipa::path(post, path = "/v1/campaigns/{campaign_id}/launch", tag = "marketing", security(("bearer" = [])),
    params(("campaign_id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = OPAQUE_ID_PARAM), ("Idempotency-Key" = String, Header, pattern = "^[!-~]{1,255}$", description = IDEMPOTENCY_KEY_PARAM)),
    responses((status = 201, body = LaunchSummary), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "`campaign_not_draft`"), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn launch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    caller.require(MARKETERS)?;
    let key = idempotency_key(&headers)?.ok_or_else(|| missing("launching a campaign"))?;
    let keyed = keyed(&caller, key, launch::launch_request(&id));
    answer(launch::launch(&state.ctx, &keyed, &caller.actor(), &id).await?)
}

/// Applies a status move for a marketer.
async fn apply_move(
    state: &AppState,
    caller: &Caller,
    id: &str,
    movement: Move,
) -> Result<Json<CampaignView>, AppError> {
    caller.require(MARKETERS)?;
    let view = campaigns::apply(&state.ctx, id, movement, &caller.actor(), Utc::now()).await?;
    Ok(Json(view))
}

/// Pauses a running campaign: no contacts are listed and its product is no longer featured;
/// its holdout stays unexposed.
#[utoipa::path(post, path = "/v1/campaigns/{campaign_id}/pause", tag = "marketing", security(("bearer" = [])),
    params(("campaign_id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = OPAQUE_ID_PARAM)),
    responses((status = 200, body = CampaignView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn pause(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, AppError> {
    apply_move(&state, &caller, &id, Move::Pause).await
}

/// Resumes a paused campaign.
#[utoipa::path(post, path = "/v1/campaigns/{campaign_id}/resume", tag = "marketing", security(("bearer" = [])),
    params(("campaign_id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = OPAQUE_ID_PARAM)),
    responses((status = 200, body = CampaignView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn resume(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, AppError> {
    apply_move(&state, &caller, &id, Move::Resume).await
}

/// Stops a campaign for good (a draft can be stopped too). Its report stays readable.
#[utoipa::path(post, path = "/v1/campaigns/{campaign_id}/stop", tag = "marketing", security(("bearer" = [])),
    params(("campaign_id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = OPAQUE_ID_PARAM)),
    responses((status = 200, body = CampaignView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn stop(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, AppError> {
    apply_move(&state, &caller, &id, Move::Stop).await
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ContactsQuery {
    /// Continue after this customer id (the `next` of the previous page).
    pub after: Option<String>,
    /// Page size (1..=500, default 500).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u64>,
}

/// The customers to contact now, for the bank's channel: treatment members only, consent on
/// the channel checked again at this moment. Refused unless the campaign is running and
/// inside its schedule.
#[utoipa::path(get, path = "/v1/campaigns/{campaign_id}/contacts", tag = "marketing", security(("bearer" = [])),
    params(("campaign_id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = OPAQUE_ID_PARAM), ContactsQuery),
    responses((status = 200, body = ContactList), (status = 404, body = Problem), (status = 409, body = Problem, description = "`campaign_not_running`")))]
pub async fn contacts(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: Result<Query<ContactsQuery>, QueryRejection>,
) -> Result<Json<ContactList>, AppError> {
    caller.require(CHANNELS)?;
    let q = query(q)?;
    if q.limit.is_some_and(|l| !(1..=PAGE_MAX).contains(&l)) {
        return Err(AppError::Validation(vec![ItemProblem::field(
            "limit",
            "out_of_range",
            format!("limit must lie in 1..={PAGE_MAX}"),
        )]));
    }
    let list = delivery::contacts(&state.ctx, &id, q.after.as_deref(), q.limit, Utc::now()).await?;
    Ok(Json(list))
}

/// Delivery and outcome events of a campaign, all or nothing.
#[utoipa::path(post, path = "/v1/campaigns/{campaign_id}/events", tag = "marketing", security(("bearer" = [])),
    request_body = CampaignEventBatch,
    params(("campaign_id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = OPAQUE_ID_PARAM)),
    responses((status = 200, body = CampaignEventsAccepted), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn campaign_events(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CampaignEventsAccepted>, AppError> {
    caller.require(CHANNELS)?;
    let body = body_bytes(body)?;
    let batch: CampaignEventBatch = json_body(&body)?;
    Ok(Json(
        delivery::record_events(&state.ctx, &id, &batch, &caller.actor()).await?,
    ))
}

/// Reach and conversion per arm, the absolute uplift with its 95% interval (Newcombe's
/// hybrid score), and the Qini curve over the members ordered by their launch score.
#[utoipa::path(get, path = "/v1/campaigns/{campaign_id}/report", tag = "marketing", security(("bearer" = [])),
    params(("campaign_id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = OPAQUE_ID_PARAM)),
    responses((status = 200, body = CampaignReport), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CampaignReport>, AppError> {
    caller.require(MARKETERS)?;
    Ok(Json(report::report(&state.ctx, &id).await?))
}

// ---------------------------------------------------------------------------------------------
// Offers

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OffersQuery {
    /// 1..=20, default 5.
    #[param(minimum = 1, maximum = 20)]
    pub limit: Option<usize>,
}

/// The customer's offers: candidates from what similar customers hold, the offer model and
/// segment popularity, after filters that are never bypassed (suitability, in-app consent,
/// eligibility including credit, products held, frequency caps, campaign holdouts). Each
/// offer says why.
#[utoipa::path(get, path = "/v1/customers/{id}/offers", tag = "marketing", security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM), OffersQuery),
    responses((status = 200, body = OfferList), (status = 401, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem, description = "`offer_model_unavailable`")))]
pub async fn offers(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: Result<Query<OffersQuery>, QueryRejection>,
) -> Result<Json<OfferList>, AppError> {
    caller.reach_customer(&id, OFFER_READERS)?;
    let id = customer_id(&id)?;
    let q = query(q)?;
    let limit = q.limit.unwrap_or(5);
    if !(1..=OFFERS_LIMIT_MAX).contains(&limit) {
        return Err(sextant_services::ServiceError::invalid(
            "limit",
            "out_of_range",
            format!("1 to {OFFERS_LIMIT_MAX}"),
        )
        .into());
    }
    Ok(Json(offers::offers_for(&state.ctx, &id, limit).await?))
}
