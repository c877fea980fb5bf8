//! Spending categories: merchant category codes (ISO 18245) folded into a few groups that
//! mean something to a customer and to a model.
//!
//! The groups are fixed and ordered: features, the category sequence and the embedding model
//! all index arrays by `Category as usize`, so adding or reordering a group changes the
//! feature layout and must bump [`crate::FEATURE_VERSION`].

use sextant_domain::Mcc;

/// A spending group. Every MCC maps to exactly one group; unknown codes go to `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Category {
    Groceries,
    Dining,
    Transport,
    Travel,
    Housing,
    Utilities,
    Subscriptions,
    Shopping,
    Health,
    Leisure,
    Education,
    Gambling,
    InsuranceFinance,
    Cash,
    Other,
}

/// Number of categories; arrays indexed by category have this length.
pub const COUNT: usize = 15;

impl Category {
    /// Every category, in index order.
    pub const ALL: [Category; COUNT] = [
        Category::Groceries,
        Category::Dining,
        Category::Transport,
        Category::Travel,
        Category::Housing,
        Category::Utilities,
        Category::Subscriptions,
        Category::Shopping,
        Category::Health,
        Category::Leisure,
        Category::Education,
        Category::Gambling,
        Category::InsuranceFinance,
        Category::Cash,
        Category::Other,
    ];

    pub fn index(self) -> usize {
        self as usize
    }

    /// Needs rather than wants: what a household pays whatever its tastes.
    pub fn is_essential(self) -> bool {
        matches!(
            self,
            Category::Groceries
                | Category::Transport
                | Category::Housing
                | Category::Utilities
                | Category::Health
                | Category::Education
                | Category::InsuranceFinance
        )
    }

    /// Wants: spending a customer could cut. Cash and `Other` are neither, since we cannot
    /// see what they bought.
    pub fn is_discretionary(self) -> bool {
        matches!(
            self,
            Category::Dining
                | Category::Travel
                | Category::Subscriptions
                | Category::Shopping
                | Category::Leisure
                | Category::Gambling
        )
    }
}

/// The stable snake_case name, used in feature names and reports.
pub fn name(c: Category) -> &'static str {
    match c {
        Category::Groceries => "groceries",
        Category::Dining => "dining",
        Category::Transport => "transport",
        Category::Travel => "travel",
        Category::Housing => "housing",
        Category::Utilities => "utilities",
        Category::Subscriptions => "subscriptions",
        Category::Shopping => "shopping",
        Category::Health => "health",
        Category::Leisure => "leisure",
        Category::Education => "education",
        Category::Gambling => "gambling",
        Category::InsuranceFinance => "insurance_finance",
        Category::Cash => "cash",
        Category::Other => "other",
    }
}

/// The group of a merchant category code.
pub fn of_mcc(mcc: Mcc) -> Category {
    use Category::*;
    match mcc.get() {
        // Gambling and cash come first: they sit inside ranges that mean something else.
        7800..=7802 | 7995 | 9406 => Gambling,
        6010 | 6011 => Cash,
        5411 | 5412 | 5422 | 5441 | 5451 | 5462 | 5499 => Groceries,
        5811..=5814 => Dining,
        // Airline (3000-3350), car-rental (3351-3500) and hotel (3501-3999) brand codes.
        3000..=3999
        | 4411
        | 4511
        | 4582
        | 4722
        | 4723
        | 7011
        | 7012
        | 7032
        | 7033
        | 7512
        | 7513
        | 7519 => Travel,
        4011
        | 4111
        | 4112
        | 4119
        | 4121
        | 4131
        | 4457
        | 4468
        | 4784
        | 4789
        | 5511
        | 5521
        | 5531..=5533
        | 5541
        | 5542
        | 5983
        | 7511
        | 7523
        | 7531..=7549 => Transport,
        6513 | 1520..=1799 | 7342 | 7349 | 780 => Housing,
        4812 | 4814 | 4816 | 4821 | 4900 => Utilities,
        4899 | 5815..=5818 | 5968 => Subscriptions,
        5912 | 5122 | 5975 | 5976 | 8000..=8099 => Health,
        8211..=8299 | 8351 => Education,
        7829..=7999 => Leisure,
        5960..=5969 | 6012 | 6050 | 6051 | 6211 | 6300..=6399 => InsuranceFinance,
        5200..=5999 => Shopping,
        _ => Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mcc(code: u16) -> Mcc {
        Mcc::parse(&format!("{code:04}")).unwrap()
    }

    #[test]
    fn synthetic_population_codes_land_where_expected() {
        let expected = [
            (5411, Category::Groceries),
            (5812, Category::Dining),
            (5813, Category::Dining),
            (5814, Category::Dining),
            (5541, Category::Transport),
            (4111, Category::Transport),
            (4121, Category::Transport),
            (4511, Category::Travel),
            (7011, Category::Travel),
            (3015, Category::Travel),
            (5651, Category::Shopping),
            (5732, Category::Shopping),
            (5912, Category::Health),
            (5999, Category::Shopping),
            (5942, Category::Shopping),
            (5815, Category::Subscriptions),
            (4899, Category::Subscriptions),
            (7832, Category::Leisure),
            (7997, Category::Leisure),
            (8220, Category::Education),
            (5944, Category::Shopping),
            (7995, Category::Gambling),
            (5200, Category::Shopping),
            (6513, Category::Housing),
            (4900, Category::Utilities),
            (4814, Category::Utilities),
            (6300, Category::InsuranceFinance),
            (6011, Category::Cash),
            (9399, Category::Other),
        ];
        for (code, category) in expected {
            assert_eq!(of_mcc(mcc(code)), category, "mcc {code}");
        }
    }

    #[test]
    fn all_is_in_index_order_and_names_are_unique() {
        for (i, c) in Category::ALL.iter().enumerate() {
            assert_eq!(c.index(), i);
        }
        let mut names: Vec<&str> = Category::ALL.iter().map(|c| name(*c)).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), COUNT);
    }

    #[test]
    fn essential_and_discretionary_do_not_overlap() {
        for c in Category::ALL {
            assert!(!(c.is_essential() && c.is_discretionary()), "{c:?}");
        }
        // Every code maps somewhere without panicking.
        for code in 0..=9999u16 {
            let _ = of_mcc(mcc(code));
        }
    }
}
