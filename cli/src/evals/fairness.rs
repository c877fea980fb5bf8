//! `sextant credit fairness`: approval rate, AUC and calibration by protected group, with the
//! disparate-impact ratio (a group's approval rate over the most-approved group's; under 0.8
//! fails the "four-fifths" rule of thumb of US enforcement practice).
//!
//! Protected attributes are never model inputs: on a file, the `--age` and `--sex` columns
//! are removed from the table before any model sees it and only used to group the
//! out-of-fold results; on the synthetic population, the decision model's credit features
//! exclude age by construction (`sextant_lending::NOT_CREDIT_FEATURES`).
//!
//! Approval on a file is "out-of-fold PD below the cut-off" (the policy's last band by
//! default). On the population it is the full decision: for each fold the model is fitted on
//! the other folds and every held-out customer is decided by the real policy (rules,
//! affordability, bands) for the same instalment request.

use std::collections::BTreeMap;
use std::path::PathBuf;

use anyhow::Context;
use serde::Serialize;
use sextant_lending::{CreditPolicy, CreditRequest, Lender, Outcome};
use sextant_models::credit::{
    cross_validate, CreditModel, CreditModelKind, FitOptions, TrainingInfo,
};
use sextant_models::evaluation::{roc_auc, stratified_kfold};
use sextant_models::tabular::ColumnData;
use sextant_services::lending::decide_with;
use sextant_services::lending::operations::credit_table;

use crate::evals::credit_file::{read_data, DataArgs, ModelArg};
use crate::evals::credit_population::population_rows;
use crate::output::Report;

/// Below this disparate-impact ratio a group is flagged.
pub const FOUR_FIFTHS: f64 = 0.8;
/// Groups smaller than this are reported but not flagged: their rates are noise.
pub const MIN_FLAG_ROWS: usize = 30;

#[derive(Debug, Clone, clap::Args)]
pub struct FairnessArgs {
    /// A data file (e.g. the German or Taiwan credit data); without it, a synthetic
    /// population is generated, profiled and decided by the real policy.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The target column of `--data`.
    #[arg(long, requires = "data")]
    pub target: Option<String>,
    #[arg(long, requires = "data")]
    pub positive: Option<String>,
    #[arg(long, requires = "data")]
    pub delimiter: Option<String>,
    #[arg(long, requires = "data")]
    pub no_header: bool,
    #[arg(long, value_delimiter = ',', requires = "data")]
    pub drop: Vec<String>,
    /// The age column (years) of `--data`: grouped into bands, never a model input.
    #[arg(long, requires = "data")]
    pub age: Option<String>,
    /// The sex column of `--data`: grouped by value, never a model input.
    #[arg(long, requires = "data")]
    pub sex: Option<String>,
    /// Names for the sex column's codes, e.g. `1=male,2=female`.
    #[arg(long, value_delimiter = ',', requires = "sex")]
    pub sex_labels: Vec<String>,
    /// Approve below this probability of default (files; default: the policy's last cut-off).
    #[arg(long)]
    pub cutoff: Option<f64>,
    /// Synthetic population size (without `--data`).
    #[arg(long, default_value_t = 20_000)]
    pub customers: u64,
    #[arg(long, default_value_t = 12)]
    pub months: u32,
    /// Instalment asked for by every customer of the population, in minor units.
    #[arg(long, default_value_t = 60_000)]
    pub amount_minor: i64,
    #[arg(long, value_enum, default_value = "gbm")]
    pub model: ModelArg,
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Serialize)]
pub struct GroupFigures {
    /// `age band` or `sex`.
    pub attribute: String,
    pub group: String,
    pub rows: usize,
    pub bad_rate: f64,
    pub approval_rate: f64,
    /// Approval rate over the most-approved group's of the same attribute.
    pub disparate_impact: f64,
    /// AUC within the group (none when it holds one class only).
    pub auc: Option<f64>,
    pub mean_pd: f64,
    /// Mean PD minus the observed bad rate: above zero, the model overstates the group's risk.
    pub calibration_gap: f64,
    /// Disparate impact under 0.8 in a group of at least 30 rows.
    pub flagged: bool,
    /// The most frequent decline reasons in the group (population: the full decision), so a
    /// reviewer sees whether affordability or the score drives a gap.
    pub top_decline_reasons: Vec<(String, usize)>,
}

#[derive(Debug, Serialize)]
pub struct FairnessReport {
    pub data: String,
    pub rows: usize,
    pub model: String,
    pub folds: usize,
    pub seed: u64,
    /// Columns kept out of the model and used only for grouping.
    pub protected_attributes_excluded: Vec<String>,
    pub model_features: usize,
    pub approval_rule: String,
    pub auc: f64,
    pub approval_rate: f64,
    pub groups: Vec<GroupFigures>,
}

pub fn age_band(age: f64) -> String {
    match age {
        a if !a.is_finite() => "unknown",
        a if a < 25.0 => "18-24",
        a if a < 35.0 => "25-34",
        a if a < 45.0 => "35-44",
        a if a < 55.0 => "45-54",
        a if a < 65.0 => "55-64",
        _ => "65+",
    }
    .to_owned()
}

/// Figures per group of one attribute.
fn groups(
    attribute: &str,
    labels: &[String],
    y: &[bool],
    pd: &[f64],
    approved: &[bool],
    reasons: &[Vec<String>],
) -> Vec<GroupFigures> {
    let mut members: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, label) in labels.iter().enumerate() {
        members.entry(label.as_str()).or_default().push(i);
    }
    let mut figures: Vec<GroupFigures> = members
        .into_iter()
        .map(|(group, rows)| {
            let n = rows.len() as f64;
            let gy: Vec<bool> = rows.iter().map(|&i| y[i]).collect();
            let gp: Vec<f64> = rows.iter().map(|&i| pd[i]).collect();
            let bad = gy.iter().filter(|&&b| b).count();
            let bad_rate = bad as f64 / n;
            let mean_pd = gp.iter().sum::<f64>() / n;
            GroupFigures {
                attribute: attribute.to_owned(),
                group: group.to_owned(),
                rows: rows.len(),
                bad_rate,
                approval_rate: rows.iter().filter(|&&i| approved[i]).count() as f64 / n,
                disparate_impact: f64::NAN,
                auc: (bad > 0 && bad < rows.len()).then(|| roc_auc(&gp, &gy)),
                mean_pd,
                calibration_gap: mean_pd - bad_rate,
                flagged: false,
                top_decline_reasons: top_reasons(rows.iter().filter_map(|&i| reasons.get(i))),
            }
        })
        .collect();
    let best = figures
        .iter()
        .map(|g| g.approval_rate)
        .fold(0.0_f64, f64::max);
    for g in &mut figures {
        g.disparate_impact = if best > 0.0 {
            g.approval_rate / best
        } else {
            1.0
        };
        g.flagged = g.disparate_impact < FOUR_FIFTHS && g.rows >= MIN_FLAG_ROWS;
    }
    figures
}

fn top_reasons<'a>(lists: impl Iterator<Item = &'a Vec<String>>) -> Vec<(String, usize)> {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for list in lists {
        for code in list {
            *counts.entry(code.as_str()).or_default() += 1;
        }
    }
    let mut top: Vec<(String, usize)> =
        counts.into_iter().map(|(c, n)| (c.to_owned(), n)).collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(3);
    top
}

pub fn fairness(args: &FairnessArgs) -> anyhow::Result<FairnessReport> {
    match &args.data {
        Some(path) => file_fairness(args, path.clone()),
        None => population_fairness(args),
    }
}

fn file_fairness(args: &FairnessArgs, path: PathBuf) -> anyhow::Result<FairnessReport> {
    anyhow::ensure!(
        args.age.is_some() || args.sex.is_some(),
        "name the protected columns to group by: --age and/or --sex"
    );
    let data_args = DataArgs {
        data: path.clone(),
        target: args.target.clone().context("--data needs --target")?,
        positive: args.positive.clone(),
        delimiter: args.delimiter.clone(),
        no_header: args.no_header,
        drop: args.drop.clone(),
        categorical: Vec::new(),
        numeric: Vec::new(),
    };
    let mut data = read_data(&data_args)?;
    let mut take = |name: &str| -> anyhow::Result<Vec<String>> {
        let at = data
            .table
            .columns
            .iter()
            .position(|c| c.name == name)
            .with_context(|| format!("{}: no column `{name}`", path.display()))?;
        let column = data.table.columns.remove(at);
        Ok(match column.data {
            ColumnData::Numeric(values) => values.iter().map(|v| format!("{v}")).collect(),
            ColumnData::Categorical(values) => values
                .into_iter()
                .map(|v| v.unwrap_or_else(|| "unknown".into()))
                .collect(),
        })
    };
    let mut excluded = Vec::new();
    let ages = match &args.age {
        Some(name) => {
            excluded.push(name.clone());
            Some(
                take(name)?
                    .iter()
                    .map(|v| age_band(v.parse().unwrap_or(f64::NAN)))
                    .collect::<Vec<_>>(),
            )
        }
        None => None,
    };
    let sexes = match &args.sex {
        Some(name) => {
            excluded.push(name.clone());
            let labels: BTreeMap<String, String> = args
                .sex_labels
                .iter()
                .map(|pair| {
                    pair.split_once('=')
                        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                        .with_context(|| format!("--sex-labels: `{pair}` is not CODE=NAME"))
                })
                .collect::<anyhow::Result<_>>()?;
            Some(
                take(name)?
                    .into_iter()
                    .map(|v| labels.get(&v).cloned().unwrap_or(v))
                    .collect::<Vec<_>>(),
            )
        }
        None => None,
    };
    let kind = CreditModelKind::from(args.model);
    let report = cross_validate(
        &data.table,
        &data.y,
        &FitOptions::new(kind, args.seed),
        args.folds,
        args.seed,
    )?;
    let cutoff = args.cutoff.unwrap_or_else(policy_cutoff);
    let pd = report.out_of_fold;
    let approved: Vec<bool> = pd.iter().map(|&p| p < cutoff).collect();
    let mut all = Vec::new();
    if let Some(ages) = ages {
        all.extend(groups("age band", &ages, &data.y, &pd, &approved, &[]));
    }
    if let Some(sexes) = sexes {
        all.extend(groups("sex", &sexes, &data.y, &pd, &approved, &[]));
    }
    Ok(FairnessReport {
        data: path.display().to_string(),
        rows: data.y.len(),
        model: kind.name().to_owned(),
        folds: args.folds,
        seed: args.seed,
        protected_attributes_excluded: excluded,
        model_features: data.table.columns.len(),
        approval_rule: format!("out-of-fold probability of default below {cutoff}"),
        auc: roc_auc(&pd, &data.y),
        approval_rate: approved.iter().filter(|&&a| a).count() as f64 / approved.len() as f64,
        groups: all,
    })
}

/// The PD at and above which the default policy declines.
fn policy_cutoff() -> f64 {
    CreditPolicy::default()
        .bands
        .last()
        .map_or(0.5, |band| band.max_pd)
}

fn population_fairness(args: &FairnessArgs) -> anyhow::Result<FairnessReport> {
    eprintln!(
        "generating and profiling {} customers x {} months",
        args.customers, args.months
    );
    let rows = population_rows(args.customers, args.months, args.seed)?;
    let features: Vec<Vec<f64>> = rows.iter().map(|r| r.features.clone()).collect();
    let y: Vec<bool> = rows.iter().map(|r| r.defaulted).collect();
    let table = credit_table(&features);
    let kind = CreditModelKind::from(args.model);
    let policy = CreditPolicy::default();
    let as_of = sextant_synth::Config::DEFAULT_END_DATE;
    let mut pd = vec![f64::NAN; rows.len()];
    let mut approved = vec![false; rows.len()];
    let mut reasons: Vec<Vec<String>> = vec![Vec::new(); rows.len()];
    for (fold, (train, test)) in stratified_kfold(&y, args.folds, args.seed)
        .into_iter()
        .enumerate()
    {
        eprintln!(
            "fold {}: fitting the {} and deciding {} customers",
            fold + 1,
            kind.name(),
            test.len()
        );
        let train_y: Vec<bool> = train.iter().map(|&i| y[i]).collect();
        let info = TrainingInfo {
            source: format!("synthetic population, fold {}", fold + 1),
            data_sha256: String::new(),
            trained_at: String::new(),
            target: "defaulted_next_12m".into(),
            positive_label: "true".into(),
        };
        let model = CreditModel::fit(
            &table.select_rows(&train),
            &train_y,
            &FitOptions::new(kind, args.seed),
            info,
        )?;
        let lending = Lender::new(model, policy.clone())?;
        for &i in &test {
            let row = &rows[i];
            let inputs = lending.inputs(
                &row.customer,
                &row.features,
                chrono::Utc::now(),
                CreditRequest::Instalment {
                    amount_minor: args.amount_minor,
                    merchant: "m-fairness".into(),
                },
                as_of,
            );
            let decision =
                decide_with(&lending.model, &inputs).map_err(|e| anyhow::anyhow!("{e}"))?;
            pd[i] = decision.pd;
            approved[i] = decision.outcome == Outcome::Approved;
            reasons[i] = decision.reasons.iter().map(|r| r.code.clone()).collect();
        }
    }
    let ages: Vec<String> = rows
        .iter()
        .map(|r| age_band(f64::from(r.age_years)))
        .collect();
    Ok(FairnessReport {
        data: format!(
            "synthetic population, {} customers x {} months, seed {}",
            args.customers, args.months, args.seed
        ),
        rows: rows.len(),
        model: kind.name().to_owned(),
        folds: args.folds,
        seed: args.seed,
        protected_attributes_excluded: vec!["age_years".into()],
        model_features: table.columns.len(),
        approval_rule: format!(
            "the full decision (policy {}) on an instalment of {:.2} EUR, model fitted without the customer's fold",
            policy.version,
            args.amount_minor as f64 / 100.0
        ),
        auc: roc_auc(&pd, &y),
        approval_rate: approved.iter().filter(|&&a| a).count() as f64 / approved.len() as f64,
        groups: groups("age band", &ages, &y, &pd, &approved, &reasons),
    })
}

impl Report for FairnessReport {
    fn print_table(&self) {
        let r = self;
        println!(
            "{}: {} rows, {} ({} features), {}-fold out-of-fold, seed {}",
            r.data, r.rows, r.model, r.model_features, r.folds, r.seed
        );
        println!(
            "protected attributes kept out of the model: {}",
            r.protected_attributes_excluded.join(", ")
        );
        println!("approval: {}", r.approval_rule);
        println!(
            "overall: AUC {:.4}, approval rate {:.1}%",
            r.auc,
            100.0 * r.approval_rate
        );
        println!();
        println!(
            "{:<9} {:<14} {:>7} {:>9} {:>10} {:>10} {:>7} {:>9} {:>8}",
            "attribute",
            "group",
            "rows",
            "bad rate",
            "approved",
            "DI ratio",
            "AUC",
            "mean PD",
            "PD-bad"
        );
        for g in &r.groups {
            println!(
                "{:<9} {:<14} {:>7} {:>8.1}% {:>9.1}% {:>10.3} {:>7} {:>9.4} {:>+8.4}{}",
                g.attribute,
                g.group,
                g.rows,
                100.0 * g.bad_rate,
                100.0 * g.approval_rate,
                g.disparate_impact,
                g.auc.map_or("-".to_owned(), |a| format!("{a:.3}")),
                g.mean_pd,
                g.calibration_gap,
                if g.flagged { "  < 0.8: review" } else { "" }
            );
            if !g.top_decline_reasons.is_empty() {
                let top: Vec<String> = g
                    .top_decline_reasons
                    .iter()
                    .map(|(c, n)| format!("{c} {n}"))
                    .collect();
                println!("{:<24} declines: {}", "", top.join(", "));
            }
        }
    }
}
