//! Probability calibration of a model's raw log-odds: Platt scaling (a logistic curve) and
//! isotonic regression (pool adjacent violators). Callers fit them on cross-fitted scores,
//! never on scores of rows the model was trained on.

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::linear::{sigmoid, LogisticRegression};
use crate::ModelError;

/// Probabilities are kept this far inside (0, 1), so log-odds stay finite.
const PROBABILITY_FLOOR: f64 = 1e-9;
/// L2 penalty of the Platt fit on the slope, on the mean-loss scale: a slope is about 1, so
/// this only matters when the raw scores separate the classes perfectly.
const PLATT_L2: f64 = 1e-4;

/// Maps the model's raw log-odds to a probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(super) enum Calibrator {
    None,
    /// `p = sigmoid(slope * z + intercept)`.
    Platt {
        slope: f64,
        intercept: f64,
    },
    /// Increasing knots `raw` with probabilities `probability`, linear in between, flat
    /// outside.
    Isotonic {
        raw: Vec<f64>,
        probability: Vec<f64>,
    },
}

impl Calibrator {
    pub(super) fn name(&self) -> &'static str {
        match self {
            Calibrator::None => "none",
            Calibrator::Platt { .. } => "platt",
            Calibrator::Isotonic { .. } => "isotonic",
        }
    }

    pub(super) fn apply(&self, raw: f64) -> f64 {
        let p = match self {
            Calibrator::None => sigmoid(raw),
            Calibrator::Platt { slope, intercept } => sigmoid(slope * raw + intercept),
            Calibrator::Isotonic {
                raw: x,
                probability,
            } => interpolate(x, probability, raw),
        };
        p.clamp(PROBABILITY_FLOOR, 1.0 - PROBABILITY_FLOOR)
    }

    /// `(slope, intercept)` when the calibrated log-odds are affine in the raw ones.
    pub(super) fn affine(&self) -> Option<(f64, f64)> {
        match self {
            Calibrator::None => Some((1.0, 0.0)),
            Calibrator::Platt { slope, intercept } => Some((*slope, *intercept)),
            Calibrator::Isotonic { .. } => None,
        }
    }
}

/// Piecewise-linear through the knots, flat outside them.
fn interpolate(x: &[f64], y: &[f64], at: f64) -> f64 {
    let k = x.partition_point(|&knot| knot < at);
    if k == 0 {
        y[0]
    } else if k == x.len() {
        y[x.len() - 1]
    } else {
        let t = (at - x[k - 1]) / (x[k] - x[k - 1]);
        y[k - 1] + t * (y[k] - y[k - 1])
    }
}

pub(super) fn fit_platt(raw: &[f64], y: &[bool]) -> Result<Calibrator, ModelError> {
    let x = ArrayView2::from_shape((raw.len(), 1), raw).expect("one column of scores");
    let fit = LogisticRegression::fit(x, y, PLATT_L2)?;
    Ok(Calibrator::Platt {
        slope: fit.weights[0],
        intercept: fit.intercept,
    })
}

/// Isotonic regression of the labels on the raw scores by pooling adjacent violators; each
/// pooled block becomes a knot at its mean score.
pub(super) fn fit_isotonic(raw: &[f64], y: &[bool]) -> Calibrator {
    let mut order: Vec<usize> = (0..raw.len()).collect();
    order.sort_by(|&a, &b| raw[a].total_cmp(&raw[b]));
    // (sum of scores, positives, rows) per block.
    let mut blocks: Vec<(f64, f64, f64)> = Vec::new();
    let mut start = 0;
    while start < order.len() {
        // Tied scores form one block: they must get one probability.
        let mut end = start;
        let mut block = (0.0, 0.0, 0.0);
        while end < order.len() && raw[order[end]] == raw[order[start]] {
            block.0 += raw[order[end]];
            block.1 += f64::from(u8::from(y[order[end]]));
            block.2 += 1.0;
            end += 1;
        }
        blocks.push(block);
        while blocks.len() >= 2 {
            let last = blocks[blocks.len() - 1];
            let previous = blocks[blocks.len() - 2];
            if previous.1 / previous.2 < last.1 / last.2 {
                break;
            }
            blocks.pop();
            let merged = blocks.last_mut().expect("two blocks");
            *merged = (merged.0 + last.0, merged.1 + last.1, merged.2 + last.2);
        }
        start = end;
    }
    Calibrator::Isotonic {
        raw: blocks.iter().map(|b| b.0 / b.2).collect(),
        probability: blocks.iter().map(|b| b.1 / b.2).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluation::brier_score;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Raw scores three times too confident: the right log-odds are `z / 3`.
    fn overconfident(n: usize, seed: u64) -> (Vec<f64>, Vec<bool>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..n)
            .map(|_| {
                let truth: f64 = rng.gen_range(-3.0..2.0);
                (3.0 * truth, rng.gen::<f64>() < sigmoid(truth))
            })
            .unzip()
    }

    #[test]
    fn calibration_repairs_overconfident_scores() {
        let (train_raw, train_y) = overconfident(4000, 1);
        let (test_raw, test_y) = overconfident(4000, 2);
        let brier = |calibrator: &Calibrator| {
            let p: Vec<f64> = test_raw.iter().map(|&z| calibrator.apply(z)).collect();
            brier_score(&p, &test_y)
        };
        let raw = brier(&Calibrator::None);
        let platt = fit_platt(&train_raw, &train_y).unwrap();
        let Calibrator::Platt { slope, .. } = platt else {
            panic!("Platt expected");
        };
        assert!((slope - 1.0 / 3.0).abs() < 0.05, "slope {slope}");
        let isotonic = fit_isotonic(&train_raw, &train_y);
        assert!(brier(&platt) < raw - 0.01, "{} vs {raw}", brier(&platt));
        assert!(
            brier(&isotonic) < raw - 0.01,
            "{} vs {raw}",
            brier(&isotonic)
        );
        // Isotonic knots increase and the map is monotone.
        let Calibrator::Isotonic {
            raw: knots,
            probability,
        } = &isotonic
        else {
            panic!("isotonic expected");
        };
        assert!(knots.windows(2).all(|w| w[0] < w[1]));
        assert!(probability.windows(2).all(|w| w[0] <= w[1]));
    }
}
