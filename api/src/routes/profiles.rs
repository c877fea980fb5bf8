//! Profiles, the risk questionnaire, similar customers and segments.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use chrono::Utc;
use serde::{Deserialize, Serialize};
use sextant_domain::{AmountSource, ConvertError, Unconverted};
use sextant_profiling::risk;
use sextant_services::profiles::{self, CurrentProfile};
use sextant_services::records::format_timestamp;
use sextant_services::segments::EmbeddingMap;
use sextant_store::{StoredAssessment, StoredSegment};
use utoipa::{IntoParams, ToSchema};

use super::{body_bytes, customer_id, json_body, query, CUSTOMER_ID_PARAM};
use crate::auth::{Caller, Role};
use crate::error::{AppError, Problem};
use crate::AppState;

const READERS: &[Role] = &[
    Role::Customer,
    Role::Service,
    Role::WealthManager,
    Role::Admin,
];
const ANSWERERS: &[Role] = &[
    Role::Customer,
    Role::Service,
    Role::WealthManager,
    Role::Admin,
];
const STAFF: &[Role] = &[Role::Marketer, Role::WealthManager, Role::Admin];

#[derive(Serialize, ToSchema)]
pub struct FeatureSpecView {
    pub name: &'static str,
    pub unit: &'static str,
    /// Length of the window the feature is computed over; null for point-in-time features.
    pub window_days: Option<u32>,
    pub meaning: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct FeatureCatalogue {
    pub feature_version: u32,
    pub features: Vec<FeatureSpecView>,
}

fn spec_view(s: &'static sextant_profiling::FeatureSpec) -> FeatureSpecView {
    FeatureSpecView {
        name: s.name,
        unit: s.unit,
        window_days: s.window_days,
        meaning: s.meaning,
    }
}

/// The feature catalogue: name, unit, window and meaning of every profile feature.
#[utoipa::path(get, path = "/v1/features", tag = "profiles", security(("bearer" = [])),
    responses((status = 200, body = FeatureCatalogue), (status = 401, body = Problem)))]
pub async fn features(caller: Caller) -> Result<Json<FeatureCatalogue>, AppError> {
    caller.require(Role::ALL)?;
    Ok(Json(FeatureCatalogue {
        feature_version: sextant_profiling::FEATURE_VERSION,
        features: sextant_profiling::catalogue()
            .iter()
            .map(spec_view)
            .collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct FeatureValue {
    pub name: &'static str,
    pub value: f64,
    pub unit: &'static str,
    pub window_days: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct SegmentView {
    pub id: u32,
    pub name: String,
    pub description: String,
    pub size: u64,
}

#[derive(Clone, Serialize, ToSchema)]
pub struct RiskView {
    /// C1..C5: willingness capped by capacity.
    pub level: String,
    pub willingness: String,
    /// `questionnaire`, or `behaviour` (provisional, until the questionnaire is answered).
    pub willingness_source: String,
    pub capacity: String,
    pub explanation: String,
    pub components: serde_json::Value,
    pub assessed_at: String,
    /// Why this assessment was recorded: `first`, `answers` or `history`.
    pub reason: String,
}

fn segment_view(s: &StoredSegment) -> SegmentView {
    SegmentView {
        id: s.id,
        name: s.name.clone(),
        description: s.description.clone(),
        size: s.size,
    }
}

fn risk_view(a: &StoredAssessment) -> RiskView {
    RiskView {
        level: format!("C{}", a.level),
        willingness: format!("C{}", a.willingness),
        willingness_source: a.willingness_source.clone(),
        capacity: format!("C{}", a.capacity),
        explanation: a.detail["explanation"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        components: a.detail["components"].clone(),
        assessed_at: format_timestamp(a.assessed_at),
        reason: a.reason.clone(),
    }
}

#[derive(Serialize, ToSchema)]
pub struct ProfileView {
    pub customer_id: String,
    pub feature_version: u32,
    /// The moment the features describe.
    pub as_of: String,
    pub computed_at: String,
    pub features: Vec<FeatureValue>,
    pub risk: Option<RiskView>,
    pub segment: Option<SegmentView>,
    /// The embedding model the customer's vector comes from, if one is trained.
    pub embedding_model: Option<String>,
    /// The customer's base currency (ISO 4217): every `minor` feature is in its minor unit,
    /// foreign amounts converted at the reference rate of their own date.
    pub currency: String,
    /// Amounts no rate could convert, left out of every sum (empty when all were converted):
    /// publish the missing rates (`PUT /v1/fx-rates/{date}`) and the next profile counts them.
    pub unconverted: Vec<UnconvertedView>,
}

/// An amount left out of the profile because it could not be put in the base currency.
#[derive(Serialize, ToSchema)]
pub struct UnconvertedView {
    /// `payment` (an event) or `holding` (a product held).
    pub source: &'static str,
    /// The payment's event id or the holding's product id.
    pub id: String,
    pub amount_minor: i64,
    pub currency: String,
    /// The day whose rate was needed (YYYY-MM-DD).
    pub date: String,
    /// `exchange_rate_missing` (no rate for `missing_currency` published on `date` or in the
    /// 7 days before) or `amount_too_large`.
    pub code: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing_currency: Option<String>,
}

fn unconverted_view(u: &Unconverted) -> UnconvertedView {
    let (source, id) = match &u.source {
        AmountSource::Payment(id) => ("payment", id.to_string()),
        AmountSource::Holding(id) => ("holding", id.to_string()),
    };
    let (code, missing_currency) = match u.error {
        ConvertError::Missing(m) => ("exchange_rate_missing", Some(m.currency.to_owned())),
        ConvertError::TooLarge => ("amount_too_large", None),
    };
    UnconvertedView {
        source,
        id,
        amount_minor: u.amount_minor,
        currency: u.currency.to_string(),
        date: u.date.to_string(),
        code,
        missing_currency,
    }
}

/// The customer's profile. It reflects every event acknowledged before the request: when
/// newer events exist it is recomputed on the spot (one customer's last 400 days).
#[utoipa::path(get, path = "/v1/customers/{id}/profile", tag = "profiles", security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM)),
    responses((status = 200, body = ProfileView), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem, description = "no profiling consent"), (status = 422, body = Problem)))]
pub async fn profile(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ProfileView>, AppError> {
    caller.reach_customer(&id, READERS)?;
    let id = customer_id(&id)?;
    super::require_client(&state, &caller, &id).await?;
    let CurrentProfile {
        currency,
        profile,
        risk,
        segment,
    } = profiles::current(&state.ctx, &id).await?;
    let features = sextant_profiling::catalogue()
        .iter()
        .zip(&profile.features)
        .map(|(spec, &value)| FeatureValue {
            name: spec.name,
            value,
            unit: spec.unit,
            window_days: spec.window_days,
        })
        .collect();
    Ok(Json(ProfileView {
        customer_id: profile.customer_id.to_string(),
        feature_version: profile.feature_version,
        as_of: format_timestamp(profile.as_of),
        computed_at: format_timestamp(profile.computed_at),
        features,
        risk: risk.as_ref().map(risk_view),
        segment: segment.as_ref().map(segment_view),
        embedding_model: profile.embedding_model,
        currency: currency.to_string(),
        unconverted: profile.unconverted.iter().map(unconverted_view).collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct OptionView {
    pub id: &'static str,
    pub text: &'static str,
}

#[derive(Serialize, ToSchema)]
pub struct QuestionView {
    pub id: &'static str,
    pub text: &'static str,
    pub options: Vec<OptionView>,
}

#[derive(Serialize, ToSchema)]
pub struct Questionnaire {
    pub questions: Vec<QuestionView>,
}

/// The risk questionnaire that measures willingness to take risk.
#[utoipa::path(get, path = "/v1/risk-questionnaire", tag = "profiles", security(("bearer" = [])),
    responses((status = 200, body = Questionnaire), (status = 401, body = Problem)))]
pub async fn questionnaire(caller: Caller) -> Result<Json<Questionnaire>, AppError> {
    caller.require(Role::ALL)?;
    Ok(Json(Questionnaire {
        questions: risk::questionnaire()
            .iter()
            .map(|q| QuestionView {
                id: q.id,
                text: q.text,
                options: q
                    .options
                    .iter()
                    .map(|(id, text, _)| OptionView { id, text })
                    .collect(),
            })
            .collect(),
    }))
}

/// Answers, one option id per question id.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswersBody {
    /// Every question of `GET /v1/risk-questionnaire`, each answered with one of its option
    /// ids, and nothing else.
    #[schema(schema_with = sextant_services::schema::risk_answers)]
    pub answers: serde_json::Map<String, serde_json::Value>,
}

#[derive(Serialize, ToSchema)]
pub struct RiskProfile {
    pub current: Option<RiskView>,
    /// Every recorded assessment, newest first.
    pub history: Vec<RiskView>,
}

/// Records the customer's answers and reassesses: the level is willingness (from the
/// answers) capped by capacity (from the payment history).
#[utoipa::path(post, path = "/v1/customers/{id}/risk-questionnaire", tag = "profiles", security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM)), request_body = AnswersBody,
    responses((status = 200, body = RiskProfile), (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
pub async fn answer(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<RiskProfile>, AppError> {
    caller.reach_customer(&id, ANSWERERS)?;
    let id = customer_id(&id)?;
    super::require_client(&state, &caller, &id).await?;
    let body = body_bytes(body)?;
    let request: AnswersBody = json_body(&body)?;
    let answers = serde_json::Value::Object(request.answers);
    let history = profiles::answer(&state.ctx, &id, &answers, &caller.actor(), Utc::now()).await?;
    Ok(Json(risk_profile_view(&history)))
}

fn risk_profile_view(assessments: &[StoredAssessment]) -> RiskProfile {
    let history: Vec<RiskView> = assessments.iter().map(risk_view).collect();
    RiskProfile {
        current: history.first().cloned(),
        history,
    }
}

/// The current risk level with its components and explanation, and its recorded history.
#[utoipa::path(get, path = "/v1/customers/{id}/risk-profile", tag = "profiles", security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM)),
    responses((status = 200, body = RiskProfile), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem), (status = 422, body = Problem)))]
pub async fn risk_profile(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RiskProfile>, AppError> {
    caller.reach_customer(&id, READERS)?;
    let id = customer_id(&id)?;
    super::require_client(&state, &caller, &id).await?;
    state
        .ctx
        .store
        .customer(&id)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Json(risk_profile_view(
        &profiles::assessments(&state.ctx, &id).await?,
    )))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SimilarQuery {
    /// 1..=100, default 10.
    #[param(minimum = 1, maximum = 100)]
    pub k: Option<usize>,
    /// Only customers of this segment.
    pub segment: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct Neighbour {
    pub customer_id: String,
    /// Cosine similarity of the embeddings.
    pub score: f32,
}

#[derive(Serialize, ToSchema)]
pub struct Similar {
    pub customer_id: String,
    pub neighbours: Vec<Neighbour>,
}

/// The customers most similar to this one in embedding space (staff only). Customers who
/// withdrew profiling consent are never returned.
#[utoipa::path(get, path = "/v1/customers/{id}/similar", tag = "profiles", security(("bearer" = [])),
    params(("id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = CUSTOMER_ID_PARAM), SimilarQuery),
    responses((status = 200, body = Similar), (status = 401, body = Problem), (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "no embedding for this customer yet"), (status = 422, body = Problem)))]
pub async fn similar(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    params: Result<Query<SimilarQuery>, QueryRejection>,
) -> Result<Json<Similar>, AppError> {
    caller.reach_customer(&id, STAFF)?;
    let id = customer_id(&id)?;
    let params = query(params)?;
    let neighbours =
        profiles::similar(&state.ctx, &id, params.k.unwrap_or(10), params.segment).await?;
    Ok(Json(Similar {
        customer_id: id.to_string(),
        neighbours: neighbours
            .into_iter()
            .map(|(customer_id, score)| Neighbour { customer_id, score })
            .collect(),
    }))
}

/// Readers of the population's shape: marketing and oversight, not a wealth manager (whose
/// view is their own book).
const ANALYSTS: &[Role] = &[Role::Marketer, Role::Compliance, Role::Admin];

/// A 2-D map of the customers' embeddings (their first two principal components, computed by
/// the service on a sample of up to 2,000 customers and kept for 10 minutes), each point with
/// its segment: the segments explorer's picture, for analysts' own tools.
#[utoipa::path(get, path = "/v1/segments/map", tag = "profiles", security(("bearer" = [])),
    responses((status = 200, body = EmbeddingMap), (status = 401, body = Problem), (status = 403, body = Problem), (status = 503, body = Problem)))]
pub async fn segment_map(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<EmbeddingMap>, AppError> {
    caller.require(ANALYSTS)?;
    let map = sextant_services::segments::current_map(&state.ctx).await?;
    Ok(Json(map.as_ref().clone()))
}

#[derive(Serialize, ToSchema)]
pub struct SegmentList {
    pub embedding_model: Option<String>,
    pub segments: Vec<SegmentView>,
}

/// The customer segments of the current embedding model, described in words.
#[utoipa::path(get, path = "/v1/segments", tag = "profiles", security(("bearer" = [])),
    responses((status = 200, body = SegmentList), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn segments(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<SegmentList>, AppError> {
    caller.require(STAFF)?;
    let segments = state.ctx.pipeline.segments();
    Ok(Json(SegmentList {
        embedding_model: segments.first().map(|s| s.embedding_model.clone()),
        segments: segments.iter().map(segment_view).collect(),
    }))
}
