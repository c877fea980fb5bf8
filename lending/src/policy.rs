//! The credit policy: rule thresholds, risk bands with their prices and limits, and the
//! products (instalments at checkout, consumer loans). Versioned: every decision records the
//! version it was made under, so a change of any number here needs a new `version`.

use serde::{Deserialize, Serialize};
use sextant_domain::AmountMinor;

use super::schedule::{check_feasible, MAX_RATE_BPS, MAX_TERM_MONTHS};
use crate::{LendingError, Result};

/// Most risk bands a policy may have.
pub const MAX_BANDS: usize = 10;
/// Most terms a product may offer.
pub const MAX_TERMS: usize = 12;
/// Longest name or version string a policy accepts.
pub const MAX_NAME_CHARS: usize = 64;

/// Thresholds, bands and products of consumer credit. Amounts are minor units of a currency
/// with `currency_minor_units` digits; the defaults are in euro cents.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CreditPolicy {
    pub version: String,
    /// ISO 4217 code of the currency the amounts are in; an applicant in another must be
    /// refused. Policies recorded before it was kept were in EUR.
    #[serde(default = "euro")]
    pub currency: String,
    /// Digits of the currency the amounts are in; an applicant in another must be refused.
    pub currency_minor_units: u8,
    /// Legal age for a credit agreement (checked as a rule, never scored).
    pub min_age_years: u32,
    /// Failed payments of obligations (loans, bills) in 90 days above which the applicant is
    /// in current delinquency.
    pub max_failed_obligations_90d: u32,
    /// Share of the last 90 days spent overdrawn above which the overdraft is persistent.
    pub max_overdraft_day_share_90d: f64,
    /// Most of the net income all debt repayments, the new one included, may take.
    pub max_debt_to_income: f64,
    /// What must be left each month after fixed obligations and all debt repayments: the
    /// larger of this share of net income and `min_buffer_minor`.
    pub buffer_share_of_income: f64,
    pub min_buffer_minor: i64,
    /// Most credit one customer may owe, the new credit included.
    pub exposure_cap_minor: i64,
    /// Ordered by `max_pd`, rising; a PD at or above the last band's `max_pd` is declined.
    pub bands: Vec<RiskBand>,
    pub instalment: InstalmentTerms,
    pub loan: LoanTerms,
}

/// A band of probability of default, its price and its limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RiskBand {
    pub name: String,
    /// PDs below this (and at or above the previous band's) fall in the band.
    pub max_pd: f64,
    /// Nominal annual interest rate in basis points (not the APR, which adds fees and
    /// compounding).
    pub apr_bps: u32,
    /// The limit is at most this multiple of net monthly income (applied at 1/10,000).
    pub limit_income_multiple: f64,
    pub limit_cap_minor: i64,
}

/// A one-off fee for one term.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TermFee {
    pub months: u32,
    pub fee_minor: i64,
}

/// Instalment plans offered at checkout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InstalmentTerms {
    /// Strictly increasing.
    pub terms_months: Vec<u32>,
    /// Terms up to this many months are interest-free (the merchant pays for them); longer
    /// ones bear the band's rate.
    pub interest_free_max_months: u32,
    /// Fees of terms that have one; a term not listed has none.
    pub fee_minor_by_term: Vec<TermFee>,
    pub min_amount_minor: i64,
    pub max_amount_minor: i64,
}

/// Consumer loans (credit-line applications): the applicant picks amount and term.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LoanTerms {
    pub min_amount_minor: i64,
    pub max_amount_minor: i64,
    /// Strictly increasing.
    pub terms_months: Vec<u32>,
    /// One-off arrangement fee, charged with the first instalment.
    pub fee_minor: i64,
}

impl Default for CreditPolicy {
    /// A consumer-credit policy for euro amounts. Why these numbers:
    ///
    /// - Bands A..D at PD < 2%, 5%, 10%, 20%: each cut-off about doubles the last, the usual
    ///   spacing of rating grades. At 20% or more the expected loss of unsecured credit (PD x
    ///   a loss given default near 75%) is 15% a year or more, beyond what a rate under 20%
    ///   can carry after funding and servicing costs, so the policy declines.
    /// - Nominal rates 6.9%, 9.9%, 14.9%, 19.9%: roughly 5% for funding, costs and margin
    ///   plus the band's expected loss at its worst PD with a 60% loss given default (the
    ///   bank recovers part through collections); no band exceeds 19.9%.
    /// - Limits: 3, 2, 1 and 0.5 times net monthly income, capped at 10,000, 6,000, 3,000 and
    ///   1,000 euros; a riskier band never gets a better price or a larger limit.
    /// - At most 40% of net income on all debt repayments (common debt-service-to-income
    ///   limits in Europe are 35% to 50%), and at least the larger of 10% of income and 500
    ///   euros left after fixed obligations and repayments, for food and day-to-day costs.
    /// - Any failed payment of an obligation in 90 days is current delinquency; overdrawn more
    ///   than half of the last 90 days is persistent overdraft. Total exposure 15,000 euros.
    /// - Instalments at checkout: 50 to 3,000 euros over 3, 6, 12 or 24 months, 3 months
    ///   interest-free (merchant-funded), no fees. Loans: 500 to 10,000 euros over 6 to 60
    ///   months, no arrangement fee.
    fn default() -> CreditPolicy {
        let band = |name: &str, max_pd, apr_bps, multiple, cap| RiskBand {
            name: name.to_string(),
            max_pd,
            apr_bps,
            limit_income_multiple: multiple,
            limit_cap_minor: cap,
        };
        CreditPolicy {
            version: "credit-policy-2025.1".to_string(),
            currency: euro(),
            currency_minor_units: 2,
            min_age_years: 18,
            max_failed_obligations_90d: 0,
            max_overdraft_day_share_90d: 0.5,
            max_debt_to_income: 0.40,
            buffer_share_of_income: 0.10,
            min_buffer_minor: 50_000,
            exposure_cap_minor: 1_500_000,
            bands: vec![
                band("A", 0.02, 690, 3.0, 1_000_000),
                band("B", 0.05, 990, 2.0, 600_000),
                band("C", 0.10, 1_490, 1.0, 300_000),
                band("D", 0.20, 1_990, 0.5, 100_000),
            ],
            instalment: InstalmentTerms {
                terms_months: vec![3, 6, 12, 24],
                interest_free_max_months: 3,
                fee_minor_by_term: vec![],
                min_amount_minor: 5_000,
                max_amount_minor: 300_000,
            },
            loan: LoanTerms {
                min_amount_minor: 50_000,
                max_amount_minor: 1_000_000,
                terms_months: vec![6, 12, 24, 36, 48, 60],
                fee_minor: 0,
            },
        }
    }
}

/// The currency of records and policies that predate the `currency` field.
pub(crate) fn euro() -> String {
    "EUR".to_owned()
}

impl CreditPolicy {
    /// The same policy with every amount in `currency` (`minor_units` digits): `convert`
    /// takes an amount in this policy's minor units to the other currency's, exactly (at one
    /// stated rate); `None` if any amount cannot be converted. Shares, multiples, terms and
    /// the version stay as they are: the recorded policy names its currency.
    pub fn in_currency(
        &self,
        currency: &str,
        minor_units: u8,
        convert: impl Fn(i64) -> Option<i64>,
    ) -> Option<CreditPolicy> {
        let mut policy = self.clone();
        policy.currency = currency.to_owned();
        policy.currency_minor_units = minor_units;
        policy.min_buffer_minor = convert(self.min_buffer_minor)?;
        policy.exposure_cap_minor = convert(self.exposure_cap_minor)?;
        for band in &mut policy.bands {
            band.limit_cap_minor = convert(band.limit_cap_minor)?;
        }
        let instalment = &mut policy.instalment;
        for fee in &mut instalment.fee_minor_by_term {
            fee.fee_minor = convert(fee.fee_minor)?;
        }
        instalment.min_amount_minor = convert(instalment.min_amount_minor)?;
        instalment.max_amount_minor = convert(instalment.max_amount_minor)?;
        let loan = &mut policy.loan;
        loan.min_amount_minor = convert(loan.min_amount_minor)?;
        loan.max_amount_minor = convert(loan.max_amount_minor)?;
        loan.fee_minor = convert(loan.fee_minor)?;
        Some(policy)
    }

    /// Checks the policy is coherent; errors name the field (`bands[2].max_pd`, ...).
    pub fn validate(&self) -> Result<()> {
        check_name("version", &self.version)?;
        if sextant_domain::Currency::parse(&self.currency)
            .map_or(true, |c| c.minor_digits() != self.currency_minor_units)
        {
            return Err(LendingError::invalid(
                "currency",
                "a supported ISO 4217 code whose minor digits are currency_minor_units",
            ));
        }
        if self.currency_minor_units > 4 {
            return Err(LendingError::invalid(
                "currency_minor_units",
                "at most 4 digits",
            ));
        }
        if !(18..=100).contains(&self.min_age_years) {
            return Err(LendingError::invalid(
                "min_age_years",
                "must be in 18..=100: no credit to minors",
            ));
        }
        check_share(
            "max_overdraft_day_share_90d",
            self.max_overdraft_day_share_90d,
        )?;
        check_share("max_debt_to_income", self.max_debt_to_income)?;
        if self.max_debt_to_income == 0.0 {
            return Err(LendingError::invalid(
                "max_debt_to_income",
                "must be above 0",
            ));
        }
        check_share("buffer_share_of_income", self.buffer_share_of_income)?;
        check_amount("min_buffer_minor", self.min_buffer_minor, 0)?;
        check_amount("exposure_cap_minor", self.exposure_cap_minor, 1)?;
        self.validate_bands()?;
        let listed = &self.instalment.fee_minor_by_term;
        for (i, fee) in listed.iter().enumerate() {
            let field = format!("instalment.fee_minor_by_term[{i}]");
            if !self.instalment.terms_months.contains(&fee.months) {
                return Err(LendingError::invalid(field, "not a term offered"));
            }
            if listed[..i].iter().any(|f| f.months == fee.months) {
                return Err(LendingError::invalid(field, "a second fee for the term"));
            }
            check_amount(&format!("{field}.fee_minor"), fee.fee_minor, 0)?;
        }
        let fees: Vec<(u32, i64)> = self
            .instalment
            .terms_months
            .iter()
            .map(|&m| (m, self.instalment_fee_minor(m)))
            .collect();
        self.validate_product(
            "instalment",
            &self.instalment.terms_months,
            self.instalment.min_amount_minor,
            self.instalment.max_amount_minor,
            &fees,
        )?;
        let loan_fees: Vec<(u32, i64)> = self
            .loan
            .terms_months
            .iter()
            .map(|&m| (m, self.loan.fee_minor))
            .collect();
        self.validate_product(
            "loan",
            &self.loan.terms_months,
            self.loan.min_amount_minor,
            self.loan.max_amount_minor,
            &loan_fees,
        )
    }

    fn validate_bands(&self) -> Result<()> {
        if self.bands.is_empty() || self.bands.len() > MAX_BANDS {
            return Err(LendingError::invalid(
                "bands",
                format!("1..={MAX_BANDS} bands"),
            ));
        }
        for (i, band) in self.bands.iter().enumerate() {
            let field = |name: &str| format!("bands[{i}].{name}");
            check_name(&field("name"), &band.name)?;
            if self.bands[..i].iter().any(|b| b.name == band.name) {
                return Err(LendingError::invalid(field("name"), "duplicate band name"));
            }
            if !(band.max_pd > 0.0 && band.max_pd <= 1.0) {
                return Err(LendingError::invalid(field("max_pd"), "must be in (0, 1]"));
            }
            if band.apr_bps > MAX_RATE_BPS {
                return Err(LendingError::invalid(
                    field("apr_bps"),
                    format!("above {MAX_RATE_BPS}"),
                ));
            }
            if !(band.limit_income_multiple.is_finite()
                && (0.0..=100.0).contains(&band.limit_income_multiple))
            {
                return Err(LendingError::invalid(
                    field("limit_income_multiple"),
                    "must be in 0..=100",
                ));
            }
            check_amount(&field("limit_cap_minor"), band.limit_cap_minor, 0)?;
            if let Some(safer) = i.checked_sub(1).map(|j| &self.bands[j]) {
                if band.max_pd <= safer.max_pd {
                    return Err(LendingError::invalid(
                        field("max_pd"),
                        "bands must be ordered by max_pd, rising",
                    ));
                }
                // A riskier band never gets a better price or a larger limit.
                if band.apr_bps < safer.apr_bps {
                    return Err(LendingError::invalid(
                        field("apr_bps"),
                        "below a safer band's",
                    ));
                }
                if band.limit_income_multiple > safer.limit_income_multiple
                    || band.limit_cap_minor > safer.limit_cap_minor
                {
                    return Err(LendingError::invalid(
                        field("limit_cap_minor"),
                        "limit above a safer band's",
                    ));
                }
            }
        }
        Ok(())
    }

    fn validate_product(
        &self,
        product: &str,
        terms: &[u32],
        min_amount_minor: i64,
        max_amount_minor: i64,
        fees: &[(u32, i64)],
    ) -> Result<()> {
        // `fees` has one (term, fee) per term.
        let field = |name: &str| format!("{product}.{name}");
        if terms.is_empty() || terms.len() > MAX_TERMS {
            return Err(LendingError::invalid(
                field("terms_months"),
                format!("1..={MAX_TERMS} terms"),
            ));
        }
        if terms.windows(2).any(|w| w[0] >= w[1])
            || !terms.iter().all(|m| (1..=MAX_TERM_MONTHS).contains(m))
        {
            return Err(LendingError::invalid(
                field("terms_months"),
                format!("strictly increasing, each in 1..={MAX_TERM_MONTHS}"),
            ));
        }
        check_amount(&field("min_amount_minor"), min_amount_minor, 1)?;
        check_amount(
            &field("max_amount_minor"),
            max_amount_minor,
            min_amount_minor,
        )?;
        for &(months, fee) in fees {
            check_amount(&field("fee_minor"), fee, 0)?;
            // Every term must give a proper schedule for the smallest amount at every price
            // the policy can charge, so an offer in range never fails to build.
            for rate in [0, self.bands.last().map_or(0, |b| b.apr_bps)] {
                check_feasible(min_amount_minor, months, rate).map_err(|e| {
                    LendingError::invalid(
                        field("min_amount_minor"),
                        format!("too small for {months} months: {e}"),
                    )
                })?;
            }
        }
        Ok(())
    }

    /// The fee of an instalment term (0 where none is listed).
    pub fn instalment_fee_minor(&self, months: u32) -> i64 {
        self.instalment
            .fee_minor_by_term
            .iter()
            .find(|f| f.months == months)
            .map_or(0, |f| f.fee_minor)
    }

    /// The band a PD falls in: the first whose `max_pd` is above it.
    pub fn band_for(&self, pd: f64) -> Option<&RiskBand> {
        self.bands.iter().find(|b| pd < b.max_pd)
    }
}

fn check_name(field: &str, value: &str) -> Result<()> {
    if value.trim().is_empty() || value.chars().count() > MAX_NAME_CHARS {
        return Err(LendingError::invalid(
            field,
            format!("1..={MAX_NAME_CHARS} characters, not blank"),
        ));
    }
    Ok(())
}

fn check_share(field: &str, value: f64) -> Result<()> {
    if !(value.is_finite() && (0.0..=1.0).contains(&value)) {
        return Err(LendingError::invalid(field, "a share in 0..=1"));
    }
    Ok(())
}

fn check_amount(field: &str, value: i64, min: i64) -> Result<()> {
    if !(min..=AmountMinor::MAX).contains(&value) {
        return Err(LendingError::invalid(
            field,
            format!("{value} is not in {min}..={}", AmountMinor::MAX),
        ));
    }
    Ok(())
}

/// A share or multiple in ten-thousandths, so money stays integer: `round(value x 10_000)`.
pub(crate) fn to_bps(value: f64) -> i128 {
    (value * 10_000.0).round() as i128
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_policy_is_valid() {
        CreditPolicy::default().validate().unwrap();
    }

    #[test]
    fn bands_are_found_by_pd() {
        let policy = CreditPolicy::default();
        let name = |pd| policy.band_for(pd).map(|b| b.name.as_str());
        assert_eq!(name(0.0), Some("A"));
        assert_eq!(name(0.0199), Some("A"));
        assert_eq!(name(0.02), Some("B"));
        assert_eq!(name(0.07), Some("C"));
        assert_eq!(name(0.1999), Some("D"));
        assert_eq!(name(0.20), None);
        assert_eq!(name(1.0), None);
    }

    #[test]
    fn incoherent_policies_are_refused_with_the_field() {
        let field = |change: &dyn Fn(&mut CreditPolicy)| {
            let mut policy = CreditPolicy::default();
            change(&mut policy);
            policy.validate().unwrap_err().field().unwrap().to_string()
        };
        assert_eq!(field(&|p| p.version.clear()), "version");
        assert_eq!(field(&|p| p.min_age_years = 16), "min_age_years");
        assert_eq!(field(&|p| p.max_debt_to_income = 1.5), "max_debt_to_income");
        assert_eq!(
            field(&|p| p.buffer_share_of_income = f64::NAN),
            "buffer_share_of_income"
        );
        assert_eq!(field(&|p| p.bands[2].max_pd = 0.03), "bands[2].max_pd");
        assert_eq!(field(&|p| p.bands[1].apr_bps = 500), "bands[1].apr_bps");
        assert_eq!(
            field(&|p| p.bands[3].limit_cap_minor = 2_000_000),
            "bands[3].limit_cap_minor"
        );
        assert_eq!(field(&|p| p.bands[1].name = "A".into()), "bands[1].name");
        assert_eq!(field(&|p| p.bands.clear()), "bands");
        assert_eq!(
            field(&|p| p.instalment.terms_months = vec![6, 3]),
            "instalment.terms_months"
        );
        assert_eq!(
            field(&|p| p.instalment.fee_minor_by_term = vec![TermFee {
                months: 9,
                fee_minor: 100
            }]),
            "instalment.fee_minor_by_term[0]"
        );
        assert_eq!(
            field(&|p| p.loan.max_amount_minor = 100),
            "loan.max_amount_minor"
        );
        // Two cents cannot be spread over 24 months.
        assert_eq!(
            field(&|p| p.instalment.min_amount_minor = 2),
            "instalment.min_amount_minor"
        );
        assert_eq!(field(&|p| p.exposure_cap_minor = 0), "exposure_cap_minor");
    }
}
