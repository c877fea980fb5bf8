//! The peer: implicit's ALS on the adoption matrix, its hyper-parameters chosen on a
//! validation pair per customer, run in a virtual environment by `implicit_als.py`.

use std::process::Command;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sextant_domain::ProductId;

use super::{AlsParams, AlsReport, AlsTrial, Case, Items, Member, IMPLICIT_VERSION};
use crate::python::venv_python;

const ALS_SCRIPT: &str = include_str!("implicit_als.py");

/// What the ALS script reads.
#[derive(Serialize)]
struct AlsRequest {
    users: usize,
    items: usize,
    k: usize,
    seed: u64,
    train: Vec<[usize; 2]>,
    validation: Vec<[usize; 2]>,
    evaluate: Vec<usize>,
}

/// What the ALS script prints.
#[derive(Deserialize)]
struct AlsAnswer {
    implicit_version: String,
    chosen: AlsParams,
    validation_ndcg: f64,
    validation_users: usize,
    grid: Vec<AlsTrial>,
    scores: Vec<Vec<f64>>,
    seconds: f64,
}

/// implicit's ALS on the adoption matrix: the report and every product's score for each case.
pub(super) fn als_scores(
    members: &[Member],
    cases: &[Case],
    items: &Items,
    k: usize,
    seed: u64,
    work: &std::path::Path,
) -> anyhow::Result<(AlsReport, Vec<Vec<f64>>)> {
    let pairs = |user: usize, products: &[ProductId]| {
        items
            .numbers(products)
            .into_iter()
            .map(move |item| [user, item])
    };
    let request = AlsRequest {
        users: members.len(),
        items: items.ids.len(),
        k,
        seed,
        train: members
            .iter()
            .enumerate()
            .flat_map(|(u, m)| pairs(u, &m.held))
            .collect(),
        validation: members
            .iter()
            .enumerate()
            .filter_map(|(u, m)| Some(pairs(u, std::slice::from_ref(m.validation.as_ref()?))))
            .flatten()
            .collect(),
        evaluate: cases.iter().map(|c| c.member).collect(),
    };
    let input = work.join("als-input.json");
    std::fs::write(&input, serde_json::to_vec(&request)?)?;
    let script = work.join("implicit_als.py");
    std::fs::write(&script, ALS_SCRIPT)?;
    let check = format!("import implicit; assert implicit.__version__ == '{IMPLICIT_VERSION}'");
    let python = venv_python(
        "sextant-bench-implicit-venv",
        &check,
        &[&format!("implicit=={IMPLICIT_VERSION}")],
    )
    .context("implicit's virtual environment (--no-peer skips ALS)")?;
    let output = Command::new(python)
        .arg(&script)
        .arg(&input)
        // implicit asks for single-threaded BLAS: its own threads parallelise the solves.
        .env("OPENBLAS_NUM_THREADS", "1")
        .env("MKL_NUM_THREADS", "1")
        .output()
        .context("running the ALS script")?;
    anyhow::ensure!(
        output.status.success(),
        "the ALS script failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let answer: AlsAnswer =
        serde_json::from_slice(&output.stdout).context("reading the ALS script's answer")?;
    anyhow::ensure!(
        answer.scores.len() == cases.len()
            && answer.scores.iter().all(|row| row.len() == items.ids.len()),
        "the ALS script returned {} score rows for {} customers",
        answer.scores.len(),
        cases.len()
    );
    let report = AlsReport {
        implicit_version: answer.implicit_version,
        chosen: answer.chosen,
        validation_ndcg_at_k: answer.validation_ndcg,
        validation_customers: answer.validation_users,
        grid: answer.grid,
        seconds: answer.seconds,
    };
    Ok((report, answer.scores))
}
