//! What a product id is, for features that need a product's kind or risk level.
//!
//! Holdings and product views carry only an id. The built-in catalogue answers for known ids;
//! an id it does not know (a product added later by the bank) is classified by the id prefix
//! convention of the catalogue (`fund-`, `dep-`, `cc-`, `loan-`, `bnpl-`, `ins-`), with no
//! risk level. Features stay a pure function of the events this way, with no store lookup.

use std::sync::OnceLock;

use sextant_domain::{default_catalogue, ProductKind};

/// A product's kind and, when known, its risk level 1..=5.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ProductInfo {
    pub kind: ProductKind,
    pub risk_level: Option<u8>,
}

fn known() -> &'static [(String, ProductInfo)] {
    static KNOWN: OnceLock<Vec<(String, ProductInfo)>> = OnceLock::new();
    KNOWN.get_or_init(|| {
        default_catalogue()
            .into_iter()
            .map(|p| {
                let info = ProductInfo {
                    kind: p.kind,
                    risk_level: Some(p.risk_level.get()),
                };
                (p.id.as_str().to_owned(), info)
            })
            .collect()
    })
}

/// Kind and level of `product_id`; `None` when neither the catalogue nor the prefix tells.
pub(crate) fn info(product_id: &str) -> Option<ProductInfo> {
    if let Some((_, info)) = known().iter().find(|(id, _)| id == product_id) {
        return Some(*info);
    }
    const PREFIXES: [(&str, ProductKind); 6] = [
        ("fund-", ProductKind::Fund),
        ("dep-", ProductKind::Deposit),
        ("cc-", ProductKind::CreditCard),
        ("loan-", ProductKind::ConsumerLoan),
        ("bnpl-", ProductKind::InstalmentPlan),
        ("ins-", ProductKind::Insurance),
    ];
    PREFIXES
        .iter()
        .find(|(prefix, _)| product_id.starts_with(prefix))
        .map(|(_, kind)| ProductInfo {
            kind: *kind,
            risk_level: None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_ids_and_prefixes_are_recognised() {
        let gold = info("fund-gold").unwrap();
        assert_eq!((gold.kind, gold.risk_level), (ProductKind::Fund, Some(4)));
        let new_fund = info("fund-new-thing").unwrap();
        assert_eq!(
            (new_fund.kind, new_fund.risk_level),
            (ProductKind::Fund, None)
        );
        assert_eq!(info("cc-classic").unwrap().kind, ProductKind::CreditCard);
        assert!(info("mystery").is_none());
    }
}
