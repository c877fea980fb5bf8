//! `sextant portfolio optimise|frontier|allocate`: the analysts' command line over the same
//! requests as `POST /v1/portfolio/...`, on a CSV of daily prices.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use serde::de::DeserializeOwned;
use sextant_advisor::market::PriceTable;
use sextant_services::portfolio::{
    self, AllocationMethod, ConstraintsInput, FrontierRequest, MarketInput, Method,
    OptimiseRequest, ReturnsModel, RiskModel,
};

use crate::output::blocking;

#[derive(clap::Args, Clone)]
pub struct MarketArgs {
    /// CSV of daily prices: a `date` column, then one column per asset; empty cells are gaps.
    #[arg(long)]
    pub prices: PathBuf,
    #[arg(long, default_value = "mean", value_parser = named::<ReturnsModel>(&ReturnsModel::NAMES))]
    pub returns: ReturnsModel,
    /// The covariance estimate (the Ledoit-Wolf ones shrink the sample covariance towards
    /// constant variance, a single factor or constant correlation).
    #[arg(long, default_value = "sample", value_parser = named::<RiskModel>(&RiskModel::NAMES))]
    pub risk: RiskModel,
    /// Bounds of every weight, `LO,HI` (a negative LO allows shorts).
    #[arg(long, value_parser = parse_bounds)]
    pub bounds: Option<[f64; 2]>,
    #[arg(long, default_value_t = 0.02)]
    pub risk_free: f64,
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Parses one of `names`, the kebab-case names of a request enum of the service, the way the
/// JSON requests spell them; clap lists them in the help and in its errors.
fn named<T>(names: &'static [&'static str]) -> impl TypedValueParser<Value = T>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    PossibleValuesParser::new(names).map(|name| {
        serde_json::from_value(serde_json::Value::String(name)).expect("every listed name parses")
    })
}

fn parse_bounds(text: &str) -> Result<[f64; 2], String> {
    let (lo, hi) = text
        .split_once(',')
        .ok_or_else(|| format!("`{text}`: expected LO,HI"))?;
    let number = |s: &str| {
        s.trim()
            .parse::<f64>()
            .map_err(|_| format!("`{s}` is not a number"))
    };
    Ok([number(lo)?, number(hi)?])
}

#[derive(clap::Subcommand)]
pub enum PortfolioCommand {
    /// Optimise weights and print them with (return, volatility, Sharpe).
    Optimise {
        #[command(flatten)]
        market: MarketArgs,
        #[arg(long, value_parser = named::<Method>(&Method::NAMES))]
        method: Method,
        /// Target volatility (efficient-risk) or return (efficient-return, cvar, cdar).
        #[arg(long)]
        target: Option<f64>,
        #[arg(long)]
        risk_aversion: Option<f64>,
    },
    /// The efficient frontier.
    Frontier {
        #[command(flatten)]
        market: MarketArgs,
        #[arg(long, default_value_t = 20)]
        points: usize,
    },
    /// Whole units to buy for a value, at the last prices of the file.
    Allocate {
        #[command(flatten)]
        market: MarketArgs,
        /// Portfolio value to allocate.
        #[arg(long)]
        value: f64,
        /// Weights to allocate (default: max Sharpe).
        #[arg(long, default_value = "max-sharpe", value_parser = named::<Method>(&Method::NAMES))]
        method: Method,
        #[arg(long, default_value = "integer", value_parser = named::<AllocationMethod>(&AllocationMethod::NAMES))]
        allocation: AllocationMethod,
    },
}

fn read_prices(path: &Path) -> anyhow::Result<PriceTable> {
    let file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    PriceTable::from_csv(std::io::BufReader::new(file))
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn market_input(args: &MarketArgs) -> MarketInput {
    MarketInput {
        returns: Some(args.returns),
        risk: Some(args.risk),
        ..MarketInput::default()
    }
}

fn constraints(args: &MarketArgs) -> ConstraintsInput {
    ConstraintsInput {
        bounds: args.bounds,
        ..ConstraintsInput::default()
    }
}

/// Runs one subcommand off the async runtime.
pub async fn run(command: PortfolioCommand) -> anyhow::Result<i32> {
    blocking(move || run_blocking(&command)).await?;
    Ok(0)
}

/// Runs one subcommand; advice errors become a message naming the field or constraint.
fn run_blocking(command: &PortfolioCommand) -> anyhow::Result<()> {
    match command {
        PortfolioCommand::Optimise {
            market,
            method,
            target,
            risk_aversion,
        } => {
            let outcome = optimise(market, *method, *target, *risk_aversion)?;
            if market.json {
                println!("{}", serde_json::to_string_pretty(&outcome)?);
            } else {
                print_weights(&outcome);
            }
        }
        PortfolioCommand::Frontier { market, points } => {
            let prices = read_prices(&market.prices)?;
            let request = FrontierRequest {
                market: market_input(market),
                points: Some(*points),
                risk_free: Some(market.risk_free),
                constraints: constraints(market),
            };
            let estimates = request.market.from_prices(prices)?;
            let outcome = frontier_on(&request, estimates)?;
            if market.json {
                println!("{}", serde_json::to_string_pretty(&outcome)?);
            } else {
                println!(
                    "{:>6} {:>10} {:>11} {:>8}  largest weights",
                    "point", "return", "volatility", "Sharpe"
                );
                for (i, p) in outcome.points.iter().enumerate() {
                    let mut top = p.weights.clone();
                    top.sort_by(|a, b| b.weight.total_cmp(&a.weight));
                    let top: Vec<String> = top
                        .iter()
                        .take(3)
                        .filter(|w| w.weight > 1e-4)
                        .map(|w| format!("{} {:.1}%", w.asset, w.weight * 100.0))
                        .collect();
                    println!(
                        "{:>6} {:>9.2}% {:>10.2}% {:>8.3}  {}",
                        i + 1,
                        p.expected_return * 100.0,
                        p.volatility * 100.0,
                        p.sharpe,
                        top.join(", ")
                    );
                }
            }
        }
        PortfolioCommand::Allocate {
            market,
            value,
            method,
            allocation,
        } => {
            let prices = read_prices(&market.prices)?;
            let latest = prices.latest_prices();
            let outcome = optimise(market, *method, None, None)?;
            let latest_prices: BTreeMap<String, f64> = prices
                .assets
                .iter()
                .zip(latest)
                .filter_map(|(a, p)| p.map(|p| (a.clone(), p)))
                .collect();
            let weights: BTreeMap<String, f64> = outcome
                .weights
                .iter()
                .filter(|w| w.weight > 1e-4)
                .map(|w| (w.asset.clone(), w.weight))
                .collect();
            let total: f64 = weights.values().sum();
            let weights = weights.into_iter().map(|(a, w)| (a, w / total)).collect();
            let result = portfolio::allocate(&portfolio::AllocateRequest {
                weights,
                latest_prices,
                total_value: *value,
                method: Some(*allocation),
            })?;
            if market.json {
                println!("{}", serde_json::to_string_pretty(&result)?);
            } else {
                println!("{:<10} {:>8} {:>12}", "asset", "units", "value");
                for u in &result.units {
                    println!("{:<10} {:>8} {:>12.2}", u.asset, u.units, u.value);
                }
                println!(
                    "leftover {:.2}; weight RMSE {:.4} ({})",
                    result.leftover, result.rmse, result.method
                );
            }
        }
    }
    Ok(())
}

fn optimise(
    market: &MarketArgs,
    method: Method,
    target: Option<f64>,
    risk_aversion: Option<f64>,
) -> anyhow::Result<portfolio::OptimiseOutcome> {
    let prices = read_prices(&market.prices)?;
    let request = OptimiseRequest {
        market: market_input(market),
        method,
        target,
        risk_aversion,
        risk_free: Some(market.risk_free),
        beta: None,
        constraints: constraints(market),
        black_litterman: None,
    };
    let estimates = request.market.from_prices(prices)?;
    Ok(portfolio::optimise_on(&request, estimates)?)
}

fn frontier_on(
    request: &FrontierRequest,
    estimates: portfolio::Market,
) -> anyhow::Result<portfolio::FrontierOutcome> {
    Ok(portfolio::frontier_on(request, estimates)?)
}

fn print_weights(outcome: &portfolio::OptimiseOutcome) {
    println!("{} weights", outcome.method);
    for w in &outcome.weights {
        if w.weight.abs() > 1e-6 {
            println!("  {:<10} {:>8.2}%", w.asset, w.weight * 100.0);
        }
    }
    let percent =
        |v: Option<f64>| v.map_or_else(|| "n/a".to_owned(), |v| format!("{:.2}%", v * 100.0));
    println!(
        "expected annual return {}",
        percent(outcome.expected_return)
    );
    println!("annual volatility      {:.2}%", outcome.volatility * 100.0);
    println!(
        "Sharpe ratio           {}",
        outcome
            .sharpe
            .map_or_else(|| "n/a".to_owned(), |s| format!("{s:.3}"))
    );
    if let Some(t) = outcome.tail_risk {
        println!("tail risk (CVaR/CDaR)  {:.2}%", t * 100.0);
    }
    for w in &outcome.warnings {
        println!("warning: {w}");
    }
}
