//! Small statistics over a customer's numbers.

/// 64-bit FNV-1a: merchant ids are hashed so diversity is counted by sorting integers rather
/// than strings. A collision between two of a customer's few hundred merchants is
/// vanishingly rare and would only lower the entropy slightly.
pub(super) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

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
        assert_eq!(entropy_bits(&mut [fnv1a(b"a"), fnv1a(b"b")]), 1.0);
        assert_ne!(fnv1a(b"m5411-001"), fnv1a(b"m5411-002"));
    }
}
