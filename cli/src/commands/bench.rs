//! `sextant bench ...`: the benchmarks, each a table (or with `--json` one JSON object)
//! with the peer run side by side where there is one; the work is in `crate::bench`.

use std::path::PathBuf;

use crate::bench::{self, loadgen, marketing};
use crate::output::{blocking, emit};

#[derive(clap::Subcommand)]
pub enum BenchCommand {
    /// Feature extraction vs polars, incremental update latency, embedding inference,
    /// similar-customer queries and their recall.
    Profile {
        #[arg(long, default_value_t = 100_000)]
        customers: u64,
        #[arg(long, default_value_t = 12)]
        months: u32,
        /// Skip the polars comparison (it needs Python and PyPI).
        #[arg(long)]
        no_polars: bool,
        #[arg(long)]
        json: bool,
    },
    /// Parity (largest weight and performance differences) and speed of every portfolio
    /// method against PyPortfolioOpt on the same inputs.
    Portfolio {
        /// Folder with stock_prices.csv, spy_prices.csv and cov_matrix.csv.
        #[arg(long, default_value = "../shared/data/portfolio")]
        data: PathBuf,
        /// Skip PyPortfolioOpt (it needs Python and PyPI on first use).
        #[arg(long)]
        no_python: bool,
        #[arg(long, default_value_t = 100)]
        points: usize,
        #[arg(long)]
        json: bool,
    },
    /// Events/s through import (SQLite, PostgreSQL) and POST /v1/events (SQLite).
    Ingest {
        #[arg(long, default_value_t = 5_000)]
        customers: u64,
        #[arg(long, default_value_t = 12)]
        months: u32,
        /// A PostgreSQL URL with rights to create databases.
        #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
        postgres_url: String,
        #[arg(long)]
        no_postgres: bool,
        #[arg(long, default_value_t = 200_000)]
        http_events: usize,
        #[arg(long)]
        json: bool,
    },
    /// Instalment-quote latency at a constant offered rate (open loop, load generator in a
    /// separate process) and credit model training time on the Taiwan file.
    Credit {
        #[command(flatten)]
        options: bench::CreditBenchOptions,
        #[arg(long)]
        json: bool,
    },
    /// Payment-assessment latency at a constant offered rate (open loop, load generator in a
    /// separate process) and import throughput with transaction monitoring off and on.
    Monitoring {
        #[command(flatten)]
        options: bench::monitoring::MonitoringBenchOptions,
        #[arg(long)]
        json: bool,
    },
    /// Offers latency at a constant offered rate (open loop, load generator in a separate
    /// process), lookalike audience time and campaign launch time, against the aims.
    Marketing {
        #[command(flatten)]
        options: marketing::MarketingBenchOptions,
        #[arg(long)]
        json: bool,
    },
    /// Redemption latency at a constant offered rate (open loop, load generator in a
    /// separate process, one Idempotency-Key per request).
    Loyalty {
        #[command(flatten)]
        options: bench::loyalty::LoyaltyBenchOptions,
        #[arg(long)]
        json: bool,
    },
    /// Server time of every staff console page on a demo's data, against p95 < 100 ms.
    Console {
        #[command(flatten)]
        options: bench::console::ConsoleBenchOptions,
        #[arg(long)]
        json: bool,
    },
    /// The open-loop load generator `bench credit` and `bench marketing` run as a separate
    /// process; prints one JSON report.
    #[command(hide = true)]
    Loadgen(loadgen::LoadOptions),
}

pub async fn run(
    command: BenchCommand,
    config: sextant_api::config::Config,
) -> anyhow::Result<i32> {
    match command {
        BenchCommand::Profile {
            customers,
            months,
            no_polars,
            json,
        } => {
            let options = bench::ProfileOptions {
                customers,
                months,
                polars: !no_polars,
            };
            emit(&bench::profile(&options).await?, json)?;
        }
        BenchCommand::Portfolio {
            data,
            no_python,
            points,
            json,
        } => {
            let options = bench::PortfolioOptions {
                data_dir: data,
                python: !no_python,
                frontier_points: points,
            };
            emit(&blocking(move || bench::portfolio(&options)).await?, json)?;
        }
        BenchCommand::Ingest {
            customers,
            months,
            postgres_url,
            no_postgres,
            http_events,
            json,
        } => {
            let options = bench::IngestOptions {
                customers,
                months,
                postgres_admin_url: (!no_postgres).then_some(postgres_url),
                http_events,
                http_batch: 500,
                http_clients: 4,
            };
            emit(&bench::ingest(&options).await?, json)?;
        }
        BenchCommand::Monitoring { options, json } => {
            emit(&bench::monitoring::monitoring(&options).await?, json)?;
        }
        BenchCommand::Credit { options, json } => {
            emit(&bench::credit(&options).await?, json)?;
        }
        BenchCommand::Marketing { options, json } => {
            emit(&marketing::marketing(&options).await?, json)?;
        }
        BenchCommand::Loyalty { options, json } => {
            emit(&bench::loyalty::loyalty(&options).await?, json)?;
        }
        BenchCommand::Console { options, json } => {
            emit(&bench::console::console(&options, config).await?, json)?;
        }
        BenchCommand::Loadgen(options) => {
            let report = blocking(move || loadgen::run(&options)).await?;
            println!("{}", serde_json::to_string(&report)?);
        }
    }
    Ok(0)
}
