//! Rules compliance writes, in the rule language (`sextant-rules`) over a payment's fields and
//! windowed aggregates of the customer's payments:
//!
//! ```text
//! count(payments, 1h) > 10 and sum(amount, 24h, direction = out) > 5000
//! ```
//!
//! A payment's fields, as rules name them: `amount` (major units of its currency), `direction`
//! (`in` for money received, `out` for money paid), `kind`, `status`, `channel`, `country`,
//! `currency`, `merchant` and `mcc` (the merchant category code, a number; both missing when
//! the payment has none), `card` (true for a card payment), `counterparty` (the other
//! party's account, else its name as sent) and `device` (the app install it was made from;
//! both missing when the payment names none), so `distinct(counterparty, 48h, direction =
//! in) >= 5` counts the people who paid the customer. Aggregates count every payment recorded, failed ones too: a rule that
//! wants completed ones says `status = completed`.
//!
//! Each rule version is `shadow` (its hits are recorded and measured, nothing is alerted) or
//! `live` (its hits are alerts and weigh in decisions, with the rule's severity). A rule that
//! fired stays quiet for the customer for its cooldown, as typologies do.
//!
//! The windows are kept per customer ([`RuleState`]) for the aggregates of every rule of the
//! set, each aggregate once however many rules read it: constant time per payment. A
//! window counts the payments of its span give or take one bucket, a thirtieth of the span;
//! `distinct` remembers at most [`DISTINCT_CAPACITY`] values.

use serde::{Deserialize, Serialize};
use sextant_domain::{Direction, PaymentEvent};
use sextant_rules::{AggregateSchema, FieldType, Function, Row, Rule, Schema};

/// Why a rule was refused, and where (the rule language's own).
pub use sextant_rules::RuleError;

const DAY_MS: i64 = 24 * 60 * 60 * 1_000;

/// The longest window a rule may aggregate over.
pub const MAX_WINDOW_MS: i64 = 30 * DAY_MS;

/// Buckets per window.
const BUCKETS: i64 = 30;

/// The most distinct values a `distinct` window remembers.
pub const DISTINCT_CAPACITY: usize = 64;

// A payment's fields, by index in [`payment_fields`].
const AMOUNT: usize = 0;
const DIRECTION: usize = 1;
const KIND: usize = 2;
const STATUS: usize = 3;
const CHANNEL: usize = 4;
const COUNTRY: usize = 5;
const CURRENCY: usize = 6;
const MERCHANT: usize = 7;
const MCC: usize = 8;
const CARD: usize = 9;
const COUNTERPARTY: usize = 10;
const DEVICE: usize = 11;

/// The fields of one payment, as rules and aggregate filters name them.
pub fn payment_fields() -> Schema {
    use sextant_domain::{Channel, PaymentKind, PaymentStatus};
    let names = |all: &[&'static str]| all.to_vec();
    let kinds: Vec<&str> = PaymentKind::ALL.iter().map(|k| k.as_str()).collect();
    let statuses: Vec<&str> = PaymentStatus::ALL.iter().map(|s| s.as_str()).collect();
    let channels: Vec<&str> = Channel::ALL.iter().map(|c| c.as_str()).collect();
    Schema::new()
        .field("amount", FieldType::Number)
        .choice("direction", &names(&["in", "out"]))
        .choice("kind", &kinds)
        .choice("status", &statuses)
        .choice("channel", &channels)
        .field("country", FieldType::Text)
        .field("currency", FieldType::Text)
        .field("merchant", FieldType::Text)
        .field("mcc", FieldType::Number)
        .field("card", FieldType::Bool)
        .field("counterparty", FieldType::Text)
        .field("device", FieldType::Text)
}

/// What monitoring rules are parsed against: a payment's fields, and aggregates over the
/// customer's payments of up to 30 days.
pub fn schema() -> Schema {
    payment_fields().with_aggregates(AggregateSchema::new(
        "payments",
        payment_fields(),
        MAX_WINDOW_MS,
    ))
}

/// A payment as a row of [`payment_fields`], with the values of a rule's aggregates.
pub struct PaymentRow<'a> {
    pub payment: &'a PaymentEvent,
    pub aggregates: &'a [Option<f64>],
}

fn amount_major(p: &PaymentEvent) -> f64 {
    p.amount.get() as f64 / 10f64.powi(i32::from(p.currency.minor_digits()))
}

impl Row for PaymentRow<'_> {
    fn number(&self, field: usize) -> Option<f64> {
        match field {
            AMOUNT => Some(amount_major(self.payment)),
            MCC => self.payment.mcc.map(|m| f64::from(m.get())),
            _ => None,
        }
    }

    fn text(&self, field: usize) -> Option<&str> {
        let p = self.payment;
        match field {
            DIRECTION => Some(match p.direction {
                Direction::Debit => "out",
                Direction::Credit => "in",
            }),
            KIND => Some(p.kind.as_str()),
            STATUS => Some(p.status.as_str()),
            CHANNEL => Some(p.channel.as_str()),
            COUNTRY => Some(p.country.as_str()),
            CURRENCY => Some(p.currency.as_str()),
            MERCHANT => p.merchant_id.as_ref().map(|m| m.as_str()),
            COUNTERPARTY => p.counterparty.as_ref().and_then(|c| {
                c.account
                    .as_ref()
                    .map(|a| a.as_str())
                    .or(c.name.as_ref().map(|n| n.as_str()))
            }),
            DEVICE => p.device_id.as_ref().map(|d| d.as_str()),
            _ => None,
        }
    }

    fn boolean(&self, field: usize) -> Option<bool> {
        (field == CARD).then_some(self.payment.card.is_some())
    }

    fn aggregate(&self, index: usize) -> Option<f64> {
        self.aggregates.get(index).copied().flatten()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Hits are recorded and measured; nothing is alerted or decided on them.
    Shadow,
    /// Hits are alerts, and weigh in payment decisions.
    Live,
}

impl Mode {
    pub fn as_str(self) -> &'static str {
        match self {
            Mode::Shadow => "shadow",
            Mode::Live => "live",
        }
    }

    pub fn parse(text: &str) -> Option<Mode> {
        match text {
            "shadow" => Some(Mode::Shadow),
            "live" => Some(Mode::Live),
            _ => None,
        }
    }
}

/// One version of a compliance rule, parsed.
#[derive(Debug, Clone)]
pub struct MonitoringRule {
    /// The rule's name, stable across its versions.
    pub id: String,
    pub version: u32,
    pub mode: Mode,
    /// How much a hit weighs in a decision, 0..=1, as a typology's severity.
    pub severity: f64,
    /// After a hit, how long the rule stays quiet for the customer.
    pub cooldown_ms: i64,
    /// What the rule looks for, in words: the alert's reason.
    pub description: String,
    pub rule: Rule,
}

impl MonitoringRule {
    /// Parses a rule's source against [`schema`].
    pub fn parse(
        id: &str,
        version: u32,
        source: &str,
        mode: Mode,
        severity: f64,
        cooldown_ms: i64,
        description: &str,
    ) -> Result<MonitoringRule, RuleError> {
        Ok(MonitoringRule {
            id: id.to_owned(),
            version,
            mode,
            severity: severity.clamp(0.0, 1.0),
            cooldown_ms: cooldown_ms.max(0),
            description: description.to_owned(),
            rule: Rule::parse(source, &schema())?,
        })
    }

    /// Whether the rule fires on a payment, given the values of its aggregates.
    pub fn fires(&self, payment: &PaymentEvent, values: &[Option<f64>]) -> bool {
        self.rule.matches(&PaymentRow {
            payment,
            aggregates: values,
        })
    }

    /// The hit of this rule on a payment, with the values it read.
    pub fn hit(&self, values: Vec<Option<f64>>) -> RuleHit {
        let read: Vec<String> = self
            .rule
            .aggregates()
            .iter()
            .zip(&values)
            .map(|(aggregate, value)| match value {
                Some(v) => format!("{aggregate} = {}", shown(*v)),
                None => format!("{aggregate}: none"),
            })
            .collect();
        let reason = if read.is_empty() {
            self.description.clone()
        } else {
            format!("{} ({})", self.description, read.join(", "))
        };
        RuleHit {
            rule_id: self.id.clone(),
            version: self.version,
            mode: self.mode,
            severity: self.severity,
            reason,
            values,
        }
    }
}

/// A number as a person reads it: whole numbers without decimals, others to two places.
fn shown(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A rule that fired on a payment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleHit {
    pub rule_id: String,
    pub version: u32,
    pub mode: Mode,
    pub severity: f64,
    /// The rule's description, with the values its aggregates read.
    pub reason: String,
    /// The values of the rule's aggregates, in [`Rule::aggregates`] order.
    pub values: Vec<Option<f64>>,
}

/// A set of rules evaluated together: their aggregates are kept once each.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<MonitoringRule>,
    /// The distinct aggregates of all the rules, by their text: (rule index, aggregate index
    /// in that rule) of the first rule that reads it.
    aggregates: Vec<(usize, usize)>,
    /// For each rule, where each of its aggregates is in `aggregates`.
    slots: Vec<Vec<usize>>,
}

impl RuleSet {
    pub fn new(rules: Vec<MonitoringRule>) -> RuleSet {
        let mut aggregates: Vec<(usize, usize)> = Vec::new();
        let mut slots = Vec::with_capacity(rules.len());
        for (r, rule) in rules.iter().enumerate() {
            let mut own = Vec::new();
            for (a, aggregate) in rule.rule.aggregates().iter().enumerate() {
                let found = aggregates.iter().position(|&(r2, a2)| {
                    rules[r2].rule.aggregates()[a2].text() == aggregate.text()
                });
                own.push(found.unwrap_or_else(|| {
                    aggregates.push((r, a));
                    aggregates.len() - 1
                }));
            }
            slots.push(own);
        }
        RuleSet {
            rules,
            aggregates,
            slots,
        }
    }

    pub fn rules(&self) -> &[MonitoringRule] {
        &self.rules
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    fn aggregate(&self, slot: usize) -> &sextant_rules::Aggregate {
        let (r, a) = self.aggregates[slot];
        &self.rules[r].rule.aggregates()[a]
    }

    /// A state for this set, with nothing seen.
    pub fn new_state(&self) -> RuleState {
        RuleState {
            windows: (0..self.aggregates.len())
                .map(|slot| AggregateWindow::new(self.aggregate(slot)))
                .collect(),
            last_hit_ms: vec![None; self.rules.len()],
        }
    }

    /// Adds the payment to the windows and returns, for each rule of the set in order, the
    /// values of its aggregates after it: what a decision records to replay the rules.
    pub fn values_after(&self, state: &mut RuleState, p: &PaymentEvent) -> Vec<Vec<Option<f64>>> {
        if state.windows.len() != self.aggregates.len()
            || state.last_hit_ms.len() != self.rules.len()
        {
            *state = self.new_state();
        }
        let at = p.occurred_at.timestamp_millis();
        let event = PaymentRow {
            payment: p,
            aggregates: &[],
        };
        for (slot, window) in state.windows.iter_mut().enumerate() {
            let aggregate = self.aggregate(slot);
            window.advance(at);
            if aggregate.accepts(&event) {
                window.add(at, aggregate, &event);
            }
        }
        self.slots
            .iter()
            .map(|slots| {
                slots
                    .iter()
                    .map(|&slot| state.windows[slot].value(self.aggregate(slot).function()))
                    .collect()
            })
            .collect()
    }

    /// Adds the payment to the windows, then returns every rule that fires on it (by its
    /// index in the set) with the values it read, cooldowns aside: what a decision on this
    /// payment needs.
    pub fn detect(&self, state: &mut RuleState, p: &PaymentEvent) -> Vec<(usize, RuleHit)> {
        self.values_after(state, p)
            .into_iter()
            .enumerate()
            .filter(|(r, values)| self.rules[*r].fires(p, values))
            .map(|(r, values)| (r, self.rules[r].hit(values)))
            .collect()
    }

    /// [`RuleSet::detect`], less the rules still in their cooldown for the customer, which
    /// start a new one: the alerts a payment raises.
    pub fn evaluate(&self, state: &mut RuleState, p: &PaymentEvent) -> Vec<RuleHit> {
        let at = p.occurred_at.timestamp_millis();
        let hits = self.detect(state, p);
        hits.into_iter()
            .filter_map(|(r, hit)| {
                let last = &mut state.last_hit_ms[r];
                let quiet = last.is_some_and(|last| at - last < self.rules[r].cooldown_ms);
                if quiet {
                    return None;
                }
                *last = Some(at);
                Some(hit)
            })
            .collect()
    }
}

/// One customer's windows for a [`RuleSet`]'s aggregates, and when each rule last fired.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RuleState {
    windows: Vec<AggregateWindow>,
    last_hit_ms: Vec<Option<i64>>,
}

/// One bucket: how many payments, and the sum, the least or the most of the field.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Bucket {
    count: u32,
    value: f64,
}

#[derive(Debug, Clone, PartialEq)]
enum Kept {
    Buckets {
        bucket_ms: i64,
        ring: Box<[Bucket]>,
        /// The absolute number of the newest bucket (time / bucket_ms).
        head: i64,
    },
    /// Distinct values as (hash, last seen), the least recently seen dropped first.
    Distinct {
        window_ms: i64,
        seen: Vec<(u64, i64)>,
        newest_ms: i64,
    },
}

/// The window one aggregate reads.
#[derive(Debug, Clone, PartialEq)]
struct AggregateWindow {
    field: Option<usize>,
    kept: Kept,
}

impl AggregateWindow {
    fn new(aggregate: &sextant_rules::Aggregate) -> AggregateWindow {
        let window_ms = aggregate.window_ms();
        let kept = if aggregate.function() == Function::Distinct {
            Kept::Distinct {
                window_ms,
                seen: Vec::new(),
                newest_ms: i64::MIN,
            }
        } else {
            let bucket_ms = (window_ms + BUCKETS - 1) / BUCKETS;
            let buckets = (window_ms + bucket_ms - 1) / bucket_ms;
            Kept::Buckets {
                bucket_ms,
                ring: vec![Bucket::default(); buckets as usize].into_boxed_slice(),
                head: i64::MIN,
            }
        };
        AggregateWindow {
            field: aggregate.field(),
            kept,
        }
    }

    /// Moves the window forward to `at_ms`, clearing the buckets that fall out.
    fn advance(&mut self, at_ms: i64) {
        match &mut self.kept {
            Kept::Buckets {
                bucket_ms,
                ring,
                head,
            } => {
                let bucket = at_ms.div_euclid(*bucket_ms);
                let len = ring.len() as i64;
                if *head == i64::MIN || bucket - *head >= len {
                    ring.fill(Bucket::default());
                    *head = bucket;
                    return;
                }
                while *head < bucket {
                    *head += 1;
                    ring[head.rem_euclid(len) as usize] = Bucket::default();
                }
            }
            Kept::Distinct { newest_ms, .. } => *newest_ms = (*newest_ms).max(at_ms),
        }
    }

    fn add(&mut self, at_ms: i64, aggregate: &sextant_rules::Aggregate, event: &PaymentRow) {
        let function = aggregate.function();
        match &mut self.kept {
            Kept::Buckets {
                bucket_ms,
                ring,
                head,
            } => {
                let bucket = at_ms.div_euclid(*bucket_ms);
                let len = ring.len() as i64;
                if bucket <= *head - len {
                    return; // older than the window
                }
                let cell = &mut ring[bucket.rem_euclid(len) as usize];
                let x = self.field.and_then(|f| event.number(f)).unwrap_or(0.0);
                cell.value = match (function, cell.count) {
                    (Function::Min | Function::Max, 0) => x,
                    (Function::Min, _) => cell.value.min(x),
                    (Function::Max, _) => cell.value.max(x),
                    _ => cell.value + x,
                };
                cell.count += 1;
            }
            Kept::Distinct { seen, .. } => {
                let Some(text) = self.field.and_then(|f| event.text(f)) else {
                    return;
                };
                let key = sextant_hash::fnv1a64(text.as_bytes());
                match seen.iter_mut().find(|(k, _)| *k == key) {
                    Some(entry) => entry.1 = entry.1.max(at_ms),
                    None => {
                        if seen.len() == DISTINCT_CAPACITY {
                            let oldest = (0..seen.len())
                                .min_by_key(|&i| seen[i].1)
                                .expect("full, so not empty");
                            seen.swap_remove(oldest);
                        }
                        seen.push((key, at_ms));
                    }
                }
            }
        }
    }

    /// The aggregate's value as of the newest payment.
    fn value(&self, function: Function) -> Option<f64> {
        match &self.kept {
            Kept::Distinct {
                window_ms,
                seen,
                newest_ms,
            } => {
                let since = newest_ms.saturating_sub(*window_ms);
                Some(seen.iter().filter(|(_, at)| *at > since).count() as f64)
            }
            Kept::Buckets { ring, .. } => {
                let live = ring.iter().filter(|b| b.count > 0);
                let count: u32 = ring.iter().map(|b| b.count).sum();
                match function {
                    Function::Count => Some(f64::from(count)),
                    Function::Sum => Some(live.map(|b| b.value).sum()),
                    Function::Avg => {
                        (count > 0).then(|| live.map(|b| b.value).sum::<f64>() / f64::from(count))
                    }
                    Function::Min => live.map(|b| b.value).reduce(f64::min),
                    Function::Max => live.map(|b| b.value).reduce(f64::max),
                    Function::Distinct => unreachable!("kept as distinct values"),
                }
            }
        }
    }
}
