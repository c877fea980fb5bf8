//! Customers and their events on sea-orm: registrations and consents (every change in the
//! history and the audit log), idempotent event batches, holdings and the product table.
//! The reads other areas combine into their one-call snapshots are free functions over any
//! connection or transaction.

use std::collections::HashMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, OnConflict, Query};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectionTrait, DbBackend, EntityTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};
use sextant_domain::{
    BehaviourEvent, Consents, Customer, CustomerId, Event, Holding, MarketingChannel, PaymentEvent,
    Product, RateTable,
};

use super::keys;
use super::rows::{
    behaviour_from, consents_of, customer_from, customer_model, holding_from, holding_model,
    last_per_key, ms_to_time, payment_from, product_from,
};
use super::{existing, Recorder, SeaStore, IDS_PER_LOOKUP, ROWS_PER_STATEMENT};
use crate::crypto::Keyring;
use crate::entity::{behaviour_event, consent_change, customer, holding, payment_event, product};
use crate::{
    Actor, ConsentChange, ConsentScope, Cursor, CustomerStore, History, IngestOutcome, StoreError,
    StoredCustomer, PAGE_MAX,
};

/// Customers per page of `histories`: bounds the rows one call materialises (~450 events
/// each).
pub(super) const HISTORY_PAGE_MAX: u64 = 1_000;

/// Replaces everything but the creation time on conflict.
/// On conflict, replaces the registration data; consents only when `consents` is set, so a
/// bulk re-import never silently re-grants a consent the customer withdrew.
fn customer_upsert(consents: bool) -> OnConflict {
    use customer::Column as C;
    let mut columns = vec![
        C::BirthYear,
        C::Region,
        C::Sealed,
        C::Occupation,
        C::KycStatus,
        C::BaseCurrency,
        C::UpdatedAtMs,
    ];
    if consents {
        columns.extend([
            C::ConsentProfiling,
            C::ConsentPush,
            C::ConsentEmail,
            C::ConsentSms,
            C::ConsentInApp,
        ]);
    }
    OnConflict::column(C::Id).update_columns(columns).to_owned()
}

/// The scopes whose consent differs between `old` and `new`, with the new value.
fn consent_diff(old: &Consents, new: &Consents) -> Vec<(ConsentScope, bool)> {
    let mut changes = Vec::new();
    if old.profiling != new.profiling {
        changes.push((ConsentScope::Profiling, new.profiling));
    }
    for &channel in MarketingChannel::ALL {
        if old.marketing.allows(channel) != new.marketing.allows(channel) {
            changes.push((
                ConsentScope::Marketing(channel),
                new.marketing.allows(channel),
            ));
        }
    }
    changes
}

pub(super) async fn customer(
    db: &impl ConnectionTrait,
    keyring: &Keyring,
    id: &CustomerId,
) -> Result<Option<StoredCustomer>, StoreError> {
    let Some(row) = customer::Entity::find_by_id(id.to_string()).one(db).await? else {
        return Ok(None);
    };
    let keys = keys::load(db, keyring, &[row.id.as_str()]).await?;
    customer_from(row, &keys).map(Some)
}

/// Customers from their rows, their data keys loaded in one query per chunk.
pub(super) async fn customers_from(
    db: &impl ConnectionTrait,
    keyring: &Keyring,
    rows: Vec<customer::Model>,
) -> Result<Vec<Customer>, StoreError> {
    let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
    let keys = keys::load(db, keyring, &ids).await?;
    rows.into_iter()
        .map(|row| customer_from(row, &keys).map(|s| s.customer))
        .collect()
}

/// Reads a customer row, locking it until the transaction ends on PostgreSQL (SQLite
/// writers are already serialised by the store's write lock), so concurrent consent changes
/// and replacements apply one after the other instead of overwriting each other.
async fn customer_for_update(
    txn: &impl ConnectionTrait,
    id: &CustomerId,
) -> Result<Option<customer::Model>, StoreError> {
    let mut find = customer::Entity::find_by_id(id.to_string());
    if txn.get_database_backend() == DbBackend::Postgres {
        find = find.lock_exclusive();
    }
    Ok(find.one(txn).await?)
}

/// Appends consent changes to the history and the audit log.
async fn record_consent_changes(
    txn: &impl ConnectionTrait,
    id: &CustomerId,
    changes: &[(ConsentScope, bool)],
    record: Recorder<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    if changes.is_empty() {
        return Ok(());
    }
    let rows = changes
        .iter()
        .map(|(scope, granted)| consent_change::ActiveModel {
            customer_id: Set(id.to_string()),
            changed_at_ms: Set(now.timestamp_millis()),
            actor: Set(record.by.id.clone()),
            scope: Set(scope.name()),
            granted: Set(*granted),
            ..Default::default()
        });
    consent_change::Entity::insert_many(rows).exec(txn).await?;
    let detail: serde_json::Map<_, _> = changes
        .iter()
        .map(|(s, g)| (s.name(), serde_json::Value::Bool(*g)))
        .collect();
    record
        .record(txn, "customer.consents", id.as_str(), detail.into(), now)
        .await
}

/// Stored content hashes of `ids` in `table`.
/// When the newest event of the customer was received, if any.
pub(super) async fn last_received_at(
    db: &impl ConnectionTrait,
    id: &CustomerId,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let mut newest: Option<i64> = None;
    for table in ["payment_events", "behaviour_events"] {
        let query = Query::select()
            .expr_as(
                Expr::col(Alias::new("received_at_ms")).max(),
                Alias::new("newest"),
            )
            .from(Alias::new(table))
            .and_where(Expr::col(Alias::new("customer_id")).eq(id.as_str()))
            .to_owned();
        if let Some(row) = db
            .query_one(db.get_database_backend().build(&query))
            .await?
        {
            let value: Option<i64> = row.try_get("", "newest")?;
            newest = newest.max(value);
        }
    }
    newest.map(ms_to_time).transpose()
}

pub(super) async fn holdings(
    db: &impl ConnectionTrait,
    id: &CustomerId,
) -> Result<Vec<Holding>, StoreError> {
    let rows = holding::Entity::find()
        .filter(holding::Column::CustomerId.eq(id.as_str()))
        .order_by_asc(holding::Column::ProductId)
        .all(db)
        .await?;
    rows.into_iter().map(holding_from).collect()
}

/// One customer's registration, holdings and events since `since`.
pub(super) async fn history(
    db: &impl ConnectionTrait,
    keyring: &Keyring,
    id: &CustomerId,
    since: DateTime<Utc>,
) -> Result<Option<History>, StoreError> {
    let Some(stored) = customer(db, keyring, id).await? else {
        return Ok(None);
    };
    Ok(histories_of(db, keyring, vec![stored.customer], since)
        .await?
        .pop())
}

/// Loads events and holdings of `customers` with one query per table per chunk.
pub(super) async fn histories_of(
    db: &impl ConnectionTrait,
    keyring: &Keyring,
    customers: Vec<Customer>,
    since: DateTime<Utc>,
) -> Result<Vec<History>, StoreError> {
    let ids: Vec<&str> = customers.iter().map(|c| c.id.as_str()).collect();
    let keys = keys::load(db, keyring, &ids).await?;
    let mut payments: HashMap<String, Vec<PaymentEvent>> = HashMap::new();
    let mut behaviour: HashMap<String, Vec<BehaviourEvent>> = HashMap::new();
    let mut holdings: HashMap<String, Vec<Holding>> = HashMap::new();
    let since_ms = since.timestamp_millis();
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        use behaviour_event::Column as B;
        use payment_event::Column as P;
        let rows = payment_event::Entity::find()
            .filter(P::CustomerId.is_in(chunk.iter().copied()))
            .filter(P::OccurredAtMs.gte(since_ms))
            .order_by_asc(P::CustomerId)
            .order_by_asc(P::OccurredAtMs)
            .all(db)
            .await?;
        for row in rows {
            payments
                .entry(row.customer_id.clone())
                .or_default()
                .push(payment_from(row, &keys)?);
        }
        let rows = behaviour_event::Entity::find()
            .filter(B::CustomerId.is_in(chunk.iter().copied()))
            .filter(B::OccurredAtMs.gte(since_ms))
            .order_by_asc(B::CustomerId)
            .order_by_asc(B::OccurredAtMs)
            .all(db)
            .await?;
        for row in rows {
            behaviour
                .entry(row.customer_id.clone())
                .or_default()
                .push(behaviour_from(row, &keys)?);
        }
        let rows = holding::Entity::find()
            .filter(holding::Column::CustomerId.is_in(chunk.iter().copied()))
            .all(db)
            .await?;
        for row in rows {
            holdings
                .entry(row.customer_id.clone())
                .or_default()
                .push(holding_from(row)?);
        }
    }
    let rates = Arc::new(rates_needed(db, &customers, &payments, &holdings, since).await?);
    let mut loyalty = super::loyalty::activities(db, &ids, since).await?;
    Ok(customers
        .into_iter()
        .map(|customer| {
            let key = customer.id.as_str();
            History {
                loyalty: loyalty.remove(key).unwrap_or_default(),
                payments: payments.remove(key).unwrap_or_default(),
                behaviour: behaviour.remove(key).unwrap_or_default(),
                holdings: holdings.remove(key).unwrap_or_default(),
                customer,
                rates: rates.clone(),
            }
        })
        .collect())
}

/// The rates the foreign amounts of these histories need: none (and no query) when every
/// amount is in its customer's base currency, the common case; else from the first foreign
/// payment's day (or `since`, for a foreign holding valued on any later day) to today.
async fn rates_needed(
    db: &impl ConnectionTrait,
    customers: &[Customer],
    payments: &HashMap<String, Vec<PaymentEvent>>,
    holdings: &HashMap<String, Vec<Holding>>,
    since: DateTime<Utc>,
) -> Result<RateTable, StoreError> {
    let mut span: Option<(NaiveDate, NaiveDate)> = None;
    let mut need = |date: NaiveDate| {
        span = Some(span.map_or((date, date), |(a, b)| (a.min(date), b.max(date))));
    };
    for customer in customers {
        let key = customer.id.as_str();
        let base = customer.base_currency;
        for p in payments.get(key).into_iter().flatten() {
            // Loyalty tiers read purchases in euros: a customer whose base currency is
            // another needs the rates of their own currency too.
            if p.currency != base || p.currency != sextant_domain::Currency::EUR {
                need(p.occurred_at.date_naive());
            }
        }
        if holdings
            .get(key)
            .into_iter()
            .flatten()
            .any(|h| h.currency != base)
        {
            need(since.date_naive());
        }
    }
    let Some((from, to)) = span else {
        return Ok(RateTable::new());
    };
    let to = to.max(Utc::now().date_naive());
    super::fx::rate_table(db, from, to).await
}

#[async_trait]
impl CustomerStore for SeaStore {
    async fn put_customer(
        &self,
        c: &Customer,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let before = customer_for_update(&txn, &c.id).await?;
        let keys = keys::load_or_create(&txn, &self.keyring, &[c.id.as_str()], now).await?;
        customer::Entity::insert(customer_model(
            c,
            now.timestamp_millis(),
            keys.get(c.id.as_str())?,
        ))
        .on_conflict(customer_upsert(true))
        .exec(&txn)
        .await?;
        let old_consents = before.as_ref().map(consents_of).unwrap_or_default();
        let changes = consent_diff(&old_consents, &c.consents);
        record_consent_changes(&txn, &c.id, &changes, self.recorder(by), now).await?;
        let action = if before.is_none() {
            "customer.create"
        } else {
            "customer.replace"
        };
        self.recorder(by)
            .record(&txn, action, c.id.as_str(), serde_json::json!({}), now)
            .await?;
        txn.commit().await?;
        self.changes.note([&c.id]);
        Ok(before.is_none())
    }

    async fn put_customers(
        &self,
        customers: &[Customer],
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if customers.is_empty() {
            return Ok(());
        }
        // PostgreSQL refuses to upsert one key twice in a statement: the last line wins.
        let customers = last_per_key(customers, |c| c.id.as_str());
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        // 13 columns x 2,000 rows fits both backends' parameter limits.
        for chunk in customers.chunks(2_000) {
            let ids: Vec<&str> = chunk.iter().map(|c| c.id.as_str()).collect();
            let known = existing(&txn, "customers", "id", &ids).await?;
            // A customer new to Sextant starts their consent history with what the import
            // says they granted (the batch's audit entry below records the import itself).
            let grants: Vec<consent_change::ActiveModel> = chunk
                .iter()
                .filter(|c| !known.contains(c.id.as_str()))
                .flat_map(|c| {
                    consent_diff(&Consents::default(), &c.consents)
                        .into_iter()
                        .filter(|(_, granted)| *granted)
                        .map(|(scope, granted)| consent_change::ActiveModel {
                            customer_id: Set(c.id.to_string()),
                            changed_at_ms: Set(now.timestamp_millis()),
                            actor: Set(by.id.clone()),
                            scope: Set(scope.name()),
                            granted: Set(granted),
                            ..Default::default()
                        })
                })
                .collect();
            for rows in grants.chunks(ROWS_PER_STATEMENT) {
                consent_change::Entity::insert_many(rows.to_vec())
                    .exec(&txn)
                    .await?;
            }
            let keys = keys::load_or_create(&txn, &self.keyring, &ids, now).await?;
            let models = chunk
                .iter()
                .map(|c| {
                    Ok(customer_model(
                        c,
                        now.timestamp_millis(),
                        keys.get(c.id.as_str())?,
                    ))
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            customer::Entity::insert_many(models)
                .on_conflict(customer_upsert(false))
                .exec(&txn)
                .await?;
        }
        // One entry per batch: who was loaded, in the same transaction as the load.
        let ids: Vec<&str> = customers.iter().map(|c| c.id.as_str()).collect();
        self.recorder(by)
            .record(
                &txn,
                "customer.import",
                ids.first().copied().unwrap_or_default(),
                serde_json::json!({ "customers": ids.len(), "ids": ids }),
                now,
            )
            .await?;
        txn.commit().await?;
        self.changes.note(customers.iter().map(|c| &c.id));
        Ok(())
    }

    async fn customer(&self, id: &CustomerId) -> Result<Option<StoredCustomer>, StoreError> {
        customer(&self.db, &self.keyring, id).await
    }

    async fn set_consents(
        &self,
        id: &CustomerId,
        changes: &[(ConsentScope, bool)],
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Option<Consents>, StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let Some(row) = customer_for_update(&txn, id).await? else {
            return Ok(None);
        };
        let before = consents_of(&row);
        let mut consents = before;
        for &(scope, granted) in changes {
            match scope {
                ConsentScope::Profiling => consents.profiling = granted,
                ConsentScope::Marketing(channel) => consents.marketing.set(channel, granted),
            }
        }
        let changed = consent_diff(&before, &consents);
        if !changed.is_empty() {
            let m = consents.marketing;
            let update = customer::ActiveModel {
                id: Set(id.to_string()),
                consent_profiling: Set(consents.profiling),
                consent_push: Set(m.push),
                consent_email: Set(m.email),
                consent_sms: Set(m.sms),
                consent_in_app: Set(m.in_app),
                updated_at_ms: Set(now.timestamp_millis()),
                ..Default::default()
            };
            customer::Entity::update(update).exec(&txn).await?;
            record_consent_changes(&txn, id, &changed, self.recorder(by), now).await?;
        }
        txn.commit().await?;
        if !changed.is_empty() {
            self.changes.note([id]);
        }
        Ok(Some(consents))
    }

    async fn consent_history(
        &self,
        id: &CustomerId,
        limit: u64,
    ) -> Result<Vec<ConsentChange>, StoreError> {
        let rows = consent_change::Entity::find()
            .filter(consent_change::Column::CustomerId.eq(id.as_str()))
            .order_by_desc(consent_change::Column::Id)
            .limit(limit)
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok(ConsentChange {
                    scope: r.scope,
                    granted: r.granted,
                    actor: r.actor,
                    changed_at: ms_to_time(r.changed_at_ms)?,
                })
            })
            .collect()
    }

    async fn ingest(
        &self,
        events: &[Event],
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<IngestOutcome, StoreError> {
        super::events::ingest(self, events, by, now).await
    }

    async fn payments(
        &self,
        id: &CustomerId,
        after: Option<&Cursor>,
        limit: u64,
    ) -> Result<Vec<PaymentEvent>, StoreError> {
        use payment_event::Column as P;
        let mut query = payment_event::Entity::find().filter(P::CustomerId.eq(id.as_str()));
        if let Some(cursor) = after {
            query = query.filter(
                P::OccurredAtMs.lt(cursor.occurred_at_ms).or(P::OccurredAtMs
                    .eq(cursor.occurred_at_ms)
                    .and(P::EventId.lt(cursor.event_id.as_str()))),
            );
        }
        let rows = query
            .order_by_desc(P::OccurredAtMs)
            .order_by_desc(P::EventId)
            .limit(limit.min(PAGE_MAX))
            .all(&self.db)
            .await?;
        let keys = keys::load(&self.db, &self.keyring, &[id.as_str()]).await?;
        rows.into_iter()
            .map(|row| payment_from(row, &keys))
            .collect()
    }

    async fn replace_holdings(
        &self,
        id: &CustomerId,
        holdings: &[Holding],
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let product_ids: Vec<&str> = holdings.iter().map(|h| h.product_id.as_str()).collect();
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        // Serialises concurrent replacements of one customer's positions on PostgreSQL.
        customer_for_update(&txn, id).await?;
        let known = existing(&txn, "products", "id", &product_ids).await?;
        let unknown: Vec<usize> = (0..holdings.len())
            .filter(|&i| !known.contains(holdings[i].product_id.as_str()))
            .collect();
        if !unknown.is_empty() {
            return Err(StoreError::UnknownProducts(unknown));
        }
        holding::Entity::delete_many()
            .filter(holding::Column::CustomerId.eq(id.as_str()))
            .exec(&txn)
            .await?;
        if !holdings.is_empty() {
            holding::Entity::insert_many(
                holdings
                    .iter()
                    .map(|h| holding_model(h, now.timestamp_millis())),
            )
            .exec(&txn)
            .await?;
        }
        self.recorder(by)
            .record(
                &txn,
                "customer.holdings",
                id.as_str(),
                serde_json::json!({ "positions": holdings.len() }),
                now,
            )
            .await?;
        txn.commit().await?;
        self.changes.note([id]);
        Ok(())
    }

    async fn upsert_holdings(
        &self,
        holdings: &[Holding],
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if holdings.is_empty() {
            return Ok(());
        }
        let holdings = &last_per_key(holdings, |h| {
            (h.customer_id.as_str(), h.product_id.as_str())
        })[..];
        let mut product_ids: Vec<&str> = holdings.iter().map(|h| h.product_id.as_str()).collect();
        product_ids.sort_unstable();
        product_ids.dedup();
        let mut customer_ids: Vec<&str> = holdings.iter().map(|h| h.customer_id.as_str()).collect();
        customer_ids.sort_unstable();
        customer_ids.dedup();
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let known_products = existing(&txn, "products", "id", &product_ids).await?;
        let unknown: Vec<usize> = (0..holdings.len())
            .filter(|&i| !known_products.contains(holdings[i].product_id.as_str()))
            .collect();
        if !unknown.is_empty() {
            return Err(StoreError::UnknownProducts(unknown));
        }
        let known_customers = existing(&txn, "customers", "id", &customer_ids).await?;
        let unknown: Vec<usize> = (0..holdings.len())
            .filter(|&i| !known_customers.contains(holdings[i].customer_id.as_str()))
            .collect();
        if !unknown.is_empty() {
            return Err(StoreError::UnknownCustomers(unknown));
        }
        use holding::Column as H;
        for chunk in holdings.chunks(2_000) {
            holding::Entity::insert_many(
                chunk
                    .iter()
                    .map(|h| holding_model(h, now.timestamp_millis())),
            )
            .on_conflict(
                OnConflict::columns([H::CustomerId, H::ProductId])
                    .update_columns([H::ValueMinor, H::Currency, H::OpenedAtMs, H::UpdatedAtMs])
                    .to_owned(),
            )
            .exec(&txn)
            .await?;
        }
        let detail = serde_json::json!({
            "positions": holdings.len(), "customers": customer_ids.len(), "ids": customer_ids,
        });
        let first = customer_ids.first().copied().unwrap_or_default();
        self.recorder(by)
            .record(&txn, "holdings.import", first, detail, now)
            .await?;
        txn.commit().await?;
        self.changes.note(holdings.iter().map(|h| &h.customer_id));
        Ok(())
    }

    async fn holdings(&self, id: &CustomerId) -> Result<Vec<Holding>, StoreError> {
        holdings(&self.db, id).await
    }

    async fn products(&self) -> Result<Vec<Product>, StoreError> {
        let rows = product::Entity::find()
            .order_by_asc(product::Column::Id)
            .all(&self.db)
            .await?;
        rows.into_iter().map(product_from).collect()
    }

    async fn history(
        &self,
        id: &CustomerId,
        since: DateTime<Utc>,
    ) -> Result<Option<History>, StoreError> {
        history(&self.db, &self.keyring, id, since).await
    }

    async fn histories(
        &self,
        after: Option<&CustomerId>,
        limit: u64,
        since: DateTime<Utc>,
    ) -> Result<Vec<History>, StoreError> {
        let mut query = customer::Entity::find();
        if let Some(after) = after {
            query = query.filter(customer::Column::Id.gt(after.as_str()));
        }
        let rows = query
            .order_by_asc(customer::Column::Id)
            .limit(limit.min(HISTORY_PAGE_MAX))
            .all(&self.db)
            .await?;
        let customers = customers_from(&self.db, &self.keyring, rows).await?;
        histories_of(&self.db, &self.keyring, customers, since).await
    }

    async fn last_received_at(&self, id: &CustomerId) -> Result<Option<DateTime<Utc>>, StoreError> {
        last_received_at(&self.db, id).await
    }
}
