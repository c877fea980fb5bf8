//! Black-Litterman: blend a prior estimate of expected returns (usually the one implied by
//! market capitalisations) with an investor's views, as PyPortfolioOpt 1.6.0's
//! `black_litterman` module does.
//!
//! Units: returns and covariances in whatever period the caller uses consistently (annual in
//! Sextant); `risk_free` in the same period; weights as fractions summing to one.
//! Views are rows of the picking matrix `P` with targets `Q`: an absolute view puts 1 on one
//! asset, a relative view +1 on the asset expected to outperform and -1 on the other.
//!
//! Linear systems are solved by LU with partial pivoting, falling back to a least-squares
//! (pseudo-inverse) solution when the matrix is exactly singular, as PyPortfolioOpt does with
//! `np.linalg.solve` / `np.linalg.lstsq`.

use crate::{AdvisorError, DMatrix, DVector, Result};

/// PyPortfolioOpt's default weight-on-views scalar.
pub const DEFAULT_TAU: f64 = 0.05;

/// Omega entry for a view held with zero confidence under Idzorek's method. PyPortfolioOpt uses
/// this absolute number (not scaled to the data) as a stand-in for infinite uncertainty.
pub const ZERO_CONFIDENCE_OMEGA: f64 = 1e6;

/// At most this many views: each adds a row to a dense K x K system.
pub const MAX_VIEWS: usize = 1_000;

/// Relative tolerance on the symmetry of `cov`.
const SYMMETRY_TOLERANCE: f64 = 1e-8;

/// A view on expected returns (same period as the prior, e.g. annual).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum View {
    /// Asset `asset` (index into the covariance matrix) is expected to return `expected_return`.
    Absolute { asset: usize, expected_return: f64 },
    /// Asset `long` is expected to beat asset `short` by `outperformance`.
    Relative {
        long: usize,
        short: usize,
        outperformance: f64,
    },
}

/// How the uncertainty of the views (the diagonal matrix Omega) is set.
#[derive(Debug, Clone, PartialEq)]
pub enum Omega {
    /// He and Litterman (1999): `diag(tau * P Sigma P^T)`, PyPortfolioOpt's `default_omega`.
    Default,
    /// Idzorek's method with one confidence in [0, 1] per view (1 = certain, 0 = ignored),
    /// using the closed form `tau * (1 - c) / c * p Sigma p^T` (Walters 2014, eqs. 41 and 44).
    Idzorek { confidences: Vec<f64> },
}

/// The Black-Litterman posterior.
#[derive(Debug, Clone, PartialEq)]
pub struct Posterior {
    /// Posterior expected returns, same period as the prior.
    pub returns: DVector<f64>,
    /// Posterior covariance `Sigma + M` (He and Litterman 2002), same period as `cov`.
    pub cov: DMatrix<f64>,
}

/// Market-implied risk aversion `delta = (R - R_f) / sigma^2` from the prices of the market
/// portfolio (e.g. a broad index), PyPortfolioOpt's `market_implied_risk_aversion`.
///
/// `market_prices`: consecutive prices, oldest first, one per period (no gaps); `frequency`:
/// periods a year (252 for daily prices); `risk_free`: annual rate. `R` is the mean simple
/// return times `frequency`, `sigma^2` the sample variance (ddof 1) times `frequency`.
pub fn market_implied_risk_aversion(
    market_prices: &[f64],
    frequency: usize,
    risk_free: f64,
) -> Result<f64> {
    if market_prices.len() < 3 {
        return Err(AdvisorError::invalid(
            "market_prices",
            format!(
                "need at least 3 prices to estimate a variance, got {}",
                market_prices.len()
            ),
        ));
    }
    check_positive_prices(market_prices)?;
    if frequency == 0 {
        return Err(AdvisorError::invalid("frequency", "must be positive"));
    }
    check_finite("risk_free", risk_free)?;

    let returns: Vec<f64> = market_prices
        .windows(2)
        .map(|p| p[1] / p[0] - 1.0)
        .collect();
    let count = returns.len() as f64;
    let mean = returns.iter().sum::<f64>() / count;
    // Two-pass variance, as pandas' nanvar computes it.
    let variance = returns.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (count - 1.0);
    if variance <= 0.0 {
        return Err(AdvisorError::invalid(
            "market_prices",
            "returns have zero variance, so the risk aversion is undefined",
        ));
    }
    let frequency = frequency as f64;
    Ok((mean * frequency - risk_free) / (variance * frequency))
}

/// Prior returns implied by market weights, `Pi = delta * Sigma * w_mkt + risk_free`
/// (PyPortfolioOpt's `market_implied_prior_returns`).
///
/// `market_caps`: capitalisations in any currency, aligned with `cov`; they are normalised to
/// weights. `risk_free` must be in the period of `cov` (PyPortfolioOpt's default is 0).
pub fn market_implied_prior_returns(
    market_caps: &DVector<f64>,
    risk_aversion: f64,
    cov: &DMatrix<f64>,
    risk_free: f64,
) -> Result<DVector<f64>> {
    check_cov(cov)?;
    let n = cov.nrows();
    if market_caps.len() != n {
        return Err(AdvisorError::invalid(
            "market_caps",
            format!(
                "expected {n} capitalisations (one per asset), got {}",
                market_caps.len()
            ),
        ));
    }
    for (i, &cap) in market_caps.iter().enumerate() {
        if !cap.is_finite() || cap < 0.0 {
            return Err(AdvisorError::invalid(
                format!("market_caps[{i}]"),
                format!("must be finite and non-negative, got {cap}"),
            ));
        }
    }
    let total = market_caps.sum();
    if total <= 0.0 {
        return Err(AdvisorError::invalid("market_caps", "must not all be zero"));
    }
    check_finite("risk_aversion", risk_aversion)?;
    check_finite("risk_free", risk_free)?;

    let weights = market_caps / total;
    Ok((cov * weights) * risk_aversion + DVector::from_element(n, risk_free))
}

/// The picking matrix `P` (K x n) and targets `Q` (K) for `views` on `n_assets` assets.
/// Errors name the view: `views[2].asset`, `views[0].short`, ...
pub fn picking_matrix(views: &[View], n_assets: usize) -> Result<(DMatrix<f64>, DVector<f64>)> {
    if views.len() > MAX_VIEWS {
        return Err(AdvisorError::invalid(
            "views",
            format!("at most {MAX_VIEWS} views, got {}", views.len()),
        ));
    }
    let mut p = DMatrix::zeros(views.len(), n_assets);
    let mut q = DVector::zeros(views.len());
    for (k, view) in views.iter().enumerate() {
        match *view {
            View::Absolute {
                asset,
                expected_return,
            } => {
                check_asset(k, "asset", asset, n_assets)?;
                check_finite(&format!("views[{k}].expected_return"), expected_return)?;
                p[(k, asset)] = 1.0;
                q[k] = expected_return;
            }
            View::Relative {
                long,
                short,
                outperformance,
            } => {
                check_asset(k, "long", long, n_assets)?;
                check_asset(k, "short", short, n_assets)?;
                if long == short {
                    return Err(AdvisorError::invalid(
                        format!("views[{k}].short"),
                        "a relative view needs two different assets",
                    ));
                }
                check_finite(&format!("views[{k}].outperformance"), outperformance)?;
                p[(k, long)] = 1.0;
                p[(k, short)] = -1.0;
                q[k] = outperformance;
            }
        }
    }
    Ok((p, q))
}

/// The diagonal view-uncertainty matrix Omega (K x K) for picking matrix `p`, on inputs already
/// checked by [`black_litterman`].
fn omega_matrix(
    omega: &Omega,
    cov: &DMatrix<f64>,
    p: &DMatrix<f64>,
    tau: f64,
) -> Result<DMatrix<f64>> {
    // Variance of each view portfolio, p_k Sigma p_k^T.
    let view_variance = (p * cov * p.transpose()).diagonal();
    let diagonal = match omega {
        Omega::Default => view_variance * tau,
        Omega::Idzorek { confidences } => {
            if confidences.len() != p.nrows() {
                return Err(AdvisorError::invalid(
                    "omega.confidences",
                    format!(
                        "expected one confidence per view ({}), got {}",
                        p.nrows(),
                        confidences.len()
                    ),
                ));
            }
            let mut diagonal = DVector::zeros(p.nrows());
            for (k, &confidence) in confidences.iter().enumerate() {
                diagonal[k] = idzorek_omega(k, confidence, view_variance[k], tau)?;
            }
            diagonal
        }
    };
    Ok(DMatrix::from_diagonal(&diagonal))
}

fn idzorek_omega(k: usize, confidence: f64, view_variance: f64, tau: f64) -> Result<f64> {
    if !(0.0..=1.0).contains(&confidence) {
        return Err(AdvisorError::invalid(
            format!("omega.confidences[{k}]"),
            format!("must be between 0 and 1, got {confidence}"),
        ));
    }
    if confidence == 0.0 {
        return Ok(ZERO_CONFIDENCE_OMEGA);
    }
    let alpha = (1.0 - confidence) / confidence;
    Ok(tau * alpha * view_variance)
}

/// Posterior returns and covariance given the prior `prior` (n), covariance `cov` (n x n), the
/// views, their uncertainty and `tau` in (0, 1] (default [`DEFAULT_TAU`]); PyPortfolioOpt's
/// `BlackLittermanModel(...).bl_returns()` and `.bl_cov()`.
///
/// With no views the posterior returns are the prior and the covariance is `(1 + tau) Sigma`.
pub fn black_litterman(
    cov: &DMatrix<f64>,
    prior: &DVector<f64>,
    views: &[View],
    omega: &Omega,
    tau: f64,
) -> Result<Posterior> {
    check_cov(cov)?;
    let n = cov.nrows();
    if prior.len() != n {
        return Err(AdvisorError::invalid(
            "prior",
            format!("expected {n} returns (one per asset), got {}", prior.len()),
        ));
    }
    for (i, &r) in prior.iter().enumerate() {
        check_finite(&format!("prior[{i}]"), r)?;
    }
    if !(tau > 0.0 && tau <= 1.0) {
        return Err(AdvisorError::invalid(
            "tau",
            format!("must be in (0, 1], got {tau}"),
        ));
    }
    let (p, q) = picking_matrix(views, n)?;
    let omega = omega_matrix(omega, cov, &p, tau)?;

    let tau_sigma_p = cov * p.transpose() * tau; // n x K
    let a = &p * &tau_sigma_p + omega; // K x K
    let b = DMatrix::from_column_slice(q.len(), 1, (q - &p * prior).as_slice());
    let returns = prior + &tau_sigma_p * solve(&a, &b).column(0);

    let m = cov * tau - &tau_sigma_p * solve(&a, &tau_sigma_p.transpose());
    Ok(Posterior {
        returns,
        cov: cov + m,
    })
}

/// Weights implied by returns, `w = (delta Sigma)^-1 E(R)` normalised to sum to one
/// (PyPortfolioOpt's `BlackLittermanModel.bl_weights`). Usually fed the posterior returns and
/// the prior `cov`. `risk_aversion` cancels in the normalisation, but is kept for parity.
///
/// Panics if the shapes disagree; the result is not finite if the raw weights sum to zero.
/// Use [`try_bl_weights`] on unchecked input.
pub fn bl_weights(
    posterior_returns: &DVector<f64>,
    cov: &DMatrix<f64>,
    risk_aversion: f64,
) -> DVector<f64> {
    let b = DMatrix::from_column_slice(posterior_returns.len(), 1, posterior_returns.as_slice());
    let raw = solve(&(cov * risk_aversion), &b).column(0).into_owned();
    let total = raw.sum();
    raw / total
}

/// [`bl_weights`] with its inputs checked: shapes, finite values, non-zero `risk_aversion`, and
/// raw weights that do not sum to zero.
pub fn try_bl_weights(
    posterior_returns: &DVector<f64>,
    cov: &DMatrix<f64>,
    risk_aversion: f64,
) -> Result<DVector<f64>> {
    check_cov(cov)?;
    if posterior_returns.len() != cov.nrows() {
        return Err(AdvisorError::invalid(
            "posterior_returns",
            format!(
                "expected {} returns, got {}",
                cov.nrows(),
                posterior_returns.len()
            ),
        ));
    }
    for (i, &r) in posterior_returns.iter().enumerate() {
        check_finite(&format!("posterior_returns[{i}]"), r)?;
    }
    if !risk_aversion.is_finite() || risk_aversion == 0.0 {
        return Err(AdvisorError::invalid(
            "risk_aversion",
            format!("must be finite and non-zero, got {risk_aversion}"),
        ));
    }
    let weights = bl_weights(posterior_returns, cov, risk_aversion);
    if weights.iter().all(|w| w.is_finite()) {
        Ok(weights)
    } else {
        Err(AdvisorError::invalid(
            "posterior_returns",
            "the implied raw weights sum to zero, so they cannot be normalised",
        ))
    }
}

/// Solves `a x = b`; least squares when `a` is exactly singular, as PyPortfolioOpt falls back
/// from `np.linalg.solve` to `np.linalg.lstsq(rcond=None)`.
fn solve(a: &DMatrix<f64>, b: &DMatrix<f64>) -> DMatrix<f64> {
    if a.nrows() == 0 {
        return DMatrix::zeros(0, b.ncols());
    }
    if let Some(x) = a.clone().lu().solve(b) {
        return x;
    }
    let svd = a.clone().svd(true, true);
    // numpy's rcond=None cut-off: machine epsilon * max(M, N) * largest singular value.
    let cutoff = f64::EPSILON * a.nrows().max(a.ncols()) as f64 * svd.singular_values.max();
    match svd.solve(b, cutoff) {
        Ok(x) => x,
        // Unreachable: U and V^T were requested above.
        Err(_) => DMatrix::from_element(a.ncols(), b.ncols(), f64::NAN),
    }
}

fn check_cov(cov: &DMatrix<f64>) -> Result<()> {
    let n = cov.nrows();
    if n == 0 || cov.ncols() != n {
        return Err(AdvisorError::invalid(
            "cov",
            format!(
                "must be a non-empty square matrix, got {}x{}",
                n,
                cov.ncols()
            ),
        ));
    }
    if let Some(bad) = cov.iter().position(|x| !x.is_finite()) {
        return Err(AdvisorError::invalid(
            "cov",
            format!("entry ({}, {}) is not finite", bad % n, bad / n),
        ));
    }
    let scale = cov.amax().max(f64::MIN_POSITIVE);
    for i in 0..n {
        for j in 0..i {
            if (cov[(i, j)] - cov[(j, i)]).abs() > SYMMETRY_TOLERANCE * scale {
                return Err(AdvisorError::invalid(
                    "cov",
                    format!("not symmetric at ({i}, {j})"),
                ));
            }
        }
    }
    Ok(())
}

fn check_positive_prices(prices: &[f64]) -> Result<()> {
    for (i, &price) in prices.iter().enumerate() {
        if !price.is_finite() || price <= 0.0 {
            return Err(AdvisorError::invalid(
                format!("market_prices[{i}]"),
                format!("must be finite and positive, got {price}"),
            ));
        }
    }
    Ok(())
}

fn check_asset(k: usize, role: &str, asset: usize, n_assets: usize) -> Result<()> {
    if asset >= n_assets {
        return Err(AdvisorError::invalid(
            format!("views[{k}].{role}"),
            format!("asset index {asset} out of range (there are {n_assets} assets)"),
        ));
    }
    Ok(())
}

fn check_finite(field: &str, value: f64) -> Result<()> {
    if value.is_finite() {
        Ok(())
    } else {
        Err(AdvisorError::invalid(
            field,
            format!("must be finite, got {value}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TOL: f64 = 1e-9;

    fn cov4() -> DMatrix<f64> {
        DMatrix::from_row_slice(
            4,
            4,
            &[
                0.040, 0.006, 0.010, 0.002, //
                0.006, 0.090, 0.012, 0.004, //
                0.010, 0.012, 0.0625, 0.003, //
                0.002, 0.004, 0.003, 0.0100,
            ],
        )
    }

    /// `bl.market_implied_prior_returns(caps, 2.5, S, 0.02)` with caps A..D = 300, 120, 50, 530.
    fn prior4() -> DVector<f64> {
        DVector::from_vec(vec![
            0.0557,
            0.05829999999999999,
            0.042887499999999995,
            0.036324999999999996,
        ])
    }

    /// P = [[1,0,0,0],[0,1,-1,0],[0,0,0,1]], Q = [0.07, 0.03, 0.045].
    fn views4() -> Vec<View> {
        vec![
            View::Absolute {
                asset: 0,
                expected_return: 0.07,
            },
            View::Relative {
                long: 1,
                short: 2,
                outperformance: 0.03,
            },
            View::Absolute {
                asset: 3,
                expected_return: 0.045,
            },
        ]
    }

    fn assert_vec(actual: &DVector<f64>, expected: &[f64]) {
        assert_eq!(actual.len(), expected.len());
        for (i, (a, e)) in actual.iter().zip(expected).enumerate() {
            assert!((a - e).abs() <= TOL, "[{i}]: {a} vs {e}");
        }
    }

    fn assert_mat(actual: &DMatrix<f64>, expected: &[[f64; 4]; 4]) {
        for i in 0..4 {
            for j in 0..4 {
                let (a, e) = (actual[(i, j)], expected[i][j]);
                assert!((a - e).abs() <= TOL, "({i}, {j}): {a} vs {e}");
            }
        }
    }

    fn field(err: AdvisorError) -> String {
        err.field().unwrap_or_default().to_string()
    }

    const MARKET: [f64; 12] = [
        100.0, 101.2, 100.7, 102.3, 103.1, 102.4, 104.0, 105.2, 104.9, 106.3, 107.0, 106.1,
    ];

    #[test]
    fn risk_aversion_matches_pypfopt() {
        // bl.market_implied_risk_aversion(pd.Series(MARKET)) and with (252, 0.02), (12, 0.01).
        let cases = [
            (252, 0.0, 61.749219413999455),
            (252, 0.02, 60.84790370334487),
            (12, 0.01, 52.28540445212632),
        ];
        for (frequency, risk_free, expected) in cases {
            let delta = market_implied_risk_aversion(&MARKET, frequency, risk_free).unwrap();
            assert!(
                (delta - expected).abs() <= TOL * expected,
                "{delta} vs {expected}"
            );
        }
    }

    #[test]
    fn risk_aversion_rejects_bad_prices() {
        let mut prices = MARKET.to_vec();
        prices[3] = -1.0;
        let err = market_implied_risk_aversion(&prices, 252, 0.0).unwrap_err();
        assert_eq!(field(err), "market_prices[3]");
        let err = market_implied_risk_aversion(&[1.0, 2.0], 252, 0.0).unwrap_err();
        assert_eq!(field(err), "market_prices");
        let err = market_implied_risk_aversion(&[5.0; 4], 252, 0.0).unwrap_err();
        assert_eq!(field(err), "market_prices");
    }

    #[test]
    fn prior_matches_pypfopt() {
        // bl.market_implied_prior_returns(pd.Series({"A": 300, "B": 120, "C": 50, "D": 530}), 2.5, S, 0.02)
        let caps = DVector::from_vec(vec![300.0, 120.0, 50.0, 530.0]);
        let prior = market_implied_prior_returns(&caps, 2.5, &cov4(), 0.02).unwrap();
        assert_vec(&prior, prior4().as_slice());
    }

    #[test]
    fn prior_rejects_bad_caps() {
        let caps = DVector::from_vec(vec![300.0, f64::NAN, 50.0, 530.0]);
        let err = market_implied_prior_returns(&caps, 2.5, &cov4(), 0.0).unwrap_err();
        assert_eq!(field(err), "market_caps[1]");
        let caps = DVector::from_vec(vec![1.0, 2.0]);
        let err = market_implied_prior_returns(&caps, 2.5, &cov4(), 0.0).unwrap_err();
        assert_eq!(field(err), "market_caps");
    }

    #[test]
    fn default_omega_matches_pypfopt() {
        // BlackLittermanModel(S, pi=pi, Q=Q, P=P, tau=0.05, risk_aversion=2.5): bl_returns(), bl_cov(), bl_weights()
        let posterior =
            black_litterman(&cov4(), &prior4(), &views4(), &Omega::Default, 0.05).unwrap();
        assert_vec(
            &posterior.returns,
            &[
                0.0631480954519275,
                0.06549242683450639,
                0.04292190736682318,
                0.040862706098263354,
            ],
        );
        assert_mat(
            &posterior.cov,
            &[
                [
                    0.040996671189683614,
                    0.006171604564667753,
                    0.010223035172151231,
                    0.002025283339353176,
                ],
                [
                    0.006171604564667753,
                    0.09325282509591074,
                    0.013298650172297661,
                    0.004088106092406212,
                ],
                [
                    0.010223035172151233,
                    0.013298650172297661,
                    0.06505371379552709,
                    0.0030743076367399135,
                ],
                [
                    0.002025283339353176,
                    0.004088106092406212,
                    0.0030743076367399135,
                    0.010249314226027198,
                ],
            ],
        );
        let weights = bl_weights(&posterior.returns, &cov4(), 2.5);
        assert_vec(
            &weights,
            &[
                0.2304474827543175,
                0.08194660043131,
                0.04039234334821536,
                0.647213573466157,
            ],
        );
        let (p, _) = picking_matrix(&views4(), 4).unwrap();
        let omega = omega_matrix(&Omega::Default, &cov4(), &p, 0.05).unwrap();
        assert_vec(&omega.diagonal(), &[0.002, 0.006425, 0.0005]);
    }

    #[test]
    fn idzorek_matches_pypfopt() {
        // Same model with omega="idzorek", view_confidences=[0.6, 0.25, 1.0].
        let omega = Omega::Idzorek {
            confidences: vec![0.6, 0.25, 1.0],
        };
        let posterior = black_litterman(&cov4(), &prior4(), &views4(), &omega, 0.05).unwrap();
        assert_vec(
            &posterior.returns,
            &[
                0.06489589503126028,
                0.06495843993364045,
                0.04585348199106065,
                0.045,
            ],
        );
        assert_mat(
            &posterior.cov,
            &[
                [
                    0.04079650260894091,
                    0.006117449348939971,
                    0.010180874817844215,
                    0.002,
                ],
                [
                    0.006117449348939971,
                    0.09380841579310237,
                    0.012883973131042479,
                    0.004,
                ],
                [
                    0.010180874817844215,
                    0.012883973131042479,
                    0.06526797383028565,
                    0.003,
                ],
                [0.002, 0.004, 0.003, 0.01],
            ],
        );
        let weights = bl_weights(&posterior.returns, &cov4(), 2.5);
        assert_vec(
            &weights,
            &[
                0.21710609522038232,
                0.07105242773896511,
                0.04241543535411331,
                0.6694260416865393,
            ],
        );
        let (p, _) = picking_matrix(&views4(), 4).unwrap();
        let omega = omega_matrix(&omega, &cov4(), &p, 0.05).unwrap();
        assert_vec(
            &omega.diagonal(),
            &[0.0013333333333333337, 0.019275000000000004, 0.0],
        );
    }

    #[test]
    fn idzorek_zero_confidence_matches_pypfopt() {
        // Same model with omega="idzorek", view_confidences=[0.0, 0.5, 0.9].
        let omega = Omega::Idzorek {
            confidences: vec![0.0, 0.5, 0.9],
        };
        let posterior = black_litterman(&cov4(), &prior4(), &views4(), &omega, 0.05).unwrap();
        assert_vec(
            &posterior.returns,
            &[
                0.05703686021014927,
                0.06559549648160665,
                0.042501289854181265,
                0.04413787415839623,
            ],
        );
        assert_mat(
            &posterior.cov,
            &[
                [
                    0.04197859950564102,
                    0.0063271612620516785,
                    0.010431697869995557,
                    0.0020100813514260848,
                ],
                [
                    0.0063271612620516785,
                    0.09325483243148379,
                    0.013313152465702836,
                    0.004018488965003903,
                ],
                [
                    0.010431697869995557,
                    0.013313152465702836,
                    0.06508284710580406,
                    0.0030159880892097696,
                ],
                [
                    0.0020100813514260848,
                    0.004018488965003903,
                    0.0030159880892097696,
                    0.010049998053793056,
                ],
            ],
        );
        let weights = bl_weights(&posterior.returns, &cov4(), 2.5);
        assert_vec(
            &weights,
            &[
                0.19285160599608733,
                0.0785032391948246,
                0.039757565282769414,
                0.6888875895263187,
            ],
        );
    }

    #[test]
    fn singular_views_fall_back_to_least_squares_like_pypfopt() {
        // P = [[1,0,0,0],[1,0,0,0]], Q = [0.07, 0.08], omega="idzorek", view_confidences=[1, 1]:
        // A is exactly singular and PyPortfolioOpt uses np.linalg.lstsq.
        let views = [
            View::Absolute {
                asset: 0,
                expected_return: 0.07,
            },
            View::Absolute {
                asset: 0,
                expected_return: 0.08,
            },
        ];
        let omega = Omega::Idzorek {
            confidences: vec![1.0, 1.0],
        };
        let posterior = black_litterman(&cov4(), &prior4(), &views, &omega, 0.05).unwrap();
        assert_vec(
            &posterior.returns,
            &[
                0.07500000000000001,
                0.061195,
                0.047712500000000005,
                0.037290000000000004,
            ],
        );
        assert_mat(
            &posterior.cov,
            &[
                [0.04, 0.006, 0.01, 0.002],
                [0.006, 0.094455, 0.012525, 0.004185],
                [0.01, 0.012525, 0.0655, 0.003125],
                [0.002, 0.004185, 0.003125, 0.010495],
            ],
        );
    }

    #[test]
    fn no_views_keep_the_prior() {
        let posterior = black_litterman(&cov4(), &prior4(), &[], &Omega::Default, 0.05).unwrap();
        assert_vec(&posterior.returns, prior4().as_slice());
        let expected = cov4() * 1.05;
        assert!((posterior.cov - expected).amax() <= TOL);
    }

    #[test]
    fn errors_name_the_field() {
        let mut views = views4();
        views[2] = View::Absolute {
            asset: 4,
            expected_return: 0.1,
        };
        let err = black_litterman(&cov4(), &prior4(), &views, &Omega::Default, 0.05).unwrap_err();
        assert_eq!(field(err), "views[2].asset");

        let views = [View::Relative {
            long: 1,
            short: 1,
            outperformance: 0.01,
        }];
        let err = black_litterman(&cov4(), &prior4(), &views, &Omega::Default, 0.05).unwrap_err();
        assert_eq!(field(err), "views[0].short");

        let omega = Omega::Idzorek {
            confidences: vec![0.5, 1.5, 0.5],
        };
        let err = black_litterman(&cov4(), &prior4(), &views4(), &omega, 0.05).unwrap_err();
        assert_eq!(field(err), "omega.confidences[1]");

        let omega = Omega::Idzorek {
            confidences: vec![0.5],
        };
        let err = black_litterman(&cov4(), &prior4(), &views4(), &omega, 0.05).unwrap_err();
        assert_eq!(field(err), "omega.confidences");

        let err = black_litterman(&cov4(), &prior4(), &views4(), &Omega::Default, 0.0).unwrap_err();
        assert_eq!(field(err), "tau");

        let mut cov = cov4();
        cov[(0, 1)] = 0.5;
        let err = black_litterman(&cov, &prior4(), &views4(), &Omega::Default, 0.05).unwrap_err();
        assert_eq!(field(err), "cov");

        let err = try_bl_weights(&DVector::zeros(4), &cov4(), 2.5).unwrap_err();
        assert_eq!(field(err), "posterior_returns");
    }

    fn random_cov(factors: &[f64], n: usize) -> DMatrix<f64> {
        let l = DMatrix::from_row_slice(n, n, &factors[..n * n]);
        &l * l.transpose() * 0.01 + DMatrix::identity(n, n) * 0.001
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// A single view held with full confidence is reproduced exactly, and the posterior
        /// covariance stays symmetric positive semidefinite.
        #[test]
        fn certain_view_is_reproduced(
            factors in proptest::collection::vec(-1.0f64..1.0, 25),
            prior in proptest::collection::vec(-0.1f64..0.2, 5),
            asset in 0usize..5,
            target in -0.2f64..0.3,
        ) {
            let cov = random_cov(&factors, 5);
            let prior = DVector::from_vec(prior);
            let views = [View::Absolute { asset, expected_return: target }];
            let omega = Omega::Idzorek { confidences: vec![1.0] };
            let posterior = black_litterman(&cov, &prior, &views, &omega, DEFAULT_TAU).unwrap();
            prop_assert!((posterior.returns[asset] - target).abs() <= 1e-9);
            let asymmetry = (&posterior.cov - posterior.cov.transpose()).amax();
            prop_assert!(asymmetry <= 1e-12);
            let min_eigenvalue = posterior.cov.clone().symmetric_eigenvalues().min();
            prop_assert!(min_eigenvalue >= -1e-12, "min eigenvalue {}", min_eigenvalue);
        }
    }
}
