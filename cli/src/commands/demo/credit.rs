//! The demo's credit check: an instalment quote for every profiled customer, decided by the
//! active model and policy (not recorded), tallied by outcome, band and reason; then one
//! real quote recorded and replayed from its record.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use serde::Serialize;
use sextant_domain::CustomerId;
use sextant_lending::{CreditRequest, Outcome};
use sextant_services::lending::operations::replay;
use sextant_services::lending::{decide_for, decide_with, QUOTE_TTL_MINUTES};
use sextant_services::Context;
use sextant_store::{Actor, PAGE_MAX};

use crate::output::Report;

/// What the demo's credit check found over the whole population.
#[derive(Debug, Default, Serialize)]
pub struct DemoCredit {
    pub model_version: String,
    pub customers: usize,
    pub quote_amount_minor: i64,
    pub quotes_approved: usize,
    pub quotes_declined: usize,
    /// Quotes recorded as real ones (searchable and replayable in the console).
    pub quotes_recorded: usize,
    /// Customers per band (`none` above the last cut-off).
    pub bands: Vec<(String, usize)>,
    /// How often each reason code was given, most frequent first.
    pub decline_reasons: Vec<(String, usize)>,
    /// Declines without a reason or with more than four: must be zero.
    pub declines_without_valid_reasons: usize,
    /// One quote recorded and replayed, to show the record reproduces the decision.
    pub recorded_quote_id: Option<String>,
    pub recorded_quote_replays_identically: bool,
}

fn instalment(amount_minor: i64) -> CreditRequest {
    CreditRequest::Instalment {
        amount_minor,
        merchant: "m-demo".into(),
    }
}

/// Quotes recorded as real ones (the first customers in id order), so that compliance
/// officers find decisions to search, replay and report on; the rest are decided only.
const RECORDED_QUOTES: usize = 2_000;

/// Asks for an instalment quote of `amount_minor` for every profiled customer, records the
/// first [`RECORDED_QUOTES`] as real quotes, tallies outcomes and reasons, then records one
/// more quote and replays it.
pub async fn check(ctx: &Context, amount_minor: i64) -> anyhow::Result<DemoCredit> {
    let lender = ctx.lender().await?;
    let today = Utc::now().date_naive();
    let mut report = DemoCredit {
        model_version: lender.model_version().to_owned(),
        quote_amount_minor: amount_minor,
        ..DemoCredit::default()
    };
    let mut bands = BTreeMap::<String, usize>::new();
    let mut reasons = BTreeMap::<String, usize>::new();
    let mut first_approved: Option<CustomerId> = None;
    let mut after: Option<CustomerId> = None;
    loop {
        let page = ctx.store.profiles(after.as_ref(), PAGE_MAX).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.customer_id.clone());
        for profile in page {
            let Some(customer) = ctx.store.customer(&profile.customer_id).await? else {
                continue;
            };
            let decision = if report.customers < RECORDED_QUOTES {
                let quote_id = sextant_services::new_id("cq");
                let (decision, record) = decide_for(
                    ctx,
                    &Actor::system("demo"),
                    &profile.customer_id,
                    instalment(amount_minor),
                    customer.customer.base_currency,
                    "instalment_quote",
                    &quote_id,
                    Some(Duration::minutes(QUOTE_TTL_MINUTES)),
                )
                .await?;
                ctx.store
                    .record_credit_decision(&record, None, &Actor::system("demo"))
                    .await?;
                report.quotes_recorded += 1;
                decision
            } else {
                let inputs = lender.inputs(
                    &customer.customer,
                    &profile.features,
                    profile.as_of,
                    instalment(amount_minor),
                    today,
                );
                decide_with(&lender.model, &inputs)?
            };
            report.customers += 1;
            *bands
                .entry(decision.band.clone().unwrap_or_else(|| "none".into()))
                .or_default() += 1;
            match decision.outcome {
                Outcome::Approved => {
                    report.quotes_approved += 1;
                    first_approved.get_or_insert(profile.customer_id.clone());
                }
                Outcome::Declined => {
                    report.quotes_declined += 1;
                    if decision.reasons.is_empty() || decision.reasons.len() > 4 {
                        report.declines_without_valid_reasons += 1;
                    }
                    for r in &decision.reasons {
                        *reasons.entry(r.code.clone()).or_default() += 1;
                    }
                }
            }
        }
    }
    report.bands = bands.into_iter().collect();
    let mut reasons: Vec<(String, usize)> = reasons.into_iter().collect();
    reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    report.decline_reasons = reasons;
    if let Some(id) = first_approved {
        let quote_id = format!("cq_demo_{}", Utc::now().timestamp_millis());
        let ttl = Some(Duration::minutes(QUOTE_TTL_MINUTES));
        let base = ctx
            .store
            .customer(&id)
            .await?
            .map_or(sextant_domain::Currency::EUR, |c| c.customer.base_currency);
        let (_, record) = decide_for(
            ctx,
            &Actor::system("demo"),
            &id,
            instalment(amount_minor),
            base,
            "instalment_quote",
            &quote_id,
            ttl,
        )
        .await?;
        ctx.store
            .record_credit_decision(&record, None, &Actor::system("demo"))
            .await?;
        report.recorded_quote_replays_identically =
            replay(ctx.store.as_ref(), &quote_id).await?.identical;
        report.recorded_quote_id = Some(quote_id);
    }
    Ok(report)
}

impl Report for DemoCredit {
    fn print_table(&self) {
        let d = self;
        println!(
            "  instalment quote of {:.2} EUR for each of {} customers (model {}): {} approved, {} declined",
            d.quote_amount_minor as f64 / 100.0,
            d.customers,
            d.model_version,
            d.quotes_approved,
            d.quotes_declined
        );
        println!(
            "  {} of those quotes recorded as real ones (the console's credit decisions)",
            d.quotes_recorded
        );
        let bands: Vec<String> = d.bands.iter().map(|(b, n)| format!("{b} {n}")).collect();
        println!("  risk bands: {}", bands.join(", "));
        let reasons: Vec<String> = d
            .decline_reasons
            .iter()
            .take(8)
            .map(|(c, n)| format!("{c} {n}"))
            .collect();
        println!("  most frequent decline reasons: {}", reasons.join(", "));
        if let Some(id) = &d.recorded_quote_id {
            println!(
                "  quote {id} recorded; `sextant credit replay {id}`: {}",
                if d.recorded_quote_replays_identically {
                    "identical"
                } else {
                    "DIFFERS"
                }
            );
        }
    }
}
