//! Each typology on a hand-built history: it fires, and it stays quiet on the near miss.

use chrono::{DateTime, Duration, TimeZone, Utc};
use sextant_domain::{
    AccountRef, AmountMinor, Card, Channel, Counterparty, CountryCode, Currency, CustomerId,
    DeviceId, Direction, EventId, Mcc, MerchantId, PaymentEvent, PaymentKind, PaymentStatus,
    ShortText,
};

use crate::{evaluate, CustomerState, Params, Span, Typology};

pub(crate) fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 2, 9, 0, 0).unwrap()
}

/// A completed payment of `kind` (its required direction), in CZ, `minutes` after the start.
pub(crate) fn pay(minutes: i64, kind: PaymentKind, amount_minor: i64) -> PaymentEvent {
    let direction = kind.required_direction().unwrap_or(Direction::Debit);
    PaymentEvent {
        event_id: EventId::parse(&format!("e-{minutes}-{amount_minor}")).unwrap(),
        customer_id: CustomerId::parse("c1").unwrap(),
        occurred_at: start() + Duration::minutes(minutes),
        amount: AmountMinor::new(amount_minor).unwrap(),
        currency: Currency::parse("EUR").unwrap(),
        direction,
        kind,
        channel: Channel::Online,
        merchant_id: None,
        mcc: (kind == PaymentKind::Purchase).then(|| Mcc::parse("5411").unwrap()),
        country: CountryCode::parse("CZ").unwrap(),
        card: None,
        status: PaymentStatus::Completed,
        balance_after_minor: None,
        counterparty: None,
        device_id: None,
        refund_of: None,
    }
}

pub(crate) fn card_purchase(minutes: i64, amount_minor: i64, merchant: &str) -> PaymentEvent {
    PaymentEvent {
        merchant_id: Some(MerchantId::parse(merchant).unwrap()),
        card: Some(Card::parse("411111", "1111").unwrap()),
        ..pay(minutes, PaymentKind::Purchase, amount_minor)
    }
}

const DAY: i64 = 24 * 60;

/// Thirty days of 40 EUR of groceries a day: a usual day of 40 EUR.
fn steady_month(state: &mut CustomerState, params: &Params) {
    for day in 0..30 {
        evaluate(state, &pay(day * DAY, PaymentKind::Purchase, 4_000), params);
    }
}

/// The alerts of the last of `payments`, replayed on a new customer with the default
/// parameters.
fn last_hits(payments: impl IntoIterator<Item = PaymentEvent>) -> Vec<crate::Hit> {
    let params = Params::default();
    let mut state = CustomerState::default();
    let mut last = Vec::new();
    for p in payments {
        last = evaluate(&mut state, &p, &params);
    }
    last
}

fn fired(hits: &[crate::Hit], typology: Typology) -> bool {
    hits.iter().any(|h| h.typology == typology)
}

#[test]
fn a_steady_month_fires_nothing() {
    let params = Params::default();
    let mut state = CustomerState::default();
    for day in 0..30 {
        let hits = evaluate(
            &mut state,
            &pay(day * DAY, PaymentKind::Purchase, 4_000),
            &params,
        );
        assert!(hits.is_empty(), "day {day}: {hits:?}");
    }
    assert_eq!(state.window(Span::Days30).debit_minor, 30 * 4_000);
    let baseline = state.baseline_daily_debit_minor(&params).unwrap();
    assert!((baseline - 4_000.0).abs() < 1.0, "{baseline}");
}

#[test]
fn velocity_spike_against_the_customers_own_day() {
    let params = Params::default();
    let spend = |amount_minor: i64, lumpy: bool| {
        let mut state = CustomerState::default();
        steady_month(&mut state, &params);
        if lumpy {
            evaluate(
                &mut state,
                &pay(20 * DAY + 60, PaymentKind::Purchase, 70_000),
                &params,
            );
        }
        evaluate(
            &mut state,
            &pay(30 * DAY + 60, PaymentKind::TransferOut, amount_minor),
            &params,
        )
    };
    // 1,200 EUR out the next day: 30 times the usual 40 EUR, above the 1,000 EUR floor.
    let hits = spend(120_000, false);
    assert!(fired(&hits, Typology::VelocitySpike), "{hits:?}");
    assert!(hits[0].reason.contains("1200.00 EUR"), "{}", hits[0].reason);
    // Near misses: 900 EUR is under the floor; 1,200 EUR from a customer who spent 700 EUR
    // on one day of the month before is under twice their largest day.
    let hits = spend(90_000, false);
    assert!(!fired(&hits, Typology::VelocitySpike), "{hits:?}");
    let hits = spend(120_000, true);
    assert!(
        !fired(&hits, Typology::VelocitySpike),
        "lumpy, not spiking: {hits:?}"
    );
}

#[test]
fn card_testing_is_many_small_cards_at_several_merchants_in_minutes() {
    let merchants = ["m-1", "m-2", "m-3", "m-4", "m-5"];
    let last = last_hits((0..5).map(|i| card_purchase(i, 100, merchants[i as usize])));
    assert!(fired(&last, Typology::CardTesting), "{last:?}");

    // Near misses: the same five at one merchant; five at five merchants over an hour.
    let last = last_hits((0..5).map(|i| card_purchase(i, 100, "m-1")));
    assert!(
        !fired(&last, Typology::CardTesting),
        "one merchant: {last:?}"
    );
    let last = last_hits((0..5).map(|i| card_purchase(i * 15, 100, merchants[i as usize])));
    assert!(!fired(&last, Typology::CardTesting), "spread out: {last:?}");
}

#[test]
fn declined_attempts_count_as_card_testing() {
    let params = Params::default();
    let mut state = CustomerState::default();
    let mut last = Vec::new();
    for (i, merchant) in ["m-1", "m-2", "m-3", "m-4", "m-5"].iter().enumerate() {
        let mut p = card_purchase(i as i64, 150, merchant);
        p.status = PaymentStatus::Failed;
        last = evaluate(&mut state, &p, &params);
    }
    assert!(fired(&last, Typology::CardTesting), "{last:?}");
    assert_eq!(state.window(Span::Minutes10).failed_count, 5);
}

#[test]
fn account_takeover_is_a_new_country_with_an_unusual_amount() {
    let params = Params::default();
    let mut state = CustomerState::default();
    steady_month(&mut state, &params);
    let mut abroad = pay(30 * DAY + 60, PaymentKind::Purchase, 90_000);
    abroad.country = CountryCode::parse("BR").unwrap();
    let hits = evaluate(&mut state, &abroad, &params);
    assert!(fired(&hits, Typology::AccountTakeover), "{hits:?}");

    // Near miss: the same amount at home; a small amount abroad.
    let mut state = CustomerState::default();
    steady_month(&mut state, &params);
    let hits = evaluate(
        &mut state,
        &pay(30 * DAY + 60, PaymentKind::Purchase, 90_000),
        &params,
    );
    assert!(!fired(&hits, Typology::AccountTakeover), "{hits:?}");
    let mut small = pay(30 * DAY + 60, PaymentKind::Purchase, 5_000);
    small.country = CountryCode::parse("BR").unwrap();
    let hits = evaluate(&mut state, &small, &params);
    assert!(!fired(&hits, Typology::AccountTakeover), "{hits:?}");
}

/// `p` made from device `device`, to or from the person `who` (by name only, or by account).
fn with_parties(mut p: PaymentEvent, device: Option<&str>, who: Option<&str>) -> PaymentEvent {
    p.device_id = device.map(|d| DeviceId::parse(d).unwrap());
    p.counterparty = who.map(|w| Counterparty {
        name: Some(ShortText::parse(w).unwrap()),
        account: None,
    });
    p
}

/// A month of 300 EUR a day paid from the customer's phone, and a rent transfer to the
/// landlord: three usual days are 900 EUR.
fn steady_month_in_the_app(state: &mut CustomerState, params: &Params) {
    for day in 0..30 {
        let p = pay(day * DAY, PaymentKind::Purchase, 30_000);
        evaluate(state, &with_parties(p, Some("phone-1"), None), params);
    }
    let rent = pay(29 * DAY + 30, PaymentKind::TransferOut, 70_000);
    evaluate(
        state,
        &with_parties(rent, Some("phone-1"), Some("Jana Landlady")),
        params,
    );
}

#[test]
fn account_takeover_is_a_new_device_paying_a_new_payee() {
    let params = Params::default();
    let transfer = |device: &str, payee: &str, amount_minor: i64| {
        let mut state = CustomerState::default();
        steady_month_in_the_app(&mut state, &params);
        let p = pay(31 * DAY, PaymentKind::TransferOut, amount_minor);
        evaluate(
            &mut state,
            &with_parties(p, Some(device), Some(payee)),
            &params,
        )
    };
    // 300 EUR from a phone never seen, to someone never paid: under three usual days, but
    // over the 200 EUR a new device may send a stranger.
    let hits = transfer("phone-2", "Karel Stranger", 30_000);
    assert!(fired(&hits, Typology::AccountTakeover), "{hits:?}");
    let reason = &hits
        .iter()
        .find(|h| h.typology == Typology::AccountTakeover)
        .unwrap()
        .reason;
    assert!(
        reason.contains("device") && reason.contains("payee"),
        "{reason}"
    );
    // Near misses: the usual phone paying a stranger; a new phone paying the landlord
    // (folded: case and spacing do not make a new payee); a new phone sending a stranger
    // 150 EUR. A new phone sending 1,000 EUR anywhere is over three usual days.
    let hits = transfer("phone-1", "Karel Stranger", 30_000);
    assert!(!fired(&hits, Typology::AccountTakeover), "{hits:?}");
    let hits = transfer("phone-2", "jana  LANDLADY", 30_000);
    assert!(!fired(&hits, Typology::AccountTakeover), "{hits:?}");
    let hits = transfer("phone-2", "Karel Stranger", 15_000);
    assert!(!fired(&hits, Typology::AccountTakeover), "{hits:?}");
    let hits = transfer("phone-2", "jana landlady", 100_000);
    assert!(fired(&hits, Typology::AccountTakeover), "{hits:?}");
    let hits = transfer("phone-1", "jana landlady", 100_000);
    assert!(!fired(&hits, Typology::AccountTakeover), "{hits:?}");

    // The first device a customer ever uses is not new.
    let mut state = CustomerState::default();
    steady_month(&mut state, &params);
    let p = pay(31 * DAY, PaymentKind::TransferOut, 60_000);
    let hits = evaluate(
        &mut state,
        &with_parties(p, Some("phone-1"), Some("Karel Stranger")),
        &params,
    );
    assert!(!fired(&hits, Typology::AccountTakeover), "{hits:?}");
}

#[test]
fn fan_in_then_fan_out_passes_money_on_below_the_share() {
    // 4,000 EUR in from `senders` people, 60% of it out to `payees` others within a day.
    let fan = |senders: usize, payees: usize| {
        let mut history = Vec::new();
        for k in 0..senders {
            let p = pay(
                k as i64 * 60,
                PaymentKind::TransferIn,
                400_000 / senders as i64,
            );
            history.push(with_parties(p, None, Some(&format!("Sender {k}"))));
        }
        for k in 0..payees {
            let p = pay(
                20 * 60 + k as i64 * 60,
                PaymentKind::TransferOut,
                240_000 / payees as i64,
            );
            history.push(with_parties(p, None, Some(&format!("Payee {k}"))));
        }
        last_hits(history)
    };
    let hits = fan(5, 3);
    assert!(fired(&hits, Typology::PassThrough), "{hits:?}");
    assert!(hits[0].reason.contains("from 5 people to 3"), "{hits:?}");
    // Near misses: the same money from three people, or out to one.
    assert!(!fired(&fan(3, 3), Typology::PassThrough));
    assert!(!fired(&fan(5, 1), Typology::PassThrough));
    // An account names the same person under another spelling.
    let same = Counterparty {
        name: Some(ShortText::parse("J. Novak").unwrap()),
        account: Some(AccountRef::parse("CZ6508000000192000145399").unwrap()),
    };
    let other_spelling = Counterparty {
        name: Some(ShortText::parse("Jan Novak").unwrap()),
        ..same.clone()
    };
    assert_eq!(same.key(), other_spelling.key());
}

#[test]
fn pass_through_is_most_of_the_money_out_again_within_two_days() {
    let in_then_out = |minutes: i64, out_minor: i64| {
        last_hits([
            pay(0, PaymentKind::TransferIn, 500_000),
            pay(minutes, PaymentKind::TransferOut, out_minor),
        ])
    };
    let hits = in_then_out(20 * 60, 450_000);
    assert!(fired(&hits, Typology::PassThrough), "{hits:?}");

    // Near miss: half goes out; or all of it, three days later.
    let hits = in_then_out(20 * 60, 250_000);
    assert!(!fired(&hits, Typology::PassThrough), "{hits:?}");
    let hits = in_then_out(3 * DAY, 500_000);
    assert!(!fired(&hits, Typology::PassThrough), "{hits:?}");
}

#[test]
fn structuring_is_several_amounts_just_under_the_threshold_in_a_week() {
    let withdrawals = |series: [(i64, i64); 3]| {
        last_hits(series.map(|(day, amount)| pay(day * DAY, PaymentKind::Atm, amount)))
    };
    let last = withdrawals([(0, 950_000), (2, 990_000), (4, 920_000)]);
    assert!(fired(&last, Typology::Structuring), "{last:?}");

    // Near misses: one of the three at the threshold itself; the three over two weeks.
    let last = withdrawals([(0, 950_000), (2, 1_000_000), (4, 920_000)]);
    assert!(!fired(&last, Typology::Structuring), "{last:?}");
    let last = withdrawals([(0, 950_000), (5, 990_000), (10, 920_000)]);
    assert!(!fired(&last, Typology::Structuring), "{last:?}");
}

#[test]
fn dormant_reactivated_is_a_large_payment_after_months_of_silence() {
    let after_silence = |days: i64, kind: PaymentKind, amount_minor: i64| {
        last_hits([
            pay(0, PaymentKind::Purchase, 4_000),
            pay(days * DAY, kind, amount_minor),
        ])
    };
    let hits = after_silence(200, PaymentKind::TransferOut, 300_000);
    let dormant = hits
        .iter()
        .find(|h| h.typology == Typology::DormantReactivated)
        .expect("fires");
    assert!(dormant.reason.contains("after 200 days"), "{hits:?}");

    // Near misses: after 150 days; a small amount after 200.
    let hits = after_silence(150, PaymentKind::TransferOut, 300_000);
    assert!(!fired(&hits, Typology::DormantReactivated), "{hits:?}");
    let hits = after_silence(200, PaymentKind::Purchase, 2_000);
    assert!(!fired(&hits, Typology::DormantReactivated), "{hits:?}");
}

#[test]
fn high_risk_jurisdictions_and_round_transfers() {
    let params = Params::default();
    let mut state = CustomerState::default();
    let mut p = pay(0, PaymentKind::Purchase, 1_000);
    p.country = CountryCode::parse("KP").unwrap();
    assert!(fired(
        &evaluate(&mut state, &p, &params),
        Typology::HighRiskJurisdiction
    ));
    p.country = CountryCode::parse("DE").unwrap();
    assert!(!fired(
        &evaluate(&mut state, &p, &params),
        Typology::HighRiskJurisdiction
    ));

    let hits = evaluate(
        &mut state,
        &pay(10, PaymentKind::TransferOut, 700_000),
        &params,
    );
    assert!(fired(&hits, Typology::RoundAmountTransfer), "{hits:?}");
    let hits = evaluate(
        &mut state,
        &pay(20, PaymentKind::TransferOut, 700_050),
        &params,
    );
    assert!(
        !fired(&hits, Typology::RoundAmountTransfer),
        "not round: {hits:?}"
    );
    let hits = evaluate(
        &mut state,
        &pay(30, PaymentKind::TransferOut, 300_000),
        &params,
    );
    assert!(
        !fired(&hits, Typology::RoundAmountTransfer),
        "under the minimum: {hits:?}"
    );
}

#[test]
fn a_customer_paying_hundreds_of_merchants_keeps_a_bounded_memory() {
    let params = Params::default();
    let mut state = CustomerState::default();
    for i in 0..500 {
        evaluate(
            &mut state,
            &card_purchase(i * 60, 2_500, &format!("m-{i}")),
            &params,
        );
    }
    assert_eq!(
        state.merchants.distinct_since(i64::MIN),
        crate::state::Recent::CAPACITY
    );
    assert!(
        state.merchants.last_seen("m-499").is_some() && state.merchants.last_seen("m-0").is_none()
    );
}

#[test]
fn rent_and_salary_are_not_spikes_or_pass_through() {
    let params = Params::default();
    let mut state = CustomerState::default();
    steady_month(&mut state, &params);
    // Salary in, then rent and a loan repayment out the same day: ordinary.
    let mut last = evaluate(
        &mut state,
        &pay(30 * DAY, PaymentKind::Salary, 300_000),
        &params,
    );
    last.extend(evaluate(
        &mut state,
        &pay(30 * DAY + 60, PaymentKind::Bill, 150_000),
        &params,
    ));
    last.extend(evaluate(
        &mut state,
        &pay(30 * DAY + 120, PaymentKind::LoanRepayment, 120_000),
        &params,
    ));
    assert!(last.is_empty(), "{last:?}");
}

#[test]
fn a_spike_raises_one_alert_until_its_day_is_over() {
    let params = Params::default();
    let mut state = CustomerState::default();
    steady_month(&mut state, &params);
    let first = evaluate(
        &mut state,
        &pay(30 * DAY + 60, PaymentKind::TransferOut, 120_000),
        &params,
    );
    assert!(fired(&first, Typology::VelocitySpike), "{first:?}");
    // More of it the same day joins the same episode.
    let more = evaluate(
        &mut state,
        &pay(30 * DAY + 120, PaymentKind::Purchase, 30_000),
        &params,
    );
    assert!(!fired(&more, Typology::VelocitySpike), "{more:?}");
    // The next day, a new spike alerts again.
    let next = evaluate(
        &mut state,
        &pay(31 * DAY + 180, PaymentKind::TransferOut, 300_000),
        &params,
    );
    assert!(fired(&next, Typology::VelocitySpike), "{next:?}");
}

/// An assessment records the state it decided on and is replayed from it: the state must
/// come back from JSON exactly, and decide the next payment as the original does.
#[test]
fn a_state_survives_json_and_decides_the_same() {
    let params = Params::default();
    let mut state = CustomerState::default();
    steady_month(&mut state, &params);
    for i in 0..4 {
        crate::evaluate(
            &mut state,
            &card_purchase(43_200 + i, 100, &format!("m-{i}")),
            &params,
        );
    }
    let text = serde_json::to_string(&state).unwrap();
    assert!(text.len() < 8_000, "{} bytes", text.len());
    let back: CustomerState = serde_json::from_str(&text).unwrap();
    assert_eq!(serde_json::to_string(&back).unwrap(), text);
    let next = card_purchase(43_205, 100, "m-9");
    let decided =
        |mut s: CustomerState| crate::decide(crate::detect(&mut s, &next, &params), vec![], None);
    assert!(state.recent_ids.contains("e-43203-100") && !back.recent_ids.contains("e-43203-100"));
    let (original, replayed) = (decided(state), decided(back));
    assert_eq!(original, replayed);
    assert!(fired(&original.hits, Typology::CardTesting));
}

#[test]
fn an_empty_window_has_no_largest_bucket() {
    let window = crate::window::Window::new(60_000, 10);
    assert_eq!(window.max_before(0, |t| t.debit_minor), 0);
    assert_eq!(CustomerState::default().largest_day_before_minor(), 0);
}
