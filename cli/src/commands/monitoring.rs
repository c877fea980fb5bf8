//! `sextant monitoring scan`: every stored payment replayed through the typology detectors
//! (issue 14, begun), with how many alerts each would raise per 1,000 customers a day.

use std::path::PathBuf;

use sextant_api::config::Config;
use sextant_api::startup::open_store_with;
use sextant_monitoring::Params;
use sextant_services::monitoring::{scan, ScanReport};

use crate::output::{emit, Report};

#[derive(clap::Subcommand)]
pub enum MonitoringCommand {
    /// Replay every stored payment through the typology detectors and count the alerts
    /// each would raise (nothing is stored).
    Scan(ScanArgs),
}

#[derive(clap::Args)]
pub struct ScanArgs {
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long)]
    json: bool,
}

impl Report for ScanReport {
    fn print_table(&self) {
        println!(
            "{} customers, {} payments over {:.0} days, replayed in {:.1} s",
            self.customers, self.payments, self.days, self.seconds
        );
        println!();
        println!("| typology | alerts | customers | per 1,000 customers a day | example reason |");
        println!("|---|---:|---:|---:|---|");
        for t in &self.by_typology {
            println!(
                "| {} | {} | {} | {:.3} | {} |",
                t.typology,
                t.alerts,
                t.customers,
                t.alerts_per_1000_customers_per_day,
                t.example.as_deref().unwrap_or("-")
            );
        }
        println!(
            "| any | {} | {} | {:.3} | |",
            self.payments_alerted, self.customers_alerted, self.alerts_per_1000_customers_per_day
        );
    }
}

pub async fn run(command: MonitoringCommand, mut config: Config) -> anyhow::Result<i32> {
    let MonitoringCommand::Scan(args) = command;
    config.data_dir = args.data_dir.unwrap_or(config.data_dir);
    // Read only: no audit signer is needed.
    let store = open_store_with(&config, None).await?;
    let report = scan(store.as_ref(), &Params::default(), |done| {
        eprintln!("scanned {done} customers");
    })
    .await?;
    emit(&report, args.json)?;
    Ok(0)
}
