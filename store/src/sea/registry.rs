//! Model versions with an activation log, shared by credit models and offer models: a
//! version is kept as first stored (storing it again changes nothing, so a version always
//! names the same bytes), and the newest activation decides which version is in use.

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, OnConflict, Order, Query, SimpleExpr};
use sea_orm::ConnectionTrait;
use serde_json::json;

use super::{col, Recorder};
use crate::StoreError;

/// A family of models: the table of versions and the table of activations.
pub(super) struct Registry {
    /// The family's name in the audit trail's actions (`credit_model.store`).
    pub name: &'static str,
    pub models: &'static str,
    pub activations: &'static str,
}

pub(super) const CREDIT_MODELS: Registry = Registry {
    name: "credit_model",
    models: "credit_models",
    activations: "credit_model_activations",
};

pub(super) const OFFER_MODELS: Registry = Registry {
    name: "offer_model",
    models: "offer_models",
    activations: "offer_model_activations",
};

pub(super) const MONITORING_MODELS: Registry = Registry {
    name: "monitoring_model",
    models: "monitoring_models",
    activations: "monitoring_model_activations",
};

/// A version to store: its columns beside `version`, `created_at_ms` and `actor`.
pub(super) struct NewVersion<'a> {
    pub version: &'a str,
    pub created_at: DateTime<Utc>,
    /// Who made the model (the version's `actor` column).
    pub actor: &'a str,
    /// Who stores it, for the audit trail.
    pub record: Recorder<'a>,
    pub columns: Vec<(&'static str, SimpleExpr)>,
}

impl Registry {
    /// Stores the version unless it is there already and, when `activate`, activates it;
    /// in the caller's transaction, each step recorded in the audit trail.
    pub(super) async fn put(
        &self,
        db: &impl ConnectionTrait,
        model: NewVersion<'_>,
        activate: bool,
    ) -> Result<(), StoreError> {
        let mut columns = vec![col("version"), col("created_at_ms"), col("actor")];
        let at_ms = model.created_at.timestamp_millis();
        let mut values: Vec<SimpleExpr> = vec![
            super::text(model.version),
            at_ms.into(),
            super::text(model.actor),
        ];
        for (name, value) in model.columns {
            columns.push(col(name));
            values.push(value);
        }
        let insert = Query::insert()
            .into_table(Alias::new(self.models))
            .columns(columns)
            .values_panic(values)
            .on_conflict(OnConflict::column(col("version")).do_nothing().to_owned())
            .to_owned();
        let backend = db.get_database_backend();
        let stored = db.execute(backend.build(&insert)).await?.rows_affected();
        let (record, at) = (model.record, model.created_at);
        if stored > 0 {
            let action = format!("{}.store", self.name);
            record
                .record(db, &action, model.version, json!({}), at)
                .await?;
        }
        if activate {
            let activation = Query::insert()
                .into_table(Alias::new(self.activations))
                .columns([col("version"), col("activated_at_ms"), col("actor")])
                .values_panic([
                    super::text(model.version),
                    at_ms.into(),
                    super::text(model.actor),
                ])
                .to_owned();
            db.execute(backend.build(&activation)).await?;
            let action = format!("{}.activate", self.name);
            record
                .record(db, &action, model.version, json!({}), at)
                .await?;
        }
        Ok(())
    }

    /// [`Registry::put`] in a transaction of its own, behind the store's write lock.
    pub(super) async fn put_alone(
        &self,
        store: &super::SeaStore,
        model: NewVersion<'_>,
        activate: bool,
    ) -> Result<(), StoreError> {
        use sea_orm::TransactionTrait;
        let _guard = store.lock_writes().await;
        let txn = store.db.begin().await?;
        self.put(&txn, model, activate).await?;
        txn.commit().await?;
        Ok(())
    }

    /// Activates a stored version at `at` (audited); `false` when no such version is stored.
    pub(super) async fn activate(
        &self,
        store: &super::SeaStore,
        version: &str,
        record: Recorder<'_>,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        use sea_orm::sea_query::Expr;
        use sea_orm::TransactionTrait;
        let _guard = store.lock_writes().await;
        let txn = store.db.begin().await?;
        let backend = txn.get_database_backend();
        let exists = Query::select()
            .column(col("version"))
            .from(Alias::new(self.models))
            .and_where(Expr::col(col("version")).eq(version))
            .to_owned();
        if txn.query_one(backend.build(&exists)).await?.is_none() {
            return Ok(false);
        }
        let activation = Query::insert()
            .into_table(Alias::new(self.activations))
            .columns([col("version"), col("activated_at_ms"), col("actor")])
            .values_panic([
                super::text(version),
                at.timestamp_millis().into(),
                super::text(&record.by.id),
            ])
            .to_owned();
        txn.execute(backend.build(&activation)).await?;
        let action = format!("{}.activate", self.name);
        record.record(&txn, &action, version, json!({}), at).await?;
        txn.commit().await?;
        Ok(true)
    }

    /// The id of the newest activation: it changes whenever any process activates a version.
    pub(super) async fn newest_activation(
        &self,
        db: &impl ConnectionTrait,
    ) -> Result<Option<i64>, StoreError> {
        let query = Query::select()
            .expr_as(
                sea_orm::sea_query::Expr::col(col("id")).max(),
                Alias::new("newest"),
            )
            .from(Alias::new(self.activations))
            .to_owned();
        let backend = db.get_database_backend();
        match db.query_one(backend.build(&query)).await? {
            Some(row) => Ok(row.try_get::<Option<i64>>("", "newest")?),
            None => Ok(None),
        }
    }

    /// The version of the newest activation, if any model was ever activated.
    pub(super) async fn active_version(
        &self,
        db: &impl ConnectionTrait,
    ) -> Result<Option<String>, StoreError> {
        let query = Query::select()
            .column(col("version"))
            .from(Alias::new(self.activations))
            .order_by(col("id"), Order::Desc)
            .limit(1)
            .to_owned();
        let backend = db.get_database_backend();
        match db.query_one(backend.build(&query)).await? {
            Some(row) => Ok(Some(row.try_get::<String>("", "version")?)),
            None => Ok(None),
        }
    }

    /// Every version (newest first) with its figures and the activations of it, oldest
    /// first; artifacts are not read.
    pub(super) async fn list(
        &self,
        db: &impl ConnectionTrait,
    ) -> Result<Vec<crate::RegisteredModel>, StoreError> {
        let backend = db.get_database_backend();
        let versions = Query::select()
            .columns([
                col("version"),
                col("created_at_ms"),
                col("actor"),
                col("metrics"),
            ])
            .from(Alias::new(self.models))
            .order_by(col("created_at_ms"), Order::Desc)
            .limit(crate::PAGE_MAX)
            .to_owned();
        let activations = Query::select()
            .columns([col("version"), col("activated_at_ms"), col("actor")])
            .from(Alias::new(self.activations))
            .order_by(col("id"), Order::Asc)
            .to_owned();
        let mut log: Vec<(String, DateTime<Utc>, String)> = Vec::new();
        for row in db.query_all(backend.build(&activations)).await? {
            log.push((
                row.try_get("", "version")?,
                super::rows::ms_to_time(row.try_get("", "activated_at_ms")?)?,
                row.try_get("", "actor")?,
            ));
        }
        let active = log.last().map(|(v, _, _)| v.clone());
        let mut out = Vec::new();
        for row in db.query_all(backend.build(&versions)).await? {
            let version: String = row.try_get("", "version")?;
            let metrics: String = row.try_get("", "metrics")?;
            out.push(crate::RegisteredModel {
                family: self.name,
                active: active.as_deref() == Some(version.as_str()),
                activations: log
                    .iter()
                    .filter(|(v, _, _)| *v == version)
                    .map(|(_, at, by)| (*at, by.clone()))
                    .collect(),
                created_at: super::rows::ms_to_time(row.try_get("", "created_at_ms")?)?,
                actor: row.try_get("", "actor")?,
                metrics: super::rows::json(&metrics, "model metrics")?,
                version,
            });
        }
        Ok(out)
    }

    /// The error for an activation whose version is not stored.
    pub(super) fn missing(&self, version: &str) -> StoreError {
        StoreError::Corrupt(format!(
            "active model {version} of {} is not stored",
            self.models
        ))
    }
}
