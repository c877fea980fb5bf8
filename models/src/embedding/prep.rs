//! Input preparation: raw customer rows -> the standardised vector the network reads.
//!
//! Profile features arrive on any scale (money in cents next to shares next to counts), and
//! money is heavy-tailed: a few large values would dominate both the loss and the geometry.
//! So heavy-tailed columns go through a signed `log1p` first, every column is standardised,
//! and z-scores are clipped. The monthly category sequence is kept and, when it is laid out
//! month-major, summarised by each category's mean share over the months, which is far less
//! noisy than any single month.

use rayon::prelude::*;

/// Standardised values beyond this many deviations are clipped: an outlier should look
/// unusual, not own the batch's gradient.
const CLIP_Z: f32 = 5.0;
/// A column is heavy-tailed when its tail score (|skewness| + sqrt(excess kurtosis)) exceeds
/// this; a normal column scores 0, a Poisson count well under 1.
const HEAVY_TAIL_SCORE: f64 = 1.5;
/// The log transform is kept only if it shrinks the tail score by this factor; a linear map
/// (e.g. a 0/1 flag) keeps its score and stays untransformed.
const TAIL_IMPROVEMENT: f64 = 0.7;
/// A month's category shares sum to this (or to zero for a month without spending).
const SHARE_SUM_TOLERANCE: f64 = 1e-3;
/// Weight of one category-mean column in the neighbour distance (a profile feature has 1).
const SUMMARY_NEIGHBOUR_WEIGHT: f32 = 0.3;
/// Rows examined to recognise the sequence layout; enough to rule out a coincidence.
const LAYOUT_PROBE_ROWS: usize = 2_000;

/// Everything needed to turn a raw row into network input; fitted on training rows and
/// saved with the model.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Preprocessor {
    pub(crate) input_features: usize,
    pub(crate) sequence_len: usize,
    /// Months in the sequence when it is recognised as month-major category shares; 0 when
    /// not, and then no per-category summary is added.
    pub(crate) sequence_months: usize,
    /// Per feature: the scale `s` of `sign(x) * ln(1 + |x| / s)`, or 0 for no transform.
    pub(crate) log_scale: Vec<f32>,
    /// Per network input column.
    pub(crate) mean: Vec<f32>,
    pub(crate) std: Vec<f32>,
}

impl Preprocessor {
    /// Fits the transform on the rows listed in `rows`.
    pub(crate) fn fit(features: &[Vec<f32>], sequences: &[Vec<f32>], rows: &[usize]) -> Self {
        assert!(!rows.is_empty(), "Preprocessor::fit needs rows");
        let input_features = features[rows[0]].len();
        let sequence_len = sequences[rows[0]].len();
        let log_scale = (0..input_features)
            .map(|j| fit_log_scale(&rows.iter().map(|&i| features[i][j]).collect::<Vec<_>>()))
            .collect();
        let probe: Vec<&[f32]> = rows
            .iter()
            .take(LAYOUT_PROBE_ROWS)
            .map(|&i| sequences[i].as_slice())
            .collect();
        let mut prep = Preprocessor {
            input_features,
            sequence_len,
            sequence_months: sequence_months(&probe, sequence_len),
            log_scale,
            mean: Vec::new(),
            std: Vec::new(),
        };
        let width = prep.width();
        let mut raw = vec![0.0f32; rows.len() * width];
        raw.par_chunks_mut(width)
            .zip(rows.par_iter())
            .for_each(|(out, &i)| prep.raw_row(&features[i], &sequences[i], out));
        let (mean, std) = column_mean_std(&raw, width);
        prep.mean = mean;
        prep.std = std;
        prep
    }

    /// Width of the network input.
    pub(crate) fn width(&self) -> usize {
        self.input_features + self.sequence_len + self.categories()
    }

    fn categories(&self) -> usize {
        self.sequence_len
            .checked_div(self.sequence_months)
            .unwrap_or(0)
    }

    /// Per-column weights of the reconstruction loss. A single month's share is a noisy
    /// echo of the category mean, so the months of one category together weigh as much as
    /// one feature; without that the sequence would drown the profile features.
    pub(crate) fn reconstruction_weights(&self) -> Vec<f32> {
        let month_weight = if self.sequence_months == 0 {
            1.0
        } else {
            1.0 / self.sequence_months as f32
        };
        let mut weights = vec![1.0; self.input_features];
        weights.extend(std::iter::repeat_n(month_weight, self.sequence_len));
        weights.extend(std::iter::repeat_n(1.0, self.categories()));
        weights
    }

    /// Per network input column, the weight of its squared difference in the distance that
    /// defines neighbours. Profile features count fully; the category means count less (each
    /// is a noisy echo of spending shares the profile usually already summarises); single
    /// months count not at all when their means stand in for them.
    pub(crate) fn neighbour_weights(&self) -> Vec<f32> {
        let month_weight = if self.sequence_months == 0 { 1.0 } else { 0.0 };
        let mut weights = vec![1.0; self.input_features];
        weights.extend(std::iter::repeat_n(month_weight, self.sequence_len));
        weights.extend(std::iter::repeat_n(
            SUMMARY_NEIGHBOUR_WEIGHT,
            self.categories(),
        ));
        weights
    }

    /// Standardised, clipped network input for many rows, flattened row-major.
    pub(crate) fn transform_rows(&self, features: &[Vec<f32>], sequences: &[Vec<f32>]) -> Vec<f32> {
        let width = self.width();
        let mut out = vec![0.0f32; features.len() * width];
        out.par_chunks_mut(width)
            .zip(features.par_iter().zip(sequences.par_iter()))
            .for_each(|(row, (f, s))| self.transform_row(f, s, row));
        out
    }

    fn transform_row(&self, features: &[f32], sequence: &[f32], out: &mut [f32]) {
        self.raw_row(features, sequence, out);
        for ((value, mean), std) in out.iter_mut().zip(&self.mean).zip(&self.std) {
            *value = ((*value - mean) / std).clamp(-CLIP_Z, CLIP_Z);
        }
    }

    /// Log-transformed features, the sequence, then per-category means: before standardising.
    fn raw_row(&self, features: &[f32], sequence: &[f32], out: &mut [f32]) {
        debug_assert_eq!(out.len(), self.width());
        let (head, rest) = out.split_at_mut(self.input_features);
        for ((slot, &value), &scale) in head.iter_mut().zip(features).zip(&self.log_scale) {
            *slot = signed_log(value, scale);
        }
        let (middle, summary) = rest.split_at_mut(self.sequence_len);
        middle.copy_from_slice(sequence);
        if self.sequence_months > 0 {
            let categories = summary.len();
            summary.fill(0.0);
            for month in sequence.chunks_exact(categories) {
                summary.iter_mut().zip(month).for_each(|(s, v)| *s += v);
            }
            let months = self.sequence_months as f32;
            summary.iter_mut().for_each(|s| *s /= months);
        }
    }
}

fn signed_log(value: f32, scale: f32) -> f32 {
    if scale > 0.0 {
        value.signum() * (value.abs() / scale).ln_1p()
    } else {
        value
    }
}

/// The scale for a signed log transform of this column, or 0 when the column is not
/// heavy-tailed or the transform does not tame it. The scale is the median non-zero
/// magnitude, so the transform is the same whether money arrives in cents or euros.
fn fit_log_scale(column: &[f32]) -> f32 {
    let mut magnitudes: Vec<f32> = column
        .iter()
        .map(|v| v.abs())
        .filter(|&v| v > 0.0)
        .collect();
    if magnitudes.len() < 2 {
        return 0.0;
    }
    magnitudes.sort_by(f32::total_cmp);
    let scale = magnitudes[magnitudes.len() / 2];
    let raw_score = tail_score(column.iter().map(|&v| f64::from(v)));
    if raw_score.is_nan() || raw_score <= HEAVY_TAIL_SCORE {
        return 0.0;
    }
    let logged = column.iter().map(|&v| f64::from(signed_log(v, scale)));
    if tail_score(logged) < TAIL_IMPROVEMENT * raw_score {
        scale
    } else {
        0.0
    }
}

/// |skewness| + sqrt(max(excess kurtosis, 0)): large for skewed or fat-tailed columns.
/// Zero for a constant column.
fn tail_score(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let n = values.clone().count() as f64;
    let mean = values.clone().sum::<f64>() / n;
    let (mut m2, mut m3, mut m4) = (0.0, 0.0, 0.0);
    for v in values {
        let d = v - mean;
        m2 += d * d;
        m3 += d * d * d;
        m4 += d * d * d * d;
    }
    let (m2, m3, m4) = (m2 / n, m3 / n, m4 / n);
    if m2.is_nan() || m2 <= 0.0 {
        return 0.0;
    }
    let skewness = m3 / m2.powf(1.5);
    let excess_kurtosis = m4 / (m2 * m2) - 3.0;
    skewness.abs() + excess_kurtosis.max(0.0).sqrt()
}

/// Months in a month-major sequence of category shares: the smallest block length (two or
/// more categories, two or more months) for which every block of every probed row sums to
/// one or zero. 0 when no block length fits.
fn sequence_months(probe: &[&[f32]], sequence_len: usize) -> usize {
    (2..=sequence_len / 2)
        .filter(|categories| sequence_len.is_multiple_of(*categories))
        .find(|&categories| is_share_layout(probe, categories))
        .map_or(0, |categories| sequence_len / categories)
}

fn is_share_layout(probe: &[&[f32]], categories: usize) -> bool {
    let mut any_spending = false;
    for row in probe {
        for month in row.chunks_exact(categories) {
            let total: f64 = month.iter().map(|&v| f64::from(v)).sum();
            if (total - 1.0).abs() < SHARE_SUM_TOLERANCE {
                any_spending = true;
            } else if total.abs() >= SHARE_SUM_TOLERANCE {
                return false;
            }
        }
    }
    any_spending
}

/// Mean and population standard deviation per column (constant columns get 1), computed in
/// f64 then stored as f32 so that a saved model reproduces the transform exactly.
fn column_mean_std(raw: &[f32], width: usize) -> (Vec<f32>, Vec<f32>) {
    let rows = raw.len() / width;
    let mut sum = vec![0.0f64; width];
    for row in raw.chunks_exact(width) {
        sum.iter_mut()
            .zip(row)
            .for_each(|(s, &v)| *s += f64::from(v));
    }
    let mean: Vec<f64> = sum.iter().map(|s| s / rows as f64).collect();
    let mut squares = vec![0.0f64; width];
    for row in raw.chunks_exact(width) {
        for ((sq, &v), m) in squares.iter_mut().zip(row).zip(&mean) {
            *sq += (f64::from(v) - m).powi(2);
        }
    }
    let std = squares
        .iter()
        .map(|sq| {
            let std = (sq / rows as f64).sqrt();
            // Near-constant columns would blow tiny float noise up into large z-scores.
            if std > 1e-6 {
                std as f32
            } else {
                1.0
            }
        })
        .collect();
    (mean.iter().map(|&m| m as f32).collect(), std)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heavy_money_columns_are_logged_and_flags_are_not() {
        // Money in cents, exponential in an even spread: a few very large values.
        let money: Vec<f32> = (0..1000)
            .map(|i| 100.0 * ((i % 37) as f32 / 6.0).exp())
            .collect();
        assert!(fit_log_scale(&money) > 0.0);
        let flag: Vec<f32> = (0..1000)
            .map(|i| if i % 10 == 0 { 1.0 } else { 0.0 })
            .collect();
        assert_eq!(fit_log_scale(&flag), 0.0);
        let count: Vec<f32> = (0..1000).map(|i| (10 + i % 11) as f32).collect();
        assert_eq!(fit_log_scale(&count), 0.0);
    }

    #[test]
    fn recognises_month_major_shares() {
        // Three months of four categories, one month without spending.
        let row = [
            0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.25, 0.25, 0.25, 0.25,
        ];
        assert_eq!(sequence_months(&[&row], 12), 3);
        let noise = [0.3f32; 12];
        assert_eq!(sequence_months(&[&noise], 12), 0);
    }

    #[test]
    fn transform_standardises_clips_and_summarises() {
        let features: Vec<Vec<f32>> = (0..50).map(|i| vec![i as f32, 7.0]).collect();
        let sequences: Vec<Vec<f32>> = (0..50)
            .map(|i| {
                if i % 2 == 0 {
                    vec![1.0, 0.0, 0.0, 1.0]
                } else {
                    vec![0.0, 1.0, 1.0, 0.0]
                }
            })
            .collect();
        let rows: Vec<usize> = (0..50).collect();
        let prep = Preprocessor::fit(&features, &sequences, &rows);
        assert_eq!(prep.sequence_months, 2);
        assert_eq!(prep.width(), 2 + 4 + 2);
        let x = prep.transform_rows(&features, &sequences);
        // The constant feature maps to 0; the two category means are both 0.5 everywhere.
        assert!(x
            .chunks(8)
            .all(|row| row[1] == 0.0 && row[6] == 0.0 && row[7] == 0.0));
        let extreme = prep.transform_rows(&[vec![1e6, 7.0]], &[vec![1.0, 0.0, 0.0, 1.0]]);
        assert_eq!(extreme[0], CLIP_Z);
    }
}
