//! The typologies: each a documented detector over the customer's state after a payment,
//! firing with a score in 0..=1 and a reason in plain words.
//!
//! Payments that name no device or counterparty are judged without them: account takeover
//! then looks for a new country alone, and pass-through for money in and out alone.

use serde::{Deserialize, Serialize};
use sextant_domain::{Direction, PaymentEvent, PaymentKind, PaymentStatus};

use crate::state::{CustomerState, Span};
use crate::Params;

const DAY_MS: i64 = 24 * 60 * 60 * 1_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Typology {
    /// Spending over 24 hours far above the customer's own usual day.
    VelocitySpike,
    /// Many small card purchases across several merchants within minutes: a stolen card
    /// being tried before it is used.
    CardTesting,
    /// First activity from a country or a device not seen before, with an amount far above
    /// the usual day or, from a new device, a large transfer to a payee never paid before.
    AccountTakeover,
    /// Money in, then most of it out again within 48 hours, or money in from several people
    /// and out to several others (fan-in, fan-out): an account used to pass funds on.
    PassThrough,
    /// Several withdrawals or transfers just under the reporting threshold within a week.
    Structuring,
    /// A large payment after months without any activity.
    DormantReactivated,
    /// A payment in a jurisdiction on the bank's high-risk list.
    HighRiskJurisdiction,
    /// A large transfer out in a round amount.
    RoundAmountTransfer,
}

/// How many typologies there are.
pub const COUNT: usize = 8;

impl Typology {
    pub const ALL: [Typology; COUNT] = [
        Typology::VelocitySpike,
        Typology::CardTesting,
        Typology::AccountTakeover,
        Typology::PassThrough,
        Typology::Structuring,
        Typology::DormantReactivated,
        Typology::HighRiskJurisdiction,
        Typology::RoundAmountTransfer,
    ];

    pub fn index(self) -> usize {
        Typology::ALL
            .iter()
            .position(|t| *t == self)
            .expect("every typology is in ALL")
    }

    /// After an alert, how long the same typology stays quiet for the customer: the
    /// payments that keep it firing meanwhile belong to the same episode. Typologies about
    /// one payment (a jurisdiction, a round amount) alert on each.
    pub fn cooldown_ms(self) -> i64 {
        match self {
            Typology::VelocitySpike | Typology::AccountTakeover => DAY_MS,
            Typology::CardTesting => DAY_MS / 24,
            Typology::PassThrough => 2 * DAY_MS,
            Typology::Structuring => 7 * DAY_MS,
            Typology::DormantReactivated
            | Typology::HighRiskJurisdiction
            | Typology::RoundAmountTransfer => 0,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Typology::VelocitySpike => "velocity_spike",
            Typology::CardTesting => "card_testing",
            Typology::AccountTakeover => "account_takeover",
            Typology::PassThrough => "pass_through",
            Typology::Structuring => "structuring",
            Typology::DormantReactivated => "dormant_reactivated",
            Typology::HighRiskJurisdiction => "high_risk_jurisdiction",
            Typology::RoundAmountTransfer => "round_amount_transfer",
        }
    }
}

/// A detector that fired on a payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Hit {
    pub typology: Typology,
    /// How strongly, 0..=1 (1: far past the detector's threshold).
    pub score: f64,
    pub reason: String,
}

/// What the state said before the payment was added: the detectors that look for a change
/// (a new country, a long silence) compare with it.
struct Before {
    last_seen_ms: Option<i64>,
    country_known: bool,
    /// The payment names a device, the customer paid from others before, never this one.
    device_new: bool,
    /// The payment goes out to a named counterparty the customer never paid (in memory).
    payee_new: bool,
    baseline_daily_minor: Option<f64>,
}

impl Before {
    fn of(state: &CustomerState, p: &PaymentEvent, params: &Params) -> Before {
        Before {
            last_seen_ms: state.last_seen_ms,
            country_known: state.countries.last_seen(p.country.as_str()).is_some(),
            device_new: state.is_new_device(p),
            payee_new: state.is_new_payee(p),
            baseline_daily_minor: state.baseline_daily_debit_minor(params),
        }
    }
}

/// Adds the payment to the customer's state and returns the alerts it raises, strongest
/// first: the typologies that fire ([`detect`]), less those still in their cooldown from an
/// earlier alert of the customer's ([`Typology::cooldown_ms`]).
pub fn evaluate(state: &mut CustomerState, p: &PaymentEvent, params: &Params) -> Vec<Hit> {
    let hits = detect(state, p, params);
    cool_down(state, p.occurred_at.timestamp_millis(), hits)
}

/// Of the hits [`detect`] found on a payment made at `at`, those not in their typology's
/// cooldown from an earlier alert of the customer's; they start a new cooldown.
pub fn cool_down(state: &mut CustomerState, at: i64, mut hits: Vec<Hit>) -> Vec<Hit> {
    hits.retain(|hit| {
        let last = &mut state.last_alert_ms[hit.typology.index()];
        let quiet = last.is_some_and(|last| at - last < hit.typology.cooldown_ms());
        if !quiet {
            *last = Some(at);
        }
        !quiet
    });
    hits
}

/// Adds the payment to the customer's state and returns every typology that fires on it,
/// strongest first, cooldowns aside: what a decision on this one payment needs (an attack
/// still under way is blocked even though its alert was raised already). Constant time:
/// every detector reads window totals.
pub fn detect(state: &mut CustomerState, p: &PaymentEvent, params: &Params) -> Vec<Hit> {
    let before = Before::of(state, p, params);
    state.update(p, params);
    let mut hits: Vec<Hit> = [
        velocity_spike(state, p, params),
        card_testing(state, p, params),
        account_takeover(&before, p, params),
        pass_through(state, p, params),
        structuring(state, p, params),
        dormant_reactivated(&before, p, params),
        high_risk_jurisdiction(p, params),
        round_amount_transfer(p, params),
    ]
    .into_iter()
    .flatten()
    .collect();
    hits.sort_by(|a, b| b.score.total_cmp(&a.score));
    hits
}

/// `value` past `threshold`, as a score: 0.5 at the threshold, 1 at twice it.
fn past(value: f64, threshold: f64) -> f64 {
    if threshold <= 0.0 {
        return 1.0;
    }
    (0.5 * value / threshold).clamp(0.0, 1.0)
}

/// An amount in minor units in words, with the payment's currency.
fn money(p: &PaymentEvent, minor: f64) -> String {
    let digits = p.currency.minor_digits();
    let major = minor / 10f64.powi(i32::from(digits));
    format!("{major:.*} {}", usize::from(digits), p.currency.as_str())
}

fn completed_debit(p: &PaymentEvent) -> bool {
    p.status == PaymentStatus::Completed && p.direction == Direction::Debit
}

fn velocity_spike(state: &CustomerState, p: &PaymentEvent, params: &Params) -> Option<Hit> {
    let discretionary = matches!(
        p.kind,
        PaymentKind::Purchase | PaymentKind::Atm | PaymentKind::TransferOut
    );
    if !completed_debit(p) || !discretionary {
        return None;
    }
    let baseline = state.baseline_daily_debit_minor(params)?;
    let day = state.window(Span::Hours24).discretionary_minor as f64;
    let threshold = (params.velocity_factor * baseline)
        .max(params.velocity_largest_day_factor * state.largest_day_before_minor() as f64)
        .max(params.velocity_min_minor as f64);
    (day >= threshold).then(|| Hit {
        typology: Typology::VelocitySpike,
        score: past(day, threshold),
        reason: format!(
            "{} spent or moved out in the last 24 hours, {:.1} times the customer's usual day ({})",
            money(p, day),
            day / baseline.max(1.0),
            money(p, baseline)
        ),
    })
}

fn card_testing(state: &CustomerState, p: &PaymentEvent, params: &Params) -> Option<Hit> {
    if p.kind != PaymentKind::Purchase || p.card.is_none() {
        return None;
    }
    let small = state.window(Span::Minutes10).small_card_count;
    let at = p.occurred_at.timestamp_millis();
    let merchants = state.merchants.distinct_since(at - Span::Minutes10.ms());
    let fires =
        small >= params.card_testing_min_payments && merchants >= params.card_testing_min_merchants;
    fires.then(|| Hit {
        typology: Typology::CardTesting,
        score: past(
            f64::from(small),
            f64::from(params.card_testing_min_payments),
        ),
        reason: format!(
            "{small} card purchases of at most {} within 10 minutes, at {merchants} merchants",
            money(p, params.card_testing_max_minor as f64)
        ),
    })
}

fn account_takeover(before: &Before, p: &PaymentEvent, params: &Params) -> Option<Hit> {
    let new_country = !before.country_known;
    if !completed_debit(p) || !(new_country || before.device_new) {
        return None;
    }
    before.last_seen_ms?;
    let baseline = before.baseline_daily_minor?;
    let amount = p.amount.get() as f64;
    let threshold = (params.takeover_factor * baseline).max(params.takeover_min_minor as f64);
    let to_new_payee = before.device_new
        && before.payee_new
        && amount >= params.takeover_new_payee_min_minor as f64;
    if amount < threshold && !to_new_payee {
        return None;
    }
    let score = past(amount, threshold).max(if to_new_payee {
        past(amount, params.takeover_new_payee_min_minor as f64)
    } else {
        0.0
    });
    // Both a new country and a new device: twice the evidence.
    let score = if new_country && before.device_new {
        (score + 0.25).min(1.0)
    } else {
        score
    };
    let access = match (new_country, before.device_new) {
        (true, true) => format!(
            "the first payment from {} and from a device the customer never used",
            p.country.as_str()
        ),
        (true, false) => format!(
            "the first payment from {} in the customer's recent history",
            p.country.as_str()
        ),
        _ => "the first payment from a device the customer never used".to_owned(),
    };
    let payee = if before.payee_new {
        " to a payee they never paid"
    } else {
        ""
    };
    Some(Hit {
        typology: Typology::AccountTakeover,
        score,
        reason: format!(
            "{access}: {}{payee}, {:.1} times their usual day",
            money(p, amount),
            amount / baseline.max(1.0)
        ),
    })
}

fn pass_through(state: &CustomerState, p: &PaymentEvent, params: &Params) -> Option<Hit> {
    if !completed_debit(p) {
        return None;
    }
    if !matches!(p.kind, PaymentKind::TransferOut | PaymentKind::Atm) {
        return None;
    }
    let window = state.window(Span::Hours48);
    let (came_in, went_out) = (
        window.transfer_in_minor as f64,
        window.moved_out_minor as f64,
    );
    if came_in < params.pass_through_min_minor as f64 {
        return None;
    }
    let since = p.occurred_at.timestamp_millis() - Span::Hours48.ms();
    let (payers, payees) = (
        state.payers.distinct_since(since),
        state.payees.distinct_since(since),
    );
    let passed_on = went_out >= params.pass_through_share * came_in;
    let fanned = payers >= params.fan_in_min_counterparties
        && payees >= params.fan_out_min_counterparties
        && went_out >= params.fan_out_share * came_in;
    if !passed_on && !fanned {
        return None;
    }
    let share_score = past(went_out / came_in, params.pass_through_share).min(1.0);
    let fan_score = if fanned {
        past(
            (payers * payees) as f64,
            (params.fan_in_min_counterparties * params.fan_out_min_counterparties) as f64,
        )
    } else {
        0.0
    };
    let fan = if payers >= 2 || payees >= 2 {
        format!(", from {payers} people to {payees}")
    } else {
        String::new()
    };
    Some(Hit {
        typology: Typology::PassThrough,
        score: share_score.max(fan_score),
        reason: format!(
            "{} came in by transfer and {} ({:.0}%) went out again by transfer or cash within 48 hours{fan}",
            money(p, came_in),
            money(p, went_out),
            100.0 * went_out / came_in
        ),
    })
}

fn structuring(state: &CustomerState, p: &PaymentEvent, params: &Params) -> Option<Hit> {
    if !params.is_near_threshold(p.amount.get())
        || !matches!(p.kind, PaymentKind::Atm | PaymentKind::TransferOut)
    {
        return None;
    }
    let near = state.window(Span::Days7).near_threshold_count;
    (near >= params.structuring_min_payments).then(|| Hit {
        typology: Typology::Structuring,
        score: past(f64::from(near), f64::from(params.structuring_min_payments)),
        reason: format!(
            "{near} withdrawals or transfers within 7 days just under the {} threshold",
            money(p, params.reporting_threshold_minor as f64)
        ),
    })
}

fn dormant_reactivated(before: &Before, p: &PaymentEvent, params: &Params) -> Option<Hit> {
    let last = before.last_seen_ms?;
    let silent_days = (p.occurred_at.timestamp_millis() - last) / DAY_MS;
    let amount = p.amount.get();
    let fires = p.status == PaymentStatus::Completed
        && silent_days >= i64::from(params.dormant_days)
        && amount >= params.dormant_min_minor;
    fires.then(|| Hit {
        typology: Typology::DormantReactivated,
        score: past(amount as f64, params.dormant_min_minor as f64),
        reason: format!(
            "{} after {silent_days} days without any payment",
            money(p, amount as f64)
        ),
    })
}

fn high_risk_jurisdiction(p: &PaymentEvent, params: &Params) -> Option<Hit> {
    let country = p.country.as_str();
    params
        .high_risk_countries
        .iter()
        .any(|c| c == country)
        .then(|| Hit {
            typology: Typology::HighRiskJurisdiction,
            score: 1.0,
            reason: format!(
                "a payment in {country}, on the bank's list of high-risk jurisdictions"
            ),
        })
}

fn round_amount_transfer(p: &PaymentEvent, params: &Params) -> Option<Hit> {
    let amount = p.amount.get();
    let fires = p.kind == PaymentKind::TransferOut
        && p.status == PaymentStatus::Completed
        && amount >= params.round_min_minor
        && amount % params.round_unit_minor == 0;
    fires.then(|| Hit {
        typology: Typology::RoundAmountTransfer,
        score: past(amount as f64, params.round_min_minor as f64),
        reason: format!("a transfer out of exactly {}", money(p, amount as f64)),
    })
}
