//! How long the offer model takes to fit and to answer, on synthetic customers shaped like the
//! service's (71 profile features, 30 products, 8 segments). Prints a table; asserts nothing.
//!
//! cargo run --release -p sextant-marketing --example offer_model_bench [customers] [products]

use std::hint::black_box;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sextant_domain::{Currency, Product, ProductId, ProductKind, RiskLevel, RiskTolerance};
use sextant_marketing::offers::{rank, OfferContext, OfferPolicy, OfferProduct};
use sextant_marketing::propensity::{
    CustomerSignals, Interactions, OfferModel, OfferModelOptions, TrainingExample,
};
use sextant_models::evaluation::roc_auc;

const FEATURES: usize = 71;
const SEGMENTS: u32 = 8;
const SCORE_CALLS: usize = 100_000;

fn main() {
    let mut args = std::env::args().skip(1);
    let customers: usize = args
        .next()
        .map_or(20_000, |a| a.parse().expect("customers"));
    let products: usize = args.next().map_or(30, |a| a.parse().expect("products"));
    let product_ids: Vec<String> = (0..products).map(|p| format!("prod-{p:02}")).collect();
    let feature_names: Vec<String> = (0..FEATURES).map(|j| format!("feature_{j:02}")).collect();

    let mut rng = ChaCha8Rng::seed_from_u64(1);
    // Each product has a base rate between 1% and 25% and depends on three features.
    let tastes: Vec<(f64, [usize; 3])> = (0..products)
        .map(|_| {
            let base = rng.gen_range(0.01f64..0.25);
            let columns = [0; 3].map(|_| rng.gen_range(0..FEATURES));
            ((base / (1.0 - base)).ln(), columns)
        })
        .collect();
    let examples: Vec<TrainingExample> = (0..customers)
        .map(|_| customer(&mut rng, &tastes))
        .collect();

    // Fitted on four fifths; the last fifth measures how well it ranks customers it never saw.
    let (train, test) = examples.split_at(customers * 4 / 5);
    let started = Instant::now();
    let model = OfferModel::fit(
        &product_ids,
        &feature_names,
        train,
        &OfferModelOptions::default(),
    )
    .expect("fit");
    let fit_s = started.elapsed().as_secs_f64();
    let (model_auc, popularity_auc) = held_out_auc(&model, test);

    let probe = &examples[..1_000];
    let started = Instant::now();
    for i in 0..SCORE_CALLS {
        black_box(model.score(&signals(&probe[i % probe.len()])));
    }
    let score_us = started.elapsed().as_secs_f64() * 1e6 / SCORE_CALLS as f64;

    let catalogue: Vec<OfferProduct> = product_ids
        .iter()
        .enumerate()
        .map(|(p, id)| offer_product(id, p))
        .collect();
    let ctx = OfferContext {
        tolerance: Some(RiskTolerance::new(3).expect("C3")),
        in_app_consent: true,
        held: &[],
        campaigns: &[],
    };
    let policy = OfferPolicy::default();
    let started = Instant::now();
    for i in 0..SCORE_CALLS {
        let signals = signals(&probe[i % probe.len()]);
        black_box(rank(&model, &catalogue, &signals, &ctx, &policy, 10));
    }
    let rank_us = started.elapsed().as_secs_f64() * 1e6 / SCORE_CALLS as f64;

    println!("| step | figure |");
    println!("|---|---|");
    println!("| customers x products x features | {customers} x {products} x {FEATURES} |");
    println!("| threads (rayon) | {} |", rayon::current_num_threads());
    println!("| fit ({} customers) | {fit_s:.2} s |", train.len());
    println!("| held-out AUC, mean over products: model | {model_auc:.3} |");
    println!("| held-out AUC, mean over products: segment popularity | {popularity_auc:.3} |");
    println!("| score one customer (all products) | {score_us:.2} µs |");
    println!("| rank one customer (score + filters + reasons) | {rank_us:.2} µs |");
    println!("| model file | {} KiB |", model.to_json().len() / 1024);
    println!("| version | {} |", model.version());
}

/// Mean over products of the ROC AUC of the model and of the segment popularity alone.
fn held_out_auc(model: &OfferModel, test: &[TrainingExample]) -> (f64, f64) {
    let scored: Vec<Vec<f64>> = test
        .iter()
        .map(|e| {
            model
                .score(&signals(e))
                .iter()
                .map(|s| s.probability)
                .collect()
        })
        .collect();
    let popular: Vec<Vec<f64>> = test.iter().map(|e| model.popularity(e.segment)).collect();
    let products = model.product_ids().len();
    let (mut model_sum, mut popularity_sum, mut counted) = (0.0, 0.0, 0);
    for p in 0..products {
        let labels: Vec<bool> = test.iter().map(|e| e.held[p]).collect();
        let model_auc = roc_auc(&scored.iter().map(|s| s[p]).collect::<Vec<_>>(), &labels);
        let popularity_auc = roc_auc(&popular.iter().map(|s| s[p]).collect::<Vec<_>>(), &labels);
        if model_auc.is_finite() {
            model_sum += model_auc;
            popularity_sum += popularity_auc;
            counted += 1;
        }
    }
    (model_sum / counted as f64, popularity_sum / counted as f64)
}

fn customer(rng: &mut ChaCha8Rng, tastes: &[(f64, [usize; 3])]) -> TrainingExample {
    let features: Vec<f64> = (0..FEATURES).map(|_| rng.gen_range(-2.0..2.0)).collect();
    let segment = rng.gen_range(0..SEGMENTS);
    let mut interactions = Vec::with_capacity(tastes.len());
    let mut shares = Vec::with_capacity(tastes.len());
    let mut held = Vec::with_capacity(tastes.len());
    for (base, columns) in tastes {
        let affinity =
            base + 0.6 * (features[columns[0]] - features[columns[1]] + features[columns[2]]);
        let views = if rng.gen_bool(sigmoid(affinity + 1.0)) {
            rng.gen_range(1..6)
        } else {
            0
        };
        let z = affinity + 0.8 * f64::from(views).ln_1p() + 0.1 * f64::from(segment);
        held.push(rng.gen_bool(sigmoid(z)));
        shares.push((sigmoid(affinity) + rng.gen_range(-0.1..0.1)).clamp(0.0, 1.0));
        interactions.push(Interactions {
            views_90d: views,
            impressions_7d: rng.gen_range(0..3),
            ..Interactions::default()
        });
    }
    TrainingExample {
        features: Some(features),
        segment: Some(segment),
        neighbour_share: shares,
        interactions,
        held,
    }
}

fn signals(example: &TrainingExample) -> CustomerSignals<'_> {
    CustomerSignals {
        features: example.features.as_deref(),
        segment: example.segment,
        neighbour_share: &example.neighbour_share,
        interactions: &example.interactions,
    }
}

fn offer_product(id: &str, index: usize) -> OfferProduct {
    OfferProduct {
        product: Product {
            id: ProductId::parse(id).expect("id"),
            kind: ProductKind::Fund,
            name: id.to_owned(),
            risk_level: RiskLevel::new(1 + (index % 5) as u8).expect("level"),
            currency: Currency::EUR,
            min_amount_minor: 100,
            term_months: None,
            rate_bps: None,
            fee_bps: None,
            asset_class: None,
        },
        eligible: true,
        interactions: Interactions::default(),
    }
}

fn sigmoid(z: f64) -> f64 {
    1.0 / (1.0 + (-z).exp())
}
