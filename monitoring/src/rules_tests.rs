//! Compliance rules on hand-built histories: they fire, they stay quiet on the near miss, and
//! their windows agree with a recount.

use proptest::prelude::*;
use sextant_domain::{PaymentKind, PaymentStatus};

use crate::rules::{Mode, MonitoringRule, RuleSet};
use crate::tests::{card_purchase, pay};

const HOUR_MS: i64 = 3_600_000;

fn rule(id: &str, source: &str, cooldown_ms: i64) -> MonitoringRule {
    MonitoringRule::parse(id, 1, source, Mode::Live, 0.6, cooldown_ms, "test rule")
        .unwrap_or_else(|e| panic!("{source}: {e}"))
}

/// The ids of the rules that fire (cooldowns aside) on each payment, in order.
fn fired_on_each(set: &RuleSet, payments: &[sextant_domain::PaymentEvent]) -> Vec<Vec<String>> {
    let mut state = set.new_state();
    payments
        .iter()
        .map(|p| {
            set.detect(&mut state, p)
                .into_iter()
                .map(|(_, hit)| hit.rule_id)
                .collect()
        })
        .collect()
}

#[test]
fn the_issue_example_fires_on_the_eleventh_payment_with_5000_out() {
    let set = RuleSet::new(vec![rule(
        "burst",
        "count(payments, 1h) > 10 and sum(amount, 24h, direction = out) > 5000",
        0,
    )]);
    // Ten transfers of 600 EUR in 50 minutes: 6,000 out, but only ten payments.
    let mut payments: Vec<_> = (0..10)
        .map(|i| pay(i * 5, PaymentKind::TransferOut, 60_000))
        .collect();
    let fired = fired_on_each(&set, &payments);
    assert!(fired.iter().all(Vec::is_empty), "{fired:?}");
    // The eleventh, a salary coming in: eleven payments in the hour, 6,000 out.
    payments.push(pay(52, PaymentKind::Salary, 300_000));
    let fired = fired_on_each(&set, &payments);
    assert_eq!(fired[10], vec!["burst".to_owned()]);
    // The near miss: the same eleven payments with 5,000 out exactly.
    let mut near: Vec<_> = (0..10)
        .map(|i| pay(i * 5, PaymentKind::TransferOut, 50_000))
        .collect();
    near.push(pay(52, PaymentKind::Salary, 300_000));
    assert!(fired_on_each(&set, &near).iter().all(Vec::is_empty));
}

#[test]
fn payments_leave_the_window() {
    let set = RuleSet::new(vec![rule("busy", "count(payments, 1h) >= 3", 0)]);
    let payments = [
        pay(0, PaymentKind::Purchase, 1_000),
        pay(20, PaymentKind::Purchase, 1_000),
        pay(40, PaymentKind::Purchase, 1_000),
        // 90 minutes in: the first two are out of the hour.
        pay(90, PaymentKind::Purchase, 1_000),
        pay(95, PaymentKind::Purchase, 1_000),
    ];
    let fired = fired_on_each(&set, &payments);
    let fires: Vec<bool> = fired.iter().map(|f| !f.is_empty()).collect();
    assert_eq!(fires, vec![false, false, true, false, true]);
}

#[test]
fn filters_count_only_the_payments_they_select() {
    let set = RuleSet::new(vec![rule(
        "failed-cards",
        "count(payments, 10m, status = failed and card = true) >= 3",
        0,
    )]);
    let failed = |m: i64, merchant: &str| sextant_domain::PaymentEvent {
        status: PaymentStatus::Failed,
        ..card_purchase(m, 100, merchant)
    };
    let payments = [
        failed(0, "m1"),
        card_purchase(1, 100, "m2"),
        failed(2, "m3"),
        pay(3, PaymentKind::Purchase, 100),
        failed(4, "m4"),
    ];
    let fires: Vec<bool> = fired_on_each(&set, &payments)
        .iter()
        .map(|f| !f.is_empty())
        .collect();
    assert_eq!(fires, vec![false, false, false, false, true]);
}

#[test]
fn distinct_counts_merchants() {
    let set = RuleSet::new(vec![rule(
        "many-merchants",
        "distinct(merchant, 10m, card = true) >= 3 and amount <= 2",
        0,
    )]);
    let payments = [
        card_purchase(0, 100, "m1"),
        card_purchase(1, 100, "m1"),
        card_purchase(2, 100, "m2"),
        card_purchase(3, 500, "m3"),
        card_purchase(4, 100, "m3"),
        // Ten minutes after m1's last: m1 has left the window.
        card_purchase(11, 100, "m4"),
        card_purchase(30, 100, "m5"),
    ];
    let fires: Vec<bool> = fired_on_each(&set, &payments)
        .iter()
        .map(|f| !f.is_empty())
        .collect();
    // The 5.00 payment is over the amount; at minute 11, m2, m3 and m4 are in the window.
    assert_eq!(fires, vec![false, false, false, false, true, true, false]);
}

#[test]
fn a_rule_alerts_once_per_cooldown_and_decisions_see_every_hit() {
    let set = RuleSet::new(vec![rule("busy", "count(payments, 1h) >= 2", HOUR_MS * 24)]);
    let payments: Vec<_> = (0..5)
        .map(|i| pay(i, PaymentKind::Purchase, 1_000))
        .collect();
    let mut state = set.new_state();
    let alerts: Vec<usize> = payments
        .iter()
        .map(|p| set.evaluate(&mut state, p).len())
        .collect();
    assert_eq!(alerts, vec![0, 1, 0, 0, 0]);
    let seen = fired_on_each(&set, &payments);
    assert_eq!(seen.iter().filter(|f| !f.is_empty()).count(), 4);
    // A day later the rule alerts again.
    let later = pay(24 * 60 + 1, PaymentKind::Purchase, 1_000);
    let again = pay(24 * 60 + 2, PaymentKind::Purchase, 1_000);
    assert!(set.evaluate(&mut state, &later).is_empty());
    assert_eq!(set.evaluate(&mut state, &again).len(), 1);
}

#[test]
fn the_reason_names_the_values_read() {
    let set = RuleSet::new(vec![rule(
        "big-day",
        "sum(amount, 24h, direction = out) > 100 and max(amount, 24h) >= 80",
        0,
    )]);
    let payments = [
        pay(0, PaymentKind::TransferOut, 5_050),
        pay(5, PaymentKind::TransferOut, 8_000),
    ];
    let mut state = set.new_state();
    set.detect(&mut state, &payments[0]);
    let hits = set.detect(&mut state, &payments[1]);
    assert_eq!(hits.len(), 1);
    let hit = &hits[0].1;
    assert_eq!(hit.values, vec![Some(130.5), Some(80.0)]);
    assert_eq!(
        hit.reason,
        r#"test rule (sum(amount, 24h, direction = "out") = 130.50, max(amount, 24h) = 80)"#
    );
}

#[test]
fn rules_sharing_an_aggregate_keep_one_window() {
    let set = RuleSet::new(vec![
        rule("a", "count(payments, 1h) > 5", 0),
        rule("b", "count(payments, 60m) > 2 and avg(amount, 7d) > 100", 0),
    ]);
    let mut state = set.new_state();
    set.detect(&mut state, &pay(0, PaymentKind::Purchase, 1_000));
    assert_eq!(format!("{state:?}").matches("Buckets").count(), 2);
}

proptest! {
    /// Count, sum, min and max over an hour equal a recount of the payments whose two-minute
    /// bucket is within the last thirty of the newest payment's, payments arriving in time
    /// order with any gaps.
    #[test]
    fn windows_agree_with_a_recount(gaps in proptest::collection::vec(0i64..40, 1..60)) {
        let set = RuleSet::new(vec![rule(
            "all",
            "count(payments, 1h) >= 0 and sum(amount, 1h) >= 0 and min(amount, 1h) >= 0 and max(amount, 1h) >= 0",
            0,
        )]);
        let mut state = set.new_state();
        let mut minute = 0;
        let mut seen: Vec<(i64, f64)> = Vec::new();
        for (i, gap) in gaps.iter().enumerate() {
            minute += gap;
            let amount_minor = 100 * (i as i64 % 7 + 1);
            let p = pay(minute, PaymentKind::Purchase, amount_minor);
            seen.push((minute, amount_minor as f64 / 100.0));
            let hits = set.detect(&mut state, &p);
            let values = &hits[0].1.values;
            let head = minute / 2;
            let inside: Vec<f64> = seen
                .iter()
                .filter(|(m, _)| m / 2 > head - 30)
                .map(|(_, a)| *a)
                .collect();
            prop_assert_eq!(values[0], Some(inside.len() as f64));
            prop_assert!((values[1].unwrap() - inside.iter().sum::<f64>()).abs() < 1e-9);
            prop_assert_eq!(values[2], inside.iter().copied().reduce(f64::min));
            prop_assert_eq!(values[3], inside.iter().copied().reduce(f64::max));
        }
    }
}

#[test]
fn distinct_counterparties_count_the_people_who_paid_and_devices_are_fields() {
    use sextant_domain::{AccountRef, Counterparty, DeviceId, ShortText};
    let set = RuleSet::new(vec![
        rule(
            "fan-in",
            "direction = out and distinct(counterparty, 48h, direction = in) >= 3",
            0,
        ),
        rule("odd-device", "device = \"dv-x\" and amount >= 100", 0),
    ]);
    let from = |minutes: i64, who: &str, account: Option<&str>| {
        let mut p = pay(minutes, PaymentKind::TransferIn, 50_000);
        p.counterparty = Some(Counterparty {
            name: Some(ShortText::parse(who).unwrap()),
            account: account.map(|a| AccountRef::parse(a).unwrap()),
        });
        p
    };
    let mut out = pay(300, PaymentKind::TransferOut, 20_000);
    out.device_id = Some(DeviceId::parse("dv-x").unwrap());
    // Two names on one account are one person; the third account makes three.
    let near = [
        from(0, "Jan Novak", Some("CZ01")),
        from(60, "J. Novak", Some("CZ01")),
        from(120, "Eva Horak", None),
        out.clone(),
    ];
    let fired = fired_on_each(&set, &near);
    assert_eq!(fired[3], vec!["odd-device".to_owned()], "{fired:?}");
    let three = [
        from(0, "Jan Novak", Some("CZ01")),
        from(60, "Petr Kral", Some("CZ02")),
        from(120, "Eva Horak", None),
        out,
    ];
    let mut fired = fired_on_each(&set, &three)[3].clone();
    fired.sort();
    assert_eq!(fired, vec!["fan-in".to_owned(), "odd-device".to_owned()]);
}
