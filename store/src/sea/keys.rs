//! Customers' data keys on SQL: one wrapped key per customer in `customer_keys`, looked up
//! in bulk for the customers a read or write touches, created on first write, destroyed on
//! erasure.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, OnConflict, Query};
use sea_orm::ConnectionTrait;

use super::IDS_PER_LOOKUP;
use crate::crypto::{DataKey, Keyring};
use crate::StoreError;

/// The data keys of some customers.
#[derive(Default)]
pub(crate) struct KeySet(HashMap<String, DataKey>);

impl KeySet {
    /// The key of `customer`; a customer without one was erased (or never written).
    pub(crate) fn get(&self, customer: &str) -> Result<&DataKey, StoreError> {
        self.0.get(customer).ok_or_else(|| {
            StoreError::Corrupt(format!("customer {customer} has no data key (erased?)"))
        })
    }
}

/// The keys of `customers` that exist, from the cache or the database.
pub(crate) async fn load(
    db: &impl ConnectionTrait,
    keyring: &Keyring,
    customers: &[&str],
) -> Result<KeySet, StoreError> {
    let mut set = KeySet::default();
    let mut missing: Vec<&str> = Vec::new();
    for &c in customers {
        if set.0.contains_key(c) {
            continue;
        }
        match keyring.cached(c) {
            Some(key) => {
                set.0.insert(c.to_owned(), key);
            }
            None => missing.push(c),
        }
    }
    missing.sort_unstable();
    missing.dedup();
    from_database(db, keyring, &missing, &mut set).await?;
    Ok(set)
}

/// Reads and unwraps the stored keys of `customers` into `set`.
async fn from_database(
    db: &impl ConnectionTrait,
    keyring: &Keyring,
    customers: &[&str],
    set: &mut KeySet,
) -> Result<(), StoreError> {
    for chunk in customers.chunks(IDS_PER_LOOKUP) {
        let query = Query::select()
            .columns([
                Alias::new("customer_id"),
                Alias::new("master_key_id"),
                Alias::new("wrapped"),
            ])
            .from(Alias::new("customer_keys"))
            .and_where(Expr::col(Alias::new("customer_id")).is_in(chunk.iter().copied()))
            .to_owned();
        let rows = db
            .query_all(db.get_database_backend().build(&query))
            .await?;
        for row in rows {
            let customer: String = row.try_get("", "customer_id")?;
            let master: String = row.try_get("", "master_key_id")?;
            let wrapped: String = row.try_get("", "wrapped")?;
            let key = keyring.unwrap_key(&customer, &master, &wrapped)?;
            set.0.insert(customer, key);
        }
    }
    Ok(())
}

/// The keys of `customers`, creating (and storing, in the caller's transaction) those that
/// do not exist yet.
pub(crate) async fn load_or_create(
    db: &impl ConnectionTrait,
    keyring: &Keyring,
    customers: &[&str],
    now: DateTime<Utc>,
) -> Result<KeySet, StoreError> {
    let mut set = load(db, keyring, customers).await?;
    let mut fresh = Vec::new();
    for &c in customers {
        if !set.0.contains_key(c) && !fresh.iter().any(|(f, _, _)| f == c) {
            let (master, wrapped) = keyring.new_wrapped_key(c);
            fresh.push((c.to_owned(), master, wrapped));
        }
    }
    for chunk in fresh.chunks(1_000) {
        let mut insert = Query::insert();
        insert.into_table(Alias::new("customer_keys")).columns([
            Alias::new("customer_id"),
            Alias::new("master_key_id"),
            Alias::new("wrapped"),
            Alias::new("created_at_ms"),
        ]);
        for (customer, master, wrapped) in chunk {
            insert.values_panic([
                customer.clone().into(),
                master.clone().into(),
                wrapped.clone().into(),
                now.timestamp_millis().into(),
            ]);
        }
        insert.on_conflict(
            OnConflict::column(Alias::new("customer_id"))
                .do_nothing()
                .to_owned(),
        );
        db.execute(db.get_database_backend().build(&insert)).await?;
    }
    // Read back what was stored: under concurrent writers another key may have won.
    let created: Vec<&str> = fresh.iter().map(|(c, _, _)| c.as_str()).collect();
    from_database(db, keyring, &created, &mut set).await?;
    Ok(set)
}

/// Destroys a customer's data key: what was sealed under it can never be opened again.
pub(crate) async fn destroy(
    db: &impl ConnectionTrait,
    keyring: &Keyring,
    customer: &str,
) -> Result<bool, StoreError> {
    let delete = Query::delete()
        .from_table(Alias::new("customer_keys"))
        .and_where(Expr::col(Alias::new("customer_id")).eq(customer))
        .to_owned();
    let done = db.execute(db.get_database_backend().build(&delete)).await?;
    keyring.forget(customer);
    Ok(done.rows_affected() > 0)
}
