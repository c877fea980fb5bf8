//! Small sampling helpers shared by the generators.
//!
//! Kept here rather than pulled from `rand_distr` where a hand-rolled version is both simpler
//! and faster for the tiny rates this crate draws (a Poisson with a mean below one per day).

use rand::Rng;
use rand_distr::StandardNormal;
use sextant_hash::splitmix64_finalise;

/// Largest count one Poisson draw returns, so a wild rate cannot blow up the event count.
const POISSON_MAX: u32 = 1_000;

/// Largest amount any synthetic payment or holding carries: ten million euros. Far below
/// `AmountMinor::MAX`, so every planned amount builds a valid domain amount.
pub(crate) const AMOUNT_MAX_MINOR: i64 = 1_000_000_000;

/// SplitMix64: turns structured inputs (a seed and an index) into well-spread bits, so that
/// neighbouring customers get unrelated random streams.
pub(crate) fn splitmix64(x: u64) -> u64 {
    splitmix64_finalise(x.wrapping_add(0x9E37_79B9_7F4A_7C15))
}

pub(crate) fn normal<R: Rng>(rng: &mut R) -> f64 {
    rng.sample(StandardNormal)
}

/// A log-normal draw given its median: prices and incomes are skewed to the right.
pub(crate) fn lognormal<R: Rng>(rng: &mut R, median: f64, sigma: f64) -> f64 {
    median * (sigma * normal(rng)).exp()
}

/// A log-normal draw given its mean, for flows that must add up to a monthly budget.
pub(crate) fn lognormal_mean<R: Rng>(rng: &mut R, mean: f64, sigma: f64) -> f64 {
    lognormal(rng, mean * (-0.5 * sigma * sigma).exp(), sigma)
}

/// Poisson count: Knuth's product method for the small means used here, a rounded normal
/// above 30 where the product method gets slow.
pub(crate) fn poisson<R: Rng>(rng: &mut R, mean: f64) -> u32 {
    if mean.is_nan() || mean <= 0.0 {
        return 0;
    }
    if mean > 30.0 {
        let x = mean + mean.sqrt() * normal(rng);
        return x.round().clamp(0.0, f64::from(POISSON_MAX)) as u32;
    }
    let limit = (-mean).exp();
    let mut product: f64 = rng.gen();
    let mut count = 0;
    while product > limit && count < POISSON_MAX {
        product *= rng.gen::<f64>();
        count += 1;
    }
    count
}

/// True with probability `p`; unlike `gen_bool` it accepts any `p` (clamping it), since
/// probabilities here come out of formulas.
pub(crate) fn chance<R: Rng>(rng: &mut R, p: f64) -> bool {
    rng.gen::<f64>() < p
}

pub(crate) fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// An index drawn with probability proportional to `weights` (non-negative, not all zero).
pub(crate) fn pick<R: Rng>(rng: &mut R, weights: &[f64]) -> usize {
    debug_assert!(!weights.is_empty());
    let total: f64 = weights.iter().sum();
    let mut target = rng.gen::<f64>() * total;
    for (i, w) in weights.iter().enumerate() {
        if target < *w {
            return i;
        }
        target -= w;
    }
    weights.len() - 1
}

/// A precomputed cumulative distribution for draws in hot loops (a binary search per draw
/// instead of a sum and a scan).
#[derive(Debug, Clone)]
pub(crate) struct Cumulative<const N: usize> {
    acc: [f64; N],
}

impl<const N: usize> Cumulative<N> {
    pub(crate) fn new(weights: &[f64; N]) -> Self {
        let mut acc = [0.0; N];
        let mut sum = 0.0;
        for (slot, w) in acc.iter_mut().zip(weights) {
            sum += w.max(0.0);
            *slot = sum;
        }
        assert!(sum > 0.0, "a distribution needs some weight");
        Cumulative { acc }
    }

    pub(crate) fn sample<R: Rng>(&self, rng: &mut R) -> usize {
        let target = rng.gen::<f64>() * self.acc[N - 1];
        self.acc.partition_point(|&a| a <= target).min(N - 1)
    }
}

/// Euros to cents, kept positive and bounded so it always builds an `AmountMinor`.
pub(crate) fn cents(eur: f64) -> i64 {
    ((eur * 100.0).round() as i64).clamp(1, AMOUNT_MAX_MINOR)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn poisson_mean_is_close() {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        for mean in [0.3, 2.5, 45.0] {
            let n = 20_000;
            let total: u64 = (0..n).map(|_| u64::from(poisson(&mut rng, mean))).sum();
            let observed = total as f64 / f64::from(n);
            assert!(
                (observed - mean).abs() < mean * 0.05 + 0.02,
                "{mean}: {observed}"
            );
        }
        assert_eq!(poisson(&mut rng, 0.0), 0);
        assert_eq!(poisson(&mut rng, f64::NAN), 0);
    }

    #[test]
    fn cumulative_follows_weights() {
        let mut rng = ChaCha8Rng::seed_from_u64(2);
        let dist = Cumulative::new(&[1.0, 0.0, 3.0]);
        let mut counts = [0u32; 3];
        for _ in 0..40_000 {
            counts[dist.sample(&mut rng)] += 1;
        }
        assert_eq!(counts[1], 0);
        let ratio = f64::from(counts[2]) / f64::from(counts[0]);
        assert!((2.7..3.3).contains(&ratio), "{ratio}");
    }

    #[test]
    fn cents_are_positive_and_bounded() {
        assert_eq!(cents(12.345), 1235);
        assert_eq!(cents(-3.0), 1);
        assert_eq!(cents(1e12), AMOUNT_MAX_MINOR);
    }

    #[test]
    fn lognormal_mean_hits_its_mean() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let n = 50_000;
        let total: f64 = (0..n).map(|_| lognormal_mean(&mut rng, 100.0, 0.6)).sum();
        let mean = total / f64::from(n);
        assert!((95.0..105.0).contains(&mean), "{mean}");
    }
}
