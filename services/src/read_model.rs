//! The read model the hot paths serve from: what an offer or a credit quote needs about a
//! customer (the customer and their consents, profile, risk level, holdings, live campaign
//! memberships, recent offer behaviour, and for quotes when their newest event arrived),
//! kept in memory and read in one step.
//!
//! The database stays the source of truth. The model is built from it in the background at
//! start (a page of customers at a time, [`ReadModel::warm`]), a customer not yet in it is
//! read from the database on first use, and it follows the store's change feeds: before
//! every read, the customers whose rows, events or memberships changed since the last read
//! are dropped, so the next read takes them from the database again.
//!
//! A customer dropped after a change is read back in the background, in bulk, within
//! moments; meanwhile their next read takes them from the database.
//!
//! **Freshness promise.** A write committed through this process (an event, a consent
//! change, a new holding, a profile, a risk assessment, a campaign launch or status change)
//! is reflected in every answer that starts after the write returned. Writes by another
//! process (a `sextant import` into the same database, another replica) are not in this
//! process's feeds: they are picked up by the periodic rebuild, at most
//! [`REBUILD_SECONDS`] later.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};

use chrono::{DateTime, Duration, Utc};
use sextant_domain::CustomerId;
use sextant_store::{
    MarketingChanges, MarketingRow, Membership, OfferInteraction, Store, MARKETING_PAGE_MAX,
};

use crate::Result;

/// Offer behaviour kept per customer: the longest window any interaction count uses.
pub const INTERACTION_DAYS: i64 = 365;
/// Most interaction events kept per customer.
pub const INTERACTIONS_MAX: u64 = 2_000;
/// How often the whole model is rebuilt from the database, for writes made by other
/// processes.
pub const REBUILD_SECONDS: u64 = 300;
/// Least time between two rebuilds, however often the feeds say everything changed (a
/// long import overflows them again and again).
const REBUILD_INTERVAL_MIN: std::time::Duration = std::time::Duration::from_secs(10);
/// Customers read back per query after their changes.
const REFILL_BATCH: usize = 1_000;
/// Independently locked parts of the map, so that readers on different customers never
/// wait for each other, and a writer holds one part only.
const SHARDS: usize = 64;

/// What serving reads about one customer, as of `loaded_at`.
#[derive(Debug, Clone)]
pub struct ServingEntry {
    /// The customer, their profile, latest risk level and holdings.
    pub row: MarketingRow,
    /// Memberships in running or paused campaigns.
    pub memberships: Vec<Membership>,
    /// Offer behaviour of the last [`INTERACTION_DAYS`] before `loaded_at`, newest first.
    pub interactions: Vec<OfferInteraction>,
    /// When their newest event arrived (`Some(None)`: they have none); `None` until a
    /// credit decision asked, since only those check the profile's freshness.
    pub newest_event_at: Option<Option<DateTime<Utc>>>,
    pub loaded_at: DateTime<Utc>,
}

/// Positions in the store's two change feeds.
#[derive(Debug, Clone, Copy)]
struct Heads {
    marketing: u64,
    activity: u64,
}

impl Heads {
    fn now(store: &dyn Store) -> Heads {
        Heads {
            marketing: store.marketing_head(),
            activity: store.activity_head(),
        }
    }
}

/// Customers changed since some position.
enum Changed {
    Everyone,
    These(HashSet<CustomerId>),
}

impl Changed {
    fn since(store: &dyn Store, heads: Heads) -> (Changed, Heads) {
        let mut ids = HashSet::new();
        let mut everyone = false;
        let mut next = heads;
        for (changes, head) in [
            (
                store.marketing_changes(heads.marketing),
                &mut next.marketing,
            ),
            (store.activity_changes(heads.activity), &mut next.activity),
        ] {
            match changes {
                MarketingChanges::Customers {
                    ids: changed,
                    head: h,
                } => {
                    ids.extend(changed);
                    *head = h;
                }
                MarketingChanges::Everything { head: h } => {
                    everyone = true;
                    *head = h;
                }
            }
        }
        let changed = if everyone {
            Changed::Everyone
        } else {
            Changed::These(ids)
        };
        (changed, next)
    }

    fn contains(&self, id: &CustomerId) -> bool {
        match self {
            Changed::Everyone => true,
            Changed::These(ids) => ids.contains(id),
        }
    }
}

/// How far the model is built.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReadModelStatus {
    /// Customers in memory now.
    pub customers: usize,
    /// Whether a full build from the database has finished since start.
    pub built: bool,
    /// Customers dropped after a change and not read back yet.
    pub refill_pending: usize,
}

/// See the module documentation.
pub struct ReadModel {
    shards: Vec<RwLock<HashMap<CustomerId, Arc<ServingEntry>>>>,
    hasher: std::collections::hash_map::RandomState,
    /// The feed positions the map is current with; `None` before the first read. Taken
    /// by whoever applies the feeds, so changes are applied in order and once.
    heads: Mutex<Option<Heads>>,
    /// Set when the feeds said everything changed: the background rebuild starts early.
    rebuild_wanted: AtomicBool,
    rebuild_notify: tokio::sync::Notify,
    built: AtomicBool,
    /// Customers dropped after a change, for the background to read again in bulk.
    refill: Mutex<Vec<CustomerId>>,
    refill_notify: tokio::sync::Notify,
    /// Customers of the batch being read back now.
    refilling: std::sync::atomic::AtomicUsize,
}

impl Default for ReadModel {
    fn default() -> Self {
        ReadModel {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            hasher: Default::default(),
            heads: Mutex::new(None),
            rebuild_wanted: AtomicBool::new(false),
            rebuild_notify: tokio::sync::Notify::new(),
            built: AtomicBool::new(false),
            refill: Mutex::new(Vec::new()),
            refill_notify: tokio::sync::Notify::new(),
            refilling: Default::default(),
        }
    }
}

/// A poisoned lock only means a reader panicked: the map itself is whole (every change is
/// one insert, one remove or one clear).
fn unpoison<G>(r: std::result::Result<G, std::sync::PoisonError<G>>) -> G {
    r.unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ReadModel {
    fn shard(&self, id: &CustomerId) -> &RwLock<HashMap<CustomerId, Arc<ServingEntry>>> {
        &self.shards[(self.hasher.hash_one(id) as usize) % SHARDS]
    }

    /// The customer's entry as it is in memory, without reading the feeds or the database.
    pub fn cached(&self, id: &CustomerId) -> Option<Arc<ServingEntry>> {
        unpoison(self.shard(id).read()).get(id).cloned()
    }

    /// Calls `visit` with every entry in memory, a part of the map at a time.
    pub fn for_each(&self, mut visit: impl FnMut(&ServingEntry)) {
        for shard in &self.shards {
            let entries: Vec<Arc<ServingEntry>> =
                unpoison(shard.read()).values().cloned().collect();
            entries.iter().for_each(|e| visit(e));
        }
    }

    pub fn status(&self) -> ReadModelStatus {
        ReadModelStatus {
            customers: self.shards.iter().map(|s| unpoison(s.read()).len()).sum(),
            built: self.built.load(Ordering::Acquire),
            refill_pending: unpoison(self.refill.lock()).len()
                + self.refilling.load(Ordering::Acquire),
        }
    }

    /// Drops every customer changed since the map's feed positions. Cheap when nothing
    /// changed: two looks at the feeds.
    fn catch_up(&self, store: &dyn Store) {
        let mut heads = unpoison(self.heads.lock());
        self.catch_up_locked(store, &mut heads);
    }

    fn catch_up_locked(&self, store: &dyn Store, heads: &mut Option<Heads>) {
        let Some(at) = *heads else {
            // Nothing was read before these positions: nothing to drop.
            *heads = Some(Heads::now(store));
            return;
        };
        let (changed, next) = Changed::since(store, at);
        match changed {
            Changed::Everyone => {
                for shard in &self.shards {
                    unpoison(shard.write()).clear();
                }
                self.rebuild_wanted.store(true, Ordering::Release);
                self.rebuild_notify.notify_one();
            }
            Changed::These(ids) => {
                let mut dropped = Vec::new();
                for id in ids {
                    if unpoison(self.shard(&id).write()).remove(&id).is_some() {
                        dropped.push(id);
                    }
                }
                if !dropped.is_empty() {
                    unpoison(self.refill.lock()).extend(dropped);
                    self.refill_notify.notify_one();
                }
            }
        }
        *heads = Some(next);
    }

    /// Puts entries read from the database after `read_from` in, except those whose
    /// customer changed since then (the next read takes them from the database again).
    fn put(&self, store: &dyn Store, read_from: Heads, entries: Vec<ServingEntry>) -> usize {
        let mut heads = unpoison(self.heads.lock());
        self.catch_up_locked(store, &mut heads);
        let (changed, _) = Changed::since(store, read_from);
        let mut put = 0;
        for entry in entries {
            if changed.contains(&entry.row.customer.id) {
                continue;
            }
            let id = entry.row.customer.id.clone();
            unpoison(self.shard(&id).write()).insert(id, Arc::new(entry));
            put += 1;
        }
        put
    }

    /// The customer's entry, current with every write this process committed before the
    /// call; `None` for an unknown customer. With `newest_event`, the entry also knows when
    /// their newest event arrived.
    pub async fn entry(
        &self,
        store: &dyn Store,
        id: &CustomerId,
        newest_event: bool,
    ) -> Result<Option<Arc<ServingEntry>>> {
        // Taken first: a cached entry is current with at least this position, so a change
        // after it keeps what is read below out of the map.
        let read_from = Heads::now(store);
        self.catch_up(store);
        let cached = self.cached(id);
        if let Some(entry) = &cached {
            if !newest_event || entry.newest_event_at.is_some() {
                return Ok(cached);
            }
        }
        let entry = match cached {
            // Only the newest event's time is missing.
            Some(entry) => ServingEntry {
                newest_event_at: Some(store.last_received_at(id).await?),
                ..ServingEntry::clone(&entry)
            },
            None => {
                let now = Utc::now();
                let Some(inputs) = store
                    .offer_inputs(id, now - Duration::days(INTERACTION_DAYS), INTERACTIONS_MAX)
                    .await?
                else {
                    return Ok(None);
                };
                ServingEntry {
                    row: MarketingRow {
                        customer: inputs.customer,
                        profile: inputs.profile,
                        risk_level: inputs.risk_level,
                        held: inputs.holdings.into_iter().map(|h| h.product_id).collect(),
                    },
                    memberships: inputs.memberships,
                    interactions: inputs.interactions,
                    newest_event_at: if newest_event {
                        Some(store.last_received_at(id).await?)
                    } else {
                        None
                    },
                    loaded_at: now,
                }
            }
        };
        self.put(store, read_from, vec![entry.clone()]);
        Ok(Some(Arc::new(entry)))
    }

    /// Reads every customer from the database into the model, a page at a time, calling
    /// `progress` with the number read so far; returns how many were read.
    pub async fn warm(&self, store: &dyn Store, mut progress: impl FnMut(u64)) -> Result<u64> {
        self.catch_up(store);
        let mut after: Option<CustomerId> = None;
        let mut read = 0u64;
        loop {
            let read_from = Heads::now(store);
            let now = Utc::now();
            let page = store
                .marketing_rows(after.as_ref(), MARKETING_PAGE_MAX)
                .await?;
            let Some(last) = page.last() else {
                break;
            };
            after = Some(last.customer.id.clone());
            let full = page.len() as u64 == MARKETING_PAGE_MAX;
            read += page.len() as u64;
            let entries = with_activity(store, page, now).await?;
            self.put(store, read_from, entries);
            progress(read);
            if !full {
                break;
            }
        }
        self.built.store(true, Ordering::Release);
        Ok(read)
    }

    /// Reads the customers dropped after a change back into the model, a batch at a time,
    /// as they are dropped; runs until the process ends. Until a customer is back, their
    /// next read takes them from the database itself.
    pub async fn keep_filled(&self, store: Arc<dyn Store>) {
        loop {
            self.refill_notify.notified().await;
            loop {
                let batch: Vec<CustomerId> = {
                    let mut waiting = unpoison(self.refill.lock());
                    let take = waiting.len().min(REFILL_BATCH);
                    self.refilling.store(take, Ordering::Release);
                    waiting.drain(..take).collect()
                };
                if batch.is_empty() {
                    break;
                }
                let read_from = Heads::now(store.as_ref());
                let now = Utc::now();
                let filled = async {
                    let rows = store.marketing_rows_of(&batch).await?;
                    with_activity(store.as_ref(), rows, now).await
                }
                .await;
                match filled {
                    Ok(entries) => {
                        self.put(store.as_ref(), read_from, entries);
                        self.refilling.store(0, Ordering::Release);
                    }
                    Err(e) => {
                        self.refilling.store(0, Ordering::Release);
                        tracing::warn!(error = %e, customers = batch.len(), "read model refill failed; those customers are read on first use");
                        break;
                    }
                }
            }
        }
    }

    /// Asks the background task for a rebuild now (after a bulk import, say).
    pub fn rebuild_soon(&self) {
        self.rebuild_wanted.store(true, Ordering::Release);
        self.rebuild_notify.notify_one();
    }

    /// Builds the model, then rebuilds it every [`REBUILD_SECONDS`] (or as soon as a feed
    /// said everything changed); runs until the process ends.
    /// `first` follows the first build.
    pub async fn keep_built(&self, store: Arc<dyn Store>, first: crate::readiness::Step) {
        let mut first = Some(first);
        loop {
            self.rebuild_wanted.store(false, Ordering::Release);
            let started = std::time::Instant::now();
            let built = self
                .warm(store.as_ref(), |n| {
                    if let Some(step) = &first {
                        step.progress(n, None);
                    }
                })
                .await;
            match built {
                Ok(customers) => {
                    if let Some(step) = first.take() {
                        step.finish();
                    }
                    tracing::info!(
                        customers,
                        ms = started.elapsed().as_millis() as u64,
                        "serving read model built"
                    )
                }
                Err(e) => {
                    if let Some(step) = first.take() {
                        step.fail(&e);
                    }
                    tracing::warn!(
                        error = %e,
                        "serving read model not built; customers are read from the database on first use"
                    )
                }
            }
            let since = started.elapsed();
            if since < REBUILD_INTERVAL_MIN {
                tokio::time::sleep(REBUILD_INTERVAL_MIN - since).await;
            }
            if !self.rebuild_wanted.load(Ordering::Acquire) {
                let wait = std::time::Duration::from_secs(REBUILD_SECONDS);
                let _ = tokio::time::timeout(wait, self.rebuild_notify.notified()).await;
            }
        }
    }
}

/// Entries for these rows with their memberships and offer behaviour, read in bulk.
async fn with_activity(
    store: &dyn Store,
    rows: Vec<MarketingRow>,
    now: DateTime<Utc>,
) -> Result<Vec<ServingEntry>> {
    let ids: Vec<CustomerId> = rows.iter().map(|r| r.customer.id.clone()).collect();
    let mut activity = store
        .offer_activity(
            &ids,
            now - Duration::days(INTERACTION_DAYS),
            INTERACTIONS_MAX,
        )
        .await?;
    Ok(rows
        .into_iter()
        .map(|row| {
            let activity = activity.remove(&row.customer.id).unwrap_or_default();
            ServingEntry {
                row,
                memberships: activity.memberships,
                interactions: activity.interactions,
                newest_event_at: None,
                loaded_at: now,
            }
        })
        .collect())
}
