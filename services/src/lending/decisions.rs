//! Consumer credit at checkout: instalment quotes and their acceptance (once, under an
//! Idempotency-Key), loan applications, and the recorded decisions. Every decision is stored
//! with its inputs, model and policy versions before it is answered.

use chrono::{Duration, Utc};
use sextant_domain::{AmountMinor, Currency, CustomerId, MerchantId};
use sextant_lending::{CreditDecision, CreditRequest, DecisionInputs, Outcome};
use sextant_store::{Actor, NewCreditDecision, NewInstalmentPlan};

use super::views::{
    reason_view, rule_view, AcceptRequest, ApplicationRequest, ApplicationView, DecisionRecordView,
    PlanCreated, PlanView, QuoteRequest, QuoteView,
};
use super::{decide_for, QUOTE_TTL_MINUTES};
use crate::idempotency::{settle, Answer, Keyed, CREATED};
use crate::records::format_timestamp;
use crate::{new_id, Context, Result, ServiceError};

/// Decisions listed per customer.
pub const DECISIONS_LISTED: u64 = 100;

/// The body's customer id (a path id is named `id`; this one `customer_id`).
fn body_customer(raw: &str) -> Result<CustomerId> {
    CustomerId::parse(raw).map_err(|e| ServiceError::invalid("customer_id", e.code, e.message))
}

fn positive_amount(amount_minor: i64) -> Result<i64> {
    AmountMinor::new(amount_minor)
        .map(|a| a.get())
        .map_err(|e| ServiceError::invalid("amount_minor", e.code, e.message))
}

/// A supported ISO 4217 code; whether it is the customer's is checked once they are read.
fn credit_currency(currency: &str) -> Result<Currency> {
    Currency::parse(currency).map_err(|e| ServiceError::invalid("currency", e.code, e.message))
}

/// Instalment plans for a purchase at checkout, or a decline with its reasons; recorded
/// before it is answered.
pub async fn quote(ctx: &Context, by: &Actor, request: &QuoteRequest) -> Result<QuoteView> {
    let id = body_customer(&request.customer_id)?;
    let merchant = MerchantId::parse(&request.merchant_id)
        .map_err(|e| ServiceError::invalid("merchant_id", e.code, e.message))?;
    let amount_minor = positive_amount(request.amount_minor)?;
    let currency = credit_currency(&request.currency)?;
    let quote_id = new_id("cq");
    let (decision, record) = decide_for(
        ctx,
        by,
        &id,
        CreditRequest::Instalment {
            amount_minor,
            merchant: merchant.to_string(),
        },
        currency,
        "instalment_quote",
        &quote_id,
        Some(Duration::minutes(QUOTE_TTL_MINUTES)),
    )
    .await?;
    ctx.store.record_credit_decision(&record, None, by).await?;
    Ok(QuoteView {
        quote_id,
        customer_id: id.to_string(),
        merchant_id: merchant.to_string(),
        amount_minor,
        currency: currency.to_string(),
        outcome: decision.outcome.name().to_owned(),
        band: decision.band.clone(),
        credit_limit_minor: decision.limit_minor,
        plans: decision.plans.iter().map(PlanView::from).collect(),
        reasons: decision.reasons.iter().map(reason_view).collect(),
        created_at: format_timestamp(record.created_at),
        expires_at: format_timestamp(record.expires_at.expect("quotes expire")),
        model_version: decision.model_version.clone(),
        policy_version: decision.policy_version.clone(),
    })
}

fn already_accepted() -> ServiceError {
    ServiceError::conflict(
        "quote_already_accepted",
        "quote_id",
        "this quote has already been accepted",
    )
}

/// A stored quote with what was decided and from what.
struct StoredQuote {
    record: NewCreditDecision,
    decision: CreditDecision,
    inputs: DecisionInputs,
}

/// The quote `quote_id`, if it is one the caller may see (`may_see` answers for its
/// customer; any other quote is not found, as a missing one).
async fn stored_quote(
    ctx: &Context,
    quote_id: &str,
    may_see: impl Fn(&CustomerId) -> bool,
) -> Result<StoredQuote> {
    let record = ctx
        .store
        .credit_decision(quote_id)
        .await?
        .filter(|d| d.kind == "instalment_quote")
        .ok_or(ServiceError::NotFound)?;
    if !may_see(&record.customer_id) {
        return Err(ServiceError::NotFound);
    }
    let corrupt =
        |e: serde_json::Error| ServiceError::internal(format!("stored quote {quote_id}: {e}"));
    Ok(StoredQuote {
        decision: serde_json::from_value(record.output.clone()).map_err(corrupt)?,
        inputs: serde_json::from_value(record.inputs.clone()).map_err(corrupt)?,
        record,
    })
}

/// Accepts one plan of an approved, unexpired quote, once: a retry under the same key gets
/// the first answer, the quote never becomes two plans.
pub async fn accept(
    ctx: &Context,
    keyed: &Keyed,
    by: &Actor,
    quote_id: &str,
    request: &AcceptRequest,
    may_see: impl Fn(&CustomerId) -> bool,
) -> Result<Answer> {
    if let Some(earlier) = keyed.earlier(ctx.store.as_ref()).await? {
        return Ok(earlier);
    }
    let StoredQuote {
        record: quote,
        decision,
        inputs,
    } = stored_quote(ctx, quote_id, may_see).await?;
    if decision.outcome != Outcome::Approved {
        return Err(ServiceError::conflict(
            "quote_declined",
            "quote_id",
            "a declined quote cannot be accepted",
        ));
    }
    let now = Utc::now();
    if quote.expires_at.is_some_and(|t| now > t) {
        return Err(ServiceError::conflict(
            "quote_expired",
            "quote_id",
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
            ServiceError::invalid(
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
        quote_id: quote_id.to_owned(),
        customer_id: quote.customer_id.to_string(),
        merchant_id,
        currency: inputs.policy.currency.clone(),
        accepted_at: format_timestamp(now),
        plan: PlanView::from(plan),
    };
    let answer = Answer {
        status: CREATED,
        body: serde_json::to_value(&view).map_err(ServiceError::internal)?,
    };
    let outcome = ctx
        .store
        .accept_quote(
            &NewInstalmentPlan {
                id: plan_id,
                quote_id: quote_id.to_owned(),
                customer_id: quote.customer_id.clone(),
                months: plan.months,
                actor: by.id.clone(),
                created_at: now,
                plan: serde_json::to_value(plan).map_err(ServiceError::internal)?,
            },
            &keyed.record(&answer, now),
            by,
        )
        .await?;
    settle(outcome, answer, already_accepted)
}

/// A consumer-loan application: an offer with its exact schedule, or a decline with
/// reasons. With a key, a retry gets the first answer.
pub async fn apply(
    ctx: &Context,
    keyed: Option<&Keyed>,
    by: &Actor,
    request: &ApplicationRequest,
) -> Result<Answer> {
    if let Some(keyed) = keyed {
        if let Some(earlier) = keyed.earlier(ctx.store.as_ref()).await? {
            return Ok(earlier);
        }
    }
    let id = body_customer(&request.customer_id)?;
    let amount_minor = positive_amount(request.amount_minor)?;
    let currency = credit_currency(&request.currency)?;
    let terms = &ctx.lender().await?.policy.loan.terms_months;
    if !terms.contains(&request.term_months) {
        let offered: Vec<String> = terms.iter().map(u32::to_string).collect();
        return Err(ServiceError::invalid(
            "term_months",
            "term_not_offered",
            format!("loans run {} months", offered.join(", ")),
        ));
    }
    let application_id = new_id("ca");
    let (decision, record) = decide_for(
        ctx,
        by,
        &id,
        CreditRequest::Loan {
            amount_minor,
            term_months: request.term_months,
        },
        currency,
        "loan_application",
        &application_id,
        None,
    )
    .await?;
    let view = ApplicationView {
        application_id,
        customer_id: id.to_string(),
        amount_minor,
        currency: currency.to_string(),
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
    let answer = Answer {
        status: CREATED,
        body: serde_json::to_value(&view).map_err(ServiceError::internal)?,
    };
    let idempotency = keyed.map(|k| k.record(&answer, record.created_at));
    let outcome = ctx
        .store
        .record_credit_decision(&record, idempotency.as_ref(), by)
        .await?;
    settle(outcome, answer, already_accepted)
}

async fn record_view(ctx: &Context, record: &NewCreditDecision) -> Result<DecisionRecordView> {
    let decision: CreditDecision = serde_json::from_value(record.output.clone())
        .map_err(|e| ServiceError::internal(format!("stored decision {}: {e}", record.id)))?;
    let accepted_plan_id = if record.kind == "instalment_quote" {
        ctx.store
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

/// A recorded quote or application, if the caller may see its customer.
pub async fn decision(
    ctx: &Context,
    decision_id: &str,
    may_see: impl Fn(&CustomerId) -> bool,
) -> Result<DecisionRecordView> {
    let record = ctx
        .store
        .credit_decision(decision_id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if !may_see(&record.customer_id) {
        return Err(ServiceError::NotFound);
    }
    record_view(ctx, &record).await
}

/// A customer's credit decisions, newest first (at most [`DECISIONS_LISTED`]).
pub async fn decisions_of(ctx: &Context, id: &CustomerId) -> Result<Vec<DecisionRecordView>> {
    ctx.store
        .customer(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let mut decisions = Vec::new();
    for record in ctx.store.credit_decisions_for(id, DECISIONS_LISTED).await? {
        decisions.push(record_view(ctx, &record).await?);
    }
    Ok(decisions)
}
