//! Marketing: the versioned catalogue, segments and lookalike audiences with previews,
//! campaigns (create, launch under an Idempotency-Key, pause, resume, stop, the contact list,
//! delivery events, the uplift report) and a customer's offers.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sextant_domain::{CustomerId, MarketingChannel, Product, ProductId, ProductKind, RiskLevel};
use utoipa::{IntoParams, ToSchema};

use super::credit::{idempotency_key, invalid, new_id};
use super::{body_bytes, customer_id, json_body, query};
use crate::audience::{self, parse_rule, Definition, LookalikeSpec, Preview};
use crate::auth::{Caller, Role};
use crate::campaigns::{self, CampaignReport, CampaignSpec, LaunchSummary};
use crate::error::{AppError, ItemProblem, Problem};
use crate::offers::{self, OfferList};
use crate::store::{CampaignEvent, ProductVersion, StoredAudience, StoredCampaign, PAGE_MAX};
use crate::wire::format_timestamp;
use crate::AppState;

/// Who runs marketing.
const MARKETERS: &[Role] = &[Role::Marketer, Role::Admin];
/// Who may read a customer's offers: the customer, the payment app, an admin.
const OFFER_READERS: &[Role] = &[Role::Customer, Role::Service, Role::Admin];
/// Who reports campaign deliveries and reads the contact list: the bank's channels.
const CHANNELS: &[Role] = &[Role::Service, Role::Marketer, Role::Admin];
/// Most offers one request returns.
const OFFERS_LIMIT_MAX: usize = 20;
/// Most delivery events per request.
const CAMPAIGN_EVENTS_MAX: usize = 1_000;
/// Longest rule, name or terms text.
const TEXT_MAX: usize = 4_096;

// ---------------------------------------------------------------------------------------------
// Catalogue

#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductVersionRequest {
    /// The version this write creates: the current version + 1 (1 for a new product; a
    /// built-in product never edited is at version 0). Another number is a 409.
    pub version: u32,
    /// deposit, fund, insurance, credit_card, consumer_loan, instalment_plan
    pub kind: String,
    pub name: String,
    /// R1..R5
    pub risk_level: String,
    pub currency: String,
    pub min_amount_minor: i64,
    #[serde(default)]
    pub term_months: Option<u16>,
    #[serde(default)]
    pub rate_bps: Option<u32>,
    #[serde(default)]
    pub fee_bps: Option<u32>,
    #[serde(default)]
    pub asset_class: Option<String>,
    /// A rule in the segment language the customer must match to be offered it.
    #[serde(default)]
    pub eligibility: Option<String>,
    /// Terms shown with the offer.
    #[serde(default)]
    pub terms: Option<String>,
    /// False retires the product: never offered again, still held.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ProductVersionView {
    pub product_id: String,
    pub version: u32,
    pub kind: String,
    pub name: String,
    pub risk_level: String,
    pub currency: String,
    pub min_amount_minor: i64,
    pub term_months: Option<u16>,
    pub rate_bps: Option<u32>,
    pub fee_bps: Option<u32>,
    pub asset_class: Option<String>,
    pub eligibility: Option<String>,
    pub terms: Option<String>,
    pub active: bool,
    pub actor: String,
    pub created_at: String,
}

impl From<&ProductVersion> for ProductVersionView {
    fn from(v: &ProductVersion) -> Self {
        let p = &v.product;
        ProductVersionView {
            product_id: p.id.to_string(),
            version: v.version,
            kind: p.kind.as_str().to_owned(),
            name: p.name.clone(),
            risk_level: p.risk_level.to_string(),
            currency: p.currency.to_string(),
            min_amount_minor: p.min_amount_minor,
            term_months: p.term_months,
            rate_bps: p.rate_bps,
            fee_bps: p.fee_bps,
            asset_class: p.asset_class.clone(),
            eligibility: v.eligibility.clone(),
            terms: v.terms.clone(),
            active: v.active,
            actor: v.actor.clone(),
            created_at: format_timestamp(v.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CatalogueView {
    pub products: Vec<ProductVersionView>,
}

fn text_field(field: &str, text: &str, problems: &mut Vec<ItemProblem>) {
    if text.trim().is_empty() || text.len() > TEXT_MAX {
        problems.push(ItemProblem::field(
            field,
            "out_of_range",
            format!("1 to {TEXT_MAX} bytes"),
        ));
    }
}

/// The product the request describes, every bad field named.
fn product_from(id: &str, r: &ProductVersionRequest) -> Result<Product, AppError> {
    let mut problems = Vec::new();
    let mut field = |name: &str, e: sextant_domain::ParseError| {
        problems.push(ItemProblem::field(name, e.code, e.message))
    };
    let id = ProductId::parse(id).map_err(|e| field("id", e)).ok();
    let kind = ProductKind::parse(&r.kind)
        .map_err(|e| field("kind", e))
        .ok();
    let risk_level = RiskLevel::parse(&r.risk_level)
        .map_err(|e| field("risk_level", e))
        .ok();
    let currency = sextant_domain::Currency::parse(&r.currency)
        .map_err(|e| field("currency", e))
        .ok();
    text_field("name", &r.name, &mut problems);
    if r.min_amount_minor < 0 {
        problems.push(ItemProblem::field(
            "min_amount_minor",
            "out_of_range",
            "must not be negative",
        ));
    }
    if let Some(terms) = &r.terms {
        text_field("terms", terms, &mut problems);
    }
    if let Some(rule) = &r.eligibility {
        if let Err(AppError::Validation(mut p)) = parse_rule("eligibility", rule) {
            problems.append(&mut p);
        }
    }
    if !problems.is_empty() {
        return Err(AppError::Validation(problems));
    }
    Ok(Product {
        id: id.expect("checked"),
        kind: kind.expect("checked"),
        name: r.name.trim().to_owned(),
        risk_level: risk_level.expect("checked"),
        currency: currency.expect("checked"),
        min_amount_minor: r.min_amount_minor,
        term_months: r.term_months,
        rate_bps: r.rate_bps,
        fee_bps: r.fee_bps,
        asset_class: r.asset_class.clone(),
    })
}

/// The catalogue as marketing manages it: the newest version of every product, with its
/// eligibility rule, terms and whether it is offered.
#[utoipa::path(get, path = "/v1/catalogue", tag = "marketing", security(("bearer" = [])),
    responses((status = 200, body = CatalogueView), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn catalogue(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<CatalogueView>, AppError> {
    caller.require(MARKETERS)?;
    let versions = state.store.catalogue().await?;
    Ok(Json(CatalogueView {
        products: versions.iter().map(ProductVersionView::from).collect(),
    }))
}

/// Writes the next version of a product (or a new product at version 1). Offers use it at
/// once: suitability is checked again on every offer against the product's new level.
#[utoipa::path(put, path = "/v1/catalogue/{product_id}", tag = "marketing", security(("bearer" = [])),
    request_body = ProductVersionRequest,
    params(("product_id" = String, Path, description = "product id")),
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
    let product = product_from(&id, &request)?;
    let version = ProductVersion {
        product,
        version: request.version,
        eligibility: request.eligibility.clone(),
        terms: request.terms.clone(),
        active: request.active,
        actor: caller.sub.clone(),
        created_at: Utc::now(),
    };
    state.store.put_product_version(&version).await?;
    if let Err(e) = state.reload_offers().await {
        tracing::warn!(error = %e, "offer engine reload after a catalogue edit failed");
    }
    Ok((
        StatusCode::CREATED,
        Json(ProductVersionView::from(&version)),
    )
        .into_response())
}

/// Every version of a product, oldest first.
#[utoipa::path(get, path = "/v1/catalogue/{product_id}/versions", tag = "marketing", security(("bearer" = [])),
    params(("product_id" = String, Path, description = "product id")),
    responses((status = 200, body = CatalogueView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn product_versions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CatalogueView>, AppError> {
    caller.require(MARKETERS)?;
    let id = ProductId::parse(&id).map_err(|_| AppError::NotFound)?;
    let versions = state.store.product_versions(&id).await?;
    if versions.is_empty() {
        return Err(AppError::NotFound);
    }
    Ok(Json(CatalogueView {
        products: versions.iter().map(ProductVersionView::from).collect(),
    }))
}

// ---------------------------------------------------------------------------------------------
// Audiences

/// A rule segment (`rule`) or a lookalike (`lookalike`): exactly one of the two.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AudienceRequest {
    /// The version this write creates: 1 for a new audience, else the current version + 1.
    pub version: u32,
    pub name: String,
    /// A rule over profile fields, e.g. `age between 25 and 40 and region in ("north")`.
    #[serde(default)]
    pub rule: Option<String>,
    /// The customers most like these seeds in embedding space.
    #[serde(default)]
    pub lookalike: Option<LookalikeSpec>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AudienceView {
    pub id: String,
    pub version: u32,
    pub name: String,
    /// `rule` or `lookalike`.
    pub kind: String,
    pub definition: serde_json::Value,
    pub actor: String,
    pub created_at: String,
}

impl From<&StoredAudience> for AudienceView {
    fn from(a: &StoredAudience) -> Self {
        AudienceView {
            id: a.id.clone(),
            version: a.version,
            name: a.name.clone(),
            kind: a.kind.clone(),
            definition: a.definition.clone(),
            actor: a.actor.clone(),
            created_at: format_timestamp(a.created_at),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct AudienceList {
    pub audiences: Vec<AudienceView>,
}

/// Audience ids: 1..=64 of `a-z 0-9 - _`.
fn audience_id(raw: &str) -> Result<String, AppError> {
    let ok = (1..=64).contains(&raw.len())
        && raw
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(raw.to_owned())
    } else {
        Err(invalid(
            "id",
            "invalid_id",
            "1 to 64 characters of a-z, 0-9, - and _",
        ))
    }
}

async fn put_audience(
    state: &AppState,
    caller: &Caller,
    id: String,
    version: u32,
    name: &str,
    kind: &str,
    definition: serde_json::Value,
) -> Result<Response, AppError> {
    let mut problems = Vec::new();
    text_field("name", name, &mut problems);
    if !problems.is_empty() {
        return Err(AppError::Validation(problems));
    }
    let audience = StoredAudience {
        id,
        version,
        name: name.trim().to_owned(),
        kind: kind.to_owned(),
        definition,
        actor: caller.sub.clone(),
        created_at: Utc::now(),
    };
    state.store.put_audience(&audience).await?;
    Ok((StatusCode::CREATED, Json(AudienceView::from(&audience))).into_response())
}

/// Saves the next version of an audience: a rule segment, or a lookalike of a seed list
/// (by `size` or `min_similarity`). A rule that does not parse is a 422 naming `rule` with
/// the line and column; a version that is not the next is a 409.
#[utoipa::path(put, path = "/v1/audiences/{audience_id}", tag = "marketing", security(("bearer" = [])),
    request_body = AudienceRequest,
    params(("audience_id" = String, Path, description = "audience id: 1 to 64 of a-z, 0-9, - and _")),
    responses((status = 201, body = AudienceView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn put_audience_version(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    caller.require(MARKETERS)?;
    let id = audience_id(&id)?;
    let body = body_bytes(body)?;
    let request: AudienceRequest = json_body(&body)?;
    let (kind, definition) = match (&request.rule, &request.lookalike) {
        (Some(rule), None) => {
            let rule = parse_rule("rule", rule)?;
            ("rule", serde_json::json!({ "rule": rule.source() }))
        }
        (None, Some(spec)) => {
            spec.check("lookalike.")?;
            (
                "lookalike",
                serde_json::to_value(spec).map_err(|e| AppError::Internal(e.to_string()))?,
            )
        }
        _ => {
            return Err(invalid(
                "rule",
                "one_of",
                "give exactly one of `rule` and `lookalike`",
            ))
        }
    };
    put_audience(
        &state,
        &caller,
        id,
        request.version,
        &request.name,
        kind,
        definition,
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct AudienceQuery {
    /// A version; the newest when absent.
    pub version: Option<u32>,
}

/// Every audience at its newest version.
#[utoipa::path(get, path = "/v1/audiences", tag = "marketing", security(("bearer" = [])),
    responses((status = 200, body = AudienceList), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn audiences(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<AudienceList>, AppError> {
    caller.require(MARKETERS)?;
    let audiences = state.store.audiences(None).await?;
    Ok(Json(AudienceList {
        audiences: audiences.iter().map(AudienceView::from).collect(),
    }))
}

/// An audience at a version (the newest by default).
#[utoipa::path(get, path = "/v1/audiences/{audience_id}", tag = "marketing", security(("bearer" = [])),
    params(("audience_id" = String, Path, description = "audience id"), AudienceQuery),
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
        .store
        .audience(&id, q.version)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(AudienceView::from(&audience)))
}

/// How many customers a stored audience selects now, how many each channel may reach, and
/// a sample.
#[utoipa::path(get, path = "/v1/audiences/{audience_id}/preview", tag = "marketing", security(("bearer" = [])),
    params(("audience_id" = String, Path, description = "audience id"), AudienceQuery),
    responses((status = 200, body = Preview), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn preview_stored(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: Result<Query<AudienceQuery>, QueryRejection>,
) -> Result<Json<Preview>, AppError> {
    caller.require(MARKETERS)?;
    let q = query(q)?;
    let stored = state
        .store
        .audience(&id, q.version)
        .await?
        .ok_or(AppError::NotFound)?;
    let definition = Definition::from_stored(&stored)?;
    Ok(Json(
        audience::preview(
            state.store.as_ref(),
            state.pipeline.vectors.as_ref(),
            &definition,
        )
        .await?,
    ))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PreviewRequest {
    /// A segment rule to try; or
    #[serde(default)]
    pub rule: Option<String>,
    /// a lookalike to try.
    #[serde(default)]
    pub lookalike: Option<LookalikeSpec>,
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
    let definition = match (request.rule, request.lookalike) {
        (Some(rule), None) => Definition::Rule(parse_rule("rule", &rule)?),
        (None, Some(spec)) => {
            spec.check("lookalike.")?;
            Definition::Lookalike(spec)
        }
        _ => {
            return Err(invalid(
                "rule",
                "one_of",
                "give exactly one of `rule` and `lookalike`",
            ))
        }
    };
    Ok(Json(
        audience::preview(
            state.store.as_ref(),
            state.pipeline.vectors.as_ref(),
            &definition,
        )
        .await?,
    ))
}

// ---------------------------------------------------------------------------------------------
// Campaigns

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignView {
    pub id: String,
    pub name: String,
    /// `draft`, `running`, `paused` or `stopped`; a running campaign before its start reads
    /// `scheduled`, after its end `ended`.
    pub status: String,
    pub product_id: String,
    pub channel: String,
    pub spec: serde_json::Value,
    pub created_by: String,
    pub created_at: String,
    pub updated_at: String,
    pub launched_at: Option<String>,
    pub launch: Option<serde_json::Value>,
}

fn schedule_status(c: &StoredCampaign, now: DateTime<Utc>) -> String {
    let spec: Option<CampaignSpec> = serde_json::from_value(c.spec.clone()).ok();
    let window = spec.as_ref().and_then(|s| s.check().ok());
    match (c.status.as_str(), window) {
        ("running", Some(w)) if now < w.starts_at => "scheduled".into(),
        ("running", Some(w)) if w.ends_at.is_some_and(|e| now >= e) => "ended".into(),
        (status, _) => status.to_owned(),
    }
}

impl CampaignView {
    fn new(c: &StoredCampaign, now: DateTime<Utc>) -> Self {
        CampaignView {
            id: c.id.clone(),
            name: c.name.clone(),
            status: schedule_status(c, now),
            product_id: c.product_id.to_string(),
            channel: c.channel.clone(),
            spec: c.spec.clone(),
            created_by: c.created_by.clone(),
            created_at: format_timestamp(c.created_at),
            updated_at: format_timestamp(c.updated_at),
            launched_at: c.launched_at.map(format_timestamp),
            launch: c.launch.clone(),
        }
    }
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignList {
    pub campaigns: Vec<CampaignView>,
}

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
    let mut spec: CampaignSpec = json_body(&body)?;
    let checked = spec.check()?;
    let audience = state
        .store
        .audience(&spec.audience_id, spec.audience_version)
        .await?
        .ok_or_else(|| {
            invalid(
                "audience_id",
                "unknown_audience",
                "no audience has this id and version",
            )
        })?;
    spec.audience_version = Some(audience.version);
    let product_id =
        ProductId::parse(&spec.product_id).map_err(|e| invalid("product_id", e.code, e.message))?;
    let known = state
        .store
        .catalogue()
        .await?
        .into_iter()
        .any(|v| v.product.id == product_id);
    if !known {
        return Err(invalid(
            "product_id",
            "unknown_product",
            "no product of the catalogue has this id",
        ));
    }
    let now = Utc::now();
    let campaign = StoredCampaign {
        id: new_id("cmp"),
        name: spec.name.trim().to_owned(),
        status: "draft".into(),
        product_id,
        channel: checked.channel.as_str().to_owned(),
        spec: serde_json::to_value(&spec).map_err(|e| AppError::Internal(e.to_string()))?,
        created_by: caller.sub.clone(),
        created_at: now,
        updated_at: now,
        launched_at: None,
        launch: None,
    };
    state.store.create_campaign(&campaign).await?;
    Ok((StatusCode::CREATED, Json(CampaignView::new(&campaign, now))).into_response())
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct CampaignsQuery {
    /// Only campaigns in this status.
    pub status: Option<String>,
    /// At most this many, newest first (1..=500, default 100).
    pub limit: Option<u64>,
}

/// Campaigns, newest first.
#[utoipa::path(get, path = "/v1/campaigns", tag = "marketing", security(("bearer" = [])),
    params(CampaignsQuery),
    responses((status = 200, body = CampaignList), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn campaigns(
    State(state): State<AppState>,
    caller: Caller,
    q: Result<Query<CampaignsQuery>, QueryRejection>,
) -> Result<Json<CampaignList>, AppError> {
    caller.require(MARKETERS)?;
    let q = query(q)?;
    let limit = q.limit.unwrap_or(100).clamp(1, PAGE_MAX);
    let now = Utc::now();
    let list = state.store.campaigns(q.status.as_deref(), limit).await?;
    Ok(Json(CampaignList {
        campaigns: list.iter().map(|c| CampaignView::new(c, now)).collect(),
    }))
}

async fn stored_campaign(state: &AppState, id: &str) -> Result<StoredCampaign, AppError> {
    state.store.campaign(id).await?.ok_or(AppError::NotFound)
}

/// One campaign with its launch summary.
#[utoipa::path(get, path = "/v1/campaigns/{campaign_id}", tag = "marketing", security(("bearer" = [])),
    params(("campaign_id" = String, Path, description = "campaign id")),
    responses((status = 200, body = CampaignView), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn campaign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, AppError> {
    caller.require(MARKETERS)?;
    let campaign = stored_campaign(&state, &id).await?;
    Ok(Json(CampaignView::new(&campaign, Utc::now())))
}

/// Launches a draft campaign: evaluates the audience now, leaves out customers without
/// consent on the channel, for whom the product is unsuitable, held or not eligible, and
/// those at the frequency cap, applies the send cap, and assigns each remaining customer to
/// treatment or holdout by a sticky hash. Needs an Idempotency-Key: a repeated launch with
/// the same key returns the first answer and changes nothing.
#[utoipa::path(post, path = "/v1/campaigns/{campaign_id}/launch", tag = "marketing", security(("bearer" = [])),
    params(("campaign_id" = String, Path, description = "campaign id"), ("Idempotency-Key" = String, Header)),
    responses((status = 201, body = LaunchSummary), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "`campaign_not_draft`"), (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn launch(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    caller.require(MARKETERS)?;
    let key = idempotency_key(&headers)?.ok_or_else(|| {
        invalid(
            "Idempotency-Key",
            "missing_idempotency_key",
            "launching a campaign needs an Idempotency-Key header",
        )
    })?;
    let caller_key = format!("{}:{}", caller.role.as_str(), caller.sub);
    let (status, body) = campaigns::launch(&state, &caller_key, &caller.sub, &id, &key).await?;
    let status = StatusCode::from_u16(status).map_err(|e| AppError::Internal(e.to_string()))?;
    Ok((status, Json(body)).into_response())
}

async fn transition(
    state: &AppState,
    caller: &Caller,
    id: &str,
    from: &[&str],
    to: &str,
) -> Result<Json<CampaignView>, AppError> {
    caller.require(MARKETERS)?;
    let now = Utc::now();
    let moved = state
        .store
        .set_campaign_status(id, from, to, &caller.sub, now)
        .await?;
    let campaign = stored_campaign(state, id).await?;
    if !moved {
        return Err(AppError::Conflict(
            "invalid_transition",
            vec![ItemProblem::field(
                "status",
                "invalid_transition",
                format!(
                    "a {} campaign cannot become {to} (allowed from: {})",
                    campaign.status,
                    from.join(", ")
                ),
            )],
        ));
    }
    Ok(Json(CampaignView::new(&campaign, now)))
}

/// Pauses a running campaign: no contacts are listed and its product is no longer featured;
/// its holdout stays unexposed.
#[utoipa::path(post, path = "/v1/campaigns/{campaign_id}/pause", tag = "marketing", security(("bearer" = [])),
    params(("campaign_id" = String, Path, description = "campaign id")),
    responses((status = 200, body = CampaignView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn pause(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, AppError> {
    transition(&state, &caller, &id, &["running"], "paused").await
}

/// Resumes a paused campaign.
#[utoipa::path(post, path = "/v1/campaigns/{campaign_id}/resume", tag = "marketing", security(("bearer" = [])),
    params(("campaign_id" = String, Path, description = "campaign id")),
    responses((status = 200, body = CampaignView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn resume(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, AppError> {
    transition(&state, &caller, &id, &["paused"], "running").await
}

/// Stops a campaign for good (a draft can be stopped too). Its report stays readable.
#[utoipa::path(post, path = "/v1/campaigns/{campaign_id}/stop", tag = "marketing", security(("bearer" = [])),
    params(("campaign_id" = String, Path, description = "campaign id")),
    responses((status = 200, body = CampaignView), (status = 404, body = Problem), (status = 409, body = Problem)))]
pub async fn stop(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CampaignView>, AppError> {
    transition(
        &state,
        &caller,
        &id,
        &["draft", "running", "paused"],
        "stopped",
    )
    .await
}

#[derive(Debug, Deserialize, IntoParams)]
pub struct ContactsQuery {
    /// Continue after this customer id.
    pub after: Option<String>,
    /// 1..=500, default 500.
    pub limit: Option<u64>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct Contact {
    pub customer_id: String,
    pub score: f64,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct ContactList {
    pub campaign_id: String,
    pub channel: String,
    pub contacts: Vec<Contact>,
    /// Treatment members of this page left out because they have withdrawn consent on the
    /// channel since the launch.
    pub withdrawn: u64,
    /// Pass as `after` for the next page; absent at the end.
    pub next: Option<String>,
}

/// The customers to contact now, for the bank's channel: treatment members only, consent on
/// the channel checked again at this moment. Refused unless the campaign is running and
/// inside its schedule.
#[utoipa::path(get, path = "/v1/campaigns/{campaign_id}/contacts", tag = "marketing", security(("bearer" = [])),
    params(("campaign_id" = String, Path, description = "campaign id"), ContactsQuery),
    responses((status = 200, body = ContactList), (status = 404, body = Problem), (status = 409, body = Problem, description = "`campaign_not_running`")))]
pub async fn contacts(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    q: Result<Query<ContactsQuery>, QueryRejection>,
) -> Result<Json<ContactList>, AppError> {
    caller.require(CHANNELS)?;
    let q = query(q)?;
    let campaign = stored_campaign(&state, &id).await?;
    let status = schedule_status(&campaign, Utc::now());
    if status != "running" {
        return Err(AppError::Conflict(
            "campaign_not_running",
            vec![ItemProblem::field(
                "status",
                "campaign_not_running",
                format!("the campaign is {status}; contacts are listed only while it runs"),
            )],
        ));
    }
    let channel = MarketingChannel::parse(&campaign.channel)
        .map_err(|e| AppError::Internal(format!("stored channel: {}", e.message)))?;
    let limit = q.limit.unwrap_or(PAGE_MAX).clamp(1, PAGE_MAX);
    let page = state
        .store
        .campaign_members(&id, Some("treatment"), q.after.as_deref(), limit)
        .await?;
    let next = (page.len() as u64 == limit)
        .then(|| page.last().map(|m| m.customer_id.to_string()))
        .flatten();
    let mut contacts = Vec::with_capacity(page.len());
    let mut withdrawn = 0;
    for m in page {
        let consented = state
            .store
            .customer(&m.customer_id)
            .await?
            .is_some_and(|c| c.customer.consents.marketing.allows(channel));
        if consented {
            contacts.push(Contact {
                customer_id: m.customer_id.to_string(),
                score: m.score,
            });
        } else {
            withdrawn += 1;
        }
    }
    Ok(Json(ContactList {
        campaign_id: id,
        channel: campaign.channel,
        contacts,
        withdrawn,
        next,
    }))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignEventRecord {
    /// Unique per campaign: a re-sent event is a duplicate, a reused id a 409.
    pub event_id: String,
    pub customer_id: String,
    /// `sent`, `delivered`, `opened`, `clicked`, `converted`, `bounced` or `failed`.
    /// Conversions are reported for holdout members too: that is what the uplift measures.
    pub kind: String,
    pub occurred_at: String,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CampaignEventBatch {
    pub events: Vec<CampaignEventRecord>,
}

#[derive(Debug, Serialize, ToSchema)]
pub struct CampaignEventsAccepted {
    pub stored: usize,
    pub duplicates: usize,
}

const CAMPAIGN_EVENT_KINDS: &[&str] = &[
    "sent",
    "delivered",
    "opened",
    "clicked",
    "converted",
    "bounced",
    "failed",
];

/// Delivery and outcome events of a campaign, all or nothing.
#[utoipa::path(post, path = "/v1/campaigns/{campaign_id}/events", tag = "marketing", security(("bearer" = [])),
    request_body = CampaignEventBatch,
    params(("campaign_id" = String, Path, description = "campaign id")),
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
    let campaign = stored_campaign(&state, &id).await?;
    if campaign.status == "draft" {
        return Err(AppError::Conflict(
            "campaign_not_launched",
            vec![ItemProblem::field(
                "id",
                "campaign_not_launched",
                "a draft campaign has no members yet",
            )],
        ));
    }
    if batch.events.is_empty() || batch.events.len() > CAMPAIGN_EVENTS_MAX {
        return Err(invalid(
            "events",
            "out_of_range",
            format!("1 to {CAMPAIGN_EVENTS_MAX} events per request"),
        ));
    }
    let mut problems = Vec::new();
    let mut events = Vec::with_capacity(batch.events.len());
    for (i, e) in batch.events.iter().enumerate() {
        let at = |field: &str, code: &str, message: String| ItemProblem {
            index: Some(i),
            ..ItemProblem::field(field, code, message)
        };
        let event_id = sextant_domain::EventId::parse(&e.event_id)
            .map_err(|err| problems.push(at("event_id", err.code, err.message)))
            .ok();
        let customer = CustomerId::parse(&e.customer_id)
            .map_err(|err| problems.push(at("customer_id", err.code, err.message)))
            .ok();
        if !CAMPAIGN_EVENT_KINDS.contains(&e.kind.as_str()) {
            problems.push(at(
                "kind",
                "invalid_kind",
                format!("one of {}", CAMPAIGN_EVENT_KINDS.join(", ")),
            ));
        }
        let occurred_at = DateTime::parse_from_rfc3339(&e.occurred_at)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|_| {
                problems.push(at(
                    "occurred_at",
                    "invalid_timestamp",
                    "expected an RFC 3339 timestamp".into(),
                ))
            })
            .ok();
        if let (Some(event_id), Some(customer_id), Some(occurred_at)) =
            (event_id, customer, occurred_at)
        {
            events.push(CampaignEvent {
                event_id: event_id.to_string(),
                customer_id,
                kind: e.kind.clone(),
                occurred_at,
            });
        }
    }
    if !problems.is_empty() {
        return Err(AppError::Validation(problems));
    }
    let outcome = state.store.record_campaign_events(&id, &events).await?;
    Ok(Json(CampaignEventsAccepted {
        stored: outcome.stored,
        duplicates: outcome.duplicates.len(),
    }))
}

/// Reach and conversion per arm, the absolute uplift with its 95% interval (Newcombe's
/// hybrid score), and the Qini curve over the members ordered by their launch score.
#[utoipa::path(get, path = "/v1/campaigns/{campaign_id}/report", tag = "marketing", security(("bearer" = [])),
    params(("campaign_id" = String, Path, description = "campaign id")),
    responses((status = 200, body = CampaignReport), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn report(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CampaignReport>, AppError> {
    caller.require(MARKETERS)?;
    let campaign = stored_campaign(&state, &id).await?;
    Ok(Json(campaigns::report(&state, &campaign).await?))
}

// ---------------------------------------------------------------------------------------------
// Offers

#[derive(Debug, Deserialize, IntoParams)]
pub struct OffersQuery {
    /// 1..=20, default 5.
    pub limit: Option<usize>,
}

/// The customer's offers: candidates from what similar customers hold, the offer model and
/// segment popularity, after filters that are never bypassed (suitability, in-app consent,
/// eligibility including credit, products held, frequency caps, campaign holdouts). Each
/// offer says why.
#[utoipa::path(get, path = "/v1/customers/{id}/offers", tag = "marketing", security(("bearer" = [])),
    params(("id" = String, Path, description = "customer id"), OffersQuery),
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
        return Err(invalid(
            "limit",
            "out_of_range",
            format!("1 to {OFFERS_LIMIT_MAX}"),
        ));
    }
    Ok(Json(offers::offers_for(&state, &id, limit).await?))
}
