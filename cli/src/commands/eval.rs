//! `sextant eval profiling`: how well the profiles, embeddings and segments recover what
//! the synthetic population knows (and, with the Berka files, real loans).

use std::path::PathBuf;

use crate::evals::profiling::{profiling, ProfilingOptions};
use crate::output::emit;

#[derive(clap::Subcommand)]
pub enum EvalCommand {
    /// Persona recovery (ARI, NMI) of embedding segments vs a raw-feature baseline, risk-level
    /// agreement (quadratic-weighted kappa) on a synthetic population; with --berka, the
    /// 5-fold AUC of a logistic model on profile features of 354 real loans.
    Profiling {
        #[arg(long, default_value_t = 10_000)]
        customers: u64,
        #[arg(long, default_value_t = 12)]
        months: u32,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// The Berka data folder (e.g. ../shared/data/berka).
        #[arg(long)]
        berka: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
}

pub async fn run(command: EvalCommand) -> anyhow::Result<i32> {
    let EvalCommand::Profiling {
        customers,
        months,
        seed,
        berka,
        json,
    } = command;
    let result = profiling(&ProfilingOptions {
        customers,
        months,
        seed,
        berka,
    })
    .await?;
    emit(&result, json)?;
    Ok(0)
}
