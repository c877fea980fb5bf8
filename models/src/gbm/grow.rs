//! Growing one tree: best-first splits on gradient histograms, the smaller child scanned and
//! the larger one derived, monotonic constraints bounding the leaf values.

use std::cmp::Ordering;
use std::collections::BinaryHeap;

use rayon::prelude::*;

use super::bins::BinnedData;
use super::{
    GbmConfig, Node, Split, Tree, HISTOGRAM_BINS, MIN_CHILD_HESSIAN, MISSING_BIN,
    PARALLEL_HISTOGRAM_ROWS,
};

#[derive(Debug, Clone, Copy, Default)]
struct BinStats {
    gradient: f64,
    hessian: f64,
    count: u32,
}

impl BinStats {
    fn add(&mut self, other: &BinStats) {
        self.gradient += other.gradient;
        self.hessian += other.hessian;
        self.count += other.count;
    }

    fn minus(&self, other: &BinStats) -> BinStats {
        BinStats {
            gradient: self.gradient - other.gradient,
            hessian: self.hessian - other.hessian,
            count: self.count - other.count,
        }
    }
}

/// The best split found for a node; gains compare the Newton loss reduction.
#[derive(Debug, Clone)]
struct Candidate {
    gain: f64,
    feature: usize,
    /// Bins `<= bin` go left.
    bin: usize,
    missing_left: bool,
    left: BinStats,
    right: BinStats,
    /// Unshrunk, bound-clipped values of the children.
    left_value: f64,
    right_value: f64,
}

/// A leaf during growth: its rows are `indices[start..end]`.
struct Open {
    node: usize,
    start: usize,
    end: usize,
    /// Unshrunk, bound-clipped Newton value.
    value: f64,
    lower: f64,
    upper: f64,
    histogram: Option<Vec<BinStats>>,
    candidate: Option<Candidate>,
}

/// Grows one tree per call, reusing its buffers across iterations.
pub(super) struct Grower<'a> {
    data: &'a BinnedData,
    config: &'a GbmConfig,
    indices: Vec<u32>,
    scratch: Vec<u32>,
    /// Features the current tree may split on.
    features: Vec<bool>,
}

impl<'a> Grower<'a> {
    pub(super) fn new(data: &'a BinnedData, config: &'a GbmConfig) -> Self {
        Grower {
            data,
            config,
            indices: Vec::with_capacity(data.rows),
            scratch: vec![0; data.rows],
            features: Vec::new(),
        }
    }

    /// Grows a tree best-first and adds its leaf values to `raw`.
    pub(super) fn grow(
        &mut self,
        gradients: &[f64],
        hessians: &[f64],
        raw: &mut [f64],
        rows: Option<&[u32]>,
        features: &[bool],
    ) -> Tree {
        self.indices.clear();
        match rows {
            Some(rows) => self.indices.extend_from_slice(rows),
            None => self.indices.extend(0..self.data.rows as u32),
        }
        self.features.clear();
        self.features.extend_from_slice(features);
        let n = self.indices.len();
        let histogram = self.histogram(0, n, gradients, hessians);
        // Every row falls in one bin of each feature, so any allowed feature's bins sum to
        // the node's totals.
        let first = self
            .features
            .iter()
            .position(|&allowed| allowed)
            .expect("a tree may split on at least one feature");
        let mut stats = BinStats::default();
        histogram[first * HISTOGRAM_BINS..(first + 1) * HISTOGRAM_BINS]
            .iter()
            .for_each(|b| stats.add(b));
        let value = self.node_value(&stats, f64::NEG_INFINITY, f64::INFINITY);
        let mut nodes = vec![Node {
            value: value * self.config.learning_rate,
            n_samples: stats.count,
            split: None,
        }];
        let mut open = vec![self.open(
            0,
            (0, n),
            stats,
            value,
            (f64::NEG_INFINITY, f64::INFINITY),
            histogram,
        )];
        // Max-heap of (gain, Reverse(open index)): ties go to the older leaf.
        let mut heap = BinaryHeap::new();
        push_candidate(&mut heap, &open[0], 0);
        let mut leaves = 1;
        while leaves < self.config.max_leaf_nodes {
            let Some(HeapEntry { open: parent, .. }) = heap.pop() else {
                break;
            };
            let candidate = open[parent]
                .candidate
                .take()
                .expect("queued leaves have one");
            let parent_histogram = open[parent]
                .histogram
                .take()
                .expect("queued leaves have one");
            let (start, end) = (open[parent].start, open[parent].end);
            let middle = self.partition(start, end, &candidate);
            debug_assert_eq!(middle - start, candidate.left.count as usize);

            let (lower, upper) = (open[parent].lower, open[parent].upper);
            let constraint = self.constraint(candidate.feature);
            let mid = (candidate.left_value + candidate.right_value) / 2.0;
            let (left_bounds, right_bounds) = match constraint {
                1 => ((lower, mid), (mid, upper)),
                -1 => ((mid, upper), (lower, mid)),
                _ => ((lower, upper), (lower, upper)),
            };
            let (left_histogram, right_histogram) =
                self.child_histograms((start, middle, end), &parent_histogram, gradients, hessians);
            let left_node = nodes.len();
            let right_node = left_node + 1;
            nodes[open[parent].node].split =
                Some(self.split(&candidate, &parent_histogram, left_node));
            for (stats, value) in [
                (candidate.left, candidate.left_value),
                (candidate.right, candidate.right_value),
            ] {
                nodes.push(Node {
                    value: value * self.config.learning_rate,
                    n_samples: stats.count,
                    split: None,
                });
            }
            let left = self.open(
                left_node,
                (start, middle),
                candidate.left,
                candidate.left_value,
                left_bounds,
                left_histogram,
            );
            let right = self.open(
                right_node,
                (middle, end),
                candidate.right,
                candidate.right_value,
                right_bounds,
                right_histogram,
            );
            for child in [left, right] {
                push_candidate(&mut heap, &child, open.len());
                open.push(child);
            }
            leaves += 1;
        }
        // Leaves take their final value clipped to their own bounds, then update the scores.
        for leaf in &open {
            if nodes[leaf.node].split.is_some() {
                continue;
            }
            let value = leaf.value.clamp(leaf.lower, leaf.upper) * self.config.learning_rate;
            nodes[leaf.node].value = value;
            for &row in &self.indices[leaf.start..leaf.end] {
                raw[row as usize] += value;
            }
        }
        Tree { nodes }
    }

    /// The histograms of a node's two children, rows `start..middle` and `middle..end`:
    /// the smaller child is scanned, the larger one's histogram is the parent's minus it.
    fn child_histograms(
        &self,
        (start, middle, end): (usize, usize, usize),
        parent: &[BinStats],
        gradients: &[f64],
        hessians: &[f64],
    ) -> (Vec<BinStats>, Vec<BinStats>) {
        let left_smaller = middle - start <= end - middle;
        let small = if left_smaller {
            self.histogram(start, middle, gradients, hessians)
        } else {
            self.histogram(middle, end, gradients, hessians)
        };
        let large: Vec<BinStats> = parent.iter().zip(&small).map(|(p, s)| p.minus(s)).collect();
        if left_smaller {
            (small, large)
        } else {
            (large, small)
        }
    }

    /// The split a candidate makes, its children at `left_node` and the next index.
    fn split(&self, candidate: &Candidate, parent: &[BinStats], left_node: usize) -> Split {
        Split {
            feature: candidate.feature as u32,
            threshold: self.data.edges[candidate.feature]
                .get(candidate.bin)
                .copied()
                .unwrap_or(f64::INFINITY),
            // A feature with no missing values in this node sends them at prediction time
            // to the child that saw more rows, as scikit-learn does.
            missing_left: if parent[candidate.feature * HISTOGRAM_BINS + MISSING_BIN].count > 0 {
                candidate.missing_left
            } else {
                candidate.left.count >= candidate.right.count
            },
            left: left_node as u32,
            right: left_node as u32 + 1,
        }
    }

    fn open(
        &self,
        node: usize,
        (start, end): (usize, usize),
        stats: BinStats,
        value: f64,
        (lower, upper): (f64, f64),
        histogram: Vec<BinStats>,
    ) -> Open {
        let candidate = self.best_split(&histogram, &stats, value, lower, upper);
        Open {
            node,
            start,
            end,
            value,
            lower,
            upper,
            histogram: candidate.is_some().then_some(histogram),
            candidate,
        }
    }

    fn constraint(&self, feature: usize) -> i8 {
        self.config.monotonic.get(feature).copied().unwrap_or(0)
    }

    fn node_value(&self, stats: &BinStats, lower: f64, upper: f64) -> f64 {
        let value = -stats.gradient / (stats.hessian + self.config.l2_regularization + 1e-15);
        value.clamp(lower, upper)
    }

    /// Gradient histograms of rows `indices[start..end]`, `HISTOGRAM_BINS` per feature.
    fn histogram(
        &self,
        start: usize,
        end: usize,
        gradients: &[f64],
        hessians: &[f64],
    ) -> Vec<BinStats> {
        let rows = &self.indices[start..end];
        // Gathered once so each feature's pass reads them contiguously.
        let ordered: Vec<(f64, f64)> = rows
            .iter()
            .map(|&r| (gradients[r as usize], hessians[r as usize]))
            .collect();
        let mut histogram = vec![BinStats::default(); self.data.edges.len() * HISTOGRAM_BINS];
        let fill = |(feature, bins): (usize, &mut [BinStats])| {
            if !self.features[feature] {
                return;
            }
            let codes = self.data.feature(feature);
            for (&row, &(gradient, hessian)) in rows.iter().zip(&ordered) {
                let bin = &mut bins[codes[row as usize] as usize];
                bin.gradient += gradient;
                bin.hessian += hessian;
                bin.count += 1;
            }
        };
        if rows.len() >= PARALLEL_HISTOGRAM_ROWS {
            histogram
                .par_chunks_mut(HISTOGRAM_BINS)
                .enumerate()
                .for_each(fill);
        } else {
            histogram
                .chunks_mut(HISTOGRAM_BINS)
                .enumerate()
                .for_each(fill);
        }
        histogram
    }

    /// The split of highest positive gain over all features, bins and both sides for the
    /// missing values, respecting `min_samples_leaf`, the hessian floor and the monotonic
    /// constraints; `None` when no split qualifies.
    fn best_split(
        &self,
        histogram: &[BinStats],
        total: &BinStats,
        value: f64,
        lower: f64,
        upper: f64,
    ) -> Option<Candidate> {
        let min_samples = self.config.min_samples_leaf as u32;
        if total.count < 2 * min_samples {
            return None;
        }
        let parent_loss = total.gradient * value;
        let mut best: Option<Candidate> = None;
        for (feature, bins) in histogram.chunks(HISTOGRAM_BINS).enumerate() {
            if !self.features[feature] {
                continue;
            }
            let n_bins = self.data.edges[feature].len() + 1;
            let missing = bins[MISSING_BIN];
            let sides: &[bool] = if missing.count > 0 {
                &[false, true]
            } else {
                &[false]
            };
            let constraint = self.constraint(feature);
            let mut left = BinStats::default();
            for (bin, stats) in bins[..n_bins].iter().enumerate() {
                left.add(stats);
                for &missing_left in sides {
                    let mut left = left;
                    if missing_left {
                        left.add(&missing);
                    }
                    let right = total.minus(&left);
                    if left.count < min_samples
                        || right.count < min_samples
                        || left.hessian < MIN_CHILD_HESSIAN
                        || right.hessian < MIN_CHILD_HESSIAN
                    {
                        continue;
                    }
                    let left_value = self.node_value(&left, lower, upper);
                    let right_value = self.node_value(&right, lower, upper);
                    if (constraint == 1 && left_value > right_value)
                        || (constraint == -1 && left_value < right_value)
                    {
                        continue;
                    }
                    let gain =
                        parent_loss - left.gradient * left_value - right.gradient * right_value;
                    if gain > best.as_ref().map_or(0.0, |b| b.gain) {
                        best = Some(Candidate {
                            gain,
                            feature,
                            bin,
                            missing_left,
                            left,
                            right,
                            left_value,
                            right_value,
                        });
                    }
                }
            }
        }
        best
    }

    /// Stable partition of `indices[start..end]` by the candidate's split; returns where the
    /// right child's rows begin.
    fn partition(&mut self, start: usize, end: usize, candidate: &Candidate) -> usize {
        let codes = self.data.feature(candidate.feature);
        let mut left = start;
        let mut right = 0;
        for position in start..end {
            let row = self.indices[position];
            let code = codes[row as usize] as usize;
            let go_left = if code == MISSING_BIN {
                candidate.missing_left
            } else {
                code <= candidate.bin
            };
            if go_left {
                self.indices[left] = row;
                left += 1;
            } else {
                self.scratch[right] = row;
                right += 1;
            }
        }
        self.indices[left..end].copy_from_slice(&self.scratch[..right]);
        left
    }
}

struct HeapEntry {
    gain: f64,
    open: usize,
}

impl PartialEq for HeapEntry {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}
impl Eq for HeapEntry {}
impl PartialOrd for HeapEntry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for HeapEntry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.gain
            .total_cmp(&other.gain)
            .then_with(|| other.open.cmp(&self.open))
    }
}

fn push_candidate(heap: &mut BinaryHeap<HeapEntry>, leaf: &Open, index: usize) {
    if let Some(candidate) = &leaf.candidate {
        heap.push(HeapEntry {
            gain: candidate.gain,
            open: index,
        });
    }
}
