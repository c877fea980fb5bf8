//! Erasure, key rotation and the sealing of rows written before encryption, on SQL.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, TransactionTrait};
use sextant_domain::CustomerId;

use super::{keys, SeaStore};
use crate::crypto::{is_sealed, seal};
use crate::privacy::{PrivacyStore, ERASED_TABLES};
use crate::{Actor, StoreError};

/// Rows sealed per transaction when sealing old rows at start.
const SEAL_BATCH: u64 = 2_000;

#[async_trait]
impl PrivacyStore for SeaStore {
    async fn erase_customer(
        &self,
        id: &CustomerId,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let backend = txn.get_database_backend();
        let shredded = keys::destroy(&txn, &self.keyring, id.as_str()).await?;
        let mut deleted = serde_json::Map::new();
        for table in ERASED_TABLES {
            let delete = Query::delete()
                .from_table(Alias::new(*table))
                .and_where(Expr::col(Alias::new("customer_id")).eq(id.as_str()))
                .to_owned();
            let rows = txn.execute(backend.build(&delete)).await?.rows_affected();
            deleted.insert((*table).to_owned(), rows.into());
        }
        let delete = Query::delete()
            .from_table(Alias::new("customers"))
            .and_where(Expr::col(Alias::new("id")).eq(id.as_str()))
            .to_owned();
        let existed = txn.execute(backend.build(&delete)).await?.rows_affected() > 0;
        if existed {
            self.recorder(by)
                .record(
                    &txn,
                    "customer.erase",
                    id.as_str(),
                    serde_json::json!({ "data_key_destroyed": shredded, "rows_deleted": deleted }),
                    now,
                )
                .await?;
        }
        txn.commit().await?;
        self.changes.note([id]);
        Ok(existed)
    }

    async fn rewrap_keys(&self, limit: u64, by: &Actor) -> Result<u64, StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let backend = txn.get_database_backend();
        let select = Query::select()
            .columns([
                Alias::new("customer_id"),
                Alias::new("master_key_id"),
                Alias::new("wrapped"),
            ])
            .from(Alias::new("customer_keys"))
            .and_where(Expr::col(Alias::new("master_key_id")).ne(self.keyring.current_id()))
            .limit(limit)
            .to_owned();
        let rows = txn.query_all(backend.build(&select)).await?;
        for row in &rows {
            let customer: String = row.try_get("", "customer_id")?;
            let master: String = row.try_get("", "master_key_id")?;
            let wrapped: String = row.try_get("", "wrapped")?;
            let (new_master, rewrapped) = self.keyring.rewrap(&customer, &master, &wrapped)?;
            let update = Query::update()
                .table(Alias::new("customer_keys"))
                .value(Alias::new("master_key_id"), new_master)
                .value(Alias::new("wrapped"), rewrapped)
                .and_where(Expr::col(Alias::new("customer_id")).eq(customer.as_str()))
                .to_owned();
            txn.execute(backend.build(&update)).await?;
        }
        if !rows.is_empty() {
            let master = self.keyring.current_id();
            let detail = serde_json::json!({ "rewrapped": rows.len() });
            self.recorder(by)
                .record(&txn, "keys.rewrap", master, detail, Utc::now())
                .await?;
        }
        txn.commit().await?;
        Ok(rows.len() as u64)
    }

    async fn keys_by_master(&self) -> Result<Vec<(String, u64)>, StoreError> {
        let select = Query::select()
            .column(Alias::new("master_key_id"))
            .expr_as(
                Expr::col(Alias::new("customer_id")).count(),
                Alias::new("n"),
            )
            .from(Alias::new("customer_keys"))
            .group_by_col(Alias::new("master_key_id"))
            .to_owned();
        let rows = self
            .db
            .query_all(self.db.get_database_backend().build(&select))
            .await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("", "master_key_id")?;
                let n: i64 = row.try_get("", "n")?;
                Ok((id, n as u64))
            })
            .collect()
    }
}

impl SeaStore {
    /// Seals what was written before encryption existed: customers' personal fields,
    /// payments' merchant and card fields, behaviour search texts. Nothing to do on a
    /// database that always had it.
    pub(super) async fn seal_clear_rows(&self, now: DateTime<Utc>) -> Result<(), StoreError> {
        loop {
            let done = self.seal_customers(now).await?
                + self
                    .seal_column(
                        "payment_events",
                        &["merchant_id", "card_bin", "card_last4"],
                        now,
                    )
                    .await?
                + self
                    .seal_column("behaviour_events", &["query"], now)
                    .await?;
            if done == 0 {
                return Ok(());
            }
        }
    }

    async fn seal_customers(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

        use crate::entity::customer;
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let rows = customer::Entity::find()
            .filter(customer::Column::Sealed.eq(""))
            .limit(SEAL_BATCH)
            .all(&txn)
            .await?;
        let ids: Vec<&str> = rows.iter().map(|r| r.id.as_str()).collect();
        let keys = keys::load_or_create(&txn, &self.keyring, &ids, now).await?;
        for row in &rows {
            let personal = serde_json::json!({
                "birth_year": row.birth_year, "region": row.region, "occupation": row.occupation,
            })
            .to_string();
            let sealed = seal(keys.get(&row.id)?, &row.id, "personal", &personal);
            let update = Query::update()
                .table(Alias::new("customers"))
                .value(Alias::new("sealed"), sealed)
                .value(Alias::new("birth_year"), 0)
                .value(Alias::new("region"), "")
                .value(Alias::new("occupation"), "")
                .and_where(Expr::col(Alias::new("id")).eq(row.id.as_str()))
                .to_owned();
            txn.execute(txn.get_database_backend().build(&update))
                .await?;
        }
        txn.commit().await?;
        Ok(rows.len() as u64)
    }

    /// Seals up to a batch of rows of `table` whose `columns` hold clear text.
    async fn seal_column(
        &self,
        table: &str,
        columns: &[&str],
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let backend = txn.get_database_backend();
        let mut select = Query::select();
        select
            .column(Alias::new("event_id"))
            .column(Alias::new("customer_id"))
            .columns(columns.iter().map(|c| Alias::new(*c)))
            .from(Alias::new(table))
            .limit(SEAL_BATCH);
        let mut any_clear = sea_orm::sea_query::Condition::any();
        for column in columns {
            any_clear = any_clear.add(
                Expr::col(Alias::new(*column))
                    .is_not_null()
                    .and(Expr::col(Alias::new(*column)).not_like("v1:%")),
            );
        }
        select.cond_where(any_clear);
        let rows = txn.query_all(backend.build(&select)).await?;
        let customers: Vec<String> = rows
            .iter()
            .map(|r| r.try_get::<String>("", "customer_id"))
            .collect::<Result<_, _>>()?;
        let ids: Vec<&str> = customers.iter().map(String::as_str).collect();
        let keys = keys::load_or_create(&txn, &self.keyring, &ids, now).await?;
        for (row, customer) in rows.iter().zip(&customers) {
            let event_id: String = row.try_get("", "event_id")?;
            let mut update = Query::update();
            update.table(Alias::new(table));
            for column in columns {
                let value: Option<String> = row.try_get("", column)?;
                if let Some(text) = value.filter(|t| !is_sealed(t)) {
                    update.value(
                        Alias::new(*column),
                        seal(keys.get(customer)?, customer, column, &text),
                    );
                }
            }
            update.and_where(Expr::col(Alias::new("event_id")).eq(event_id.as_str()));
            txn.execute(backend.build(&update)).await?;
        }
        txn.commit().await?;
        Ok(rows.len() as u64)
    }
}
