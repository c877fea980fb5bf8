//! Marketing jobs over the stored population: training the offer model on what customers
//! hold (with their neighbours from the vector store and their own offer behaviour), and the
//! demo's walk through a marketer's day.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{Duration, Utc};
use serde::Serialize;
use sextant_marketing::propensity::{OfferModel, OfferModelOptions, TrainingExample};
use sextant_profiling::{catalogue, FEATURE_VERSION};
use sextant_vectors::VectorStore;

use crate::audience::for_each_row;
use crate::offers::{
    example, interactions, neighbours, share_of, INTERACTIONS_MAX, INTERACTION_DAYS,
};
use crate::store::{MarketingRow, Store, StoredOfferModel};

/// Most customers the offer model is trained on: beyond this the examples are a
/// deterministic sample (by a hash of the id), which keeps training within a minute.
pub const TRAINING_CUSTOMERS_MAX: usize = 20_000;

/// Profile features computed from the holdings themselves. The offer model does not read
/// them: in training they restate the labels (a fund holder has a fund risk level, a
/// borrower credit owed), so each product's regression learns "already holds it", which says
/// nothing about the products a customer does not hold, the only ones ever offered.
pub const HOLDINGS_FEATURES: [&str; 7] = [
    "holdings_count",
    "assets_value_minor",
    "fund_share_of_assets",
    "fund_risk_level_max",
    "credit_products_count",
    "credit_owed_months",
    "liquid_assets_months",
];

/// The profile features the offer model reads, in catalogue order: all but
/// [`HOLDINGS_FEATURES`].
pub fn offer_features() -> Vec<&'static str> {
    catalogue()
        .iter()
        .map(|s| s.name)
        .filter(|name| !HOLDINGS_FEATURES.contains(name))
        .collect()
}

/// What training did.
#[derive(Debug, Serialize)]
pub struct OfferTraining {
    pub model_version: String,
    pub customers: usize,
    pub products: usize,
    /// Products held per training customer.
    pub adoptions: usize,
    pub gather_seconds: f64,
    pub fit_seconds: f64,
}

/// Products of the catalogue the model covers, in catalogue order (at most 64).
pub async fn model_products(store: &dyn Store) -> anyhow::Result<Vec<String>> {
    let catalogue = store.catalogue().await?;
    Ok(catalogue
        .iter()
        .take(sextant_marketing::propensity::MAX_PRODUCTS.min(64))
        .map(|v| v.product.id.as_str().to_owned())
        .collect())
}

/// Whether a customer is in the training sample.
fn sampled(id: &str, total: usize) -> bool {
    if total <= TRAINING_CUSTOMERS_MAX {
        return true;
    }
    let digest = sextant_hash::sha256_hex(id.as_bytes());
    let bucket = u64::from_str_radix(&digest[..8], 16).unwrap_or(0) % total as u64;
    bucket < TRAINING_CUSTOMERS_MAX as u64
}

/// Gathers the examples: every profiled customer (or a sample), labelled by what they hold,
/// with the profile features named in `feature_names` (see [`offer_features`]).
pub async fn training_examples(
    store: &dyn Store,
    vectors: &dyn VectorStore,
    product_ids: &[String],
    feature_names: &[String],
) -> anyhow::Result<Vec<TrainingExample>> {
    let names: Vec<&str> = catalogue().iter().map(|s| s.name).collect();
    let positions = feature_names
        .iter()
        .map(|f| {
            names
                .iter()
                .position(|n| n == f)
                .ok_or_else(|| anyhow::anyhow!("`{f}` is not a profile feature"))
        })
        .collect::<anyhow::Result<Vec<usize>>>()?;
    let mut rows: Vec<MarketingRow> = Vec::new();
    let mut held: HashMap<String, u64> = HashMap::new();
    let mut total = 0usize;
    for_each_row(store, |row| {
        total += 1;
        let bits = product_ids
            .iter()
            .enumerate()
            .filter(|(_, p)| row.held.iter().any(|h| h.as_str() == p.as_str()))
            .fold(0u64, |b, (i, _)| b | 1 << i);
        if bits != 0 {
            held.insert(row.customer.id.as_str().to_owned(), bits);
        }
        let profiled = row
            .profile
            .as_ref()
            .is_some_and(|p| p.feature_version == FEATURE_VERSION);
        if profiled && row.customer.consents.profiling {
            rows.push(row.clone());
        }
    })
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    let now = Utc::now();
    let slot = |p: &str| product_ids.iter().position(|m| m == p);
    let mut examples = Vec::with_capacity(rows.len().min(TRAINING_CUSTOMERS_MAX));
    for row in rows
        .iter()
        .filter(|r| sampled(r.customer.id.as_str(), total))
    {
        let id = &row.customer.id;
        let near = neighbours(vectors, id)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        let share = share_of(product_ids.len(), &near, |n| {
            held.get(n).copied().unwrap_or(0)
        });
        let events = store
            .offer_interactions(id, now - Duration::days(INTERACTION_DAYS), INTERACTIONS_MAX)
            .await?;
        let counts = interactions(slot, product_ids.len(), &events, now);
        examples.push(example(
            |f| {
                positions
                    .iter()
                    .map(|&i| f.get(i).copied().unwrap_or(f64::NAN))
                    .collect()
            },
            row,
            share,
            counts,
            product_ids,
        ));
    }
    Ok(examples)
}

/// Trains the offer model on the stored population and makes it the active one.
pub async fn train_offers(
    store: &dyn Store,
    vectors: &dyn VectorStore,
    seed: u64,
    actor: &str,
) -> anyhow::Result<OfferTraining> {
    let started = Instant::now();
    let product_ids = model_products(store).await?;
    let feature_names: Vec<String> = offer_features().into_iter().map(str::to_owned).collect();
    let examples = training_examples(store, vectors, &product_ids, &feature_names).await?;
    anyhow::ensure!(
        !examples.is_empty(),
        "no profiled customer with profiling consent: run `sextant profile` first"
    );
    let gather_seconds = started.elapsed().as_secs_f64();
    let adoptions = examples
        .iter()
        .map(|e| e.held.iter().filter(|&&h| h).count())
        .sum();
    let customers = examples.len();
    let options = OfferModelOptions {
        seed,
        ..OfferModelOptions::default()
    };
    let fitting = Instant::now();
    let ids = product_ids.clone();
    let model = tokio::task::spawn_blocking(move || {
        OfferModel::fit(&ids, &feature_names, &examples, &options)
    })
    .await?
    .map_err(|e| anyhow::anyhow!("offer model: {e}"))?;
    let fit_seconds = fitting.elapsed().as_secs_f64();
    let report = OfferTraining {
        model_version: model.version().to_owned(),
        customers,
        products: product_ids.len(),
        adoptions,
        gather_seconds,
        fit_seconds,
    };
    store
        .put_offer_model(&StoredOfferModel {
            version: model.version().to_owned(),
            created_at: Utc::now(),
            actor: actor.to_owned(),
            metrics: serde_json::to_value(&report)?,
            artifact: model.to_json(),
        })
        .await?;
    Ok(report)
}

pub fn print_offer_training(t: &OfferTraining) {
    println!(
        "  offer model {}: {} customers, {} products, {} adoptions; gathered in {:.1}s, fitted in {:.1}s",
        t.model_version, t.customers, t.products, t.adoptions, t.gather_seconds, t.fit_seconds
    );
}

/// What the demo's walk through marketing showed.
#[derive(Debug, Serialize)]
pub struct DemoMarketing {
    pub customers_checked: u64,
    pub offers_served: u64,
    pub customers_without_in_app_consent: u64,
    /// Offers above the customer's risk tolerance, or to a customer without consent, or of a
    /// product they hold: each must be zero.
    pub suitability_breaches: u64,
    pub consent_breaches: u64,
    pub held_offered: u64,
    pub segment_rule: String,
    pub segment_size: u64,
    pub launch: crate::campaigns::LaunchSummary,
    pub launch_replayed_identically: bool,
}

/// Offers for every customer (checked against suitability, consent and holdings), then a
/// marketer's segment, its preview and an idempotent campaign launch with a holdout.
pub async fn demo_marketing(state: &crate::AppState) -> anyhow::Result<DemoMarketing> {
    use crate::audience::{parse_rule, preview, Definition};
    let fail = |e: crate::error::AppError| anyhow::anyhow!("{e}");
    let mut rows = Vec::new();
    for_each_row(state.store.as_ref(), |row| rows.push(row.clone()))
        .await
        .map_err(fail)?;
    let levels: HashMap<String, u8> = state
        .store
        .catalogue()
        .await?
        .into_iter()
        .map(|v| (v.product.id.as_str().to_owned(), v.product.risk_level.get()))
        .collect();
    let (mut offers_served, mut no_consent) = (0u64, 0u64);
    let (mut suitability_breaches, mut consent_breaches, mut held_offered) = (0u64, 0u64, 0u64);
    for row in &rows {
        let list = crate::offers::offers_for(state, &row.customer.id, 5)
            .await
            .map_err(fail)?;
        let consented = row.customer.consents.marketing.in_app;
        no_consent += u64::from(!consented);
        let tolerance = row.risk_level.unwrap_or(1);
        for offer in &list.offers {
            offers_served += 1;
            consent_breaches += u64::from(!consented);
            let level = levels.get(&offer.product_id).copied().unwrap_or(u8::MAX);
            suitability_breaches += u64::from(level > tolerance);
            held_offered += u64::from(row.held.iter().any(|h| h.as_str() == offer.product_id));
        }
    }
    let segment_rule = "savings_rate >= 0.1 and buffer_months >= 1 and consent.email = true";
    let rule = parse_rule("rule", segment_rule).map_err(fail)?;
    let segment_size = preview(
        state.store.as_ref(),
        state.pipeline.vectors.as_ref(),
        &Definition::Rule(rule.clone()),
    )
    .await
    .map_err(fail)?
    .size;
    let now = Utc::now();
    let audience_id = format!("demo-savers-{}", now.timestamp_millis());
    state
        .store
        .put_audience(&crate::store::StoredAudience {
            id: audience_id.clone(),
            version: 1,
            name: "Savers with a buffer, reachable by email".into(),
            kind: "rule".into(),
            definition: serde_json::json!({ "rule": rule.source() }),
            actor: "demo".into(),
            created_at: now,
        })
        .await?;
    let spec = crate::campaigns::CampaignSpec {
        name: "12-month term deposit for savers".into(),
        audience_id: audience_id.clone(),
        audience_version: Some(1),
        product_id: "dep-term-12m".into(),
        channel: "email".into(),
        starts_at: now.to_rfc3339(),
        ends_at: Some((now + Duration::days(30)).to_rfc3339()),
        send_cap: None,
        budget_minor: Some(50_000),
        cost_per_contact_minor: Some(5),
        frequency_cap: crate::campaigns::FrequencyCap {
            max_contacts: 2,
            window_days: 30,
        },
        holdout_share: 0.2,
    };
    let campaign_id = format!("cmp_demo_{}", now.timestamp_millis());
    state
        .store
        .create_campaign(&crate::store::StoredCampaign {
            id: campaign_id.clone(),
            name: spec.name.clone(),
            status: "draft".into(),
            product_id: sextant_domain::ProductId::parse(&spec.product_id)
                .map_err(|e| anyhow::anyhow!("{}", e.message))?,
            channel: spec.channel.clone(),
            spec: serde_json::to_value(&spec)?,
            created_by: "demo".into(),
            created_at: now,
            updated_at: now,
            launched_at: None,
            launch: None,
        })
        .await?;
    let key = format!("demo-launch-{campaign_id}");
    let (_, first) = crate::campaigns::launch(state, "marketer:demo", "demo", &campaign_id, &key)
        .await
        .map_err(fail)?;
    let (_, again) = crate::campaigns::launch(state, "marketer:demo", "demo", &campaign_id, &key)
        .await
        .map_err(fail)?;
    Ok(DemoMarketing {
        customers_checked: rows.len() as u64,
        offers_served,
        customers_without_in_app_consent: no_consent,
        suitability_breaches,
        consent_breaches,
        held_offered,
        segment_rule: segment_rule.into(),
        segment_size,
        launch: serde_json::from_value(first.clone())?,
        launch_replayed_identically: first == again,
    })
}

pub fn print_demo_marketing(d: &DemoMarketing) {
    println!(
        "  {} offers to {} customers ({} without in-app consent got none); breaches: suitability {}, consent {}, held {}",
        d.offers_served,
        d.customers_checked,
        d.customers_without_in_app_consent,
        d.suitability_breaches,
        d.consent_breaches,
        d.held_offered
    );
    println!(
        "  segment `{}`: {} customers",
        d.segment_rule, d.segment_size
    );
    let l = &d.launch;
    println!(
        "  campaign {} launched: {} in treatment, {} held out ({:.0}%), {} left out (no consent {}, unsuitable {}, held {}, ineligible {}, frequency cap {}, over budget {}); a repeated launch {}",
        l.campaign_id,
        l.treatment,
        l.holdout,
        100.0 * l.holdout_share,
        l.excluded.no_consent
            + l.excluded.unsuitable
            + l.excluded.already_held
            + l.excluded.ineligible
            + l.excluded.frequency_cap
            + l.excluded.over_cap,
        l.excluded.no_consent,
        l.excluded.unsuitable,
        l.excluded.already_held,
        l.excluded.ineligible,
        l.excluded.frequency_cap,
        l.excluded.over_cap,
        if d.launch_replayed_identically {
            "changed nothing"
        } else {
            "DIFFERED"
        }
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offer_model_reads_every_profile_feature_but_the_holdings() {
        let all: Vec<&str> = catalogue().iter().map(|s| s.name).collect();
        for name in HOLDINGS_FEATURES {
            assert!(all.contains(&name), "`{name}` is not a profile feature");
        }
        assert_eq!(offer_features().len(), all.len() - HOLDINGS_FEATURES.len());
    }
}
