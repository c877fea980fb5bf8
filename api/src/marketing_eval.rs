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
//!    offer model as the service does ([`marketing_ops::train_offers`]) and load the engine
//!    ([`offers::load_engine`]).
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
//!    of that matrix by the same latest-adopted rule (`bench/implicit_als.py`); the script
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

use std::collections::{BTreeSet, HashMap, HashSet};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sextant_domain::{
    BehaviourKind, CustomerId, Event, Holding, ProductId, ProductKind, RiskLevel, RiskTolerance,
};
use sextant_marketing::offers::{rank, OfferContext, OfferPolicy, OfferProduct};
use sextant_marketing::propensity::CustomerSignals;
use sextant_models::embedding::EmbeddingConfig;
use sextant_profiling::FEATURE_VERSION;
use sextant_synth::CustomerBundle;
use sextant_vectors::VectorStore;

use crate::audience::for_each_row;
use crate::marketing_ops::{self, OfferTraining};
use crate::offers::{
    self, interactions, neighbours, OfferEngine, INTERACTIONS_MAX, INTERACTION_DAYS,
};
use crate::pipeline::Pipeline;
use crate::store::{MarketingRow, SeaStore, Store, INGEST_CALL_MAX_EVENTS};

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
const ALS_SCRIPT: &str = include_str!("bench/implicit_als.py");
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
    let store: Arc<dyn Store> = Arc::new(SeaStore::open(None, work.path()).await?);
    let embedding = EmbeddingConfig {
        epochs: EMBEDDING_EPOCHS,
        seed: args.seed,
        ..EmbeddingConfig::default()
    };
    let vectors: Arc<dyn VectorStore> = Arc::new(sextant_vectors::EdgeStore::open(
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
    let offer_model =
        marketing_ops::train_offers(store.as_ref(), vectors.as_ref(), args.seed, ACTOR).await?;
    let engine = offers::load_engine(store.as_ref())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
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

/// The product a customer adopted last (max `opened_at`, ties to the larger product id), when
/// they hold at least two distinct products.
fn latest_adopted(holdings: &[Holding]) -> Option<ProductId> {
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
async fn store_population(
    store: &dyn Store,
    config: &sextant_synth::Config,
    now: DateTime<Utc>,
) -> anyhow::Result<(Vec<Member>, usize)> {
    let mut members = Vec::with_capacity(usize::try_from(config.customers)?);
    let mut generated = 0;
    let mut start = 0;
    let views_since = now - Duration::days(VIEWS_DAYS);
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
        store.put_customers(&customers, now).await?;
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
            store.ingest(batch, now).await?;
        }
        store.upsert_holdings(&holdings, now).await?;
        start = end;
    }
    Ok((members, generated))
}

/// Ranks each held-out customer's offers on the service's path, checking on the way that the
/// store never saw the held-out product.
async fn rank_cases(
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
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
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

/// The service's offers for one customer, as `offers::offers_for` computes them, with
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
        neighbours(vectors, &customer.id)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?
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
    let by_listing = interactions(
        |p| {
            engine
                .catalogue
                .iter()
                .position(|e| e.version.product.id.as_str() == p)
        },
        engine.catalogue.len(),
        &events,
        now,
    );
    let catalogue: Vec<OfferProduct> = engine
        .catalogue
        .iter()
        .zip(by_listing)
        .map(|(entry, interactions)| OfferProduct {
            product: entry.version.product.clone(),
            eligible: true,
            interactions,
        })
        .collect();
    let features = profile.map(|p| engine.features(&p.features));
    let share = engine.neighbour_share(&near);
    let counts = interactions(
        |p| engine.slot(p),
        engine.model.product_ids().len(),
        &events,
        now,
    );
    let signals = CustomerSignals {
        features: features.as_deref(),
        segment: profile.and_then(|p| p.segment),
        neighbour_share: &share,
        interactions: &counts,
    };
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

/// Holders of each product over the adoption matrix (after the hold-out).
fn popularity(members: &[Member], items: &Items) -> Vec<f64> {
    let mut holders = vec![0.0; items.ids.len()];
    for member in members {
        for i in items.numbers(&member.held) {
            holders[i] += 1.0;
        }
    }
    holders
}

/// What the ALS script reads.
#[derive(Serialize)]
struct AlsRequest {
    users: usize,
    items: usize,
    k: usize,
    seed: u64,
    train: Vec<[usize; 2]>,
    validation: Vec<[usize; 2]>,
    evaluate: Vec<usize>,
}

/// What the ALS script prints.
#[derive(Deserialize)]
struct AlsAnswer {
    implicit_version: String,
    chosen: AlsParams,
    validation_ndcg: f64,
    validation_users: usize,
    grid: Vec<AlsTrial>,
    scores: Vec<Vec<f64>>,
    seconds: f64,
}

/// implicit's ALS on the adoption matrix: the report and every product's score for each case.
fn als_scores(
    members: &[Member],
    cases: &[Case],
    items: &Items,
    k: usize,
    seed: u64,
    work: &std::path::Path,
) -> anyhow::Result<(AlsReport, Vec<Vec<f64>>)> {
    let pairs = |user: usize, products: &[ProductId]| {
        items
            .numbers(products)
            .into_iter()
            .map(move |item| [user, item])
    };
    let request = AlsRequest {
        users: members.len(),
        items: items.ids.len(),
        k,
        seed,
        train: members
            .iter()
            .enumerate()
            .flat_map(|(u, m)| pairs(u, &m.held))
            .collect(),
        validation: members
            .iter()
            .enumerate()
            .filter_map(|(u, m)| Some(pairs(u, std::slice::from_ref(m.validation.as_ref()?))))
            .flatten()
            .collect(),
        evaluate: cases.iter().map(|c| c.member).collect(),
    };
    let input = work.join("als-input.json");
    std::fs::write(&input, serde_json::to_vec(&request)?)?;
    let script = work.join("implicit_als.py");
    std::fs::write(&script, ALS_SCRIPT)?;
    let check = format!("import implicit; assert implicit.__version__ == '{IMPLICIT_VERSION}'");
    let python = crate::bench::venv_python(
        "sextant-bench-implicit-venv",
        &check,
        &[&format!("implicit=={IMPLICIT_VERSION}")],
    )
    .context("implicit's virtual environment (--no-peer skips ALS)")?;
    let output = Command::new(python)
        .arg(&script)
        .arg(&input)
        // implicit asks for single-threaded BLAS: its own threads parallelise the solves.
        .env("OPENBLAS_NUM_THREADS", "1")
        .env("MKL_NUM_THREADS", "1")
        .output()
        .context("running the ALS script")?;
    anyhow::ensure!(
        output.status.success(),
        "the ALS script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: AlsAnswer =
        serde_json::from_slice(&output.stdout).context("reading the ALS script's answer")?;
    anyhow::ensure!(
        answer.scores.len() == cases.len()
            && answer.scores.iter().all(|row| row.len() == items.ids.len()),
        "the ALS script returned {} score rows for {} customers",
        answer.scores.len(),
        cases.len()
    );
    let report = AlsReport {
        implicit_version: answer.implicit_version,
        chosen: answer.chosen,
        validation_ndcg_at_k: answer.validation_ndcg,
        validation_customers: answer.validation_users,
        grid: answer.grid,
        seconds: answer.seconds,
    };
    Ok((report, answer.scores))
}

/// The `k` best candidates by score, ties to the smaller item number (product id order).
fn top_k(scores: &[f64], candidates: &[usize], k: usize) -> Vec<usize> {
    let mut ranked = candidates.to_vec();
    ranked.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    ranked.truncate(k);
    ranked
}

/// recall@k and NDCG@k of one list for one relevant item.
fn hit(list: &[usize], target: usize, k: usize) -> (f64, f64) {
    match list.iter().take(k).position(|&i| i == target) {
        Some(position) => (1.0, 1.0 / (position as f64 + 2.0).log2()),
        None => (0.0, 0.0),
    }
}

/// Per method (offers, popularity, ALS), per case: (recall, NDCG).
type Hits = [Option<Vec<(f64, f64)>>; 3];

struct Scored {
    figures: VariantFigures,
    hits: Hits,
}

fn score(
    cases: &[Case],
    items: &Items,
    variant: Variant,
    popularity: &[f64],
    als: Option<&[Vec<f64>]>,
    k: usize,
) -> anyhow::Result<Scored> {
    let mut hits: Hits = [Some(Vec::new()), Some(Vec::new()), als.map(|_| Vec::new())];
    let (mut candidates_total, mut reachable, mut at_most_k) = (0usize, 0usize, 0usize);
    for (n, case) in cases.iter().enumerate() {
        let candidates: Vec<usize> = (0..items.ids.len())
            .filter(|i| !case.held.contains(i))
            .filter(|&i| {
                variant == Variant::Unfiltered
                    || sextant_advisor::suitability::allowed(case.tolerance, items.levels[i])
            })
            .collect();
        candidates_total += candidates.len();
        reachable += usize::from(candidates.contains(&case.target));
        at_most_k += usize::from(candidates.len() <= k);
        let offers = &case.offers[variant.index()];
        anyhow::ensure!(
            offers.iter().all(|i| candidates.contains(i))
                && offers.len() == k.min(candidates.len()),
            "the service ranked other candidates than {} for customer number {}",
            variant.describe(),
            case.member
        );
        let lists = [
            Some(offers.clone()),
            Some(top_k(popularity, &candidates, k)),
            als.map(|rows| top_k(&rows[n], &candidates, k)),
        ];
        for (list, out) in lists.iter().zip(hits.iter_mut()) {
            if let (Some(list), Some(out)) = (list, out) {
                out.push(hit(list, case.target, k));
            }
        }
    }
    let method = |h: &Option<Vec<(f64, f64)>>| h.as_deref().map(|h| method_figures(h, cases));
    let difference = |other: &Option<Vec<(f64, f64)>>| {
        let (offers, other) = (hits[0].as_deref()?, other.as_deref()?);
        let diff: Vec<(f64, f64)> = offers
            .iter()
            .zip(other)
            .map(|(a, b)| (a.0 - b.0, a.1 - b.1))
            .collect();
        Some(figures(&diff, -1.0))
    };
    let figures = VariantFigures {
        candidates: variant.describe().to_owned(),
        mean_candidates: candidates_total as f64 / cases.len().max(1) as f64,
        held_out_among_candidates: reachable,
        at_most_k_candidates: at_most_k,
        offers: method(&hits[0]).expect("always scored"),
        popularity: method(&hits[1]).expect("always scored"),
        als: method(&hits[2]),
        offers_minus_popularity: difference(&hits[1]).expect("always scored"),
        offers_minus_als: difference(&hits[2]),
    };
    Ok(Scored { figures, hits })
}

fn method_figures(hits: &[(f64, f64)], cases: &[Case]) -> MethodFigures {
    let group = |member: &dyn Fn(&Case) -> bool| {
        let chosen: Vec<(f64, f64)> = hits
            .iter()
            .zip(cases)
            .filter(|(_, case)| member(case))
            .map(|(h, _)| *h)
            .collect();
        (!chosen.is_empty()).then(|| figures(&chosen, 0.0))
    };
    let all = figures(hits, 0.0);
    MethodFigures {
        recall_at_k: all.recall_at_k,
        ndcg_at_k: all.ndcg_at_k,
        with_behaviour: group(&|c| c.has_behaviour),
        without_behaviour: group(&|c| !c.has_behaviour),
        without_repayment_traces: group(&|c| !c.repayment_traces),
    }
}

/// Intervals of (recall, NDCG) pairs, clipped to `lowest..=1`.
fn figures(values: &[(f64, f64)], lowest: f64) -> Figures {
    let recall: Vec<f64> = values.iter().map(|v| v.0).collect();
    let ndcg: Vec<f64> = values.iter().map(|v| v.1).collect();
    Figures {
        recall_at_k: Interval::of(&recall, lowest),
        ndcg_at_k: Interval::of(&ndcg, lowest),
    }
}

impl Interval {
    /// Mean ± 1.96 standard errors (sample standard deviation), clipped to `lowest..=1`;
    /// all zeros for no values.
    fn of(values: &[f64], lowest: f64) -> Interval {
        if values.is_empty() {
            return Interval {
                mean: 0.0,
                ci95_low: 0.0,
                ci95_high: 0.0,
            };
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let variance = if values.len() > 1 {
            values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)
        } else {
            0.0
        };
        let half = Z_95 * (variance / n).sqrt();
        Interval {
            mean,
            ci95_low: (mean - half).max(lowest),
            ci95_high: (mean + half).min(1.0),
        }
    }
}

fn by_held_out_product(
    cases: &[Case],
    items: &Items,
    holders: &[f64],
    hits: &Hits,
) -> Vec<HeldOutProduct> {
    let recall = |method: usize, of: &[usize]| {
        hits[method]
            .as_ref()
            .map(|h| of.iter().map(|&n| h[n].0).sum::<f64>() / of.len().max(1) as f64)
    };
    (0..items.ids.len())
        .filter_map(|item| {
            let of: Vec<usize> = (0..cases.len())
                .filter(|&n| cases[n].target == item)
                .collect();
            if of.is_empty() {
                return None;
            }
            let suitable = of
                .iter()
                .filter(|&&n| {
                    sextant_advisor::suitability::allowed(cases[n].tolerance, items.levels[item])
                })
                .count();
            Some(HeldOutProduct {
                product_id: items.ids[item].as_str().to_owned(),
                risk_level: items.levels[item].to_string(),
                holders: holders[item] as usize,
                customers: of.len(),
                suitable,
                offers_recall_at_k: recall(0, &of).unwrap_or(0.0),
                popularity_recall_at_k: recall(1, &of).unwrap_or(0.0),
                als_recall_at_k: recall(2, &of),
            })
        })
        .collect()
}

fn interval(i: &Interval) -> String {
    format!("{:.3} [{:.3}, {:.3}]", i.mean, i.ci95_low, i.ci95_high)
}

fn print_variant(v: &VariantFigures, k: usize, als: bool) {
    println!();
    println!("candidates: {}", v.candidates);
    println!(
        "  {:.1} candidates on average; the held-out product is among them for {} customers; {} have {k} or fewer (same recall for every method)",
        v.mean_candidates, v.held_out_among_candidates, v.at_most_k_candidates
    );
    let methods: Vec<&MethodFigures> = [Some(&v.offers), Some(&v.popularity), v.als.as_ref()]
        .into_iter()
        .flatten()
        .collect();
    let mut header = format!("  {:<26}", "");
    for name in ["offers", "popularity", "ALS (implicit)"]
        .iter()
        .take(methods.len())
    {
        header += &format!(" {name:<22}");
    }
    println!("{header}");
    let row = |label: String, get: &dyn Fn(&MethodFigures) -> Option<Interval>| {
        let mut line = format!("  {label:<26}");
        for m in &methods {
            let cell = get(m).map_or_else(|| "-".to_owned(), |i| interval(&i));
            line += &format!(" {cell:<22}");
        }
        println!("{line}");
    };
    row(format!("recall@{k}"), &|m| Some(m.recall_at_k));
    row(format!("NDCG@{k}"), &|m| Some(m.ndcg_at_k));
    row(format!("recall@{k}, with behaviour"), &|m| {
        m.with_behaviour.map(|f| f.recall_at_k)
    });
    row(format!("recall@{k}, no behaviour"), &|m| {
        m.without_behaviour.map(|f| f.recall_at_k)
    });
    row(format!("NDCG@{k}, with behaviour"), &|m| {
        m.with_behaviour.map(|f| f.ndcg_at_k)
    });
    row(format!("NDCG@{k}, no behaviour"), &|m| {
        m.without_behaviour.map(|f| f.ndcg_at_k)
    });
    row(format!("recall@{k}, no loan/BNPL *"), &|m| {
        m.without_repayment_traces.map(|f| f.recall_at_k)
    });
    row(format!("NDCG@{k}, no loan/BNPL *"), &|m| {
        m.without_repayment_traces.map(|f| f.ndcg_at_k)
    });
    let d = &v.offers_minus_popularity;
    println!(
        "  offers - popularity: recall@{k} {}, NDCG@{k} {}",
        interval(&d.recall_at_k),
        interval(&d.ndcg_at_k)
    );
    if let (true, Some(d)) = (als, &v.offers_minus_als) {
        println!(
            "  offers - ALS:        recall@{k} {}, NDCG@{k} {}",
            interval(&d.recall_at_k),
            interval(&d.ndcg_at_k)
        );
    }
}

pub fn print_offer_eval(e: &OfferEval) {
    let k = e.k;
    println!(
        "Offer quality: {} synthetic customers x {} months (seed {}, window ending {}), k = {k}",
        e.customers, e.months, e.seed, e.end_date
    );
    println!(
        "{} customers evaluated ({} with behaviour data, {} without); {} products; offer model {} on {} customers",
        e.customers_evaluated,
        e.customers_with_behaviour,
        e.customers_evaluated - e.customers_with_behaviour,
        e.catalogue_products,
        e.offer_model.model_version,
        e.offer_model.customers
    );
    print_variant(&e.suitable, k, e.als.is_some());
    print_variant(&e.unfiltered, k, e.als.is_some());
    println!();
    println!(
        "held-out product       level  holders  held out  suitable  recall@{k} unfiltered: offers  popularity  ALS"
    );
    for p in &e.held_out_products {
        let als = p
            .als_recall_at_k
            .map_or_else(|| "-".to_owned(), |r| format!("{r:.3}"));
        println!(
            "  {:<22} {:>4} {:>8} {:>9} {:>9} {:>26.3} {:>11.3} {:>6}",
            p.product_id,
            p.risk_level,
            p.holders,
            p.customers,
            p.suitable,
            p.offers_recall_at_k,
            p.popularity_recall_at_k,
            als
        );
    }
    if let Some(a) = &e.als {
        println!(
            "ALS (implicit {}): factors {}, regularization {}, alpha {}, iterations {}; validation NDCG@{k} {:.3} on {} customers",
            a.implicit_version,
            a.chosen.factors,
            a.chosen.regularization,
            a.chosen.alpha,
            a.chosen.iterations,
            a.validation_ndcg_at_k,
            a.validation_customers
        );
    }
    let s = &e.stage_seconds;
    println!(
        "{:.1}s: generate and store {:.1}s, profile and embed {:.1}s, offer model {:.1}s, rank {:.1}s{}",
        e.seconds,
        s.generate_and_store,
        s.profile_and_embed,
        s.train_offer_model,
        s.rank_offers,
        s.als.map_or_else(String::new, |a| format!(", ALS {a:.1}s"))
    );
    println!(
        "* customers whose held-out product is not a loan or instalment plan, whose repayments stay in the payments the offer model reads"
    );
    println!("protocol: {}", e.protocol);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn holding(product: &str, day: u32) -> Holding {
        use chrono::TimeZone;
        Holding {
            customer_id: CustomerId::parse("c0000001").unwrap(),
            product_id: ProductId::parse(product).unwrap(),
            value: sextant_domain::AmountMinor::new(100).unwrap(),
            currency: sextant_domain::Currency::EUR,
            opened_at: Utc.with_ymd_and_hms(2026, 1, day, 0, 0, 0).unwrap(),
        }
    }

    #[test]
    fn the_latest_adoption_is_held_out_with_ties_to_the_larger_id() {
        assert_eq!(latest_adopted(&[holding("dep-easy-access", 1)]), None);
        assert_eq!(
            latest_adopted(&[holding("dep-easy-access", 1), holding("dep-easy-access", 2)]),
            None,
            "two holdings of one product are one product"
        );
        let latest = latest_adopted(&[
            holding("ins-travel", 3),
            holding("dep-easy-access", 1),
            holding("cc-classic", 3),
        ]);
        assert_eq!(latest.unwrap().as_str(), "ins-travel");
    }

    #[test]
    fn ranks_and_intervals() {
        assert_eq!(top_k(&[0.5, 0.9, 0.5, 0.1], &[0, 2, 3], 2), vec![0, 2]);
        assert_eq!(hit(&[4, 2], 2, 5), (1.0, 1.0 / 3f64.log2()));
        assert_eq!(hit(&[4, 2], 2, 1), (0.0, 0.0));
        let i = Interval::of(&[1.0, 1.0, 1.0], 0.0);
        assert_eq!((i.mean, i.ci95_low, i.ci95_high), (1.0, 1.0, 1.0));
        let i = Interval::of(&[0.0, 1.0], 0.0);
        assert!(i.ci95_low == 0.0 && i.ci95_high == 1.0 && i.mean == 0.5);
    }

    /// A small run without the peer: finite figures within 0..=1, and exactly one product
    /// held out per customer holding two or more.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_small_population_is_evaluated_by_the_protocol() {
        let args = EvalOffersArgs {
            customers: 200,
            months: 3,
            seed: 5,
            k: 5,
            json: false,
            no_peer: true,
        };
        let e = eval_offers(&args).await.unwrap();
        let config = sextant_synth::Config {
            customers: args.customers,
            months: args.months,
            seed: args.seed,
            end_date: e.end_date,
        };
        let eligible = (0..args.customers)
            .filter(|&i| {
                let bundle = sextant_synth::generate_customer(&config, i);
                let products: BTreeSet<_> = bundle
                    .holdings
                    .iter()
                    .map(|h| h.product_id.clone())
                    .collect();
                products.len() >= 2
            })
            .count();
        assert!(
            eligible > 20,
            "{eligible} customers hold two or more products"
        );
        assert_eq!(e.customers_evaluated, eligible);
        assert_eq!(e.adoptions_generated - e.adoptions_stored, eligible);
        assert!(e.als.is_none());
        for v in [&e.suitable, &e.unfiltered] {
            assert!(v.als.is_none() && v.offers_minus_als.is_none());
            assert!(v.held_out_among_candidates <= eligible);
            for m in [&v.offers, &v.popularity] {
                let groups = [
                    m.with_behaviour,
                    m.without_behaviour,
                    m.without_repayment_traces,
                ];
                let intervals = [m.recall_at_k, m.ndcg_at_k].into_iter().chain(
                    groups
                        .iter()
                        .flatten()
                        .flat_map(|f| [f.recall_at_k, f.ndcg_at_k]),
                );
                for i in intervals {
                    for x in [i.mean, i.ci95_low, i.ci95_high] {
                        assert!(x.is_finite() && (0.0..=1.0).contains(&x), "{i:?}");
                    }
                    assert!(i.ci95_low <= i.mean && i.mean <= i.ci95_high, "{i:?}");
                }
                assert!(m.ndcg_at_k.mean <= m.recall_at_k.mean);
            }
        }
        assert!(e.unfiltered.mean_candidates >= e.suitable.mean_candidates);
    }
}
