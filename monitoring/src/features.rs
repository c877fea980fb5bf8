//! The features a model reads about one payment: the payment itself (amount, kind, channel,
//! hour), what was new about it (country, merchant or counterparty, time since the last
//! payment), the customer's windows after it (counts, sums, small card payments, failures,
//! distinct merchants and countries, money in and out), its size against the customer's own
//! days, the score of every typology, and what was new about its device and counterparty
//! with how many people paid the customer and were paid in 48 hours. Computed in the same constant-time step as the
//! detectors, so scoring a payment costs what detecting does.

use chrono::Timelike;
use sextant_domain::{Channel, Direction, PaymentEvent, PaymentKind, PaymentStatus};

use crate::state::{CustomerState, Span};
use crate::typology::{detect, Hit, Typology, COUNT};
use crate::Params;

/// How many features a payment has.
pub const WIDTH: usize = 42 + COUNT + PARTIES;

/// The features of devices and counterparties, last in the row (added after the first
/// models were trained: a model that does not read them finds its own by name).
const PARTIES: usize = 4;

/// The features' names, in row order.
pub fn names() -> Vec<String> {
    let mut names: Vec<String> = [
        "log_amount",
        "is_debit",
        "kind_purchase",
        "kind_atm",
        "kind_transfer_out",
        "kind_transfer_in",
        "channel_online",
        "channel_cross_border",
        "has_card",
        "failed",
        "new_country",
        "new_merchant",
        "log_hours_since_last",
        "log_history_days",
        "amount_to_usual_day",
        "day_to_usual_day",
        "day_to_largest_day",
        "hour_of_day",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    for span in [Span::Minutes10, Span::Hour1, Span::Hours24, Span::Days7] {
        for what in [
            "debits",
            "log_debit_amount",
            "small_card",
            "failed",
            "credits",
        ] {
            names.push(format!("{what}_{}", span.name()));
        }
    }
    names.extend(
        [
            "log_transfer_in_48h",
            "log_moved_out_48h",
            "moved_out_to_in_48h",
            "near_threshold_7d",
        ]
        .iter()
        .map(|s| (*s).to_owned()),
    );
    for typology in Typology::ALL {
        names.push(format!("typology_{}", typology.name()));
    }
    names.extend(
        ["new_device", "new_payee", "payers_48h", "payees_48h"]
            .iter()
            .map(|s| (*s).to_owned()),
    );
    debug_assert_eq!(names.len(), WIDTH);
    names
}

/// A feature in plain words, for the reasons a model gives ("the amount", "card payments
/// of 2 or less in the last 10 minutes"); a name this module does not make is returned as
/// it is.
pub fn describe(name: &str) -> String {
    let fixed = match name {
        "log_amount" => "the amount",
        "is_debit" => "money going out",
        "kind_purchase" => "a card purchase",
        "kind_atm" => "a cash withdrawal",
        "kind_transfer_out" => "a transfer out",
        "kind_transfer_in" => "a transfer in",
        "channel_online" => "paying online",
        "channel_cross_border" => "paying across a border",
        "has_card" => "a card payment",
        "failed" => "a failed payment",
        "new_country" => "a country the customer had not paid in",
        "new_merchant" => "a merchant the customer had not paid",
        "log_hours_since_last" => "the time since the last payment",
        "log_history_days" => "how long the customer has been paying",
        "amount_to_usual_day" => "the amount against the customer's usual day",
        "day_to_usual_day" => "the day's spending against the customer's usual day",
        "day_to_largest_day" => "the day's spending against the largest day of the month before",
        "hour_of_day" => "the hour of the day",
        "log_transfer_in_48h" => "money transferred in over 48 hours",
        "log_moved_out_48h" => "money moved out over 48 hours",
        "moved_out_to_in_48h" => "the share of 48 hours' transfers in moved out again",
        "near_threshold_7d" => "amounts just under the reporting threshold in 7 days",
        "new_device" => "a device the customer had not paid from",
        "new_payee" => "a payee the customer had not paid",
        "payers_48h" => "the people who paid the customer in the last 48 hours",
        "payees_48h" => "the people the customer paid in the last 48 hours",
        _ => "",
    };
    if !fixed.is_empty() {
        return fixed.to_owned();
    }
    if let Some(typology) = name.strip_prefix("typology_") {
        return format!("the {} detector", typology.replace('_', " "));
    }
    let windowed = [
        ("debits_", "payments out"),
        ("log_debit_amount_", "money out"),
        ("small_card_", "small card payments"),
        ("failed_", "failed payments"),
        ("credits_", "payments in"),
    ];
    for (prefix, what) in windowed {
        if let Some(span) = name.strip_prefix(prefix) {
            let span = match span {
                "10m" => "10 minutes",
                "1h" => "hour",
                "24h" => "24 hours",
                "7d" => "7 days",
                other => other,
            };
            return format!("{what} in the last {span}");
        }
    }
    name.to_owned()
}

fn log1p(minor: i64) -> f64 {
    (1.0 + minor.max(0) as f64 / 100.0).ln()
}

fn flag(yes: bool) -> f64 {
    if yes {
        1.0
    } else {
        0.0
    }
}

/// Adds the payment to the state, like [`detect`], and returns the hits with the payment's
/// feature row (NaN where a value does not exist yet, such as a ratio to a usual day the
/// customer does not have).
pub fn detect_with_features(
    state: &mut CustomerState,
    p: &PaymentEvent,
    params: &Params,
) -> (Vec<Hit>, [f64; WIDTH]) {
    let at = p.occurred_at.timestamp_millis();
    let known_before = state.payments > 0;
    let new_country = known_before && state.countries.last_seen(p.country.as_str()).is_none();
    let new_merchant = known_before
        && p.merchant_id
            .as_ref()
            .is_some_and(|m| state.merchants.last_seen(m.as_str()).is_none());
    let since_last = state
        .last_seen_ms
        .map(|last| (at - last).max(0) as f64 / 3.6e6);
    let new_device = state.is_new_device(p);
    let new_payee = state.is_new_payee(p);
    let usual = state.baseline_daily_debit_minor(params);
    let largest = state.largest_day_before_minor();
    let hits = detect(state, p, params);

    let mut row = [f64::NAN; WIDTH];
    let amount = p.amount.get();
    let day = state.window(Span::Hours24).discretionary_minor as f64;
    let head = [
        log1p(amount),
        flag(p.direction == Direction::Debit),
        flag(p.kind == PaymentKind::Purchase),
        flag(p.kind == PaymentKind::Atm),
        flag(p.kind == PaymentKind::TransferOut),
        flag(p.kind == PaymentKind::TransferIn),
        flag(p.channel == Channel::Online),
        flag(p.channel == Channel::CrossBorder),
        flag(p.card.is_some()),
        flag(p.status == PaymentStatus::Failed),
        flag(new_country),
        flag(new_merchant),
        since_last.map_or(f64::NAN, |h| (1.0 + h).ln()),
        (1.0 + state.history_ms() as f64 / 8.64e7).ln(),
        usual.map_or(f64::NAN, |u| amount as f64 / u.max(100.0)),
        usual.map_or(f64::NAN, |u| day / u.max(100.0)),
        if largest > 0 {
            day / largest as f64
        } else {
            f64::NAN
        },
        f64::from(p.occurred_at.hour()),
    ];
    row[..head.len()].copy_from_slice(&head);
    let mut i = head.len();
    for span in [Span::Minutes10, Span::Hour1, Span::Hours24, Span::Days7] {
        let t = state.window(span);
        for value in [
            f64::from(t.debit_count),
            log1p(t.debit_minor),
            f64::from(t.small_card_count),
            f64::from(t.failed_count),
            f64::from(t.credit_count),
        ] {
            row[i] = value;
            i += 1;
        }
    }
    let two_days = state.window(Span::Hours48);
    row[i] = log1p(two_days.transfer_in_minor);
    row[i + 1] = log1p(two_days.moved_out_minor);
    row[i + 2] = if two_days.transfer_in_minor > 0 {
        two_days.moved_out_minor as f64 / two_days.transfer_in_minor as f64
    } else {
        f64::NAN
    };
    row[i + 3] = f64::from(state.window(Span::Days7).near_threshold_count);
    i += 4;
    for h in &hits {
        row[i + h.typology.index()] = h.score;
    }
    for value in &mut row[i..i + COUNT] {
        if value.is_nan() {
            *value = 0.0;
        }
    }
    i += COUNT;
    let since = at - Span::Hours48.ms();
    row[i..i + PARTIES].copy_from_slice(&[
        flag(new_device),
        flag(new_payee),
        state.payers.distinct_since(since) as f64,
        state.payees.distinct_since(since) as f64,
    ]);
    (hits, row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_match_the_row() {
        assert_eq!(names().len(), WIDTH);
        let mut unique = names();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), WIDTH, "names are distinct");
    }

    #[test]
    fn every_feature_has_plain_words() {
        for name in names() {
            let words = describe(&name);
            assert_ne!(words, name, "{name} is not described");
            assert!(
                !words.contains('_') || name.starts_with("typology_"),
                "{words}"
            );
        }
        assert_eq!(
            describe("small_card_10m"),
            "small card payments in the last 10 minutes"
        );
        assert_eq!(
            describe("typology_card_testing"),
            "the card testing detector"
        );
    }
}
