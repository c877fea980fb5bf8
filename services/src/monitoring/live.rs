//! Monitoring as payments land: each customer's windowed state kept in memory, every new
//! payment evaluated by the typology detectors and compliance's rules after it is stored,
//! the alerts (typologies, live rules) filed into cases and every rule hit (shadow rules'
//! too) recorded.
//!
//! The rules in force are read from the store at the first observation and again after
//! each change ([`Monitor::reload_rules`]); a change drops the kept states, which are
//! rebuilt with the new rules' windows as customers are next seen.
//!
//! A customer's state is rebuilt from the stored payments (the last [`LOOKBACK_DAYS`]) the
//! first time they are seen, when they were evicted to keep memory bounded
//! ([`Monitor::with_capacity`]), when a payment arrives more than [`LATE_MS`] older than
//! their newest, or when the kept state already holds one of the payments (it was built
//! from the store, for a decision or by [`Monitor::warm`], after they were committed): the
//! replay raises, for the new payments only, exactly what evaluating them in time order
//! would have. A payment that was stored already (a duplicate) is not evaluated again, and
//! the store files an alert once per payment and typology.
//!
//! Another process may change what is in force (a rule written through another replica, a
//! model trained and activated by `sextant monitoring train`): every
//! [`IN_FORCE_CHECK`] at most, an observation or a decision reads the store's
//! [`sextant_store::MonitoringStamp`] and, when it moved, reads the rules or the model
//! again. A change made anywhere is in force here within that time.
//!
//! Every new payment that names its counterparty is screened against the sanctions list in
//! force ([`Monitor::screening`]); a match files a `sanctions` alert.
//!
//! Observations are serialised (one lock), so two batches of one customer never interleave;
//! building a state for a decision or a warm-up reads the store without the lock. A second
//! process writing payments (an import beside a running server) is not seen by this one's
//! states until they are rebuilt.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use sextant_domain::{CustomerId, Event, PaymentEvent};
use sextant_monitoring::features::detect_with_features;
use sextant_monitoring::rules::{Mode, MonitoringRule, RuleError, RuleHit, RuleSet, RuleState};
use sextant_monitoring::{cool_down, evaluate, CustomerState, Hit, ModelScore, Params};
use sextant_store::{Actor, AlertsFiled, MonitoringStamp, NewAlert, NewRuleHit, Store, StoredRule};
use tokio::sync::Mutex;

use super::model::{self, Served};
use crate::screening::{match_sentence, Screening};
use crate::{new_id, Result};

/// How far back a rebuilt state reads: the 30-day windows, the month before them that a
/// customer's usual day is measured on, and the dormancy the dormant-account detector looks
/// for, with room to spare.
pub const LOOKBACK_DAYS: i64 = 400;

/// A payment this much older than the customer's newest is not added in place (the windows
/// have moved on): the customer's state is rebuilt with it in its place.
pub const LATE_MS: i64 = 60 * 60 * 1_000;

/// Customers read per page when warming up.
const WARM_PAGE: u64 = 500;

/// Customers whose state is kept by default: about 13 KiB each, so about 260 MiB.
pub const DEFAULT_CAPACITY: usize = 20_000;

/// How often a process looks whether the rules or the model in force changed in the store.
pub const IN_FORCE_CHECK: std::time::Duration = std::time::Duration::from_secs(2);

/// After the model alerts on a customer, it does not alert on them again for this long (the
/// case is open; one alert a day says the model still sees it).
pub const MODEL_COOLDOWN_MS: i64 = 24 * 60 * 60 * 1_000;

/// One customer's monitoring state: the typologies' windows, the rules' and when the model
/// last alerted.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    pub state: CustomerState,
    pub rules: RuleState,
    pub model_alerted_ms: Option<i64>,
}

/// What a payment raised: typologies and rules after their cooldowns, and the model's
/// reading when it is at or above the model's review threshold (after its cooldown).
type Raised = (Vec<Hit>, Vec<RuleHit>, Option<ModelScore>);

impl Watch {
    /// Adds a payment; the alerts it raises.
    fn evaluate(
        &mut self,
        p: &PaymentEvent,
        params: &Params,
        rules: &RuleSet,
        model: Option<&Served>,
    ) -> Raised {
        let at = p.occurred_at.timestamp_millis();
        let (hits, reading) = match model {
            None => (evaluate(&mut self.state, p, params), None),
            Some(model) => {
                let (hits, row) = detect_with_features(&mut self.state, p, params);
                let quiet = self
                    .model_alerted_ms
                    .is_some_and(|last| at - last < MODEL_COOLDOWN_MS);
                // The reasons are worked out only for a payment the model alerts on.
                let alerting = !quiet && model.probability(&row) >= model.review_at();
                if alerting {
                    self.model_alerted_ms = Some(at);
                }
                (
                    cool_down(&mut self.state, at, hits),
                    alerting.then(|| model.score(&row)),
                )
            }
        };
        (hits, rules.evaluate(&mut self.rules, p), reading)
    }
}

struct Kept {
    watch: Watch,
    used: u64,
}

/// What a decision on one customer's payment reads: their state, and the rules and the model
/// in force.
pub struct InForce {
    pub watch: Watch,
    pub rules: Arc<RuleSet>,
    pub model: Option<Arc<Served>>,
}

#[derive(Default)]
struct States {
    kept: HashMap<CustomerId, Kept>,
    clock: u64,
    /// The rules in force; `None` until read from the store.
    rules: Option<Arc<RuleSet>>,
    /// The model in force (`Some(None)`: none is active); `None` until read from the store.
    model: Option<Option<Arc<Served>>>,
    /// What the store said was in force when last asked, and when that was.
    stamp: Option<MonitoringStamp>,
    checked_at: Option<std::time::Instant>,
}

impl States {
    fn put(&mut self, id: CustomerId, watch: Watch, capacity: usize) {
        self.clock += 1;
        let used = self.clock;
        self.kept.insert(id, Kept { watch, used });
        if self.kept.len() > capacity {
            // Evict the least recently used tenth at once: amortised constant time.
            let mut ages: Vec<u64> = self.kept.values().map(|k| k.used).collect();
            let cut = (capacity / 10).max(1).min(ages.len() - 1);
            let (_, nth, _) = ages.select_nth_unstable(cut);
            let oldest_kept = *nth;
            self.kept.retain(|_, k| k.used >= oldest_kept);
        }
    }
}

/// What one observation did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Observed {
    /// New payments evaluated.
    pub payments: u64,
    /// Customers whose state was rebuilt from the store.
    pub rebuilt: u64,
    pub alerts: AlertsFiled,
    /// Rule hits recorded (shadow and live).
    pub rule_hits: u64,
}

/// A stored rule version parsed, in `mode` (its own, or any for reading it).
pub fn parse_stored(r: &StoredRule, mode: Mode) -> Result<MonitoringRule, RuleError> {
    MonitoringRule::parse(
        &r.rule_id,
        r.version,
        &r.source,
        mode,
        r.severity,
        r.cooldown_ms,
        &r.description,
    )
}

/// The rule versions in force (shadow and live) among those stored, parsed. A stored
/// version that no longer parses is left out and logged: it was checked when written.
pub fn rule_set(stored: &[StoredRule]) -> RuleSet {
    let rules = stored
        .iter()
        .filter_map(|r| {
            let mode = Mode::parse(&r.mode)?;
            parse_stored(r, mode)
                .map_err(|e| {
                    tracing::error!(rule = %r.rule_id, version = r.version, error = %e, "a stored monitoring rule does not parse");
                })
                .ok()
        })
        .collect();
    RuleSet::new(rules)
}

/// What the hits on a stored payment file: alerts for typologies and live rules, a record
/// for every rule hit.
struct Filing {
    alerts: Vec<NewAlert>,
    rule_hits: Vec<NewRuleHit>,
    now: DateTime<Utc>,
}

impl Filing {
    fn new(now: DateTime<Utc>) -> Filing {
        Filing {
            alerts: Vec::new(),
            rule_hits: Vec::new(),
            now,
        }
    }

    fn add(&mut self, p: &PaymentEvent, (hits, rule_hits, reading): Raised) {
        for hit in hits {
            self.alerts.push(alert_of(p, hit, self.now));
        }
        if let Some(score) = reading {
            self.alerts.push(NewAlert {
                id: new_id("al"),
                customer_id: p.customer_id.clone(),
                source: "model".into(),
                score: score.probability,
                reason: format!("{} (model {})", model::sentence(&score), score.version),
                event_id: Some(p.event_id.to_string()),
                assessment_id: None,
                occurred_at: p.occurred_at,
                raised_at: self.now,
            });
        }
        for hit in rule_hits {
            if hit.mode == Mode::Live {
                self.alerts.push(NewAlert {
                    id: new_id("al"),
                    customer_id: p.customer_id.clone(),
                    source: format!("rule:{}", hit.rule_id),
                    score: hit.severity,
                    reason: format!("rule {} v{}: {}", hit.rule_id, hit.version, hit.reason),
                    event_id: Some(p.event_id.to_string()),
                    assessment_id: None,
                    occurred_at: p.occurred_at,
                    raised_at: self.now,
                });
            }
            self.rule_hits.push(NewRuleHit {
                rule_id: hit.rule_id,
                version: hit.version,
                mode: hit.mode.as_str().to_owned(),
                customer_id: p.customer_id.clone(),
                event_id: p.event_id.to_string(),
                occurred_at: p.occurred_at,
                reason: hit.reason,
                recorded_at: self.now,
            });
        }
    }
}

/// The alert a detector's hit on a stored payment raises.
fn alert_of(p: &PaymentEvent, hit: Hit, now: DateTime<Utc>) -> NewAlert {
    NewAlert {
        id: new_id("al"),
        customer_id: p.customer_id.clone(),
        source: hit.typology.name().to_owned(),
        score: hit.score,
        reason: hit.reason,
        event_id: Some(p.event_id.to_string()),
        assessment_id: None,
        occurred_at: p.occurred_at,
        raised_at: now,
    }
}

pub struct Monitor {
    params: Params,
    capacity: usize,
    states: Mutex<States>,
    screening: Arc<Screening>,
}

impl Default for Monitor {
    fn default() -> Self {
        Monitor::with_capacity(Params::default(), DEFAULT_CAPACITY)
    }
}

impl Monitor {
    pub fn with_capacity(params: Params, capacity: usize) -> Monitor {
        Monitor {
            params,
            capacity: capacity.max(1),
            states: Mutex::new(States::default()),
            screening: Arc::default(),
        }
    }

    pub fn params(&self) -> &Params {
        &self.params
    }

    /// The sanctions list payments' counterparties are screened against.
    pub fn screening(&self) -> &Arc<Screening> {
        &self.screening
    }

    /// The `sanctions` alerts of the new payments whose counterparty's name is on the list
    /// in force.
    fn screen(&self, payments: &[&PaymentEvent], now: DateTime<Utc>) -> Vec<NewAlert> {
        let Some(list) = self.screening.current() else {
            return Vec::new();
        };
        let mut alerts = Vec::new();
        for p in payments {
            let Some(name) = p.counterparty.as_ref().and_then(|c| c.name.as_ref()) else {
                continue;
            };
            let matches = list.screen_counterparty(name.as_str());
            if let Some(best) = matches.first() {
                alerts.push(NewAlert {
                    id: new_id("al"),
                    customer_id: p.customer_id.clone(),
                    source: "sanctions".into(),
                    score: best.score,
                    reason: format!("{} (list {})", match_sentence(best), list.short_sha()),
                    event_id: Some(p.event_id.to_string()),
                    assessment_id: None,
                    occurred_at: p.occurred_at,
                    raised_at: now,
                });
            }
        }
        alerts
    }

    /// Customers whose state is in memory now.
    pub async fn kept(&self) -> usize {
        self.states.lock().await.kept.len()
    }

    /// The rules in force, read from the store the first time.
    pub async fn rules(&self, store: &dyn Store) -> Result<Arc<RuleSet>> {
        let mut states = self.states.lock().await;
        Self::rules_in(&mut states, store).await
    }

    /// Drops the rules (and the states kept for them) or the model when the store says
    /// another process changed them; asks at most every [`IN_FORCE_CHECK`].
    async fn follow_changes(states: &mut States, store: &dyn Store) -> Result<()> {
        if states
            .checked_at
            .is_some_and(|at| at.elapsed() < IN_FORCE_CHECK)
        {
            return Ok(());
        }
        // Read before the rules and the model are (re)read below: what they read is at
        // least as new as the stamp.
        let stamp = store.monitoring_stamp().await?;
        states.checked_at = Some(std::time::Instant::now());
        if let Some(known) = states.stamp {
            let rules_moved = (known.rule_versions, known.rules_changed_at_ms)
                != (stamp.rule_versions, stamp.rules_changed_at_ms);
            if rules_moved {
                states.rules = None;
                states.kept.clear();
            }
            if known.model_activation != stamp.model_activation {
                states.model = None;
            }
        }
        states.stamp = Some(stamp);
        Ok(())
    }

    async fn rules_in(states: &mut States, store: &dyn Store) -> Result<Arc<RuleSet>> {
        Self::follow_changes(states, store).await?;
        if let Some(rules) = &states.rules {
            return Ok(rules.clone());
        }
        let rules = Arc::new(rule_set(&store.rules().await?));
        states.rules = Some(rules.clone());
        Ok(rules)
    }

    async fn model_in(states: &mut States, store: &dyn Store) -> Result<Option<Arc<Served>>> {
        if let Some(model) = &states.model {
            return Ok(model.clone());
        }
        let model = model::active(store).await?;
        states.model = Some(model.clone());
        Ok(model)
    }

    /// Reads the active model from the store again (after one is trained or activated): the
    /// next payment is scored by it.
    pub async fn reload_model(&self, store: &dyn Store) -> Result<Option<Arc<Served>>> {
        let model = model::active(store).await?;
        self.states.lock().await.model = Some(model.clone());
        Ok(model)
    }

    /// Reads the rules in force from the store again (after a change) and drops the kept
    /// states, whose windows were the old rules'.
    pub async fn reload_rules(&self, store: &dyn Store) -> Result<Arc<RuleSet>> {
        let rules = Arc::new(rule_set(&store.rules().await?));
        let mut states = self.states.lock().await;
        states.rules = Some(rules.clone());
        states.kept.clear();
        Ok(rules)
    }

    /// Evaluates the payments of `events` that were just stored (those not at the indices
    /// in `duplicates`) and files the alerts they raise.
    pub async fn observe(
        &self,
        store: &dyn Store,
        events: &[Event],
        duplicates: &[usize],
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Observed> {
        let skip: HashSet<usize> = duplicates.iter().copied().collect();
        let mut by_customer: HashMap<&CustomerId, Vec<&PaymentEvent>> = HashMap::new();
        for (i, event) in events.iter().enumerate() {
            if let (Event::Payment(p), false) = (event, skip.contains(&i)) {
                by_customer.entry(&p.customer_id).or_default().push(p);
            }
        }
        if by_customer.is_empty() {
            return Ok(Observed::default());
        }
        let mut observed = Observed::default();
        let mut filing = Filing::new(now);
        let mut states = self.states.lock().await;
        let rules = Self::rules_in(&mut states, store).await?;
        let model = Self::model_in(&mut states, store).await?;
        let model = model.as_deref();
        let mut rebuild: Vec<CustomerId> = Vec::new();
        for (id, payments) in &mut by_customer {
            payments.sort_by(|a, b| {
                (a.occurred_at, a.event_id.as_str()).cmp(&(b.occurred_at, b.event_id.as_str()))
            });
            observed.payments += payments.len() as u64;
            // In place only when the kept state does not hold any of these payments already
            // (it was built from the store after they were committed): otherwise rebuilt.
            let in_place = states.kept.get(*id).is_some_and(|k| {
                let newest = k.watch.state.last_seen_ms.unwrap_or(i64::MIN);
                payments[0].occurred_at.timestamp_millis() >= newest.saturating_sub(LATE_MS)
                    && !payments
                        .iter()
                        .any(|p| k.watch.state.recent_ids.contains(p.event_id.as_str()))
            });
            if !in_place {
                rebuild.push((*id).clone());
                continue;
            }
            let mut kept = states.kept.remove(*id).expect("checked above");
            for p in payments.iter() {
                filing.add(p, kept.watch.evaluate(p, &self.params, &rules, model));
            }
            states.put((*id).clone(), kept.watch, self.capacity);
        }
        if !rebuild.is_empty() {
            observed.rebuilt = rebuild.len() as u64;
            let earliest = rebuild
                .iter()
                .flat_map(|id| by_customer[id].iter().map(|p| p.occurred_at))
                .min()
                .expect("every customer rebuilt has payments");
            let since = earliest - Duration::days(LOOKBACK_DAYS);
            // A customer whose only payments in the lookback are the ones just stored (a
            // new customer, an import) is built from those, without reading them back.
            let counts: HashMap<CustomerId, u64> = store
                .payment_counts_since(&rebuild, since)
                .await?
                .into_iter()
                .collect();
            let (only_new, older): (Vec<CustomerId>, Vec<CustomerId>) =
                rebuild.into_iter().partition(|id| {
                    counts.get(id).copied().unwrap_or(0) == by_customer[id].len() as u64
                });
            for id in only_new {
                let mut watch = Watch::default();
                for p in &by_customer[&id] {
                    filing.add(p, watch.evaluate(p, &self.params, &rules, model));
                }
                states.put(id, watch, self.capacity);
            }
            let stored = if older.is_empty() {
                Vec::new()
            } else {
                store.payments_since(&older, since).await?
            };
            let fresh: HashSet<&str> = older
                .iter()
                .flat_map(|id| by_customer[id].iter().map(|p| p.event_id.as_str()))
                .collect();
            let mut replayed: Vec<(CustomerId, Watch)> = Vec::new();
            for p in &stored {
                if replayed.last().is_none_or(|(id, _)| *id != p.customer_id) {
                    replayed.push((p.customer_id.clone(), Watch::default()));
                }
                let watch = &mut replayed.last_mut().expect("pushed above").1;
                // Only the new payments are scored: the stored ones' alerts were filed.
                if fresh.contains(p.event_id.as_str()) {
                    filing.add(p, watch.evaluate(p, &self.params, &rules, model));
                } else {
                    watch.evaluate(p, &self.params, &rules, None);
                }
            }
            for (id, watch) in replayed {
                states.put(id, watch, self.capacity);
            }
        }
        drop(states);
        let new: Vec<&PaymentEvent> = by_customer.values().flatten().copied().collect();
        filing.alerts.extend(self.screen(&new, now));
        observed.alerts = store.record_alerts(&filing.alerts, by).await?;
        observed.rule_hits = store.record_rule_hits(&filing.rule_hits).await?;
        Ok(observed)
    }

    /// The customer's state as of their newest stored payment, the rules it was built for
    /// and the model in force, for a decision on a payment not yet made (one look under the
    /// lock). One not in memory is built from the store without holding up anyone else, and
    /// kept unless an observation kept one meanwhile or the rules changed.
    pub async fn state_of(&self, store: &dyn Store, id: &CustomerId) -> Result<InForce> {
        let (rules, model) = {
            let mut states = self.states.lock().await;
            let rules = Self::rules_in(&mut states, store).await?;
            let model = Self::model_in(&mut states, store).await?;
            if states.kept.contains_key(id) {
                states.clock += 1;
                let clock = states.clock;
                let kept = states.kept.get_mut(id).expect("present");
                kept.used = clock;
                return Ok(InForce {
                    watch: kept.watch.clone(),
                    rules,
                    model,
                });
            }
            (rules, model)
        };
        let since = Utc::now() - Duration::days(LOOKBACK_DAYS);
        let mut built = self
            .build(store, std::slice::from_ref(id), since, &rules)
            .await?;
        let watch = built.pop().map(|(_, w)| w).unwrap_or_default();
        let mut states = self.states.lock().await;
        let same_rules = states
            .rules
            .as_ref()
            .is_some_and(|r| Arc::ptr_eq(r, &rules));
        if same_rules && !states.kept.contains_key(id) {
            states.put(id.clone(), watch.clone(), self.capacity);
        }
        Ok(InForce {
            watch,
            rules,
            model,
        })
    }

    /// States of `ids` built from their stored payments since `since` (customers without
    /// any are left out).
    async fn build(
        &self,
        store: &dyn Store,
        ids: &[CustomerId],
        since: DateTime<Utc>,
        rules: &RuleSet,
    ) -> Result<Vec<(CustomerId, Watch)>> {
        let stored = store.payments_since(ids, since).await?;
        let mut built: Vec<(CustomerId, Watch)> = Vec::new();
        for p in &stored {
            if built.last().is_none_or(|(id, _)| *id != p.customer_id) {
                built.push((p.customer_id.clone(), Watch::default()));
            }
            let watch = &mut built.last_mut().expect("pushed above").1;
            // The model's cooldown is not rebuilt: the alerts of a rebuilt history were filed.
            watch.evaluate(p, &self.params, rules, None);
        }
        Ok(built)
    }

    /// Builds the states of every registered customer (up to the capacity) from the store,
    /// a page at a time, so that the first decisions after a start do not each read a
    /// history; a state an observation kept meanwhile is left as it is. Returns how many
    /// customers have a state in memory; `progress` gets the customers read so far.
    pub async fn warm(&self, store: &dyn Store, mut progress: impl FnMut(u64)) -> Result<usize> {
        let since = Utc::now() - Duration::days(LOOKBACK_DAYS);
        let rules = self.rules(store).await?;
        let mut after: Option<CustomerId> = None;
        let mut read = 0u64;
        loop {
            let ids = store.customer_ids_after(after.as_ref(), WARM_PAGE).await?;
            let Some(last) = ids.last() else { break };
            after = Some(last.clone());
            read += ids.len() as u64;
            let missing: Vec<CustomerId> = {
                let states = self.states.lock().await;
                ids.iter()
                    .filter(|id| !states.kept.contains_key(*id))
                    .cloned()
                    .collect()
            };
            let built = self.build(store, &missing, since, &rules).await?;
            let mut states = self.states.lock().await;
            if !states
                .rules
                .as_ref()
                .is_some_and(|r| Arc::ptr_eq(r, &rules))
            {
                // The rules changed meanwhile: these states are the old rules'.
                return Ok(states.kept.len());
            }
            for (id, watch) in built {
                if states.kept.len() >= self.capacity {
                    return Ok(states.kept.len());
                }
                if !states.kept.contains_key(&id) {
                    states.put(id, watch, self.capacity);
                }
            }
            drop(states);
            progress(read);
            if (ids.len() as u64) < WARM_PAGE {
                break;
            }
        }
        Ok(self.kept().await)
    }
}
