//! Consumer credit at checkout: instalment quotes and their acceptance, loan applications,
//! and the recorded decisions. Every decision is stored with its inputs, model and policy
//! versions before it is answered, so `sextant credit replay ID` reproduces it.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{Duration, Utc};
use rand::Rng;
use serde::{Deserialize, Serialize};
use sextant_domain::MerchantId;
use sextant_lending::{
    CreditDecision, CreditRequest, Instalment, InstalmentPlan, Outcome, Reason, ReasonSource,
    RuleResult,
};
use utoipa::ToSchema;

use super::{body_bytes, customer_id, json_body};
use crate::auth::{Caller, Role};
use crate::error::{AppError, ItemProblem, Problem};
use crate::lending::{decide_for, CREDIT_CURRENCY, QUOTE_TTL_MINUTES};
use crate::store::{Idempotent, IdempotentResponse, NewCreditDecision, NewInstalmentPlan};
use crate::wire::format_timestamp;
use crate::AppState;

/// Who may ask for credit on a customer's behalf: the customer, the payment app, an admin.
const CREDIT_CALLERS: &[Role] = &[Role::Customer, Role::Service, Role::Admin];
/// Longest accepted Idempotency-Key.
const IDEMPOTENCY_KEY_MAX: usize = 255;

#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct InstalmentView {
    pub number: u32,
    /// YYYY-MM-DD.
    pub due_date: String,
    pub payment_minor: i64,
    pub principal_minor: i64,
    pub interest_minor: i64,
    pub fee_minor: i64,
    pub balance_after_minor: i64,
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct PlanView {
    pub months: u32,
    pub principal_minor: i64,
    pub fee_minor: i64,
    /// Nominal annual interest rate, in basis points.
    pub nominal_rate_bps: u32,
    /// Annual percentage rate of charge, fee included, in percent.
    pub apr_percent: f64,
    /// The regular monthly payment (the first also carries the fee; the last may be smaller).
    pub monthly_payment_minor: i64,
    pub total_interest_minor: i64,
    /// Interest plus fees.
    pub total_cost_minor: i64,
    pub total_repayable_minor: i64,
    pub schedule: Vec<InstalmentView>,
}

impl From<&InstalmentPlan> for PlanView {
    fn from(p: &InstalmentPlan) -> Self {
        PlanView {
            months: p.months,
            principal_minor: p.principal_minor,
            fee_minor: p.fee_minor,
            nominal_rate_bps: p.nominal_rate_bps,
            apr_percent: p.apr_percent,
            monthly_payment_minor: p.monthly_payment_minor,
            total_interest_minor: p.total_interest_minor,
            total_cost_minor: p.total_cost_minor,
            total_repayable_minor: p.total_repayable_minor,
            schedule: p.schedule.iter().map(instalment_view).collect(),
        }
    }
}

fn instalment_view(i: &Instalment) -> InstalmentView {
    InstalmentView {
        number: i.number,
        due_date: i.due_date.to_string(),
        payment_minor: i.payment_minor,
        principal_minor: i.principal_minor,
        interest_minor: i.interest_minor,
        fee_minor: i.fee_minor,
        balance_after_minor: i.balance_after_minor,
    }
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct ReasonView {
    /// Stable code, e.g. `missed_payments` or `debt_to_income_too_high`.
    pub code: String,
    /// Plain text for the customer.
    pub text: String,
    /// `policy` (a rule that failed) or `model` (a factor that drove the score).
    pub source: String,
    /// The model feature behind a model reason.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub feature: Option<String>,
}

fn reason_view(r: &Reason) -> ReasonView {
    ReasonView {
        code: r.code.clone(),
        text: r.text.clone(),
        source: match r.source {
            ReasonSource::Policy => "policy",
            ReasonSource::Model => "model",
        }
        .to_owned(),
        feature: r.feature.clone(),
    }
}

#[derive(Serialize, Deserialize, ToSchema, Clone)]
pub struct RuleView {
    pub code: String,
    pub passed: bool,
    pub observed: f64,
    pub limit: f64,
    pub text: String,
}

fn rule_view(r: &RuleResult) -> RuleView {
    RuleView {
        code: r.code.clone(),
        passed: r.passed,
        observed: r.observed,
        limit: r.limit,
        text: r.text.clone(),
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuoteRequest {
    pub customer_id: String,
    pub merchant_id: String,
    /// The purchase amount, in minor units.
    pub amount_minor: i64,
    /// ISO 4217; the policy's currency (EUR).
    pub currency: String,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct QuoteView {
    pub quote_id: String,
    pub customer_id: String,
    pub merchant_id: String,
    pub amount_minor: i64,
    pub currency: String,
    /// `approved` (at least one plan) or `declined`.
    pub outcome: String,
    /// Risk band of the estimated probability of default, when the model placed one.
    pub band: Option<String>,
    pub credit_limit_minor: i64,
    pub plans: Vec<PlanView>,
    /// At most four, only on a decline: the failed rules and the factors that drove the score.
    pub reasons: Vec<ReasonView>,
    pub created_at: String,
    /// The quote can be accepted until then.
    pub expires_at: String,
    pub model_version: String,
    pub policy_version: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptRequest {
    /// One of the quote's plans.
    pub months: u32,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct PlanCreated {
    pub plan_id: String,
    pub quote_id: String,
    pub customer_id: String,
    pub merchant_id: String,
    pub currency: String,
    pub accepted_at: String,
    pub plan: PlanView,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ApplicationRequest {
    pub customer_id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub term_months: u32,
}

#[derive(Serialize, Deserialize, ToSchema)]
pub struct ApplicationView {
    pub application_id: String,
    pub customer_id: String,
    pub amount_minor: i64,
    pub currency: String,
    pub term_months: u32,
    pub outcome: String,
    pub band: Option<String>,
    pub credit_limit_minor: i64,
    /// The loan offered, when approved.
    pub offer: Option<PlanView>,
    pub reasons: Vec<ReasonView>,
    pub decided_at: String,
    pub model_version: String,
    pub policy_version: String,
}

#[derive(Serialize, ToSchema)]
pub struct DecisionRecordView {
    pub decision_id: String,
    /// `instalment_quote` or `loan_application`.
    pub kind: String,
    pub customer_id: String,
    pub outcome: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub model_version: String,
    pub policy_version: String,
    pub band: Option<String>,
    pub probability_of_default: f64,
    pub credit_limit_minor: i64,
    /// Every policy rule, passed or failed, in the engine's order.
    pub rules: Vec<RuleView>,
    pub reasons: Vec<ReasonView>,
    pub plans: Vec<PlanView>,
    /// The plan created from this quote, if it was accepted.
    pub accepted_plan_id: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct DecisionList {
    pub decisions: Vec<DecisionRecordView>,
}

pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{:032x}", rand::thread_rng().gen::<u128>())
}

pub(crate) fn invalid(field: &str, code: &str, message: impl Into<String>) -> AppError {
    AppError::Validation(vec![ItemProblem::field(field, code, message)])
}

/// The body's customer id (a path id is named `id`; this one `customer_id`).
fn body_customer(raw: &str) -> Result<sextant_domain::CustomerId, AppError> {
    sextant_domain::CustomerId::parse(raw).map_err(|e| invalid("customer_id", e.code, e.message))
}

fn positive_amount(amount_minor: i64) -> Result<i64, AppError> {
    sextant_domain::AmountMinor::new(amount_minor)
        .map(|a| a.get())
        .map_err(|e| invalid("amount_minor", e.code, e.message))
}

fn credit_currency(currency: &str) -> Result<String, AppError> {
    if currency != CREDIT_CURRENCY {
        return Err(invalid(
            "currency",
            "unsupported_currency",
            format!("credit is offered in {CREDIT_CURRENCY} only"),
        ));
    }
    Ok(currency.to_owned())
}

/// Instalment plans for a purchase at checkout, or a decline with its reasons.
#[utoipa::path(post, path = "/v1/instalments/quote", tag = "credit", security(("bearer" = [])),
    request_body = QuoteRequest,
    responses((status = 201, body = QuoteView), (status = 400, body = Problem),
        (status = 404, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem)))]
pub async fn quote(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<QuoteView>), AppError> {
    caller.require(CREDIT_CALLERS)?;
    let body = body_bytes(body)?;
    let request: QuoteRequest = json_body(&body)?;
    caller.reach_customer(&request.customer_id, CREDIT_CALLERS)?;
    let id = body_customer(&request.customer_id)?;
    let merchant = MerchantId::parse(&request.merchant_id)
        .map_err(|e| invalid("merchant_id", e.code, e.message))?;
    let amount_minor = positive_amount(request.amount_minor)?;
    let currency = credit_currency(&request.currency)?;
    let quote_id = new_id("cq");
    let (decision, record) = decide_for(
        &state,
        &caller.sub,
        &id,
        CreditRequest::Instalment {
            amount_minor,
            merchant: merchant.to_string(),
        },
        "instalment_quote",
        &quote_id,
        Some(Duration::minutes(QUOTE_TTL_MINUTES)),
    )
    .await?;
    state.store.record_credit_decision(&record, None).await?;
    Ok((
        StatusCode::CREATED,
        Json(QuoteView {
            quote_id,
            customer_id: id.to_string(),
            merchant_id: merchant.to_string(),
            amount_minor,
            currency,
            outcome: decision.outcome.name().to_owned(),
            band: decision.band.clone(),
            credit_limit_minor: decision.limit_minor,
            plans: decision.plans.iter().map(PlanView::from).collect(),
            reasons: decision.reasons.iter().map(reason_view).collect(),
            created_at: format_timestamp(record.created_at),
            expires_at: format_timestamp(record.expires_at.expect("quotes expire")),
            model_version: decision.model_version.clone(),
            policy_version: decision.policy_version.clone(),
        }),
    ))
}

/// The caller's Idempotency-Key: required where a retry must not act twice.
pub(crate) fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, AppError> {
    let Some(value) = headers.get("idempotency-key") else {
        return Ok(None);
    };
    let key = value
        .to_str()
        .ok()
        .filter(|k| !k.is_empty() && k.len() <= IDEMPOTENCY_KEY_MAX)
        .filter(|k| k.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            invalid(
                "Idempotency-Key",
                "invalid_idempotency_key",
                format!("1 to {IDEMPOTENCY_KEY_MAX} printable ASCII characters"),
            )
        })?;
    Ok(Some(key.to_owned()))
}

/// FNV-1a over the route and the body: tells a retry from another request under the same key.
pub(crate) fn request_hash(route: &str, body: &[u8]) -> String {
    let mut hash = sextant_hash::Fnv64::new();
    hash.write(route.as_bytes());
    hash.write_u8(0xff);
    hash.write(body);
    format!("{:016x}", hash.finish())
}

/// The earlier answer to this key, or a refusal when the key was used for another request.
fn replayed(outcome: Idempotent) -> Result<Response, AppError> {
    match outcome {
        Idempotent::Replay(earlier) => {
            let status = StatusCode::from_u16(earlier.status)
                .map_err(|e| AppError::Internal(e.to_string()))?;
            Ok((status, Json(earlier.response)).into_response())
        }
        Idempotent::KeyReused => Err(AppError::Validation(vec![ItemProblem::field(
            "Idempotency-Key",
            "idempotency_key_reused",
            "this key was already used for a different request",
        )])),
        Idempotent::AlreadyAccepted => Err(AppError::Conflict(
            "quote_already_accepted",
            vec![ItemProblem::field(
                "quote_id",
                "quote_already_accepted",
                "this quote has already been accepted",
            )],
        )),
        Idempotent::Written => Err(AppError::Internal("a written request is no replay".into())),
    }
}

/// Accepts one plan of an approved quote, once. Requires an Idempotency-Key: a retry with
/// the same key and body gets the same answer; the quote never becomes two plans.
#[utoipa::path(post, path = "/v1/instalments/quotes/{quote_id}/accept", tag = "credit",
    security(("bearer" = [])), request_body = AcceptRequest,
    params(("quote_id" = String, Path), ("Idempotency-Key" = String, Header)),
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
    let key = idempotency_key(&headers)?.ok_or_else(|| {
        invalid(
            "Idempotency-Key",
            "missing_idempotency_key",
            "accepting a quote needs an Idempotency-Key header",
        )
    })?;
    let body = body_bytes(body)?;
    let request: AcceptRequest = json_body(&body)?;
    let hash = request_hash(&format!("accept {quote_id}"), &body);
    let caller_key = format!("{}:{}", caller.role.as_str(), caller.sub);
    if let Some(earlier) = state.store.idempotent_response(&caller_key, &key).await? {
        return replayed(if earlier.request_hash == hash {
            Idempotent::Replay(earlier)
        } else {
            Idempotent::KeyReused
        });
    }
    let quote = state
        .store
        .credit_decision(&quote_id)
        .await?
        .filter(|d| d.kind == "instalment_quote")
        .ok_or(AppError::NotFound)?;
    caller.reach_customer(quote.customer_id.as_str(), CREDIT_CALLERS)?;
    let decision: CreditDecision = serde_json::from_value(quote.output.clone())
        .map_err(|e| AppError::Internal(format!("stored quote {quote_id}: {e}")))?;
    let inputs: sextant_lending::DecisionInputs = serde_json::from_value(quote.inputs.clone())
        .map_err(|e| AppError::Internal(format!("stored quote {quote_id}: {e}")))?;
    let conflict = |code: &'static str, message: &str| {
        AppError::Conflict(code, vec![ItemProblem::field("quote_id", code, message)])
    };
    if decision.outcome != Outcome::Approved {
        return Err(conflict(
            "quote_declined",
            "a declined quote cannot be accepted",
        ));
    }
    let now = Utc::now();
    if quote.expires_at.is_some_and(|t| now > t) {
        return Err(conflict(
            "quote_expired",
            "the quote has expired; ask for a new one",
        ));
    }
    let plan = decision
        .plans
        .iter()
        .find(|p| p.months == request.months)
        .ok_or_else(|| {
            let offered: Vec<String> = decision
                .plans
                .iter()
                .map(|p| p.months.to_string())
                .collect();
            invalid(
                "months",
                "term_not_offered",
                format!("the quote offers {} months", offered.join(", ")),
            )
        })?;
    let merchant_id = match &inputs.request {
        CreditRequest::Instalment { merchant, .. } => merchant.clone(),
        CreditRequest::Loan { .. } => String::new(),
    };
    let plan_id = new_id("ip");
    let view = PlanCreated {
        plan_id: plan_id.clone(),
        quote_id: quote_id.clone(),
        customer_id: quote.customer_id.to_string(),
        merchant_id,
        currency: CREDIT_CURRENCY.to_owned(),
        accepted_at: format_timestamp(now),
        plan: PlanView::from(plan),
    };
    let response = serde_json::to_value(&view).map_err(|e| AppError::Internal(e.to_string()))?;
    let outcome = state
        .store
        .accept_quote(
            &NewInstalmentPlan {
                id: plan_id,
                quote_id,
                customer_id: quote.customer_id.clone(),
                months: plan.months,
                actor: caller.sub.clone(),
                created_at: now,
                plan: serde_json::to_value(plan).map_err(|e| AppError::Internal(e.to_string()))?,
            },
            &IdempotentResponse {
                caller: caller_key,
                key,
                request_hash: hash,
                status: StatusCode::CREATED.as_u16(),
                response: response.clone(),
                created_at: now,
            },
        )
        .await?;
    match outcome {
        Idempotent::Written => Ok((StatusCode::CREATED, Json(response)).into_response()),
        other => replayed(other),
    }
}

/// A consumer-loan application: an offer with its exact schedule, or a decline with reasons.
/// An Idempotency-Key is optional; with one, a retry gets the first answer.
#[utoipa::path(post, path = "/v1/credit/applications", tag = "credit", security(("bearer" = [])),
    request_body = ApplicationRequest,
    params(("Idempotency-Key" = Option<String>, Header)),
    responses((status = 201, body = ApplicationView), (status = 404, body = Problem),
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
    let caller_key = format!("{}:{}", caller.role.as_str(), caller.sub);
    let hash = request_hash("apply", &body);
    if let Some(key) = &key {
        if let Some(earlier) = state.store.idempotent_response(&caller_key, key).await? {
            return replayed(if earlier.request_hash == hash {
                Idempotent::Replay(earlier)
            } else {
                Idempotent::KeyReused
            });
        }
    }
    let id = body_customer(&request.customer_id)?;
    let amount_minor = positive_amount(request.amount_minor)?;
    let currency = credit_currency(&request.currency)?;
    let terms = &state.lending().await?.policy.loan.terms_months;
    if !terms.contains(&request.term_months) {
        let offered: Vec<String> = terms.iter().map(u32::to_string).collect();
        return Err(invalid(
            "term_months",
            "term_not_offered",
            format!("loans run {} months", offered.join(", ")),
        ));
    }
    let application_id = new_id("ca");
    let (decision, record) = decide_for(
        &state,
        &caller.sub,
        &id,
        CreditRequest::Loan {
            amount_minor,
            term_months: request.term_months,
        },
        "loan_application",
        &application_id,
        None,
    )
    .await?;
    let view = ApplicationView {
        application_id,
        customer_id: id.to_string(),
        amount_minor,
        currency,
        term_months: request.term_months,
        outcome: decision.outcome.name().to_owned(),
        band: decision.band.clone(),
        credit_limit_minor: decision.limit_minor,
        offer: decision.plans.first().map(PlanView::from),
        reasons: decision.reasons.iter().map(reason_view).collect(),
        decided_at: format_timestamp(record.created_at),
        model_version: decision.model_version.clone(),
        policy_version: decision.policy_version.clone(),
    };
    let response = serde_json::to_value(&view).map_err(|e| AppError::Internal(e.to_string()))?;
    let idempotency = key.map(|key| IdempotentResponse {
        caller: caller_key,
        key,
        request_hash: hash,
        status: StatusCode::CREATED.as_u16(),
        response: response.clone(),
        created_at: record.created_at,
    });
    match state
        .store
        .record_credit_decision(&record, idempotency.as_ref())
        .await?
    {
        Idempotent::Written => Ok((StatusCode::CREATED, Json(response)).into_response()),
        other => replayed(other),
    }
}

async fn record_view(
    state: &AppState,
    record: &NewCreditDecision,
) -> Result<DecisionRecordView, AppError> {
    let decision: CreditDecision = serde_json::from_value(record.output.clone())
        .map_err(|e| AppError::Internal(format!("stored decision {}: {e}", record.id)))?;
    let accepted_plan_id = if record.kind == "instalment_quote" {
        state
            .store
            .instalment_plan_of(&record.id)
            .await?
            .map(|p| p.id)
    } else {
        None
    };
    Ok(DecisionRecordView {
        decision_id: record.id.clone(),
        kind: record.kind.clone(),
        customer_id: record.customer_id.to_string(),
        outcome: record.outcome.clone(),
        created_at: format_timestamp(record.created_at),
        expires_at: record.expires_at.map(format_timestamp),
        model_version: record.model_version.clone(),
        policy_version: record.policy_version.clone(),
        band: decision.band.clone(),
        probability_of_default: decision.pd,
        credit_limit_minor: decision.limit_minor,
        rules: decision.rules.iter().map(rule_view).collect(),
        reasons: decision.reasons.iter().map(reason_view).collect(),
        plans: decision.plans.iter().map(PlanView::from).collect(),
        accepted_plan_id,
    })
}

/// A recorded quote or application: every rule, the reasons, the plans, the versions.
#[utoipa::path(get, path = "/v1/credit/decisions/{decision_id}", tag = "credit",
    security(("bearer" = [])), params(("decision_id" = String, Path)),
    responses((status = 200, body = DecisionRecordView), (status = 404, body = Problem)))]
pub async fn decision(
    State(state): State<AppState>,
    caller: Caller,
    Path(decision_id): Path<String>,
) -> Result<Json<DecisionRecordView>, AppError> {
    caller.require(CREDIT_CALLERS)?;
    let record = state
        .store
        .credit_decision(&decision_id)
        .await?
        .ok_or(AppError::NotFound)?;
    caller.reach_customer(record.customer_id.as_str(), CREDIT_CALLERS)?;
    Ok(Json(record_view(&state, &record).await?))
}

/// A customer's credit decisions, newest first (at most 100).
#[utoipa::path(get, path = "/v1/customers/{id}/credit/decisions", tag = "credit",
    security(("bearer" = [])), params(("id" = String, Path)),
    responses((status = 200, body = DecisionList), (status = 404, body = Problem)))]
pub async fn decisions_of(
    State(state): State<AppState>,
    caller: Caller,
    Path(raw): Path<String>,
) -> Result<Json<DecisionList>, AppError> {
    caller.reach_customer(&raw, CREDIT_CALLERS)?;
    let id = customer_id(&raw)?;
    state.store.customer(&id).await?.ok_or(AppError::NotFound)?;
    let mut decisions = Vec::new();
    for record in state.store.credit_decisions_for(&id, 100).await? {
        decisions.push(record_view(&state, &record).await?);
    }
    Ok(Json(DecisionList { decisions }))
}
