//! `sextant bench portfolio`: Sextant's optimisers against PyPortfolioOpt on the same inputs.
//!
//! Parity: the reference data's 20 stock price histories (and its 95-asset near-singular
//! covariance) through every method both libraries have; the table prints the largest
//! weight difference and the performance differences. Speed: min volatility, max Sharpe and
//! a 100-point frontier at 20 real assets and synthetic 200- and 500-asset factor-model
//! universes, with both sides given the same expected returns and covariance, so only the
//! optimisation is timed. PyPortfolioOpt runs in a virtual environment made on first use.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use rand::{Rng, SeedableRng};
use serde::Serialize;
use serde_json::{json, Value};
use sextant_advisor::market::PriceTable;
use sextant_advisor::optimise::{self, Constraints, Objective};
use sextant_advisor::{
    allocation, black_litterman, estimate, hrp, tail, DMatrix, DVector, DEFAULT_RISK_FREE,
    TRADING_DAYS,
};

use crate::output::Report;
use crate::python::venv_python;

/// Mean-variance weights must agree with PyPortfolioOpt to this.
pub const MEAN_VARIANCE_TOLERANCE: f64 = 1e-6;

pub struct PortfolioOptions {
    /// Folder holding stock_prices.csv, spy_prices.csv and cov_matrix.csv.
    pub data_dir: PathBuf,
    /// Run PyPortfolioOpt (needs Python and PyPI on first use).
    pub python: bool,
    /// Frontier points in the speed table.
    pub frontier_points: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ParityRow {
    pub case: String,
    pub assets: usize,
    pub max_weight_difference: Option<f64>,
    pub expected_return_difference: Option<f64>,
    pub volatility_difference: Option<f64>,
    pub sharpe_difference: Option<f64>,
    /// Another compared figure: expected returns and covariance for estimators, posterior
    /// returns for Black-Litterman, CVaR/CDaR, units for discrete allocation.
    pub other: Option<String>,
    pub other_difference: Option<f64>,
    /// The tolerance the case is held to, where there is one.
    pub tolerance: Option<f64>,
    pub agrees: Option<bool>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct SpeedRow {
    pub task: String,
    pub assets: usize,
    pub sextant_seconds: f64,
    pub pypfopt_default_seconds: Option<f64>,
    pub pypfopt_default_solver: Option<String>,
    pub pypfopt_clarabel_seconds: Option<f64>,
    pub speedup_vs_default: Option<f64>,
    pub speedup_vs_clarabel: Option<f64>,
    pub note: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct PortfolioBench {
    pub pypfopt_versions: Option<Value>,
    pub parity: Vec<ParityRow>,
    pub speed: Vec<SpeedRow>,
    /// Mean-variance cases that disagree beyond the tolerance.
    pub mean_variance_failures: usize,
}

/// The reference side's answer to one case.
struct Reference(Value);

impl Reference {
    fn vector(&self, key: &str) -> Option<Vec<f64>> {
        self.0[key]
            .as_array()
            .map(|a| a.iter().map(|v| v.as_f64().unwrap_or(f64::NAN)).collect())
    }
    fn number(&self, key: &str) -> Option<f64> {
        self.0[key].as_f64()
    }
    fn error(&self) -> Option<String> {
        self.0["error"].as_str().map(str::to_owned)
    }
}

/// Sextant's answer to one case.
#[derive(Default)]
struct Answer {
    weights: Option<DVector<f64>>,
    performance: Option<(f64, f64, f64)>,
    other: Option<(String, Vec<f64>)>,
}

fn max_difference(a: &[f64], b: &[f64]) -> f64 {
    if a.len() != b.len() {
        return f64::INFINITY;
    }
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f64::max)
}

fn read_prices(path: &Path) -> anyhow::Result<PriceTable> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    PriceTable::from_csv(std::io::BufReader::new(file))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

/// The 95 x 95 annualised covariance of the reference data (first column and header: names).
fn read_cov(path: &Path) -> anyhow::Result<DMatrix<f64>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_path(path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    let mut rows: Vec<Vec<f64>> = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record?;
        rows.push(
            record
                .iter()
                .skip(1)
                .map(|v| v.trim().parse::<f64>())
                .collect::<Result<_, _>>()
                .with_context(|| format!("{} line {}", path.display(), i + 2))?,
        );
    }
    let n = rows.len();
    anyhow::ensure!(
        rows.iter().all(|r| r.len() == n),
        "{} is not square",
        path.display()
    );
    Ok(DMatrix::from_fn(n, n, |i, j| rows[i][j]))
}

fn to_json_matrix(m: &DMatrix<f64>) -> Value {
    Value::Array(
        (0..m.nrows())
            .map(|i| Value::from((0..m.ncols()).map(|j| m[(i, j)]).collect::<Vec<f64>>()))
            .collect(),
    )
}

/// A factor-model universe: five factors, seeded loadings, idiosyncratic variance.
pub fn synthetic_universe(n: usize, seed: u64) -> (DVector<f64>, DMatrix<f64>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let k = 5;
    let factor_vol = [0.16, 0.08, 0.06, 0.05, 0.04];
    let premia = [0.05, 0.01, 0.01, 0.005, 0.0];
    let loadings = DMatrix::from_fn(n, k, |_, f| {
        if f == 0 {
            rng.gen_range(0.5..1.5)
        } else {
            rng.gen_range(-1.0..1.0)
        }
    });
    let factor_cov = DMatrix::from_fn(k, k, |a, b| {
        if a == b {
            factor_vol[a] * factor_vol[a]
        } else {
            0.0
        }
    });
    let mut cov = &loadings * factor_cov * loadings.transpose();
    for i in 0..n {
        let idio: f64 = rng.gen_range(0.10..0.35);
        cov[(i, i)] += idio * idio;
    }
    let mu = DVector::from_fn(n, |i, _| {
        0.02 + (0..k).map(|f| loadings[(i, f)] * premia[f]).sum::<f64>()
            + rng.gen_range(-0.02..0.02)
    });
    (mu, cov)
}

/// Median seconds of `runs` calls.
fn time_it<T>(runs: usize, mut f: impl FnMut() -> T) -> (T, f64) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs.max(1) {
        let start = Instant::now();
        last = Some(f());
        times.push(start.elapsed().as_secs_f64());
    }
    times.sort_by(f64::total_cmp);
    (last.expect("at least one run"), times[times.len() / 2])
}

const BL_VIEWS: [(&str, f64); 4] = [
    ("AAPL", 0.10),
    ("BBY", -0.05),
    ("BAC", 0.15),
    ("SBUX", 0.08),
];

/// Illustrative market capitalisations (USD bn, spring 2018) for the prior; the same on both
/// sides, so their accuracy does not matter to parity.
const MARKET_CAPS: [(&str, f64); 20] = [
    ("GOOG", 927.0),
    ("AAPL", 890.0),
    ("FB", 532.0),
    ("BABA", 416.0),
    ("AMZN", 778.0),
    ("GE", 118.0),
    ("AMD", 11.0),
    ("WMT", 249.0),
    ("BAC", 303.0),
    ("GM", 52.0),
    ("T", 211.0),
    ("UAA", 7.0),
    ("SHLD", 0.3),
    ("XOM", 316.0),
    ("RRC", 3.5),
    ("BBY", 20.0),
    ("MA", 183.0),
    ("PFE", 212.0),
    ("JPM", 387.0),
    ("SBUX", 77.0),
];

struct Case {
    id: String,
    assets: usize,
    python: Value,
    answer: Answer,
    tolerance: Option<f64>,
}

fn mean_variance_answer(
    mu: Option<&DVector<f64>>,
    cov: &DMatrix<f64>,
    objective: &Objective,
) -> anyhow::Result<Answer> {
    let w = optimise::optimise(mu, cov, &Constraints::long_only(cov.nrows()), objective)?;
    let p = optimise::performance(&w, mu, cov, DEFAULT_RISK_FREE);
    Ok(Answer {
        weights: Some(w),
        performance: Some((p.expected_return, p.volatility, p.sharpe)),
        other: None,
    })
}

/// Every parity case with Sextant's answer computed.
fn parity_cases(data: &Path) -> anyhow::Result<Vec<Case>> {
    let stock_path = data.join("stock_prices.csv");
    let spy_path = data.join("spy_prices.csv");
    let prices = read_prices(&stock_path)?;
    let returns = prices.returns();
    let n = prices.assets.len();
    let stock = stock_path.display().to_string();
    let mu = estimate::mean_historical_return(&returns, true, TRADING_DAYS)?;
    let cov = estimate::sample_cov(&returns, TRADING_DAYS)?;
    let mut cases = Vec::new();

    // Estimators: expected returns and covariance.
    for (returns_model, risk_model) in [
        ("mean", "sample"),
        ("ema", "exp"),
        ("capm", "semi"),
        ("mean", "ledoit-wolf"),
        ("mean", "ledoit-wolf-single-factor"),
        ("mean", "ledoit-wolf-constant-correlation"),
    ] {
        let m = match returns_model {
            "mean" => mu.clone(),
            "ema" => estimate::ema_historical_return(&returns, true, 500, TRADING_DAYS)?,
            // PyPortfolioOpt 1.6's default risk-free rate for CAPM is 0.
            _ => estimate::capm_return(&returns, None, 0.0, true, TRADING_DAYS)?,
        };
        let c = match risk_model {
            "sample" => cov.clone(),
            "exp" => estimate::exp_cov(&returns, 180, TRADING_DAYS)?,
            "semi" => estimate::semicovariance(&returns, 0.000079, TRADING_DAYS)?,
            "ledoit-wolf" => {
                estimate::ledoit_wolf(
                    &returns,
                    estimate::ShrinkageTarget::ConstantVariance,
                    TRADING_DAYS,
                )?
                .0
            }
            "ledoit-wolf-single-factor" => {
                estimate::ledoit_wolf(
                    &returns,
                    estimate::ShrinkageTarget::SingleFactor,
                    TRADING_DAYS,
                )?
                .0
            }
            _ => {
                estimate::ledoit_wolf(
                    &returns,
                    estimate::ShrinkageTarget::ConstantCorrelation,
                    TRADING_DAYS,
                )?
                .0
            }
        };
        let mut both: Vec<f64> = m.iter().copied().collect();
        both.extend(c.iter().copied());
        cases.push(Case {
            id: format!("estimate {returns_model} + {risk_model}"),
            assets: n,
            python: json!({"method": "estimate", "prices": stock, "returns_model": returns_model, "risk_model": risk_model}),
            answer: Answer {
                other: Some(("mu and cov".into(), both)),
                ..Answer::default()
            },
            tolerance: Some(1e-9),
        });
    }

    // Mean-variance, on PyPortfolioOpt's default estimates of the same prices.
    let min_vol = mean_variance_answer(Some(&mu), &cov, &Objective::MinVolatility)?;
    let max_sharpe = mean_variance_answer(
        Some(&mu),
        &cov,
        &Objective::MaxSharpe {
            risk_free: DEFAULT_RISK_FREE,
        },
    )?;
    let (r_lo, v_lo, _) = min_vol.performance.expect("set");
    let (r_hi, v_hi, _) = max_sharpe.performance.expect("set");
    let target_volatility = (v_lo + v_hi) / 2.0;
    let target_return = (r_lo + r_hi) / 2.0;
    for (name, answer, extra) in [
        ("min_volatility", min_vol, json!({})),
        ("max_sharpe", max_sharpe, json!({})),
        (
            "efficient_risk",
            mean_variance_answer(
                Some(&mu),
                &cov,
                &Objective::EfficientRisk { target_volatility },
            )?,
            // At 1e-10 cvxpy stops short of the optimum here (its weights still move by
            // ~3e-6 as the tolerance tightens); 1e-14 lets it converge.
            json!({"target": target_volatility, "tolerance": 1e-14}),
        ),
        (
            "efficient_return",
            mean_variance_answer(
                Some(&mu),
                &cov,
                &Objective::EfficientReturn { target_return },
            )?,
            json!({"target": target_return}),
        ),
        (
            "quadratic_utility",
            mean_variance_answer(
                Some(&mu),
                &cov,
                &Objective::QuadraticUtility { risk_aversion: 1.0 },
            )?,
            json!({"risk_aversion": 1.0}),
        ),
    ] {
        let mut python = json!({"method": name, "prices": stock, "solver": "clarabel"});
        merge(&mut python, &extra);
        cases.push(Case {
            id: name.replace('_', " "),
            assets: n,
            python,
            answer,
            tolerance: Some(MEAN_VARIANCE_TOLERANCE),
        });
    }

    // The near-singular stress covariance.
    let stress = read_cov(&data.join("cov_matrix.csv"))?;
    cases.push(Case {
        id: "min volatility, cov_matrix.csv".into(),
        assets: stress.nrows(),
        // Near-singular: at 1e-10 Clarabel stops 3e-6 short of the optimum in weights.
        python: json!({"method": "min_volatility", "cov": to_json_matrix(&stress), "solver": "clarabel", "tolerance": 1e-12}),
        answer: mean_variance_answer(None, &stress, &Objective::MinVolatility)?,
        tolerance: Some(MEAN_VARIANCE_TOLERANCE),
    });

    // HRP on the daily returns, as HRPOpt(returns) takes them (pairwise covariance and
    // correlation, unrepaired).
    let w = hrp::hrp_from_returns(&returns, hrp::Linkage::Single, None)?;
    let p = optimise::performance(&w, Some(&mu), &cov, DEFAULT_RISK_FREE);
    cases.push(Case {
        id: "hrp".into(),
        assets: n,
        python: json!({"method": "hrp", "prices": stock}),
        answer: Answer {
            weights: Some(w),
            performance: None,
            other: Some(("volatility".into(), vec![p.volatility])),
        },
        tolerance: Some(1e-9),
    });

    // Black-Litterman with the SPY-implied risk aversion and four absolute views.
    let spy = read_prices(&spy_path)?;
    let spy_prices: Vec<f64> = spy.prices.iter().filter_map(|r| r[0]).collect();
    // PyPortfolioOpt 1.6's defaults: risk-free rate 0 for the risk aversion and the prior.
    let delta = black_litterman::market_implied_risk_aversion(&spy_prices, TRADING_DAYS, 0.0)?;
    let index = |name: &str| {
        prices
            .assets
            .iter()
            .position(|a| a == name)
            .expect("ticker of the reference data")
    };
    let caps = DVector::from_fn(n, |i, _| {
        MARKET_CAPS
            .iter()
            .find(|(t, _)| *t == prices.assets[i])
            .map_or(0.0, |(_, c)| *c)
    });
    let prior = black_litterman::market_implied_prior_returns(&caps, delta, &cov, 0.0)?;
    let views: Vec<black_litterman::View> = BL_VIEWS
        .iter()
        .map(|(t, q)| black_litterman::View::Absolute {
            asset: index(t),
            expected_return: *q,
        })
        .collect();
    let posterior = black_litterman::black_litterman(
        &cov,
        &prior,
        &views,
        &black_litterman::Omega::Default,
        0.05,
    )?;
    let w = black_litterman::try_bl_weights(&posterior.returns, &cov, delta)?;
    let p = optimise::performance(
        &w,
        Some(&posterior.returns),
        &posterior.cov,
        DEFAULT_RISK_FREE,
    );
    let caps_json: Vec<f64> = caps.iter().copied().collect();
    let views_json: serde_json::Map<String, Value> = BL_VIEWS
        .iter()
        .map(|(t, q)| ((*t).to_owned(), json!(q)))
        .collect();
    cases.push(Case {
        id: "black-litterman".into(),
        assets: n,
        python: json!({"method": "black_litterman", "prices": stock, "market_prices": spy_path.display().to_string(), "market_caps": caps_json, "views": views_json}),
        answer: Answer {
            weights: Some(w),
            performance: Some((p.expected_return, p.volatility, p.sharpe)),
            other: Some(("posterior returns".into(), posterior.returns.iter().copied().collect())),
        },
        tolerance: Some(1e-6),
    });

    // CVaR and CDaR on the complete rows of the daily returns.
    let scenarios = returns.complete_rows();
    for (name, method) in [("cvar", "min_cvar"), ("cdar", "min_cdar")] {
        let (w, risk) = if name == "cvar" {
            tail::min_cvar(&scenarios, 0.95, &Constraints::long_only(n), None)?
        } else {
            tail::min_cdar(&scenarios, 0.95, &Constraints::long_only(n), None)?
        };
        let expected: f64 = mu.dot(&w);
        cases.push(Case {
            id: format!("{name} ({method})"),
            assets: n,
            python: json!({"method": name, "prices": stock, "solver": "clarabel"}),
            answer: Answer {
                weights: Some(w),
                performance: None,
                other: Some((format!("{name} and return"), vec![risk, expected])),
            },
            tolerance: Some(1e-5),
        });
    }

    // Discrete allocation of the max-Sharpe weights into 10,000 of value.
    let weights = optimise::optimise(
        Some(&mu),
        &cov,
        &Constraints::long_only(n),
        &Objective::MaxSharpe {
            risk_free: DEFAULT_RISK_FREE,
        },
    )?;
    let latest: Vec<f64> = prices
        .latest_prices()
        .iter()
        .map(|p| p.unwrap_or(f64::NAN))
        .collect();
    let w: Vec<f64> = weights.iter().copied().collect();
    for (name, result) in [
        (
            "discrete_greedy",
            allocation::greedy(&w, &latest, 10_000.0)?,
        ),
        ("discrete_lp", allocation::integer(&w, &latest, 10_000.0)?),
    ] {
        let mut units: Vec<f64> = result.units.iter().map(|&u| u as f64).collect();
        units.push(result.leftover);
        cases.push(Case {
            id: name.replace('_', " "),
            assets: n,
            python: json!({"method": name, "prices": stock, "weights": w, "total_value": 10_000.0}),
            answer: Answer {
                weights: None,
                performance: None,
                other: Some(("units and leftover".into(), units)),
            },
            tolerance: Some(0.01),
        });
    }
    Ok(cases)
}

fn merge(target: &mut Value, extra: &Value) {
    if let (Some(t), Some(e)) = (target.as_object_mut(), extra.as_object()) {
        for (k, v) in e {
            t.insert(k.clone(), v.clone());
        }
    }
}

fn compare(case: &Case, reference: Option<&Reference>) -> ParityRow {
    let mut row = ParityRow {
        case: case.id.clone(),
        assets: case.assets,
        max_weight_difference: None,
        expected_return_difference: None,
        volatility_difference: None,
        sharpe_difference: None,
        other: case.answer.other.as_ref().map(|(name, _)| name.clone()),
        other_difference: None,
        tolerance: case.tolerance,
        agrees: None,
        note: None,
    };
    let Some(reference) = reference else {
        row.note = Some("PyPortfolioOpt not run".into());
        return row;
    };
    if let Some(error) = reference.error() {
        row.note = Some(format!("PyPortfolioOpt: {error}"));
        return row;
    }
    if let (Some(w), Some(r)) = (&case.answer.weights, reference.vector("weights")) {
        row.max_weight_difference = Some(max_difference(w.as_slice(), &r));
    }
    if let Some((ret, vol, sharpe)) = case.answer.performance {
        row.expected_return_difference =
            reference.number("expected_return").map(|r| (ret - r).abs());
        row.volatility_difference = reference.number("volatility").map(|r| (vol - r).abs());
        row.sharpe_difference = reference.number("sharpe").map(|r| (sharpe - r).abs());
    }
    if let Some((name, ours)) = &case.answer.other {
        let theirs: Option<Vec<f64>> = match name.as_str() {
            "mu and cov" => reference
                .vector("mu")
                .zip(reference.0["cov"].as_array())
                .map(|(mut mu, cov)| {
                    // Column-major, as nalgebra stores it: cov is symmetric, so rows serve.
                    for row in cov {
                        mu.extend(
                            row.as_array()
                                .into_iter()
                                .flatten()
                                .map(|v| v.as_f64().unwrap_or(f64::NAN)),
                        );
                    }
                    mu
                }),
            "posterior returns" => reference.vector("bl_returns"),
            "volatility" => reference.number("volatility").map(|v| vec![v]),
            "units and leftover" => reference.vector("units").map(|mut u| {
                u.push(reference.number("leftover").unwrap_or(f64::NAN));
                u
            }),
            _ => reference
                .number("objective")
                .zip(reference.number("expected_return"))
                .map(|(o, r)| vec![o, r]),
        };
        row.other_difference = theirs.map(|t| max_difference(ours, &t));
    }
    if let Some(tolerance) = case.tolerance {
        let checked = [row.max_weight_difference, row.other_difference];
        if checked.iter().any(Option::is_some) {
            row.agrees = Some(checked.iter().flatten().all(|d| *d <= tolerance));
        }
    }
    row
}

/// The PyPortfolioOpt cases of one speed row: its index, then the default and Clarabel runs.
type SpeedInputs = Vec<(usize, Value, Value)>;

/// Speed rows with Sextant's times, and the PyPortfolioOpt cases to fill in the rest.
fn speed_cases(
    prices_mu: &DVector<f64>,
    prices_cov: &DMatrix<f64>,
    points: usize,
) -> anyhow::Result<(Vec<SpeedRow>, SpeedInputs)> {
    let mut rows = Vec::new();
    let mut python = Vec::new();
    let universes = [
        ("20 stocks", prices_mu.clone(), prices_cov.clone()),
        (
            "200 synthetic",
            synthetic_universe(200, 200).0,
            synthetic_universe(200, 200).1,
        ),
        (
            "500 synthetic",
            synthetic_universe(500, 500).0,
            synthetic_universe(500, 500).1,
        ),
    ];
    for (universe, mu, cov) in &universes {
        let n = mu.len();
        let c = Constraints::long_only(n);
        let small = n <= 20;
        for task in ["min_volatility", "max_sharpe", "frontier"] {
            let runs = match (task, small) {
                ("frontier", true) => 5,
                ("frontier", false) => 1,
                (_, true) => 50,
                (_, false) => 5,
            };
            let (outcome, seconds) = time_it(runs, || match task {
                "min_volatility" => {
                    optimise::optimise(Some(mu), cov, &c, &Objective::MinVolatility).map(|_| ())
                }
                "max_sharpe" => optimise::optimise(
                    Some(mu),
                    cov,
                    &c,
                    &Objective::MaxSharpe {
                        risk_free: DEFAULT_RISK_FREE,
                    },
                )
                .map(|_| ()),
                _ => optimise::frontier(mu, cov, &c, points, DEFAULT_RISK_FREE).map(|_| ()),
            });
            outcome?;
            let label = if task == "frontier" {
                format!("frontier ({points} points)")
            } else {
                task.replace('_', " ")
            };
            let repeat = if small && task != "frontier" { 9 } else { 1 };
            let base = json!({"method": task, "mu": mu.as_slice(), "cov": to_json_matrix(cov), "points": points, "repeat": repeat});
            let mut default = base.clone();
            merge(&mut default, &json!({"solver": "default"}));
            let mut clarabel = base;
            merge(&mut clarabel, &json!({"solver": "clarabel"}));
            python.push((rows.len(), default, clarabel));
            rows.push(SpeedRow {
                task: format!("{label}, {universe}"),
                assets: n,
                sextant_seconds: seconds,
                pypfopt_default_seconds: None,
                pypfopt_default_solver: None,
                pypfopt_clarabel_seconds: None,
                speedup_vs_default: None,
                speedup_vs_clarabel: None,
                note: None,
            });
        }
    }
    Ok((rows, python))
}

/// Runs the PyPortfolioOpt side on `cases`; one result per case, in order.
fn run_reference(cases: Vec<Value>) -> anyhow::Result<(Value, Vec<Reference>)> {
    const SCRIPT: &str = include_str!("pypfopt_portfolio.py");
    let python = venv_python(
        "sextant-bench-pypfopt-venv",
        "import pypfopt, clarabel",
        &["pyportfolioopt==1.6.0", "clarabel", "packaging"],
    )?;
    let dir = tempfile::tempdir()?;
    let script = dir.path().join("pypfopt_portfolio.py");
    std::fs::write(&script, SCRIPT)?;
    let input = json!({"cases": cases}).to_string();
    let mut child = std::process::Command::new(python)
        .arg(&script)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .context("running PyPortfolioOpt")?;
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().expect("piped");
        stdin.write_all(input.as_bytes())?;
    }
    let output = child.wait_with_output()?;
    anyhow::ensure!(
        output.status.success(),
        "PyPortfolioOpt failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let value: Value =
        serde_json::from_slice(&output.stdout).context("PyPortfolioOpt printed no JSON")?;
    let results = value["results"]
        .as_array()
        .context("no results")?
        .iter()
        .cloned()
        .map(Reference)
        .collect();
    Ok((value["versions"].clone(), results))
}

pub fn portfolio(options: &PortfolioOptions) -> anyhow::Result<PortfolioBench> {
    let data = &options.data_dir;
    let prices = read_prices(&data.join("stock_prices.csv"))?;
    let returns = prices.returns();
    let mu = estimate::mean_historical_return(&returns, true, TRADING_DAYS)?;
    let cov = estimate::sample_cov(&returns, TRADING_DAYS)?;
    eprintln!("parity: solving every method with Sextant");
    let cases = parity_cases(data)?;
    eprintln!("speed: timing Sextant");
    let (mut speed, speed_python) = speed_cases(&mu, &cov, options.frontier_points)?;
    let mut references: Vec<Option<Reference>> = (0..cases.len()).map(|_| None).collect();
    let mut versions = None;
    if options.python {
        eprintln!(
            "running PyPortfolioOpt on the same inputs (the 500-asset frontier takes minutes)"
        );
        let mut inputs: Vec<Value> = cases
            .iter()
            .enumerate()
            .map(|(i, c)| {
                let mut p = c.python.clone();
                merge(&mut p, &json!({"id": format!("parity {i}")}));
                p
            })
            .collect();
        for (i, (_, default, clarabel)) in speed_python.iter().enumerate() {
            let mut d = default.clone();
            merge(&mut d, &json!({"id": format!("speed {i} default")}));
            let mut c = clarabel.clone();
            merge(&mut c, &json!({"id": format!("speed {i} clarabel")}));
            inputs.push(d);
            inputs.push(c);
        }
        let (v, mut results) = run_reference(inputs)?;
        versions = Some(v);
        let speed_results = results.split_off(cases.len());
        for (slot, r) in references.iter_mut().zip(results) {
            *slot = Some(r);
        }
        for ((row_index, _, _), pair) in speed_python.iter().zip(speed_results.chunks(2)) {
            let row = &mut speed[*row_index];
            let [default, clarabel] = pair else { continue };
            let mut notes = Vec::new();
            match default.error() {
                None => row.pypfopt_default_seconds = default.number("seconds"),
                Some(e) => notes.push(format!("default solver failed: {}", brief(&e))),
            }
            row.pypfopt_default_solver = default.0["solver"].as_str().map(str::to_owned);
            match clarabel.error() {
                None => row.pypfopt_clarabel_seconds = clarabel.number("seconds"),
                Some(e) => notes.push(format!("Clarabel failed: {}", brief(&e))),
            }
            row.speedup_vs_default = row.pypfopt_default_seconds.map(|s| s / row.sextant_seconds);
            row.speedup_vs_clarabel = row
                .pypfopt_clarabel_seconds
                .map(|s| s / row.sextant_seconds);
            row.note = (!notes.is_empty()).then(|| notes.join("; "));
        }
    }
    let parity: Vec<ParityRow> = cases
        .iter()
        .zip(&references)
        .map(|(c, r)| compare(c, r.as_ref()))
        .collect();
    let mean_variance_failures = parity
        .iter()
        .filter(|r| r.tolerance == Some(MEAN_VARIANCE_TOLERANCE) && r.agrees == Some(false))
        .count();
    Ok(PortfolioBench {
        pypfopt_versions: versions,
        parity,
        speed,
        mean_variance_failures,
    })
}

/// The first clause of a Python error and the solver status it names, if any.
fn brief(error: &str) -> String {
    let head = error
        .split(" <- ")
        .next()
        .unwrap_or(error)
        .split(" (target")
        .next()
        .unwrap_or(error);
    match error.split("Solver status: ").nth(1) {
        Some(status) => format!("{head}, status {}", status.trim_end_matches(['\'', ')'])),
        None => head.to_owned(),
    }
}

fn figure(v: Option<f64>) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.1e}"))
}

impl Report for PortfolioBench {
    fn print_table(&self) {
        let bench = self;
        if let Some(v) = &bench.pypfopt_versions {
            println!(
                "PyPortfolioOpt {} (cvxpy {}), same inputs",
                v["pypfopt"].as_str().unwrap_or("?"),
                v["cvxpy"].as_str().unwrap_or("?")
            );
        }
        println!();
        println!("Parity with PyPortfolioOpt (absolute differences)");
        println!(
            "{:<48} {:>6} {:>9} {:>9} {:>9} {:>9}  {:<20} {:>9} {:>8}  note",
            "case",
            "assets",
            "weights",
            "return",
            "vol",
            "Sharpe",
            "also compared",
            "diff",
            "agrees"
        );
        for r in &bench.parity {
            println!(
                "{:<48} {:>6} {:>9} {:>9} {:>9} {:>9}  {:<20} {:>9} {:>8}  {}",
                r.case,
                r.assets,
                figure(r.max_weight_difference),
                figure(r.expected_return_difference),
                figure(r.volatility_difference),
                figure(r.sharpe_difference),
                r.other.as_deref().unwrap_or("-"),
                figure(r.other_difference),
                match (r.agrees, r.tolerance) {
                    (Some(true), Some(t)) => format!("<={t:.0e}"),
                    (Some(false), Some(t)) => format!("NO >{t:.0e}"),
                    _ => "-".to_owned(),
                },
                r.note.as_deref().unwrap_or("")
            );
        }
        println!();
        println!(
            "Speed: milliseconds per task (median), same expected returns and covariance on both sides"
        );
        println!(
            "{:<38} {:>10} {:>14} {:>14} {:>10} {:>10}  note",
            "task", "Sextant", "PyPfOpt (dflt)", "PyPfOpt+Clar.", "x dflt", "x Clar."
        );
        let ms = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{:.3}", v * 1e3));
        let times = |v: Option<f64>| v.map_or_else(|| "-".to_owned(), |v| format!("{v:.0}x"));
        for r in &bench.speed {
            println!(
                "{:<38} {:>10} {:>14} {:>14} {:>10} {:>10}  {}{}",
                r.task,
                ms(Some(r.sextant_seconds)),
                ms(r.pypfopt_default_seconds),
                ms(r.pypfopt_clarabel_seconds),
                times(r.speedup_vs_default),
                times(r.speedup_vs_clarabel),
                r.pypfopt_default_solver
                    .as_deref()
                    .map(|s| format!("default = {s}; "))
                    .unwrap_or_default(),
                r.note.as_deref().unwrap_or("")
            );
        }
        println!();
        println!(
            "mean-variance cases beyond {MEAN_VARIANCE_TOLERANCE:.0e}: {}",
            bench.mean_variance_failures
        );
    }
}
