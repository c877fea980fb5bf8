//! Expected returns and risk models from historical returns, following PyPortfolioOpt 1.6.0
//! (`expected_returns`, `risk_models`) and the pandas/scikit-learn semantics it relies on, so
//! that the numbers agree with it to ~1e-9 relative on the same data.
//!
//! Conventions:
//! - input returns are simple periodic (daily) returns, a [`ReturnTable`] as made by
//!   [`crate::market::PriceTable::returns`]; outputs are annualised with `frequency` periods a
//!   year ([`crate::TRADING_DAYS`] = 252 for daily data): returns as fractions a year,
//!   covariances as (fraction a year)^2;
//! - missing returns are handled as PyPortfolioOpt does, which differs by estimator (each
//!   function says how): means and counts skip them, covariances are pairwise-complete like
//!   pandas `DataFrame.cov()`, the semicovariance counts them as no shortfall, and the
//!   Ledoit-Wolf estimators read them as zero returns (`np.nan_to_num`);
//! - `compounding = true` gives the geometric mean (CAGR) `prod(1 + r)^(frequency / T) - 1`,
//!   `false` the arithmetic mean times `frequency`;
//! - every covariance estimate is passed through [`fix_nonpositive_semidefinite`] ("spectral").

use crate::covariance::fix_nonpositive_semidefinite;
use crate::market::ReturnTable;
use crate::{AdvisorError, DMatrix, DVector, Result};

/// Default span (periods) of [`ema_historical_return`], as PyPortfolioOpt.
pub const DEFAULT_RETURN_SPAN: usize = 500;
/// Default span (periods) of [`exp_cov`], as PyPortfolioOpt.
pub const DEFAULT_COV_SPAN: usize = 180;
/// Default daily benchmark of [`semicovariance`]: PyPortfolioOpt's `0.000079`, about
/// `1.02^(1/252) - 1`, the daily equivalent of a 2 % risk-free rate.
pub const DEFAULT_SEMICOV_BENCHMARK: f64 = 0.000079;

/// The structured target a Ledoit-Wolf estimate shrinks the sample covariance towards.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ShrinkageTarget {
    /// Identity times the average variance (scikit-learn `ledoit_wolf`).
    #[default]
    ConstantVariance,
    /// Sharpe's single-index model on the equal-weighted market (Ledoit-Wolf 2001).
    SingleFactor,
    /// Sample variances with one average correlation (Ledoit-Wolf 2003).
    ConstantCorrelation,
}

/// Annualised mean historical return per asset (PyPortfolioOpt `mean_historical_return`).
///
/// Each asset uses its own present returns: the geometric mean is
/// `prod(1 + r)^(frequency / count) - 1`, the arithmetic one `mean(r) * frequency`.
/// Errors if an asset has no return at all or `frequency` is zero.
pub fn mean_historical_return(
    r: &ReturnTable,
    compounding: bool,
    frequency: usize,
) -> Result<DVector<f64>> {
    let frequency = check_frequency(frequency)?;
    r.validate("returns")?;
    let columns = columns(r);
    let mut mu = DVector::zeros(columns.len());
    for (j, column) in columns.iter().enumerate() {
        let present: Vec<f64> = column.iter().flatten().copied().collect();
        if present.is_empty() {
            return Err(no_returns(r, j));
        }
        mu[j] = annualise_mean(&present, compounding, frequency);
    }
    Ok(mu)
}

/// Annualised exponentially weighted mean return per asset (PyPortfolioOpt
/// `ema_historical_return`): the last value of pandas `ewm(span=span).mean()` (adjust=True,
/// gaps age the weights but add no observation), then `(1 + m)^frequency - 1` when
/// compounding, else `m * frequency`. Default span [`DEFAULT_RETURN_SPAN`].
pub fn ema_historical_return(
    r: &ReturnTable,
    compounding: bool,
    span: usize,
    frequency: usize,
) -> Result<DVector<f64>> {
    let frequency = check_frequency(frequency)?;
    check_span(span)?;
    r.validate("returns")?;
    let columns = columns(r);
    let mut mu = DVector::zeros(columns.len());
    for (j, column) in columns.iter().enumerate() {
        let m = ewm_mean_last(column, span).ok_or_else(|| no_returns(r, j))?;
        mu[j] = if compounding {
            (1.0 + m).powf(frequency) - 1.0
        } else {
            m * frequency
        };
    }
    Ok(mu)
}

/// CAPM expected returns `risk_free + beta_i * (E[R_m] - risk_free)` (PyPortfolioOpt
/// `capm_return`).
///
/// `market` gives the market's return on each row of `r` (`None` where missing); when absent
/// the market is the equal-weighted mean of the assets present on each row, as PyPortfolioOpt
/// does. Betas are pairwise-complete `cov(r_i, m) / var(m)`; `E[R_m]` is annualised from the
/// market's own present returns like [`mean_historical_return`]. `risk_free` is annual
/// (PyPortfolioOpt defaults it to 0; Sextant usually passes [`crate::DEFAULT_RISK_FREE`]).
pub fn capm_return(
    r: &ReturnTable,
    market: Option<&[Option<f64>]>,
    risk_free: f64,
    compounding: bool,
    frequency: usize,
) -> Result<DVector<f64>> {
    let frequency = check_frequency(frequency)?;
    r.validate("returns")?;
    if !risk_free.is_finite() {
        return Err(AdvisorError::invalid("risk_free", "must be finite"));
    }
    let (market, field) = match market {
        Some(m) => (checked_market(m, r.n_rows())?, "market"),
        None => (equal_weight_market(r), "returns"),
    };
    let (_, var_m) = pair_cov(&market, &market);
    if var_m.is_nan() || var_m <= 0.0 {
        return Err(AdvisorError::invalid(
            field,
            "the market return needs at least 2 observations and a positive variance",
        ));
    }
    let present: Vec<f64> = market.iter().flatten().copied().collect();
    let market_return = annualise_mean(&present, compounding, frequency);
    let columns = columns(r);
    let mut mu = DVector::zeros(columns.len());
    for (j, column) in columns.iter().enumerate() {
        let (count, cov_im) = pair_cov(column, &market);
        if count < 2 {
            return Err(AdvisorError::invalid(
                "returns",
                format!(
                    "asset {j} ({}) has fewer than 2 returns in common with the market",
                    r.assets[j]
                ),
            ));
        }
        mu[j] = risk_free + cov_im / var_m * (market_return - risk_free);
    }
    Ok(mu)
}

/// Annualised sample covariance (PyPortfolioOpt `sample_cov`): pandas `DataFrame.cov()`
/// (pairwise-complete observations, ddof 1) times `frequency`, then
/// [`fix_nonpositive_semidefinite`] (pairwise estimates need not be PSD). Errors if a pair of
/// assets has fewer than 2 returns in common.
pub fn sample_cov(r: &ReturnTable, frequency: usize) -> Result<DMatrix<f64>> {
    let frequency = check_frequency(frequency)?;
    r.validate("returns")?;
    let cov = pairwise_cov(r)? * frequency;
    Ok(fix_nonpositive_semidefinite(&cov).0)
}

/// Annualised semicovariance (PyPortfolioOpt `semicovariance`):
/// `D^T D / T * frequency` with `D = min(r - benchmark, 0)`, `T` all rows. A missing return
/// counts as no shortfall (numpy `fmin` ignores NaN) but still counts in `T`.
/// `benchmark` is per period; default [`DEFAULT_SEMICOV_BENCHMARK`].
pub fn semicovariance(r: &ReturnTable, benchmark: f64, frequency: usize) -> Result<DMatrix<f64>> {
    let frequency = check_frequency(frequency)?;
    r.validate("returns")?;
    if !benchmark.is_finite() {
        return Err(AdvisorError::invalid("benchmark", "must be finite"));
    }
    if r.n_rows() == 0 {
        return Err(AdvisorError::invalid("returns", "no returns"));
    }
    let drops = DMatrix::from_fn(r.n_rows(), r.n_assets(), |t, j| {
        r.rows[t][j].map_or(0.0, |x| (x - benchmark).min(0.0))
    });
    let semi = drops.tr_mul(&drops) / r.n_rows() as f64 * frequency;
    Ok(fix_nonpositive_semidefinite(&semi).0)
}

/// Annualised exponentially weighted covariance (PyPortfolioOpt `exp_cov`): for each pair,
/// the last value of pandas `ewm(span).mean()` of `(x - mean(x)) * (y - mean(y))`, where each
/// mean uses the asset's own present returns and a row missing either return is a gap; times
/// `frequency`, then [`fix_nonpositive_semidefinite`]. Default span [`DEFAULT_COV_SPAN`].
pub fn exp_cov(r: &ReturnTable, span: usize, frequency: usize) -> Result<DMatrix<f64>> {
    let frequency = check_frequency(frequency)?;
    check_span(span)?;
    r.validate("returns")?;
    let columns = columns(r);
    let n = columns.len();
    let mut centred = Vec::with_capacity(n);
    for (j, column) in columns.iter().enumerate() {
        let mean = nan_mean(column).ok_or_else(|| no_returns(r, j))?;
        centred.push(
            column
                .iter()
                .map(|x| x.map(|x| x - mean))
                .collect::<Vec<_>>(),
        );
    }
    let mut cov = DMatrix::zeros(n, n);
    let mut covariation = vec![None; r.n_rows()];
    for i in 0..n {
        for j in i..n {
            for (t, c) in covariation.iter_mut().enumerate() {
                *c = centred[i][t].zip(centred[j][t]).map(|(x, y)| x * y);
            }
            let value = ewm_mean_last(&covariation, span).ok_or_else(|| no_overlap(r, i, j))?;
            cov[(i, j)] = value * frequency;
            cov[(j, i)] = value * frequency;
        }
    }
    Ok(fix_nonpositive_semidefinite(&cov).0)
}

/// Ledoit-Wolf shrinkage estimate, annualised, and the shrinkage intensity in [0, 1]
/// (PyPortfolioOpt `CovarianceShrinkage(...).ledoit_wolf(target)`).
///
/// As PyPortfolioOpt: rows with no return at all are dropped, then missing returns are read
/// as zero. `ConstantVariance` is scikit-learn's `ledoit_wolf` (biased, 1/T covariance);
/// `SingleFactor` shrinks the 1/T covariance towards the equal-weighted single-index model;
/// `ConstantCorrelation` shrinks the pairwise pandas covariance (ddof 1, missing values
/// skipped) towards the constant-correlation matrix. Result times `frequency`, then
/// [`fix_nonpositive_semidefinite`].
///
/// Deviation: where the target equals the sample (one asset), the shrinkage is immaterial and
/// reported as 0, where PyPortfolioOpt's formula divides 0 by 0.
pub fn ledoit_wolf(
    r: &ReturnTable,
    target: ShrinkageTarget,
    frequency: usize,
) -> Result<(DMatrix<f64>, f64)> {
    let frequency = check_frequency(frequency)?;
    r.validate("returns")?;
    let kept = ReturnTable {
        assets: r.assets.clone(),
        rows: r
            .rows
            .iter()
            .filter(|row| row.iter().any(Option::is_some))
            .cloned()
            .collect(),
    };
    if kept.n_rows() < 2 {
        return Err(AdvisorError::invalid(
            "returns",
            "at least 2 rows of returns are needed",
        ));
    }
    let x = DMatrix::from_fn(kept.n_rows(), kept.n_assets(), |t, j| {
        kept.rows[t][j].unwrap_or(0.0)
    });
    let (shrunk, delta) = match target {
        ShrinkageTarget::ConstantVariance => shrink_constant_variance(&x),
        ShrinkageTarget::SingleFactor => shrink_single_factor(&x)?,
        ShrinkageTarget::ConstantCorrelation => {
            shrink_constant_correlation(&x, &pairwise_cov(&kept)?)?
        }
    };
    let annual = shrunk * frequency;
    Ok((fix_nonpositive_semidefinite(&annual).0, delta))
}

/// scikit-learn `ledoit_wolf(X)`: centre, shrink the 1/T covariance towards `mu * I`.
fn shrink_constant_variance(x: &DMatrix<f64>) -> (DMatrix<f64>, f64) {
    let xc = centre_columns(x);
    let (t, n) = (xc.nrows() as f64, xc.ncols());
    let emp_cov = xc.tr_mul(&xc) / t;
    if n == 1 {
        return (emp_cov, 0.0);
    }
    let x2 = xc.map(|v| v * v);
    let emp_cov_trace: f64 = x2.column_sum().iter().map(|s| s / t).sum();
    let mu = emp_cov_trace / n as f64;
    let beta_sum = x2.tr_mul(&x2).sum();
    let delta_sum = xc.tr_mul(&xc).map(|v| v * v).sum() / (t * t);
    let beta = 1.0 / (n as f64 * t) * (beta_sum / t - delta_sum);
    let delta = (delta_sum - 2.0 * mu * emp_cov_trace + n as f64 * mu * mu) / n as f64;
    let beta = beta.min(delta);
    let shrinkage = if beta == 0.0 || delta == 0.0 {
        0.0
    } else {
        beta / delta
    };
    let mu = emp_cov.trace() / n as f64;
    let mut shrunk = emp_cov * (1.0 - shrinkage);
    for i in 0..n {
        shrunk[(i, i)] += shrinkage * mu;
    }
    (shrunk, shrinkage)
}

/// PyPortfolioOpt `_ledoit_wolf_single_factor` (Ledoit and Wolf 2001), term by term.
fn shrink_single_factor(x: &DMatrix<f64>) -> Result<(DMatrix<f64>, f64)> {
    let (t, n) = (x.nrows(), x.ncols());
    let tf = t as f64;
    let xm = centre_columns(x);
    let xmkt = DVector::from_fn(t, |s, _| xm.row(s).mean());
    // np.cov of [Xm, xmkt] (which centres again) scaled to 1/T.
    let mut joined = DMatrix::zeros(t, n + 1);
    joined.view_mut((0, 0), (t, n)).copy_from(&xm);
    joined.set_column(n, &xmkt);
    let joined = centre_columns(&joined);
    let full = joined.tr_mul(&joined) * (1.0 / (tf - 1.0)) * (tf - 1.0) / tf;
    let betas = full.view((0, n), (n, 1)).clone_owned();
    let varmkt = full[(n, n)];
    if varmkt.is_nan() || varmkt <= 0.0 {
        return Err(AdvisorError::invalid(
            "returns",
            "the equal-weighted market has zero variance",
        ));
    }
    let sample = full.view((0, 0), (n, n)).clone_owned();
    let mut f = &betas * betas.transpose() / varmkt;
    f.set_diagonal(&sample.diagonal());
    let c = (&sample - &f).norm_squared();
    if c == 0.0 {
        return Ok((sample, 0.0));
    }
    let y = xm.map(|v| v * v);
    let p = 1.0 / tf * y.tr_mul(&y).sum() - sample.map(|v| v * v).sum();
    let rdiag = 1.0 / tf * y.map(|v| v * v).sum() - sample.diagonal().map(|v| v * v).sum();
    let z = DMatrix::from_fn(t, n, |s, i| xm[(s, i)] * xmkt[s]);
    let v1 = DMatrix::from_fn(n, n, |i, j| {
        1.0 / tf * y.column(i).dot(&z.column(j)) - betas[i] * sample[(i, j)]
    });
    let roff1 = v1.iter_with_index_sum(|_, j, v| v * betas[j]) / varmkt
        - (0..n).map(|i| v1[(i, i)] * betas[i]).sum::<f64>() / varmkt;
    let v3 = 1.0 / tf * z.tr_mul(&z) - &sample * varmkt;
    let roff3 = v3.iter_with_index_sum(|i, j, v| v * (betas[i] * betas[j])) / (varmkt * varmkt)
        - (0..n)
            .map(|i| v3[(i, i)] * (betas[i] * betas[i]))
            .sum::<f64>()
            / (varmkt * varmkt);
    let r = rdiag + (2.0 * roff1 - roff3);
    let k = (p - r) / c;
    let delta = (k / tf).clamp(0.0, 1.0);
    Ok((f * delta + sample * (1.0 - delta), delta))
}

/// PyPortfolioOpt `_ledoit_wolf_constant_correlation` (Ledoit and Wolf 2003): `s` is the
/// pairwise sample covariance, `x` the returns with gaps as zeros.
fn shrink_constant_correlation(x: &DMatrix<f64>, s: &DMatrix<f64>) -> Result<(DMatrix<f64>, f64)> {
    let (t, n) = (x.nrows() as f64, x.ncols());
    let var = s.diagonal();
    if var.iter().any(|v| v.is_nan() || *v <= 0.0) {
        return Err(AdvisorError::invalid(
            "returns",
            "an asset has zero variance",
        ));
    }
    if n == 1 {
        return Ok((s.clone(), 0.0));
    }
    let std = var.map(f64::sqrt);
    let r_bar =
        (s.iter_with_index_sum(|i, j, v| v / (std[i] * std[j])) - n as f64) / (n * (n - 1)) as f64;
    let mut f = DMatrix::from_fn(n, n, |i, j| r_bar * (std[i] * std[j]));
    f.set_diagonal(&var);
    let xm = centre_columns(x);
    let y = xm.map(|v| v * v);
    let help = xm.tr_mul(&xm) / t;
    let yty = y.tr_mul(&y);
    let xtx = xm.tr_mul(&xm);
    let pi_mat = DMatrix::from_fn(n, n, |i, j| {
        yty[(i, j)] / t - 2.0 * xtx[(i, j)] * s[(i, j)] / t + s[(i, j)] * s[(i, j)]
    });
    let pi_hat = pi_mat.sum();
    let term1 = xm.map(|v| v * v * v).tr_mul(&xm) / t;
    let theta = DMatrix::from_fn(n, n, |i, j| {
        if i == j {
            return 0.0;
        }
        term1[(i, j)] - help[(i, i)] * s[(i, j)] - help[(i, j)] * var[i] + var[i] * s[(i, j)]
    });
    let rho_hat = pi_mat.diagonal().sum()
        + r_bar * theta.iter_with_index_sum(|i, j, v| (1.0 / std[i]) * std[j] * v);
    let gamma_hat = (s - &f).norm_squared();
    if gamma_hat == 0.0 {
        return Ok((s.clone(), 0.0));
    }
    let kappa = (pi_hat - rho_hat) / gamma_hat;
    let delta = (kappa / t).clamp(0.0, 1.0);
    Ok((f * delta + s * (1.0 - delta), delta))
}

/// Sum of `f(i, j, m[(i, j)])` over all entries, row by row.
trait IndexSum {
    fn iter_with_index_sum(&self, f: impl Fn(usize, usize, f64) -> f64) -> f64;
}

impl IndexSum for DMatrix<f64> {
    fn iter_with_index_sum(&self, f: impl Fn(usize, usize, f64) -> f64) -> f64 {
        let mut sum = 0.0;
        for i in 0..self.nrows() {
            for j in 0..self.ncols() {
                sum += f(i, j, self[(i, j)]);
            }
        }
        sum
    }
}

/// Pandas `DataFrame.cov()` (ddof 1) over pairwise-complete rows, unannualised. Errors if a
/// pair has fewer than 2 rows in common.
pub(crate) fn pairwise_cov(r: &ReturnTable) -> Result<DMatrix<f64>> {
    let n = r.n_assets();
    if r.rows.iter().all(|row| row.iter().all(Option::is_some)) && r.n_rows() >= 2 {
        // Complete data: pandas uses np.cov; one centred product is the same computation.
        let xc = centre_columns(&r.complete_rows());
        return Ok(xc.tr_mul(&xc) * (1.0 / (r.n_rows() - 1) as f64));
    }
    let columns = columns(r);
    let mut cov = DMatrix::zeros(n, n);
    for i in 0..n {
        for j in 0..=i {
            let (count, c) = pair_cov(&columns[i], &columns[j]);
            if count < 2 {
                return Err(no_overlap(r, i, j));
            }
            cov[(i, j)] = c;
            cov[(j, i)] = c;
        }
    }
    Ok(cov)
}

/// Pandas `DataFrame.corr()` (Pearson) over pairwise-complete rows, clipped to [-1, 1], as
/// HRPOpt uses when given returns. Errors if a pair has fewer than 2 rows in common or an
/// asset has zero variance over them.
pub(crate) fn pairwise_corr(r: &ReturnTable) -> Result<DMatrix<f64>> {
    let columns = columns(r);
    let n = columns.len();
    let mut corr = DMatrix::identity(n, n);
    for i in 0..n {
        for j in 0..=i {
            let (count, sxy, sxx, syy) = pair_moments(&columns[i], &columns[j]);
            if count < 2 {
                return Err(no_overlap(r, i, j));
            }
            let divisor = (sxx * syy).sqrt();
            if divisor == 0.0 {
                return Err(AdvisorError::invalid(
                    "returns",
                    format!(
                        "assets {} and {} have no variance over their common rows",
                        r.assets[i], r.assets[j]
                    ),
                ));
            }
            let c = (sxy / divisor).clamp(-1.0, 1.0);
            corr[(i, j)] = c;
            corr[(j, i)] = c;
        }
    }
    Ok(corr)
}

/// Rows where both are present: count and ddof-1 covariance (NaN below 2 rows).
fn pair_cov(x: &[Option<f64>], y: &[Option<f64>]) -> (usize, f64) {
    let (count, sxy, _, _) = pair_moments(x, y);
    let cov = if count < 2 {
        f64::NAN
    } else {
        sxy / (count - 1) as f64
    };
    (count, cov)
}

/// Over rows where both are present: count and the centred cross and square sums (two-pass).
fn pair_moments(x: &[Option<f64>], y: &[Option<f64>]) -> (usize, f64, f64, f64) {
    let pairs = || x.iter().zip(y).filter_map(|(a, b)| a.zip(*b));
    let count = pairs().count();
    if count == 0 {
        return (0, f64::NAN, f64::NAN, f64::NAN);
    }
    let (sum_x, sum_y) = pairs().fold((0.0, 0.0), |(sx, sy), (a, b)| (sx + a, sy + b));
    let (mean_x, mean_y) = (sum_x / count as f64, sum_y / count as f64);
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in pairs() {
        let (dx, dy) = (a - mean_x, b - mean_y);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    (count, sxy, sxx, syy)
}

/// The last value of pandas `Series.ewm(span=span).mean()` with its defaults (adjust=True,
/// ignore_na=False, min_periods=1): every row after the first observation ages the old
/// weights by `1 - alpha`, gaps included; `None` if nothing is present. This replays pandas'
/// recursion step by step so that rounding agrees.
pub(crate) fn ewm_mean_last(values: &[Option<f64>], span: usize) -> Option<f64> {
    let com = (span as f64 - 1.0) / 2.0;
    let alpha = 1.0 / (1.0 + com);
    let old_wt_factor = 1.0 - alpha;
    let new_wt = 1.0;
    let mut weighted: Option<f64> = None;
    let mut old_wt = 1.0;
    for value in values {
        match (weighted, value) {
            (None, cur) => weighted = *cur,
            (Some(w), cur) => {
                old_wt *= old_wt_factor;
                if let Some(cur) = *cur {
                    // pandas skips the update on a constant series to avoid rounding drift.
                    if w != cur {
                        weighted = Some((old_wt * w + new_wt * cur) / (old_wt + new_wt));
                    }
                    old_wt += new_wt;
                }
            }
        }
    }
    weighted
}

/// CAGR `prod(1 + r)^(frequency / count) - 1` or arithmetic `mean * frequency`.
fn annualise_mean(present: &[f64], compounding: bool, frequency: f64) -> f64 {
    let count = present.len() as f64;
    if compounding {
        let growth: f64 = present.iter().map(|x| 1.0 + x).product();
        growth.powf(frequency / count) - 1.0
    } else {
        present.iter().sum::<f64>() / count * frequency
    }
}

fn nan_mean(column: &[Option<f64>]) -> Option<f64> {
    let present: Vec<f64> = column.iter().flatten().copied().collect();
    (!present.is_empty()).then(|| present.iter().sum::<f64>() / present.len() as f64)
}

/// Row means over the assets present (pandas `returns.mean(axis=1)`), `None` if none is.
fn equal_weight_market(r: &ReturnTable) -> Vec<Option<f64>> {
    r.rows.iter().map(|row| nan_mean(row)).collect()
}

fn checked_market(market: &[Option<f64>], rows: usize) -> Result<Vec<Option<f64>>> {
    if market.len() != rows {
        return Err(AdvisorError::invalid(
            "market",
            format!(
                "{} market returns for {rows} rows of asset returns",
                market.len()
            ),
        ));
    }
    if let Some(t) = market
        .iter()
        .position(|x| x.is_some_and(|x| !x.is_finite() || x <= -1.0))
    {
        return Err(AdvisorError::invalid(
            "market",
            format!("row {t}: return is not finite or is at most -100%"),
        ));
    }
    Ok(market.to_vec())
}

/// Columns of `r` as vectors (asset-major), for per-asset passes.
fn columns(r: &ReturnTable) -> Vec<Vec<Option<f64>>> {
    (0..r.n_assets()).map(|j| r.column(j)).collect()
}

/// `x` minus its column means.
fn centre_columns(x: &DMatrix<f64>) -> DMatrix<f64> {
    let mut centred = x.clone();
    for mut column in centred.column_iter_mut() {
        let mean = column.mean();
        column.add_scalar_mut(-mean);
    }
    centred
}

fn check_frequency(frequency: usize) -> Result<f64> {
    if frequency == 0 {
        return Err(AdvisorError::invalid(
            "frequency",
            "must be at least 1 period a year",
        ));
    }
    Ok(frequency as f64)
}

fn check_span(span: usize) -> Result<()> {
    if span == 0 {
        return Err(AdvisorError::invalid("span", "must be at least 1"));
    }
    Ok(())
}

fn no_returns(r: &ReturnTable, j: usize) -> AdvisorError {
    AdvisorError::invalid(
        "returns",
        format!("asset {j} ({}) has no returns", r.assets[j]),
    )
}

fn no_overlap(r: &ReturnTable, i: usize, j: usize) -> AdvisorError {
    let (i, j) = (i.min(j), i.max(j));
    let message = if i == j {
        format!("asset {i} ({}) has fewer than 2 returns", r.assets[i])
    } else {
        format!(
            "assets {i} ({}) and {j} ({}) have fewer than 2 returns in common",
            r.assets[i], r.assets[j]
        )
    };
    AdvisorError::invalid("returns", message)
}

#[cfg(test)]
pub(crate) mod tests;
