//! Customers and their events as the service runs them: registration (a withdrawal of
//! profiling consent takes effect at once), consents, event batches (all or nothing, every
//! item committed before the answer; profiles follow in the background) and holdings.

use std::collections::HashSet;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use sextant_domain::{Consents, Customer, CustomerId, Event, Holding, MarketingChannel};
use sextant_store::{Actor, ConsentScope, IngestOutcome, StoredCustomer};
use utoipa::ToSchema;

use crate::records::HoldingRecord;
use crate::{Context, ItemProblem, Result, ServiceError};

/// Positions per customer; a bound that keeps one request small.
pub const HOLDINGS_MAX: usize = 200;

/// Registers or replaces a customer. Withdrawn profiling consent takes effect at once (the
/// profile and vector are removed); otherwise the profile follows the new registration data
/// in the background. Returns the customer as stored and whether it was created.
pub async fn register(
    ctx: &Context,
    customer: &Customer,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<(StoredCustomer, bool)> {
    let created = ctx.store.put_customer(customer, by, now).await?;
    follow_consent(ctx, &customer.id, customer.consents.profiling).await?;
    let stored = ctx
        .store
        .customer(&customer.id)
        .await?
        .ok_or_else(|| ServiceError::internal("customer vanished after write"))?;
    Ok((stored, created))
}

/// After a write: profile the customer again in the background, or forget their profile
/// now when profiling consent is withdrawn.
async fn follow_consent(ctx: &Context, id: &CustomerId, profiling: bool) -> Result<()> {
    if profiling {
        ctx.pipeline.enqueue([id.clone()]);
    } else {
        ctx.pipeline.forget(id).await?;
    }
    Ok(())
}

/// A partial consent update: only the fields present change.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsentPatch {
    pub profiling: Option<bool>,
    #[serde(default)]
    pub marketing: MarketingPatch,
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketingPatch {
    pub push: Option<bool>,
    pub email: Option<bool>,
    pub sms: Option<bool>,
    pub in_app: Option<bool>,
}

impl ConsentPatch {
    fn changes(&self) -> Vec<(ConsentScope, bool)> {
        let m = &self.marketing;
        let channels = [
            (MarketingChannel::Push, m.push),
            (MarketingChannel::Email, m.email),
            (MarketingChannel::Sms, m.sms),
            (MarketingChannel::InApp, m.in_app),
        ];
        self.profiling
            .map(|granted| (ConsentScope::Profiling, granted))
            .into_iter()
            .chain(
                channels
                    .into_iter()
                    .filter_map(|(c, g)| g.map(|g| (ConsentScope::Marketing(c), g))),
            )
            .collect()
    }
}

/// Grants or withdraws consents, each change on record; a withdrawal of profiling consent
/// removes the profile and the vector in the same request.
pub async fn set_consents(
    ctx: &Context,
    id: &CustomerId,
    patch: &ConsentPatch,
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<Consents> {
    let consents = ctx
        .store
        .set_consents(id, &patch.changes(), by, now)
        .await?
        .ok_or(ServiceError::NotFound)?;
    follow_consent(ctx, id, consents.profiling).await?;
    Ok(consents)
}

/// Stores a batch of events all or nothing (see [`IngestOutcome`]); the new payments are
/// then evaluated by transaction monitoring, which files the alerts they raise, and by the
/// loyalty rules, which post the points purchases earn and refunds take back. The
/// customers' profiles follow in the background, and a read recomputes if it gets there
/// first.
pub async fn ingest(
    ctx: &Context,
    events: &[Event],
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<IngestOutcome> {
    let outcome = ctx.store.ingest(events, by, now).await?;
    // Stored is stored: a monitoring failure is logged, never turned into a refusal of
    // events already committed (the scan finds what it missed).
    if let Err(e) = ctx
        .monitor()
        .observe(ctx.store.as_ref(), events, &outcome.duplicates, by, now)
        .await
    {
        tracing::error!(error = %e, "stored payments were not evaluated by monitoring");
    }
    // The same for points: what a failure missed is earned when the payments come again
    // or `sextant loyalty earn` runs over them (postings are keyed by payment).
    if let Err(e) = crate::loyalty::earn_on_events(
        ctx.store.as_ref(),
        &crate::loyalty::rules(),
        events,
        by,
        now,
    )
    .await
    {
        tracing::error!(error = %e, "stored payments did not earn their loyalty points");
    }
    let mut touched: Vec<CustomerId> = events.iter().map(|e| e.customer_id().clone()).collect();
    touched.sort_unstable();
    touched.dedup();
    ctx.pipeline.enqueue(touched);
    Ok(outcome)
}

/// The holdings a position feed sends for customer `id`: one position per product, each
/// about this customer, every bad field named with the item's index.
pub fn parse_holdings(id: &CustomerId, records: Vec<HoldingRecord>) -> Result<Vec<Holding>> {
    if records.len() > HOLDINGS_MAX {
        return Err(ServiceError::TooLarge(format!(
            "at most {HOLDINGS_MAX} holdings per customer"
        )));
    }
    let mut holdings = Vec::with_capacity(records.len());
    let mut problems = Vec::new();
    let mut seen = HashSet::new();
    for (index, record) in records.into_iter().enumerate() {
        if !seen.insert(record.product_id.clone()) {
            problems.push(
                ItemProblem::field(
                    "product_id",
                    "duplicate_product",
                    "one position per product",
                )
                .at(index),
            );
            continue;
        }
        if record.customer_id != id.as_str() {
            problems.push(
                ItemProblem::field(
                    "customer_id",
                    "id_mismatch",
                    "a holding's customer_id must equal the path",
                )
                .at(index),
            );
            continue;
        }
        match record.into_domain() {
            Ok(h) => holdings.push(h),
            Err(errors) => problems.extend(
                errors
                    .into_iter()
                    .map(|e| ItemProblem::field(&e.field, e.code, e.message).at(index)),
            ),
        }
    }
    if !problems.is_empty() {
        return Err(ServiceError::Invalid(problems));
    }
    Ok(holdings)
}

/// Replaces the customer's holdings (the bank's position feed).
pub async fn replace_holdings(
    ctx: &Context,
    id: &CustomerId,
    holdings: &[Holding],
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<()> {
    ctx.store
        .customer(id)
        .await?
        .ok_or(ServiceError::NotFound)?;
    ctx.store.replace_holdings(id, holdings, by, now).await?;
    Ok(())
}
