//! `sextant credit ...`: the credit models on any delimited file (eval, train, fairness),
//! on a synthetic population and on the Berka loans through the profiling features, and on
//! the service's own data (train the decision model on the stored population, replay a
//! recorded decision).

use std::path::PathBuf;

use sextant_api::config::Config;
use sextant_api::startup::open_store;
use sextant_services::lending::operations::{replay, train_population, PopulationTraining, Replay};
use sextant_services::ServiceError;
use sextant_store::Actor;

use crate::commands::generate::{Truth, TRUTH_FILE};
use crate::evals::credit_file::{self, EvalArgs, ModelArg, TrainArgs};
use crate::evals::credit_population::{eval_berka, eval_population, ProfiledEvalOptions};
use crate::evals::fairness::{fairness, FairnessArgs};
use crate::output::{blocking, emit, Report};

#[derive(clap::Subcommand)]
pub enum CreditCommand {
    /// Cross-validated AUC, KS, Brier score and calibration of the credit models on any
    /// delimited file (`--json` for one JSON object).
    Eval(EvalArgs),
    /// Cross-validate, fit on all rows and save one model file (encoding, model,
    /// calibration, metadata with the data's SHA-256 and the figures).
    Train(TrainArgs),
    /// Train the decision model on the stored profiles, labelled by the population's
    /// ground truth (observed defaults), store it and make it the active one.
    TrainPopulation(TrainPopulationArgs),
    /// Cross-validated quality on a synthetic population generated in memory, through the
    /// profiling features, against the generator's true default propensity.
    EvalPopulation {
        #[arg(long, default_value_t = 20_000)]
        customers: u64,
        #[arg(long, default_value_t = 12)]
        months: u32,
        #[command(flatten)]
        quality: QualityArgs,
    },
    /// Cross-validated quality on the 354 Berka loans, each applicant's pre-loan
    /// transactions profiled like any customer's.
    EvalBerka {
        #[arg(long, default_value = "../shared/data/berka")]
        berka: PathBuf,
        #[command(flatten)]
        quality: QualityArgs,
    },
    /// Decide a recorded quote or application again from its stored inputs and model
    /// version and compare with what was answered; exits 1 when anything differs.
    Replay {
        decision_id: String,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Approval rate, AUC and calibration by age band and sex, with disparate-impact ratios;
    /// protected attributes are never model inputs.
    Fairness(FairnessArgs),
}

#[derive(clap::Args)]
pub struct TrainPopulationArgs {
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Default: DATA_DIR/population/ground_truth.jsonl.
    #[arg(long)]
    truth: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "gbm")]
    model: ModelArg,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long)]
    json: bool,
}

/// The models and cross-validation of the profiled evaluations.
#[derive(clap::Args)]
pub struct QualityArgs {
    #[arg(long, value_enum, value_delimiter = ',', default_values = ["scorecard", "gbm"])]
    model: Vec<ModelArg>,
    #[arg(long, default_value_t = 5)]
    folds: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long)]
    json: bool,
}

impl QualityArgs {
    fn options(&self) -> ProfiledEvalOptions {
        ProfiledEvalOptions {
            models: self.model.iter().map(|&m| m.into()).collect(),
            folds: self.folds,
            seed: self.seed,
        }
    }
}

pub async fn run(command: CreditCommand, mut config: Config) -> anyhow::Result<i32> {
    match command {
        CreditCommand::Eval(args) => {
            let json = args.json;
            emit(&blocking(move || credit_file::eval(&args)).await?, json)?;
        }
        CreditCommand::Train(args) => {
            let json = args.json;
            emit(&blocking(move || credit_file::train(&args)).await?, json)?;
        }
        CreditCommand::TrainPopulation(args) => {
            config.data_dir = args.data_dir.unwrap_or(config.data_dir);
            let truth = args
                .truth
                .unwrap_or_else(|| config.data_dir.join("population").join(TRUTH_FILE));
            let store = open_store(&config).await?;
            let outcomes = Truth::read(&truth)?;
            let report = train_population(
                store.as_ref(),
                outcomes.labels(),
                args.model.into(),
                args.seed,
                &Actor::operator(),
            )
            .await?;
            emit(&report, args.json)?;
        }
        CreditCommand::EvalPopulation {
            customers,
            months,
            quality,
        } => {
            let options = quality.options();
            let result = blocking(move || eval_population(customers, months, &options)).await?;
            emit(&result, quality.json)?;
        }
        CreditCommand::EvalBerka { berka, quality } => {
            let options = quality.options();
            let result = blocking(move || eval_berka(&berka, &options)).await?;
            emit(&result, quality.json)?;
        }
        CreditCommand::Replay {
            decision_id,
            data_dir,
            json,
        } => {
            config.data_dir = data_dir.unwrap_or(config.data_dir);
            let store = open_store(&config).await?;
            let result = match replay(store.as_ref(), &decision_id).await {
                Err(ServiceError::NotFound) => {
                    anyhow::bail!("no credit decision {decision_id}")
                }
                other => other?,
            };
            emit(&result, json)?;
            if !result.identical {
                return Ok(1);
            }
        }
        CreditCommand::Fairness(args) => {
            let json = args.json;
            emit(&blocking(move || fairness(&args)).await?, json)?;
        }
    }
    Ok(0)
}

impl Report for PopulationTraining {
    fn print_table(&self) {
        let t = self;
        println!(
            "credit model {} ({}) trained on {} profiled customers ({} defaults, {} features)",
            t.model_version,
            t.kind.name(),
            t.customers,
            t.defaults,
            t.features
        );
        println!(
            "  {}-fold CV: AUC {:.4} +- {:.4}, KS {:.3}, Brier {:.4} (true propensity's AUC {:.4}); fit {:.2} s; active",
            t.cv_folds,
            t.cv_auc_mean,
            t.cv_auc_sd,
            t.cv_ks_mean,
            t.cv_brier_mean,
            t.true_propensity_auc,
            t.fit_seconds
        );
    }
}

impl Report for Replay {
    fn print_table(&self) {
        let r = self;
        println!("decision      {} ({})", r.decision_id, r.kind);
        println!("customer      {}", r.customer_id);
        println!("decided at    {}", r.decided_at);
        println!("model         {}", r.model_version);
        println!("policy        {}", r.policy_version);
        println!(
            "outcome       recorded {}, replayed {}",
            r.recorded_outcome, r.replayed_outcome
        );
        if r.identical {
            println!("replay        identical (every rule, reason, figure and schedule line)");
        } else {
            println!("replay        DIFFERS at {} place(s):", r.differences.len());
            for d in &r.differences {
                println!("  {d}");
            }
        }
    }
}
