//! Model evaluation: stratified cross-validation folds, ROC AUC, KS, Brier score,
//! calibration and lift (gains) tables, and summary statistics.
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

/// Area under the precision-recall curve as average precision: the mean, over the
/// positives, of the precision at each one's rank, scores sorted high to low with tied scores
/// taken as one step (scikit-learn's `average_precision_score`). NaN without positives.
///
/// # Panics
/// If `scores` and `labels` differ in length.
pub fn average_precision(scores: &[f64], labels: &[bool]) -> f64 {
    assert_eq!(
        scores.len(),
        labels.len(),
        "average_precision: lengths differ"
    );
    let positives = labels.iter().filter(|&&l| l).count();
    if positives == 0 {
        return f64::NAN;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let (mut seen, mut hits, mut area) = (0usize, 0usize, 0.0);
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let found = order[start..end].iter().filter(|&&i| labels[i]).count();
        seen += end - start;
        hits += found;
        area += found as f64 / positives as f64 * (hits as f64 / seen as f64);
        start = end;
    }
    area
}

/// The share of positives among the `share` of rows scored highest (at least one row):
/// recall when that share of payments is alerted. NaN without positives.
///
/// # Panics
/// If `scores` and `labels` differ in length.
pub fn recall_at_share(scores: &[f64], labels: &[bool], share: f64) -> f64 {
    assert_eq!(
        scores.len(),
        labels.len(),
        "recall_at_share: lengths differ"
    );
    let positives = labels.iter().filter(|&&l| l).count();
    if positives == 0 || scores.is_empty() {
        return f64::NAN;
    }
    let k = ((share * scores.len() as f64).floor() as usize).clamp(1, scores.len());
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let caught = order[..k].iter().filter(|&&i| labels[i]).count();
    caught as f64 / positives as f64
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

/// One group of a lift (gains) table, groups ordered from the highest scores down.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LiftBin {
    /// 1 for the group of highest scores.
    pub group: usize,
    pub rows: usize,
    /// Positives in the group. A run of tied scores that straddles a group boundary shares
    /// its positives among the groups in proportion to its rows in each (the expectation
    /// over every order of the ties), so this can be fractional.
    pub positives: f64,
    pub min_score: f64,
    pub max_score: f64,
    /// `positives / rows`.
    pub response_rate: f64,
    /// The group's response rate over the overall rate (1 = no better than random).
    pub lift: f64,
    /// Share of all positives in this group and the ones above it (cumulative gains).
    pub cumulative_gain: f64,
    /// The response rate of this group and the ones above it over the overall rate.
    pub cumulative_lift: f64,
}

/// Lift table: rows sorted by score, highest first, cut into `groups` groups of (nearly)
/// equal size (group `g` holds sorted positions `g * n / groups .. (g + 1) * n / groups`,
/// as [`calibration_table`]); each group's response rate, lift and cumulative gains.
///
/// Ties are handled deterministically and without regard to the input order: a run of
/// equal scores cut by a group boundary shares its positives among the groups in proportion
/// to its rows on each side. With no positives the lifts are NaN (undefined). Empty groups
/// (fewer rows than groups) are left out.
///
/// # Panics
/// If `scores` and `labels` differ in length or a score is NaN (a NaN has no rank).
pub fn lift_table(scores: &[f64], labels: &[bool], groups: usize) -> Vec<LiftBin> {
    assert_eq!(scores.len(), labels.len(), "lift_table: lengths differ");
    assert!(
        scores.iter().all(|s| !s.is_nan()),
        "lift_table: a score is NaN"
    );
    let n = scores.len();
    if n == 0 {
        return Vec::new();
    }
    let groups = groups.clamp(1, n);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let bound = |g: usize| g * n / groups;
    let mut positives = vec![0.0; groups];
    // `group` is the first group that ends after `start`; runs come in order, so it only
    // moves forward.
    let (mut start, mut group) = (0, 0);
    while start < n {
        let mut end = start + 1;
        while end < n && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        let tied_positives = order[start..end].iter().filter(|&&i| labels[i]).count() as f64;
        while bound(group + 1) <= start {
            group += 1;
        }
        // Each group the run overlaps takes its share of the run's positives.
        let mut g = group;
        while g < groups && bound(g) < end {
            let overlap = bound(g + 1).min(end) - bound(g).max(start);
            positives[g] += tied_positives * overlap as f64 / (end - start) as f64;
            g += 1;
        }
        start = end;
    }
    let all_positives = labels.iter().filter(|&&l| l).count() as f64;
    let overall_rate = all_positives / n as f64;
    let (mut seen_rows, mut seen_positives) = (0usize, 0.0);
    (0..groups)
        .filter(|&g| bound(g + 1) > bound(g))
        .map(|g| {
            let rows = &order[bound(g)..bound(g + 1)];
            seen_rows += rows.len();
            seen_positives += positives[g];
            let response_rate = positives[g] / rows.len() as f64;
            LiftBin {
                group: g + 1,
                rows: rows.len(),
                positives: positives[g],
                min_score: scores[rows[rows.len() - 1]],
                max_score: scores[rows[0]],
                response_rate,
                lift: response_rate / overall_rate,
                cumulative_gain: seen_positives / all_positives,
                cumulative_lift: seen_positives / seen_rows as f64 / overall_rate,
            }
        })
        .collect()
}

/// Top-decile lift: the response rate among the 10% highest scores (the first group of
/// [`lift_table`] with ten groups, ties shared as there) over the overall response rate.
/// A perfect ranker with 10% positives has lift 10; a random one about 1.
///
/// NaN when there are fewer than ten rows (no decile) or no positives.
///
/// # Panics
/// As [`lift_table`].
pub fn top_decile_lift(scores: &[f64], labels: &[bool]) -> f64 {
    if scores.len() < 10 {
        assert_eq!(
            scores.len(),
            labels.len(),
            "top_decile_lift: lengths differ"
        );
        return f64::NAN;
    }
    lift_table(scores, labels, 10)[0].lift
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

    #[test]
    fn lift_of_known_rankers() {
        // 100 rows, 10 positives.
        let labels: Vec<bool> = (0..100).map(|i| i < 10).collect();
        let perfect: Vec<f64> = (0..100).map(|i| 1.0 - f64::from(i) / 100.0).collect();
        assert!((top_decile_lift(&perfect, &labels) - 10.0).abs() < 1e-12);
        let reversed: Vec<f64> = perfect.iter().map(|s| -s).collect();
        assert_eq!(top_decile_lift(&reversed, &labels), 0.0);
        // Every score tied: each decile gets a tenth of the positives, lift exactly 1.
        let table = lift_table(&[0.3; 100], &labels, 10);
        assert!(
            table.iter().all(|b| (b.lift - 1.0).abs() < 1e-12),
            "{table:?}"
        );
        assert!(table
            .iter()
            .all(|b| b.rows == 10 && (b.positives - 1.0).abs() < 1e-12));
        // The perfect ranker's gains reach 1 after the first decile and stay there.
        let table = lift_table(&perfect, &labels, 10);
        assert_eq!(table.len(), 10);
        assert_eq!((table[0].group, table[0].rows), (1, 10));
        assert!(table
            .iter()
            .all(|b| (b.cumulative_gain - 1.0).abs() < 1e-12));
        assert!((table[9].cumulative_lift - 1.0).abs() < 1e-12);
        assert_eq!((table[0].max_score, table[0].min_score), (1.0, 0.91));
    }

    #[test]
    fn random_scores_have_lift_near_one() {
        use rand::{Rng, SeedableRng};
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let labels: Vec<bool> = (0..50_000).map(|_| rng.gen::<f64>() < 0.1).collect();
        let scores: Vec<f64> = (0..50_000).map(|_| rng.gen()).collect();
        let lift = top_decile_lift(&scores, &labels);
        assert!((lift - 1.0).abs() < 0.1, "{lift}");
    }

    #[test]
    fn lift_is_undefined_without_positives_or_deciles() {
        assert!(top_decile_lift(&[0.5; 20], &[false; 20]).is_nan());
        assert!(top_decile_lift(&[0.5; 9], &[true; 9]).is_nan());
        assert!(lift_table(&[], &[], 10).is_empty());
        // Fewer rows than groups: one row per group.
        assert_eq!(
            lift_table(&[0.1, 0.2, 0.3], &[true, false, true], 10).len(),
            3
        );
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
        fn lift_table_adds_up_and_ignores_the_input_order(
            pairs in proptest::collection::vec((0u8..8, any::<bool>()), 1..200),
            groups in 1usize..12,
            rotation in 0usize..200,
        ) {
            // Few distinct scores, so ties straddle the boundaries.
            let scores: Vec<f64> = pairs.iter().map(|p| f64::from(p.0)).collect();
            let labels: Vec<bool> = pairs.iter().map(|p| p.1).collect();
            let table = lift_table(&scores, &labels, groups);
            let positives = labels.iter().filter(|&&l| l).count() as f64;
            prop_assert_eq!(table.iter().map(|b| b.rows).sum::<usize>(), scores.len());
            let counted: f64 = table.iter().map(|b| b.positives).sum();
            prop_assert!((counted - positives).abs() < 1e-9);
            prop_assert!(table.windows(2).all(|w| w[0].min_score >= w[1].max_score));
            let k = rotation % scores.len();
            let mut rotated_scores = scores.clone();
            let mut rotated_labels = labels.clone();
            rotated_scores.rotate_left(k);
            rotated_labels.rotate_left(k);
            let rotated = lift_table(&rotated_scores, &rotated_labels, groups);
            for (a, b) in table.iter().zip(&rotated) {
                prop_assert_eq!(a.rows, b.rows);
                prop_assert!((a.positives - b.positives).abs() < 1e-9);
            }
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

    #[test]
    fn average_precision_and_recall_at_a_share() {
        let scores = [0.9, 0.8, 0.7, 0.6, 0.5];
        let labels = [true, false, true, false, false];
        // Precision 1 at the first positive, 2/3 at the second.
        assert!((average_precision(&scores, &labels) - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-12);
        assert_eq!(recall_at_share(&scores, &labels, 0.2), 0.5);
        assert_eq!(recall_at_share(&scores, &labels, 0.6), 1.0);
        assert!(average_precision(&scores, &[false; 5]).is_nan());
    }
}
