//! Training: input checks, popularity counts, one regression per product (in parallel).

use std::collections::BTreeMap;

use ndarray::{concatenate, Array2, Axis};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use sextant_models::linear::{LogisticRegression, Standardizer};
use sextant_models::matrix::{from_fn_rows, from_rows};

use super::checks::{check_body, check_names};
use super::{
    column, extra_columns, standardise, Body, MarketingError, OfferModel, OfferModelOptions,
    ProductModel, SegmentPopularity, TrainingExample, FORMAT, MAX_EXAMPLES, MAX_SEGMENTS,
};

pub(super) fn fit(
    product_ids: &[String],
    feature_names: &[String],
    examples: &[TrainingExample],
    options: &OfferModelOptions,
) -> Result<OfferModel, MarketingError> {
    check_options(options)?;
    check_names(product_ids, feature_names)?;
    check_examples(examples, product_ids.len(), feature_names.len())?;
    let counts = AdoptionCounts::count(examples, product_ids.len())?;
    let overall_popularity = counts.overall_shares();
    let segments = counts.segment_shares(&overall_popularity, options.popularity_prior);

    let rows = training_rows(examples.len(), options.max_rows, options.seed);
    let profile = fit_profile(examples, &rows, feature_names.len());
    let profile_rows = from_fn_rows(rows.len(), feature_names.len(), |k, row| {
        standardised_profile(examples[rows[k]].features.as_deref(), &profile, row)
    });
    let training = Training {
        examples,
        rows: &rows,
        profile_rows: &profile_rows,
        counts: &counts,
        overall: &overall_popularity,
        options,
    };
    let products = (0..product_ids.len())
        .into_par_iter()
        .map(|p| {
            training
                .fit_product(p)
                .map_err(|source| MarketingError::Fit {
                    product: product_ids[p].clone(),
                    source,
                })
        })
        .collect::<Result<Vec<_>, _>>()?;

    let body = Body {
        format: FORMAT.to_owned(),
        product_ids: product_ids.to_vec(),
        feature_names: feature_names.to_vec(),
        trained_on: examples.len(),
        options: options.clone(),
        profile,
        overall_popularity,
        segments,
        products,
    };
    debug_assert_eq!(check_body(&body), Ok(()));
    Ok(OfferModel::new(body))
}

fn check_options(options: &OfferModelOptions) -> Result<(), MarketingError> {
    if !(options.l2.is_finite() && options.l2 > 0.0) {
        return Err(MarketingError::invalid(
            "options.l2",
            format!("is {}; it must be a finite number above 0", options.l2),
        ));
    }
    if options.min_positives == 0 {
        return Err(MarketingError::invalid(
            "options.min_positives",
            "must be at least 1",
        ));
    }
    if !(options.popularity_prior.is_finite() && options.popularity_prior > 0.0) {
        return Err(MarketingError::invalid(
            "options.popularity_prior",
            format!(
                "is {}; it must be a finite number above 0",
                options.popularity_prior
            ),
        ));
    }
    if options.max_rows == 0 {
        return Err(MarketingError::invalid(
            "options.max_rows",
            "must be at least 1",
        ));
    }
    Ok(())
}

fn check_examples(
    examples: &[TrainingExample],
    products: usize,
    features: usize,
) -> Result<(), MarketingError> {
    if examples.is_empty() || examples.len() > MAX_EXAMPLES {
        return Err(MarketingError::invalid(
            "examples",
            format!(
                "has {} examples; fit takes 1 to {MAX_EXAMPLES}",
                examples.len()
            ),
        ));
    }
    for (i, example) in examples.iter().enumerate() {
        let field = |name: &str| format!("examples[{i}].{name}");
        if example.held.len() != products {
            return Err(MarketingError::invalid(
                field("held"),
                format!(
                    "has {} labels; the model covers {products} products",
                    example.held.len()
                ),
            ));
        }
        if let Some(row) = &example.features {
            if row.len() != features {
                return Err(MarketingError::invalid(
                    field("features"),
                    format!(
                        "has {} values; there are {features} feature names",
                        row.len()
                    ),
                ));
            }
            if let Some(j) = row.iter().position(|v| !v.is_finite()) {
                return Err(MarketingError::invalid(
                    format!("examples[{i}].features[{j}]"),
                    "is not a finite number",
                ));
            }
        }
        let shares = &example.neighbour_share;
        if !shares.is_empty() && shares.len() != products {
            return Err(MarketingError::invalid(
                field("neighbour_share"),
                format!(
                    "has {} shares; expected none or one per product ({products})",
                    shares.len()
                ),
            ));
        }
        if let Some(p) = shares.iter().position(|s| !(0.0..=1.0).contains(s)) {
            return Err(MarketingError::invalid(
                format!("examples[{i}].neighbour_share[{p}]"),
                format!("is {}; a share is within 0..=1", shares[p]),
            ));
        }
        let interactions = example.interactions.len();
        if interactions != 0 && interactions != products {
            return Err(MarketingError::invalid(
                field("interactions"),
                format!(
                    "has {interactions} entries; expected none or one per product ({products})"
                ),
            ));
        }
    }
    Ok(())
}

/// Holders per product, overall and per segment, over every example.
struct AdoptionCounts {
    customers: usize,
    held: Vec<usize>,
    /// segment -> (customers, holders per product)
    segments: BTreeMap<u32, (usize, Vec<usize>)>,
}

impl AdoptionCounts {
    fn count(examples: &[TrainingExample], products: usize) -> Result<Self, MarketingError> {
        let mut counts = AdoptionCounts {
            customers: examples.len(),
            held: vec![0; products],
            segments: BTreeMap::new(),
        };
        for example in examples {
            add_labels(&mut counts.held, &example.held);
            if let Some(segment) = example.segment {
                let entry = counts
                    .segments
                    .entry(segment)
                    .or_insert_with(|| (0, vec![0; products]));
                entry.0 += 1;
                add_labels(&mut entry.1, &example.held);
            }
        }
        if counts.segments.len() > MAX_SEGMENTS {
            return Err(MarketingError::invalid(
                "examples",
                format!(
                    "have {} distinct segments; the limit is {MAX_SEGMENTS}",
                    counts.segments.len()
                ),
            ));
        }
        Ok(counts)
    }

    fn overall_shares(&self) -> Vec<f64> {
        self.held
            .iter()
            .map(|&held| laplace(held, self.customers))
            .collect()
    }

    fn segment_shares(&self, overall: &[f64], prior: f64) -> Vec<SegmentPopularity> {
        self.segments
            .iter()
            .map(|(&segment, (customers, held))| SegmentPopularity {
                segment,
                customers: *customers,
                shares: held
                    .iter()
                    .zip(overall)
                    .map(|(&held, &overall)| smoothed(held, *customers, overall, prior))
                    .collect(),
            })
            .collect()
    }

    /// The popularity a training example sees for product `p`: its segment's (or the
    /// overall) share with the example's own label left out.
    fn leave_one_out(&self, example: &TrainingExample, p: usize, overall: f64, prior: f64) -> f64 {
        let own = usize::from(example.held[p]);
        match example.segment.and_then(|s| self.segments.get(&s)) {
            Some((customers, held)) => smoothed(held[p] - own, customers - 1, overall, prior),
            None => laplace(self.held[p] - own, self.customers - 1),
        }
    }
}

fn add_labels(totals: &mut [usize], labels: &[bool]) {
    for (total, &label) in totals.iter_mut().zip(labels) {
        *total += usize::from(label);
    }
}

fn laplace(held: usize, customers: usize) -> f64 {
    (held as f64 + 1.0) / (customers as f64 + 2.0)
}

fn smoothed(held: usize, customers: usize, overall: f64, prior: f64) -> f64 {
    (held as f64 + prior * overall) / (customers as f64 + prior)
}

/// Every example, or a seeded sample of `max_rows` of them in their original order.
fn training_rows(examples: usize, max_rows: usize, seed: u64) -> Vec<usize> {
    if examples <= max_rows {
        return (0..examples).collect();
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut rows = rand::seq::index::sample(&mut rng, examples, max_rows).into_vec();
    rows.sort_unstable();
    rows
}

/// Standardisation over the rows that have a profile; identity when none has.
fn fit_profile(examples: &[TrainingExample], rows: &[usize], features: usize) -> Standardizer {
    let present: Vec<Vec<f64>> = rows
        .iter()
        .filter_map(|&i| examples[i].features.clone())
        .collect();
    if present.is_empty() {
        return Standardizer {
            mean: vec![0.0; features],
            std: vec![1.0; features],
        };
    }
    let present = from_rows(&present).expect("checked: every profile has the model's width");
    Standardizer::fit(present.view())
}

/// Writes a customer's standardised profile into `out` (zeros, the mean, without one).
fn standardised_profile(row: Option<&[f64]>, profile: &Standardizer, out: &mut [f64]) {
    match row {
        Some(row) => {
            let standardised = row
                .iter()
                .zip(profile.mean.iter().zip(&profile.std))
                .map(|(&value, (&mean, &std))| standardise(value, mean, std));
            for (o, v) in out.iter_mut().zip(standardised) {
                *o = v;
            }
        }
        None => out.fill(0.0),
    }
}

/// What every product's fit shares.
struct Training<'a> {
    examples: &'a [TrainingExample],
    rows: &'a [usize],
    /// The standardised profile of every training row.
    profile_rows: &'a Array2<f64>,
    counts: &'a AdoptionCounts,
    overall: &'a [f64],
    options: &'a OfferModelOptions,
}

impl Training<'_> {
    fn fit_product(&self, p: usize) -> Result<ProductModel, sextant_models::ModelError> {
        let positives = self.counts.held[p];
        let labels: Vec<bool> = self
            .rows
            .iter()
            .map(|&i| self.examples[i].held[p])
            .collect();
        let sampled_positives = labels.iter().filter(|&&held| held).count();
        let sampled_negatives = labels.len() - sampled_positives;
        if sampled_positives.min(sampled_negatives) < self.options.min_positives {
            return Ok(ProductModel::Popularity { positives });
        }
        let extras_raw = from_fn_rows(self.rows.len(), column::EXTRA, |k, row| {
            let example = &self.examples[self.rows[k]];
            let popularity = self.counts.leave_one_out(
                example,
                p,
                self.overall[p],
                self.options.popularity_prior,
            );
            row.copy_from_slice(&extra_columns(
                example.features.is_some(),
                example.neighbour_share.get(p).copied(),
                popularity,
                example.interactions.get(p).unwrap_or(&Default::default()),
            ));
        });
        let extras = Standardizer::fit(extras_raw.view());
        let x = concatenate(
            Axis(1),
            &[
                self.profile_rows.view(),
                extras.transform_rows(extras_raw.view()).view(),
            ],
        )
        .expect("both blocks have one row per training row");
        let regression = match LogisticRegression::fit(x.view(), &labels, self.options.l2) {
            Ok(regression) => regression,
            // Nearly separable rows (a small population) can leave Newton's method short of
            // its tolerance: a stronger penalty makes the problem well conditioned, and if
            // even that fails the product ranks by popularity rather than failing training.
            Err(sextant_models::ModelError::NotConverged { .. }) => {
                let stronger = self.options.l2.max(1e-3) * 100.0;
                match LogisticRegression::fit(x.view(), &labels, stronger) {
                    Ok(regression) => regression,
                    Err(sextant_models::ModelError::NotConverged { .. }) => {
                        return Ok(ProductModel::Popularity { positives })
                    }
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
        };
        Ok(ProductModel::Logistic {
            positives,
            extras,
            regression,
        })
    }
}
