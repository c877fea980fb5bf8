//! Embedding benchmark: training time, inference throughput and persona recovery on the
//! synthetic toy population, printed as a table. Not a test: numbers depend on the machine.
//!
//! ```text
//! cargo run --release -p sextant-models --example embedding_bench -- [rows] [epochs]
//! ```

#[path = "../tests/support/mod.rs"]
mod support;

use std::time::Instant;

use sextant_models::embedding::{EmbeddingConfig, EmbeddingModel};

const GROUPS: usize = 6;
const KMEANS_RESTARTS: usize = 5;
const INFERENCE_ROWS: usize = 100_000;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let rows: usize = args.next().map_or(Ok(20_000), |a| a.parse())?;
    let mut config = EmbeddingConfig::default();
    if let Some(epochs) = args.next() {
        config.epochs = epochs.parse()?;
    }
    let toy = support::population(rows, 7);
    let started = Instant::now();
    let (model, report) = EmbeddingModel::train(&toy.data, &config, 1)?;
    let train_s = started.elapsed().as_secs_f64();

    let held_out = support::population(INFERENCE_ROWS, 8);
    let started = Instant::now();
    let embeddings = model.embed(&held_out.data.features, &held_out.data.sequences)?;
    let per_s = INFERENCE_ROWS as f64 / started.elapsed().as_secs_f64();

    println!(
        "rows {rows}, inputs {} + {}",
        support::FEATURES,
        toy.data.sequences[0].len()
    );
    println!("training: {train_s:.1} s, {} epochs, final loss {:.4}, validation {:.4}, reconstruction {:.4}, adoption {:?}",
        report.epochs, report.final_loss, report.validation_loss, report.reconstruction_loss, report.adoption_loss);
    println!("inference: {per_s:.0} customers/s");

    // Clustering is scored on a fresh population the model never saw.
    let sample = 10_000.min(INFERENCE_ROWS);
    let truth = &held_out.group[..sample];
    let features = &held_out.data.features[..sample];
    let both: Vec<Vec<f32>> = features
        .iter()
        .zip(&held_out.data.sequences)
        .map(|(f, s)| f.iter().chain(s).copied().collect())
        .collect();
    println!("{:<36} {:>6} {:>6}", "representation", "ARI", "NMI");
    for (name, points) in [
        ("embedding", embeddings[..sample].to_vec()),
        ("standardised features", support::standardised(features)),
        (
            "standardised features + sequence",
            support::standardised(&both),
        ),
    ] {
        let labels = support::kmeans(&points, GROUPS, KMEANS_RESTARTS, 3);
        println!(
            "{name:<36} {:>6.3} {:>6.3}",
            support::adjusted_rand_index(&labels, truth),
            support::normalised_mutual_information(&labels, truth)
        );
    }
    Ok(())
}
