//! Agreement between two labelings: clusterings against ground truth (ARI, NMI) and ordinal
//! ratings against each other (quadratic weighted kappa). Each follows scikit-learn's
//! definition and edge cases, so numbers can be checked against it.

/// Dense contingency table of two labelings of the same items.
struct Contingency {
    /// `counts[i * cols + j]`: items with the `i`-th distinct label of `a` and `j`-th of `b`.
    counts: Vec<u64>,
    rows: Vec<u64>,
    cols: Vec<u64>,
    n: u64,
}

/// Maps arbitrary labels to `0..distinct`, in sorted label order.
fn dense(labels: &[usize]) -> (Vec<usize>, usize) {
    let mut distinct = labels.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    let mapped = labels
        .iter()
        .map(|l| {
            distinct
                .binary_search(l)
                .expect("label comes from the list")
        })
        .collect();
    (mapped, distinct.len())
}

impl Contingency {
    fn new(a: &[usize], b: &[usize]) -> Contingency {
        assert_eq!(a.len(), b.len(), "labelings must cover the same items");
        let (a, rows_n) = dense(a);
        let (b, cols_n) = dense(b);
        let mut counts = vec![0u64; rows_n * cols_n];
        let (mut rows, mut cols) = (vec![0u64; rows_n], vec![0u64; cols_n]);
        for (&i, &j) in a.iter().zip(&b) {
            counts[i * cols_n + j] += 1;
            rows[i] += 1;
            cols[j] += 1;
        }
        Contingency {
            counts,
            rows,
            cols,
            n: a.len() as u64,
        }
    }
}

/// Adjusted Rand index: pair agreement corrected for chance; 1 for identical partitions
/// (up to renaming), about 0 for independent ones, negative below chance. As scikit-learn,
/// 1 when neither labeling splits anything differently (including empty input).
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> f64 {
    let t = Contingency::new(a, b);
    let n = t.n as f64;
    let sum_sq = |v: &[u64]| v.iter().map(|&c| (c as f64) * (c as f64)).sum::<f64>();
    // Pair-confusion counts (each ordered pair once per direction, as scikit-learn).
    let same_both = sum_sq(&t.counts) - n;
    let same_a = sum_sq(&t.rows) - n;
    let same_b = sum_sq(&t.cols) - n;
    let tp = same_both;
    let fp = same_b - same_both;
    let fn_ = same_a - same_both;
    let tn = n * n - n - tp - fp - fn_;
    if fn_ == 0.0 && fp == 0.0 {
        return 1.0;
    }
    let denominator = (tp + fn_) * (fn_ + tn) + (tp + fp) * (fp + tn);
    if denominator == 0.0 {
        return 1.0;
    }
    2.0 * (tp * tn - fn_ * fp) / denominator
}

fn entropy(counts: &[u64], n: f64) -> f64 {
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.ln()
        })
        .sum()
}

/// Normalized mutual information with the arithmetic mean of the two entropies as the
/// normaliser (scikit-learn's default). 1 when both labelings are a single cluster.
pub fn normalized_mutual_info(a: &[usize], b: &[usize]) -> f64 {
    let t = Contingency::new(a, b);
    if t.n == 0 || (t.rows.len() <= 1 && t.cols.len() <= 1) {
        return 1.0;
    }
    let n = t.n as f64;
    let cols_n = t.cols.len();
    let mut mi = 0.0;
    for (i, &row) in t.rows.iter().enumerate() {
        for (j, &col) in t.cols.iter().enumerate() {
            let c = t.counts[i * cols_n + j];
            if c == 0 {
                continue;
            }
            let c = c as f64;
            mi += c / n * (c * n / (row as f64 * col as f64)).ln();
        }
    }
    let mean_entropy = (entropy(&t.rows, n) + entropy(&t.cols, n)) / 2.0;
    if mean_entropy <= f64::EPSILON {
        return 0.0;
    }
    (mi / mean_entropy).clamp(0.0, 1.0)
}

/// Quadratic weighted kappa (Cohen's kappa with weights `(i - j)^2`) of two ratings of the
/// same items. Ratings lie in `0..=levels`, so both 0-based (`0..levels`) and 1-based
/// (`1..=levels`, e.g. risk levels C1..C5 with `levels = 5`) ratings work: an unused rating
/// changes neither the observed nor the expected disagreement. 1 when the two agree
/// everywhere (including when both are constant), 0 for chance agreement.
///
/// # Panics
/// When the lengths differ or a rating exceeds `levels`: caller bugs.
pub fn quadratic_weighted_kappa(a: &[u8], b: &[u8], levels: u8) -> f64 {
    assert_eq!(a.len(), b.len(), "ratings must cover the same items");
    let k = usize::from(levels) + 1;
    let mut observed = vec![0.0f64; k * k];
    let (mut hist_a, mut hist_b) = (vec![0.0f64; k], vec![0.0f64; k]);
    for (&x, &y) in a.iter().zip(b) {
        assert!(
            x <= levels && y <= levels,
            "rating above {levels}: {x}, {y}"
        );
        let (x, y) = (usize::from(x), usize::from(y));
        observed[x * k + y] += 1.0;
        hist_a[x] += 1.0;
        hist_b[y] += 1.0;
    }
    let n = a.len() as f64;
    if n == 0.0 {
        return 1.0;
    }
    let (mut disagree_observed, mut disagree_expected) = (0.0, 0.0);
    for i in 0..k {
        for j in 0..k {
            let w = (i as f64 - j as f64).powi(2);
            disagree_observed += w * observed[i * k + j];
            disagree_expected += w * hist_a[i] * hist_b[j] / n;
        }
    }
    if disagree_expected == 0.0 {
        return if disagree_observed == 0.0 { 1.0 } else { 0.0 };
    }
    1.0 - disagree_observed / disagree_expected
}

/// Spearman rank correlation (average ranks for ties); 0 when either side is constant.
/// Used by evaluation to compare a derived level with ground truth.
pub fn spearman(a: &[f64], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "series must cover the same items");
    let (ra, rb) = (ranks(a), ranks(b));
    pearson(&ra, &rb)
}

fn ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&i, &j| values[i].total_cmp(&values[j]));
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        let average = (start + end - 1) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = average;
        }
        start = end;
    }
    ranks
}

fn pearson(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    if n < 2.0 {
        return 0.0;
    }
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let (mut cov, mut va, mut vb) = (0.0, 0.0, 0.0);
    for (x, y) in a.iter().zip(b) {
        cov += (x - ma) * (y - mb);
        va += (x - ma).powi(2);
        vb += (y - mb).powi(2);
    }
    if va <= 0.0 || vb <= 0.0 {
        return 0.0;
    }
    cov / (va.sqrt() * vb.sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn ari_matches_scikit_learn_examples() {
        assert_eq!(adjusted_rand_index(&[0, 0, 1, 1], &[1, 1, 0, 0]), 1.0);
        // sklearn.metrics.adjusted_rand_score([0, 0, 1, 1], [0, 0, 1, 2]) == 0.5714285714285715
        assert!(close(
            adjusted_rand_index(&[0, 0, 1, 1], &[0, 0, 1, 2]),
            4.0 / 7.0
        ));
        assert!(close(
            adjusted_rand_index(&[0, 0, 1, 2], &[0, 0, 1, 1]),
            4.0 / 7.0
        ));
        // sklearn: adjusted_rand_score([0, 0, 1, 1], [0, 1, 0, 1]) == -0.5
        assert!(close(
            adjusted_rand_index(&[0, 0, 1, 1], &[0, 1, 0, 1]),
            -0.5
        ));
        assert_eq!(adjusted_rand_index(&[0, 0, 0], &[5, 5, 5]), 1.0);
        assert_eq!(adjusted_rand_index(&[], &[]), 1.0);
    }

    #[test]
    fn nmi_matches_hand_computed_values() {
        assert!(close(
            normalized_mutual_info(&[0, 0, 1, 1], &[1, 1, 0, 0]),
            1.0
        ));
        // MI = ln 2, H(a) = ln 2, H(b) = 1.5 ln 2: NMI = 1 / 1.25.
        assert!(close(
            normalized_mutual_info(&[0, 0, 1, 1], &[0, 0, 1, 2]),
            0.8
        ));
        // sklearn: normalized_mutual_info_score([0, 0, 0, 0], [0, 1, 2, 3]) == 0.0
        assert!(close(
            normalized_mutual_info(&[0, 0, 0, 0], &[0, 1, 2, 3]),
            0.0
        ));
        assert_eq!(normalized_mutual_info(&[3, 3], &[7, 7]), 1.0);
    }

    #[test]
    fn qwk_matches_hand_computed_values() {
        assert!(close(
            quadratic_weighted_kappa(&[0, 0, 1, 1], &[0, 1, 1, 1], 1),
            0.5
        ));
        // Observed weighted disagreement 0.5, expected 1.375 (weights (i-j)^2 / 4).
        assert!(close(
            quadratic_weighted_kappa(&[0, 1, 2, 2], &[0, 2, 2, 1], 2),
            7.0 / 11.0
        ));
        // 1-based ratings give the same answer as 0-based ones.
        assert!(close(
            quadratic_weighted_kappa(&[1, 2, 3, 3], &[1, 3, 3, 2], 3),
            7.0 / 11.0
        ));
        assert_eq!(quadratic_weighted_kappa(&[3, 3], &[3, 3], 5), 1.0);
        assert!(quadratic_weighted_kappa(&[1, 5, 1, 5], &[5, 1, 5, 1], 5) < 0.0);
    }

    #[test]
    fn spearman_ranks_with_ties() {
        assert!(close(spearman(&[1.0, 2.0, 3.0], &[10.0, 20.0, 30.0]), 1.0));
        assert!(close(spearman(&[1.0, 2.0, 3.0], &[3.0, 2.0, 1.0]), -1.0));
        assert_eq!(spearman(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]), 0.0);
        let r = spearman(&[1.0, 2.0, 2.0, 3.0], &[1.0, 2.0, 3.0, 4.0]);
        assert!(r > 0.9 && r < 1.0, "{r}");
    }
}
