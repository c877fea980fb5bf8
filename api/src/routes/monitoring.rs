//! Transaction monitoring: the payment app's question before it authorises a payment
//! (`POST /v1/payments/assess`), the recorded assessments and their replay, the cases
//! compliance works, and compliance's rules with their backtests. The use cases are `sextant_services::monitoring`. Customers never see
//! their scores: only the payment app, compliance and admins reach these routes.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::Json;
use sextant_services::idempotency::request_hash;
use sextant_services::monitoring::assess::{self, AssessmentView, ReplayView};
use sextant_services::monitoring::cases::{
    self, AssignRequest, CaseDetail, CaseList, CaseQuery, CloseRequest, CommentRequest,
};
use sextant_services::monitoring::model::{self, ModelActivationView};
use sextant_services::monitoring::rules::{
    self, BacktestRequest, BacktestView, ModeChange, MonitoringRuleView, MonitoringRulesView,
    RuleDraft,
};
use sextant_services::records::PaymentRecord;
use sextant_services::screening::{self, ScreenRequest, ScreenView};
use sextant_services::ServiceError;

use super::{
    answer, body_bytes, idempotency_key, json_body, keyed, query, IDEMPOTENCY_KEY_PARAM,
    OPAQUE_ID_PARAM,
};
use crate::auth::{Caller, Role};
use crate::error::{AppError, Problem};
use crate::AppState;

/// Who may ask for a decision on a payment: the payment app, and admins.
const ASSESSORS: &[Role] = &[Role::Service, Role::Admin];
/// Who reads assessments and works cases.
const ANALYSTS: &[Role] = &[Role::Compliance, Role::Admin];

/// Allow, review or block a payment before it is authorised, with the score, the typologies
/// that fired and their reasons; recorded before it is answered, and replayable. The
/// payment is not stored: send it to `/v1/events` once made. An Idempotency-Key is
/// optional; with one, a retry gets the first answer.
#[utoipa::path(post, path = "/v1/payments/assess", tag = "monitoring", security(("bearer" = [])),
    request_body = PaymentRecord,
    params(("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = IDEMPOTENCY_KEY_PARAM)),
    responses((status = 201, body = AssessmentView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn assess_payment(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, AppError> {
    caller.require(ASSESSORS)?;
    let key = idempotency_key(&headers)?;
    let body = body_bytes(body)?;
    let payment: PaymentRecord = json_body(&body)?;
    let keyed = key.map(|key| keyed(&caller, key, request_hash("assess", &body)));
    answer(assess::assess(&state.ctx, keyed.as_ref(), &caller.actor(), &payment).await?)
}

/// A recorded payment assessment, as it was answered.
#[utoipa::path(get, path = "/v1/payments/assessments/{assessment_id}", tag = "monitoring",
    security(("bearer" = [])),
    params(("assessment_id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = OPAQUE_ID_PARAM)),
    responses((status = 200, body = AssessmentView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn assessment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<AssessmentView>, AppError> {
    caller.require(ANALYSTS)?;
    Ok(Json(assess::assessment(&state.ctx, &id).await?))
}

/// Decides a recorded assessment again from its recorded payment, customer state and
/// parameters, and says whether the answer is byte for byte the one given.
#[utoipa::path(get, path = "/v1/payments/assessments/{assessment_id}/replay", tag = "monitoring",
    security(("bearer" = [])),
    params(("assessment_id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = OPAQUE_ID_PARAM)),
    responses((status = 200, body = ReplayView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "decided under a policy this release no longer has")))]
pub async fn replay(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<ReplayView>, AppError> {
    caller.require(ANALYSTS)?;
    Ok(Json(assess::replay(&state.ctx, &id).await?))
}

/// Monitoring cases, the most recently updated first: one open case per customer collects
/// their alerts until an analyst closes it.
#[utoipa::path(get, path = "/v1/monitoring/cases", tag = "monitoring", security(("bearer" = [])),
    params(CaseQuery),
    responses((status = 200, body = CaseList), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn list_cases(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<CaseQuery>, QueryRejection>,
) -> Result<Json<CaseList>, AppError> {
    caller.require(ANALYSTS)?;
    let q = query(params)?;
    Ok(Json(cases::list(&state.ctx, &q).await?))
}

/// A case with its alerts and its history of assignments, comments and closing.
#[utoipa::path(get, path = "/v1/monitoring/cases/{case_id}", tag = "monitoring",
    security(("bearer" = [])),
    params(("case_id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = OPAQUE_ID_PARAM)),
    responses((status = 200, body = CaseDetail), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn case(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CaseDetail>, AppError> {
    caller.require(ANALYSTS)?;
    Ok(Json(cases::detail(&state.ctx, &id).await?))
}

/// Assigns an open case to an analyst (an enabled compliance or admin staff account), or
/// unassigns it with `null`.
#[utoipa::path(post, path = "/v1/monitoring/cases/{case_id}/assign", tag = "monitoring",
    security(("bearer" = [])), request_body = AssignRequest,
    params(("case_id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = OPAQUE_ID_PARAM)),
    responses((status = 200, body = CaseDetail), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the case is closed"),
        (status = 422, body = Problem)))]
pub async fn assign(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CaseDetail>, AppError> {
    caller.require(ANALYSTS)?;
    let body = body_bytes(body)?;
    let request: AssignRequest = json_body(&body)?;
    Ok(Json(
        cases::assign(&state.ctx, &id, &request, &caller.actor()).await?,
    ))
}

/// Adds a comment to a case's history.
#[utoipa::path(post, path = "/v1/monitoring/cases/{case_id}/comments", tag = "monitoring",
    security(("bearer" = [])), request_body = CommentRequest,
    params(("case_id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = OPAQUE_ID_PARAM)),
    responses((status = 200, body = CaseDetail), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 422, body = Problem)))]
pub async fn comment(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CaseDetail>, AppError> {
    caller.require(ANALYSTS)?;
    let body = body_bytes(body)?;
    let request: CommentRequest = json_body(&body)?;
    Ok(Json(
        cases::comment(&state.ctx, &id, &request, &caller.actor()).await?,
    ))
}

/// Closes a case with a disposition (fraud, laundering_reported, false_positive) and why;
/// the disposition labels the customer's alerts for the model and the rule backtests. A
/// new alert afterwards opens a new case.
#[utoipa::path(post, path = "/v1/monitoring/cases/{case_id}/close", tag = "monitoring",
    security(("bearer" = [])), request_body = CloseRequest,
    params(("case_id" = String, Path, pattern = "^[A-Za-z0-9._:-]{1,64}$", description = OPAQUE_ID_PARAM)),
    responses((status = 200, body = CaseDetail), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the case is closed already"),
        (status = 422, body = Problem)))]
pub async fn close(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<CaseDetail>, AppError> {
    caller.require(ANALYSTS)?;
    let body = body_bytes(body)?;
    let request: CloseRequest = json_body(&body)?;
    Ok(Json(
        cases::close(&state.ctx, &id, &request, &caller.actor()).await?,
    ))
}

/// Not a number a version can have: no such version.
fn rule_version_number(text: &str) -> Result<u32, AppError> {
    text.parse()
        .ok()
        .filter(|v| *v >= 1)
        .ok_or(AppError::NotFound)
}

/// Every version of every compliance rule, with its mode and how often it fired on ingested
/// payments.
#[utoipa::path(get, path = "/v1/monitoring/rules", tag = "monitoring", security(("bearer" = [])),
    responses((status = 200, body = MonitoringRulesView), (status = 401, body = Problem),
        (status = 403, body = Problem)))]
pub async fn list_rules(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<MonitoringRulesView>, AppError> {
    caller.require(ANALYSTS)?;
    Ok(Json(rules::rules(state.ctx.store.as_ref()).await?))
}

/// Adds a version of a rule (the first makes the rule), in shadow or live mode; it is in
/// force for the next payment. A live version retires the rule's live version. A rule that
/// does not parse is refused with the line and column. An Idempotency-Key is optional; with
/// one, a retry gets the version the first request made, and adds none.
#[utoipa::path(post, path = "/v1/monitoring/rules/{rule_id}/versions", tag = "monitoring",
    security(("bearer" = [])), request_body = RuleDraft,
    params(("rule_id" = String, Path, pattern = "^[a-z0-9_-]{1,64}$", description = "The rule's name: lowercase letters, digits, `-` and `_`."),
        ("Idempotency-Key" = Option<String>, Header, pattern = "^[!-~]{1,255}$", description = IDEMPOTENCY_KEY_PARAM)),
    responses((status = 201, body = MonitoringRuleView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
pub async fn add_rule_version(
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(rule_id): Path<String>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<MonitoringRuleView>), AppError> {
    caller.require(ANALYSTS)?;
    let key = idempotency_key(&headers)?;
    let body = body_bytes(body)?;
    let draft: RuleDraft = json_body(&body)?;
    let what = format!("monitoring_rule_version:{rule_id}");
    let keyed = key.map(|key| keyed(&caller, key, request_hash(&what, &body)));
    let added = rules::add_version(
        &state.ctx,
        keyed.as_ref(),
        &rule_id,
        &draft,
        &caller.actor(),
    )
    .await?;
    Ok((StatusCode::CREATED, Json(added)))
}

/// One version of a rule.
#[utoipa::path(get, path = "/v1/monitoring/rules/{rule_id}/versions/{version}", tag = "monitoring",
    security(("bearer" = [])),
    params(("rule_id" = String, Path, pattern = "^[a-z0-9_-]{1,64}$", description = "The rule's name."),
        ("version" = u32, Path, minimum = 1, description = "The version, from 1.")),
    responses((status = 200, body = MonitoringRuleView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn rule_version(
    State(state): State<AppState>,
    caller: Caller,
    Path((rule_id, version)): Path<(String, String)>,
) -> Result<Json<MonitoringRuleView>, AppError> {
    caller.require(ANALYSTS)?;
    let version = rule_version_number(&version)?;
    Ok(Json(rules::rule(&state.ctx, &rule_id, version).await?))
}

/// Puts a version in shadow or live mode, or retires it; in force for the next payment.
/// Making a version live retires the rule's live version; a retired version stays retired.
#[utoipa::path(post, path = "/v1/monitoring/rules/{rule_id}/versions/{version}/mode", tag = "monitoring",
    security(("bearer" = [])), request_body = ModeChange,
    params(("rule_id" = String, Path, pattern = "^[a-z0-9_-]{1,64}$", description = "The rule's name."),
        ("version" = u32, Path, minimum = 1, description = "The version, from 1.")),
    responses((status = 200, body = MonitoringRuleView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the version is retired"),
        (status = 422, body = Problem)))]
pub async fn set_rule_mode(
    State(state): State<AppState>,
    caller: Caller,
    Path((rule_id, version)): Path<(String, String)>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<MonitoringRuleView>, AppError> {
    caller.require(ANALYSTS)?;
    let version = rule_version_number(&version)?;
    let body = body_bytes(body)?;
    let change: ModeChange = json_body(&body)?;
    Ok(Json(
        rules::set_mode(&state.ctx, &rule_id, version, &change, &caller.actor()).await?,
    ))
}

/// Makes a trained monitoring model version (`sextant monitoring train --no-activate`, listed
/// in the console's models page) the one that scores payments: at once in this process, and
/// in every other within 2 seconds. Audited.
#[utoipa::path(post, path = "/v1/monitoring/models/{version}/activate", tag = "monitoring",
    security(("bearer" = [])),
    params(("version" = String, Path, description = "The model's version, `mm-` and 12 hex digits.")),
    responses((status = 200, body = ModelActivationView), (status = 401, body = Problem),
        (status = 403, body = Problem), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "this release cannot serve the version")))]
pub async fn activate_model(
    State(state): State<AppState>,
    caller: Caller,
    Path(version): Path<String>,
) -> Result<Json<ModelActivationView>, AppError> {
    caller.require(ANALYSTS)?;
    Ok(Json(
        model::activate(&state.ctx, &version, &caller.actor()).await?,
    ))
}

/// Replays every stored payment through a rule and reports the alerts it would have raised,
/// with precision and recall against the dispositions of closed cases. Nothing is stored
/// but the audit entry. For a large population, `sextant monitoring backtest` runs the same
/// without the request deadline.
#[utoipa::path(post, path = "/v1/monitoring/rules/backtest", tag = "monitoring",
    security(("bearer" = [])), request_body = BacktestRequest,
    responses((status = 200, body = BacktestView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem), (status = 503, body = Problem)))]
pub async fn backtest_rule(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<BacktestView>, AppError> {
    caller.require(ANALYSTS)?;
    let body = body_bytes(body)?;
    let mut request: BacktestRequest = json_body(&body)?;
    match request.customers {
        None => request.customers = Some(rules::HTTP_BACKTEST_CUSTOMERS),
        Some(n) if n > rules::HTTP_BACKTEST_CUSTOMERS => {
            return Err(ServiceError::invalid(
                "customers",
                "out_of_range",
                format!(
                    "at most {} over HTTP; `sextant monitoring backtest` replays everyone",
                    rules::HTTP_BACKTEST_CUSTOMERS
                ),
            )
            .into())
        }
        Some(_) => {}
    }
    Ok(Json(
        rules::backtest(
            state.ctx.store.as_ref(),
            &request,
            None,
            &caller.actor(),
            |_| {},
        )
        .await?,
    ))
}

/// Who may screen a name: the payment app, compliance and admins.
const SCREENERS: &[Role] = &[Role::Service, Role::Compliance, Role::Admin];

/// Screens a person's or an organisation's name against the sanctions list the bank
/// configured (OFAC SDN layout): the listed parties it may be, best first, each with a score
/// (word order, accents, Cyrillic and Greek script, initials and small typos do not hide a
/// match). Answers 503 when no list is configured.
#[utoipa::path(post, path = "/v1/screening/check", tag = "monitoring",
    security(("bearer" = [])), request_body = ScreenRequest,
    responses((status = 200, body = ScreenView), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem),
        (status = 422, body = Problem),
        (status = 503, body = Problem, description = "no sanctions list is configured")))]
pub async fn screen_name(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<ScreenView>, AppError> {
    caller.require(SCREENERS)?;
    let body = body_bytes(body)?;
    let request: ScreenRequest = json_body(&body)?;
    Ok(Json(
        screening::screen(&state.ctx, &request, &caller.actor()).await?,
    ))
}
