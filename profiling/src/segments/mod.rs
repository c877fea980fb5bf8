//! Customer segments: k-means over feature or embedding vectors, the silhouette to choose
//! the number of segments, and plain-language descriptions of each segment.
//!
//! Everything is deterministic for a seed: randomness comes from a seeded ChaCha stream, the
//! parallel steps (rayon) compute per-point results that are then combined sequentially in
//! index order, so floating-point sums do not depend on thread scheduling.

mod describe;

use rand::seq::index;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;

pub use describe::describe;

/// Most segments a clustering may have: more could not be told apart or named.
pub const MAX_K: usize = 256;
/// k-means++ restarts; the run with the lowest inertia wins. Guards against an unlucky seed
/// merging two clusters.
const RESTARTS: u64 = 3;
/// Iterations per k-means run inside [`choose_k`].
const CHOOSE_K_ITERATIONS: usize = 100;
/// Points the silhouette of each candidate k is estimated on inside [`choose_k`].
const CHOOSE_K_SAMPLE: usize = 1_000;

/// A fitted clustering.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeans {
    pub centroids: Vec<Vec<f32>>,
    /// Segment of each input row.
    pub assignments: Vec<usize>,
    /// Sum of squared distances of the rows to their centroids.
    pub inertia: f64,
}

fn squared_distance(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

/// Index of the centroid nearest `point` (the lowest index on ties); 0 without centroids.
pub fn assign(centroids: &[Vec<f32>], point: &[f32]) -> usize {
    let mut best = (0, f32::INFINITY);
    for (i, c) in centroids.iter().enumerate() {
        let d = squared_distance(c, point);
        if d < best.1 {
            best = (i, d);
        }
    }
    best.0
}

fn assign_all(centroids: &[Vec<f32>], data: &[Vec<f32>]) -> Vec<usize> {
    data.par_iter().map(|x| assign(centroids, x)).collect()
}

/// k-means++ seeding then Lloyd iterations, best of a few restarts; deterministic for a
/// seed. `k` above the number of rows is lowered to it; empty data gives an empty result.
///
/// # Panics
/// When `k` is 0 or above [`MAX_K`], or rows differ in length: caller bugs.
pub fn kmeans(data: &[Vec<f32>], k: usize, seed: u64, max_iterations: usize) -> KMeans {
    assert!((1..=MAX_K).contains(&k), "k = {k} must lie in 1..={MAX_K}");
    let dim = data.first().map_or(0, Vec::len);
    assert!(
        data.iter().all(|row| row.len() == dim),
        "every row must have {dim} values"
    );
    if data.is_empty() {
        return KMeans {
            centroids: Vec::new(),
            assignments: Vec::new(),
            inertia: 0.0,
        };
    }
    let k = k.min(data.len());
    (0..RESTARTS)
        .map(|run| lloyd(data, k, seed.wrapping_add(run), max_iterations))
        .min_by(|a, b| a.inertia.total_cmp(&b.inertia))
        .expect("at least one restart")
}

fn lloyd(data: &[Vec<f32>], k: usize, seed: u64, max_iterations: usize) -> KMeans {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut centroids = seed_plus_plus(data, k, &mut rng);
    let mut assignments = assign_all(&centroids, data);
    for _ in 0..max_iterations {
        centroids = update(data, &assignments, &centroids);
        let next = assign_all(&centroids, data);
        if next == assignments {
            break;
        }
        assignments = next;
    }
    let distances: Vec<f64> = data
        .par_iter()
        .zip(&assignments)
        .map(|(x, &a)| f64::from(squared_distance(x, &centroids[a])))
        .collect();
    KMeans {
        centroids,
        assignments,
        inertia: distances.iter().sum(),
    }
}

/// k-means++: each next centre drawn with probability proportional to its squared distance
/// from the nearest centre chosen so far.
fn seed_plus_plus(data: &[Vec<f32>], k: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<f32>> {
    let mut centroids = vec![data[rng.gen_range(0..data.len())].clone()];
    let mut nearest: Vec<f64> = vec![f64::INFINITY; data.len()];
    while centroids.len() < k {
        let latest = centroids.last().expect("one centre chosen");
        nearest.par_iter_mut().zip(data).for_each(|(d, x)| {
            *d = d.min(f64::from(squared_distance(x, latest)));
        });
        let total: f64 = nearest.iter().sum();
        let next = if total > 0.0 && total.is_finite() {
            let mut target = rng.gen::<f64>() * total;
            let mut chosen = data.len() - 1;
            for (i, d) in nearest.iter().enumerate() {
                if target < *d {
                    chosen = i;
                    break;
                }
                target -= d;
            }
            chosen
        } else {
            // Every point sits on a centre already: any point will do.
            rng.gen_range(0..data.len())
        };
        centroids.push(data[next].clone());
    }
    centroids
}

/// New centroids as member means. An empty cluster takes the point farthest from its own
/// centroid, so no segment is lost.
fn update(data: &[Vec<f32>], assignments: &[usize], old: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let (k, dim) = (old.len(), old[0].len());
    let mut sums = vec![vec![0.0f64; dim]; k];
    let mut counts = vec![0usize; k];
    for (x, &a) in data.iter().zip(assignments) {
        counts[a] += 1;
        for (s, v) in sums[a].iter_mut().zip(x) {
            *s += f64::from(*v);
        }
    }
    let mut centroids: Vec<Vec<f32>> = sums
        .iter()
        .zip(&counts)
        .zip(old)
        .map(|((sum, &count), previous)| {
            if count == 0 {
                previous.clone()
            } else {
                sum.iter().map(|s| (s / count as f64) as f32).collect()
            }
        })
        .collect();
    let mut taken: Vec<usize> = Vec::new();
    for cluster in (0..k).filter(|&c| counts[c] == 0) {
        let farthest = data
            .iter()
            .zip(assignments)
            .enumerate()
            .filter(|(i, _)| !taken.contains(i))
            .map(|(i, (x, &a))| (i, squared_distance(x, &centroids[a])))
            .fold(None, |best: Option<(usize, f32)>, (i, d)| match best {
                Some((_, bd)) if bd >= d => best,
                _ => Some((i, d)),
            });
        if let Some((i, _)) = farthest {
            taken.push(i);
            centroids[cluster] = data[i].clone();
        }
    }
    centroids
}

/// Mean silhouette on a deterministic sample of at most `sample` rows (Euclidean distance,
/// against all rows). 0 with fewer than two segments or two rows; a row alone in its segment
/// scores 0, as in scikit-learn.
pub fn silhouette(data: &[Vec<f32>], assignments: &[usize], sample: usize, seed: u64) -> f64 {
    assert_eq!(data.len(), assignments.len(), "one assignment per row");
    let n = data.len();
    let mut labels: Vec<usize> = assignments.to_vec();
    labels.sort_unstable();
    labels.dedup();
    if n < 2 || labels.len() < 2 || sample == 0 {
        return 0.0;
    }
    let dense: Vec<usize> = assignments
        .iter()
        .map(|a| labels.binary_search(a).expect("label is listed"))
        .collect();
    let mut sizes = vec![0usize; labels.len()];
    for &c in &dense {
        sizes[c] += 1;
    }
    let mut rows: Vec<usize> = if n <= sample {
        (0..n).collect()
    } else {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        index::sample(&mut rng, n, sample).into_vec()
    };
    rows.sort_unstable();
    let scores: Vec<f64> = rows
        .par_iter()
        .map(|&i| silhouette_of(data, &dense, &sizes, i))
        .collect();
    scores.iter().sum::<f64>() / scores.len() as f64
}

fn silhouette_of(data: &[Vec<f32>], dense: &[usize], sizes: &[usize], i: usize) -> f64 {
    let own = dense[i];
    if sizes[own] < 2 {
        return 0.0;
    }
    let mut sums = vec![0.0f64; sizes.len()];
    for (j, x) in data.iter().enumerate() {
        if j != i {
            sums[dense[j]] += f64::from(squared_distance(&data[i], x)).sqrt();
        }
    }
    let a = sums[own] / (sizes[own] - 1) as f64;
    let b = sums
        .iter()
        .zip(sizes)
        .enumerate()
        .filter(|&(c, (_, &size))| c != own && size > 0)
        .map(|(_, (sum, &size))| sum / size as f64)
        .fold(f64::INFINITY, f64::min);
    let scale = a.max(b);
    if scale > 0.0 && scale.is_finite() {
        (b - a) / scale
    } else {
        0.0
    }
}

/// Tries each k in `ks` (those from 2 up to one less than the number of rows, at most
/// [`MAX_K`]); returns the k with the best silhouette (the smaller on ties) and every
/// (k, silhouette) tried. Returns `(1, [])` when no k in the range can be tried.
pub fn choose_k(
    data: &[Vec<f32>],
    ks: std::ops::RangeInclusive<usize>,
    seed: u64,
) -> (usize, Vec<(usize, f64)>) {
    let upper = data.len().saturating_sub(1).min(MAX_K);
    let scores: Vec<(usize, f64)> = ks
        .filter(|&k| k >= 2 && k <= upper)
        .map(|k| {
            let fit = kmeans(data, k, seed, CHOOSE_K_ITERATIONS);
            (k, silhouette(data, &fit.assignments, CHOOSE_K_SAMPLE, seed))
        })
        .collect();
    let best = scores
        .iter()
        .fold(None, |best: Option<(usize, f64)>, &(k, s)| match best {
            Some((_, bs)) if bs >= s => best,
            _ => Some((k, s)),
        })
        .map_or(1, |(k, _)| k);
    (best, scores)
}

#[cfg(test)]
mod tests;
