//! Hand-built histories with known answers, and properties on random ones.

use chrono::{DateTime, Duration, TimeZone, Utc};
use proptest::prelude::*;
use sextant_domain::{
    AmountMinor, BehaviourEvent, BehaviourKind, BirthYear, Channel, Consents, CountryCode,
    Currency, Customer, CustomerId, Direction, EventId, Holding, KycStatus, Mcc, MerchantId,
    Occupation, PaymentEvent, PaymentKind, PaymentStatus, ProductId, RateTable, Region,
};

use super::*;
use crate::categories::COUNT as CATEGORIES;
use crate::category_sequence;

fn as_of() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 10, 31, 23, 59, 59).unwrap()
}

fn day(y: i32, m: u32, d: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
}

fn customer() -> Customer {
    Customer {
        id: CustomerId::parse("c1").unwrap(),
        birth_year: BirthYear::parse(1980, as_of()).unwrap(),
        region: Region::parse("Praha").unwrap(),
        occupation: Occupation::Employed,
        kyc_status: KycStatus::Verified,
        consents: Consents::default(),
        base_currency: Currency::EUR,
    }
}

/// A completed payment of `kind` with the direction it requires (debit for investments),
/// online, in CZ, groceries MCC for purchases, no merchant and no balance.
fn pay(kind: PaymentKind, amount_minor: i64, at: DateTime<Utc>) -> PaymentEvent {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    PaymentEvent {
        event_id: EventId::parse(&format!("p_{n}")).unwrap(),
        customer_id: CustomerId::parse("c1").unwrap(),
        occurred_at: at,
        amount: AmountMinor::new(amount_minor).unwrap(),
        currency: Currency::EUR,
        direction: kind.required_direction().unwrap_or(Direction::Debit),
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

fn with_balance(mut p: PaymentEvent, balance_minor: i64) -> PaymentEvent {
    p.balance_after_minor = Some(balance_minor);
    p
}

fn with_channel(mut p: PaymentEvent, channel: Channel) -> PaymentEvent {
    p.channel = channel;
    p
}

fn failed(mut p: PaymentEvent) -> PaymentEvent {
    p.status = PaymentStatus::Failed;
    p
}

fn at_merchant(mut p: PaymentEvent, merchant: &str) -> PaymentEvent {
    p.merchant_id = Some(MerchantId::parse(merchant).unwrap());
    p
}

fn behaviour(kind: BehaviourKind, at: DateTime<Utc>, product: Option<&str>) -> BehaviourEvent {
    BehaviourEvent {
        event_id: EventId::parse("b").unwrap(),
        customer_id: CustomerId::parse("c1").unwrap(),
        occurred_at: at,
        kind,
        session_id: None,
        screen: None,
        product_id: product.map(|p| ProductId::parse(p).unwrap()),
        offer_id: None,
        query: None,
    }
}

fn holding(product: &str, value_minor: i64, opened: DateTime<Utc>) -> Holding {
    Holding {
        customer_id: CustomerId::parse("c1").unwrap(),
        product_id: ProductId::parse(product).unwrap(),
        value: AmountMinor::new(value_minor).unwrap(),
        currency: Currency::EUR,
        opened_at: opened,
    }
}

fn features_of(
    payments: &[PaymentEvent],
    behaviour: &[BehaviourEvent],
    holdings: &[Holding],
) -> Features {
    let customer = customer();
    let history = CustomerHistory {
        customer: &customer,
        payments,
        behaviour,
        holdings,
        rates: &RateTable::new(),
        loyalty: &sextant_loyalty::Activity::default(),
    };
    compute_features(&history, as_of())
}

fn value(features: &Features, name: &str) -> f64 {
    features
        .get(name)
        .unwrap_or_else(|| panic!("no feature {name}"))
}

fn assert_close(features: &Features, name: &str, expected: f64) {
    let actual = value(features, name);
    assert!(
        (actual - expected).abs() <= 1e-9 * expected.abs().max(1.0),
        "{name}: {actual} != {expected}"
    );
}

/// The twelve months from November 2025 to October 2026 as (year, month).
fn months() -> impl Iterator<Item = (i32, u32)> {
    (0..12).map(|i| if i < 2 { (2025, 11 + i) } else { (2026, i - 1) })
}

/// A salary of 2,000.00 on the 25th and a 1,000.00 grocery purchase on the 5th, every month;
/// the October salary leaves 3,000.00 on the account.
fn steady_earner() -> Vec<PaymentEvent> {
    let mut payments = Vec::new();
    for (y, m) in months() {
        let balance = if (y, m) == (2026, 10) {
            300_000
        } else {
            150_000
        };
        payments.push(with_balance(
            pay(PaymentKind::Salary, 200_000, day(y, m, 25)),
            balance,
        ));
        payments.push(with_balance(
            pay(PaymentKind::Purchase, 100_000, day(y, m, 5)),
            50_000,
        ));
    }
    payments
}

#[test]
fn steady_earner_has_known_income_spending_and_buffer() {
    let f = features_of(&steady_earner(), &[], &[]);
    assert_close(&f, "age_years", 46.0);
    assert_close(&f, "income_per_month_minor", 200_000.0);
    assert_close(&f, "income_cv", 0.0);
    assert_close(&f, "income_month_share", 1.0);
    assert_close(&f, "income_credits_per_month", 1.0);
    assert_close(&f, "salary_income_share", 1.0);
    assert_close(&f, "spend_30d_minor", 100_000.0);
    assert_close(&f, "spend_90d_minor", 300_000.0);
    assert_close(&f, "spend_365d_minor", 1_200_000.0);
    assert_close(&f, "spend_per_month_minor", 100_000.0);
    assert_close(&f, "spend_trend_ratio", 1.0);
    assert_close(&f, "savings_rate", 0.5);
    assert_close(&f, "balance_latest_minor", 300_000.0);
    assert_close(&f, "buffer_months", 3.0);
    assert_close(&f, "liquid_assets_months", 3.0);
    assert_close(&f, "balance_min_90d_minor", 50_000.0);
    assert_close(&f, "overdraft_day_share_90d", 0.0);
    assert_close(&f, "spend_share_groceries_365d", 1.0);
    assert_close(&f, "essential_share_365d", 1.0);
    assert_close(&f, "discretionary_share_365d", 0.0);
    assert_close(&f, "purchases_per_month", 1.0);
    assert_close(&f, "ticket_mean_minor", 100_000.0);
    assert_close(&f, "online_share_365d", 1.0);
    assert_close(&f, "failed_payments_365d", 0.0);
    let since = value(&f, "days_since_last_purchase");
    assert!((26.0..27.0).contains(&since), "{since}");
    assert_close(&f, "debt_service_ratio", 0.0);
    assert!(value(&f, "history_days") > 360.0);
}

#[test]
fn irregular_income_has_known_median_spread_and_gaps() {
    let mut payments = Vec::new();
    for (i, (y, m)) in months().enumerate() {
        let amount = if i % 2 == 0 { 100_000 } else { 300_000 };
        payments.push(pay(PaymentKind::TransferIn, amount, day(y, m, 10)));
    }
    let f = features_of(&payments, &[], &[]);
    assert_close(&f, "income_per_month_minor", 200_000.0);
    assert_close(&f, "income_cv", 0.5 * (12.0f64 / 11.0).sqrt());
    assert_close(&f, "salary_income_share", 0.0);
    // Drop three months: a quarter of the months see no income.
    payments.retain(|p| {
        !matches!(
            p.occurred_at.format("%m").to_string().as_str(),
            "03" | "05" | "07"
        )
    });
    let f = features_of(&payments, &[], &[]);
    assert_close(&f, "income_month_share", 0.75);
}

#[test]
fn windows_exclude_events_after_as_of_and_before_the_window() {
    let exactly_30d = as_of() - Duration::days(30);
    let payments = vec![
        pay(PaymentKind::Purchase, 1_000, as_of()),
        pay(PaymentKind::Purchase, 20_000, exactly_30d),
        pay(
            PaymentKind::Purchase,
            300_000,
            exactly_30d + Duration::seconds(1),
        ),
        pay(
            PaymentKind::Purchase,
            999_999,
            as_of() + Duration::seconds(1),
        ),
        pay(
            PaymentKind::Purchase,
            4_000_000,
            as_of() - Duration::days(400),
        ),
        failed(pay(PaymentKind::Bill, 5_000, as_of() + Duration::days(1))),
    ];
    let f = features_of(&payments, &[], &[]);
    assert_close(&f, "spend_30d_minor", 301_000.0);
    assert_close(&f, "spend_90d_minor", 321_000.0);
    assert_close(&f, "spend_365d_minor", 321_000.0);
    assert_close(&f, "failed_payments_365d", 0.0);
    assert_close(&f, "days_since_last_purchase", 0.0);
    let sessions = [
        behaviour(BehaviourKind::AppOpen, as_of() - Duration::days(10), None),
        behaviour(BehaviourKind::AppOpen, as_of() - Duration::days(60), None),
        behaviour(BehaviourKind::AppOpen, as_of() - Duration::days(100), None),
        behaviour(BehaviourKind::AppOpen, as_of() + Duration::days(1), None),
    ];
    let f = features_of(&[], &sessions, &[]);
    assert_close(&f, "sessions_30d", 1.0);
    assert_close(&f, "sessions_90d", 2.0);
    assert_close(&f, "days_since_last_session", 10.0);
}

#[test]
fn failed_payments_are_counted_per_window() {
    let payments = vec![
        failed(pay(PaymentKind::Bill, 5_000, as_of() - Duration::days(5))),
        failed(pay(
            PaymentKind::Instalment,
            5_000,
            as_of() - Duration::days(50),
        )),
        failed(pay(
            PaymentKind::Purchase,
            5_000,
            as_of() - Duration::days(200),
        )),
        failed(pay(PaymentKind::Bill, 5_000, as_of() - Duration::days(400))),
        pay(PaymentKind::Bill, 5_000, as_of() - Duration::days(6)),
    ];
    let f = features_of(&payments, &[], &[]);
    assert_close(&f, "failed_payments_90d", 2.0);
    assert_close(&f, "failed_payments_365d", 3.0);
    assert_close(&f, "failed_obligations_365d", 2.0);
    // A failed payment is not spending, but a failed instalment is still due.
    assert_close(&f, "spend_365d_minor", 5_000.0);
    assert_close(&f, "bnpl_payments_90d", 1.0);
}

#[test]
fn merchant_entropy_counts_distinct_merchants() {
    let t = as_of() - Duration::days(3);
    let purchase = |m| at_merchant(pay(PaymentKind::Purchase, 1_000, t), m);
    let two = [
        purchase("m-a"),
        purchase("m-a"),
        purchase("m-b"),
        purchase("m-b"),
    ];
    assert_close(
        &features_of(&two, &[], &[]),
        "merchant_entropy_365d_bits",
        1.0,
    );
    let four = [
        purchase("m-a"),
        purchase("m-b"),
        purchase("m-c"),
        purchase("m-d"),
    ];
    assert_close(
        &features_of(&four, &[], &[]),
        "merchant_entropy_365d_bits",
        2.0,
    );
    let one = [purchase("m-a"), purchase("m-a")];
    assert_close(
        &features_of(&one, &[], &[]),
        "merchant_entropy_365d_bits",
        0.0,
    );
}

#[test]
fn spending_trend_compares_last_quarter_with_the_year() {
    let mut payments = Vec::new();
    for (i, (y, m)) in months().enumerate() {
        let amount = if i >= 9 { 200_000 } else { 100_000 };
        payments.push(pay(PaymentKind::Purchase, amount, day(y, m, 5)));
    }
    let f = features_of(&payments, &[], &[]);
    assert_close(&f, "spend_trend_ratio", 200_000.0 / 125_000.0);
    assert_close(&f, "savings_rate", -2.0);
    // A history starting mid-month leaves that partial month out of monthly figures:
    // eleven months, three of them at 200,000.
    payments[0].occurred_at = day(2025, 11, 15);
    let f = features_of(&payments, &[], &[]);
    assert_close(&f, "spend_trend_ratio", 200_000.0 / (1_400_000.0 / 11.0));
}

#[test]
fn debt_bnpl_and_overdraft() {
    let mut payments = steady_earner();
    for (y, m) in months() {
        payments.push(pay(PaymentKind::LoanRepayment, 50_000, day(y, m, 15)));
    }
    for d in [10, 40, 70] {
        payments.push(pay(
            PaymentKind::Instalment,
            10_000,
            as_of() - Duration::days(d),
        ));
    }
    let f = features_of(&payments, &[], &[]);
    // 50,000 a month of loan plus 30,000 of instalments over twelve months.
    assert_close(&f, "debt_service_ratio", (50_000.0 + 2_500.0) / 200_000.0);
    assert_close(&f, "bnpl_payments_90d", 3.0);
    assert_close(&f, "bnpl_amount_365d_minor", 30_000.0);

    // Positive until 45 days before as_of, then overdrawn to the end: half the window.
    let overdraft = vec![
        with_balance(
            pay(PaymentKind::Bill, 100, as_of() - Duration::days(100)),
            10_000,
        ),
        with_balance(
            pay(PaymentKind::Bill, 100, as_of() - Duration::days(45)),
            -500,
        ),
    ];
    let f = features_of(&overdraft, &[], &[]);
    assert_close(&f, "overdraft_day_share_90d", 0.5);
    assert_close(&f, "balance_min_90d_minor", -500.0);
    assert!(value(&f, "buffer_months") < 0.0);
}

#[test]
fn habits_channels_and_cash() {
    let t = as_of() - Duration::days(20);
    let mut abroad = with_channel(pay(PaymentKind::Purchase, 4_000, t), Channel::CrossBorder);
    abroad.country = CountryCode::parse("DE").unwrap();
    let payments = vec![
        with_channel(pay(PaymentKind::Purchase, 1_000, t), Channel::InStore),
        with_channel(pay(PaymentKind::Purchase, 1_000, t), Channel::Transit),
        with_channel(pay(PaymentKind::TransferOut, 2_000, t), Channel::P2p),
        abroad,
        {
            let mut atm = with_channel(pay(PaymentKind::Atm, 2_000, t), Channel::InStore);
            atm.mcc = Some(Mcc::parse("6011").unwrap());
            atm
        },
        // Not an everyday debit: a bill.
        pay(PaymentKind::Bill, 10_000, t),
    ];
    let f = features_of(&payments, &[], &[]);
    assert_close(&f, "transit_share_365d", 0.2);
    assert_close(&f, "p2p_share_365d", 0.2);
    assert_close(&f, "cross_border_share_365d", 0.2);
    assert_close(&f, "online_share_365d", 0.0);
    assert_close(&f, "foreign_countries_365d", 1.0);
    // By amount: 4,000 of the 10,000 in everyday debits was spent abroad, all in euros.
    assert_close(&f, "cross_border_spend_share_365d", 0.4);
    assert_close(&f, "foreign_currency_spend_share_365d", 0.0);
    assert_close(&f, "currencies_365d", 1.0);
    assert_close(&f, "cash_share_365d", 2_000.0 / 20_000.0);
    // Categorised: 1,000 + 1,000 + 4,000 groceries, 2,000 cash; the bill has no MCC.
    assert_close(&f, "spend_share_cash_365d", 0.25);
}

#[test]
fn engagement_and_holdings() {
    let t = as_of() - Duration::days(5);
    let events = [
        behaviour(BehaviourKind::AppOpen, t, None),
        behaviour(BehaviourKind::ProductView, t, Some("fund-gold")),
        behaviour(BehaviourKind::ProductView, t, Some("dep-easy-access")),
        behaviour(BehaviourKind::OfferImpression, t, None),
        behaviour(BehaviourKind::OfferImpression, t, None),
        behaviour(BehaviourKind::OfferImpression, t, None),
        behaviour(BehaviourKind::OfferImpression, t, None),
        behaviour(BehaviourKind::OfferClick, t, None),
    ];
    let opened = as_of() - Duration::days(300);
    let holdings = [
        holding("dep-easy-access", 100_000, opened),
        holding("fund-global-equity", 300_000, opened),
        holding("cc-classic", 50_000, opened),
        holding("fund-emerging-equity", 900_000, as_of() + Duration::days(1)),
    ];
    let f = features_of(&steady_earner(), &events, &holdings);
    assert_close(&f, "product_views_30d", 2.0);
    assert_close(&f, "fund_views_90d", 1.0);
    assert_close(&f, "offer_ctr_90d", 0.25);
    assert_close(&f, "holdings_count", 3.0);
    assert_close(&f, "assets_value_minor", 400_000.0);
    assert_close(&f, "fund_share_of_assets", 0.75);
    assert_close(&f, "fund_risk_level_max", 4.0);
    assert_close(&f, "credit_products_count", 1.0);
    assert_close(&f, "credit_owed_months", 0.25);
    // Balance 300,000 plus assets 400,000 over 100,000 of monthly spending.
    assert_close(&f, "liquid_assets_months", 7.0);
}

#[test]
fn an_empty_history_is_all_finite_and_neutral() {
    let f = features_of(&[], &[], &[]);
    assert_eq!(f.values.len(), catalogue().len());
    assert!(f.values.iter().all(|v| v.is_finite()));
    assert_close(&f, "savings_rate", 0.0);
    assert_close(&f, "spend_trend_ratio", 1.0);
    assert_close(&f, "days_since_last_purchase", 365.0);
    assert_close(&f, "history_days", 0.0);
}

#[test]
fn named_and_get_follow_the_catalogue() {
    let f = features_of(&steady_earner(), &[], &[]);
    let named: Vec<_> = f.named().collect();
    assert_eq!(named.len(), catalogue().len());
    assert_eq!(named[0].0.name, "age_years");
    assert_eq!(f.get("age_years"), Some(named[0].1));
    assert_eq!(f.get("no_such_feature"), None);
}

// ---- currencies ----

fn cur(code: &str) -> Currency {
    Currency::parse(code).unwrap()
}

fn in_currency(mut p: PaymentEvent, code: &str) -> PaymentEvent {
    p.currency = cur(code);
    p
}

/// ECB-style rates for one euro: Friday 2 October, Monday 5 October, Friday 30 October.
fn october_rates() -> RateTable {
    let mut table = RateTable::new();
    for (date, usd, jpy) in [
        ((2026, 10, 2), "1.0820", "161.23"),
        ((2026, 10, 5), "1.0850", "160.90"),
        ((2026, 10, 30), "1.1000", "165.00"),
    ] {
        let date = chrono::NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap();
        table.insert(date, cur("USD"), sextant_domain::Rate::parse(usd).unwrap());
        table.insert(date, cur("JPY"), sextant_domain::Rate::parse(jpy).unwrap());
    }
    table
}

fn features_in(
    base: &str,
    payments: &[PaymentEvent],
    holdings: &[Holding],
    rates: &RateTable,
) -> Features {
    let mut customer = customer();
    customer.base_currency = cur(base);
    compute_features(
        &CustomerHistory {
            customer: &customer,
            payments,
            behaviour: &[],
            holdings,
            rates,
            loyalty: &sextant_loyalty::Activity::default(),
        },
        as_of(),
    )
}

/// The mixed history and the same history converted to euros by hand, in the same order.
fn mixed_and_by_hand() -> (Vec<PaymentEvent>, Vec<PaymentEvent>) {
    let abroad = |kind, amount, code, at| {
        in_currency(
            with_channel(pay(kind, amount, at), Channel::CrossBorder),
            code,
        )
    };
    let (purchase, atm) = (PaymentKind::Purchase, PaymentKind::Atm);
    // (payment in its own currency, its amount in euro cents worked out by hand)
    let pairs = [
        (pay(PaymentKind::Salary, 300_000, day(2026, 10, 1)), 300_000),
        // 54.10 USD at 1.0820 on its own day = 50.00 EUR.
        (abroad(purchase, 5_410, "USD", day(2026, 10, 2)), 5_000),
        // 16,123 JPY (no minor unit) on Saturday at Friday's 161.23 = 100.00 EUR.
        (abroad(purchase, 16_123, "JPY", day(2026, 10, 3)), 10_000),
        // 108.50 USD at Monday's 1.0850 = 100.00 EUR.
        (abroad(atm, 10_850, "USD", day(2026, 10, 5)), 10_000),
        // 1,000 JPY at 160.90 = 6.215040... EUR: 621.504 cents, rounded to 622.
        (abroad(purchase, 1_000, "JPY", day(2026, 10, 5)), 622),
        // A 10.82 USD refund on Friday = 10.00 EUR.
        (
            in_currency(pay(PaymentKind::Refund, 1_082, day(2026, 10, 2)), "USD"),
            1_000,
        ),
        (pay(purchase, 4_378, day(2026, 10, 6)), 4_378),
        // A USD loan repayment due: an obligation in the debt service ratio.
        (
            in_currency(
                pay(PaymentKind::LoanRepayment, 21_640, day(2026, 10, 2)),
                "USD",
            ),
            20_000,
        ),
    ];
    let mixed: Vec<_> = pairs.iter().map(|(p, _)| p.clone()).collect();
    let by_hand = pairs
        .into_iter()
        .map(|(mut p, euros)| {
            p.currency = Currency::EUR;
            p.amount = AmountMinor::new(euros).unwrap();
            p
        })
        .collect();
    (mixed, by_hand)
}

#[test]
fn a_mixed_currency_history_has_the_features_of_its_conversion_by_hand() {
    let (mixed, by_hand) = mixed_and_by_hand();
    // A fund held in USD: 1,100.00 USD at as_of's rate (Friday the 30th's 1.1000) = 1,000 EUR.
    let mut fund = holding("fund-global-equity", 110_000, day(2026, 1, 1));
    fund.currency = cur("USD");
    let fund_in_euros = holding("fund-global-equity", 100_000, day(2026, 1, 1));
    let rates = october_rates();
    let converted = features_in("EUR", &mixed, &[fund], &rates);
    let expected = features_in("EUR", &by_hand, &[fund_in_euros], &RateTable::new());
    assert!(
        converted.unconverted.is_empty(),
        "{:?}",
        converted.unconverted
    );
    let currency_features = ["foreign_currency_spend_share_365d", "currencies_365d"];
    for ((spec, got), want) in converted.named().zip(expected.values.iter()) {
        if !currency_features.contains(&spec.name) {
            assert_eq!(got, *want, "{}", spec.name);
        }
    }
    assert_close(&converted, "assets_value_minor", 100_000.0);
    assert_close(
        &converted,
        "spend_365d_minor",
        5_000.0 + 10_000.0 + 10_000.0 + 622.0 - 1_000.0 + 4_378.0 + 20_000.0,
    );
    // Everyday debits: 30,000 cents, of which 25,622 paid in USD or JPY, all abroad.
    assert_close(
        &converted,
        "foreign_currency_spend_share_365d",
        25_622.0 / 30_000.0,
    );
    assert_close(
        &converted,
        "cross_border_spend_share_365d",
        25_622.0 / 30_000.0,
    );
    assert_close(&converted, "currencies_365d", 3.0);
    assert_close(&expected, "foreign_currency_spend_share_365d", 0.0);
    // The category sequence reads the same converted amounts.
    let seq = |payments: &[PaymentEvent], rates: &RateTable| {
        category_sequence(payments, Currency::EUR, rates, as_of(), 3)
    };
    assert_eq!(seq(&mixed, &rates), seq(&by_hand, &RateTable::new()));
}

#[test]
fn a_customer_based_in_another_currency_sees_euros_converted_into_it() {
    let rates = october_rates();
    // 10.00 EUR on Friday the 2nd is 10.82 USD; a USD purchase stays as it is.
    let payments = [
        pay(PaymentKind::Purchase, 1_000, day(2026, 10, 2)),
        in_currency(pay(PaymentKind::Purchase, 918, day(2026, 10, 2)), "USD"),
    ];
    let f = features_in("USD", &payments, &[], &rates);
    assert!(f.unconverted.is_empty());
    assert_close(&f, "spend_365d_minor", 1_082.0 + 918.0);
    assert_close(&f, "foreign_currency_spend_share_365d", 1_082.0 / 2_000.0);
    // JPY to USD goes through the euro in one exact step: 16,123 JPY = 100 EUR = 108.20 USD.
    let yen = [in_currency(
        pay(PaymentKind::Purchase, 16_123, day(2026, 10, 2)),
        "JPY",
    )];
    assert_close(
        &features_in("USD", &yen, &[], &rates),
        "spend_365d_minor",
        10_820.0,
    );
    // A JPY base has no minor unit: 10.82 USD = 10 EUR = 1,612.3 JPY, rounded to 1,612.
    let dollars = [in_currency(
        pay(PaymentKind::Purchase, 1_082, day(2026, 10, 2)),
        "USD",
    )];
    assert_close(
        &features_in("JPY", &dollars, &[], &rates),
        "spend_365d_minor",
        1_612.0,
    );
}

#[test]
fn an_amount_without_a_rate_is_left_out_and_reported() {
    use sextant_domain::{AmountSource, ConvertError, MissingRate};
    let rates = october_rates();
    let (mut mixed, by_hand) = mixed_and_by_hand();
    // GBP has no rate at all; JPY on the 20th has none within seven days (the 5th is older).
    let pound = in_currency(pay(PaymentKind::Purchase, 5_000, day(2026, 10, 7)), "GBP");
    let late_yen = in_currency(pay(PaymentKind::Purchase, 20_000, day(2026, 10, 20)), "JPY");
    mixed.extend([pound.clone(), late_yen.clone()]);
    let f = features_in("EUR", &mixed, &[], &rates);
    let reported: Vec<_> = f
        .unconverted
        .iter()
        .map(|u| (u.source.clone(), u.amount_minor, u.currency, u.error))
        .collect();
    let missing = |code: &'static str, date: (i32, u32, u32)| {
        ConvertError::Missing(MissingRate {
            currency: code,
            date: chrono::NaiveDate::from_ymd_opt(date.0, date.1, date.2).unwrap(),
        })
    };
    assert_eq!(
        reported,
        vec![
            (
                AmountSource::Payment(pound.event_id.clone()),
                5_000,
                cur("GBP"),
                missing("GBP", (2026, 10, 7))
            ),
            (
                AmountSource::Payment(late_yen.event_id.clone()),
                20_000,
                cur("JPY"),
                missing("JPY", (2026, 10, 20))
            ),
        ]
        .into_iter()
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect::<Vec<_>>()
    );
    // Neither amount is in any sum: spending is what the converted payments make.
    let known = features_in("EUR", &by_hand, &[], &RateTable::new());
    assert_eq!(
        value(&f, "spend_365d_minor"),
        value(&known, "spend_365d_minor")
    );
    assert_eq!(
        value(&f, "ticket_mean_minor"),
        value(&known, "ticket_mean_minor")
    );
    // But both purchases were made: they count.
    assert_eq!(
        value(&f, "purchases_per_month"),
        value(&known, "purchases_per_month") + 2.0
    );
    // An unconverted holding is reported too, and is not an asset.
    let mut fund = holding("fund-global-equity", 110_000, day(2026, 1, 1));
    fund.currency = cur("GBP");
    let f = features_in("EUR", &[], &[fund], &rates);
    assert_eq!(f.unconverted.len(), 1);
    assert_eq!(value(&f, "assets_value_minor"), 0.0);
    assert_eq!(value(&f, "holdings_count"), 1.0);
}

#[test]
fn category_sequence_is_monthly_shares_oldest_first() {
    let payments = vec![
        pay(PaymentKind::Purchase, 3_000, day(2026, 10, 3)),
        {
            let mut p = pay(PaymentKind::Purchase, 1_000, day(2026, 10, 4));
            p.mcc = Some(Mcc::parse("5812").unwrap());
            p
        },
        pay(PaymentKind::Purchase, 5_000, day(2026, 8, 3)),
        failed(pay(PaymentKind::Purchase, 5_000, day(2026, 8, 4))),
        pay(PaymentKind::Purchase, 5_000, day(2026, 11, 4)),
    ];
    let seq = category_sequence(&payments, Currency::EUR, &RateTable::new(), as_of(), 3);
    assert_eq!(seq.len(), 3 * CATEGORIES);
    let month = |i: usize| &seq[i * CATEGORIES..(i + 1) * CATEGORIES];
    assert_eq!(month(0)[0], 1.0, "August: all groceries");
    assert!(month(1).iter().all(|v| *v == 0.0), "September: nothing");
    assert_eq!((month(2)[0], month(2)[1]), (0.75, 0.25), "October");
    assert!(category_sequence(&payments, Currency::EUR, &RateTable::new(), as_of(), 0).is_empty());
}

// ---- properties on random histories ----

const KINDS: [PaymentKind; 10] = [
    PaymentKind::Purchase,
    PaymentKind::Salary,
    PaymentKind::TransferIn,
    PaymentKind::TransferOut,
    PaymentKind::Bill,
    PaymentKind::Atm,
    PaymentKind::Refund,
    PaymentKind::LoanRepayment,
    PaymentKind::Investment,
    PaymentKind::Instalment,
];
const CHANNELS: [Channel; 5] = [
    Channel::Online,
    Channel::InStore,
    Channel::Transit,
    Channel::P2p,
    Channel::CrossBorder,
];
const PRODUCTS: [&str; 6] = [
    "fund-gold",
    "dep-easy-access",
    "cc-classic",
    "fund-unknown",
    "ins-travel",
    "other-thing",
];

prop_compose! {
    fn arb_payment()(
        kind in 0..KINDS.len(),
        amount in 1..=AmountMinor::MAX,
        offset_s in -40_000_000i64..3_000_000,
        failed in proptest::bool::weighted(0.1),
        credit in any::<bool>(),
        channel in 0..CHANNELS.len(),
        mcc in proptest::option::of(0u16..10_000),
        merchant in proptest::option::of(0u8..20),
        balance in proptest::option::of(-1_000_000_000_000i64..1_000_000_000_000),
    ) -> PaymentEvent {
        let mut p = pay(KINDS[kind], amount, as_of() - Duration::seconds(offset_s));
        if KINDS[kind] == PaymentKind::Investment && credit {
            p.direction = Direction::Credit;
        }
        p.status = if failed { PaymentStatus::Failed } else { PaymentStatus::Completed };
        p.channel = CHANNELS[channel];
        p.mcc = mcc.map(|m| Mcc::parse(&format!("{m:04}")).unwrap());
        p.merchant_id = merchant.map(|m| MerchantId::parse(&format!("m{m}")).unwrap());
        p.balance_after_minor = balance;
        p
    }
}

prop_compose! {
    fn arb_behaviour()(
        kind in 0..BehaviourKind::ALL.len(),
        offset_s in -40_000_000i64..3_000_000,
        product in proptest::option::of(0..PRODUCTS.len()),
    ) -> BehaviourEvent {
        behaviour(
            BehaviourKind::ALL[kind],
            as_of() - Duration::seconds(offset_s),
            product.map(|p| PRODUCTS[p]),
        )
    }
}

prop_compose! {
    fn arb_holding()(
        product in 0..PRODUCTS.len(),
        value in 1..=AmountMinor::MAX,
        offset_days in -100i64..4_000,
    ) -> Holding {
        holding(PRODUCTS[product], value, as_of() - Duration::days(offset_days))
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn every_value_is_finite_and_order_does_not_matter(
        payments in proptest::collection::vec(arb_payment(), 0..120),
        events in proptest::collection::vec(arb_behaviour(), 0..60),
        holdings in proptest::collection::vec(arb_holding(), 0..6),
    ) {
        let f = features_of(&payments, &events, &holdings);
        prop_assert_eq!(f.values.len(), catalogue().len());
        for (spec, v) in f.named() {
            prop_assert!(v.is_finite(), "{} = {}", spec.name, v);
        }
        for name in ["income_month_share", "online_share_365d", "offer_ctr_90d",
                     "overdraft_day_share_90d", "essential_share_365d", "cash_share_365d"] {
            let v = value(&f, name);
            prop_assert!((0.0..=1.0).contains(&v), "{} = {}", name, v);
        }
        let mut reversed = payments.clone();
        reversed.reverse();
        let mut events_reversed = events.clone();
        events_reversed.reverse();
        prop_assert_eq!(features_of(&reversed, &events_reversed, &holdings), f);
    }

    #[test]
    fn category_sequence_months_sum_to_one_or_zero(
        payments in proptest::collection::vec(arb_payment(), 0..120),
        months in 0usize..15,
    ) {
        let seq = category_sequence(&payments, Currency::EUR, &RateTable::new(), as_of(), months);
        prop_assert_eq!(seq.len(), months * CATEGORIES);
        for month in seq.chunks(CATEGORIES) {
            let total: f32 = month.iter().sum();
            prop_assert!(total == 0.0 || (total - 1.0).abs() < 1e-4, "{}", total);
        }
    }
}

#[test]
fn loyalty_features_read_the_points_and_the_years_spending() {
    use sextant_loyalty::{Activity, Movement, PostingKind};
    // 7,000 EUR of purchases in the year less a 500 EUR refund: 6,500, silver (from 6,000).
    let mut payments: Vec<PaymentEvent> = (1..=7)
        .map(|m| pay(PaymentKind::Purchase, 100_000, day(2026, m, 10)))
        .collect();
    payments.push(pay(PaymentKind::Refund, 50_000, day(2026, 8, 1)));
    // Older than a year: not counted.
    payments.push(pay(PaymentKind::Purchase, 900_000, day(2025, 6, 1)));
    let movement = |at, kind, points| Movement { at, kind, points };
    let loyalty = Activity {
        opening: 1_000,
        movements: vec![
            movement(day(2025, 6, 1), PostingKind::Earn, 500),
            movement(day(2026, 3, 1), PostingKind::Earn, 300),
            movement(day(2026, 4, 1), PostingKind::Redeem, -700),
            movement(day(2026, 8, 1), PostingKind::ReverseEarn, -100),
            movement(day(2026, 11, 5), PostingKind::Earn, 40),
        ],
    };
    let customer = customer();
    let features = compute_features(
        &CustomerHistory {
            customer: &customer,
            payments: &payments,
            behaviour: &[],
            holdings: &[],
            rates: &RateTable::new(),
            loyalty: &loyalty,
        },
        as_of(),
    );
    assert_eq!(value(&features, "loyalty_tier"), 1.0);
    assert_eq!(
        value(&features, "loyalty_points_balance"),
        1_000.0 + 500.0 + 300.0 - 700.0 - 100.0,
        "a posting after as_of does not count"
    );
    assert_eq!(value(&features, "loyalty_points_earned_365d"), 200.0);
    assert_eq!(value(&features, "loyalty_points_redeemed_365d"), 700.0);
    // Nothing on record: zero points, the first tier.
    let none = features_of(&[], &[], &[]);
    assert_eq!(value(&none, "loyalty_tier"), 0.0);
    assert_eq!(value(&none, "loyalty_points_balance"), 0.0);
}
