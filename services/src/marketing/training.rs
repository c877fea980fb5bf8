//! The offer model trained on the stored population: every profiled customer (or a
//! deterministic sample), labelled by the products they hold, with their neighbours from the
//! vector store and their own offer behaviour; stored by version and made the active one.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{Duration, Utc};
use serde::Serialize;
use sextant_marketing::propensity::{OfferModel, OfferModelOptions, TrainingExample};
use sextant_profiling::{catalogue, FEATURE_VERSION};
use sextant_store::{Actor, MarketingRow, Store, StoredOfferModel};
use sextant_vectors::VectorStore;

use super::audiences::for_each_row;
use super::offers::{
    example, interactions, neighbours, share_of, INTERACTIONS_MAX, INTERACTION_DAYS,
};
use crate::{Result, ServiceError};

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
pub async fn model_products(store: &dyn Store) -> Result<Vec<String>> {
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
) -> Result<Vec<TrainingExample>> {
    let names: Vec<&str> = catalogue().iter().map(|s| s.name).collect();
    let positions = feature_names
        .iter()
        .map(|f| {
            names.iter().position(|n| n == f).ok_or_else(|| {
                ServiceError::invalid(
                    "feature_names",
                    "unknown_feature",
                    format!("`{f}` is not a profile feature"),
                )
            })
        })
        .collect::<Result<Vec<usize>>>()?;
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
    .await?;
    let now = Utc::now();
    let slot = |p: &str| product_ids.iter().position(|m| m == p);
    let mut examples = Vec::with_capacity(rows.len().min(TRAINING_CUSTOMERS_MAX));
    for row in rows
        .iter()
        .filter(|r| sampled(r.customer.id.as_str(), total))
    {
        let id = &row.customer.id;
        let near = neighbours(vectors, id).await?;
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
    by: &Actor,
) -> Result<OfferTraining> {
    let started = Instant::now();
    let product_ids = model_products(store).await?;
    let feature_names: Vec<String> = offer_features().into_iter().map(str::to_owned).collect();
    let examples = training_examples(store, vectors, &product_ids, &feature_names).await?;
    if examples.is_empty() {
        return Err(ServiceError::NotReady {
            code: "no_profiles",
            message: "no profiled customer with profiling consent: run `sextant profile` first"
                .into(),
        });
    }
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
    .await
    .map_err(ServiceError::internal)?
    .map_err(|e| ServiceError::internal(format!("offer model: {e}")))?;
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
        .put_offer_model(
            &StoredOfferModel {
                version: model.version().to_owned(),
                created_at: Utc::now(),
                actor: by.id.clone(),
                metrics: serde_json::to_value(&report).map_err(ServiceError::internal)?,
                artifact: model.to_json(),
            },
            by,
        )
        .await?;
    Ok(report)
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
