//! Sticky hash assignment of a campaign's audience to treatment or holdout.

use sextant_hash::{splitmix64_finalise, Fnv64};

/// The two arms of a campaign. The holdout is never contacted and never offered the
/// campaign's product, so that its conversion measures what would have happened anyway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Arm {
    Treatment,
    Holdout,
}

impl Arm {
    pub fn name(self) -> &'static str {
        match self {
            Arm::Treatment => "treatment",
            Arm::Holdout => "holdout",
        }
    }

    pub fn parse(text: &str) -> Option<Arm> {
        match text {
            "treatment" => Some(Arm::Treatment),
            "holdout" => Some(Arm::Holdout),
            _ => None,
        }
    }
}

/// The most a holdout may take, in basis points: half of the audience.
pub const MAX_HOLDOUT_BP: u32 = 5_000;

/// Buckets per audience: one per basis point.
pub const BUCKETS: u32 = 10_000;

/// The customer's arm in the campaign salted by `salt`: holdout iff its bucket is below
/// `holdout_bp`. Raising `holdout_bp` only moves customers from treatment to holdout, so a
/// campaign can grow its holdout without reshuffling anyone already held out.
///
/// # Panics
///
/// When `holdout_bp` exceeds [`MAX_HOLDOUT_BP`] or `salt` holds the 0x1F separator: both
/// are configuration the caller validates before any customer is assigned.
pub fn assign(salt: &str, customer_id: &str, holdout_bp: u32) -> Arm {
    assert!(
        holdout_bp <= MAX_HOLDOUT_BP,
        "holdout of {holdout_bp} bp exceeds the maximum of {MAX_HOLDOUT_BP} bp"
    );
    if bucket(salt, customer_id) < holdout_bp {
        Arm::Holdout
    } else {
        Arm::Treatment
    }
}

/// The customer's bucket in `0..10_000` for this salt (a campaign's own salt, so that each
/// campaign draws an independent holdout).
///
/// The hash is fixed by its definition (`sextant_hash`, not `std`'s `DefaultHasher`, which may
/// change between releases), so a customer keeps its bucket across releases, machines and
/// languages: FNV-1a 64 over the UTF-8 bytes of `salt`, one 0x1F byte (the ASCII unit
/// separator, so `("ab", "c")` and `("a", "bc")` differ) and the id, then the splitmix64
/// finaliser, which spreads FNV's weak low bits over the whole word. Taking the result mod
/// 10,000 favours the lowest `2^64 mod 10_000` (1,616) buckets by one part in `2^64 / 10_000`
/// (about 1.8e15): negligible.
///
/// # Panics
///
/// When `salt` holds the 0x1F separator, which would let two (salt, id) pairs collide.
pub fn bucket(salt: &str, customer_id: &str) -> u32 {
    const SEPARATOR: u8 = 0x1F;
    assert!(
        !salt.as_bytes().contains(&SEPARATOR),
        "a holdout salt may not contain the 0x1F separator"
    );
    let mut hash = Fnv64::new();
    hash.write(salt.as_bytes());
    hash.write_u8(SEPARATOR);
    hash.write(customer_id.as_bytes());
    let bucket = splitmix64_finalise(hash.finish()) % u64::from(BUCKETS);
    u32::try_from(bucket).expect("below 10,000")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn arm_names_round_trip() {
        for arm in [Arm::Treatment, Arm::Holdout] {
            assert_eq!(Arm::parse(arm.name()), Some(arm));
        }
        assert_eq!(Arm::parse("control"), None);
    }

    #[test]
    fn pinned_buckets() {
        // Computed independently (Python, the same algorithm written from its description);
        // a change here reshuffles every running campaign.
        assert_eq!(bucket("campaign-2024-isa", "C000001"), PINNED[0]);
        assert_eq!(bucket("campaign-2024-isa", "C000002"), PINNED[1]);
        assert_eq!(bucket("spring-savings", "C000001"), PINNED[2]);
        assert_eq!(bucket("", ""), PINNED[3]);
        assert_eq!(bucket("sel", "ö-customer"), PINNED[4]);
    }

    const PINNED: [u32; 5] = [539, 8080, 301, 9771, 529];

    fn ids(n: usize) -> impl Iterator<Item = String> {
        (0..n).map(|i| format!("C{i:07}"))
    }

    #[test]
    fn holdout_share_is_on_target() {
        let n = 100_000usize;
        for holdout_bp in [0u32, 100, 1_000, 2_500, 5_000] {
            let held = ids(n)
                .filter(|id| assign("campaign-7", id, holdout_bp) == Arm::Holdout)
                .count() as f64;
            let share = f64::from(holdout_bp) / 10_000.0;
            let expected = n as f64 * share;
            let sd = (n as f64 * share * (1.0 - share)).sqrt();
            assert!(
                (held - expected).abs() <= 3.0 * sd,
                "{holdout_bp} bp: {held} held out, expected {expected} ± {sd}"
            );
        }
    }

    #[test]
    fn buckets_are_uniform() {
        // Ten deciles of 10,000 ids each: a chi-square with 9 degrees of freedom stays under
        // 27.9 (p = 0.001) for a uniform hash.
        let n = 100_000usize;
        let mut deciles = [0f64; 10];
        for id in ids(n) {
            deciles[(bucket("uniform", &id) / 1_000) as usize] += 1.0;
        }
        let expected = n as f64 / 10.0;
        let chi2: f64 = deciles
            .iter()
            .map(|c| (c - expected).powi(2) / expected)
            .sum();
        assert!(chi2 < 27.9, "chi-square {chi2}: {deciles:?}");
    }

    #[test]
    fn salts_draw_independent_holdouts() {
        let n = 100_000usize;
        let (a, b) = (2_000u32, 3_000u32);
        let mut both = 0usize;
        let mut changed = 0usize;
        for id in ids(n) {
            let first = assign("campaign-a", &id, a) == Arm::Holdout;
            let second = assign("campaign-b", &id, b) == Arm::Holdout;
            both += usize::from(first && second);
            changed += usize::from(bucket("campaign-a", &id) != bucket("campaign-b", &id));
        }
        let share = 0.2 * 0.3;
        let expected = n as f64 * share;
        let sd = (n as f64 * share * (1.0 - share)).sqrt();
        assert!(
            (both as f64 - expected).abs() <= 3.0 * sd,
            "{both} in both holdouts, expected {expected} ± {sd}"
        );
        // Almost every customer lands elsewhere under another salt (1 in 10,000 stays).
        assert!(changed > n * 99 / 100, "{changed}");
    }

    #[test]
    fn assignment_is_sticky() {
        for id in ids(100) {
            assert_eq!(assign("s", &id, 1_234), assign("s", &id, 1_234));
        }
    }

    #[test]
    #[should_panic(expected = "exceeds the maximum")]
    fn more_than_half_is_refused() {
        let _ = assign("s", "C1", MAX_HOLDOUT_BP + 1);
    }

    #[test]
    #[should_panic(expected = "separator")]
    fn salts_with_the_separator_are_refused() {
        let _ = bucket("a\u{1f}b", "C1");
    }

    proptest! {
        #[test]
        fn raising_the_holdout_only_moves_customers_into_it(
            salt in "[a-z0-9-]{0,20}",
            id in "\\PC{0,30}",
            low in 0..=MAX_HOLDOUT_BP,
            raise in 0..=MAX_HOLDOUT_BP,
        ) {
            let high = (low + raise).min(MAX_HOLDOUT_BP);
            prop_assert!(bucket(&salt, &id) < BUCKETS);
            if assign(&salt, &id, low) == Arm::Holdout {
                prop_assert_eq!(assign(&salt, &id, high), Arm::Holdout);
            }
            if assign(&salt, &id, high) == Arm::Treatment {
                prop_assert_eq!(assign(&salt, &id, low), Arm::Treatment);
            }
        }
    }
}
