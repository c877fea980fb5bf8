//! `sextant marketing eval-offers`: how often the service's offers contain the product a
//! customer adopted last, next to a popularity baseline and implicit's ALS.
//!
//! Protocol (leave-latest-out on a synthetic population, in process):
//!
//! 1. Generate `--customers` with `sextant_synth` (window ending yesterday, so the offer
//!    model's interaction windows, counted back from now, see the behaviour). For every
//!    customer holding at least two distinct products, hold out the latest-adopted one (max
//!    `opened_at`; ties go to the larger product id) and drop it from their holdings *before*
//!    anything is stored: profiles (holdings features), the embedding's adoption head,
//!    neighbours' holdings, training labels and the baselines' matrix never see it.
//! 2. Store everyone in a fresh SQLite store, profile them and train the embedding
//!    (`Pipeline::train`, [`EMBEDDING_EPOCHS`] epochs, filling the vector store), train the
//!    offer model as the service does ([`train_offers`]) and load the engine
//!    ([`load_engine`]).
//! 3. For each held-out customer, rank the catalogue on the service's code path (profile
//!    features and segment, neighbours from the vector store, offer interactions, `rank`) with
//!    in-app consent, no campaigns, every product eligible and no exposure limits (the
//!    frequency cap and dismissal cooldown ration exposure, not relevance, and would give the
//!    methods different candidates). Two candidate sets, the same for every method: products
//!    not held and suitable for the customer's level (C1 when none is assessed), as served;
//!    and products not held, to show what suitability costs.
//! 4. Baselines on the same adoption matrix (customers x products after the hold-out):
//!    popularity (most holders first) and implicit's ALS, whose factors, regularization,
//!    alpha and iterations are chosen by NDCG@k on a validation pair per customer carved out
//!    of that matrix by the same latest-adopted rule (`implicit_als.py`); the script
//!    returns every product's score and the candidates are applied here. Ties go to the
//!    smaller product id in every method.
//! 5. recall@k (the held-out product is in the top k) and NDCG@k (`1 / log2(rank + 1)` when it
//!    is), averaged over held-out customers with 95% normal-approximation intervals (mean ±
//!    1.96 standard errors), also split by whether the customer has behaviour data (a product
//!    view in the last 90 days: the interest signal the offer model reads; every synthetic
//!    customer opens the app), and the paired differences of the offer model against each
//!    baseline.
//!
//! What it does not control: the offer model also reads payments, which can carry traces of
//! the held-out product (loan repayments, instalments); the baselines read only the matrix.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use als::als_scores;
use anyhow::Context;
use chrono::{Duration, NaiveDate, Utc};
use population::store_population;
use ranking::rank_cases;
use scoring::{by_held_out_product, popularity, score};
use serde::{Deserialize, Serialize};
use sextant_domain::{CustomerId, ProductId, ProductKind, RiskLevel, RiskTolerance};
use sextant_models::embedding::EmbeddingConfig;
use sextant_services::marketing::offers::{load_engine, OfferEngine};
use sextant_services::marketing::training::{train_offers, OfferTraining};
use sextant_services::pipeline::Pipeline;
use sextant_store::{Actor, Store};
use sextant_vectors::{EdgeStore, VectorStore};

/// Epochs of the embedding model: fewer than the service's default, enough for neighbours.
pub const EMBEDDING_EPOCHS: usize = 10;
/// Most customers one evaluation generates (memory and time).
pub const CUSTOMERS_MAX: u64 = 100_000;
/// Most offers scored per customer (the service serves at most 20).
pub const K_MAX: usize = 20;
/// A customer "has behaviour data" with a product view this many days back: the interest
/// signal the offer model reads (`views_90d`). Every synthetic customer opens the app.
const VIEWS_DAYS: i64 = 90;
/// Customers generated and stored at a time: bounds memory to one chunk of histories.
const CHUNK_CUSTOMERS: u64 = 250;
/// The implicit release the peer runs.
pub const IMPLICIT_VERSION: &str = "0.7.3";
const ACTOR: &str = "eval-offers";
/// z of a two-sided 95% normal interval.
const Z_95: f64 = 1.96;

/// The protocol in one paragraph, for the table's footer and the JSON.
pub const PROTOCOL: &str = "leave-latest-out: each customer holding 2+ products loses their \
latest-adopted one (max opened_at, ties to the larger id) before anything is stored; profiles, \
embedding, neighbours, offer-model labels and the baselines' matrix never see it. Offers are \
ranked on the service's path (rank: in-app consent, no campaigns, every product eligible, no \
exposure limits); every method gets the same candidates (not held, suitable for the customer's \
level, C1 when none; and not held only). ALS hyperparameters are chosen on a validation pair \
carved from the training matrix by the same rule. recall@k: the held-out product is in the top \
k; NDCG@k: 1/log2(rank+1); 95% intervals: mean +- 1.96 standard errors; ties to the smaller id; \
behaviour data: a product view in the last 90 days.";

#[derive(clap::Args, Debug, Clone)]
pub struct EvalOffersArgs {
    /// Synthetic customers to generate.
    #[arg(long, default_value_t = 3000)]
    pub customers: u64,
    /// Months of history per customer.
    #[arg(long, default_value_t = 6)]
    pub months: u32,
    /// Seeds the population, the embedding, the offer model and ALS.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Offers per customer that count (recall@k, NDCG@k).
    #[arg(long, default_value_t = 5)]
    pub k: usize,
    /// Print one JSON object instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Skip implicit's ALS (it needs python3 and PyPI for its virtual environment).
    #[arg(long)]
    pub no_peer: bool,
}

/// A mean with its 95% interval.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Interval {
    pub mean: f64,
    pub ci95_low: f64,
    pub ci95_high: f64,
}

/// recall@k and NDCG@k of one method on one group of customers.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Figures {
    pub recall_at_k: Interval,
    pub ndcg_at_k: Interval,
}

/// One method's figures, overall and on groups of customers (`None` for an empty group).
#[derive(Debug, Clone, Serialize)]
pub struct MethodFigures {
    pub recall_at_k: Interval,
    pub ndcg_at_k: Interval,
    pub with_behaviour: Option<Figures>,
    pub without_behaviour: Option<Figures>,
    /// Customers whose held-out product is not a loan or an instalment plan: the repayments
    /// of those stay in the payments the offer model reads (the hold-out removes holdings,
    /// not payments), so this is the offer model without that advantage.
    pub without_repayment_traces: Option<Figures>,
}

/// The three methods on one candidate set.
#[derive(Debug, Clone, Serialize)]
pub struct VariantFigures {
    pub candidates: String,
    pub mean_candidates: f64,
    /// Held-out customers whose held-out product is among their candidates (the others
    /// count as misses for every method).
    pub held_out_among_candidates: usize,
    /// Customers with k candidates or fewer: every method scores the same recall on them.
    pub at_most_k_candidates: usize,
    pub offers: MethodFigures,
    pub popularity: MethodFigures,
    /// `None` with `--no-peer`.
    pub als: Option<MethodFigures>,
    /// Paired per-customer differences, offers minus the baseline.
    pub offers_minus_popularity: Figures,
    pub offers_minus_als: Option<Figures>,
}

/// How often each product was the held-out one, and how each method did on it without the
/// suitability filter.
#[derive(Debug, Clone, Serialize)]
pub struct HeldOutProduct {
    pub product_id: String,
    pub risk_level: String,
    /// Customers holding it after the hold-out (the popularity baseline's score).
    pub holders: usize,
    /// Customers for whom it was the held-out product.
    pub customers: usize,
    /// Of those, customers for whom it is suitable.
    pub suitable: usize,
    pub offers_recall_at_k: f64,
    pub popularity_recall_at_k: f64,
    pub als_recall_at_k: Option<f64>,
}

/// ALS's hyperparameters.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlsParams {
    pub factors: u32,
    pub regularization: f64,
    pub alpha: f64,
    pub iterations: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AlsTrial {
    #[serde(flatten)]
    pub params: AlsParams,
    pub validation_ndcg: f64,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlsReport {
    pub implicit_version: String,
    pub chosen: AlsParams,
    pub validation_ndcg_at_k: f64,
    /// Customers with a validation pair (two or more products left after the hold-out).
    pub validation_customers: usize,
    pub grid: Vec<AlsTrial>,
    /// Grid search and final fit, inside Python.
    pub seconds: f64,
}

/// Wall time of each stage.
#[derive(Debug, Clone, Serialize)]
pub struct StageSeconds {
    pub generate_and_store: f64,
    pub profile_and_embed: f64,
    pub train_offer_model: f64,
    pub rank_offers: f64,
    /// Virtual environment (when new), grid search and fit.
    pub als: Option<f64>,
}

#[derive(Debug, Serialize)]
pub struct OfferEval {
    pub protocol: &'static str,
    pub customers: u64,
    pub months: u32,
    pub seed: u64,
    /// Last day of the synthetic window.
    pub end_date: NaiveDate,
    pub k: usize,
    pub catalogue_products: usize,
    /// Distinct (customer, product) holdings generated, and stored after the hold-out.
    pub adoptions_generated: usize,
    pub adoptions_stored: usize,
    /// Customers with two or more products: one product held out each.
    pub customers_evaluated: usize,
    pub customers_with_behaviour: usize,
    pub embedding_epochs: usize,
    pub embedding_validation_loss: f64,
    pub offer_model: OfferTraining,
    /// Not held and suitable for the customer's level, as served.
    pub suitable: VariantFigures,
    /// Not held, whatever its risk level.
    pub unfiltered: VariantFigures,
    pub held_out_products: Vec<HeldOutProduct>,
    pub als: Option<AlsReport>,
    pub stage_seconds: StageSeconds,
    pub seconds: f64,
}

/// What the evaluation keeps of one generated customer.
struct Member {
    id: CustomerId,
    /// Distinct products held after the hold-out.
    held: Vec<ProductId>,
    /// The latest-adopted product, for customers with at least two.
    held_out: Option<ProductId>,
    /// The latest-adopted product of `held` (same rule): ALS's validation pair.
    validation: Option<ProductId>,
    /// Viewed a product in the app in the last [`VIEWS_DAYS`] days.
    has_behaviour: bool,
}

/// The catalogue's products in id order: the item numbers of every method.
struct Items {
    ids: Vec<ProductId>,
    levels: Vec<RiskLevel>,
    kinds: Vec<ProductKind>,
    number: HashMap<ProductId, usize>,
}

impl Items {
    fn of(engine: &OfferEngine) -> Items {
        let mut products: Vec<&sextant_domain::Product> = engine
            .catalogue
            .iter()
            .map(|e| &e.version.product)
            .collect();
        products.sort_by(|a, b| a.id.cmp(&b.id));
        products.dedup_by(|a, b| a.id == b.id);
        Items {
            ids: products.iter().map(|p| p.id.clone()).collect(),
            levels: products.iter().map(|p| p.risk_level).collect(),
            kinds: products.iter().map(|p| p.kind).collect(),
            number: products
                .iter()
                .enumerate()
                .map(|(i, p)| (p.id.clone(), i))
                .collect(),
        }
    }

    fn numbers(&self, products: &[ProductId]) -> Vec<usize> {
        products
            .iter()
            .filter_map(|p| self.number.get(p).copied())
            .collect()
    }
}

/// One held-out customer, ready to score.
struct Case {
    member: usize,
    target: usize,
    has_behaviour: bool,
    /// The held-out product's repayments are in the payments (a loan or instalment plan).
    repayment_traces: bool,
    held: Vec<usize>,
    tolerance: RiskTolerance,
    /// The service's offers within the customer's level, and without the suitability filter.
    offers: [Vec<usize>; 2],
}

/// The two candidate sets, in the order of [`Case::offers`].
#[derive(Clone, Copy, PartialEq, Eq)]
enum Variant {
    Suitable,
    Unfiltered,
}

impl Variant {
    fn index(self) -> usize {
        self as usize
    }

    fn describe(self) -> &'static str {
        match self {
            Variant::Suitable => {
                "not held, suitable for the customer's level (C1 when none is assessed)"
            }
            Variant::Unfiltered => "not held (no suitability filter)",
        }
    }
}

pub async fn eval_offers(args: &EvalOffersArgs) -> anyhow::Result<OfferEval> {
    anyhow::ensure!(
        (1..=CUSTOMERS_MAX).contains(&args.customers),
        "--customers must be within 1..={CUSTOMERS_MAX}"
    );
    anyhow::ensure!(
        (1..=K_MAX).contains(&args.k),
        "--k must be within 1..={K_MAX}"
    );
    let started = Instant::now();
    let now = Utc::now();
    let config = sextant_synth::Config {
        customers: args.customers,
        months: args.months,
        seed: args.seed,
        end_date: now.date_naive() - Duration::days(1),
    };
    config.validate().map_err(|e| anyhow::anyhow!("{e}"))?;
    let work = tempfile::tempdir()?;
    let store: Arc<dyn Store> = crate::bench::scratch_store(None, work.path()).await?;
    let embedding = EmbeddingConfig {
        epochs: EMBEDDING_EPOCHS,
        seed: args.seed,
        ..EmbeddingConfig::default()
    };
    let vectors: Arc<dyn VectorStore> = Arc::new(EdgeStore::open(
        &work.path().join("vectors"),
        embedding.dim,
    )?);
    let pipeline =
        Pipeline::open(store.clone(), vectors.clone(), &work.path().join("models")).await?;

    eprintln!(
        "generating and storing {} customers x {} months",
        args.customers, args.months
    );
    let stage = Instant::now();
    let (members, adoptions_generated) = store_population(store.as_ref(), &config, now).await?;
    let generate_and_store = stage.elapsed().as_secs_f64();

    eprintln!("profiling and training the embedding ({EMBEDDING_EPOCHS} epochs)");
    let stage = Instant::now();
    let trained = pipeline.train(&embedding, now, |_, _| {}).await?;
    let profile_and_embed = stage.elapsed().as_secs_f64();

    eprintln!("training the offer model");
    let stage = Instant::now();
    let offer_model = train_offers(
        store.as_ref(),
        vectors.as_ref(),
        args.seed,
        &Actor::system(ACTOR),
    )
    .await?;
    let engine = load_engine(store.as_ref())
        .await?
        .context("no active offer model after training")?;
    let train_offer_model = stage.elapsed().as_secs_f64();

    let stage = Instant::now();
    let items = Items::of(&engine);
    let cases = rank_cases(
        &engine,
        store.as_ref(),
        vectors.as_ref(),
        &members,
        &items,
        args.k,
        now,
    )
    .await?;
    let rank_offers = stage.elapsed().as_secs_f64();

    let stage = Instant::now();
    let als = if args.no_peer {
        None
    } else {
        eprintln!("running implicit {IMPLICIT_VERSION}'s ALS");
        Some(als_scores(
            &members,
            &cases,
            &items,
            args.k,
            args.seed,
            work.path(),
        )?)
    };
    let als_seconds = als.as_ref().map(|_| stage.elapsed().as_secs_f64());

    let popularity = popularity(&members, &items);
    let als_rows = als.as_ref().map(|(_, rows)| rows.as_slice());
    let scored = |variant| score(&cases, &items, variant, &popularity, als_rows, args.k);
    let (suitable, unfiltered) = (scored(Variant::Suitable)?, scored(Variant::Unfiltered)?);
    let held_out_products = by_held_out_product(&cases, &items, &popularity, &unfiltered.hits);
    Ok(OfferEval {
        protocol: PROTOCOL,
        customers: args.customers,
        months: args.months,
        seed: args.seed,
        end_date: config.end_date,
        k: args.k,
        catalogue_products: items.ids.len(),
        adoptions_generated,
        adoptions_stored: members.iter().map(|m| m.held.len()).sum(),
        customers_evaluated: cases.len(),
        customers_with_behaviour: cases.iter().filter(|c| c.has_behaviour).count(),
        embedding_epochs: trained.report.epochs,
        embedding_validation_loss: trained.report.validation_loss,
        offer_model,
        suitable: suitable.figures,
        unfiltered: unfiltered.figures,
        held_out_products,
        als: als.map(|(report, _)| report),
        stage_seconds: StageSeconds {
            generate_and_store,
            profile_and_embed,
            train_offer_model,
            rank_offers,
            als: als_seconds,
        },
        seconds: started.elapsed().as_secs_f64(),
    })
}

mod als;
mod population;
mod ranking;
mod scoring;
mod table;
#[cfg(test)]
mod tests;
