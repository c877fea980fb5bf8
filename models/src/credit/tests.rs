use super::*;
use crate::linear::sigmoid;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::OnceLock;

/// `income` lowers risk, `kind` "c" raises it, a missing `income` raises it, `noise`
/// does nothing.
fn synthetic(n: usize, seed: u64) -> (Table, Vec<bool>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut income, mut kind, mut noise, mut y) = (vec![], vec![], vec![], vec![]);
    for _ in 0..n {
        let value: f64 = rng.gen_range(0.0..100.0);
        let category = ["a", "b", "c"][rng.gen_range(0..3)];
        let missing = rng.gen::<f64>() < 0.08;
        let z = -1.0 - 0.04 * (value - 50.0)
            + if category == "c" { 1.2 } else { 0.0 }
            + if missing { 1.5 } else { 0.0 };
        y.push(rng.gen::<f64>() < sigmoid(z));
        income.push(if missing { f64::NAN } else { value });
        kind.push(Some(category.to_string()));
        noise.push(rng.gen_range(0.0..1.0));
    }
    let table = Table {
        columns: vec![
            Column {
                name: "income".into(),
                data: ColumnData::Numeric(income),
            },
            Column {
                name: "kind".into(),
                data: ColumnData::Categorical(kind),
            },
            Column {
                name: "noise".into(),
                data: ColumnData::Numeric(noise),
            },
        ],
    };
    (table, y)
}

fn info() -> TrainingInfo {
    TrainingInfo {
        source: "synthetic".into(),
        data_sha256: sextant_hash::sha256_hex(b"synthetic"),
        trained_at: "2025-01-01T00:00:00Z".into(),
        target: "bad".into(),
        positive_label: "1".into(),
    }
}

fn fitted(kind: CreditModelKind) -> &'static (CreditModel, Table, Vec<bool>) {
    static SCORECARD: OnceLock<(CreditModel, Table, Vec<bool>)> = OnceLock::new();
    static GBM: OnceLock<(CreditModel, Table, Vec<bool>)> = OnceLock::new();
    let cell = match kind {
        CreditModelKind::Scorecard => &SCORECARD,
        CreditModelKind::Gbm => &GBM,
    };
    cell.get_or_init(|| {
        let (table, y) = synthetic(1500, 1);
        let model = CreditModel::fit(&table, &y, &FitOptions::new(kind, 7), info()).unwrap();
        (model, table, y)
    })
}

const KINDS: [CreditModelKind; 2] = [CreditModelKind::Scorecard, CreditModelKind::Gbm];

#[test]
fn save_and_load_give_identical_predictions_and_version() {
    let dir = tempfile::tempdir().unwrap();
    for kind in KINDS {
        let (model, table, _) = fitted(kind);
        let path = dir.path().join(format!("{}.json", kind.name()));
        model.save(&path).unwrap();
        let back = CreditModel::load(&path).unwrap();
        assert_eq!(&back, model);
        assert_eq!(back.meta().model_version, model.meta().model_version);
        assert!(model.meta().model_version.starts_with(kind.name()));
        let before = model.predict_table(table).unwrap();
        let after = back.predict_table(table).unwrap();
        assert!(before
            .iter()
            .zip(&after)
            .all(|(a, b)| a.to_bits() == b.to_bits()));
        assert_eq!(back.to_json(), model.to_json());
        // Nothing but the model is left in the folder.
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1 + kind as usize
        );
    }
}

#[test]
fn metrics_do_not_change_the_version() {
    let (model, _, _) = fitted(CreditModelKind::Scorecard);
    let mut with_metrics = model.clone();
    with_metrics.set_metrics(CvMetrics {
        folds: 5,
        seed: 1,
        auc_mean: 0.8,
        auc_sd: 0.01,
        ks_mean: 0.4,
        brier_mean: 0.15,
    });
    let back = CreditModel::from_json(&with_metrics.to_json()).unwrap();
    assert_eq!(back.meta().model_version, model.meta().model_version);
    assert_eq!(back.meta().metrics.as_ref().unwrap().folds, 5);
}

#[test]
fn tampered_or_foreign_json_is_refused() {
    for kind in KINDS {
        let (model, _, _) = fitted(kind);
        let json = String::from_utf8(model.to_json()).unwrap();
        let marker = match kind {
            CreditModelKind::Scorecard => "\"coefficient\":",
            CreditModelKind::Gbm => "\"baseline\":",
        };
        let at = json.find(marker).unwrap() + marker.len();
        let end = at + json[at..].find([',', '}']).unwrap();
        let tampered = format!("{}1.5{}", &json[..at], &json[end..]);
        let error = CreditModel::from_json(tampered.as_bytes()).unwrap_err();
        assert!(
            error.to_string().contains("does not match model_version"),
            "{error}"
        );
    }
    let (model, _, _) = fitted(CreditModelKind::Gbm);
    let json = String::from_utf8(model.to_json()).unwrap();
    let future = json.replacen("\"format_version\":1", "\"format_version\":99", 1);
    assert!(CreditModel::from_json(future.as_bytes())
        .unwrap_err()
        .to_string()
        .contains("format version 99"));
    assert!(CreditModel::from_json(&json.as_bytes()[..json.len() / 2]).is_err());
    assert!(CreditModel::from_json(b"{\"meta\":{}}").is_err());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(&path, tampered_first_digit(&json)).unwrap();
    assert!(matches!(
        CreditModel::load(&path),
        Err(ModelError::Corrupt { .. })
    ));
}

/// The JSON with the first digit of the model part changed.
fn tampered_first_digit(json: &str) -> String {
    let start = json.find("\"model\":").unwrap();
    let at = start + json[start..].find(|c: char| c.is_ascii_digit()).unwrap();
    let digit = json.as_bytes()[at];
    let replacement = if digit == b'9' {
        '1'
    } else {
        (digit + 1) as char
    };
    format!("{}{replacement}{}", &json[..at], &json[at + 1..])
}

/// A file can be re-hashed after an edit, so the structure is checked as well: a model
/// that passes `from_json` never panics while predicting.
#[test]
fn a_rehashed_malformed_model_is_refused() {
    let (model, _, _) = fitted(CreditModelKind::Scorecard);
    let json = String::from_utf8(model.to_json()).unwrap();
    let broken = json.replacen("\"missing_bin\":", "\"missing_bin\":99", 1);
    let mut edited: CreditModel = serde_json::from_str(&broken).unwrap();
    edited.meta.model_version = edited.compute_version();
    let error = CreditModel::from_json(&edited.to_json()).unwrap_err();
    assert!(error.to_string().contains("malformed"), "{error}");
}

#[test]
fn explanations_add_up_and_agree_with_predictions() {
    for kind in KINDS {
        let (model, table, _) = fitted(kind);
        let predictions = model.predict_table(table).unwrap();
        for row in [0, 3, 10, 99, 1234] {
            let explanation = model.explain(&model.cells(table, row).unwrap()).unwrap();
            assert!((explanation.pd - predictions[row]).abs() < 1e-12);
            let total: f64 = explanation.baseline
                + explanation
                    .contributions
                    .iter()
                    .map(|c| c.contribution)
                    .sum::<f64>();
            assert!((total - explanation.log_odds).abs() < 1e-9);
            assert!((sigmoid(explanation.log_odds) - explanation.pd).abs() < 1e-12);
            assert_eq!(explanation.contributions.len(), 3);
            assert!(explanation
                .contributions
                .windows(2)
                .all(|w| w[0].contribution >= w[1].contribution));
            assert_eq!(
                explanation.points.is_some(),
                kind == CreditModelKind::Scorecard
            );
        }
    }
}

#[test]
fn risk_follows_the_data_missing_and_unseen_values_are_scored() {
    for kind in KINDS {
        let (model, _, _) = fitted(kind);
        let pd = |income: Cell, category: &str| {
            model
                .explain(&[income, Cell::Category(category.into()), Cell::Number(0.5)])
                .unwrap()
                .pd
        };
        // Risk falls with income, overall and the scorecard strictly by bins.
        assert!(pd(Cell::Number(5.0), "a") > pd(Cell::Number(95.0), "a") + 0.2);
        if kind == CreditModelKind::Scorecard {
            let incomes: Vec<f64> = (0..=20)
                .map(|i| pd(Cell::Number(f64::from(i) * 5.0), "a"))
                .collect();
            assert!(incomes.windows(2).all(|w| w[0] >= w[1]), "{incomes:?}");
        }
        assert!(pd(Cell::Number(50.0), "c") > pd(Cell::Number(50.0), "a"));
        // Missing income is riskier than a middling one; unseen categories still score.
        assert!(pd(Cell::Missing, "a") > pd(Cell::Number(50.0), "a"));
        let unseen = pd(Cell::Number(50.0), "zebra");
        assert!(unseen > 0.0 && unseen < 1.0);
        let nan = pd(Cell::Number(f64::NAN), "a");
        assert_eq!(nan, pd(Cell::Missing, "a"));
    }
}

#[test]
fn bad_inputs_are_named() {
    let (model, table, _) = fitted(CreditModelKind::Gbm);
    let error = model
        .explain(&[Cell::Category("rich".into()), Cell::Missing, Cell::Missing])
        .unwrap_err();
    assert!(matches!(&error, ModelError::BadValue { feature, .. } if feature == "income"));
    assert!(matches!(
        model.explain(&[Cell::Missing]),
        Err(ModelError::ShapeMismatch {
            expected: 3,
            found: 1,
            ..
        })
    ));
    let mut partial = table.clone();
    partial.columns.remove(1);
    assert!(matches!(
        model.predict_table(&partial),
        Err(ModelError::MissingFeature { feature }) if feature == "kind"
    ));
    // Columns are found by name, in any order, and text that is a number is read.
    let mut shuffled = table.select_rows(&[0, 1, 2]);
    shuffled.columns.reverse();
    if let ColumnData::Numeric(values) = &shuffled.columns[2].data {
        let text = values
            .iter()
            .map(|v| (!v.is_nan()).then(|| v.to_string()))
            .collect();
        shuffled.columns[2].data = ColumnData::Categorical(text);
    }
    assert_eq!(
        model.predict_table(&shuffled).unwrap(),
        model.predict_table(&table.select_rows(&[0, 1, 2])).unwrap()
    );
}

#[test]
fn fitting_is_deterministic_to_the_byte() {
    let (table, y) = synthetic(600, 3);
    for kind in KINDS {
        let options = FitOptions::new(kind, 11);
        let a = CreditModel::fit(&table, &y, &options, info()).unwrap();
        let b = CreditModel::fit(&table, &y, &options, info()).unwrap();
        assert_eq!(a.to_json(), b.to_json());
    }
}

#[test]
fn every_calibration_choice_fits_and_is_recorded() {
    let (table, y) = synthetic(600, 4);
    for (calibration, name) in [
        (Calibration::Platt, "platt"),
        (Calibration::Isotonic, "isotonic"),
        (Calibration::None, "none"),
    ] {
        for kind in KINDS {
            let options = FitOptions {
                calibration,
                ..FitOptions::new(kind, 1)
            };
            let model = CreditModel::fit(&table, &y, &options, info()).unwrap();
            assert_eq!(model.meta().calibration, name);
            let explanation = model.explain(&model.cells(&table, 0).unwrap()).unwrap();
            let total = explanation.baseline
                + explanation
                    .contributions
                    .iter()
                    .map(|c| c.contribution)
                    .sum::<f64>();
            assert!((total - explanation.log_odds).abs() < 1e-9);
            CreditModel::from_json(&model.to_json()).unwrap();
        }
    }
    let auto = |kind| {
        CreditModel::fit(&table, &y, &FitOptions::new(kind, 1), info())
            .unwrap()
            .meta()
            .calibration
            .clone()
    };
    assert_eq!(auto(CreditModelKind::Gbm), "platt");
    assert_eq!(auto(CreditModelKind::Scorecard), "none");
}

#[test]
fn a_fixed_gbm_configuration_is_used_as_given() {
    let (table, y) = synthetic(400, 5);
    let options = FitOptions {
        gbm: Some(GbmConfig {
            max_iter: 7,
            ..GbmConfig::default()
        }),
        ..FitOptions::new(CreditModelKind::Gbm, 3)
    };
    let model = CreditModel::fit(&table, &y, &options, info()).unwrap();
    let config = model.meta().gbm_config.as_ref().unwrap();
    assert_eq!((config.max_iter, config.seed), (7, 3));
    let Inner::Gbm { gbm, .. } = &model.model else {
        panic!("GBM expected");
    };
    assert_eq!(gbm.trees(), 7);
}

#[test]
fn cross_validation_does_not_leak() {
    // Labels are coin flips; `id` is unique per row, so any use of test rows' labels in
    // its encoding would show as a high AUC.
    let n = 600;
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let y: Vec<bool> = (0..n).map(|_| rng.gen()).collect();
    let table = Table {
        columns: vec![
            Column {
                name: "id".into(),
                data: ColumnData::Categorical((0..n).map(|i| Some(format!("id{i}"))).collect()),
            },
            Column {
                name: "noise".into(),
                data: ColumnData::Numeric((0..n).map(|_| rng.gen()).collect()),
            },
        ],
    };
    let options = FitOptions {
        scorecard: ScorecardConfig {
            binning: crate::scorecard::BinningConfig {
                min_iv: 0.0,
                ..Default::default()
            },
            ..Default::default()
        },
        ..FitOptions::new(CreditModelKind::Gbm, 1)
    };
    for kind in KINDS {
        let options = FitOptions {
            kind,
            ..options.clone()
        };
        let report = cross_validate(&table, &y, &options, 5, 2).unwrap();
        assert!((report.auc_mean - 0.5).abs() < 0.08, "{kind:?}: {report:?}");
        assert_eq!(report.fold_auc.len(), 5);
        assert!(report.out_of_fold.iter().all(|p| (0.0..=1.0).contains(p)));
    }
}

#[test]
fn cross_validation_reports_signal() {
    let (table, y) = synthetic(1000, 6);
    let report = cross_validate(
        &table,
        &y,
        &FitOptions::new(CreditModelKind::Scorecard, 1),
        4,
        1,
    )
    .unwrap();
    assert!(report.auc_mean > 0.75, "{report:?}");
    assert_eq!(report.calibration.len(), 10);
    assert_eq!(report.metrics().folds, 4);
    assert!(matches!(
        cross_validate(
            &table,
            &y,
            &FitOptions::new(CreditModelKind::Scorecard, 1),
            1,
            1
        ),
        Err(ModelError::InvalidConfig { field: "folds", .. })
    ));
}

#[test]
fn cells_read_from_json() {
    let cells: Vec<Cell> = serde_json::from_str(r#"[1.5, "A11", null]"#).unwrap();
    assert_eq!(
        cells,
        [
            Cell::Number(1.5),
            Cell::Category("A11".into()),
            Cell::Missing
        ]
    );
}

#[test]
fn tiny_data_fits_without_inner_folds() {
    let (table, y) = synthetic(40, 8);
    // Three positives: too few for inner folds, so no tuning and no calibration.
    let mut seen = 0;
    let few: Vec<bool> = y
        .iter()
        .map(|&label| {
            seen += usize::from(label);
            label && seen <= 3
        })
        .collect();
    let model = CreditModel::fit(
        &table,
        &few,
        &FitOptions::new(CreditModelKind::Gbm, 1),
        info(),
    )
    .unwrap();
    assert_eq!(model.meta().calibration, "none");
    assert_eq!(model.meta().positives, 3);
}
