//! Holdings: what the customer owns (deposits, funds) and owes (credit products).

use sextant_domain::{Holding, ProductKind};

use super::money::ToBase;
use super::{ratio_or, Clock, Values};
use crate::catalogue::F;
use crate::products;

#[derive(Debug, Default)]
pub(super) struct HoldingsSummary {
    pub count: u32,
    pub deposits_minor: i128,
    pub funds_minor: i128,
    pub credit_count: u32,
    pub credit_owed_minor: i128,
    pub fund_risk_level_max: u8,
}

impl HoldingsSummary {
    /// Deposits and funds: what could be drawn on in a bad month.
    pub fn assets_minor(&self) -> i128 {
        self.deposits_minor + self.funds_minor
    }

    pub fn write(&self, values: &mut Values) {
        let assets = self.assets_minor() as f64;
        values.set(F::HoldingsCount, f64::from(self.count));
        values.set(F::AssetsValueMinor, assets);
        values.set(
            F::FundShareOfAssets,
            ratio_or(self.funds_minor as f64, assets, 0.0),
        );
        values.set(F::FundRiskLevelMax, f64::from(self.fund_risk_level_max));
        values.set(F::CreditProductsCount, f64::from(self.credit_count));
    }
}

/// Holdings opened after `as_of` did not exist yet and are left out. Values are converted to
/// the base currency at `as_of`'s rate; one that cannot be is counted but not summed.
pub(super) fn summarise(
    holdings: &[Holding],
    clock: &Clock,
    to_base: &mut ToBase,
) -> HoldingsSummary {
    let mut s = HoldingsSummary::default();
    let on = clock.as_of_date();
    for h in holdings {
        if h.opened_at.timestamp_millis() > clock.as_of_ms {
            continue;
        }
        s.count += 1;
        let value = to_base.holding(h, on).unwrap_or(0);
        let Some(info) = products::info(h.product_id.as_str()) else {
            continue;
        };
        match info.kind {
            ProductKind::Deposit => s.deposits_minor += value,
            ProductKind::Fund => {
                s.funds_minor += value;
                // An unknown fund counts as middle-of-the-road rather than as no fund.
                let level = info.risk_level.unwrap_or(3);
                s.fund_risk_level_max = s.fund_risk_level_max.max(level);
            }
            kind if kind.is_credit() => {
                s.credit_count += 1;
                s.credit_owed_minor += value;
            }
            _ => {}
        }
    }
    s
}
