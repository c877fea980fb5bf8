//! Risk and performance measures of one portfolio's periodic returns.
//!
//! Conventions: `r` holds simple periodic (daily) returns as fractions; losses (VaR, CVaR,
//! drawdown) are reported as positive fractions of wealth over one period; ratios are
//! annualised with `frequency` periods a year ([`crate::TRADING_DAYS`] for daily data), and
//! `risk_free` is an annual rate. Means are arithmetic and annualised by `* frequency`,
//! volatilities by `* sqrt(frequency)`, as PyPortfolioOpt's `portfolio_performance` does.
//! A measure that is undefined for its input (too few returns, zero dispersion, a confidence
//! outside (0, 1), mismatched lengths) is NaN; callers validate their inputs first.

use crate::{DMatrix, DVector};
use statrs::distribution::{Continuous, ContinuousCDF, Normal};

/// Per-period returns of a fixed-weight portfolio rebalanced every period: `returns * weights`
/// (`returns` is `T x n`, complete). Panics if the shapes disagree (a programming error).
pub fn portfolio_returns(returns: &DMatrix<f64>, weights: &DVector<f64>) -> Vec<f64> {
    assert_eq!(
        returns.ncols(),
        weights.len(),
        "one weight per asset column"
    );
    (returns * weights).iter().copied().collect()
}

/// Historical value at risk at `confidence` (e.g. 0.95): minus the `1 - confidence` quantile of
/// the returns, with numpy's default linear interpolation (`-np.percentile(r, 100 * (1 -
/// confidence))`), as a positive fraction when it is a loss.
pub fn historical_var(r: &[f64], confidence: f64) -> f64 {
    if r.is_empty() || !valid_confidence(confidence) {
        return f64::NAN;
    }
    let mut sorted = r.to_vec();
    sorted.sort_by(f64::total_cmp);
    -linear_quantile(&sorted, 1.0 - confidence)
}

/// Historical conditional value at risk (expected shortfall) at `confidence`, the
/// Rockafellar-Uryasev sample value `min_a a + mean(max(-r - a, 0)) / (1 - confidence)`: the
/// average loss in the worst `1 - confidence` of periods, splitting the boundary period. This
/// is the quantity PyPortfolioOpt's `EfficientCVaR` minimises, so the two agree on a
/// portfolio's returns. Positive fraction when it is a loss; at least [`historical_var`].
pub fn historical_cvar(r: &[f64], confidence: f64) -> f64 {
    if r.is_empty() || !valid_confidence(confidence) {
        return f64::NAN;
    }
    let mut losses: Vec<f64> = r.iter().map(|x| -x).collect();
    losses.sort_by(f64::total_cmp);
    let t = losses.len();
    let objective = |alpha: f64| {
        let excess: f64 = losses.iter().map(|l| (l - alpha).max(0.0)).sum();
        alpha + excess / ((1.0 - confidence) * t as f64)
    };
    // The minimiser is the ceil(confidence * T)-th smallest loss; try its neighbour too so
    // that rounding in confidence * T cannot pick the wrong one.
    let k = ((confidence * t as f64).ceil() as usize).clamp(1, t);
    let candidates = [
        losses[k - 1],
        losses[k.min(t - 1)],
        losses[k.saturating_sub(2)],
    ];
    candidates
        .into_iter()
        .map(objective)
        .fold(f64::INFINITY, f64::min)
}

/// Parametric (normal) value at risk of one period with return mean `mean` and standard
/// deviation `sd`: `-mean + sd * z`, `z` the standard normal `confidence` quantile.
pub fn parametric_var(mean: f64, sd: f64, confidence: f64) -> f64 {
    if !valid_confidence(confidence) || sd.is_nan() || sd < 0.0 {
        return f64::NAN;
    }
    -mean + sd * Normal::standard().inverse_cdf(confidence)
}

/// Parametric (normal) conditional value at risk: `-mean + sd * phi(z) / (1 - confidence)`,
/// the mean loss beyond the normal VaR.
pub fn parametric_cvar(mean: f64, sd: f64, confidence: f64) -> f64 {
    if !valid_confidence(confidence) || sd.is_nan() || sd < 0.0 {
        return f64::NAN;
    }
    let normal = Normal::standard();
    let z = normal.inverse_cdf(confidence);
    -mean + sd * normal.pdf(z) / (1.0 - confidence)
}

/// Largest fall from a running peak of wealth `prod(1 + r)`, starting from wealth 1 (so a
/// first-period loss counts), as a positive fraction; 0 for no returns or no fall.
pub fn max_drawdown(r: &[f64]) -> f64 {
    let mut wealth = 1.0;
    let mut peak = 1.0_f64;
    let mut worst = 0.0_f64;
    for x in r {
        wealth *= 1.0 + x;
        peak = peak.max(wealth);
        worst = worst.max(1.0 - wealth / peak);
    }
    worst
}

/// The drawdown after each return: how far wealth stands below its running peak (0 at a
/// peak, 0.2 twenty per cent below it). Its maximum is [`max_drawdown`].
pub fn drawdowns(r: &[f64]) -> Vec<f64> {
    let mut wealth = 1.0;
    let mut peak = 1.0_f64;
    r.iter()
        .map(|x| {
            wealth *= 1.0 + x;
            peak = peak.max(wealth);
            1.0 - wealth / peak
        })
        .collect()
}

/// Annualised Sharpe ratio `(mean(r) * frequency - risk_free) / (sd(r) * sqrt(frequency))`,
/// sample standard deviation (ddof 1), as PyPortfolioOpt's `portfolio_performance` on
/// `returns.mean() * frequency` and `returns.cov() * frequency`.
pub fn sharpe_ratio(r: &[f64], risk_free: f64, frequency: usize) -> f64 {
    if r.len() < 2 || frequency == 0 {
        return f64::NAN;
    }
    let f = frequency as f64;
    let sd = sample_sd(r);
    if sd.is_nan() || sd <= 0.0 {
        return f64::NAN;
    }
    (mean(r) * f - risk_free) / (sd * f.sqrt())
}

/// Annualised Sortino ratio `(mean(r) * frequency - risk_free) / semideviation`, with
/// PyPortfolioOpt's `EfficientSemivariance` semideviation
/// `sqrt(sum(min(r - b, 0)^2) / T * frequency)` and the per-period benchmark `b` equal to the
/// risk-free rate, `(1 + risk_free)^(1 / frequency) - 1` (0.000079 a day for 2 %).
pub fn sortino_ratio(r: &[f64], risk_free: f64, frequency: usize) -> f64 {
    if r.is_empty() || frequency == 0 {
        return f64::NAN;
    }
    let f = frequency as f64;
    let benchmark = (1.0 + risk_free).powf(1.0 / f) - 1.0;
    let shortfall: f64 = r.iter().map(|x| (x - benchmark).min(0.0).powi(2)).sum();
    let semideviation = (shortfall / r.len() as f64 * f).sqrt();
    if semideviation.is_nan() || semideviation <= 0.0 {
        return f64::NAN;
    }
    (mean(r) * f - risk_free) / semideviation
}

/// Beta of `r` on `benchmark` (same periods): `cov(r, b) / var(b)`.
pub fn beta(r: &[f64], benchmark: &[f64]) -> f64 {
    if r.len() != benchmark.len() || r.len() < 2 {
        return f64::NAN;
    }
    let (mr, mb) = (mean(r), mean(benchmark));
    let cov: f64 = r
        .iter()
        .zip(benchmark)
        .map(|(x, b)| (x - mr) * (b - mb))
        .sum();
    let var: f64 = benchmark.iter().map(|b| (b - mb) * (b - mb)).sum();
    if var.is_nan() || var <= 0.0 {
        return f64::NAN;
    }
    cov / var
}

/// Each asset's share of portfolio variance, `w_i (cov w)_i / (w' cov w)`; the shares sum to
/// one (a hedge has a negative share). NaN everywhere if the variance is not positive. Panics
/// if the shapes disagree (a programming error).
pub fn risk_contributions(weights: &DVector<f64>, cov: &DMatrix<f64>) -> DVector<f64> {
    assert_eq!(
        cov.shape(),
        (weights.len(), weights.len()),
        "cov must be n x n for n weights"
    );
    let marginal = cov * weights;
    let variance = weights.dot(&marginal);
    if variance.is_nan() || variance <= 0.0 {
        return DVector::from_element(weights.len(), f64::NAN);
    }
    weights.component_mul(&marginal) / variance
}

fn valid_confidence(confidence: f64) -> bool {
    confidence > 0.0 && confidence < 1.0
}

fn mean(r: &[f64]) -> f64 {
    r.iter().sum::<f64>() / r.len() as f64
}

fn sample_sd(r: &[f64]) -> f64 {
    let m = mean(r);
    (r.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (r.len() - 1) as f64).sqrt()
}

/// numpy's `quantile(..., method="linear")` on sorted data, including its lerp that
/// interpolates from the upper end when the fraction is at least one half.
fn linear_quantile(sorted: &[f64], q: f64) -> f64 {
    let position = q * (sorted.len() - 1) as f64;
    let lower = position.floor() as usize;
    let upper = (lower + 1).min(sorted.len() - 1);
    let fraction = position - lower as f64;
    let (a, b) = (sorted[lower], sorted[upper]);
    let diff = b - a;
    if fraction >= 0.5 {
        b - diff * (1.0 - fraction)
    } else {
        a + diff * fraction
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[rustfmt::skip]
    const R: [f64; 20] = [0.012, -0.034, 0.005, 0.021, -0.011, -0.052, 0.018, 0.007, -0.003, 0.026,
        -0.019, 0.009, 0.014, -0.027, 0.004, 0.011, -0.008, 0.016, -0.041, 0.022];
    #[rustfmt::skip]
    const B: [f64; 20] = [0.010, -0.025, 0.004, 0.015, -0.009, -0.040, 0.012, 0.006, -0.001, 0.020,
        -0.012, 0.007, 0.010, -0.020, 0.002, 0.008, -0.006, 0.012, -0.030, 0.018];

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() <= 1e-12 * b.abs().max(1e-3)
    }

    #[test]
    fn drawdowns_peak_at_the_max_drawdown() {
        let r = [0.1, -0.2, 0.05, -0.1, 0.3];
        let path = drawdowns(&r);
        let worst = path.iter().copied().fold(0.0, f64::max);
        assert!((worst - max_drawdown(&r)).abs() < 1e-12);
        assert_eq!(path[0], 0.0);
        assert!(path.iter().all(|d| (0.0..1.0).contains(d)));
    }

    #[test]
    fn historical_var_is_numpys_percentile() {
        // -np.percentile(R, 5), -np.percentile(R, 10), -np.percentile(R, 1)
        assert!(close(historical_var(&R, 0.95), 0.041550000000000004));
        assert!(close(historical_var(&R, 0.90), 0.0347));
        assert!(close(historical_var(&R, 0.99), 0.049909999999999996));
        assert!(historical_var(&[], 0.95).is_nan());
        assert!(historical_var(&R, 1.0).is_nan());
    }

    #[test]
    fn historical_cvar_is_the_rockafellar_uryasev_minimum() {
        // min over a in -R of a + sum(max(-R - a, 0)) / ((1 - beta) * 20), by brute force
        assert!(close(historical_cvar(&R, 0.95), 0.05199999999999999));
        assert!(close(historical_cvar(&R, 0.90), 0.0465));
        assert!(close(historical_cvar(&R, 0.80), 0.0385));
    }

    #[test]
    fn parametric_measures_follow_the_normal() {
        // -(0.001 + 0.02 * norm.ppf(0.05)); -0.001 + 0.02 * norm.pdf(norm.ppf(0.95)) / 0.05
        assert!((parametric_var(0.001, 0.02, 0.95) - 0.03189707253902946).abs() < 1e-12);
        assert!((parametric_cvar(0.001, 0.02, 0.95) - 0.04025425615014855).abs() < 1e-12);
        assert!(parametric_var(0.0, -1.0, 0.95).is_nan());
    }

    #[test]
    fn max_drawdown_counts_from_the_start() {
        // 1 - cumprod(1 + R) / running peak (including the initial 1), maximised
        assert!(close(max_drawdown(&R), 0.07066229172004013));
        assert!(close(max_drawdown(&[-0.1, 0.05]), 0.1));
        assert_eq!(max_drawdown(&[0.01, 0.02]), 0.0);
        assert_eq!(max_drawdown(&[]), 0.0);
    }

    #[test]
    fn ratios_match_pypfopt_portfolio_performance() {
        // HRPOpt(returns=pd.DataFrame({"r": R, "b": B})) with weights {"r": 1, "b": 0}:
        // portfolio_performance(risk_free_rate=0.02)[2]
        assert!(close(sharpe_ratio(&R, 0.02, 252), -1.1157897818557616));
        // EfficientSemivariance(mu=df.mean() * 252, df, benchmark=1.02 ** (1 / 252) - 1), same
        // weights: portfolio_performance(risk_free_rate=0.02)[2]
        assert!(close(sortino_ratio(&R, 0.02, 252), -1.3541662174786466));
        assert!(sharpe_ratio(&[0.01], 0.02, 252).is_nan());
        assert!(sharpe_ratio(&[0.01, 0.01], 0.02, 252).is_nan());
    }

    #[test]
    fn beta_is_cov_over_var() {
        // np.cov(R, B)[0, 1] / np.var(B, ddof=1)
        assert!(close(beta(&R, &B), 1.3338728732360303));
        assert!(close(beta(&B, &B), 1.0));
        assert!(beta(&R, &B[..5]).is_nan());
    }

    #[test]
    fn portfolio_returns_weight_the_columns() {
        let m = DMatrix::from_row_slice(2, 2, &[0.01, 0.03, -0.02, 0.0]);
        let w = DVector::from_row_slice(&[0.25, 0.75]);
        let got = portfolio_returns(&m, &w);
        assert!((got[0] - 0.025).abs() < 1e-15 && (got[1] + 0.005).abs() < 1e-15);
    }

    #[test]
    fn risk_contributions_of_a_hedge() {
        let cov = DMatrix::from_row_slice(2, 2, &[0.04, -0.01, -0.01, 0.01]);
        let rc = risk_contributions(&DVector::from_row_slice(&[0.5, 0.5]), &cov);
        // w * (cov w) = [0.5 * 0.015, 0.5 * 0.0] over 0.0075
        assert!((rc[0] - 1.0).abs() < 1e-12 && rc[1].abs() < 1e-12);
        let zero = risk_contributions(&DVector::zeros(2), &cov);
        assert!(zero.iter().all(|x| x.is_nan()));
    }

    proptest! {
        #[test]
        fn cvar_bounds_var_and_contributions_sum_to_one(
            r in prop::collection::vec(-0.1..0.1_f64, 1..60),
            confidence in 0.5..0.995_f64,
            w in prop::collection::vec(0.01..1.0_f64, 3),
        ) {
            let var = historical_var(&r, confidence);
            let cvar = historical_cvar(&r, confidence);
            prop_assert!(cvar >= var - 1e-12, "cvar {} < var {}", cvar, var);
            let worst = r.iter().fold(f64::INFINITY, |m, x| m.min(*x));
            prop_assert!(cvar <= -worst + 1e-12);
            prop_assert!((0.0..=1.0).contains(&max_drawdown(&r)));
            let cov = DMatrix::from_row_slice(3, 3, &[0.04, 0.01, 0.0, 0.01, 0.09, 0.02, 0.0, 0.02, 0.16]);
            let rc = risk_contributions(&DVector::from_vec(w), &cov);
            prop_assert!((rc.sum() - 1.0).abs() < 1e-12);
        }
    }
}
