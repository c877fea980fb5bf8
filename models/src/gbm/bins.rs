//! Features binned once into at most 255 quantile bins plus one for missing values.

use rayon::prelude::*;

use super::MISSING_BIN;

/// Features binned once: `codes[feature * rows + row]` is the bin, [`MISSING_BIN`] for NaN.
pub(super) struct BinnedData {
    pub(super) rows: usize,
    codes: Vec<u8>,
    /// Per feature, ascending bin edges: bin `b` holds values in `(edges[b - 1], edges[b]]`.
    pub(super) edges: Vec<Vec<f64>>,
}

impl BinnedData {
    pub(super) fn new(x: &[&[f64]], n_features: usize, max_bins: usize) -> Self {
        let rows = x.len();
        let columns: Vec<(Vec<f64>, Vec<u8>)> = (0..n_features)
            .into_par_iter()
            .map(|feature| {
                let column: Vec<f64> = x.iter().map(|row| row[feature]).collect();
                let edges = bin_edges(&column, max_bins);
                let codes = column.iter().map(|&v| bin_of(&edges, v)).collect();
                (edges, codes)
            })
            .collect();
        let mut codes = Vec::with_capacity(rows * n_features);
        let mut edges = Vec::with_capacity(n_features);
        for (feature_edges, feature_codes) in columns {
            codes.extend_from_slice(&feature_codes);
            edges.push(feature_edges);
        }
        BinnedData { rows, codes, edges }
    }

    pub(super) fn feature(&self, feature: usize) -> &[u8] {
        &self.codes[feature * self.rows..(feature + 1) * self.rows]
    }
}

/// Bin edges of one column (NaN ignored): midpoints between distinct values when there are
/// at most `max_bins` of them, otherwise the `max_bins`-quantiles (midpoint interpolation, as
/// numpy's `percentile(method="midpoint")`), deduplicated. At most `max_bins - 1` edges.
pub(super) fn bin_edges(column: &[f64], max_bins: usize) -> Vec<f64> {
    let mut values: Vec<f64> = column.iter().copied().filter(|v| !v.is_nan()).collect();
    values.sort_unstable_by(f64::total_cmp);
    let mut distinct = values.clone();
    distinct.dedup();
    let mut edges: Vec<f64> = if distinct.len() <= max_bins {
        distinct.windows(2).map(|w| (w[0] + w[1]) / 2.0).collect()
    } else {
        let last = (values.len() - 1) as f64;
        (1..max_bins)
            .map(|q| {
                let position = q as f64 / max_bins as f64 * last;
                (values[position.floor() as usize] + values[position.ceil() as usize]) / 2.0
            })
            .collect()
    };
    edges.dedup();
    debug_assert!(edges.len() < max_bins);
    edges
}

pub(super) fn bin_of(edges: &[f64], value: f64) -> u8 {
    if value.is_nan() {
        MISSING_BIN as u8
    } else {
        // Number of edges below the value, so `value <= edges[b]` exactly when bin <= b.
        edges.partition_point(|&edge| edge < value) as u8
    }
}
