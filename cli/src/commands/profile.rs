//! `sextant profile` and `sextant train embeddings`: every consenting customer's profile,
//! risk level and (with a model) embedding and segment; the embedding model trained on the
//! stored population.

use std::path::PathBuf;

use sextant_api::config::Config;
use sextant_api::startup::open_context;
use sextant_models::embedding::EmbeddingConfig;
use sextant_services::pipeline::{Pipeline, TrainOutcome};
use sextant_services::readiness::Step;

use crate::progress;

#[derive(clap::Args)]
pub struct ProfileArgs {
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

pub async fn run(args: ProfileArgs, mut config: Config) -> anyhow::Result<i32> {
    config.data_dir = args.data_dir.unwrap_or(config.data_dir);
    let ctx = open_context(&config).await?;
    let bar = progress::bar(0, "profile {bar:40} {pos} customers {per_sec} {elapsed}");
    let (report, _) = ctx
        .pipeline
        .profile_all(chrono::Utc::now(), |n| bar.set_position(n))
        .await?;
    bar.finish_and_clear();
    println!(
        "profiled {} of {} customers ({} without profiling consent skipped), {} risk assessments recorded, {} embedded, in {:.1}s",
        report.profiled, report.customers, report.skipped_no_consent, report.assessments_recorded, report.embedded, report.seconds
    );
    Ok(0)
}

#[derive(clap::Subcommand)]
pub enum TrainCommand {
    /// Train the customer embedding model on the stored profiles, embed everyone into the
    /// vector store and derive segments.
    Embeddings {
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long, default_value_t = 32)]
        dim: usize,
        #[arg(long)]
        epochs: Option<usize>,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
}

pub async fn train(command: TrainCommand, mut config: Config) -> anyhow::Result<i32> {
    let TrainCommand::Embeddings {
        data_dir,
        dim,
        epochs,
        seed,
    } = command;
    config.data_dir = data_dir.unwrap_or(config.data_dir);
    config.embedding_dim = dim;
    let ctx = open_context(&config).await?;
    let mut model_config = EmbeddingConfig {
        dim,
        seed,
        ..EmbeddingConfig::default()
    };
    if let Some(epochs) = epochs {
        model_config.epochs = epochs;
    }
    let outcome = train_with_progress(&ctx.pipeline, &model_config, None).await?;
    print_training(&outcome);
    Ok(0)
}

/// Trains the embedding model, then profiles, embeds and segments everyone, with progress.
pub async fn train_with_progress(
    pipeline: &Pipeline,
    config: &EmbeddingConfig,
    step: Option<(&Step, u64)>,
) -> anyhow::Result<TrainOutcome> {
    let bar = progress::bar(0, "{msg:10} {pos} customers {elapsed}");
    let now = chrono::Utc::now();
    let outcome = pipeline
        .train(config, now, |stage, n| {
            bar.set_message(stage.to_owned());
            bar.set_position(n);
            // The embedding stage counts customers, up to all of them.
            if let Some((step, customers)) = step {
                let total = (stage == "embedding").then_some(customers);
                step.stage_progress(stage, n, total);
            }
        })
        .await?;
    bar.finish_and_clear();
    Ok(outcome)
}

pub fn print_training(outcome: &TrainOutcome) {
    let p = &outcome.profiling;
    println!(
        "profiled {} customers ({} without profiling consent), {} risk assessments recorded",
        p.profiled, p.skipped_no_consent, p.assessments_recorded
    );
    let r = &outcome.report;
    println!(
        "trained {} on {} customers: {} epochs, validation loss {:.4}, {:.1}s",
        outcome.model, r.rows, r.epochs, r.validation_loss, r.seconds
    );
    println!(
        "{} customers embedded; {} segments:",
        outcome.customers,
        outcome.segments.len()
    );
    for s in &outcome.segments {
        println!(
            "  {:>2} {:<28} {:>7} customers  {}",
            s.id, s.name, s.size, s.description
        );
    }
}
