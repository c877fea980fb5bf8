//! One customer's monitoring state: their payments summed over sliding windows, the
//! merchants and countries they recently paid, and when they were first and last active.
//! Updating it is constant time per payment, whatever the customer's history.

use serde::{Deserialize, Serialize};
use sextant_domain::{Direction, PaymentEvent, PaymentKind, PaymentStatus};

use crate::window::{Tally, Window};
use crate::Params;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;

/// The windows every customer has, with their granularity (a window is exact to one bucket).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// 10 minutes in 1-minute buckets.
    Minutes10,
    /// 1 hour in 5-minute buckets.
    Hour1,
    /// 24 hours in 1-hour buckets.
    Hours24,
    /// 48 hours in 2-hour buckets.
    Hours48,
    /// 7 days in 6-hour buckets.
    Days7,
    /// 30 days in 1-day buckets.
    Days30,
}

impl Span {
    pub const ALL: [Span; 6] = [
        Span::Minutes10,
        Span::Hour1,
        Span::Hours24,
        Span::Hours48,
        Span::Days7,
        Span::Days30,
    ];

    fn layout(self) -> (i64, usize) {
        match self {
            Span::Minutes10 => (MINUTE_MS, 10),
            Span::Hour1 => (5 * MINUTE_MS, 12),
            Span::Hours24 => (HOUR_MS, 24),
            Span::Hours48 => (2 * HOUR_MS, 24),
            Span::Days7 => (6 * HOUR_MS, 28),
            Span::Days30 => (DAY_MS, 30),
        }
    }

    pub fn ms(self) -> i64 {
        let (bucket_ms, buckets) = self.layout();
        bucket_ms * buckets as i64
    }

    pub fn name(self) -> &'static str {
        match self {
            Span::Minutes10 => "10m",
            Span::Hour1 => "1h",
            Span::Hours24 => "24h",
            Span::Hours48 => "48h",
            Span::Days7 => "7d",
            Span::Days30 => "30d",
        }
    }
}

/// Keys seen recently (merchants, countries), each with when it was last seen; at most
/// `CAPACITY`, the least recently seen dropped first, so a customer paying hundreds of
/// merchants costs the same as one paying a few. Keys are kept as their 64-bit FNV-1a hash:
/// copying a state (a decision on a payment works on a copy) allocates nothing for them, and
/// two of one customer's 64 recent keys colliding is a 1 in 10^16 chance.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Recent {
    seen: Vec<(u64, i64)>,
}

impl Recent {
    pub const CAPACITY: usize = 64;

    /// When `key` was last seen, if it is still remembered.
    pub fn last_seen(&self, key: &str) -> Option<i64> {
        let key = sextant_hash::fnv1a64(key.as_bytes());
        self.seen.iter().find(|(k, _)| *k == key).map(|(_, at)| *at)
    }

    pub fn note(&mut self, key: &str, at_ms: i64) {
        let key = sextant_hash::fnv1a64(key.as_bytes());
        match self.seen.iter_mut().find(|(k, _)| *k == key) {
            Some(entry) => entry.1 = entry.1.max(at_ms),
            None => {
                if self.seen.len() == Self::CAPACITY {
                    let oldest = (0..self.seen.len())
                        .min_by_key(|&i| self.seen[i].1)
                        .expect("full, so not empty");
                    self.seen.swap_remove(oldest);
                }
                self.seen.push((key, at_ms));
            }
        }
    }

    /// How many distinct keys were seen at or after `since_ms`.
    pub fn distinct_since(&self, since_ms: i64) -> usize {
        self.seen.iter().filter(|(_, at)| *at >= since_ms).count()
    }
}

/// The ids of the payments added last (as 64-bit hashes, a ring of [`RecentIds::CAPACITY`]):
/// whoever keeps states in memory can tell a payment the state already holds from a new one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecentIds {
    ring: Vec<u64>,
    next: usize,
}

impl RecentIds {
    pub const CAPACITY: usize = 64;

    fn note(&mut self, id: &str) {
        let hash = sextant_hash::fnv1a64(id.as_bytes());
        if self.ring.len() < Self::CAPACITY {
            self.ring.push(hash);
        } else {
            self.ring[self.next] = hash;
        }
        self.next = (self.next + 1) % Self::CAPACITY;
    }

    /// Whether the payment `id` is one of the last [`RecentIds::CAPACITY`] added.
    pub fn contains(&self, id: &str) -> bool {
        let hash = sextant_hash::fnv1a64(id.as_bytes());
        self.ring.contains(&hash)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CustomerState {
    windows: [Window; Span::ALL.len()],
    pub merchants: Recent,
    pub countries: Recent,
    /// The devices the customer paid from (payments that name one).
    #[serde(default)]
    pub devices: Recent,
    /// Counterparties money went out to, and came in from (payments that name one), by
    /// [`sextant_domain::Counterparty::key`].
    #[serde(default)]
    pub payees: Recent,
    #[serde(default)]
    pub payers: Recent,
    /// The first and the newest payment's time.
    pub first_seen_ms: Option<i64>,
    pub last_seen_ms: Option<i64>,
    /// Payments seen in all.
    pub payments: u64,
    /// When each typology last raised an alert (by [`crate::Typology::index`]).
    pub last_alert_ms: [Option<i64>; crate::typology::COUNT],
    /// The last payments' ids; not part of what a decision reads, so not recorded with it.
    #[serde(skip)]
    pub recent_ids: RecentIds,
}

impl Default for CustomerState {
    fn default() -> Self {
        CustomerState {
            windows: Span::ALL.map(|span| {
                let (bucket_ms, buckets) = span.layout();
                Window::new(bucket_ms, buckets)
            }),
            merchants: Recent::default(),
            countries: Recent::default(),
            devices: Recent::default(),
            payees: Recent::default(),
            payers: Recent::default(),
            first_seen_ms: None,
            last_seen_ms: None,
            recent_ids: RecentIds::default(),
            payments: 0,
            last_alert_ms: [None; crate::typology::COUNT],
        }
    }
}

/// What one payment contributes to the windows.
pub fn tally_of(p: &PaymentEvent, params: &Params) -> Tally {
    let amount = p.amount.get();
    // Card testing shows in declined attempts as much as in approved ones.
    let small_card = p.kind == PaymentKind::Purchase
        && p.card.is_some()
        && amount <= params.card_testing_max_minor;
    if p.status == PaymentStatus::Failed {
        return Tally {
            failed_count: 1,
            small_card_count: u32::from(small_card),
            ..Tally::default()
        };
    }
    let debit = p.direction == Direction::Debit;
    let only = |yes: bool| if yes { amount } else { 0 };
    let moved_out = matches!(p.kind, PaymentKind::TransferOut | PaymentKind::Atm);
    let near_threshold = matches!(p.kind, PaymentKind::Atm | PaymentKind::TransferOut)
        && params.is_near_threshold(amount);
    Tally {
        debit_count: u32::from(debit),
        debit_minor: if debit { amount } else { 0 },
        credit_count: u32::from(!debit),
        credit_minor: if debit { 0 } else { amount },
        discretionary_minor: only(moved_out || p.kind == PaymentKind::Purchase),
        transfer_in_minor: only(p.kind == PaymentKind::TransferIn),
        moved_out_minor: only(moved_out),
        small_card_count: u32::from(small_card),
        near_threshold_count: u32::from(near_threshold),
        failed_count: 0,
    }
}

impl CustomerState {
    /// Adds a payment: constant time.
    pub fn update(&mut self, p: &PaymentEvent, params: &Params) {
        let at = p.occurred_at.timestamp_millis();
        let tally = tally_of(p, params);
        for window in &mut self.windows {
            window.add(at, &tally);
        }
        if let Some(merchant) = &p.merchant_id {
            self.merchants.note(merchant.as_str(), at);
        }
        self.countries.note(p.country.as_str(), at);
        if let Some(device) = &p.device_id {
            self.devices.note(device.as_str(), at);
        }
        if p.status == PaymentStatus::Completed {
            if let Some(key) = p.counterparty.as_ref().and_then(|c| c.key()) {
                match p.direction {
                    Direction::Debit => self.payees.note(&key, at),
                    Direction::Credit => self.payers.note(&key, at),
                }
            }
        }
        self.first_seen_ms = Some(self.first_seen_ms.map_or(at, |f| f.min(at)));
        self.last_seen_ms = Some(self.last_seen_ms.map_or(at, |l| l.max(at)));
        self.payments += 1;
        self.recent_ids.note(p.event_id.as_str());
    }

    /// Whether `p` comes from a device the customer never paid from, when they paid from
    /// others before (the first device a customer uses is not new).
    pub fn is_new_device(&self, p: &PaymentEvent) -> bool {
        p.device_id.as_ref().is_some_and(|d| {
            self.devices.distinct_since(i64::MIN) > 0
                && self.devices.last_seen(d.as_str()).is_none()
        })
    }

    /// Whether `p` pays a counterparty the customer has not paid (in memory), when they paid
    /// before.
    pub fn is_new_payee(&self, p: &PaymentEvent) -> bool {
        self.payments > 0
            && p.direction == Direction::Debit
            && p.counterparty
                .as_ref()
                .and_then(|c| c.key())
                .is_some_and(|key| self.payees.last_seen(&key).is_none())
    }

    /// A window's totals as of the newest payment.
    pub fn window(&self, span: Span) -> &Tally {
        let i = Span::ALL
            .iter()
            .position(|s| *s == span)
            .expect("every span has a window");
        self.windows[i].total()
    }

    /// The most the customer spent or moved out (discretionary) in one calendar day over the
    /// 30 days before yesterday: the usual day's ceiling, which lumpy spenders need.
    pub fn largest_day_before_minor(&self) -> i64 {
        let i = Span::ALL
            .iter()
            .position(|s| *s == Span::Days30)
            .expect("every span has a window");
        self.windows[i].max_before(2, |t| t.discretionary_minor)
    }

    /// How long the customer has been known, as of the newest payment.
    pub fn history_ms(&self) -> i64 {
        match (self.first_seen_ms, self.last_seen_ms) {
            (Some(first), Some(last)) => last - first,
            _ => 0,
        }
    }

    /// The customer's own usual day of discretionary spending (purchases, cash, transfers
    /// out): over the 30 days before the last 24 hours, per day. `None` until there are
    /// [`Params::baseline_min_days`] of history.
    pub fn baseline_daily_debit_minor(&self, params: &Params) -> Option<f64> {
        let history_ms = self.history_ms();
        if history_ms < i64::from(params.baseline_min_days) * DAY_MS {
            return None;
        }
        // The daily buckets before the last 24 hours that the 30-day window covers: the
        // first day counts whole.
        let days = ((history_ms - DAY_MS) / DAY_MS + 1).clamp(1, 29) as f64;
        let before = self.window(Span::Days30).discretionary_minor
            - self.window(Span::Hours24).discretionary_minor;
        Some(before.max(0) as f64 / days)
    }
}
