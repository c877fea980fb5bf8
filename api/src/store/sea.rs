//! The sea-orm implementation of [`Store`], for SQLite and PostgreSQL alike.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use sea_orm::sea_query::{Alias, Expr, OnConflict, Query, SimpleExpr, Value};
use sea_orm::{
    ActiveValue::Set, ColumnTrait, ConnectOptions, ConnectionTrait, Database, DatabaseConnection,
    DbBackend, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait,
};
use sea_orm_migration::MigratorTrait;
use sextant_domain::{
    AmountMinor, BirthYear, Card, Channel, ChannelConsents, Consents, CountryCode, Currency,
    Customer, CustomerId, Direction, Event, EventId, Holding, KycStatus, MarketingChannel, Mcc,
    MerchantId, Occupation, PaymentEvent, PaymentKind, PaymentStatus, Product, ProductId,
    ProductKind, Region, RiskLevel,
};
use tokio::sync::Mutex;

use super::entity::{self, audit, consent_change, customer, holding, payment_event, product};
use super::{
    content_hash, ConsentChange, ConsentScope, Cursor, History, Idempotent, IdempotentResponse,
    IngestOutcome, Migrator, NewAdvice, NewCreditDecision, NewInstalmentPlan, Store, StoreError,
    StoredAdvice, StoredAssessment, StoredCreditModel, StoredCustomer, StoredDecision,
    StoredProfile, StoredSegment,
};

#[path = "sea_credit.rs"]
mod credit;
#[path = "sea_marketing.rs"]
mod marketing;

use super::{
    CampaignEvent, CampaignLaunch, CampaignMember, MarketingRow, MemberOutcome, Membership,
    OfferInteraction, ProductVersion, StoredAudience, StoredCampaign, StoredOfferModel,
};

/// Rows per multi-row INSERT: 17 columns x 1,000 rows stays under SQLite's 32,766 bound
/// parameters and PostgreSQL's 65,535.
const ROWS_PER_STATEMENT: usize = 1_000;
/// Ids per `IN (...)` look-up.
const IDS_PER_LOOKUP: usize = 500;

pub struct SeaStore {
    db: DatabaseConnection,
    /// SQLite allows one writer; taking this lock before a write transaction avoids
    /// SQLITE_BUSY on lock upgrades. PostgreSQL needs none.
    write_lock: Option<Arc<Mutex<()>>>,
    /// Group commit of credit decisions: the checkout path records one per quote.
    decisions: credit::DecisionWriter,
}

fn ms_to_time(ms: i64) -> Result<DateTime<Utc>, StoreError> {
    Utc.timestamp_millis_opt(ms)
        .single()
        .ok_or_else(|| StoreError::Corrupt(format!("timestamp {ms} out of range")))
}

fn corrupt(what: &str) -> impl Fn(sextant_domain::ParseError) -> StoreError + '_ {
    move |e| StoreError::Corrupt(format!("{what}: {e}"))
}

impl SeaStore {
    /// Opens (creating if needed) the database and brings its schema up to date.
    /// `database_url` selects PostgreSQL (`postgres://...`) or an explicit SQLite URL;
    /// without one, `DATA_DIR/sextant.db` is used.
    pub async fn open(database_url: Option<&str>, data_dir: &Path) -> Result<SeaStore, StoreError> {
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
            decisions: credit::DecisionWriter::start(db.clone(), write_lock.clone()),
            write_lock,
            db,
        };
        store
            .seed_catalogue(&sextant_domain::default_catalogue(), Utc::now())
            .await?;
        Ok(store)
    }

    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    async fn lock_writes(&self) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        match &self.write_lock {
            Some(lock) => Some(lock.lock().await),
            None => None,
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
        let models = products.iter().map(|p| product::ActiveModel {
            id: Set(p.id.to_string()),
            kind: Set(p.kind.as_str().to_owned()),
            name: Set(p.name.clone()),
            risk_level: Set(i32::from(p.risk_level.get())),
            currency: Set(p.currency.to_string()),
            min_amount_minor: Set(p.min_amount_minor),
            term_months: Set(p.term_months.map(i32::from)),
            rate_bps: Set(p.rate_bps.map(|v| v as i32)),
            fee_bps: Set(p.fee_bps.map(|v| v as i32)),
            asset_class: Set(p.asset_class.clone()),
            updated_at_ms: Set(now.timestamp_millis()),
        });
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

    async fn audit(
        &self,
        db: &impl ConnectionTrait,
        actor: &str,
        action: &str,
        subject: &str,
        detail: serde_json::Value,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        audit::Entity::insert(audit::ActiveModel {
            at_ms: Set(now.timestamp_millis()),
            actor: Set(actor.to_owned()),
            action: Set(action.to_owned()),
            subject: Set(subject.to_owned()),
            detail: Set(detail.to_string()),
            ..Default::default()
        })
        .exec(db)
        .await?;
        Ok(())
    }

    /// Reads a customer row, locking it until the transaction ends on PostgreSQL (SQLite
    /// writers are already serialised by `write_lock`), so concurrent consent changes and
    /// replacements apply one after the other instead of overwriting each other.
    async fn customer_for_update(
        &self,
        txn: &impl ConnectionTrait,
        id: &CustomerId,
    ) -> Result<Option<customer::Model>, StoreError> {
        let mut find = customer::Entity::find_by_id(id.to_string());
        if self.backend() == DbBackend::Postgres {
            find = find.lock_exclusive();
        }
        Ok(find.one(txn).await?)
    }

    /// Appends consent changes to the history and the audit log.
    async fn record_consent_changes(
        &self,
        txn: &impl ConnectionTrait,
        id: &CustomerId,
        changes: &[(ConsentScope, bool)],
        actor: &str,
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
                actor: Set(actor.to_owned()),
                scope: Set(scope.name()),
                granted: Set(*granted),
                ..Default::default()
            });
        consent_change::Entity::insert_many(rows).exec(txn).await?;
        let detail: serde_json::Map<_, _> = changes
            .iter()
            .map(|(s, g)| (s.name(), serde_json::Value::Bool(*g)))
            .collect();
        self.audit(
            txn,
            actor,
            "customer.consents",
            id.as_str(),
            detail.into(),
            now,
        )
        .await
    }

    /// Which of `ids` exist in `table.column`.
    async fn existing(
        &self,
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
            for row in db.query_all(self.backend().build(&query)).await? {
                found.insert(row.try_get::<String>("", column)?);
            }
        }
        Ok(found)
    }

    /// Stored content hashes of `ids` in `table`.
    async fn stored_hashes(
        &self,
        db: &impl ConnectionTrait,
        table: &str,
        ids: &[&str],
    ) -> Result<HashMap<String, i64>, StoreError> {
        let mut found = HashMap::new();
        for chunk in ids.chunks(IDS_PER_LOOKUP) {
            let query = Query::select()
                .columns([Alias::new("event_id"), Alias::new("content_hash")])
                .from(Alias::new(table))
                .and_where(Expr::col(Alias::new("event_id")).is_in(chunk.iter().copied()))
                .to_owned();
            for row in db.query_all(self.backend().build(&query)).await? {
                found.insert(
                    row.try_get::<String>("", "event_id")?,
                    row.try_get::<i64>("", "content_hash")?,
                );
            }
        }
        Ok(found)
    }

    /// Multi-row `INSERT .. ON CONFLICT (event_id) DO NOTHING RETURNING event_id`.
    async fn insert_new(
        &self,
        db: &impl ConnectionTrait,
        table: &str,
        columns: &[&str],
        rows: Vec<Vec<SimpleExpr>>,
    ) -> Result<HashSet<String>, StoreError> {
        let mut inserted = HashSet::with_capacity(rows.len());
        let mut rows = rows.into_iter().peekable();
        while rows.peek().is_some() {
            let mut insert = Query::insert();
            insert
                .into_table(Alias::new(table))
                .columns(columns.iter().map(|c| Alias::new(*c)));
            for row in rows.by_ref().take(ROWS_PER_STATEMENT) {
                insert.values_panic(row);
            }
            insert
                .on_conflict(
                    OnConflict::column(Alias::new("event_id"))
                        .do_nothing()
                        .to_owned(),
                )
                .returning_col(Alias::new("event_id"));
            for row in db.query_all(self.backend().build(&insert)).await? {
                inserted.insert(row.try_get::<String>("", "event_id")?);
            }
        }
        Ok(inserted)
    }
}

const PAYMENT_COLUMNS: &[&str] = &[
    "event_id",
    "customer_id",
    "occurred_at_ms",
    "amount_minor",
    "currency",
    "direction",
    "kind",
    "channel",
    "merchant_id",
    "mcc",
    "country",
    "card_bin",
    "card_last4",
    "status",
    "balance_after_minor",
    "content_hash",
    "received_at_ms",
];

const BEHAVIOUR_COLUMNS: &[&str] = &[
    "event_id",
    "customer_id",
    "occurred_at_ms",
    "kind",
    "session_id",
    "screen",
    "product_id",
    "offer_id",
    "query",
    "content_hash",
    "received_at_ms",
];

fn text(s: &str) -> SimpleExpr {
    Value::String(Some(Box::new(s.to_owned()))).into()
}

fn text_opt(s: Option<&str>) -> SimpleExpr {
    Value::String(s.map(|s| Box::new(s.to_owned()))).into()
}

fn payment_row(p: &PaymentEvent, hash: i64, now_ms: i64) -> Vec<SimpleExpr> {
    vec![
        text(p.event_id.as_str()),
        text(p.customer_id.as_str()),
        p.occurred_at.timestamp_millis().into(),
        p.amount.get().into(),
        text(p.currency.as_str()),
        text(p.direction.as_str()),
        text(p.kind.as_str()),
        text(p.channel.as_str()),
        text_opt(p.merchant_id.as_ref().map(|m| m.as_str())),
        Value::Int(p.mcc.map(|m| i32::from(m.get()))).into(),
        text(p.country.as_str()),
        text_opt(p.card.as_ref().map(|c| c.bin())),
        text_opt(p.card.as_ref().map(|c| c.last4())),
        text(p.status.as_str()),
        Value::BigInt(p.balance_after_minor).into(),
        hash.into(),
        now_ms.into(),
    ]
}

fn behaviour_row(b: &sextant_domain::BehaviourEvent, hash: i64, now_ms: i64) -> Vec<SimpleExpr> {
    vec![
        text(b.event_id.as_str()),
        text(b.customer_id.as_str()),
        b.occurred_at.timestamp_millis().into(),
        text(b.kind.as_str()),
        text_opt(b.session_id.as_ref().map(|s| s.as_str())),
        text_opt(b.screen.as_ref().map(|s| s.as_str())),
        text_opt(b.product_id.as_ref().map(|s| s.as_str())),
        text_opt(b.offer_id.as_ref().map(|s| s.as_str())),
        text_opt(b.query.as_ref().map(|s| s.as_str())),
        hash.into(),
        now_ms.into(),
    ]
}

/// The last item of each key, in first-seen order of keys.
fn last_per_key<'a, T: Clone, K: std::hash::Hash + Eq>(
    items: &'a [T],
    key: impl Fn(&'a T) -> K,
) -> Vec<T> {
    let mut position: HashMap<K, usize> = HashMap::with_capacity(items.len());
    let mut out: Vec<T> = Vec::with_capacity(items.len());
    for item in items {
        match position.entry(key(item)) {
            std::collections::hash_map::Entry::Occupied(at) => out[*at.get()] = item.clone(),
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(out.len());
                out.push(item.clone());
            }
        }
    }
    out
}

fn customer_model(c: &Customer, now_ms: i64) -> customer::ActiveModel {
    let m = c.consents.marketing;
    customer::ActiveModel {
        id: Set(c.id.to_string()),
        birth_year: Set(i32::from(c.birth_year.get())),
        region: Set(c.region.as_str().to_owned()),
        occupation: Set(c.occupation.as_str().to_owned()),
        kyc_status: Set(c.kyc_status.as_str().to_owned()),
        consent_profiling: Set(c.consents.profiling),
        consent_push: Set(m.push),
        consent_email: Set(m.email),
        consent_sms: Set(m.sms),
        consent_in_app: Set(m.in_app),
        created_at_ms: Set(now_ms),
        updated_at_ms: Set(now_ms),
    }
}

/// Replaces everything but the creation time on conflict.
/// On conflict, replaces the registration data; consents only when `consents` is set, so a
/// bulk re-import never silently re-grants a consent the customer withdrew.
fn customer_upsert(consents: bool) -> OnConflict {
    use customer::Column as C;
    let mut columns = vec![
        C::BirthYear,
        C::Region,
        C::Occupation,
        C::KycStatus,
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

fn consents_of(m: &customer::Model) -> Consents {
    Consents {
        profiling: m.consent_profiling,
        marketing: ChannelConsents {
            push: m.consent_push,
            email: m.consent_email,
            sms: m.consent_sms,
            in_app: m.consent_in_app,
        },
    }
}

fn customer_from(m: customer::Model) -> Result<StoredCustomer, StoreError> {
    // Rows are only written from valid domain values; judge the birth year at its write time.
    let written = ms_to_time(m.updated_at_ms)?;
    Ok(StoredCustomer {
        customer: Customer {
            id: CustomerId::parse(&m.id).map_err(corrupt("customer id"))?,
            birth_year: BirthYear::parse(i64::from(m.birth_year), written)
                .map_err(corrupt("birth year"))?,
            region: Region::parse(&m.region).map_err(corrupt("region"))?,
            occupation: Occupation::parse(&m.occupation).map_err(corrupt("occupation"))?,
            kyc_status: KycStatus::parse(&m.kyc_status).map_err(corrupt("kyc status"))?,
            consents: consents_of(&m),
        },
        created_at: ms_to_time(m.created_at_ms)?,
        updated_at: written,
    })
}

fn payment_from(m: payment_event::Model) -> Result<PaymentEvent, StoreError> {
    let card = match (m.card_bin.as_deref(), m.card_last4.as_deref()) {
        (Some(bin), Some(last4)) => Some(Card::parse(bin, last4).map_err(corrupt("card"))?),
        _ => None,
    };
    Ok(PaymentEvent {
        event_id: EventId::parse(&m.event_id).map_err(corrupt("event id"))?,
        customer_id: CustomerId::parse(&m.customer_id).map_err(corrupt("customer id"))?,
        occurred_at: ms_to_time(m.occurred_at_ms)?,
        amount: AmountMinor::new(m.amount_minor).map_err(corrupt("amount"))?,
        currency: Currency::parse(&m.currency).map_err(corrupt("currency"))?,
        direction: Direction::parse(&m.direction).map_err(corrupt("direction"))?,
        kind: PaymentKind::parse(&m.kind).map_err(corrupt("kind"))?,
        channel: Channel::parse(&m.channel).map_err(corrupt("channel"))?,
        merchant_id: m
            .merchant_id
            .as_deref()
            .map(MerchantId::parse)
            .transpose()
            .map_err(corrupt("merchant"))?,
        mcc: m
            .mcc
            .map(|v| Mcc::parse(&format!("{v:04}")))
            .transpose()
            .map_err(corrupt("mcc"))?,
        country: CountryCode::parse(&m.country).map_err(corrupt("country"))?,
        card,
        status: PaymentStatus::parse(&m.status).map_err(corrupt("status"))?,
        balance_after_minor: m.balance_after_minor,
    })
}

fn holding_model(h: &Holding, now_ms: i64) -> holding::ActiveModel {
    holding::ActiveModel {
        customer_id: Set(h.customer_id.to_string()),
        product_id: Set(h.product_id.to_string()),
        value_minor: Set(h.value.get()),
        currency: Set(h.currency.to_string()),
        opened_at_ms: Set(h.opened_at.timestamp_millis()),
        updated_at_ms: Set(now_ms),
    }
}

fn holding_from(m: holding::Model) -> Result<Holding, StoreError> {
    Ok(Holding {
        customer_id: CustomerId::parse(&m.customer_id).map_err(corrupt("customer id"))?,
        product_id: ProductId::parse(&m.product_id).map_err(corrupt("product id"))?,
        value: AmountMinor::new(m.value_minor).map_err(corrupt("value"))?,
        currency: Currency::parse(&m.currency).map_err(corrupt("currency"))?,
        opened_at: ms_to_time(m.opened_at_ms)?,
    })
}

fn product_from(m: product::Model) -> Result<Product, StoreError> {
    Ok(Product {
        id: ProductId::parse(&m.id).map_err(corrupt("product id"))?,
        kind: ProductKind::parse(&m.kind).map_err(corrupt("product kind"))?,
        name: m.name,
        risk_level: RiskLevel::new(m.risk_level as u8).map_err(corrupt("risk level"))?,
        currency: Currency::parse(&m.currency).map_err(corrupt("currency"))?,
        min_amount_minor: m.min_amount_minor,
        term_months: m.term_months.map(|v| v as u16),
        rate_bps: m.rate_bps.map(|v| v as u32),
        fee_bps: m.fee_bps.map(|v| v as u32),
        asset_class: m.asset_class,
    })
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

    async fn put_customer(
        &self,
        c: &Customer,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let before = self.customer_for_update(&txn, &c.id).await?;
        customer::Entity::insert(customer_model(c, now.timestamp_millis()))
            .on_conflict(customer_upsert(true))
            .exec(&txn)
            .await?;
        let old_consents = before.as_ref().map(consents_of).unwrap_or_default();
        let changes = consent_diff(&old_consents, &c.consents);
        self.record_consent_changes(&txn, &c.id, &changes, actor, now)
            .await?;
        let action = if before.is_none() {
            "customer.create"
        } else {
            "customer.replace"
        };
        self.audit(
            &txn,
            actor,
            action,
            c.id.as_str(),
            serde_json::json!({}),
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(before.is_none())
    }

    async fn put_customers(
        &self,
        customers: &[Customer],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        if customers.is_empty() {
            return Ok(());
        }
        // PostgreSQL refuses to upsert one key twice in a statement: the last line wins.
        let customers = last_per_key(customers, |c| c.id.as_str());
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        // 12 columns x 2,000 rows fits both backends' parameter limits.
        for chunk in customers.chunks(2_000) {
            let models = chunk
                .iter()
                .map(|c| customer_model(c, now.timestamp_millis()));
            customer::Entity::insert_many(models)
                .on_conflict(customer_upsert(false))
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    async fn customer(&self, id: &CustomerId) -> Result<Option<StoredCustomer>, StoreError> {
        customer::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?
            .map(customer_from)
            .transpose()
    }

    async fn set_consents(
        &self,
        id: &CustomerId,
        changes: &[(ConsentScope, bool)],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<Consents>, StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        let Some(row) = self.customer_for_update(&txn, id).await? else {
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
            self.record_consent_changes(&txn, id, &changed, actor, now)
                .await?;
        }
        txn.commit().await?;
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
        now: DateTime<Utc>,
    ) -> Result<IngestOutcome, StoreError> {
        assert!(
            events.len() <= super::INGEST_CALL_MAX_EVENTS,
            "callers bound their batches"
        );
        if events.is_empty() {
            return Ok(IngestOutcome::default());
        }
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;

        let mut customer_ids: Vec<&str> = events.iter().map(|e| e.customer_id().as_str()).collect();
        customer_ids.sort_unstable();
        customer_ids.dedup();
        let known = self
            .existing(&txn, "customers", "id", &customer_ids)
            .await?;
        let unknown: Vec<usize> = (0..events.len())
            .filter(|&i| !known.contains(events[i].customer_id().as_str()))
            .collect();
        if !unknown.is_empty() {
            return Err(StoreError::UnknownCustomers(unknown));
        }

        let hashes: Vec<i64> = events.iter().map(content_hash).collect();
        let now_ms = now.timestamp_millis();
        // Rows go in sorted by id (stably, so a repeated id keeps its first occurrence first):
        // concurrent batches then take row locks in one order and cannot deadlock.
        let mut order: Vec<usize> = (0..events.len()).collect();
        order.sort_by(|&a, &b| events[a].event_id().cmp(events[b].event_id()));
        let mut payment_rows = Vec::new();
        let mut behaviour_rows = Vec::new();
        for (event, &hash) in order.iter().map(|&i| (&events[i], &hashes[i])) {
            match event {
                Event::Payment(p) => payment_rows.push(payment_row(p, hash, now_ms)),
                Event::Behaviour(b) => behaviour_rows.push(behaviour_row(b, hash, now_ms)),
            }
        }
        let new_payments = self
            .insert_new(&txn, "payment_events", PAYMENT_COLUMNS, payment_rows)
            .await?;
        let new_behaviour = self
            .insert_new(&txn, "behaviour_events", BEHAVIOUR_COLUMNS, behaviour_rows)
            .await?;

        // The first occurrence of a newly inserted id was stored by this call; every other
        // item is a duplicate, to be checked against what is stored under its id.
        let mut claimed: HashSet<(bool, &str)> = HashSet::new();
        let mut outcome = IngestOutcome::default();
        let (mut dup_payments, mut dup_behaviour) = (Vec::new(), Vec::new());
        for (i, event) in events.iter().enumerate() {
            let is_payment = matches!(event, Event::Payment(_));
            let id = event.event_id().as_str();
            let new = if is_payment {
                new_payments.contains(id)
            } else {
                new_behaviour.contains(id)
            };
            if new && claimed.insert((is_payment, id)) {
                outcome.stored += 1;
            } else {
                outcome.duplicates.push(i);
                if is_payment {
                    dup_payments.push(id)
                } else {
                    dup_behaviour.push(id)
                }
            }
        }
        let stored_payments = self
            .stored_hashes(&txn, "payment_events", &dup_payments)
            .await?;
        let stored_behaviour = self
            .stored_hashes(&txn, "behaviour_events", &dup_behaviour)
            .await?;
        let reused: Vec<usize> = outcome
            .duplicates
            .iter()
            .copied()
            .filter(|&i| {
                let stored = match &events[i] {
                    Event::Payment(p) => stored_payments.get(p.event_id.as_str()),
                    Event::Behaviour(b) => stored_behaviour.get(b.event_id.as_str()),
                };
                stored != Some(&hashes[i])
            })
            .collect();
        if !reused.is_empty() {
            return Err(StoreError::EventIdReused(reused));
        }
        txn.commit().await?;
        Ok(outcome)
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
            .limit(limit.min(super::PAGE_MAX))
            .all(&self.db)
            .await?;
        rows.into_iter().map(payment_from).collect()
    }

    async fn replace_holdings(
        &self,
        id: &CustomerId,
        holdings: &[Holding],
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let product_ids: Vec<&str> = holdings.iter().map(|h| h.product_id.as_str()).collect();
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        // Serialises concurrent replacements of one customer's positions on PostgreSQL.
        self.customer_for_update(&txn, id).await?;
        let known = self.existing(&txn, "products", "id", &product_ids).await?;
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
        self.audit(
            &txn,
            actor,
            "customer.holdings",
            id.as_str(),
            serde_json::json!({ "positions": holdings.len() }),
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    async fn upsert_holdings(
        &self,
        holdings: &[Holding],
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
        let known_products = self.existing(&txn, "products", "id", &product_ids).await?;
        let unknown: Vec<usize> = (0..holdings.len())
            .filter(|&i| !known_products.contains(holdings[i].product_id.as_str()))
            .collect();
        if !unknown.is_empty() {
            return Err(StoreError::UnknownProducts(unknown));
        }
        let known_customers = self
            .existing(&txn, "customers", "id", &customer_ids)
            .await?;
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
        txn.commit().await?;
        Ok(())
    }

    async fn holdings(&self, id: &CustomerId) -> Result<Vec<Holding>, StoreError> {
        let rows = holding::Entity::find()
            .filter(holding::Column::CustomerId.eq(id.as_str()))
            .order_by_asc(holding::Column::ProductId)
            .all(&self.db)
            .await?;
        rows.into_iter().map(holding_from).collect()
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
        let Some(row) = customer::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?
        else {
            return Ok(None);
        };
        let customer = customer_from(row)?.customer;
        Ok(self.histories_of(vec![customer], since).await?.pop())
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
        let customers = rows
            .into_iter()
            .map(|r| customer_from(r).map(|s| s.customer))
            .collect::<Result<Vec<_>, _>>()?;
        self.histories_of(customers, since).await
    }

    async fn last_received_at(&self, id: &CustomerId) -> Result<Option<DateTime<Utc>>, StoreError> {
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
            if let Some(row) = self.db.query_one(self.backend().build(&query)).await? {
                let value: Option<i64> = row.try_get("", "newest")?;
                newest = newest.max(value);
            }
        }
        newest.map(ms_to_time).transpose()
    }

    async fn put_profiles(&self, profiles: &[StoredProfile]) -> Result<(), StoreError> {
        if profiles.is_empty() {
            return Ok(());
        }
        let profiles = last_per_key(profiles, |p| p.customer_id.as_str());
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        use entity::profile::Column as P;
        // 7 columns x 2,000 rows fits both backends' parameter limits.
        for chunk in profiles.chunks(2_000) {
            let models = chunk
                .iter()
                .map(profile_model)
                .collect::<Result<Vec<_>, _>>()?;
            entity::profile::Entity::insert_many(models)
                .on_conflict(
                    OnConflict::column(P::CustomerId)
                        .update_columns([
                            P::FeatureVersion,
                            P::Features,
                            P::Segment,
                            P::EmbeddingModel,
                            P::AsOfMs,
                            P::ComputedAtMs,
                        ])
                        .to_owned(),
                )
                .exec(&txn)
                .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    async fn profile(&self, id: &CustomerId) -> Result<Option<StoredProfile>, StoreError> {
        entity::profile::Entity::find_by_id(id.to_string())
            .one(&self.db)
            .await?
            .map(profile_from)
            .transpose()
    }

    async fn profiles(
        &self,
        after: Option<&CustomerId>,
        limit: u64,
    ) -> Result<Vec<StoredProfile>, StoreError> {
        use entity::profile::Column as P;
        let mut query = entity::profile::Entity::find();
        if let Some(after) = after {
            query = query.filter(P::CustomerId.gt(after.as_str()));
        }
        let rows = query
            .order_by_asc(P::CustomerId)
            .limit(limit.min(HISTORY_PAGE_MAX * 10))
            .all(&self.db)
            .await?;
        rows.into_iter().map(profile_from).collect()
    }

    async fn delete_profile(&self, id: &CustomerId) -> Result<(), StoreError> {
        let _guard = self.lock_writes().await;
        entity::profile::Entity::delete_by_id(id.to_string())
            .exec(&self.db)
            .await?;
        Ok(())
    }

    async fn replace_segments(
        &self,
        segments: &[StoredSegment],
        assignments: &[(CustomerId, u32)],
    ) -> Result<(), StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        entity::segment::Entity::delete_many().exec(&txn).await?;
        let now_ms = Utc::now().timestamp_millis();
        if !segments.is_empty() {
            let models = segments.iter().map(|s| entity::segment::ActiveModel {
                id: Set(s.id as i32),
                name: Set(s.name.clone()),
                description: Set(s.description.clone()),
                size: Set(s.size as i64),
                centroid: Set(serde_json::to_string(&s.centroid).expect("floats serialise")),
                embedding_model: Set(s.embedding_model.clone()),
                created_at_ms: Set(now_ms),
            });
            entity::segment::Entity::insert_many(models)
                .exec(&txn)
                .await?;
        }
        // Group customers by segment: one UPDATE .. WHERE customer_id IN (..) per chunk.
        let mut by_segment: HashMap<u32, Vec<&str>> = HashMap::new();
        for (id, segment) in assignments {
            by_segment.entry(*segment).or_default().push(id.as_str());
        }
        for (segment, ids) in by_segment {
            for chunk in ids.chunks(IDS_PER_LOOKUP) {
                entity::profile::Entity::update_many()
                    .col_expr(
                        entity::profile::Column::Segment,
                        Expr::value(segment as i32),
                    )
                    .filter(entity::profile::Column::CustomerId.is_in(chunk.iter().copied()))
                    .exec(&txn)
                    .await?;
            }
        }
        txn.commit().await?;
        Ok(())
    }

    async fn segments(&self) -> Result<Vec<StoredSegment>, StoreError> {
        let rows = entity::segment::Entity::find()
            .order_by_asc(entity::segment::Column::Id)
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok(StoredSegment {
                    id: r.id as u32,
                    name: r.name,
                    description: r.description,
                    size: r.size as u64,
                    centroid: serde_json::from_str(&r.centroid)
                        .map_err(|e| StoreError::Corrupt(format!("segment centroid: {e}")))?,
                    embedding_model: r.embedding_model,
                })
            })
            .collect()
    }

    async fn put_risk_answers(
        &self,
        id: &CustomerId,
        answers: &serde_json::Value,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        entity::risk_answer::Entity::insert(entity::risk_answer::ActiveModel {
            customer_id: Set(id.to_string()),
            answered_at_ms: Set(now.timestamp_millis()),
            actor: Set(actor.to_owned()),
            answers: Set(answers.to_string()),
            ..Default::default()
        })
        .exec(&txn)
        .await?;
        self.audit(
            &txn,
            actor,
            "risk.answers",
            id.as_str(),
            answers.clone(),
            now,
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    async fn latest_risk_answers(
        &self,
        id: &CustomerId,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let row = entity::risk_answer::Entity::find()
            .filter(entity::risk_answer::Column::CustomerId.eq(id.as_str()))
            .order_by_desc(entity::risk_answer::Column::Id)
            .one(&self.db)
            .await?;
        row.map(|r| {
            serde_json::from_str(&r.answers)
                .map_err(|e| StoreError::Corrupt(format!("risk answers: {e}")))
        })
        .transpose()
    }

    async fn record_assessment(
        &self,
        id: &CustomerId,
        a: &StoredAssessment,
    ) -> Result<(), StoreError> {
        let _guard = self.lock_writes().await;
        entity::risk_assessment::Entity::insert(entity::risk_assessment::ActiveModel {
            customer_id: Set(id.to_string()),
            assessed_at_ms: Set(a.assessed_at.timestamp_millis()),
            level: Set(i32::from(a.level)),
            willingness: Set(i32::from(a.willingness)),
            willingness_source: Set(a.willingness_source.clone()),
            capacity: Set(i32::from(a.capacity)),
            reason: Set(a.reason.clone()),
            detail: Set(a.detail.to_string()),
            ..Default::default()
        })
        .exec(&self.db)
        .await?;
        Ok(())
    }

    async fn assessments(
        &self,
        id: &CustomerId,
        limit: u64,
    ) -> Result<Vec<StoredAssessment>, StoreError> {
        use entity::risk_assessment::Column as R;
        let rows = entity::risk_assessment::Entity::find()
            .filter(R::CustomerId.eq(id.as_str()))
            .order_by_desc(R::Id)
            .limit(limit.min(super::PAGE_MAX))
            .all(&self.db)
            .await?;
        rows.into_iter()
            .map(|r| {
                Ok(StoredAssessment {
                    assessed_at: ms_to_time(r.assessed_at_ms)?,
                    level: r.level as u8,
                    willingness: r.willingness as u8,
                    willingness_source: r.willingness_source,
                    capacity: r.capacity as u8,
                    reason: r.reason,
                    detail: serde_json::from_str(&r.detail)
                        .map_err(|e| StoreError::Corrupt(format!("assessment: {e}")))?,
                })
            })
            .collect()
    }

    async fn record_advice(&self, advice: &NewAdvice) -> Result<i64, StoreError> {
        let _guard = self.lock_writes().await;
        let result = entity::advice::Entity::insert(entity::advice::ActiveModel {
            customer_id: Set(advice.customer_id.to_string()),
            kind: Set(advice.kind.clone()),
            created_at_ms: Set(advice.created_at.timestamp_millis()),
            actor: Set(advice.actor.clone()),
            engine_version: Set(advice.engine_version.clone()),
            inputs: Set(advice.inputs.to_string()),
            output: Set(advice.output.to_string()),
            ..Default::default()
        })
        .exec(&self.db)
        .await?;
        Ok(result.last_insert_id)
    }

    async fn advice(&self, id: i64) -> Result<Option<StoredAdvice>, StoreError> {
        let Some(row) = entity::advice::Entity::find_by_id(id).one(&self.db).await? else {
            return Ok(None);
        };
        let decision = entity::advice_decision::Entity::find_by_id(id)
            .one(&self.db)
            .await?;
        stored_advice(row, decision).map(Some)
    }

    async fn advice_for(
        &self,
        customer: &CustomerId,
        kind: Option<&str>,
        limit: u64,
    ) -> Result<Vec<StoredAdvice>, StoreError> {
        use entity::advice::Column as A;
        let mut query = entity::advice::Entity::find().filter(A::CustomerId.eq(customer.as_str()));
        if let Some(kind) = kind {
            query = query.filter(A::Kind.eq(kind));
        }
        let rows = query
            .order_by_desc(A::Id)
            .limit(limit.min(super::PAGE_MAX))
            .all(&self.db)
            .await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut decisions: HashMap<i64, entity::advice_decision::Model> =
            entity::advice_decision::Entity::find()
                .filter(entity::advice_decision::Column::AdviceId.is_in(ids))
                .all(&self.db)
                .await?
                .into_iter()
                .map(|d| (d.advice_id, d))
                .collect();
        rows.into_iter()
            .map(|r| {
                let decision = decisions.remove(&r.id);
                stored_advice(r, decision)
            })
            .collect()
    }

    async fn decide_advice(&self, id: i64, decision: &StoredDecision) -> Result<bool, StoreError> {
        let _guard = self.lock_writes().await;
        let inserted =
            entity::advice_decision::Entity::insert(entity::advice_decision::ActiveModel {
                advice_id: Set(id),
                decision: Set(decision.decision.clone()),
                actor: Set(decision.actor.clone()),
                decided_at_ms: Set(decision.decided_at.timestamp_millis()),
                note: Set(decision.note.clone()),
            })
            .on_conflict(
                OnConflict::column(entity::advice_decision::Column::AdviceId)
                    .do_nothing()
                    .to_owned(),
            )
            .exec_without_returning(&self.db)
            .await?;
        Ok(inserted == 1)
    }

    async fn assign_client(
        &self,
        wealth_manager: &str,
        customer: &CustomerId,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        use entity::wealth_manager_client::Column as W;
        let _guard = self.lock_writes().await;
        entity::wealth_manager_client::Entity::insert(entity::wealth_manager_client::ActiveModel {
            wealth_manager: Set(wealth_manager.to_owned()),
            customer_id: Set(customer.to_string()),
            assigned_by: Set(by.to_owned()),
            assigned_at_ms: Set(now.timestamp_millis()),
        })
        .on_conflict(
            OnConflict::columns([W::WealthManager, W::CustomerId])
                .do_nothing()
                .to_owned(),
        )
        .exec_without_returning(&self.db)
        .await?;
        Ok(())
    }

    async fn unassign_client(
        &self,
        wealth_manager: &str,
        customer: &CustomerId,
    ) -> Result<(), StoreError> {
        use entity::wealth_manager_client::Column as W;
        let _guard = self.lock_writes().await;
        entity::wealth_manager_client::Entity::delete_many()
            .filter(W::WealthManager.eq(wealth_manager))
            .filter(W::CustomerId.eq(customer.as_str()))
            .exec(&self.db)
            .await?;
        Ok(())
    }

    async fn clients_of(&self, wealth_manager: &str) -> Result<Vec<CustomerId>, StoreError> {
        use entity::wealth_manager_client::Column as W;
        entity::wealth_manager_client::Entity::find()
            .filter(W::WealthManager.eq(wealth_manager))
            .order_by_asc(W::CustomerId)
            .limit(super::PAGE_MAX)
            .all(&self.db)
            .await?
            .into_iter()
            .map(|r| CustomerId::try_from(r.customer_id.as_str()).map_err(corrupt("client id")))
            .collect()
    }

    async fn is_client(
        &self,
        wealth_manager: &str,
        customer: &CustomerId,
    ) -> Result<bool, StoreError> {
        Ok(entity::wealth_manager_client::Entity::find_by_id((
            wealth_manager.to_owned(),
            customer.to_string(),
        ))
        .one(&self.db)
        .await?
        .is_some())
    }

    async fn put_credit_model(
        &self,
        model: &StoredCreditModel,
        activate: bool,
    ) -> Result<(), StoreError> {
        self.put_credit_model_impl(model, activate).await
    }

    async fn credit_model(&self, version: &str) -> Result<Option<StoredCreditModel>, StoreError> {
        self.credit_model_impl(version).await
    }

    async fn active_credit_model(&self) -> Result<Option<StoredCreditModel>, StoreError> {
        self.active_credit_model_impl().await
    }

    async fn record_credit_decision(
        &self,
        decision: &NewCreditDecision,
        idempotency: Option<&IdempotentResponse>,
    ) -> Result<Idempotent, StoreError> {
        self.record_credit_decision_impl(decision, idempotency)
            .await
    }

    async fn credit_decision(&self, id: &str) -> Result<Option<NewCreditDecision>, StoreError> {
        self.credit_decision_impl(id).await
    }

    async fn credit_decisions_for(
        &self,
        customer: &CustomerId,
        limit: u64,
    ) -> Result<Vec<NewCreditDecision>, StoreError> {
        self.credit_decisions_for_impl(customer, limit).await
    }

    async fn accept_quote(
        &self,
        plan: &NewInstalmentPlan,
        idempotency: &IdempotentResponse,
    ) -> Result<Idempotent, StoreError> {
        self.accept_quote_impl(plan, idempotency).await
    }

    async fn instalment_plan_of(
        &self,
        quote_id: &str,
    ) -> Result<Option<NewInstalmentPlan>, StoreError> {
        self.instalment_plan_of_impl(quote_id).await
    }

    async fn idempotent_response(
        &self,
        caller: &str,
        key: &str,
    ) -> Result<Option<IdempotentResponse>, StoreError> {
        self.idempotent_response_impl(caller, key).await
    }

    async fn put_product_version(&self, version: &ProductVersion) -> Result<(), StoreError> {
        self.put_product_version_impl(version).await
    }

    async fn product_versions(&self, id: &ProductId) -> Result<Vec<ProductVersion>, StoreError> {
        self.product_versions_impl(id).await
    }

    async fn catalogue(&self) -> Result<Vec<ProductVersion>, StoreError> {
        self.catalogue_impl().await
    }

    async fn put_audience(&self, audience: &StoredAudience) -> Result<(), StoreError> {
        self.put_audience_impl(audience).await
    }

    async fn audience(
        &self,
        id: &str,
        version: Option<u32>,
    ) -> Result<Option<StoredAudience>, StoreError> {
        self.audience_impl(id, version).await
    }

    async fn audiences(&self, kind: Option<&str>) -> Result<Vec<StoredAudience>, StoreError> {
        self.audiences_impl(kind).await
    }

    async fn audience_versions(&self, id: &str) -> Result<Vec<StoredAudience>, StoreError> {
        self.audience_versions_impl(id).await
    }

    async fn create_campaign(&self, campaign: &StoredCampaign) -> Result<(), StoreError> {
        self.create_campaign_impl(campaign).await
    }

    async fn campaign(&self, id: &str) -> Result<Option<StoredCampaign>, StoreError> {
        self.campaign_impl(id).await
    }

    async fn campaigns(
        &self,
        status: Option<&str>,
        limit: u64,
    ) -> Result<Vec<StoredCampaign>, StoreError> {
        self.campaigns_impl(status, limit).await
    }

    async fn set_campaign_status(
        &self,
        id: &str,
        from: &[&str],
        to: &str,
        actor: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.set_campaign_status_impl(id, from, to, actor, at).await
    }

    async fn launch_campaign(
        &self,
        launch: &CampaignLaunch,
        idempotency: &IdempotentResponse,
    ) -> Result<Idempotent, StoreError> {
        self.launch_campaign_impl(launch, idempotency).await
    }

    async fn campaign_members(
        &self,
        campaign_id: &str,
        arm: Option<&str>,
        after: Option<&str>,
        limit: u64,
    ) -> Result<Vec<CampaignMember>, StoreError> {
        self.campaign_members_impl(campaign_id, arm, after, limit)
            .await
    }

    async fn contact_counts(
        &self,
        since: DateTime<Utc>,
    ) -> Result<HashMap<String, u32>, StoreError> {
        self.contact_counts_impl(since).await
    }

    async fn memberships(&self, customer: &CustomerId) -> Result<Vec<Membership>, StoreError> {
        self.memberships_impl(customer).await
    }

    async fn record_campaign_events(
        &self,
        campaign_id: &str,
        events: &[CampaignEvent],
    ) -> Result<IngestOutcome, StoreError> {
        self.record_campaign_events_impl(campaign_id, events, Utc::now())
            .await
    }

    async fn campaign_outcomes(&self, campaign_id: &str) -> Result<Vec<MemberOutcome>, StoreError> {
        self.campaign_outcomes_impl(campaign_id).await
    }

    async fn offer_interactions(
        &self,
        customer: &CustomerId,
        since: DateTime<Utc>,
        limit: u64,
    ) -> Result<Vec<OfferInteraction>, StoreError> {
        self.offer_interactions_impl(customer, since, limit).await
    }

    async fn marketing_rows(
        &self,
        after: Option<&CustomerId>,
        limit: u64,
    ) -> Result<Vec<MarketingRow>, StoreError> {
        self.marketing_rows_impl(after, limit).await
    }

    async fn put_offer_model(&self, model: &StoredOfferModel) -> Result<(), StoreError> {
        self.put_offer_model_impl(model).await
    }

    async fn active_offer_model(&self) -> Result<Option<StoredOfferModel>, StoreError> {
        self.active_offer_model_impl().await
    }
}

fn stored_advice(
    row: entity::advice::Model,
    decision: Option<entity::advice_decision::Model>,
) -> Result<StoredAdvice, StoreError> {
    let json = |text: &str| {
        serde_json::from_str(text)
            .map_err(|e| StoreError::Corrupt(format!("advice {}: {e}", row.id)))
    };
    Ok(StoredAdvice {
        id: row.id,
        advice: NewAdvice {
            customer_id: CustomerId::try_from(row.customer_id.as_str())
                .map_err(corrupt("advice customer"))?,
            kind: row.kind.clone(),
            actor: row.actor.clone(),
            engine_version: row.engine_version.clone(),
            inputs: json(&row.inputs)?,
            output: json(&row.output)?,
            created_at: ms_to_time(row.created_at_ms)?,
        },
        decision: decision
            .map(|d| {
                Ok::<_, StoreError>(StoredDecision {
                    decision: d.decision,
                    actor: d.actor,
                    decided_at: ms_to_time(d.decided_at_ms)?,
                    note: d.note,
                })
            })
            .transpose()?,
    })
}

/// Customers per page of `histories`: bounds the rows one call materialises (~450 events each).
const HISTORY_PAGE_MAX: u64 = 1_000;

impl SeaStore {
    /// Loads events and holdings of `customers` with one query per table per chunk.
    async fn histories_of(
        &self,
        customers: Vec<Customer>,
        since: DateTime<Utc>,
    ) -> Result<Vec<History>, StoreError> {
        let ids: Vec<&str> = customers.iter().map(|c| c.id.as_str()).collect();
        let mut payments: HashMap<String, Vec<PaymentEvent>> = HashMap::new();
        let mut behaviour: HashMap<String, Vec<sextant_domain::BehaviourEvent>> = HashMap::new();
        let mut holdings: HashMap<String, Vec<Holding>> = HashMap::new();
        let since_ms = since.timestamp_millis();
        for chunk in ids.chunks(IDS_PER_LOOKUP) {
            use entity::behaviour_event::Column as B;
            use payment_event::Column as P;
            let rows = payment_event::Entity::find()
                .filter(P::CustomerId.is_in(chunk.iter().copied()))
                .filter(P::OccurredAtMs.gte(since_ms))
                .order_by_asc(P::CustomerId)
                .order_by_asc(P::OccurredAtMs)
                .all(&self.db)
                .await?;
            for row in rows {
                payments
                    .entry(row.customer_id.clone())
                    .or_default()
                    .push(payment_from(row)?);
            }
            let rows = entity::behaviour_event::Entity::find()
                .filter(B::CustomerId.is_in(chunk.iter().copied()))
                .filter(B::OccurredAtMs.gte(since_ms))
                .order_by_asc(B::CustomerId)
                .order_by_asc(B::OccurredAtMs)
                .all(&self.db)
                .await?;
            for row in rows {
                behaviour
                    .entry(row.customer_id.clone())
                    .or_default()
                    .push(behaviour_from(row)?);
            }
            let rows = holding::Entity::find()
                .filter(holding::Column::CustomerId.is_in(chunk.iter().copied()))
                .all(&self.db)
                .await?;
            for row in rows {
                holdings
                    .entry(row.customer_id.clone())
                    .or_default()
                    .push(holding_from(row)?);
            }
        }
        Ok(customers
            .into_iter()
            .map(|customer| {
                let key = customer.id.as_str();
                History {
                    payments: payments.remove(key).unwrap_or_default(),
                    behaviour: behaviour.remove(key).unwrap_or_default(),
                    holdings: holdings.remove(key).unwrap_or_default(),
                    customer,
                }
            })
            .collect())
    }
}

fn behaviour_from(
    m: entity::behaviour_event::Model,
) -> Result<sextant_domain::BehaviourEvent, StoreError> {
    use sextant_domain::{BehaviourKind, ShortText};
    Ok(sextant_domain::BehaviourEvent {
        event_id: EventId::parse(&m.event_id).map_err(corrupt("event id"))?,
        customer_id: CustomerId::parse(&m.customer_id).map_err(corrupt("customer id"))?,
        occurred_at: ms_to_time(m.occurred_at_ms)?,
        kind: BehaviourKind::parse(&m.kind).map_err(corrupt("behaviour kind"))?,
        session_id: m
            .session_id
            .as_deref()
            .map(EventId::parse)
            .transpose()
            .map_err(corrupt("session"))?,
        screen: m
            .screen
            .as_deref()
            .map(ShortText::parse)
            .transpose()
            .map_err(corrupt("screen"))?,
        product_id: m
            .product_id
            .as_deref()
            .map(ProductId::parse)
            .transpose()
            .map_err(corrupt("product"))?,
        offer_id: m
            .offer_id
            .as_deref()
            .map(EventId::parse)
            .transpose()
            .map_err(corrupt("offer"))?,
        query: m
            .query
            .as_deref()
            .map(ShortText::parse)
            .transpose()
            .map_err(corrupt("query"))?,
    })
}

fn profile_model(p: &StoredProfile) -> Result<entity::profile::ActiveModel, StoreError> {
    if p.features.iter().any(|v| !v.is_finite()) {
        return Err(StoreError::Corrupt(format!(
            "profile of {} holds a non-finite feature",
            p.customer_id
        )));
    }
    Ok(entity::profile::ActiveModel {
        customer_id: Set(p.customer_id.to_string()),
        feature_version: Set(p.feature_version as i32),
        features: Set(serde_json::to_string(&p.features).expect("finite floats serialise")),
        segment: Set(p.segment.map(|s| s as i32)),
        embedding_model: Set(p.embedding_model.clone()),
        as_of_ms: Set(p.as_of.timestamp_millis()),
        computed_at_ms: Set(p.computed_at.timestamp_millis()),
    })
}

fn profile_from(m: entity::profile::Model) -> Result<StoredProfile, StoreError> {
    Ok(StoredProfile {
        customer_id: CustomerId::parse(&m.customer_id).map_err(corrupt("customer id"))?,
        feature_version: m.feature_version as u32,
        features: serde_json::from_str(&m.features)
            .map_err(|e| StoreError::Corrupt(format!("profile features: {e}")))?,
        segment: m.segment.map(|s| s as u32),
        embedding_model: m.embedding_model,
        as_of: ms_to_time(m.as_of_ms)?,
        computed_at: ms_to_time(m.computed_at_ms)?,
    })
}
