//! The sea-orm implementation of every storage area, for SQLite and PostgreSQL alike: one
//! file per area (`customers`, `profiles`, `advice`, `credit`, `catalogue`, `campaigns`,
//! `idempotency`, `monitoring`), the conversions between rows and domain values in `rows`, and the
//! versioned-model write that credit and offer models share in `registry`.

mod advice;
mod audit;
mod campaigns;
mod catalogue;
mod credit;
mod customers;
mod events;
mod fx;
mod idempotency;
mod keys;
mod loyalty;
mod monitoring;
mod privacy;
mod profiles;
mod registry;
mod rows;
mod rules;
mod staff;

use std::collections::HashSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, OnConflict, Query, SimpleExpr, Value};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, EntityTrait,
};
use sea_orm_migration::MigratorTrait;
use sextant_domain::Product;
use tokio::sync::Mutex;

use crate::audit::CheckpointSigner;
use crate::crypto::Keyring;
use crate::entity::product;
use crate::migration::Migrator;
use crate::{Actor, Store, StoreError};

/// Rows per multi-row INSERT: 20 columns x 1,000 rows stays under SQLite's 32,766 bound
/// parameters and PostgreSQL's 65,535.
const ROWS_PER_STATEMENT: usize = 1_000;
/// Ids per `IN (...)` look-up.
const IDS_PER_LOOKUP: usize = 500;

pub struct SeaStore {
    db: DatabaseConnection,
    /// SQLite allows one writer; taking this lock before a write transaction avoids
    /// SQLITE_BUSY on lock upgrades. PostgreSQL needs none.
    write_lock: Option<Arc<Mutex<()>>>,
    /// Group commit of credit decisions and payment assessments: the checkout path records
    /// one per quote or payment.
    decisions: credit::DecisionWriter,
    /// The master keys and the customers' unwrapped data keys.
    keyring: Arc<Keyring>,
    /// Signs a checkpoint of the audit trail every so many entries; none, no checkpoints.
    signer: Option<Arc<CheckpointSigner>>,
    /// Customers whose marketing rows changed, noted after each commit.
    changes: crate::changes::ChangeFeed,
    /// Customers who received events or whose campaign memberships changed, noted after
    /// each commit.
    activity: crate::changes::ChangeFeed,
}

/// The audit trail's checkpoint signer, for the functions that append to it.
pub(crate) type Signer<'a> = Option<&'a CheckpointSigner>;

impl SeaStore {
    /// Opens (creating if needed) the database and brings its schema up to date.
    /// `database_url` selects PostgreSQL (`postgres://...`) or an explicit SQLite URL;
    /// without one, `DATA_DIR/sextant.db` is used. Personal fields are sealed under
    /// customers' data keys, wrapped by `keyring`'s master key; rows written before
    /// encryption existed are sealed now.
    pub async fn open(
        database_url: Option<&str>,
        data_dir: &Path,
        keyring: Arc<Keyring>,
    ) -> Result<SeaStore, StoreError> {
        SeaStore::open_signed(database_url, data_dir, keyring, None).await
    }

    /// [`SeaStore::open`], with the audit trail checkpointed by `signer` (see
    /// [`crate::audit::CheckpointSigner`]).
    pub async fn open_signed(
        database_url: Option<&str>,
        data_dir: &Path,
        keyring: Arc<Keyring>,
        signer: Option<Arc<CheckpointSigner>>,
    ) -> Result<SeaStore, StoreError> {
        let url = match database_url {
            Some(url) => url.to_owned(),
            None => {
                std::fs::create_dir_all(data_dir).map_err(|e| {
                    StoreError::Unavailable(format!("cannot create {}: {e}", data_dir.display()))
                })?;
                format!(
                    "sqlite://{}?mode=rwc",
                    data_dir.join("sextant.db").display()
                )
            }
        };
        let is_sqlite = url.starts_with("sqlite:");
        let mut options = ConnectOptions::new(url);
        options
            .sqlx_logging(false)
            .acquire_timeout(Duration::from_secs(10));
        if is_sqlite {
            options
                .max_connections(4)
                .min_connections(1)
                .map_sqlx_sqlite_opts(|o| {
                    // WAL lets readers run beside the writer; FULL makes every acknowledged
                    // commit durable across power loss, which an acknowledgement promises.
                    o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                        .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Full)
                        .busy_timeout(Duration::from_secs(10))
                        .foreign_keys(true)
                });
        } else {
            options.max_connections(16);
        }
        let db = Database::connect(options).await?;
        Migrator::up(&db, None).await?;
        let write_lock = is_sqlite.then(|| Arc::new(Mutex::new(())));
        let store = SeaStore {
            decisions: credit::DecisionWriter::start(
                db.clone(),
                write_lock.clone(),
                signer.clone(),
            ),
            write_lock,
            db,
            keyring,
            signer,
            changes: Default::default(),
            activity: Default::default(),
        };
        store
            .seed_catalogue(&sextant_domain::default_catalogue(), Utc::now())
            .await?;
        store.seal_clear_rows(Utc::now()).await?;
        Ok(store)
    }

    async fn lock_writes(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_lock {
            Some(lock) => Some(lock.lock().await),
            None => None,
        }
    }

    fn signer(&self) -> Signer<'_> {
        self.signer.as_deref()
    }

    fn recorder<'a>(&'a self, by: &'a Actor) -> Recorder<'a> {
        Recorder {
            signer: self.signer(),
            by,
        }
    }

    fn backend(&self) -> DbBackend {
        self.db.get_database_backend()
    }

    /// Inserts catalogue products that are not there yet; never overwrites edits.
    async fn seed_catalogue(
        &self,
        products: &[Product],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let _guard = self.lock_writes().await;
        let models = products
            .iter()
            .map(|p| rows::product_model(p, now.timestamp_millis()));
        product::Entity::insert_many(models)
            .on_conflict(
                OnConflict::column(product::Column::Id)
                    .do_nothing()
                    .to_owned(),
            )
            .do_nothing()
            .exec(&self.db)
            .await?;
        Ok(())
    }
}

#[async_trait]
impl Store for SeaStore {
    fn backend_name(&self) -> &'static str {
        match self.backend() {
            DbBackend::Postgres => "postgres",
            DbBackend::Sqlite => "sqlite",
            DbBackend::MySql => "mysql",
        }
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.db
            .ping()
            .await
            .map_err(|e| StoreError::Unavailable(e.to_string()))
    }

    async fn checkpoint(&self) -> Result<(), StoreError> {
        if self.backend() == DbBackend::Sqlite {
            let _guard = self.lock_writes().await;
            self.db
                .execute_unprepared("PRAGMA wal_checkpoint(TRUNCATE)")
                .await?;
        }
        Ok(())
    }
}

/// Who makes a change, with the trail's checkpoint signer: what a change needs to record
/// itself in the audit trail.
#[derive(Clone, Copy)]
pub(crate) struct Recorder<'a> {
    pub signer: Signer<'a>,
    pub by: &'a Actor,
}

impl Recorder<'_> {
    /// Appends the entry for `action` on `object`, inside the caller's transaction.
    async fn record(
        &self,
        db: &impl ConnectionTrait,
        action: &str,
        object: &str,
        detail: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.record_outcome(db, action, object, "ok", detail, at)
            .await
    }

    /// The same, for an attempt that was refused (`outcome` says how, e.g. `denied`).
    async fn record_outcome(
        &self,
        db: &impl ConnectionTrait,
        action: &str,
        object: &str,
        outcome: &str,
        detail: serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut entry = self.by.entry(action, object, detail);
        entry.outcome = outcome.to_owned();
        audit::append(db, self.signer, entry, at).await?;
        Ok(())
    }
}

/// Which of `ids` exist in `table.column`.
async fn existing(
    db: &impl ConnectionTrait,
    table: &str,
    column: &str,
    ids: &[&str],
) -> Result<HashSet<String>, StoreError> {
    let mut found = HashSet::new();
    for chunk in ids.chunks(IDS_PER_LOOKUP) {
        let query = Query::select()
            .column(Alias::new(column))
            .from(Alias::new(table))
            .and_where(Expr::col(Alias::new(column)).is_in(chunk.iter().copied()))
            .to_owned();
        for row in db
            .query_all(db.get_database_backend().build(&query))
            .await?
        {
            found.insert(row.try_get::<String>("", column)?);
        }
    }
    Ok(found)
}

fn text(s: &str) -> SimpleExpr {
    Value::String(Some(Box::new(s.to_owned()))).into()
}

fn col(name: &str) -> Alias {
    Alias::new(name)
}
