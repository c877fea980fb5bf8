//! The offer model: how likely a customer is to adopt each catalogue product.
//!
//! Four families of signal feed one L2 logistic regression per product:
//!
//! | family | columns |
//! |---|---|
//! | profile | the standardised profile features (clipped to ±[`Z_LIMIT`]), `has_profile` |
//! | neighbours | logit-ish share of the nearest neighbours who hold the product, `has_neighbours` |
//! | popularity | logit of the product's smoothed adoption share in the customer's segment |
//! | interest | `log1p(views_90d)`, `log1p(clicks_90d)`, `dismissals_30d > 0`, `log1p(impressions_7d)` |
//!
//! A customer without a profile (cold start, or no profiling consent) has zeros (the mean)
//! in the profile columns and `has_profile = 0`; the same holds for neighbours. Conversions
//! are not an input: a conversion is how a product comes to be held, so it would leak the
//! label into the features.
//!
//! Segment popularity is `(held_in_segment + prior * overall) / (customers_in_segment +
//! prior)` with `overall = (held + 1) / (customers + 2)` (Laplace); in training each customer
//! sees it with their own label left out, so a small segment cannot hand its members' labels
//! back to the model. A product with fewer than `min_positives` holders (or non-holders) in
//! training has no regression: its probability is the segment popularity. A customer about
//! whom nothing personal is known (no profile, no neighbours, no interactions) also gets the
//! segment popularity of every product: that is the cold-start answer.
//!
//! [`Contributions`] split the log-odds by family. Every column is standardised, so a column's
//! contribution is its weight times its distance from the training mean (the Shapley value of
//! a linear model); `popularity` also carries the intercept, which makes it the baseline, and
//! a family the customer lacks contributes nothing (its adjustment joins the baseline). The
//! four parts add up to the log-odds of `probability`.

mod checks;
mod error;
mod file;
mod fit;
#[cfg(test)]
pub(crate) mod tests;

use serde::{Deserialize, Serialize};
use sextant_models::linear::{LogisticRegression, Standardizer};

pub use error::MarketingError;
pub use file::MAX_MODEL_BYTES;

/// The format tag inside every model file; a new layout gets a new tag.
const FORMAT: &str = "sextant-offer-model/1";

/// Most products a model covers.
pub const MAX_PRODUCTS: usize = 64;
/// Most profile features a model reads (the catalogue has 71): bounds the Newton system of
/// each product's regression.
pub const MAX_FEATURES: usize = 256;
/// Most training examples `fit` accepts; above `OfferModelOptions::max_rows` it samples.
pub const MAX_EXAMPLES: usize = 2_000_000;
/// Most distinct segments in the training examples (segmentation picks a handful).
pub const MAX_SEGMENTS: usize = 1_024;
/// Standardised profile values are clipped to this many standard deviations, so that one
/// extreme feature value cannot decide the log-odds alone.
pub const Z_LIMIT: f64 = 8.0;

/// What a customer did with one product, counted from behaviour events.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Interactions {
    pub views_90d: u32,
    pub impressions_7d: u32,
    pub clicks_90d: u32,
    pub dismissals_30d: u32,
    pub conversions_365d: u32,
}

impl Interactions {
    /// Field by field maximum: when two counts of the same thing disagree, the filters trust
    /// the larger (a frequency cap is never relaxed by a stale count).
    pub fn max(self, other: Interactions) -> Interactions {
        Interactions {
            views_90d: self.views_90d.max(other.views_90d),
            impressions_7d: self.impressions_7d.max(other.impressions_7d),
            clicks_90d: self.clicks_90d.max(other.clicks_90d),
            dismissals_30d: self.dismissals_30d.max(other.dismissals_30d),
            conversions_365d: self.conversions_365d.max(other.conversions_365d),
        }
    }

    fn is_empty(&self) -> bool {
        *self == Interactions::default()
    }
}

/// Everything the model sees about one customer. Per-product slices are aligned with
/// [`OfferModel::product_ids`]; an empty slice means nothing is known. A slice or a feature
/// row of the wrong length is treated as unknown (see [`OfferModel::check_signals`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct CustomerSignals<'a> {
    /// Profile features in the model's feature order; `None` = no profile (cold start or no
    /// profiling consent). A non-finite value counts as the training mean.
    pub features: Option<&'a [f64]>,
    pub segment: Option<u32>,
    /// Per product: similarity-weighted share of the customer's nearest neighbours (embedding
    /// space) who hold it, 0..=1.
    pub neighbour_share: &'a [f64],
    pub interactions: &'a [Interactions],
}

/// One customer as a training example: the signals as they were, and what they hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TrainingExample {
    pub features: Option<Vec<f64>>,
    pub segment: Option<u32>,
    /// Empty = unknown, else one share per product.
    pub neighbour_share: Vec<f64>,
    /// Empty = none, else one per product.
    pub interactions: Vec<Interactions>,
    /// The label: whether the customer holds each product.
    pub held: Vec<bool>,
}

/// How `fit` trains. Saved with the model, so its version covers them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OfferModelOptions {
    /// L2 penalty per row on the (standardised) weights; must be positive, because some
    /// columns can be constant in a training set (e.g. everyone has a profile).
    pub l2: f64,
    /// Picks the training rows when there are more than `max_rows` examples; fitting is
    /// otherwise deterministic (Newton's method in a fixed order).
    pub seed: u64,
    /// A product needs this many holders and this many non-holders among the training rows
    /// for a regression; otherwise its probability is the segment popularity.
    pub min_positives: usize,
    /// Weight, in customers, of the overall share when smoothing a segment's share: a segment
    /// of `popularity_prior` customers is trusted half and half.
    pub popularity_prior: f64,
    /// Rows the regressions are fitted on at most (a seeded sample above it); popularity is
    /// always counted on every example. Bounds the fitting time.
    pub max_rows: usize,
}

impl Default for OfferModelOptions {
    fn default() -> Self {
        OfferModelOptions {
            l2: 1e-3,
            seed: 0,
            min_positives: 5,
            popularity_prior: 20.0,
            max_rows: 50_000,
        }
    }
}

/// The log-odds of a score split by signal family; they add up to `logit(probability)`.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Contributions {
    pub profile: f64,
    pub neighbours: f64,
    /// The baseline: the intercept, the segment popularity, and the adjustment for any
    /// family the customer lacks.
    pub popularity: f64,
    pub interest: f64,
}

impl Contributions {
    /// The log-odds.
    pub fn total(&self) -> f64 {
        self.profile + self.neighbours + self.popularity + self.interest
    }

    fn popularity_only(probability: f64) -> Contributions {
        Contributions {
            popularity: logit(probability),
            ..Contributions::default()
        }
    }
}

/// The model's answer for one product.
#[derive(Debug, Clone, PartialEq)]
pub struct ProductScore {
    pub probability: f64,
    pub contributions: Contributions,
}

/// A fitted offer model. Serialises (and deserialises, with every check of
/// [`OfferModel::from_json`]) as its model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "file::ModelFile", try_from = "file::ModelFile")]
pub struct OfferModel {
    version: String,
    body: Body,
    /// `(product id, position)` sorted by id, for lookups by id.
    index: Vec<(String, usize)>,
}

/// Everything that affects predictions; the version is its hash.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    format: String,
    product_ids: Vec<String>,
    feature_names: Vec<String>,
    trained_on: usize,
    options: OfferModelOptions,
    /// Standardisation of the profile features, fitted on the examples that have one.
    profile: Standardizer,
    /// Laplace-smoothed adoption share of each product over every example.
    overall_popularity: Vec<f64>,
    /// Sorted by segment.
    segments: Vec<SegmentPopularity>,
    products: Vec<ProductModel>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct SegmentPopularity {
    segment: u32,
    customers: usize,
    shares: Vec<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum ProductModel {
    /// Too few holders or non-holders to fit: the segment popularity is the answer.
    Popularity { positives: usize },
    /// Weights over `[profile features..., extra columns...]`, both standardised.
    Logistic {
        positives: usize,
        extras: Standardizer,
        regression: LogisticRegression,
    },
}

/// The columns after the profile features, in order, and the family each belongs to.
mod column {
    pub const HAS_PROFILE: usize = 0;
    pub const NEIGHBOURS: usize = 1;
    pub const HAS_NEIGHBOURS: usize = 2;
    pub const POPULARITY: usize = 3;
    pub const VIEWS: usize = 4;
    pub const CLICKS: usize = 5;
    pub const DISMISSED: usize = 6;
    pub const IMPRESSIONS: usize = 7;
    pub const EXTRA: usize = 8;
}

#[derive(Clone, Copy)]
enum Family {
    Profile,
    Neighbours,
    Popularity,
    Interest,
}

const EXTRA_FAMILY: [Family; column::EXTRA] = [
    Family::Profile,
    Family::Neighbours,
    Family::Neighbours,
    Family::Popularity,
    Family::Interest,
    Family::Interest,
    Family::Interest,
    Family::Interest,
];

/// The extra columns of one customer and product, shared by training and scoring so the two
/// can never disagree.
fn extra_columns(
    has_profile: bool,
    neighbour_share: Option<f64>,
    popularity: f64,
    interactions: &Interactions,
) -> [f64; column::EXTRA] {
    let mut row = [0.0; column::EXTRA];
    row[column::HAS_PROFILE] = f64::from(u8::from(has_profile));
    if let Some(share) = neighbour_share {
        row[column::NEIGHBOURS] = neighbour_logit(share);
        row[column::HAS_NEIGHBOURS] = 1.0;
    }
    row[column::POPULARITY] = logit(popularity);
    row[column::VIEWS] = f64::from(interactions.views_90d).ln_1p();
    row[column::CLICKS] = f64::from(interactions.clicks_90d).ln_1p();
    row[column::DISMISSED] = f64::from(u8::from(interactions.dismissals_30d > 0));
    row[column::IMPRESSIONS] = f64::from(interactions.impressions_7d).ln_1p();
    row
}

/// A logit that stays finite at shares of exactly 0 and 1 (a customer's handful of
/// neighbours often all hold, or all lack, a product).
fn neighbour_logit(share: f64) -> f64 {
    const PSEUDO_SHARE: f64 = 0.02;
    let share = share.clamp(0.0, 1.0);
    ((share + PSEUDO_SHARE) / (1.0 - share + PSEUDO_SHARE)).ln()
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// One standardised profile value; a non-finite input counts as the mean.
fn standardise(value: f64, mean: f64, std: f64) -> f64 {
    if value.is_finite() {
        ((value - mean) / std).clamp(-Z_LIMIT, Z_LIMIT)
    } else {
        0.0
    }
}

/// Which families a customer's signals actually carry.
#[derive(Clone, Copy)]
struct Known {
    profile: bool,
    neighbours: bool,
    /// The interaction slice is aligned with the products.
    interactions: bool,
    /// At least one interaction was counted.
    any_interaction: bool,
}

impl OfferModel {
    /// Fits one model per product; see the module documentation for the design. Refuses
    /// misaligned or non-finite inputs with the field that is wrong.
    pub fn fit(
        product_ids: &[String],
        feature_names: &[String],
        examples: &[TrainingExample],
        options: &OfferModelOptions,
    ) -> Result<OfferModel, MarketingError> {
        fit::fit(product_ids, feature_names, examples, options)
    }

    fn new(body: Body) -> OfferModel {
        let version = file::version_of(&body);
        let mut index: Vec<(String, usize)> = body
            .product_ids
            .iter()
            .enumerate()
            .map(|(position, id)| (id.clone(), position))
            .collect();
        index.sort();
        OfferModel {
            version,
            body,
            index,
        }
    }

    /// `offers-` and the first 12 hex digits of the SHA-256 of everything that affects
    /// predictions.
    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn product_ids(&self) -> &[String] {
        &self.body.product_ids
    }

    pub fn feature_names(&self) -> &[String] {
        &self.body.feature_names
    }

    /// Examples the model was trained on (all of them count for popularity).
    pub fn trained_on(&self) -> usize {
        self.body.trained_on
    }

    pub fn options(&self) -> &OfferModelOptions {
        &self.body.options
    }

    /// Position of a product in the model's order.
    pub fn product_index(&self, product_id: &str) -> Option<usize> {
        self.index
            .binary_search_by(|(id, _)| id.as_str().cmp(product_id))
            .ok()
            .map(|found| self.index[found].1)
    }

    /// Whether the model has its own popularity figures for `segment`.
    pub fn knows_segment(&self, segment: u32) -> bool {
        self.segment_position(segment).is_some()
    }

    /// Adoption share of each product in `segment`; the overall share for `None` or a
    /// segment the training examples did not have.
    pub fn popularity(&self, segment: Option<u32>) -> Vec<f64> {
        self.popularity_shares(segment).to_vec()
    }

    /// Why `signals` would be partly ignored by [`OfferModel::score`] (a slice or feature row
    /// of the wrong length, a share outside 0..=1); `Ok` when every part is usable.
    pub fn check_signals(&self, signals: &CustomerSignals) -> Result<(), MarketingError> {
        let products = self.body.product_ids.len();
        let features = self.body.feature_names.len();
        if let Some(row) = signals.features {
            if row.len() != features {
                return Err(MarketingError::invalid(
                    "features",
                    format!("has {} values; the model reads {features}", row.len()),
                ));
            }
        }
        for (field, length) in [
            ("neighbour_share", signals.neighbour_share.len()),
            ("interactions", signals.interactions.len()),
        ] {
            if length != 0 && length != products {
                return Err(MarketingError::invalid(
                    field,
                    format!("has {length} values; the model covers {products} products"),
                ));
            }
        }
        if signals
            .neighbour_share
            .iter()
            .any(|share| !(0.0..=1.0).contains(share))
        {
            return Err(MarketingError::invalid(
                "neighbour_share",
                "every share must be within 0..=1",
            ));
        }
        Ok(())
    }

    /// One score per product, in model order. Total: signals it cannot use (wrong length,
    /// non-finite shares) count as unknown rather than fail.
    pub fn score(&self, signals: &CustomerSignals) -> Vec<ProductScore> {
        let known = self.known(signals);
        let popularity = self.popularity_shares(signals.segment);
        if !(known.profile || known.neighbours || known.any_interaction) {
            return popularity
                .iter()
                .map(|&share| ProductScore {
                    probability: share,
                    contributions: Contributions::popularity_only(share),
                })
                .collect();
        }
        let profile: Vec<f64> = match signals.features {
            Some(row) if known.profile => row
                .iter()
                .zip(self.body.profile.mean.iter().zip(&self.body.profile.std))
                .map(|(&value, (&mean, &std))| standardise(value, mean, std))
                .collect(),
            _ => Vec::new(),
        };
        let no_interactions = Interactions::default();
        self.body
            .products
            .iter()
            .enumerate()
            .map(|(p, model)| match model {
                ProductModel::Popularity { .. } => ProductScore {
                    probability: popularity[p],
                    contributions: Contributions::popularity_only(popularity[p]),
                },
                ProductModel::Logistic {
                    extras, regression, ..
                } => {
                    let interactions = if known.interactions {
                        &signals.interactions[p]
                    } else {
                        &no_interactions
                    };
                    let neighbour = known.neighbours.then(|| signals.neighbour_share[p]);
                    let raw = extra_columns(known.profile, neighbour, popularity[p], interactions);
                    logistic_score(regression, extras, &profile, &raw, known)
                }
            })
            .collect()
    }

    fn known(&self, signals: &CustomerSignals) -> Known {
        let products = self.body.product_ids.len();
        let features = self.body.feature_names.len();
        let interactions = signals.interactions.len() == products;
        Known {
            profile: signals.features.is_some_and(|row| row.len() == features),
            neighbours: signals.neighbour_share.len() == products
                && signals.neighbour_share.iter().all(|s| s.is_finite()),
            interactions,
            any_interaction: interactions && signals.interactions.iter().any(|i| !i.is_empty()),
        }
    }

    fn segment_position(&self, segment: u32) -> Option<usize> {
        self.body
            .segments
            .binary_search_by_key(&segment, |s| s.segment)
            .ok()
    }

    fn popularity_shares(&self, segment: Option<u32>) -> &[f64] {
        match segment.and_then(|s| self.segment_position(s)) {
            Some(position) => &self.body.segments[position].shares,
            None => &self.body.overall_popularity,
        }
    }
}

fn logistic_score(
    regression: &LogisticRegression,
    extras: &Standardizer,
    profile: &[f64],
    raw: &[f64; column::EXTRA],
    known: Known,
) -> ProductScore {
    let (profile_weights, extra_weights) = regression
        .weights
        .split_at(regression.weights.len() - column::EXTRA);
    let mut parts = Contributions {
        profile: profile
            .iter()
            .zip(profile_weights)
            .map(|(z, w)| z * w)
            .sum(),
        popularity: regression.intercept,
        ..Contributions::default()
    };
    for (k, family) in EXTRA_FAMILY.iter().enumerate() {
        let term = extra_weights[k] * (raw[k] - extras.mean[k]) / extras.std[k];
        match family {
            Family::Profile => parts.profile += term,
            Family::Neighbours => parts.neighbours += term,
            Family::Popularity => parts.popularity += term,
            Family::Interest => parts.interest += term,
        }
    }
    // What the model does for a customer without a family is part of the baseline, not a
    // signal of that family: a customer without a profile is never told their profile
    // drove an offer.
    if !known.profile {
        parts.popularity += std::mem::take(&mut parts.profile);
    }
    if !known.neighbours {
        parts.popularity += std::mem::take(&mut parts.neighbours);
    }
    ProductScore {
        probability: sigmoid(parts.total()),
        contributions: parts,
    }
}
