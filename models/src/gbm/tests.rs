use super::bins::{bin_edges, bin_of};
use super::*;
use crate::evaluation::roc_auc;
use crate::matrix::from_rows;
use proptest::prelude::*;
use rand::Rng;
use std::sync::OnceLock;

fn small_config() -> GbmConfig {
    GbmConfig {
        max_iter: 30,
        min_samples_leaf: 5,
        ..GbmConfig::default()
    }
}

/// Rows that tests build by hand, as the matrix a fit takes.
fn matrix(rows: &[Vec<f64>]) -> ndarray::Array2<f64> {
    from_rows(rows).unwrap()
}

fn uniform_rows(n: usize, width: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| (0..width).map(|_| rng.gen_range(-1.0..1.0)).collect())
        .collect()
}

fn scores(model: &Gbm, x: &[Vec<f64>]) -> Vec<f64> {
    x.iter().map(|row| model.predict_proba(row)).collect()
}

#[test]
fn learns_xor_which_no_single_feature_explains() {
    let label = |row: &Vec<f64>| (row[0] > 0.0) != (row[1] > 0.0);
    let x = uniform_rows(600, 3, 1);
    let y: Vec<bool> = x.iter().map(label).collect();
    let model = Gbm::fit(matrix(&x).view(), &y, &small_config()).unwrap();
    let test = uniform_rows(400, 3, 2);
    let test_y: Vec<bool> = test.iter().map(label).collect();
    let auc = roc_auc(&scores(&model, &test), &test_y);
    assert!(auc > 0.95, "held-out AUC {auc}");
    assert_eq!(model.n_features(), 3);
    assert_eq!(model.trees(), 30);
}

/// The positive rate rises with feature 0 overall but dips in the middle; the
/// constrained model must still never decrease along it.
fn monotone_model() -> &'static Gbm {
    static MODEL: OnceLock<Gbm> = OnceLock::new();
    MODEL.get_or_init(|| {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let x = uniform_rows(800, 2, 4);
        let y: Vec<bool> = x
            .iter()
            .map(|row| {
                let logit = 2.0 * row[0] - 3.0 * (row[0] * 6.0).sin() + row[1];
                rng.gen::<f64>() < sigmoid(logit)
            })
            .collect();
        let config = GbmConfig {
            monotonic: vec![1, 0],
            ..small_config()
        };
        Gbm::fit(matrix(&x).view(), &y, &config).unwrap()
    })
}

proptest! {
    #[test]
    fn monotone_constraint_holds(
        a in -1.5f64..1.5,
        b in -1.5f64..1.5,
        other in prop_oneof![(-1.5f64..1.5), Just(f64::NAN)],
    ) {
        let model = monotone_model();
        let (low, high) = if a <= b { (a, b) } else { (b, a) };
        prop_assert!(model.raw_score(&[low, other]) <= model.raw_score(&[high, other]));
    }
}

#[test]
fn monotone_model_still_learns_the_constrained_feature() {
    let model = monotone_model();
    assert!(model.raw_score(&[0.9, 0.0]) > model.raw_score(&[-0.9, 0.0]) + 0.5);
}

#[test]
fn learns_that_missing_values_signal_the_positive_class() {
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let mut x = uniform_rows(600, 2, 6);
    let mut y = Vec::new();
    for row in &mut x {
        let missing = rng.gen::<f64>() < 0.3;
        if missing {
            row[0] = f64::NAN;
        }
        y.push(if missing {
            rng.gen::<f64>() < 0.9
        } else {
            rng.gen::<f64>() < 0.1
        });
    }
    let model = Gbm::fit(matrix(&x).view(), &y, &small_config()).unwrap();
    assert!(model.predict_proba(&[f64::NAN, 0.0]) > 0.7);
    assert!(model.predict_proba(&[0.3, 0.0]) < 0.3);
    // A feature never missing in training still accepts NaN at prediction time.
    assert!(model.predict_proba(&[0.3, f64::NAN]).is_finite());
}

#[test]
fn contributions_sum_to_the_raw_score() {
    let mut x = uniform_rows(500, 4, 7);
    x.iter_mut().step_by(7).for_each(|row| row[2] = f64::NAN);
    let y: Vec<bool> = x.iter().map(|r| r[0] + r[1] * r[3] > 0.0).collect();
    let model = Gbm::fit(matrix(&x).view(), &y, &small_config()).unwrap();
    for row in x.iter().take(100) {
        let (bias, contributions) = model.contributions(row);
        let total = bias + contributions.iter().sum::<f64>();
        assert!((total - model.raw_score(row)).abs() < 1e-9);
        let p = model.predict_proba(row);
        assert!((sigmoid(total) - p).abs() < 1e-12);
    }
    // Feature 0 drives the label, so it must carry weight on average.
    let weight = |j: usize| -> f64 {
        x.iter()
            .map(|row| model.contributions(row).1[j].abs())
            .sum()
    };
    assert!(weight(0) > weight(2));
}

#[test]
fn trees_respect_leaf_limits_and_fit_is_deterministic() {
    let x = uniform_rows(400, 3, 8);
    let y: Vec<bool> = x.iter().map(|r| r[0] > r[1]).collect();
    let config = GbmConfig {
        max_leaf_nodes: 7,
        min_samples_leaf: 15,
        ..small_config()
    };
    let model = Gbm::fit(matrix(&x).view(), &y, &config).unwrap();
    for tree in &model.trees {
        let leaves: Vec<&Node> = tree.nodes.iter().filter(|n| n.split.is_none()).collect();
        assert!(leaves.len() <= 7);
        assert!(leaves.iter().all(|leaf| leaf.n_samples >= 15));
        assert_eq!(
            leaves.iter().map(|l| l.n_samples).sum::<u32>(),
            tree.nodes[0].n_samples
        );
    }
    assert_eq!(model, Gbm::fit(matrix(&x).view(), &y, &config).unwrap());
}

#[test]
fn serde_round_trip_predicts_identically() {
    let mut x = uniform_rows(300, 3, 9);
    x.iter_mut().step_by(5).for_each(|row| row[1] = f64::NAN);
    let y: Vec<bool> = x.iter().map(|r| r[0] > 0.2).collect();
    let model = Gbm::fit(matrix(&x).view(), &y, &small_config()).unwrap();
    let text = serde_json::to_string(&model).unwrap();
    let back: Gbm = serde_json::from_str(&text).unwrap();
    for row in &x {
        assert_eq!(
            model.predict_proba(row).to_bits(),
            back.predict_proba(row).to_bits()
        );
    }
}

#[test]
fn a_split_on_missing_alone_survives_json() {
    // One value or missing: the only split sends every value left and missing right,
    // at an infinite threshold, which JSON writes as null.
    let x: Vec<Vec<f64>> = (0..200)
        .map(|i| vec![if i % 3 == 0 { f64::NAN } else { 1.0 }])
        .collect();
    let y: Vec<bool> = (0..200).map(|i| i % 3 == 0 || i % 7 == 0).collect();
    let model = Gbm::fit(matrix(&x).view(), &y, &small_config()).unwrap();
    let split = model.trees[0].nodes[0].split.as_ref().unwrap();
    assert_eq!(split.threshold, f64::INFINITY);
    let text = serde_json::to_string(&model).unwrap();
    let back: Gbm = serde_json::from_str(&text).unwrap();
    assert_eq!(back, model);
}

#[test]
fn external_validation_records_the_curve_and_truncation_replays_it() {
    let x = uniform_rows(600, 2, 12);
    let y: Vec<bool> = x.iter().map(|r| r[0] + 0.3 * r[1] > 0.1).collect();
    let (validation_x, validation_y) = (x[400..].to_vec(), y[400..].to_vec());
    let config = GbmConfig {
        max_iter: 40,
        ..small_config()
    };
    let model = Gbm::fit_with_validation(
        matrix(&x[..400]).view(),
        &y[..400],
        matrix(&validation_x).view(),
        &validation_y,
        &config,
    )
    .unwrap();
    assert_eq!(model.validation_loss().len(), model.trees() + 1);
    let mut short = model.clone();
    short.truncate(5);
    assert_eq!(short.trees(), 5);
    let raw: Vec<f64> = validation_x.iter().map(|r| short.raw_score(r)).collect();
    assert!((mean_log_loss(&raw, &validation_y) - model.validation_loss()[5]).abs() < 1e-12);
    assert!(matches!(
        Gbm::fit_with_validation(
            matrix(&x).view(),
            &y,
            matrix(&[vec![0.0]]).view(),
            &[true],
            &config
        ),
        Err(ModelError::ShapeMismatch { .. })
    ));
}

#[test]
fn sampled_trees_are_reproducible_and_still_learn() {
    let x = uniform_rows(600, 4, 13);
    let y: Vec<bool> = x.iter().map(|r| r[0] + r[1] > 0.0).collect();
    let config = GbmConfig {
        subsample: 0.7,
        colsample: 0.5,
        ..small_config()
    };
    let model = Gbm::fit(matrix(&x).view(), &y, &config).unwrap();
    assert_eq!(model, Gbm::fit(matrix(&x).view(), &y, &config).unwrap());
    assert_ne!(
        model,
        Gbm::fit(
            matrix(&x).view(),
            &y,
            &GbmConfig {
                seed: 7,
                ..config.clone()
            }
        )
        .unwrap()
    );
    // Half the features per tree: no tree splits on more than two of the four.
    for tree in &model.trees {
        let mut used: Vec<u32> = tree
            .nodes
            .iter()
            .filter_map(|n| n.split.as_ref().map(|s| s.feature))
            .collect();
        used.sort_unstable();
        used.dedup();
        assert!(used.len() <= 2, "{used:?}");
    }
    let test = uniform_rows(400, 4, 14);
    let test_y: Vec<bool> = test.iter().map(|r| r[0] + r[1] > 0.0).collect();
    assert!(roc_auc(&scores(&model, &test), &test_y) > 0.9);
}

#[test]
fn early_stopping_ends_training_on_noise() {
    let x = uniform_rows(500, 2, 10);
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let y: Vec<bool> = (0..500).map(|_| rng.gen()).collect();
    let config = GbmConfig {
        max_iter: 100,
        early_stopping: Some(true),
        ..small_config()
    };
    let model = Gbm::fit(matrix(&x).view(), &y, &config).unwrap();
    assert!(model.trees() < 100, "ran {} trees", model.trees());
    assert_eq!(model.validation_loss().len(), model.trees() + 1);
    // Auto leaves it off for small data.
    let auto = Gbm::fit(matrix(&x).view(), &y, &small_config()).unwrap();
    assert!(auto.validation_loss().is_empty());
}

#[test]
fn holdout_is_stratified_and_disjoint() {
    let y: Vec<bool> = (0..200).map(|i| i % 4 == 0).collect();
    let (train, validation) = stratified_holdout(&y, 0.1, 1);
    assert_eq!(train.len() + validation.len(), 200);
    assert_eq!(validation.iter().filter(|&&i| y[i]).count(), 5);
    assert_eq!(validation.len(), 20);
    assert!(validation.iter().all(|i| train.binary_search(i).is_err()));
}

#[test]
fn bins_follow_distinct_values_or_quantiles() {
    assert_eq!(
        bin_edges(&[3.0, 1.0, f64::NAN, 2.0, 1.0], 255),
        vec![1.5, 2.5]
    );
    assert_eq!(bin_of(&[1.5, 2.5], 1.5), 0);
    assert_eq!(bin_of(&[1.5, 2.5], 2.0), 1);
    assert_eq!(bin_of(&[1.5, 2.5], 9.0), 2);
    assert_eq!(bin_of(&[1.5, 2.5], f64::NAN), MISSING_BIN as u8);
    let many: Vec<f64> = (0..1000).map(f64::from).collect();
    let edges = bin_edges(&many, 4);
    assert_eq!(edges, vec![249.5, 499.5, 749.5]);
    assert!(bin_edges(&[f64::NAN, f64::NAN], 255).is_empty());
}

#[test]
fn errors_name_the_bad_input() {
    let config = GbmConfig::default();
    // Ragged rows never reach a fit: they fail where rows become a matrix.
    let ragged = vec![vec![1.0, 2.0], vec![1.0]];
    assert!(matches!(
        from_rows(&ragged),
        Err(ModelError::ShapeMismatch {
            row: 1,
            expected: 2,
            found: 1,
            ..
        })
    ));
    let x = vec![vec![1.0], vec![2.0]];
    assert!(matches!(
        Gbm::fit(matrix(&x).view(), &[true, true], &config),
        Err(ModelError::SingleClass)
    ));
    assert!(matches!(
        Gbm::fit(matrix(&x).view(), &[true], &config),
        Err(ModelError::RowCountMismatch { found: 1, .. })
    ));
    assert!(matches!(
        Gbm::fit(matrix(&[]).view(), &[], &config),
        Err(ModelError::EmptyData(_))
    ));
    let infinite = vec![vec![1.0], vec![f64::INFINITY]];
    assert!(matches!(
        Gbm::fit(matrix(&infinite).view(), &[true, false], &config),
        Err(ModelError::NonFinite {
            row: 1,
            column: 0,
            ..
        })
    ));
    for bad in [
        GbmConfig {
            monotonic: vec![1, 0],
            ..GbmConfig::default()
        },
        GbmConfig {
            monotonic: vec![2],
            ..GbmConfig::default()
        },
        GbmConfig {
            max_bins: 256,
            ..GbmConfig::default()
        },
        GbmConfig {
            learning_rate: 0.0,
            ..GbmConfig::default()
        },
        GbmConfig {
            validation_fraction: 1.0,
            ..GbmConfig::default()
        },
        GbmConfig {
            subsample: 0.0,
            ..GbmConfig::default()
        },
        GbmConfig {
            colsample: 1.5,
            ..GbmConfig::default()
        },
    ] {
        assert!(matches!(
            Gbm::fit(matrix(&x).view(), &[true, false], &bad),
            Err(ModelError::InvalidConfig { .. })
        ));
    }
}
