//! What the profiling pipeline serves: a customer's current profile (never stale: it is
//! recomputed on the spot when an event arrived after it), the risk questionnaire's answers
//! and the assessments they lead to, and similar customers in embedding space.

use chrono::{DateTime, Utc};
use sextant_domain::{Currency, Customer, CustomerId};
use sextant_profiling::risk;
use sextant_store::{Actor, StoredAssessment, StoredProfile, StoredSegment};

use crate::pipeline::answers_from_json;
use crate::{Context, Result, ServiceError};

/// Assessments listed in a risk profile's history.
pub const ASSESSMENTS_LISTED: u64 = 100;
/// Most similar customers one request returns.
pub const SIMILAR_MAX: usize = 100;

/// Not found for an unknown customer, a conflict for one who has not consented to profiling.
pub async fn require_profiling_consent(ctx: &Context, id: &CustomerId) -> Result<Customer> {
    let customer = ctx
        .store
        .customer(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    if customer.customer.consents.profiling {
        return Ok(customer.customer);
    }
    Err(ServiceError::conflict(
        "no_profiling_consent",
        "consents.profiling",
        "the customer has not consented to profiling",
    ))
}

/// A customer's profile as served, with their current assessment and segment.
pub struct CurrentProfile {
    /// The customer's base currency: the profile's amounts are in it.
    pub currency: Currency,
    pub profile: StoredProfile,
    pub risk: Option<StoredAssessment>,
    pub segment: Option<StoredSegment>,
}

/// The profile reflecting every event acknowledged before the call: the stored one when it
/// is fresh, else recomputed now (one customer's last 400 days).
pub async fn current(ctx: &Context, id: &CustomerId) -> Result<CurrentProfile> {
    let customer = require_profiling_consent(ctx, id).await?;
    let profile = match ctx.pipeline.fresh_profile(id).await? {
        Some(p) => p,
        None => {
            ctx.pipeline
                .refresh(id)
                .await?
                .ok_or(ServiceError::NotFound)?
                .profile
        }
    };
    let risk = ctx.store.assessments(id, 1).await?.into_iter().next();
    let segment = profile
        .segment
        .and_then(|s| ctx.pipeline.segments().iter().find(|x| x.id == s).cloned());
    Ok(CurrentProfile {
        currency: customer.base_currency,
        profile,
        risk,
        segment,
    })
}

/// Checks answers to the questionnaire: one option id (a string) per question, every one a
/// question and option of the current questionnaire.
pub fn check_answers(answers: &serde_json::Value) -> Result<()> {
    let parsed = answers_from_json(answers)
        .filter(|a| a.0.len() == answers.as_object().map_or(0, |o| o.len()))
        .ok_or_else(|| {
            ServiceError::invalid(
                "answers",
                "invalid_answer",
                "every answer must be an option id (a string)",
            )
        })?;
    if let Err(e) = risk::willingness_from_answers(&parsed) {
        let field = e
            .question_id()
            .map_or_else(|| "answers".to_owned(), |q| format!("answers.{q}"));
        return Err(ServiceError::invalid(&field, e.code(), e.to_string()));
    }
    Ok(())
}

/// Records the customer's answers and reassesses: the level is willingness (from the
/// answers) capped by capacity (from the payment history). Returns the assessments, newest
/// first.
pub async fn answer(
    ctx: &Context,
    id: &CustomerId,
    answers: &serde_json::Value,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<Vec<StoredAssessment>> {
    check_answers(answers)?;
    require_profiling_consent(ctx, id).await?;
    ctx.store.put_risk_answers(id, answers, by, now).await?;
    ctx.pipeline.refresh(id).await?;
    assessments(ctx, id).await
}

/// Every recorded assessment, newest first (at most [`ASSESSMENTS_LISTED`]).
pub async fn assessments(ctx: &Context, id: &CustomerId) -> Result<Vec<StoredAssessment>> {
    Ok(ctx.store.assessments(id, ASSESSMENTS_LISTED).await?)
}

/// The customers most similar to this one in embedding space (only customers with
/// profiling consent, optionally of one segment), most similar first.
pub async fn similar(
    ctx: &Context,
    id: &CustomerId,
    k: usize,
    segment: Option<u32>,
) -> Result<Vec<(String, f32)>> {
    if !(1..=SIMILAR_MAX).contains(&k) {
        return Err(ServiceError::invalid(
            "k",
            "out_of_range",
            "k must lie in 1..=100",
        ));
    }
    ctx.store
        .customer(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    let vector = ctx.vectors.vector(id.as_str()).await?.ok_or_else(|| {
        ServiceError::conflict(
            "no_embedding",
            "id",
            "no embedding yet: run `sextant train embeddings`, or the customer has no profiling consent",
        )
    })?;
    let filter = sextant_vectors::Filter {
        segment,
        profiling_consent: Some(true),
        exclude_customer: Some(id.to_string()),
        ..Default::default()
    };
    Ok(ctx
        .vectors
        .search(&vector, k, &filter)
        .await?
        .into_iter()
        .map(|h| (h.customer_id, h.score))
        .collect())
}
