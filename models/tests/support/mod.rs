//! Test helpers: a synthetic population with known groups, k-means, and the adjusted Rand
//! index to score a clustering against the groups.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sextant_models::embedding::TrainingData;

/// Group shares: unequal, like real personas.
const SHARES: [f64; 6] = [0.30, 0.20, 0.15, 0.15, 0.12, 0.08];
const INFORMATIVE: usize = 20;
const MONEY: usize = 30;
const COUNTS: usize = 5;
const FLAGS: usize = 5;
const NOISE: usize = 10;
pub const FEATURES: usize = INFORMATIVE + MONEY + COUNTS + FLAGS + NOISE;
pub const MONTHS: usize = 12;
pub const CATEGORIES: usize = 12;
pub const PRODUCTS: usize = 8;

/// A population whose true group is known.
pub struct Toy {
    pub data: TrainingData,
    pub group: Vec<usize>,
}

/// Per-group parameters, drawn from a fixed seed so every population shares them.
struct Groups {
    informative_mean: Vec<Vec<f64>>,
    money_log_mean: Vec<Vec<f64>>,
    count_rate: Vec<Vec<f64>>,
    flag_chance: Vec<Vec<f64>>,
    category_mix: Vec<Vec<f64>>,
    product_logit: Vec<Vec<f64>>,
}

fn groups() -> Groups {
    let mut rng = ChaCha8Rng::seed_from_u64(1_234);
    let g = SHARES.len();
    let table = |rng: &mut ChaCha8Rng, width: usize, f: &dyn Fn(&mut ChaCha8Rng) -> f64| {
        (0..g)
            .map(|_| (0..width).map(|_| f(rng)).collect())
            .collect::<Vec<Vec<f64>>>()
    };
    Groups {
        informative_mean: table(&mut rng, INFORMATIVE, &|r| 0.45 * normal(r)),
        money_log_mean: table(&mut rng, MONEY, &|r| 11.0 + 0.45 * normal(r)),
        count_rate: table(&mut rng, COUNTS, &|r| r.gen_range(4.0..8.0)),
        flag_chance: table(&mut rng, FLAGS, &|r| r.gen_range(0.05..0.6)),
        category_mix: table(&mut rng, CATEGORIES, &|r| (0.3 * normal(r)).exp()),
        product_logit: table(&mut rng, PRODUCTS, &|r| -1.5 + 1.2 * normal(r)),
    }
}

/// `rows` customers drawn with `seed`. Groups differ a little in each of many features (as
/// personas do: no single column gives a group away), in money (log-normal, in cents, with a
/// wealth factor shared across groups; most real profile columns are such skewed amounts),
/// counts, flags, the spending mix and product take-up;
/// 10 noise columns, some heavy-tailed, carry nothing. The spending mix differs only mildly
/// between groups because in the real feature set the profile's spending shares already
/// carry most of what the monthly sequence says.
pub fn population(rows: usize, seed: u64) -> Toy {
    let params = groups();
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut toy = Toy {
        data: TrainingData {
            features: Vec::with_capacity(rows),
            sequences: Vec::with_capacity(rows),
            adoption: Some(Vec::with_capacity(rows)),
        },
        group: Vec::with_capacity(rows),
    };
    for _ in 0..rows {
        let group = pick(&mut rng, &SHARES);
        let (features, sequence, adoption) = customer(&params, group, &mut rng);
        toy.data.features.push(features);
        toy.data.sequences.push(sequence);
        toy.data.adoption.as_mut().unwrap().push(adoption);
        toy.group.push(group);
    }
    toy
}

fn customer(p: &Groups, g: usize, rng: &mut ChaCha8Rng) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let wealth = normal(rng);
    let mut f = Vec::with_capacity(FEATURES);
    f.extend(p.informative_mean[g].iter().map(|m| m + normal(rng)));
    f.extend(
        p.money_log_mean[g]
            .iter()
            .map(|m| (m + 0.6 * wealth + 0.5 * normal(rng)).exp()),
    );
    f.extend(p.count_rate[g].iter().map(|&rate| poisson(rng, rate)));
    f.extend(
        p.flag_chance[g]
            .iter()
            .map(|&c| f64::from(u8::from(rng.gen::<f64>() < c))),
    );
    for j in 0..NOISE {
        f.push(match j % 3 {
            0 => 10.0 * normal(rng),
            1 => (1.5 * normal(rng)).exp() * 1_000.0,
            _ => rng.gen_range(0.0..100.0),
        });
    }
    let mix: Vec<f64> = p.category_mix[g]
        .iter()
        .map(|w| w * (0.4 * normal(rng)).exp())
        .collect();
    let mut sequence = Vec::with_capacity(MONTHS * CATEGORIES);
    for _ in 0..MONTHS {
        let purchases = poisson(rng, 12.0) as usize;
        let mut counts = [0.0f32; CATEGORIES];
        for _ in 0..purchases {
            counts[pick(rng, &mix)] += 1.0;
        }
        let total: f32 = counts.iter().sum();
        sequence.extend(
            counts
                .iter()
                .map(|c| if total > 0.0 { c / total } else { 0.0 }),
        );
    }
    let adoption = p.product_logit[g]
        .iter()
        .map(|l| {
            let chance = 1.0 / (1.0 + (-(l + 0.5 * wealth)).exp());
            f32::from(u8::from(rng.gen::<f64>() < chance))
        })
        .collect();
    (f.iter().map(|&v| v as f32).collect(), sequence, adoption)
}

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    // Box-Muller: exact enough for test data and free of extra dependencies.
    let u: f64 = rng.gen_range(f64::EPSILON..1.0);
    let v: f64 = rng.gen();
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

fn poisson(rng: &mut ChaCha8Rng, rate: f64) -> f64 {
    // Knuth's method; the rates here are small.
    let limit = (-rate).exp();
    let mut product: f64 = rng.gen();
    let mut k = 0.0;
    while product > limit {
        product *= rng.gen::<f64>();
        k += 1.0;
    }
    k
}

fn pick(rng: &mut ChaCha8Rng, weights: &[f64]) -> usize {
    let mut target = rng.gen::<f64>() * weights.iter().sum::<f64>();
    for (i, w) in weights.iter().enumerate() {
        if target < *w {
            return i;
        }
        target -= w;
    }
    weights.len() - 1
}

/// Rows z-scored per column (population sd; constant columns left at zero): the baseline.
pub fn standardised(rows: &[Vec<f32>]) -> Vec<Vec<f32>> {
    let n = rows.len() as f64;
    let width = rows[0].len();
    let mut mean = vec![0.0f64; width];
    let mut sq = vec![0.0f64; width];
    for row in rows {
        for j in 0..width {
            mean[j] += f64::from(row[j]) / n;
        }
    }
    for row in rows {
        for j in 0..width {
            sq[j] += (f64::from(row[j]) - mean[j]).powi(2) / n;
        }
    }
    rows.iter()
        .map(|row| {
            (0..width)
                .map(|j| {
                    let sd = sq[j].sqrt();
                    if sd > 0.0 {
                        ((f64::from(row[j]) - mean[j]) / sd) as f32
                    } else {
                        0.0
                    }
                })
                .collect()
        })
        .collect()
}

/// k-means++ then Lloyd, best of `restarts` by inertia. Deterministic by seed.
pub fn kmeans(points: &[Vec<f32>], k: usize, restarts: usize, seed: u64) -> Vec<usize> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut best = (f64::INFINITY, Vec::new());
    for _ in 0..restarts {
        let (inertia, labels) = lloyd(points, seeds(points, k, &mut rng));
        if inertia < best.0 {
            best = (inertia, labels);
        }
    }
    best.1
}

fn seeds(points: &[Vec<f32>], k: usize, rng: &mut ChaCha8Rng) -> Vec<Vec<f32>> {
    let mut centres = vec![points[rng.gen_range(0..points.len())].clone()];
    while centres.len() < k {
        let d: Vec<f64> = points.iter().map(|p| nearest(p, &centres).1).collect();
        centres.push(points[pick(rng, &d)].clone());
    }
    centres
}

fn lloyd(points: &[Vec<f32>], mut centres: Vec<Vec<f32>>) -> (f64, Vec<usize>) {
    let width = points[0].len();
    let mut labels = vec![usize::MAX; points.len()];
    for _ in 0..100 {
        let next: Vec<usize> = points.iter().map(|p| nearest(p, &centres).0).collect();
        if next == labels {
            break;
        }
        labels = next;
        let mut sums = vec![vec![0.0f64; width]; centres.len()];
        let mut counts = vec![0usize; centres.len()];
        for (p, &l) in points.iter().zip(&labels) {
            counts[l] += 1;
            sums[l]
                .iter_mut()
                .zip(p)
                .for_each(|(s, &v)| *s += f64::from(v));
        }
        for (c, (sum, &count)) in centres.iter_mut().zip(sums.iter().zip(&counts)) {
            if count > 0 {
                *c = sum.iter().map(|s| (s / count as f64) as f32).collect();
            }
        }
    }
    let inertia = points.iter().map(|p| nearest(p, &centres).1).sum();
    (inertia, labels)
}

fn nearest(p: &[f32], centres: &[Vec<f32>]) -> (usize, f64) {
    centres
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let d: f64 = p.iter().zip(c).map(|(a, b)| f64::from(a - b).powi(2)).sum();
            (i, d)
        })
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .unwrap()
}

fn contingency(a: &[usize], b: &[usize]) -> Vec<Vec<f64>> {
    let ka = a.iter().max().unwrap() + 1;
    let kb = b.iter().max().unwrap() + 1;
    let mut table = vec![vec![0.0; kb]; ka];
    for (&x, &y) in a.iter().zip(b) {
        table[x][y] += 1.0;
    }
    table
}

/// Adjusted Rand index (Hubert and Arabie).
pub fn adjusted_rand_index(a: &[usize], b: &[usize]) -> f64 {
    let table = contingency(a, b);
    let pairs = |n: f64| n * (n - 1.0) / 2.0;
    let index: f64 = table.iter().flatten().map(|&n| pairs(n)).sum();
    let rows: f64 = table.iter().map(|r| pairs(r.iter().sum())).sum();
    let cols: f64 = (0..table[0].len())
        .map(|j| pairs(table.iter().map(|r| r[j]).sum()))
        .sum();
    let expected = rows * cols / pairs(a.len() as f64);
    (index - expected) / ((rows + cols) / 2.0 - expected)
}
