//! Model evaluation: stratified cross-validation folds, ROC AUC, and summary statistics.
//!
//! Pure functions over slices; the fold assignment is reproducible from a seed so a reported
//! cross-validated score can be recomputed exactly.

use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Stratified k folds: each fold's test set keeps the class balance of `y` (its positive
/// count is within one of `positives / k`, same for negatives), and fold sizes differ by at
/// most one. Indices are shuffled deterministically by `seed`.
///
/// Returns one `(train, test)` pair per fold, each sorted ascending; every index appears in
/// exactly one test set and in the train set of every other fold.
///
/// # Panics
/// If `k < 2` or `k > y.len()`: such a split has an empty or missing test fold, which is a
/// caller bug rather than a data condition.
pub fn stratified_kfold(y: &[bool], k: usize, seed: u64) -> Vec<(Vec<usize>, Vec<usize>)> {
    assert!(k >= 2, "stratified_kfold needs k >= 2, got {k}");
    assert!(
        k <= y.len(),
        "stratified_kfold needs k <= rows ({}), got {k}",
        y.len()
    );
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut positives: Vec<usize> = (0..y.len()).filter(|&i| y[i]).collect();
    let mut negatives: Vec<usize> = (0..y.len()).filter(|&i| !y[i]).collect();
    positives.shuffle(&mut rng);
    negatives.shuffle(&mut rng);

    // Deal positives then negatives round-robin, the negatives continuing where the positives
    // stopped: each class is spread evenly, and so are the fold totals.
    let mut fold_of = vec![0usize; y.len()];
    for (position, &index) in positives.iter().chain(negatives.iter()).enumerate() {
        fold_of[index] = position % k;
    }
    (0..k)
        .map(|fold| {
            let (test, train): (Vec<usize>, Vec<usize>) =
                (0..y.len()).partition(|&i| fold_of[i] == fold);
            (train, test)
        })
        .collect()
}

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting one half (Mann-Whitney U with average ranks).
///
/// Returns NaN when either class is absent, because the area is then undefined.
///
/// # Panics
/// If `scores` and `labels` differ in length.
pub fn roc_auc(scores: &[f64], labels: &[bool]) -> f64 {
    assert_eq!(
        scores.len(),
        labels.len(),
        "roc_auc: scores and labels differ in length"
    );
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return f64::NAN;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));

    let mut positive_rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        // Ranks are 1-based; a run of ties shares the mean of its ranks.
        let average_rank = (start + 1 + end) as f64 / 2.0;
        let tied_positives = order[start..end].iter().filter(|&&i| labels[i]).count();
        positive_rank_sum += average_rank * tied_positives as f64;
        start = end;
    }
    let positives = positives as f64;
    let u = positive_rank_sum - positives * (positives + 1.0) / 2.0;
    u / (positives * negatives as f64)
}

/// Kolmogorov-Smirnov statistic: the largest gap between the score distributions of the
/// positives and the negatives (0 = no separation, 1 = perfect). NaN when a class is absent.
pub fn ks_statistic(scores: &[f64], labels: &[bool]) -> f64 {
    assert_eq!(scores.len(), labels.len(), "ks_statistic: lengths differ");
    let positives = labels.iter().filter(|&&l| l).count() as f64;
    let negatives = labels.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return f64::NAN;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut seen_positive, mut seen_negative, mut best) = (0.0, 0.0, 0.0f64);
    let mut start = 0;
    while start < order.len() {
        // Ties move both curves together, so the gap is measured after the whole run.
        let mut end = start;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            if labels[order[end]] {
                seen_positive += 1.0;
            } else {
                seen_negative += 1.0;
            }
            end += 1;
        }
        best = best.max((seen_positive / positives - seen_negative / negatives).abs());
        start = end;
    }
    best
}

/// Brier score: the mean squared error of predicted probabilities (lower is better).
pub fn brier_score(probabilities: &[f64], labels: &[bool]) -> f64 {
    assert_eq!(
        probabilities.len(),
        labels.len(),
        "brier_score: lengths differ"
    );
    probabilities
        .iter()
        .zip(labels)
        .map(|(p, &l)| (p - f64::from(u8::from(l))).powi(2))
        .sum::<f64>()
        / probabilities.len() as f64
}

/// One group of a calibration table.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct CalibrationBin {
    pub count: usize,
    pub mean_predicted: f64,
    pub observed_rate: f64,
}

/// Calibration table: rows sorted by predicted probability and cut into `groups` groups of
/// (nearly) equal size; each group's mean prediction against its observed positive rate.
pub fn calibration_table(
    probabilities: &[f64],
    labels: &[bool],
    groups: usize,
) -> Vec<CalibrationBin> {
    assert_eq!(
        probabilities.len(),
        labels.len(),
        "calibration_table: lengths differ"
    );
    let n = probabilities.len();
    let groups = groups.clamp(1, n.max(1));
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| probabilities[a].total_cmp(&probabilities[b]));
    (0..groups)
        .map(|g| {
            let rows = &order[g * n / groups..(g + 1) * n / groups];
            let count = rows.len().max(1) as f64;
            CalibrationBin {
                count: rows.len(),
                mean_predicted: rows.iter().map(|&i| probabilities[i]).sum::<f64>() / count,
                observed_rate: rows.iter().filter(|&&i| labels[i]).count() as f64 / count,
            }
        })
        .filter(|b| b.count > 0)
        .collect()
}

/// Mean and sample standard deviation (n - 1 in the denominator).
///
/// The mean is NaN for no values and the deviation NaN for fewer than two: both are undefined
/// there, and a NaN is louder than a made-up zero.
pub fn mean_sd(values: &[f64]) -> (f64, f64) {
    if values.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if values.len() < 2 {
        return (mean, f64::NAN);
    }
    let squares: f64 = values.iter().map(|v| (v - mean) * (v - mean)).sum();
    (mean, (squares / (n - 1.0)).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ks_brier_and_calibration_on_known_cases() {
        let labels = [false, false, true, true];
        assert_eq!(ks_statistic(&[0.1, 0.2, 0.8, 0.9], &labels), 1.0);
        assert_eq!(ks_statistic(&[0.5; 4], &labels), 0.0);
        assert!((brier_score(&[0.0, 0.0, 1.0, 1.0], &labels)).abs() < 1e-12);
        assert!((brier_score(&[0.5; 4], &labels) - 0.25).abs() < 1e-12);
        let table = calibration_table(&[0.1, 0.2, 0.8, 0.9], &labels, 2);
        assert_eq!(table.len(), 2);
        assert!((table[0].mean_predicted - 0.15).abs() < 1e-12 && table[0].observed_rate == 0.0);
        assert!((table[1].mean_predicted - 0.85).abs() < 1e-12 && table[1].observed_rate == 1.0);
    }
    use proptest::prelude::*;

    #[test]
    fn auc_of_known_orderings() {
        let labels = [false, false, true, true];
        assert_eq!(roc_auc(&[0.1, 0.2, 0.8, 0.9], &labels), 1.0);
        assert_eq!(roc_auc(&[0.9, 0.8, 0.2, 0.1], &labels), 0.0);
        assert_eq!(roc_auc(&[0.5, 0.5, 0.5, 0.5], &labels), 0.5);
        // One positive (0.35) beats one of two negatives, the other beats both: 3 of 4 pairs.
        assert_eq!(roc_auc(&[0.1, 0.4, 0.35, 0.8], &labels), 0.75);
        // A tie between a positive and a negative counts one half: (2 + 0.5 + 1) / 4.
        assert_eq!(roc_auc(&[0.1, 0.4, 0.4, 0.8], &labels), 0.875);
    }

    #[test]
    fn auc_is_undefined_for_one_class() {
        assert!(roc_auc(&[0.1, 0.2], &[true, true]).is_nan());
        assert!(roc_auc(&[], &[]).is_nan());
    }

    #[test]
    fn mean_sd_known_values() {
        let (mean, sd) = mean_sd(&[2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]);
        assert_eq!(mean, 5.0);
        // Population sd is 2; the sample sd is sqrt(32 / 7).
        assert!((sd - (32.0f64 / 7.0).sqrt()).abs() < 1e-12);
        assert!(mean_sd(&[]).0.is_nan());
        let (mean, sd) = mean_sd(&[3.0]);
        assert_eq!(mean, 3.0);
        assert!(sd.is_nan());
    }

    #[test]
    fn kfold_is_deterministic_and_seed_dependent() {
        let y: Vec<bool> = (0..100).map(|i| i % 3 == 0).collect();
        assert_eq!(stratified_kfold(&y, 5, 1), stratified_kfold(&y, 5, 1));
        assert_ne!(stratified_kfold(&y, 5, 1), stratified_kfold(&y, 5, 2));
    }

    #[test]
    #[should_panic(expected = "k >= 2")]
    fn kfold_refuses_one_fold() {
        stratified_kfold(&[true, false], 1, 0);
    }

    proptest! {
        #[test]
        fn kfold_partitions_and_stratifies(
            y in proptest::collection::vec(any::<bool>(), 2..300),
            k in 2usize..10,
            seed in any::<u64>(),
        ) {
            prop_assume!(k <= y.len());
            let folds = stratified_kfold(&y, k, seed);
            prop_assert_eq!(folds.len(), k);
            let positives = y.iter().filter(|&&v| v).count() as f64;
            let negatives = y.len() as f64 - positives;
            let mut seen = vec![0usize; y.len()];
            for (train, test) in &folds {
                prop_assert_eq!(train.len() + test.len(), y.len());
                for &i in test {
                    seen[i] += 1;
                }
                let mut all: Vec<usize> = train.iter().chain(test).copied().collect();
                all.sort_unstable();
                prop_assert_eq!(all, (0..y.len()).collect::<Vec<_>>());
                let test_positives = test.iter().filter(|&&i| y[i]).count() as f64;
                let test_negatives = test.len() as f64 - test_positives;
                prop_assert!((test_positives - positives / k as f64).abs() < 1.0);
                prop_assert!((test_negatives - negatives / k as f64).abs() < 1.0);
                prop_assert!((test.len() as f64 - y.len() as f64 / k as f64).abs() < 1.0);
            }
            prop_assert!(seen.iter().all(|&count| count == 1));
        }

        #[test]
        fn auc_is_a_probability_and_flips_with_the_scores(
            pairs in proptest::collection::vec((-5.0f64..5.0, any::<bool>()), 2..100),
        ) {
            let scores: Vec<f64> = pairs.iter().map(|p| p.0).collect();
            let labels: Vec<bool> = pairs.iter().map(|p| p.1).collect();
            let auc = roc_auc(&scores, &labels);
            prop_assume!(!auc.is_nan());
            prop_assert!((0.0..=1.0).contains(&auc));
            let negated: Vec<f64> = scores.iter().map(|s| -s).collect();
            prop_assert!((roc_auc(&negated, &labels) - (1.0 - auc)).abs() < 1e-12);
        }
    }
}
