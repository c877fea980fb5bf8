//! What a customer's risk level allows (investor suitability, MiFID II art. 54).
//!
//! Products carry a risk level R1..R5 and customers a tolerance C1..C5. A customer at Ck may
//! be recommended products up to Rk and nothing above; the lowest level, C1, gets R1 only.
//! Automated advice checks every proposal against this before it leaves the engine.

use sextant_domain::{ProductId, RiskLevel, RiskTolerance};

/// Whether a product of `level` may be recommended to a customer of `tolerance`.
pub fn allowed(tolerance: RiskTolerance, level: RiskLevel) -> bool {
    level.get() <= tolerance.get()
}

/// The highest product level a customer of `tolerance` may be recommended.
pub fn highest_level(tolerance: RiskTolerance) -> RiskLevel {
    RiskLevel::new(tolerance.get()).expect("tolerance and level share 1..=5")
}

/// A position above what the customer's level allows.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    pub product_id: ProductId,
    pub risk_level: RiskLevel,
    pub tolerance: RiskTolerance,
    /// Share of the portfolio held in the product.
    pub weight: f64,
}

impl Breach {
    /// One sentence for the customer or the wealth manager.
    pub fn explanation(&self) -> String {
        format!(
            "{} is a {} product, above the customer's risk level {} (it allows up to {}); it is {:.1}% of the portfolio",
            self.product_id,
            self.risk_level,
            self.tolerance,
            highest_level(self.tolerance),
            self.weight * 100.0
        )
    }
}

/// Every position (product, level, weight) above the customer's level; held weight zero is
/// not a position.
pub fn breaches(
    tolerance: RiskTolerance,
    positions: &[(ProductId, RiskLevel, f64)],
) -> Vec<Breach> {
    positions
        .iter()
        .filter(|(_, level, weight)| *weight > 0.0 && !allowed(tolerance, *level))
        .map(|(product_id, risk_level, weight)| Breach {
            product_id: product_id.clone(),
            risk_level: *risk_level,
            tolerance,
            weight: *weight,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn level(n: u8) -> RiskLevel {
        RiskLevel::new(n).unwrap()
    }

    fn tolerance(n: u8) -> RiskTolerance {
        RiskTolerance::new(n).unwrap()
    }

    #[test]
    fn the_lowest_level_gets_r1_only() {
        assert!(allowed(tolerance(1), level(1)));
        for r in 2..=5 {
            assert!(!allowed(tolerance(1), level(r)));
        }
    }

    #[test]
    fn a_breach_names_the_product_and_both_levels() {
        let found = breaches(
            tolerance(2),
            &[
                ("fund-gov-bonds".try_into().unwrap(), level(2), 0.6),
                ("fund-global-equity".try_into().unwrap(), level(4), 0.4),
                ("fund-gold".try_into().unwrap(), level(4), 0.0),
            ],
        );
        assert_eq!(found.len(), 1);
        let text = found[0].explanation();
        assert!(text.contains("fund-global-equity") && text.contains("R4") && text.contains("C2"));
    }

    proptest! {
        #[test]
        fn allowed_is_monotone(c in 1u8..=5, r in 1u8..=5) {
            let ok = allowed(tolerance(c), level(r));
            prop_assert_eq!(ok, r <= c);
            if ok && c < 5 {
                prop_assert!(allowed(tolerance(c + 1), level(r)));
            }
            prop_assert!(allowed(tolerance(c), highest_level(tolerance(c))));
        }
    }
}
