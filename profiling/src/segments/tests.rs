use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::catalogue::{COUNT, F};
use crate::metrics::adjusted_rand_index;
use crate::Features;

/// Three tight blobs far apart in 4 dimensions, 60 points each, interleaved.
fn blobs() -> (Vec<Vec<f32>>, Vec<usize>) {
    let centres = [
        [0.0f32, 0.0, 0.0, 0.0],
        [10.0, 10.0, 0.0, 0.0],
        [0.0, 10.0, 10.0, 10.0],
    ];
    let mut rng = ChaCha8Rng::seed_from_u64(11);
    let mut data = Vec::new();
    let mut truth = Vec::new();
    for i in 0..180 {
        let c = i % 3;
        data.push(
            centres[c]
                .iter()
                .map(|x| x + rng.gen_range(-0.5..0.5))
                .collect(),
        );
        truth.push(c);
    }
    (data, truth)
}

#[test]
fn kmeans_recovers_separated_blobs() {
    let (data, truth) = blobs();
    let fit = kmeans(&data, 3, 7, 100);
    assert_eq!(fit.centroids.len(), 3);
    assert_eq!(adjusted_rand_index(&fit.assignments, &truth), 1.0);
    assert!(fit.inertia > 0.0 && fit.inertia < 180.0 * 4.0 * 0.25);
    for (x, &a) in data.iter().zip(&fit.assignments) {
        assert_eq!(assign(&fit.centroids, x), a);
    }
}

#[test]
fn kmeans_is_deterministic_for_a_seed() {
    let (data, _) = blobs();
    assert_eq!(kmeans(&data, 4, 3, 50), kmeans(&data, 4, 3, 50));
}

#[test]
fn kmeans_handles_small_and_degenerate_inputs() {
    assert!(kmeans(&[], 3, 1, 10).assignments.is_empty());
    let two = vec![vec![1.0f32, 1.0], vec![2.0, 2.0]];
    let fit = kmeans(&two, 5, 1, 10);
    assert_eq!(fit.centroids.len(), 2, "k lowered to the number of rows");
    assert_eq!(adjusted_rand_index(&fit.assignments, &[0, 1]), 1.0);
    let same = vec![vec![1.0f32]; 10];
    let fit = kmeans(&same, 3, 1, 10);
    assert_eq!(fit.inertia, 0.0);
    assert_eq!(fit.assignments.len(), 10);
}

#[test]
fn silhouette_is_high_for_blobs_and_zero_for_one_cluster() {
    let (data, truth) = blobs();
    let s = silhouette(&data, &truth, 1_000, 1);
    assert!(s > 0.9, "{s}");
    let sampled = silhouette(&data, &truth, 50, 1);
    assert!(sampled > 0.9, "{sampled}");
    assert_eq!(silhouette(&data, &vec![0; data.len()], 100, 1), 0.0);
    let mixed: Vec<usize> = (0..data.len()).map(|i| i % 2).collect();
    assert!(silhouette(&data, &mixed, 1_000, 1) < 0.1);
}

#[test]
fn silhouette_matches_a_hand_computed_value() {
    // Points 0, 1 in cluster 0 and 4 in cluster 1 (one dimension).
    // Point 0: a = 1, b = 4 -> 0.75; point 1: a = 1, b = 3 -> 2/3; point 4 alone -> 0.
    let data = vec![vec![0.0f32], vec![1.0], vec![4.0]];
    let s = silhouette(&data, &[0, 0, 1], 10, 0);
    assert!((s - (0.75 + 2.0 / 3.0) / 3.0).abs() < 1e-6, "{s}");
}

#[test]
fn choose_k_picks_three_for_three_blobs() {
    let (data, _) = blobs();
    let (k, scores) = choose_k(&data, 2..=6, 5);
    assert_eq!(k, 3, "{scores:?}");
    assert_eq!(scores.len(), 5);
    assert_eq!(choose_k(&data[..2], 2..=4, 5), (1, vec![]));
}

fn features(set: &[(F, f64)]) -> Features {
    let mut values = vec![0.0; COUNT];
    for (f, v) in set {
        values[*f as usize] = *v;
    }
    Features {
        values,
        unconverted: Vec::new(),
    }
}

#[test]
fn describe_names_the_distinguishing_features() {
    let mut rows = Vec::new();
    let mut assignments = Vec::new();
    for i in 0..30 {
        let jitter = f64::from(i % 5) * 0.01;
        // Segment 0: travellers with big buffers; segment 1: overdrawn, thin buffers.
        rows.push(features(&[
            (F::CrossBorderShare365d, 0.4 + jitter),
            (F::LiquidAssetsMonths, 12.0 + jitter),
            (F::AgeYears, 40.0),
        ]));
        assignments.push(0);
        rows.push(features(&[
            (F::OverdraftDayShare90d, 0.6 + jitter),
            (F::LiquidAssetsMonths, 0.2 + jitter),
            (F::AgeYears, 40.0),
        ]));
        assignments.push(1);
    }
    let described = describe(&rows, &assignments, 3);
    assert_eq!(described.len(), 3);
    let (name0, text0) = &described[0];
    let text0 = &text0.to_lowercase();
    assert!(text0.contains("frequent travel abroad"), "{text0}");
    assert!(text0.contains("large savings buffer"), "{text0}");
    assert!(
        !text0.contains("older") && !text0.contains("younger"),
        "{text0}"
    );
    let (name1, text1) = &described[1];
    let text1 = &text1.to_lowercase();
    assert!(text1.contains("often overdrawn"), "{text1}");
    assert!(text1.contains("low savings buffer"), "{text1}");
    assert_ne!(name0, name1);
    for (name, _) in &described[..2] {
        let words = name.split_whitespace().count();
        assert!((2..=4).contains(&words), "{name}");
    }
    assert_eq!(described[2].0, "Empty segment");
}
