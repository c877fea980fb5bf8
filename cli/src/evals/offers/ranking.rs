//! The service's offers for each held-out customer, ranked on the code path that serves
//! them (the same assembly of signals as `offers_for`).

use std::collections::{HashMap, HashSet};

use anyhow::Context;
use chrono::{DateTime, Duration, Utc};
use sextant_domain::{ProductId, ProductKind, RiskTolerance};
use sextant_marketing::offers::{rank, OfferContext, OfferPolicy, OfferProduct};
use sextant_profiling::FEATURE_VERSION;
use sextant_services::marketing::audiences::for_each_row;
use sextant_services::marketing::offers::{
    neighbours, Assembled, OfferEngine, INTERACTIONS_MAX, INTERACTION_DAYS,
};
use sextant_store::{MarketingRow, Store};
use sextant_vectors::VectorStore;

use super::{Case, Items, Member};

/// Ranks each held-out customer's offers on the service's path, checking on the way that the
/// store never saw the held-out product.
pub(super) async fn rank_cases(
    engine: &OfferEngine,
    store: &dyn Store,
    vectors: &dyn VectorStore,
    members: &[Member],
    items: &Items,
    k: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<Case>> {
    let wanted: HashSet<&str> = members
        .iter()
        .filter(|m| m.held_out.is_some())
        .map(|m| m.id.as_str())
        .collect();
    let mut rows: HashMap<String, MarketingRow> = HashMap::with_capacity(wanted.len());
    for_each_row(store, |row| {
        if wanted.contains(row.customer.id.as_str()) {
            rows.insert(row.customer.id.as_str().to_owned(), row.clone());
        }
    })
    .await?;
    let mut cases = Vec::with_capacity(wanted.len());
    for (index, member) in members.iter().enumerate() {
        let Some(held_out) = &member.held_out else {
            continue;
        };
        let row = rows
            .get(member.id.as_str())
            .with_context(|| format!("customer {} was not stored", member.id.as_str()))?;
        anyhow::ensure!(
            !row.held.contains(held_out),
            "customer {}'s held-out product {} reached the store",
            member.id.as_str(),
            held_out.as_str()
        );
        let target = *items
            .number
            .get(held_out)
            .with_context(|| format!("{} is not in the catalogue", held_out.as_str()))?;
        let lists = service_lists(engine, store, vectors, row, k, now).await?;
        cases.push(Case {
            member: index,
            target,
            has_behaviour: member.has_behaviour,
            repayment_traces: matches!(
                items.kinds[target],
                ProductKind::ConsumerLoan | ProductKind::InstalmentPlan
            ),
            held: items.numbers(&row.held),
            tolerance: row
                .risk_level
                .and_then(|l| RiskTolerance::new(l).ok())
                .unwrap_or(RiskTolerance::LOWEST),
            offers: lists.map(|list| items.numbers(&list)),
        });
    }
    Ok(cases)
}

/// The service's offers for one customer, assembled and ranked as `offers_for` does, with
/// in-app consent, every product eligible, no campaigns and no exposure limits: within the
/// customer's level, then without the suitability filter.
async fn service_lists(
    engine: &OfferEngine,
    store: &dyn Store,
    vectors: &dyn VectorStore,
    row: &MarketingRow,
    k: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<[Vec<ProductId>; 2]> {
    let customer = &row.customer;
    let profile = row
        .profile
        .as_ref()
        .filter(|p| customer.consents.profiling && p.feature_version == FEATURE_VERSION);
    let near = if customer.consents.profiling {
        neighbours(vectors, &customer.id).await?
    } else {
        Vec::new()
    };
    let events = store
        .offer_interactions(
            &customer.id,
            now - Duration::days(INTERACTION_DAYS),
            INTERACTIONS_MAX,
        )
        .await?;
    let assembled = Assembled::new(engine, profile, engine.neighbour_share(&near), &events, now);
    let catalogue: Vec<OfferProduct> = engine
        .catalogue
        .iter()
        .zip(&assembled.by_listing)
        .map(|(entry, interactions)| OfferProduct {
            product: entry.version.product.clone(),
            eligible: true,
            interactions: *interactions,
        })
        .collect();
    let signals = assembled.signals();
    let policy = OfferPolicy {
        impressions_cap_7d: u32::MAX,
        dismissal_cooldown_days: 0,
        max_limit: k,
    };
    let level = row.risk_level.and_then(|l| RiskTolerance::new(l).ok());
    let list = |tolerance: Option<RiskTolerance>| {
        let ctx = OfferContext {
            tolerance,
            in_app_consent: true,
            held: &row.held,
            campaigns: &[],
        };
        rank(&engine.model, &catalogue, &signals, &ctx, &policy, k)
            .offers
            .into_iter()
            .map(|o| o.product_id)
            .collect()
    };
    Ok([list(level), list(Some(RiskTolerance::HIGHEST))])
}
