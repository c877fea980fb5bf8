use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sextant_models::evaluation::roc_auc;

use super::*;

pub(crate) fn ids(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// Customers whose views of a product, one profile feature and their segment drive whether
/// they hold it; the other features and the neighbour shares are noise. Product
/// `products - 1` is held by nobody. The true model ranks held-out holders with an AUC of
/// about 0.88.
pub(crate) fn planted(
    n: usize,
    products: usize,
    features: usize,
    seed: u64,
) -> Vec<TrainingExample> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let row: Vec<f64> = (0..features).map(|_| rng.gen_range(-1.0..1.0)).collect();
            let segment = rng.gen_range(0..3u32);
            let interactions: Vec<Interactions> = (0..products)
                .map(|_| Interactions {
                    views_90d: if rng.gen_bool(0.3) {
                        rng.gen_range(1..8)
                    } else {
                        0
                    },
                    impressions_7d: rng.gen_range(0..3),
                    ..Interactions::default()
                })
                .collect();
            let held = (0..products)
                .map(|p| {
                    if p == products - 1 {
                        return false;
                    }
                    let views = f64::from(interactions[p].views_90d).ln_1p();
                    let taste = if p % 2 == 0 { row[0] } else { -row[0] };
                    let z = -2.5 + 2.2 * views + 2.0 * taste + 0.4 * f64::from(segment);
                    rng.gen_bool(sigmoid(z))
                })
                .collect();
            TrainingExample {
                features: Some(row),
                segment: Some(segment),
                neighbour_share: (0..products).map(|_| rng.gen_range(0.0..1.0)).collect(),
                interactions,
                held,
            }
        })
        .collect()
}

fn fitted(n: usize, products: usize, features: usize) -> OfferModel {
    let examples = planted(n, products, features, 7);
    OfferModel::fit(
        &ids("p", products),
        &ids("f", features),
        &examples,
        &OfferModelOptions::default(),
    )
    .unwrap()
}

fn signals_of(example: &TrainingExample) -> CustomerSignals<'_> {
    CustomerSignals {
        features: example.features.as_deref(),
        segment: example.segment,
        neighbour_share: &example.neighbour_share,
        interactions: &example.interactions,
    }
}

#[test]
fn a_planted_signal_ranks_well_above_chance_on_held_out_customers() {
    let products = 6;
    let examples = planted(4_000, products, 5, 11);
    let (train, test) = examples.split_at(3_000);
    let model = OfferModel::fit(
        &ids("p", products),
        &ids("f", 5),
        train,
        &OfferModelOptions::default(),
    )
    .unwrap();
    let scores: Vec<Vec<ProductScore>> = test.iter().map(|e| model.score(&signals_of(e))).collect();
    for p in 0..products - 1 {
        let probabilities: Vec<f64> = scores.iter().map(|s| s[p].probability).collect();
        let labels: Vec<bool> = test.iter().map(|e| e.held[p]).collect();
        let auc = roc_auc(&probabilities, &labels);
        eprintln!("product {p}: held-out AUC {auc:.3}");
        assert!(auc > 0.8, "product {p}: held-out AUC {auc}");
    }
}

#[test]
fn contributions_add_up_to_the_log_odds() {
    let model = fitted(1_500, 4, 3);
    for example in planted(50, 4, 3, 99) {
        for (p, score) in model.score(&signals_of(&example)).iter().enumerate() {
            let log_odds = logit(score.probability);
            assert!(
                (score.contributions.total() - log_odds).abs() < 1e-9,
                "product {p}: {:?} vs {log_odds}",
                score.contributions
            );
        }
    }
}

#[test]
fn views_drive_the_interest_contribution() {
    let model = fitted(2_000, 3, 2);
    let row = [0.0, 0.0];
    let shares = [0.3, 0.3, 0.3];
    let mut interactions = [Interactions::default(); 3];
    let quiet = model.score(&CustomerSignals {
        features: Some(&row),
        segment: Some(1),
        neighbour_share: &shares,
        interactions: &interactions,
    });
    interactions[0].views_90d = 6;
    let curious = model.score(&CustomerSignals {
        features: Some(&row),
        segment: Some(1),
        neighbour_share: &shares,
        interactions: &interactions,
    });
    assert!(curious[0].probability > quiet[0].probability + 0.1);
    assert!(curious[0].contributions.interest > 1.0);
    assert_eq!(curious[1], quiet[1]);
}

#[test]
fn cold_start_gets_the_segment_popularity() {
    let model = fitted(1_500, 4, 3);
    for segment in [Some(0), Some(2), Some(77), None] {
        let scores = model.score(&CustomerSignals {
            segment,
            ..CustomerSignals::default()
        });
        let popularity = model.popularity(segment);
        for (score, share) in scores.iter().zip(&popularity) {
            assert_eq!(score.probability, *share);
            assert_eq!(score.contributions.popularity, logit(*share));
            assert_eq!(score.contributions.profile, 0.0);
            assert_eq!(score.contributions.neighbours, 0.0);
            assert_eq!(score.contributions.interest, 0.0);
        }
    }
    // An unknown segment and no segment both fall back to the overall share.
    assert_eq!(model.popularity(Some(77)), model.popularity(None));
    assert!(model.knows_segment(2) && !model.knows_segment(77));
    // The planted segments differ: segment 2 adopts more than segment 0.
    assert!(model.popularity(Some(2))[0] > model.popularity(Some(0))[0]);
}

#[test]
fn a_customer_without_a_profile_is_never_explained_by_one() {
    let model = fitted(1_500, 4, 3);
    let shares = [0.9, 0.1, 0.5, 0.0];
    for score in model.score(&CustomerSignals {
        features: None,
        segment: Some(1),
        neighbour_share: &shares,
        interactions: &[],
    }) {
        assert_eq!(score.contributions.profile, 0.0);
    }
}

#[test]
fn rare_products_fall_back_to_popularity() {
    let products = 3;
    let model = fitted(1_000, products, 2);
    // The planted data has nobody holding the last product.
    let example = &planted(1, products, 2, 5)[0];
    let scores = model.score(&signals_of(example));
    let popularity = model.popularity(example.segment);
    assert_eq!(scores[products - 1].probability, popularity[products - 1]);
    assert!(popularity[products - 1] < 0.01);
    assert!(matches!(
        model.body.products[products - 1],
        ProductModel::Popularity { positives: 0 }
    ));
}

#[test]
fn misaligned_signals_count_as_unknown_and_check_signals_names_them() {
    let model = fitted(1_000, 3, 2);
    let short = [0.5];
    let signals = CustomerSignals {
        features: Some(&short),
        segment: Some(1),
        neighbour_share: &short,
        interactions: &[],
    };
    let cold = CustomerSignals {
        segment: Some(1),
        ..CustomerSignals::default()
    };
    assert_eq!(model.score(&signals), model.score(&cold));
    let error = model.check_signals(&signals).unwrap_err().to_string();
    assert!(error.contains("features"), "{error}");
    assert!(model.check_signals(&cold).is_ok());
}

#[test]
fn fitting_is_deterministic_and_the_version_names_the_content() {
    let examples = planted(800, 3, 2, 3);
    let options = OfferModelOptions {
        max_rows: 500,
        ..OfferModelOptions::default()
    };
    let fit = |options: &OfferModelOptions| {
        OfferModel::fit(&ids("p", 3), &ids("f", 2), &examples, options).unwrap()
    };
    let first = fit(&options);
    assert_eq!(first, fit(&options));
    let version = first.version();
    assert!(
        version.starts_with("offers-") && version.len() == 19,
        "{version}"
    );
    assert!(version[7..].chars().all(|c| c.is_ascii_hexdigit()));
    assert_eq!(first.trained_on(), 800);
    // Another seed samples other rows, hence another model and version.
    let other = fit(&OfferModelOptions { seed: 1, ..options });
    assert_ne!(first.version(), other.version());
}

#[test]
fn a_saved_model_loads_back_identical() {
    let model = fitted(1_000, 4, 3);
    let bytes = model.to_json();
    let loaded = OfferModel::from_json(&bytes).unwrap();
    assert_eq!(loaded, model);
    assert_eq!(loaded.version(), model.version());
    for example in planted(20, 4, 3, 8) {
        assert_eq!(
            loaded.score(&signals_of(&example)),
            model.score(&signals_of(&example))
        );
    }
    // Plain serde goes through the same checks.
    let via_serde: OfferModel = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(via_serde, model);
}

#[test]
fn an_altered_or_broken_model_file_is_refused() {
    let model = fitted(1_000, 4, 3);
    let mut file: serde_json::Value = serde_json::from_slice(&model.to_json()).unwrap();

    let mut altered = file.clone();
    let weight = &mut altered["model"]["products"][0]["regression"]["weights"][0];
    *weight = serde_json::json!(weight.as_f64().unwrap() + 1.0);
    let error = OfferModel::from_json(&serde_json::to_vec(&altered).unwrap()).unwrap_err();
    assert!(
        matches!(&error, MarketingError::Corrupt(m) if m.contains("altered")),
        "{error}"
    );

    let mut renamed = file.clone();
    renamed["version"] = serde_json::json!("offers-000000000000");
    assert!(OfferModel::from_json(&serde_json::to_vec(&renamed).unwrap()).is_err());

    file["model"]["overall_popularity"] = serde_json::json!([0.5]);
    let error = OfferModel::from_json(&serde_json::to_vec(&file).unwrap()).unwrap_err();
    assert!(error.to_string().contains("overall_popularity"), "{error}");

    let bytes = model.to_json();
    assert!(OfferModel::from_json(&bytes[..bytes.len() / 2]).is_err());
    assert!(OfferModel::from_json(b"not json").is_err());
    assert!(OfferModel::from_json(&vec![b' '; MAX_MODEL_BYTES + 1]).is_err());
}

fn field_of(result: Result<OfferModel, MarketingError>) -> String {
    match result {
        Err(MarketingError::InvalidTraining { field, reason }) => {
            assert!(!reason.is_empty());
            field
        }
        other => panic!("expected InvalidTraining, got {other:?}"),
    }
}

#[test]
fn fit_names_the_misaligned_input() {
    let products = ids("p", 3);
    let features = ids("f", 2);
    let good = planted(50, 3, 2, 1);
    let options = OfferModelOptions::default();
    let fit_with = |edit: &dyn Fn(&mut Vec<TrainingExample>)| {
        let mut examples = good.clone();
        edit(&mut examples);
        field_of(OfferModel::fit(&products, &features, &examples, &options))
    };
    assert_eq!(
        fit_with(&|e| {
            e[1].held.pop();
        }),
        "examples[1].held"
    );
    assert_eq!(
        fit_with(&|e| e[2].features = Some(vec![1.0])),
        "examples[2].features"
    );
    assert_eq!(
        fit_with(&|e| e[2].features = Some(vec![1.0, f64::NAN])),
        "examples[2].features[1]"
    );
    assert_eq!(
        fit_with(&|e| e[3].neighbour_share = vec![0.1]),
        "examples[3].neighbour_share"
    );
    assert_eq!(
        fit_with(&|e| e[3].neighbour_share[2] = 1.5),
        "examples[3].neighbour_share[2]"
    );
    assert_eq!(
        fit_with(&|e| e[4].interactions.truncate(1)),
        "examples[4].interactions"
    );
    assert_eq!(fit_with(&|e| e.clear()), "examples");

    let twice = vec!["p0".to_owned(), "p0".to_owned()];
    let result = OfferModel::fit(&twice, &features, &good, &options);
    assert_eq!(field_of(result), "product_ids[1]");
    let bad_id = vec!["p 0".to_owned()];
    assert_eq!(
        field_of(OfferModel::fit(&bad_id, &features, &good, &options)),
        "product_ids[0]"
    );
    let no_penalty = OfferModelOptions {
        l2: 0.0,
        ..OfferModelOptions::default()
    };
    assert_eq!(
        field_of(OfferModel::fit(&products, &features, &good, &no_penalty)),
        "options.l2"
    );
    let too_many = ids("p", MAX_PRODUCTS + 1);
    assert_eq!(
        field_of(OfferModel::fit(&too_many, &features, &good, &options)),
        "product_ids"
    );
}

#[test]
fn customers_without_profiles_or_neighbours_train_too() {
    let mut examples = planted(1_200, 3, 2, 21);
    for example in examples.iter_mut().step_by(3) {
        example.features = None;
        example.neighbour_share.clear();
        example.interactions.clear();
        example.segment = None;
    }
    let model = OfferModel::fit(
        &ids("p", 3),
        &ids("f", 2),
        &examples,
        &OfferModelOptions::default(),
    )
    .unwrap();
    for example in &examples[..30] {
        for score in model.score(&signals_of(example)) {
            assert!(score.probability > 0.0 && score.probability < 1.0);
        }
    }
}
