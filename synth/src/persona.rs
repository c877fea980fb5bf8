//! The seven personas and the parameters that shape each one's money and habits.
//!
//! A persona is the coarse truth a segmentation model should recover; within a persona the
//! latent traits (see `latent.rs`) spread customers out so that no single field gives the
//! persona away.

use rand::Rng;

use crate::sample::pick;
use crate::tables::N_CAT;

sextant_domain::string_enum!(
    /// Who a synthetic customer is at heart: drives age, income and its rhythm, spending mix,
    /// debt, travel and app use.
    Persona {
        SalariedProfessional = "salaried_professional",
        Student = "student",
        Retiree = "retiree",
        GigWorker = "gig_worker",
        SmallBusinessOwner = "small_business_owner",
        HighNetWorth = "high_net_worth",
        FinanciallyStressed = "financially_stressed",
    }
);

/// What a persona's customers look like on average. Rates are per month unless named
/// otherwise; money is in euros (net, monthly).
#[derive(Debug)]
pub(crate) struct PersonaParams {
    /// Share of the population.
    pub share: f64,
    pub age_years: (u16, u16),
    pub income_median_eur: f64,
    /// Spread of income within the persona (log scale).
    pub income_sigma: f64,
    /// Median starting balance in months of income.
    pub buffer_months: f64,
    /// Outflows (bills, debt, spending) over income; above one drains the account.
    pub spend_ratio: f64,
    pub purchases_per_month: f64,
    pub atm_per_month: f64,
    pub p2p_out_per_month: f64,
    pub p2p_in_per_month: f64,
    /// Multiplies each category's online share.
    pub online_factor: f64,
    pub trips_per_year: f64,
    /// Mean of the risk-willingness latent (population scale: standard normal).
    pub willingness_mean: f64,
    /// Mean of the financial-stress latent.
    pub stress_mean: f64,
    pub sessions_per_month: f64,
    pub p_renter: f64,
    /// Chance of a mortgage among those who do not rent.
    pub p_mortgage: f64,
    pub p_consumer_loan: f64,
    pub bnpl_plans_per_month: f64,
    pub p_overdraft: f64,
    /// Overdraft limit in months of income.
    pub overdraft_months: f64,
    pub p_insurance_bill: f64,
    /// Purchase category weights, in `tables::CATEGORIES` order.
    pub mix: [f64; N_CAT],
}

/// In `Persona::ALL` order.
#[rustfmt::skip]
static PARAMS: [PersonaParams; 7] = [
    PersonaParams { // salaried professional
        share: 0.30, age_years: (25, 60), income_median_eur: 1_900.0, income_sigma: 0.35,
        buffer_months: 1.2, spend_ratio: 0.86, purchases_per_month: 15.0, atm_per_month: 1.0,
        p2p_out_per_month: 1.2, p2p_in_per_month: 0.8, online_factor: 1.0, trips_per_year: 1.4,
        willingness_mean: 0.0, stress_mean: -0.3, sessions_per_month: 2.2, p_renter: 0.45,
        p_mortgage: 0.5, p_consumer_loan: 0.22, bnpl_plans_per_month: 0.06, p_overdraft: 0.3,
        overdraft_months: 0.5, p_insurance_bill: 0.35,
        mix: [30.0, 10.0, 8.0, 8.0, 8.0, 3.0, 0.6, 0.8, 5.0, 2.0,
              4.0, 6.0, 1.5, 3.0, 2.0, 0.5, 0.2, 0.6, 3.0, 4.0],
    },
    PersonaParams { // student
        share: 0.12, age_years: (18, 26), income_median_eur: 550.0, income_sigma: 0.35,
        buffer_months: 0.7, spend_ratio: 0.97, purchases_per_month: 18.0, atm_per_month: 0.7,
        p2p_out_per_month: 2.5, p2p_in_per_month: 1.5, online_factor: 1.4, trips_per_year: 0.8,
        willingness_mean: 0.35, stress_mean: 0.1, sessions_per_month: 2.6, p_renter: 0.45,
        p_mortgage: 0.0, p_consumer_loan: 0.04, bnpl_plans_per_month: 0.12, p_overdraft: 0.1,
        overdraft_months: 0.3, p_insurance_bill: 0.03,
        mix: [22.0, 6.0, 16.0, 1.0, 14.0, 3.0, 0.5, 0.4, 5.0, 2.5,
              2.0, 7.0, 3.0, 6.0, 4.0, 3.0, 0.05, 1.0, 0.5, 8.0],
    },
    PersonaParams { // retiree
        share: 0.15, age_years: (63, 88), income_median_eur: 1_050.0, income_sigma: 0.22,
        buffer_months: 3.5, spend_ratio: 0.88, purchases_per_month: 10.0, atm_per_month: 2.8,
        p2p_out_per_month: 0.3, p2p_in_per_month: 0.3, online_factor: 0.35, trips_per_year: 0.7,
        willingness_mean: -0.8, stress_mean: -0.3, sessions_per_month: 2.2, p_renter: 0.3,
        p_mortgage: 0.05, p_consumer_loan: 0.08, bnpl_plans_per_month: 0.01, p_overdraft: 0.1,
        overdraft_months: 0.3, p_insurance_bill: 0.4,
        mix: [40.0, 5.0, 3.0, 5.0, 5.0, 1.0, 0.3, 0.6, 4.0, 1.0,
              10.0, 3.0, 2.0, 1.0, 1.5, 0.1, 0.2, 0.5, 4.0, 1.0],
    },
    PersonaParams { // gig worker
        share: 0.12, age_years: (20, 45), income_median_eur: 1_300.0, income_sigma: 0.4,
        buffer_months: 0.6, spend_ratio: 0.95, purchases_per_month: 17.0, atm_per_month: 1.2,
        p2p_out_per_month: 1.8, p2p_in_per_month: 1.2, online_factor: 1.3, trips_per_year: 0.9,
        willingness_mean: 0.3, stress_mean: 0.4, sessions_per_month: 2.4, p_renter: 0.7,
        p_mortgage: 0.1, p_consumer_loan: 0.22, bnpl_plans_per_month: 0.14, p_overdraft: 0.3,
        overdraft_months: 0.4, p_insurance_bill: 0.1,
        mix: [26.0, 6.0, 14.0, 10.0, 7.0, 2.0, 0.4, 0.4, 4.0, 2.5,
              2.5, 8.0, 1.0, 5.0, 2.0, 0.8, 0.05, 1.5, 2.0, 5.0],
    },
    PersonaParams { // small-business owner
        share: 0.10, age_years: (28, 64), income_median_eur: 2_700.0, income_sigma: 0.55,
        buffer_months: 1.8, spend_ratio: 0.85, purchases_per_month: 16.0, atm_per_month: 1.0,
        p2p_out_per_month: 0.8, p2p_in_per_month: 0.6, online_factor: 1.0, trips_per_year: 1.5,
        willingness_mean: 0.35, stress_mean: 0.1, sessions_per_month: 2.8, p_renter: 0.35,
        p_mortgage: 0.45, p_consumer_loan: 0.25, bnpl_plans_per_month: 0.04, p_overdraft: 0.45,
        overdraft_months: 0.8, p_insurance_bill: 0.5,
        mix: [26.0, 12.0, 7.0, 12.0, 4.0, 4.0, 1.0, 1.5, 4.0, 3.0,
              3.0, 7.0, 1.0, 3.0, 2.0, 0.5, 0.5, 0.6, 5.0, 4.0],
    },
    PersonaParams { // high net worth
        share: 0.06, age_years: (35, 72), income_median_eur: 8_000.0, income_sigma: 0.5,
        buffer_months: 5.0, spend_ratio: 0.6, purchases_per_month: 15.0, atm_per_month: 0.5,
        p2p_out_per_month: 0.8, p2p_in_per_month: 0.5, online_factor: 1.0, trips_per_year: 2.5,
        willingness_mean: 0.7, stress_mean: -0.9, sessions_per_month: 2.6, p_renter: 0.15,
        p_mortgage: 0.5, p_consumer_loan: 0.04, bnpl_plans_per_month: 0.01, p_overdraft: 0.2,
        overdraft_months: 1.0, p_insurance_bill: 0.7,
        mix: [24.0, 16.0, 4.0, 7.0, 3.0, 6.0, 2.5, 3.0, 7.0, 3.0,
              3.0, 6.0, 2.0, 3.0, 3.0, 0.5, 2.5, 0.5, 3.0, 5.0],
    },
    PersonaParams { // financially stressed
        share: 0.15, age_years: (20, 60), income_median_eur: 950.0, income_sigma: 0.3,
        buffer_months: 0.05, spend_ratio: 1.12, purchases_per_month: 15.0, atm_per_month: 2.0,
        p2p_out_per_month: 1.0, p2p_in_per_month: 0.8, online_factor: 0.9, trips_per_year: 0.2,
        willingness_mean: -0.1, stress_mean: 1.6, sessions_per_month: 2.6, p_renter: 0.65,
        p_mortgage: 0.1, p_consumer_loan: 0.6, bnpl_plans_per_month: 0.4, p_overdraft: 0.85,
        overdraft_months: 0.7, p_insurance_bill: 0.1,
        mix: [34.0, 4.0, 14.0, 6.0, 9.0, 1.5, 0.2, 0.2, 4.0, 2.0,
              4.0, 6.0, 0.5, 4.0, 1.5, 0.2, 0.05, 3.0, 1.5, 5.0],
    },
];

impl Persona {
    pub(crate) fn params(self) -> &'static PersonaParams {
        &PARAMS[self as usize]
    }

    /// The persona's share of a generated population.
    pub fn population_share(self) -> f64 {
        self.params().share
    }

    pub(crate) fn sample<R: Rng>(rng: &mut R) -> Persona {
        Persona::ALL[pick(rng, &PARAMS.each_ref().map(|p| p.share))]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_sum_to_one_and_names_round_trip() {
        let total: f64 = Persona::ALL.iter().map(|p| p.population_share()).sum();
        assert!((total - 1.0).abs() < 1e-9, "{total}");
        for persona in Persona::ALL {
            assert_eq!(Persona::parse(persona.as_str()), Ok(*persona));
        }
        assert_eq!(Persona::GigWorker.as_str(), "gig_worker");
    }

    #[test]
    fn every_persona_is_adult_and_has_a_mix() {
        for persona in Persona::ALL {
            let p = persona.params();
            assert!(p.age_years.0 >= 18 && p.age_years.0 <= p.age_years.1);
            assert!(p.mix.iter().all(|w| *w >= 0.0) && p.mix.iter().sum::<f64>() > 0.0);
        }
    }
}
