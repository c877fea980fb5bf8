//! A credit scorecard: monotone weight-of-evidence binning, logistic regression on the WoE
//! values, and points scaled so that a fixed number of points doubles the odds.
//!
//! Binning (in the spirit of OptBinning, with greedy merges instead of an exact solver):
//! - numeric features start from up to [`PRE_BINS`] quantile bins; adjacent bins are pooled
//!   until the bad rate is strictly monotone (increasing or decreasing, whichever keeps more
//!   information value), every bin holds at least `min_bin_fraction` of the rows, and there
//!   are at most `max_bins` bins. Missing values get their own bin when frequent enough, and
//!   otherwise join the bin with the nearest bad rate;
//! - categorical features pool rare categories (and a rare missing value) into "other", then
//!   order the categories by bad rate and pool neighbours under the same limits.
//!
//! WoE is `ln(share of goods / share of bads)` with 0.5 added to every count, so it is
//! positive for safer-than-average bins. Features below `min_iv` information value are left
//! out. Values not seen in training (a new category, or a missing value where training had
//! none) score in a neutral bin of WoE 0 unless an "other" or missing bin exists.
//!
//! Points: `score = offset + factor * ln(odds good:bad)` with `factor = pdo / ln 2` and
//! `offset = base_score - factor * ln(base_odds)`, split over features as
//! `points = -(coefficient * woe + intercept / n) * factor + offset / n`, so the points of a
//! row's bins add up to its score.

use std::collections::BTreeMap;

use ndarray::ArrayView2;

use crate::linear::LogisticRegression;
use crate::matrix::from_fn_rows;
use crate::tabular::{Column, ColumnData, Table};
use crate::ModelError;

/// Quantile bins a numeric feature starts from.
pub const PRE_BINS: usize = 20;
/// Most bins a feature may be asked for: more than the pre-bins cannot happen anyway.
const MAX_BINS_LIMIT: usize = PRE_BINS;
/// Added to every good and bad count so an all-good or all-bad bin has a finite WoE.
const SMOOTHING: f64 = 0.5;
/// Categories named in a bin label before the rest are counted instead.
const LABEL_CATEGORIES: usize = 6;

/// Limits of the binning.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BinningConfig {
    /// Most bins per feature (the missing bin not counted), 2..=20.
    pub max_bins: usize,
    /// Least share of the training rows in a bin, in (0, 0.5].
    pub min_bin_fraction: f64,
    /// Features with less information value are left out.
    pub min_iv: f64,
}

impl Default for BinningConfig {
    fn default() -> Self {
        BinningConfig {
            max_bins: 8,
            min_bin_fraction: 0.05,
            min_iv: 0.02,
        }
    }
}

/// Binning, regularisation and points scaling.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ScorecardConfig {
    pub binning: BinningConfig,
    /// L2 penalty of the logistic regression, on the mean-loss scale.
    pub l2: f64,
    /// Points that double the odds of good.
    pub pdo: f64,
    /// Score of a row whose odds of good to bad are `base_odds`.
    pub base_score: f64,
    pub base_odds: f64,
}

impl Default for ScorecardConfig {
    fn default() -> Self {
        ScorecardConfig {
            binning: BinningConfig::default(),
            l2: 1e-3,
            pdo: 20.0,
            base_score: 600.0,
            base_odds: 50.0,
        }
    }
}

/// One bin of a feature, with its training counts.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Bin {
    pub label: String,
    pub count: usize,
    pub bads: usize,
    pub woe: f64,
    pub points: f64,
}

/// Which bin a value falls in.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum BinRule {
    /// Bin `k` holds values `<= splits[k]` (and above the previous split); the last value
    /// bin, index `splits.len()`, is unbounded above.
    Numeric {
        splits: Vec<f64>,
        missing_bin: usize,
    },
    /// Known categories map to their bin; others (unseen) to `other_bin`.
    Categorical {
        categories: BTreeMap<String, usize>,
        missing_bin: usize,
        other_bin: usize,
    },
}

/// One feature of the card.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FeatureCard {
    pub feature: String,
    /// Information value on the training rows.
    pub iv: f64,
    pub bins: Vec<Bin>,
    /// Logistic coefficient on the WoE (negative when the WoE ranks risk as expected).
    pub coefficient: f64,
    pub rule: BinRule,
}

/// A fitted scorecard.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Scorecard {
    cards: Vec<FeatureCard>,
    model: LogisticRegression,
    config: ScorecardConfig,
    fitted_l2: f64,
}

/// What one feature did to a row's score.
#[derive(Debug, Clone, PartialEq)]
pub struct Contribution {
    pub feature: String,
    pub bin: String,
    pub points: f64,
    /// Points below the best bin of the feature: how much this factor cost.
    pub shortfall: f64,
    /// This feature's term in the log-odds of bad (`coefficient * woe`, no intercept).
    pub log_odds: f64,
}

impl Scorecard {
    /// Bins every column of `table` on these rows, keeps features with enough information
    /// value and fits the logistic regression on their WoE values. `y` is true for bad.
    pub fn fit(table: &Table, y: &[bool], config: &ScorecardConfig) -> Result<Self, ModelError> {
        validate(table, y, config)?;
        let binned: Vec<(FeatureCard, Vec<usize>)> = table
            .columns
            .iter()
            .map(|column| fit_feature(column, y, &config.binning))
            .filter(|(card, _)| card.iv >= config.binning.min_iv)
            .collect();
        if binned.is_empty() {
            return Err(ModelError::InvalidConfig {
                field: "binning.min_iv",
                reason: "leaves no feature",
            });
        }
        let x = from_fn_rows(y.len(), binned.len(), |row, woes| {
            for (woe, (card, bins)) in woes.iter_mut().zip(&binned) {
                *woe = card.bins[bins[row]].woe;
            }
        });
        let (model, fitted_l2) = fit_logistic(x.view(), y, config.l2)?;
        let (factor, offset) = scaling(config);
        let n = binned.len() as f64;
        let cards = binned
            .into_iter()
            .zip(&model.weights)
            .map(|((mut card, _), &coefficient)| {
                card.coefficient = coefficient;
                for bin in &mut card.bins {
                    bin.points =
                        -(coefficient * bin.woe + model.intercept / n) * factor + offset / n;
                }
                card
            })
            .collect();
        Ok(Scorecard {
            cards,
            model,
            config: config.clone(),
            fitted_l2,
        })
    }

    /// Probability that the row is bad.
    ///
    /// # Panics
    /// If `table` lacks a feature column or `row` is out of range.
    pub fn predict_proba(&self, table: &Table, row: usize) -> f64 {
        let woes: Vec<f64> = self
            .cards
            .iter()
            .map(|card| card.bins[bin_of(card, table, row)].woe)
            .collect();
        self.model.predict_proba(&woes)
    }

    /// The row's score in points and what each feature contributed (in card order); the
    /// contributions' points add up to the score.
    ///
    /// # Panics
    /// If `table` lacks a feature column or `row` is out of range.
    pub fn score(&self, table: &Table, row: usize) -> (f64, Vec<Contribution>) {
        let contributions: Vec<Contribution> = self
            .cards
            .iter()
            .map(|card| {
                let bin = &card.bins[bin_of(card, table, row)];
                let best = card
                    .bins
                    .iter()
                    .filter(|b| b.count > 0)
                    .map(|b| b.points)
                    .fold(f64::NEG_INFINITY, f64::max);
                Contribution {
                    feature: card.feature.clone(),
                    bin: bin.label.clone(),
                    points: bin.points,
                    shortfall: (best - bin.points).max(0.0),
                    log_odds: card.coefficient * bin.woe,
                }
            })
            .collect();
        (contributions.iter().map(|c| c.points).sum(), contributions)
    }

    /// The features kept, in table column order.
    pub fn features(&self) -> &[FeatureCard] {
        &self.cards
    }

    /// Why this card (read from a file) cannot score safely, if it cannot: a bin index out
    /// of range, unsorted splits, a coefficient or WoE that is not finite.
    pub fn check(&self) -> Result<(), String> {
        if self.model.weights.len() != self.cards.len() || !self.model.intercept.is_finite() {
            return Err("scorecard regression does not match its features".into());
        }
        for card in &self.cards {
            let bins = card.bins.len();
            let in_range = match &card.rule {
                BinRule::Numeric {
                    splits,
                    missing_bin,
                } => {
                    splits.len() < bins
                        && *missing_bin < bins
                        && splits.windows(2).all(|w| w[0] < w[1])
                }
                BinRule::Categorical {
                    categories,
                    missing_bin,
                    other_bin,
                } => {
                    *missing_bin < bins
                        && *other_bin < bins
                        && categories.values().all(|&bin| bin < bins)
                }
            };
            let finite = card.coefficient.is_finite()
                && card
                    .bins
                    .iter()
                    .all(|b| b.woe.is_finite() && b.points.is_finite());
            if !in_range || !finite {
                return Err(format!("scorecard feature {:?} is malformed", card.feature));
            }
        }
        Ok(())
    }

    /// The intercept of the logistic regression: the log-odds of bad of a row whose every
    /// feature sits at WoE 0 (the training population's own odds).
    pub fn intercept(&self) -> f64 {
        self.model.intercept
    }

    /// The configuration it was fitted with.
    pub fn config(&self) -> &ScorecardConfig {
        &self.config
    }

    /// The L2 penalty the regression was actually fitted with: `config().l2`, or larger when
    /// the fit had to fall back (see [`fit_logistic`]).
    pub fn fitted_l2(&self) -> f64 {
        self.fitted_l2
    }
}

/// Penalties tried after the configured one when the regression reports no convergence.
const L2_FALLBACKS: [f64; 3] = [1e-2, 3e-2, 1e-1];

/// Fits the regression on the WoE values, returning it and the L2 penalty used.
///
/// A fit that does not converge (nearly separable WoE values at a tiny penalty) is retried
/// with a larger penalty: a WoE coefficient is about 1, so 1e-2 shrinks it by about 1%.
fn fit_logistic(
    x: ArrayView2<f64>,
    y: &[bool],
    l2: f64,
) -> Result<(LogisticRegression, f64), ModelError> {
    let mut result = LogisticRegression::fit(x, y, l2).map(|model| (model, l2));
    for fallback in L2_FALLBACKS.into_iter().filter(|&f| f > l2) {
        match result {
            Err(ModelError::NotConverged { .. }) => {
                result = LogisticRegression::fit(x, y, fallback).map(|model| (model, fallback));
            }
            _ => break,
        }
    }
    result
}

/// `(factor, offset)` of the points scale.
fn scaling(config: &ScorecardConfig) -> (f64, f64) {
    let factor = config.pdo / std::f64::consts::LN_2;
    (factor, config.base_score - factor * config.base_odds.ln())
}

fn validate(table: &Table, y: &[bool], config: &ScorecardConfig) -> Result<(), ModelError> {
    let binning = &config.binning;
    let checks: [(bool, &'static str, &'static str); 7] = [
        (
            (2..=MAX_BINS_LIMIT).contains(&binning.max_bins),
            "binning.max_bins",
            "must be in 2..=20",
        ),
        (
            binning.min_bin_fraction > 0.0 && binning.min_bin_fraction <= 0.5,
            "binning.min_bin_fraction",
            "must be in (0, 0.5]",
        ),
        (
            binning.min_iv >= 0.0 && binning.min_iv.is_finite(),
            "binning.min_iv",
            "must be a finite number >= 0",
        ),
        (
            config.l2 >= 0.0 && config.l2.is_finite(),
            "l2",
            "must be a finite number >= 0",
        ),
        (
            config.pdo > 0.0 && config.pdo.is_finite(),
            "pdo",
            "must be a finite number > 0",
        ),
        (
            config.base_odds > 0.0 && config.base_odds.is_finite(),
            "base_odds",
            "must be a finite number > 0",
        ),
        (
            config.base_score.is_finite(),
            "base_score",
            "must be finite",
        ),
    ];
    if let Some(&(_, field, reason)) = checks.iter().find(|check| !check.0) {
        return Err(ModelError::InvalidConfig { field, reason });
    }
    if table.n_rows() == 0 || table.columns.is_empty() {
        return Err(ModelError::EmptyData("fit a scorecard"));
    }
    if y.len() != table.n_rows() {
        return Err(ModelError::RowCountMismatch {
            what: "labels",
            expected: table.n_rows(),
            found: y.len(),
        });
    }
    if y.iter().all(|&v| v) || y.iter().all(|&v| !v) {
        return Err(ModelError::SingleClass);
    }
    Ok(())
}

/// Rows and bads of a run of values or categories.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Tally {
    count: usize,
    bads: usize,
}

impl Tally {
    fn add(self, other: Tally) -> Tally {
        Tally {
            count: self.count + other.count,
            bads: self.bads + other.bads,
        }
    }

    fn rate(self) -> f64 {
        self.bads as f64 / self.count as f64
    }

    /// `self.rate() < other.rate()`, exactly (no division).
    fn safer_than(self, other: Tally) -> bool {
        (self.bads as u128) * (other.count as u128) < (other.bads as u128) * (self.count as u128)
    }
}

/// WoE and IV of tallies against the totals.
fn woe_iv(tallies: &[Tally], total: Tally) -> (Vec<f64>, f64) {
    let k = tallies.len() as f64;
    let goods = (total.count - total.bads) as f64 + SMOOTHING * k;
    let bads = total.bads as f64 + SMOOTHING * k;
    let mut iv = 0.0;
    let woes = tallies
        .iter()
        .map(|t| {
            let good_share = ((t.count - t.bads) as f64 + SMOOTHING) / goods;
            let bad_share = (t.bads as f64 + SMOOTHING) / bads;
            let woe = (good_share / bad_share).ln();
            iv += (good_share - bad_share) * woe;
            woe
        })
        .collect();
    (woes, iv)
}

/// Pools an ordered run of cells into contiguous blocks, returned as the index ranges
/// `[start, end)`: bad rate strictly increasing (or decreasing) across blocks, every block
/// at least `min_count` rows (unless there is only one), at most `max_bins` blocks.
fn merge_monotone(
    cells: &[Tally],
    increasing: bool,
    min_count: usize,
    max_bins: usize,
) -> Vec<(usize, usize, Tally)> {
    let in_order = |a: Tally, b: Tally| {
        if increasing {
            a.safer_than(b)
        } else {
            b.safer_than(a)
        }
    };
    // Pool adjacent violators: each block is merged back until it is in order with the one
    // before, so the result is monotone whatever the input.
    let mut blocks: Vec<(usize, usize, Tally)> = Vec::new();
    for (index, &cell) in cells.iter().enumerate() {
        if cell.count == 0 {
            continue;
        }
        blocks.push((index, index + 1, cell));
        while blocks.len() >= 2 {
            let last = blocks[blocks.len() - 1];
            let previous = blocks[blocks.len() - 2];
            if in_order(previous.2, last.2) {
                break;
            }
            blocks.pop();
            *blocks.last_mut().expect("two blocks") = (previous.0, last.1, previous.2.add(last.2));
        }
    }
    // Pooling neighbours of a monotone run keeps it monotone: the pooled rate lies between
    // the two, so it stays between their outer neighbours.
    let merge = |blocks: &mut Vec<(usize, usize, Tally)>, left: usize| {
        let right = blocks.remove(left + 1);
        let block = &mut blocks[left];
        *block = (block.0, right.1, block.2.add(right.2));
    };
    while blocks.len() > 1 {
        let (smallest, block) = blocks
            .iter()
            .enumerate()
            .min_by_key(|(_, b)| b.2.count)
            .map(|(i, b)| (i, *b))
            .expect("blocks");
        if block.2.count >= min_count {
            break;
        }
        let left = if smallest == 0 {
            0
        } else if smallest == blocks.len() - 1 {
            smallest - 1
        } else {
            let before = (blocks[smallest - 1].2.rate() - block.2.rate()).abs();
            let after = (blocks[smallest + 1].2.rate() - block.2.rate()).abs();
            if before <= after {
                smallest - 1
            } else {
                smallest
            }
        };
        merge(&mut blocks, left);
    }
    let total = blocks.iter().fold(Tally::default(), |t, b| t.add(b.2));
    while blocks.len() > max_bins {
        // Pool the neighbours whose merge loses the least information value.
        let tallies: Vec<Tally> = blocks.iter().map(|b| b.2).collect();
        let left = (0..blocks.len() - 1)
            .map(|i| {
                let mut merged = tallies.clone();
                merged[i] = merged[i].add(merged.remove(i + 1));
                (i, woe_iv(&merged, total).1)
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("two blocks")
            .0;
        merge(&mut blocks, left);
    }
    blocks
}

/// Fits the binning of one column: the card (coefficient and points still zero) and the
/// bin of every training row.
fn fit_feature(column: &Column, y: &[bool], config: &BinningConfig) -> (FeatureCard, Vec<usize>) {
    let min_count = ((config.min_bin_fraction * y.len() as f64).ceil() as usize).max(1);
    let (rule, labels) = match &column.data {
        ColumnData::Numeric(values) => numeric_rule(values, y, config, min_count),
        ColumnData::Categorical(values) => categorical_rule(values, y, config, min_count),
    };
    let mut card = FeatureCard {
        feature: column.name.clone(),
        iv: 0.0,
        bins: Vec::new(),
        coefficient: 0.0,
        rule,
    };
    let rows: Vec<usize> = (0..y.len())
        .map(|row| bin_of_column(&card.rule, column, row))
        .collect();
    let mut tallies = vec![Tally::default(); labels.len()];
    for (&bin, &bad) in rows.iter().zip(y) {
        tallies[bin] = tallies[bin].add(Tally {
            count: 1,
            bads: usize::from(bad),
        });
    }
    let filled: Vec<Tally> = tallies.iter().copied().filter(|t| t.count > 0).collect();
    let total = filled.iter().fold(Tally::default(), |t, b| t.add(*b));
    let (woes, iv) = woe_iv(&filled, total);
    let mut filled_woes = woes.into_iter();
    card.iv = iv;
    card.bins = labels
        .into_iter()
        .zip(&tallies)
        .map(|(label, tally)| Bin {
            label,
            count: tally.count,
            bads: tally.bads,
            // An empty (fallback) bin is neutral: the population's own odds.
            woe: if tally.count > 0 {
                filled_woes.next().expect("one WoE per filled bin")
            } else {
                0.0
            },
            points: 0.0,
        })
        .collect();
    (card, rows)
}

/// Numeric binning: quantile pre-bins, monotone pooling, then the missing values.
fn numeric_rule(
    values: &[f64],
    y: &[bool],
    config: &BinningConfig,
    min_count: usize,
) -> (BinRule, Vec<String>) {
    let mut present: Vec<(f64, bool)> = values
        .iter()
        .zip(y)
        .filter(|(v, _)| !v.is_nan())
        .map(|(&v, &bad)| (v, bad))
        .collect();
    present.sort_by(|a, b| a.0.total_cmp(&b.0));
    let n = present.len();
    let mut edges: Vec<f64> = (1..PRE_BINS)
        .filter_map(|i| present.get((i * n).div_ceil(PRE_BINS).checked_sub(1)?))
        .map(|p| p.0)
        .collect();
    edges.dedup();
    if let Some(max) = present.last() {
        edges.retain(|&e| e < max.0);
    }
    let mut cells = vec![Tally::default(); edges.len() + 1];
    for &(value, bad) in &present {
        let k = edges.partition_point(|&e| e < value);
        cells[k] = cells[k].add(Tally {
            count: 1,
            bads: usize::from(bad),
        });
    }
    let total = cells.iter().fold(Tally::default(), |t, c| t.add(*c));
    let blocks = [true, false]
        .into_iter()
        .map(|increasing| merge_monotone(&cells, increasing, min_count, config.max_bins))
        .max_by(|a, b| {
            let iv = |blocks: &[(usize, usize, Tally)]| {
                woe_iv(&blocks.iter().map(|b| b.2).collect::<Vec<_>>(), total).1
            };
            iv(a).total_cmp(&iv(b))
        })
        .expect("two directions");
    // A block ends at the upper edge of its last pre-bin; the last block is open above.
    let splits: Vec<f64> = blocks
        .iter()
        .take(blocks.len().saturating_sub(1))
        .map(|b| edges[b.1 - 1])
        .collect();
    let mut labels: Vec<String> = (0..=splits.len())
        .map(|k| {
            let low = if k == 0 {
                "-inf".to_string()
            } else {
                splits[k - 1].to_string()
            };
            if k == splits.len() {
                format!("({low}, inf)")
            } else {
                format!("({low}, {}]", splits[k])
            }
        })
        .collect();
    let missing =
        values
            .iter()
            .zip(y)
            .filter(|(v, _)| v.is_nan())
            .fold(Tally::default(), |t, (_, &bad)| {
                t.add(Tally {
                    count: 1,
                    bads: usize::from(bad),
                })
            });
    let missing_bin = if missing.count >= min_count || blocks.is_empty() {
        labels.push("missing".to_string());
        labels.len() - 1
    } else if missing.count > 0 {
        let nearest = blocks
            .iter()
            .enumerate()
            .min_by(|a, b| {
                let gap = |t: Tally| (t.rate() - missing.rate()).abs();
                gap(a.1 .2).total_cmp(&gap(b.1 .2))
            })
            .expect("blocks")
            .0;
        labels[nearest].push_str(" or missing");
        nearest
    } else {
        // No missing values in training: a missing value later scores neutral.
        labels.push("missing (unseen)".to_string());
        labels.len() - 1
    };
    (
        BinRule::Numeric {
            splits,
            missing_bin,
        },
        labels,
    )
}

/// Key of a categorical cell while fitting; missing and the rare pool are pseudo-categories.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Value(String),
    Missing,
    Other,
}

/// Categorical binning: rare values (and a rare missing value) pooled into "other", the
/// rest ordered by bad rate and pooled like numeric pre-bins.
fn categorical_rule(
    values: &[Option<String>],
    y: &[bool],
    config: &BinningConfig,
    min_count: usize,
) -> (BinRule, Vec<String>) {
    let mut tallies: BTreeMap<Key, Tally> = BTreeMap::new();
    for (value, &bad) in values.iter().zip(y) {
        let key = value.clone().map_or(Key::Missing, Key::Value);
        let entry = tallies.entry(key).or_default();
        *entry = entry.add(Tally {
            count: 1,
            bads: usize::from(bad),
        });
    }
    let mut cells: Vec<(Key, Tally)> = Vec::new();
    let mut other = Tally::default();
    let mut rare_missing = false;
    for (key, tally) in tallies {
        if tally.count >= min_count {
            cells.push((key, tally));
        } else {
            rare_missing |= key == Key::Missing;
            other = other.add(tally);
        }
    }
    if other.count > 0 {
        cells.push((Key::Other, other));
    }
    // Ties broken by key so the order, and the card, depend on nothing else.
    cells.sort_by(|a, b| a.1.rate().total_cmp(&b.1.rate()).then(a.0.cmp(&b.0)));
    let run: Vec<Tally> = cells.iter().map(|c| c.1).collect();
    let blocks = merge_monotone(&run, true, min_count, config.max_bins);
    let mut categories = BTreeMap::new();
    let mut missing_bin = None;
    let mut other_bin = None;
    let mut labels = Vec::with_capacity(blocks.len() + 1);
    for (bin, &(start, end, _)) in blocks.iter().enumerate() {
        let mut names = Vec::new();
        for (key, _) in &cells[start..end] {
            match key {
                Key::Value(name) => {
                    categories.insert(name.clone(), bin);
                    names.push(name.clone());
                }
                Key::Missing => {
                    missing_bin = Some(bin);
                    names.push("missing".to_string());
                }
                Key::Other => {
                    other_bin = Some(bin);
                    names.push("other".to_string());
                }
            }
        }
        labels.push(label_of(&names));
    }
    let other_bin = other_bin.unwrap_or_else(|| {
        // No rare values in training: an unseen value later scores neutral.
        labels.push("other (unseen)".to_string());
        labels.len() - 1
    });
    let missing_bin = match missing_bin {
        Some(bin) if !rare_missing => bin,
        _ => other_bin,
    };
    (
        BinRule::Categorical {
            categories,
            missing_bin,
            other_bin,
        },
        labels,
    )
}

fn label_of(names: &[String]) -> String {
    if names.len() <= LABEL_CATEGORIES {
        names.join(", ")
    } else {
        format!(
            "{}, and {} more",
            names[..LABEL_CATEGORIES].join(", "),
            names.len() - LABEL_CATEGORIES
        )
    }
}

/// The bin of a row of `table` for this card.
///
/// # Panics
/// If the table has no column named after the feature.
fn bin_of(card: &FeatureCard, table: &Table, row: usize) -> usize {
    let column = table.column(&card.feature).unwrap_or_else(|| {
        panic!(
            "scorecard feature {:?} is not a column of the table",
            card.feature
        )
    });
    bin_of_column(&card.rule, column, row)
}

/// The bin of one value. A column read with the other kind (a small scoring table can look
/// categorical where training saw numbers) is converted: text parsed as a number, a number
/// formatted as text.
fn bin_of_column(rule: &BinRule, column: &Column, row: usize) -> usize {
    match (rule, &column.data) {
        (BinRule::Numeric { .. }, ColumnData::Numeric(values)) => rule.bin_of_number(values[row]),
        (BinRule::Numeric { .. }, ColumnData::Categorical(values)) => rule.bin_of_number(
            values[row]
                .as_deref()
                .and_then(|text| text.trim().parse::<f64>().ok())
                .unwrap_or(f64::NAN),
        ),
        (BinRule::Categorical { .. }, ColumnData::Categorical(values)) => {
            rule.bin_of_category(values[row].as_deref())
        }
        (BinRule::Categorical { .. }, ColumnData::Numeric(values)) => {
            let value = values[row];
            if value.is_nan() {
                rule.bin_of_category(None)
            } else {
                rule.bin_of_category(Some(&value.to_string()))
            }
        }
    }
}

impl BinRule {
    /// The bin of a number (NaN is missing). A categorical rule reads it as its text.
    pub fn bin_of_number(&self, value: f64) -> usize {
        match self {
            BinRule::Numeric {
                splits,
                missing_bin,
            } => {
                if value.is_nan() {
                    *missing_bin
                } else {
                    splits.partition_point(|&s| s < value)
                }
            }
            BinRule::Categorical { .. } if value.is_nan() => self.bin_of_category(None),
            BinRule::Categorical { .. } => self.bin_of_category(Some(&value.to_string())),
        }
    }

    /// The bin of a category (`None` is missing); unseen categories go to the "other" bin. A
    /// numeric rule parses the text, and text that is no number counts as missing.
    pub fn bin_of_category(&self, value: Option<&str>) -> usize {
        match self {
            BinRule::Numeric { .. } => self.bin_of_number(
                value
                    .and_then(|text| text.trim().parse::<f64>().ok())
                    .unwrap_or(f64::NAN),
            ),
            BinRule::Categorical {
                categories,
                missing_bin,
                other_bin,
            } => match value {
                None => *missing_bin,
                Some(name) => categories.get(name).copied().unwrap_or(*other_bin),
            },
        }
    }
}

#[cfg(test)]
mod tests;
