//! Latent traits: the hidden causes behind a customer's data.
//!
//! Each trait is on a standard-normal-like scale, shifted by persona. The generators read them
//! to shape flows, and `truth.rs` reads them (plus what actually happened) to derive the ground
//! truth, so a model can learn the truth only through the noisy marks the traits leave.

use rand::Rng;

use crate::persona::Persona;
use crate::sample::{cents, chance, normal, pick};
use crate::tables::REGIONS;

#[derive(Debug, Clone)]
pub(crate) struct Latents {
    /// Index into `tables::REGIONS`.
    pub region: usize,
    pub age_years: u16,
    /// Paid a salary by an employer (rather than benefits, business draws or family money).
    pub employed: bool,
    /// True expected net income per month, in euro cents.
    pub income_minor: i64,
    /// Wealth within the persona: lifts income, savings and travel.
    pub wealth_z: f64,
    /// Appetite for investment risk.
    pub willingness_z: f64,
    /// Financial stress: debt, thin buffers, overspending, missed income.
    pub stress_z: f64,
    /// Habit of saving.
    pub thrift_z: f64,
    /// App and online affinity.
    pub digital_z: f64,
    pub travel_z: f64,
    /// Starting account balance in months of income.
    pub buffer_months: f64,
}

/// Region weights before persona adjustments: the bank's customers lean urban.
const REGION_WEIGHTS: [f64; 8] = [22.0, 13.0, 13.0, 12.0, 9.0, 11.0, 10.0, 10.0];

impl Latents {
    pub(crate) fn sample<R: Rng>(persona: Persona, rng: &mut R) -> Latents {
        let params = persona.params();
        let region = sample_region(persona, rng);
        let (lo, hi) = params.age_years;
        let age_years = rng.gen_range(lo..=hi);
        let employed = match persona {
            Persona::SalariedProfessional => true,
            Persona::Student => chance(rng, 0.2),
            Persona::HighNetWorth => chance(rng, 0.65),
            Persona::FinanciallyStressed => chance(rng, 0.55),
            Persona::Retiree | Persona::GigWorker | Persona::SmallBusinessOwner => false,
        };
        let wealth_z = normal(rng);
        let thrift_z = normal(rng);
        let out_of_work = if persona == Persona::FinanciallyStressed && !employed {
            0.8
        } else {
            1.0
        };
        let income_eur = params.income_median_eur
            * REGIONS[region].1
            * out_of_work
            * (params.income_sigma * wealth_z).exp();
        let age_shift = (f64::from(age_years) - 40.0) / 100.0;
        let stress_noise = 0.8 * normal(rng);
        let stress_z = params.stress_mean + stress_noise - 0.3 * thrift_z - 0.25 * wealth_z;
        let buffer_spread = 0.8 * normal(rng) + 0.35 * thrift_z - 0.35 * stress_noise;
        Latents {
            region,
            age_years,
            employed,
            income_minor: cents(income_eur.max(150.0)),
            wealth_z,
            willingness_z: params.willingness_mean + normal(rng) + 0.2 * wealth_z - age_shift,
            stress_z,
            thrift_z,
            digital_z: normal(rng) + (35.0 - f64::from(age_years)) / 25.0,
            travel_z: normal(rng) + 0.4 * wealth_z,
            buffer_months: params.buffer_months * (buffer_spread + 0.3 * wealth_z).exp(),
        }
    }

    pub(crate) fn income_eur(&self) -> f64 {
        self.income_minor as f64 / 100.0
    }
}

fn sample_region<R: Rng>(persona: Persona, rng: &mut R) -> usize {
    let mut weights = REGION_WEIGHTS;
    match persona {
        // Universities and head offices sit in the two big cities.
        Persona::Student | Persona::HighNetWorth => {
            weights[0] *= 1.8;
            weights[2] *= 1.4;
        }
        Persona::Retiree => weights[0] *= 0.8,
        _ => {}
    }
    pick(rng, &weights)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    #[test]
    fn persona_shifts_the_latents() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        let mean_of = |persona, rng: &mut ChaCha8Rng, f: fn(&Latents) -> f64| {
            (0..2_000)
                .map(|_| f(&Latents::sample(persona, rng)))
                .sum::<f64>()
                / 2_000.0
        };
        let stress_stressed = mean_of(Persona::FinanciallyStressed, &mut rng, |l| l.stress_z);
        let stress_rich = mean_of(Persona::HighNetWorth, &mut rng, |l| l.stress_z);
        assert!(stress_stressed > stress_rich + 1.5);
        let income_student = mean_of(Persona::Student, &mut rng, Latents::income_eur);
        let income_rich = mean_of(Persona::HighNetWorth, &mut rng, Latents::income_eur);
        assert!(income_rich > 8.0 * income_student);
    }
}
