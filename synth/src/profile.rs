//! The customer record the payment app registers: age, region, occupation, KYC and consents.

use rand::Rng;

use sextant_domain::{
    BirthYear, ChannelConsents, Consents, Currency, Customer, CustomerId, KycStatus, Occupation,
};

use crate::latent::Latents;
use crate::persona::Persona;
use crate::sample::{chance, pick, sigmoid};
use crate::tables::tables;
use crate::window::Window;

pub(crate) fn customer<R: Rng>(
    id: CustomerId,
    persona: Persona,
    latents: &Latents,
    window: &Window,
    rng: &mut R,
) -> Customer {
    let judged_at = window.judged_at();
    let year = i64::from(chrono::Datelike::year(&judged_at)) - i64::from(latents.age_years);
    Customer {
        id,
        birth_year: BirthYear::parse(year, judged_at)
            .expect("persona ages are at least 18 and validated end dates are recent"),
        region: tables().regions[latents.region].clone(),
        occupation: occupation(persona, latents, rng),
        kyc_status: kyc_status(persona, rng),
        consents: consents(latents, rng),
        base_currency: Currency::EUR,
    }
}

fn occupation<R: Rng>(persona: Persona, latents: &Latents, rng: &mut R) -> Occupation {
    use Occupation::*;
    let options: &[(Occupation, f64)] = match persona {
        Persona::SalariedProfessional => &[(Employed, 1.0)],
        Persona::Student => &[(Student, 0.92), (Employed, 0.08)],
        Persona::Retiree => &[(Retired, 0.96), (Other, 0.04)],
        Persona::GigWorker => &[(SelfEmployed, 0.65), (Other, 0.2), (Employed, 0.15)],
        Persona::SmallBusinessOwner => &[(BusinessOwner, 0.8), (SelfEmployed, 0.2)],
        Persona::HighNetWorth if latents.employed => &[(Employed, 1.0)],
        Persona::HighNetWorth if latents.age_years >= 63 => &[(Retired, 0.5), (BusinessOwner, 0.5)],
        Persona::HighNetWorth => &[(BusinessOwner, 0.8), (SelfEmployed, 0.2)],
        Persona::FinanciallyStressed if latents.employed => &[(Employed, 1.0)],
        Persona::FinanciallyStressed => &[(Unemployed, 0.6), (Other, 0.4)],
    };
    let weights: Vec<f64> = options.iter().map(|(_, w)| *w).collect();
    options[pick(rng, &weights)].0
}

/// Mostly verified; a few new customers are still pending and some long-standing ones have
/// let their documents expire. Students are more often new.
fn kyc_status<R: Rng>(persona: Persona, rng: &mut R) -> KycStatus {
    let pending = if persona == Persona::Student {
        0.12
    } else {
        0.06
    };
    let expired = if persona == Persona::Retiree {
        0.05
    } else {
        0.02
    };
    let draw: f64 = rng.gen();
    if draw < pending {
        KycStatus::Pending
    } else if draw < pending + expired {
        KycStatus::Expired
    } else {
        KycStatus::Verified
    }
}

/// Digital customers accept push and in-app messages; older ones prefer e-mail and SMS.
fn consents<R: Rng>(latents: &Latents, rng: &mut R) -> Consents {
    let digital = sigmoid(latents.digital_z);
    Consents {
        profiling: chance(rng, 0.93),
        marketing: ChannelConsents {
            push: chance(rng, 0.25 + 0.5 * digital),
            email: chance(rng, 0.55 - 0.2 * digital),
            sms: chance(rng, 0.35 - 0.25 * digital),
            in_app: chance(rng, 0.5 + 0.35 * digital),
        },
    }
}
