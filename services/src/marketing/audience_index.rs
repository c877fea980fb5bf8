//! Every customer's marketing row (registration, consents, profile, risk level, holdings),
//! kept in memory so that an audience preview evaluates a rule over every customer in
//! milliseconds instead of reading them all from the database each time.
//!
//! Freshness: before each use the index asks the store's change feed which customers changed
//! since its last use and re-reads only those (a withdrawn consent, a new profile, an erasure
//! is in the next preview); when the feed cannot say (it overflowed, or new segments touched
//! everyone) it re-reads everyone. The feed sees this process's writes only, so a second
//! server writing the same PostgreSQL database is not reflected here. Launching a campaign
//! does not use the index: its members are chosen from the database at launch.
//!
//! Memory: about 1 KiB a customer (the profile's features are most of it), 100 MiB for
//! 100,000 customers.

use std::collections::BTreeMap;

use sextant_domain::CustomerId;
use sextant_store::{MarketingChanges, MarketingRow, Store};
use tokio::sync::Mutex;

use crate::Result;

/// When more than this share of the rows changed, re-reading everyone page by page is
/// cheaper than by id.
const RELOAD_SHARE: f64 = 0.25;

#[derive(Default)]
pub struct AudienceIndex {
    state: Mutex<Option<Loaded>>,
}

struct Loaded {
    /// The change feed's position the rows are current to.
    head: u64,
    rows: BTreeMap<CustomerId, MarketingRow>,
}

/// How the index was brought up to date for one use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refresh {
    /// Every row read from the store (the first use, or after an overflow).
    Full,
    /// Only the customers that changed re-read: how many.
    Changed(usize),
}

impl AudienceIndex {
    /// Brings the index up to date, then calls `visit` with every customer's row in id order;
    /// returns how many rows it visited and how it refreshed. Uses are serialised: a second
    /// caller waits instead of loading a second copy.
    pub async fn for_each(
        &self,
        store: &dyn Store,
        mut visit: impl FnMut(&MarketingRow),
    ) -> Result<(u64, Refresh)> {
        let mut state = self.state.lock().await;
        // On an error the index is dropped, and the next use loads it afresh.
        let (loaded, refresh) = match state.take() {
            Some(loaded) => update(store, loaded).await?,
            None => (load(store).await?, Refresh::Full),
        };
        for row in loaded.rows.values() {
            visit(row);
        }
        let visited = loaded.rows.len() as u64;
        *state = Some(loaded);
        Ok((visited, refresh))
    }
}

/// Every row, page by page; the feed's position is taken first, so a write that commits
/// meanwhile is either in the rows read or in the feed afterwards.
async fn load(store: &dyn Store) -> Result<Loaded> {
    let head = store.marketing_head();
    let mut rows = BTreeMap::new();
    super::audiences::for_each_page(store, |page| {
        rows.extend(page.into_iter().map(|row| (row.customer.id.clone(), row)));
    })
    .await?;
    Ok(Loaded { head, rows })
}

async fn update(store: &dyn Store, mut loaded: Loaded) -> Result<(Loaded, Refresh)> {
    let (ids, head) = match store.marketing_changes(loaded.head) {
        MarketingChanges::Everything { .. } => return Ok((load(store).await?, Refresh::Full)),
        MarketingChanges::Customers { ids, head } => (ids, head),
    };
    if ids.len() as f64 > RELOAD_SHARE * loaded.rows.len().max(1) as f64 {
        return Ok((load(store).await?, Refresh::Full));
    }
    let fresh = store.marketing_rows_of(&ids).await?;
    for id in &ids {
        loaded.rows.remove(id);
    }
    for row in fresh {
        loaded.rows.insert(row.customer.id.clone(), row);
    }
    loaded.head = head;
    Ok((loaded, Refresh::Changed(ids.len())))
}
