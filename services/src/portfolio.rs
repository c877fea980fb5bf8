//! Portfolio construction for analysts and wealth managers: one request type per job,
//! shared by `sextant portfolio ...` and `POST /v1/portfolio/...`, so the command line and
//! the API give the same numbers for the same input.
//!
//! Input is either daily prices (estimators then follow PyPortfolioOpt: 252 periods a
//! year, returns from consecutive prices, gaps before a listing skipped) or annualised
//! expected returns and a covariance matrix given directly.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sextant_advisor::estimate::{self, ShrinkageTarget};
use sextant_advisor::market::{PriceTable, ReturnTable};
use sextant_advisor::optimise::{self, Cardinality, Constraints, GroupLimit, Objective};
use sextant_advisor::{
    allocation, black_litterman, hrp, tail, AdvisorError, DMatrix, DVector, Result,
    DEFAULT_RISK_FREE, TRADING_DAYS,
};
use utoipa::ToSchema;

/// Most assets one request may hold: a 2,000 x 2,000 covariance is 32 MB of JSON numbers.
pub const MAX_ASSETS: usize = 2_000;
/// Most points of one frontier.
pub const MAX_FRONTIER_POINTS: usize = 500;

/// Daily prices: one row per date, one column per asset, `null` for a gap.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PricesInput {
    /// 1 to 2,000 assets.
    #[schema(min_items = 1, max_items = 2000)]
    pub assets: Vec<String>,
    /// `YYYY-MM-DD`, strictly ascending (the order the schema cannot state).
    #[schema(value_type = Vec<String>, format = Date)]
    pub dates: Vec<chrono::NaiveDate>,
    /// One row per date with one price per asset (the shape the schema cannot state); each
    /// price positive, or `null` for a gap.
    #[schema(exclusive_minimum = 0.0)]
    pub rows: Vec<Vec<Option<f64>>>,
}

impl PricesInput {
    fn table(&self) -> Result<PriceTable> {
        if self.assets.is_empty() || self.assets.len() > MAX_ASSETS {
            return Err(AdvisorError::invalid(
                "prices.assets",
                format!("between 1 and {MAX_ASSETS} assets"),
            ));
        }
        if self.rows.len() != self.dates.len() {
            return Err(AdvisorError::invalid(
                "prices.rows",
                format!("{} rows for {} dates", self.rows.len(), self.dates.len()),
            ));
        }
        for (i, row) in self.rows.iter().enumerate() {
            if row.len() != self.assets.len() {
                return Err(AdvisorError::invalid(
                    format!("prices.rows[{i}]"),
                    format!("{} prices for {} assets", row.len(), self.assets.len()),
                ));
            }
            if let Some(j) = row
                .iter()
                .position(|p| p.is_some_and(|p| !(p.is_finite() && p > 0.0)))
            {
                return Err(AdvisorError::invalid(
                    format!("prices.rows[{i}][{j}]"),
                    "a price must be a positive number",
                ));
            }
        }
        if self.dates.windows(2).any(|d| d[0] >= d[1]) {
            return Err(AdvisorError::invalid(
                "prices.dates",
                "dates must be strictly ascending",
            ));
        }
        Ok(PriceTable {
            dates: self.dates.clone(),
            assets: self.assets.clone(),
            prices: self.rows.clone(),
        })
    }
}

/// What the optimiser works from.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MarketInput {
    /// Daily prices; the estimators below turn them into returns and risk. Give `prices`,
    /// or `cov` (with `expected_returns` where the job needs them), not both (a rule the
    /// schema cannot state).
    pub prices: Option<PricesInput>,
    /// Asset names, with `expected_returns` and `cov` given directly (annualised).
    pub assets: Option<Vec<String>>,
    pub expected_returns: Option<Vec<f64>>,
    /// A square matrix of 1 to 2,000 assets (its shape the schema cannot state).
    #[schema(min_items = 1, max_items = 2000)]
    pub cov: Option<Vec<Vec<f64>>>,
    /// Expected-returns estimator on prices: `mean` (default), `ema` or `capm`.
    pub returns: Option<ReturnsModel>,
    /// Risk model on prices: `sample` (default), `semi`, `exp`, `ledoit-wolf` (towards
    /// constant variance), `ledoit-wolf-single-factor` or `ledoit-wolf-constant-correlation`.
    pub risk: Option<RiskModel>,
    /// Repair a covariance that is not positive semidefinite (spectral clipping) instead
    /// of refusing it. Estimates from prices are always repaired, as PyPortfolioOpt does.
    #[serde(default)]
    pub repair: bool,
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum ReturnsModel {
    Mean,
    Ema,
    Capm,
}

impl ReturnsModel {
    /// Every name, as the JSON and the command line spell them.
    pub const NAMES: [&'static str; 3] = ["mean", "ema", "capm"];
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum RiskModel {
    Sample,
    Semi,
    Exp,
    /// Ledoit-Wolf shrinkage towards constant variance.
    LedoitWolf,
    LedoitWolfSingleFactor,
    LedoitWolfConstantCorrelation,
}

impl RiskModel {
    /// Every name, as the JSON and the command line spell them.
    pub const NAMES: [&'static str; 6] = [
        "sample",
        "semi",
        "exp",
        "ledoit-wolf",
        "ledoit-wolf-single-factor",
        "ledoit-wolf-constant-correlation",
    ];
}

/// The estimates the optimisers use.
pub struct Market {
    pub assets: Vec<String>,
    pub mu: Option<DVector<f64>>,
    pub cov: DMatrix<f64>,
    /// Daily returns, when the input was prices.
    pub returns: Option<ReturnTable>,
    pub prices: Option<PriceTable>,
    pub warnings: Vec<String>,
}

impl MarketInput {
    /// Estimates (or takes) expected returns and covariance.
    pub fn market(&self) -> Result<Market> {
        match (&self.prices, &self.cov) {
            (Some(_), Some(_)) => Err(AdvisorError::invalid(
                "cov",
                "give either prices or expected_returns and cov, not both",
            )),
            (Some(prices), None) => self.from_prices(prices.table()?),
            (None, Some(cov)) => self.with_moments(cov),
            (None, None) => Err(AdvisorError::invalid(
                "prices",
                "give prices, or expected_returns and cov",
            )),
        }
    }

    pub fn from_prices(&self, prices: PriceTable) -> Result<Market> {
        let returns = prices.returns();
        if returns.n_rows() < 2 {
            return Err(AdvisorError::invalid(
                "prices",
                "at least three dates are needed to estimate risk",
            ));
        }
        let mu = match self.returns.unwrap_or(ReturnsModel::Mean) {
            ReturnsModel::Mean => estimate::mean_historical_return(&returns, true, TRADING_DAYS)?,
            ReturnsModel::Ema => {
                estimate::ema_historical_return(&returns, true, 500, TRADING_DAYS)?
            }
            ReturnsModel::Capm => {
                estimate::capm_return(&returns, None, DEFAULT_RISK_FREE, true, TRADING_DAYS)?
            }
        };
        let cov = match self.risk.unwrap_or(RiskModel::Sample) {
            RiskModel::Sample => estimate::sample_cov(&returns, TRADING_DAYS)?,
            RiskModel::Semi => estimate::semicovariance(&returns, 0.000079, TRADING_DAYS)?,
            RiskModel::Exp => estimate::exp_cov(&returns, 180, TRADING_DAYS)?,
            RiskModel::LedoitWolf => {
                estimate::ledoit_wolf(&returns, ShrinkageTarget::ConstantVariance, TRADING_DAYS)?.0
            }
            RiskModel::LedoitWolfSingleFactor => {
                estimate::ledoit_wolf(&returns, ShrinkageTarget::SingleFactor, TRADING_DAYS)?.0
            }
            RiskModel::LedoitWolfConstantCorrelation => {
                estimate::ledoit_wolf(&returns, ShrinkageTarget::ConstantCorrelation, TRADING_DAYS)?
                    .0
            }
        };
        Ok(Market {
            assets: prices.assets.clone(),
            mu: Some(mu),
            cov,
            returns: Some(returns),
            prices: Some(prices),
            warnings: Vec::new(),
        })
    }

    fn with_moments(&self, cov: &[Vec<f64>]) -> Result<Market> {
        let n = cov.len();
        if n == 0 || n > MAX_ASSETS {
            return Err(AdvisorError::invalid(
                "cov",
                format!("between 1 and {MAX_ASSETS} assets"),
            ));
        }
        if let Some(i) = cov.iter().position(|row| row.len() != n) {
            return Err(AdvisorError::invalid(
                format!("cov[{i}]"),
                format!("{} entries in a {n} x {n} matrix", cov[i].len()),
            ));
        }
        let cov = DMatrix::from_fn(n, n, |i, j| cov[i][j]);
        let mut warnings = Vec::new();
        let cov = match sextant_advisor::covariance::validate_covariance(&cov, "cov") {
            Ok(()) => cov,
            Err(AdvisorError::NotPositiveSemidefinite { .. }) if self.repair => {
                let (fixed, _) = sextant_advisor::covariance::fix_nonpositive_semidefinite(&cov);
                warnings.push("the covariance was not positive semidefinite and was repaired by clipping its negative eigenvalues".to_owned());
                fixed
            }
            Err(e) => return Err(e),
        };
        let mu = match &self.expected_returns {
            Some(mu) if mu.len() != n => {
                return Err(AdvisorError::invalid(
                    "expected_returns",
                    format!("{} returns for {n} assets", mu.len()),
                ))
            }
            Some(mu) => {
                if let Some(i) = mu.iter().position(|m| !m.is_finite()) {
                    return Err(AdvisorError::invalid(
                        format!("expected_returns[{i}]"),
                        "must be a finite number",
                    ));
                }
                Some(DVector::from_column_slice(mu))
            }
            None => None,
        };
        let assets = match &self.assets {
            Some(a) if a.len() != n => {
                return Err(AdvisorError::invalid(
                    "assets",
                    format!("{} names for {n} assets", a.len()),
                ))
            }
            Some(a) => a.clone(),
            None => (0..n).map(|i| format!("asset_{i}")).collect(),
        };
        Ok(Market {
            assets,
            mu,
            cov,
            returns: None,
            prices: None,
            warnings,
        })
    }
}

/// An asset-class or sector limit.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupInput {
    pub name: String,
    /// At least one asset, each named once.
    #[schema(min_items = 1)]
    pub assets: Vec<String>,
    #[serde(default)]
    pub lower: f64,
    #[serde(default = "one")]
    pub upper: f64,
}

fn one() -> f64 {
    1.0
}

/// Constraints shared by the optimisers.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConstraintsInput {
    /// Bounds of every weight, `[lower, upper]`; default `[0, 1]` (long only). A negative
    /// lower bound allows shorts.
    #[schema(min_items = 2, max_items = 2)]
    pub bounds: Option<[f64; 2]>,
    /// Bounds of single assets, overriding `bounds`.
    #[serde(default)]
    #[schema(schema_with = crate::schema::asset_bounds)]
    pub asset_bounds: BTreeMap<String, [f64; 2]>,
    #[serde(default)]
    pub groups: Vec<GroupInput>,
    /// L2 regularisation: gamma * |w|^2 added to the objective; zero or more.
    #[serde(default)]
    #[schema(minimum = 0.0)]
    pub l2_gamma: f64,
    /// Current weights by asset, for transaction costs and the turnover cap.
    pub current_weights: Option<BTreeMap<String, f64>>,
    /// Cost per unit of turnover: k * |w - current|_1 added to the objective; zero or more.
    #[serde(default)]
    #[schema(minimum = 0.0)]
    pub transaction_cost: f64,
    /// Most turnover |w - current|_1 allowed; zero or more.
    #[schema(minimum = 0.0)]
    pub max_turnover: Option<f64>,
    /// Most assets held (at least 1), each at least `min_weight`.
    #[schema(minimum = 1)]
    pub max_assets: Option<usize>,
    /// Zero or more.
    #[schema(minimum = 0.0)]
    pub min_weight: Option<f64>,
}

impl ConstraintsInput {
    pub fn constraints(&self, assets: &[String]) -> Result<Constraints> {
        let n = assets.len();
        let [lo, hi] = self.bounds.unwrap_or([0.0, 1.0]);
        let mut c = Constraints::bounded(n, lo, hi);
        let position = |name: &str, field: String| {
            assets
                .iter()
                .position(|a| a == name)
                .ok_or_else(|| AdvisorError::invalid(field, format!("no asset `{name}`")))
        };
        for (name, [lo, hi]) in &self.asset_bounds {
            let j = position(name, format!("asset_bounds.{name}"))?;
            c.lower[j] = *lo;
            c.upper[j] = *hi;
        }
        for (g, group) in self.groups.iter().enumerate() {
            let members = group
                .assets
                .iter()
                .map(|a| position(a, format!("groups[{g}].assets")))
                .collect::<Result<Vec<usize>>>()?;
            c.groups.push(GroupLimit {
                name: group.name.clone(),
                members,
                lower: group.lower,
                upper: group.upper,
            });
        }
        c.l2_gamma = self.l2_gamma;
        if let Some(current) = &self.current_weights {
            let mut w = DVector::zeros(n);
            for (name, weight) in current {
                w[position(name, format!("current_weights.{name}"))?] = *weight;
            }
            c.current = Some(w);
        }
        c.transaction_cost = self.transaction_cost;
        c.max_turnover = self.max_turnover;
        if (self.transaction_cost > 0.0 || self.max_turnover.is_some()) && c.current.is_none() {
            return Err(AdvisorError::invalid(
                "current_weights",
                "transaction costs and a turnover cap need the current weights",
            ));
        }
        c.cardinality = match (self.max_assets, self.min_weight) {
            (None, None) => None,
            (max_assets, min_weight) => Some(Cardinality {
                max_assets: max_assets.unwrap_or(n),
                min_weight: min_weight.unwrap_or(0.0),
            }),
        };
        c.validate(n)?;
        Ok(c)
    }
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum Method {
    MaxSharpe,
    MinVolatility,
    EfficientRisk,
    EfficientReturn,
    QuadraticUtility,
    Hrp,
    Cvar,
    Cdar,
    BlackLitterman,
}

impl Method {
    /// Every name, as the JSON and the command line spell them.
    pub const NAMES: [&'static str; 9] = [
        "max-sharpe",
        "min-volatility",
        "efficient-risk",
        "efficient-return",
        "quadratic-utility",
        "hrp",
        "cvar",
        "cdar",
        "black-litterman",
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Method::MaxSharpe => "max-sharpe",
            Method::MinVolatility => "min-volatility",
            Method::EfficientRisk => "efficient-risk",
            Method::EfficientReturn => "efficient-return",
            Method::QuadraticUtility => "quadratic-utility",
            Method::Hrp => "hrp",
            Method::Cvar => "cvar",
            Method::Cdar => "cdar",
            Method::BlackLitterman => "black-litterman",
        }
    }
}

/// Black-Litterman inputs: a market-implied prior from capitalisations and views on it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlackLittermanInput {
    /// Market capitalisation by asset (for the prior).
    pub market_caps: BTreeMap<String, f64>,
    /// Absolute views: expected annual return by asset.
    #[serde(default)]
    pub views: BTreeMap<String, f64>,
    /// Relative views: `long` outperforms `short` by `outperformance` a year.
    #[serde(default)]
    pub relative_views: Vec<RelativeViewInput>,
    /// Idzorek confidences in [0, 1], one per view: the absolute views in the order of
    /// their assets' names, then the relative views in order. Without them omega is
    /// proportional to the prior variance of each view.
    pub confidences: Option<Vec<f64>>,
    /// Default 1.0.
    pub risk_aversion: Option<f64>,
    /// Default 0.05.
    pub tau: Option<f64>,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RelativeViewInput {
    pub long: String,
    pub short: String,
    pub outperformance: f64,
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptimiseRequest {
    #[serde(flatten)]
    pub market: MarketInput,
    pub method: Method,
    /// Target volatility (`efficient-risk`) or return (`efficient-return`, `cvar`, `cdar`).
    pub target: Option<f64>,
    /// For `quadratic-utility`; default 1.
    pub risk_aversion: Option<f64>,
    /// Annual; default 0.02.
    pub risk_free: Option<f64>,
    /// Confidence level of CVaR and CDaR; default 0.95.
    pub beta: Option<f64>,
    #[serde(flatten)]
    pub constraints: ConstraintsInput,
    pub black_litterman: Option<BlackLittermanInput>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AssetWeight {
    pub asset: String,
    pub weight: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema, PartialEq)]
pub struct AssetReturn {
    pub asset: String,
    /// Annual.
    pub expected_return: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OptimiseOutcome {
    pub method: String,
    /// Every asset in input order.
    pub weights: Vec<AssetWeight>,
    /// Annualised, from the expected returns in use.
    pub expected_return: Option<f64>,
    pub volatility: f64,
    pub sharpe: Option<f64>,
    /// CVaR or CDaR of the portfolio, for those methods.
    pub tail_risk: Option<f64>,
    /// Black-Litterman posterior returns, by asset.
    pub posterior_returns: Option<Vec<AssetReturn>>,
    pub warnings: Vec<String>,
}

fn require_target(target: Option<f64>, what: &str) -> Result<f64> {
    target.ok_or_else(|| AdvisorError::invalid("target", format!("{what} needs a target")))
}

fn returns_needed(market: &Market, method: Method) -> Result<DMatrix<f64>> {
    market
        .returns
        .as_ref()
        .map(ReturnTable::complete_rows)
        .ok_or_else(|| {
            AdvisorError::invalid(
                "prices",
                format!("{} works on a return history: give prices", method.as_str()),
            )
        })
}

fn weights_of(assets: &[String], w: &DVector<f64>) -> Vec<AssetWeight> {
    assets
        .iter()
        .zip(w.iter())
        .map(|(asset, &weight)| AssetWeight {
            asset: asset.clone(),
            weight,
        })
        .collect()
}

/// Runs one optimisation.
pub fn optimise(request: &OptimiseRequest) -> Result<OptimiseOutcome> {
    optimise_on(request, request.market.market()?)
}

/// Runs one optimisation on estimates already made.
pub fn optimise_on(request: &OptimiseRequest, market: Market) -> Result<OptimiseOutcome> {
    let constraints = request.constraints.constraints(&market.assets)?;
    let risk_free = request.risk_free.unwrap_or(DEFAULT_RISK_FREE);
    let mu = market.mu.as_ref();
    let mut tail_risk = None;
    let mut posterior = None;
    let mut effective_mu = mu.cloned();
    let mut solve = || -> Result<DVector<f64>> {
        if let Some(objective) = mean_variance_objective(request, risk_free)? {
            return optimise::optimise(mu, &market.cov, &constraints, &objective);
        }
        Ok(match request.method {
            Method::Hrp => hrp_weights(&market, &constraints)?,
            Method::Cvar | Method::Cdar => {
                let scenarios = returns_needed(&market, request.method)?;
                let beta = request.beta.unwrap_or(0.95);
                let target = match (request.target, mu) {
                    (Some(t), Some(mu)) => Some((mu, t)),
                    _ => None,
                };
                let (w, risk) = if request.method == Method::Cvar {
                    tail::min_cvar(&scenarios, beta, &constraints, target)?
                } else {
                    tail::min_cdar(&scenarios, beta, &constraints, target)?
                };
                tail_risk = Some(risk);
                w
            }
            Method::BlackLitterman => {
                let bl = request.black_litterman.as_ref().ok_or_else(|| {
                    AdvisorError::invalid(
                        "black_litterman",
                        "black-litterman needs market_caps and views",
                    )
                })?;
                let (returns, w) = black_litterman_weights(&market, bl, risk_free)?;
                posterior = Some(
                    market
                        .assets
                        .iter()
                        .zip(returns.iter())
                        .map(|(asset, &expected_return)| AssetReturn {
                            asset: asset.clone(),
                            expected_return,
                        })
                        .collect(),
                );
                effective_mu = Some(returns);
                w
            }
            Method::MinVolatility
            | Method::MaxSharpe
            | Method::EfficientRisk
            | Method::EfficientReturn
            | Method::QuadraticUtility => unreachable!("solved above as mean-variance"),
        })
    };
    let weights = match solve() {
        // The optimiser names its own target; the request calls it `target`.
        Err(AdvisorError::ImpossibleTarget { field, message })
            if field == "target_return" || field == "target_volatility" =>
        {
            return Err(AdvisorError::ImpossibleTarget {
                field: "target".to_owned(),
                message,
            })
        }
        other => other?,
    };
    let performance =
        optimise::performance(&weights, effective_mu.as_ref(), &market.cov, risk_free);
    Ok(OptimiseOutcome {
        method: request.method.as_str().to_owned(),
        weights: weights_of(&market.assets, &weights),
        expected_return: effective_mu.as_ref().map(|_| performance.expected_return),
        volatility: performance.volatility,
        sharpe: effective_mu.as_ref().map(|_| performance.sharpe),
        tail_risk,
        posterior_returns: posterior,
        warnings: market.warnings,
    })
}

/// The objective of the mean-variance methods; `None` for the others.
fn mean_variance_objective(request: &OptimiseRequest, risk_free: f64) -> Result<Option<Objective>> {
    Ok(Some(match request.method {
        Method::MinVolatility => Objective::MinVolatility,
        Method::MaxSharpe => Objective::MaxSharpe { risk_free },
        Method::EfficientRisk => Objective::EfficientRisk {
            target_volatility: require_target(request.target, "efficient-risk")?,
        },
        Method::EfficientReturn => Objective::EfficientReturn {
            target_return: require_target(request.target, "efficient-return")?,
        },
        Method::QuadraticUtility => Objective::QuadraticUtility {
            risk_aversion: request.risk_aversion.unwrap_or(1.0),
        },
        Method::Hrp | Method::Cvar | Method::Cdar | Method::BlackLitterman => return Ok(None),
    }))
}

/// Hierarchical risk parity, within the bounds when they are not the default 0..1.
fn hrp_weights(market: &Market, constraints: &Constraints) -> Result<DVector<f64>> {
    let n = market.assets.len();
    let bounds = (constraints.lower != DVector::zeros(n)
        || constraints.upper != DVector::from_element(n, 1.0))
    .then_some((&constraints.lower, &constraints.upper));
    Ok(match &market.returns {
        // As HRPOpt(returns): pairwise covariance and correlation of the returns.
        Some(returns) => hrp::hrp_from_returns(returns, hrp::Linkage::Single, bounds)?,
        None => {
            let daily = market.cov.clone() / TRADING_DAYS as f64;
            hrp::hrp(&daily, hrp::Linkage::Single, bounds)?
        }
    })
}

fn black_litterman_weights(
    market: &Market,
    bl: &BlackLittermanInput,
    risk_free: f64,
) -> Result<(DVector<f64>, DVector<f64>)> {
    let n = market.assets.len();
    let index = |name: &str, field: String| {
        market
            .assets
            .iter()
            .position(|a| a == name)
            .ok_or_else(|| AdvisorError::invalid(field, format!("no asset `{name}`")))
    };
    let mut caps = DVector::zeros(n);
    for (name, cap) in &bl.market_caps {
        caps[index(name, format!("black_litterman.market_caps.{name}"))?] = *cap;
    }
    let delta = bl.risk_aversion.unwrap_or(1.0);
    let prior =
        black_litterman::market_implied_prior_returns(&caps, delta, &market.cov, risk_free)?;
    let views = bl
        .views
        .iter()
        .map(|(name, q)| {
            Ok(black_litterman::View::Absolute {
                asset: index(name, format!("black_litterman.views.{name}"))?,
                expected_return: *q,
            })
        })
        .chain(bl.relative_views.iter().enumerate().map(|(i, v)| {
            Ok(black_litterman::View::Relative {
                long: index(&v.long, format!("black_litterman.relative_views[{i}].long"))?,
                short: index(
                    &v.short,
                    format!("black_litterman.relative_views[{i}].short"),
                )?,
                outperformance: v.outperformance,
            })
        }))
        .collect::<Result<Vec<_>>>()?;
    let omega = match &bl.confidences {
        Some(c) => black_litterman::Omega::Idzorek {
            confidences: c.clone(),
        },
        None => black_litterman::Omega::Default,
    };
    let posterior = black_litterman::black_litterman(
        &market.cov,
        &prior,
        &views,
        &omega,
        bl.tau.unwrap_or(0.05),
    )?;
    let weights = black_litterman::try_bl_weights(&posterior.returns, &market.cov, delta)?;
    Ok((posterior.returns, weights))
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FrontierRequest {
    #[serde(flatten)]
    pub market: MarketInput,
    /// Default 20; 2 to 500.
    #[schema(minimum = 2, maximum = 500)]
    pub points: Option<usize>,
    pub risk_free: Option<f64>,
    #[serde(flatten)]
    pub constraints: ConstraintsInput,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FrontierPointView {
    pub expected_return: f64,
    pub volatility: f64,
    pub sharpe: f64,
    pub weights: Vec<AssetWeight>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct FrontierOutcome {
    pub assets: Vec<String>,
    pub points: Vec<FrontierPointView>,
    pub warnings: Vec<String>,
}

pub fn frontier(request: &FrontierRequest) -> Result<FrontierOutcome> {
    frontier_on(request, request.market.market()?)
}

pub fn frontier_on(request: &FrontierRequest, market: Market) -> Result<FrontierOutcome> {
    let mu = market.mu.as_ref().ok_or_else(|| {
        AdvisorError::invalid("expected_returns", "the frontier needs expected returns")
    })?;
    let points = request.points.unwrap_or(20);
    if !(2..=MAX_FRONTIER_POINTS).contains(&points) {
        return Err(AdvisorError::invalid(
            "points",
            format!("between 2 and {MAX_FRONTIER_POINTS}"),
        ));
    }
    let constraints = request.constraints.constraints(&market.assets)?;
    let frontier = optimise::frontier(
        mu,
        &market.cov,
        &constraints,
        points,
        request.risk_free.unwrap_or(DEFAULT_RISK_FREE),
    )?;
    Ok(FrontierOutcome {
        points: frontier
            .iter()
            .map(|p| FrontierPointView {
                expected_return: p.performance.expected_return,
                volatility: p.performance.volatility,
                sharpe: p.performance.sharpe,
                weights: weights_of(&market.assets, &p.weights),
            })
            .collect(),
        assets: market.assets,
        warnings: market.warnings,
    })
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, ToSchema, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum AllocationMethod {
    Greedy,
    Integer,
}

impl AllocationMethod {
    /// Every name, as the JSON and the command line spell them.
    pub const NAMES: [&'static str; 2] = ["greedy", "integer"];
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocateRequest {
    /// Target weights by asset: 1 to 1,000 assets, none negative, summing to 1 (the sum the
    /// schema cannot state).
    #[schema(schema_with = crate::schema::allocation_weights)]
    pub weights: BTreeMap<String, f64>,
    /// Price of one unit of each asset; every asset of `weights` needs a positive price (a
    /// rule the schema cannot state).
    pub latest_prices: BTreeMap<String, f64>,
    /// Above zero.
    #[schema(exclusive_minimum = 0.0)]
    pub total_value: f64,
    /// `integer` (default: exact, branch and bound) or `greedy`.
    pub method: Option<AllocationMethod>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Units {
    pub asset: String,
    pub units: u64,
    pub value: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct AllocateOutcome {
    pub method: String,
    pub units: Vec<Units>,
    pub leftover: f64,
    /// Root mean square error of realised against target weights.
    pub rmse: f64,
}

pub fn allocate(request: &AllocateRequest) -> Result<AllocateOutcome> {
    let assets: Vec<&String> = request.weights.keys().collect();
    let mut prices = Vec::with_capacity(assets.len());
    for a in &assets {
        prices.push(*request.latest_prices.get(*a).ok_or_else(|| {
            AdvisorError::invalid(format!("latest_prices.{a}"), "no price for this asset")
        })?);
    }
    let weights: Vec<f64> = request.weights.values().copied().collect();
    let method = request.method.unwrap_or(AllocationMethod::Integer);
    let result = match method {
        AllocationMethod::Greedy => allocation::greedy(&weights, &prices, request.total_value)?,
        AllocationMethod::Integer => allocation::integer(&weights, &prices, request.total_value)?,
    };
    Ok(AllocateOutcome {
        method: match method {
            AllocationMethod::Greedy => "greedy",
            AllocationMethod::Integer => "integer",
        }
        .to_owned(),
        units: assets
            .iter()
            .zip(&result.units)
            .zip(&prices)
            .filter(|((_, u), _)| **u > 0)
            .map(|((a, u), p)| Units {
                asset: (*a).clone(),
                units: *u,
                value: *u as f64 * p,
            })
            .collect(),
        leftover: result.leftover,
        rmse: result.rmse,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::de::DeserializeOwned;

    /// Every listed name parses to a distinct value and prints back as itself.
    fn names_round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(
        names: &[&str],
    ) {
        let values: Vec<T> = names
            .iter()
            .map(|n| serde_json::from_value(serde_json::json!(n)).unwrap())
            .collect();
        for (name, value) in names.iter().zip(&values) {
            assert_eq!(
                serde_json::to_value(value).unwrap(),
                serde_json::json!(name)
            );
        }
        for (i, a) in values.iter().enumerate() {
            assert!(values[i + 1..].iter().all(|b| a != b), "{a:?} listed twice");
        }
    }

    #[test]
    fn the_listed_names_are_every_variant_spelled_as_the_json_does() {
        names_round_trip::<ReturnsModel>(&ReturnsModel::NAMES);
        names_round_trip::<RiskModel>(&RiskModel::NAMES);
        names_round_trip::<Method>(&Method::NAMES);
        names_round_trip::<AllocationMethod>(&AllocationMethod::NAMES);
        for name in Method::NAMES {
            let method: Method = serde_json::from_value(serde_json::json!(name)).unwrap();
            assert_eq!(method.as_str(), name);
        }
        // A variant added without a name would not be listed: each match is exhaustive.
        let count = |m: Method| match m {
            Method::MaxSharpe
            | Method::MinVolatility
            | Method::EfficientRisk
            | Method::EfficientReturn
            | Method::QuadraticUtility
            | Method::Hrp
            | Method::Cvar
            | Method::Cdar
            | Method::BlackLitterman => 9,
        };
        assert_eq!(count(Method::Hrp), Method::NAMES.len());
    }
}
