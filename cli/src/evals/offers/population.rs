//! The population of the evaluation: generated a chunk at a time, each customer's
//! latest-adopted product held out before anything is stored.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use rayon::prelude::*;
use sextant_domain::{BehaviourKind, Event, Holding, ProductId};
use sextant_store::{Actor, Store, INGEST_CALL_MAX_EVENTS};
use sextant_synth::CustomerBundle;

use super::{Member, CHUNK_CUSTOMERS, VIEWS_DAYS};

/// The product a customer adopted last (max `opened_at`, ties to the larger product id), when
/// they hold at least two distinct products.
pub(super) fn latest_adopted(holdings: &[Holding]) -> Option<ProductId> {
    let distinct: BTreeSet<&ProductId> = holdings.iter().map(|h| &h.product_id).collect();
    if distinct.len() < 2 {
        return None;
    }
    holdings
        .iter()
        .max_by(|a, b| {
            a.opened_at
                .cmp(&b.opened_at)
                .then_with(|| a.product_id.cmp(&b.product_id))
        })
        .map(|h| h.product_id.clone())
}

/// Applies the hold-out to one generated customer: their member record and the holdings to
/// store (every holding of the held-out product removed).
fn hold_out(bundle: &CustomerBundle, views_since: DateTime<Utc>) -> (Member, Vec<Holding>) {
    let held_out = latest_adopted(&bundle.holdings);
    let kept: Vec<Holding> = bundle
        .holdings
        .iter()
        .filter(|h| Some(&h.product_id) != held_out.as_ref())
        .cloned()
        .collect();
    let held: BTreeSet<ProductId> = kept.iter().map(|h| h.product_id.clone()).collect();
    let member = Member {
        id: bundle.customer.id.clone(),
        held: held.into_iter().collect(),
        validation: latest_adopted(&kept),
        held_out,
        has_behaviour: bundle
            .behaviour
            .iter()
            .any(|b| b.kind == BehaviourKind::ProductView && b.occurred_at >= views_since),
    };
    (member, kept)
}

/// Generates the population a chunk at a time (in parallel), applies the hold-out and stores
/// customers, events and the remaining holdings. Returns the members in index order and the
/// distinct holdings generated.
pub(super) async fn store_population(
    store: &dyn Store,
    config: &sextant_synth::Config,
    now: DateTime<Utc>,
) -> anyhow::Result<(Vec<Member>, usize)> {
    let mut members = Vec::with_capacity(usize::try_from(config.customers)?);
    let mut generated = 0;
    let mut start = 0;
    let views_since = now - Duration::days(VIEWS_DAYS);
    crate::commands::fx::publish_synthetic(store, config, &Actor::system("eval")).await?;
    while start < config.customers {
        let end = (start + CHUNK_CUSTOMERS).min(config.customers);
        let chunk_config = *config;
        let bundles = tokio::task::spawn_blocking(move || {
            (start..end)
                .into_par_iter()
                .map(|i| sextant_synth::generate_customer(&chunk_config, i))
                .collect::<Vec<_>>()
        })
        .await?;
        let customers: Vec<_> = bundles.iter().map(|b| b.customer.clone()).collect();
        store
            .put_customers(&customers, &Actor::system("eval"), now)
            .await?;
        let mut holdings = Vec::new();
        let mut events = Vec::new();
        for bundle in bundles {
            let (member, kept) = hold_out(&bundle, views_since);
            generated += member.held.len() + usize::from(member.held_out.is_some());
            members.push(member);
            holdings.extend(kept);
            events.extend(bundle.payments.into_iter().map(Event::Payment));
            events.extend(bundle.behaviour.into_iter().map(Event::Behaviour));
        }
        for batch in events.chunks(INGEST_CALL_MAX_EVENTS) {
            store.ingest(batch, &Actor::system("eval"), now).await?;
        }
        store
            .upsert_holdings(&holdings, &Actor::system("eval"), now)
            .await?;
        start = end;
    }
    Ok((members, generated))
}
