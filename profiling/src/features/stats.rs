//! Small statistics over a customer's numbers.

/// Shannon entropy in bits of the values' frequencies; sorts in place.
pub(super) fn entropy_bits(values: &mut [u64]) -> f64 {
    let n = values.len() as f64;
    if values.is_empty() {
        return 0.0;
    }
    values.sort_unstable();
    values
        .chunk_by(|a, b| a == b)
        .map(|run| {
            let p = run.len() as f64 / n;
            -p * p.log2()
        })
        .sum()
}

pub(super) fn median(values: &mut [f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_unstable_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    }
}

/// Sample coefficient of variation; 0 with fewer than two values or a non-positive mean.
pub(super) fn coefficient_of_variation(values: &[f64]) -> f64 {
    if values.len() < 2 {
        return 0.0;
    }
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    if mean <= 0.0 {
        return 0.0;
    }
    let variance = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
    variance.sqrt() / mean
}

#[cfg(test)]
mod tests {
    use super::*;
    use sextant_hash::fnv1a64;

    #[test]
    fn median_and_spread() {
        assert_eq!(median(&mut []), 0.0);
        assert_eq!(median(&mut [3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&mut [4.0, 1.0, 2.0, 3.0]), 2.5);
        assert_eq!(coefficient_of_variation(&[5.0]), 0.0);
        assert_eq!(coefficient_of_variation(&[0.0, 0.0]), 0.0);
        assert!((coefficient_of_variation(&[1.0, 3.0]) - 2f64.sqrt() / 2.0).abs() < 1e-12);
    }

    #[test]
    fn entropy_of_frequencies() {
        assert_eq!(entropy_bits(&mut []), 0.0);
        assert_eq!(entropy_bits(&mut [fnv1a64(b"a"), fnv1a64(b"b")]), 1.0);
        assert_ne!(fnv1a64(b"m5411-001"), fnv1a64(b"m5411-002"));
    }
}
