//! Payment and behaviour events on sea-orm: idempotent, all-or-nothing batches.
//!
//! A batch is written as multi-row inserts of [`ROWS_PER_STATEMENT`] rows, and the next
//! chunk's rows (hashing, sealing, binding values) are built while the database executes the
//! current one: on SQLite the statement runs on the driver's own thread, so the two overlap.
//! The first attempt assumes every event is new and asks the database only how many rows
//! went in; a batch that holds an event already stored (a re-import, a retried request) is
//! rolled back and written again with `RETURNING`, which names the rows this call stored.

use std::collections::{HashMap, HashSet};
use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Alias, Expr, Query};
use sea_orm::{ConnectionTrait, DbBackend, Statement, TransactionTrait, Value};
use sextant_domain::{BehaviourEvent, CustomerId, Event, PaymentEvent};

use super::keys::{self, KeySet};
use super::rows::content_hash;
use super::{existing, SeaStore, IDS_PER_LOOKUP, ROWS_PER_STATEMENT};
use crate::crypto::seal;
use crate::{Actor, IngestOutcome, StoreError, INGEST_CALL_MAX_EVENTS};

/// An event table: its name, its columns in the order rows bind them, and the text of a
/// full chunk's insert, built once per backend and mode.
struct Table {
    name: &'static str,
    columns: &'static [&'static str],
    full_chunk_sql: [OnceLock<String>; 4],
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
    "counterparty_name",
    "counterparty_account",
    "device_id",
    "refund_of",
];

static PAYMENTS: Table = Table {
    name: "payment_events",
    columns: PAYMENT_COLUMNS,
    full_chunk_sql: [const { OnceLock::new() }; 4],
};

static BEHAVIOUR: Table = Table {
    name: "behaviour_events",
    columns: &[
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
    ],
    full_chunk_sql: [const { OnceLock::new() }; 4],
};

const _: () = assert!(
    ROWS_PER_STATEMENT * PAYMENT_COLUMNS.len() <= 32_766,
    "a chunk of payments stays under SQLite's bound parameters"
);

/// How a chunk learns which of its rows went in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Every row is expected to be new: the database returns only a count.
    Optimistic,
    /// `RETURNING event_id`: the rows this statement inserted, by id.
    Returning,
}

impl Table {
    fn insert_sql(&self, backend: DbBackend, rows: usize, mode: Mode) -> String {
        if rows != ROWS_PER_STATEMENT {
            return self.build_insert_sql(backend, rows, mode);
        }
        let slot =
            usize::from(backend == DbBackend::Postgres) * 2 + usize::from(mode == Mode::Returning);
        self.full_chunk_sql[slot]
            .get_or_init(|| self.build_insert_sql(backend, rows, mode))
            .clone()
    }

    /// `INSERT INTO t (..) VALUES (..), .. ON CONFLICT (event_id) DO NOTHING`: names are
    /// this module's constants, every value a bound parameter.
    fn build_insert_sql(&self, backend: DbBackend, rows: usize, mode: Mode) -> String {
        let mut sql = super::rows::insert_sql(backend, self.name, self.columns, rows);
        sql.push_str(" ON CONFLICT (\"event_id\") DO NOTHING");
        if mode == Mode::Returning {
            sql.push_str(" RETURNING \"event_id\"");
        }
        sql
    }
}

fn text(s: &str) -> Value {
    Value::String(Some(Box::new(s.to_owned())))
}

fn text_opt(s: Option<&str>) -> Value {
    Value::String(s.map(|s| Box::new(s.to_owned())))
}

fn push_payment(
    values: &mut Vec<Value>,
    p: &PaymentEvent,
    hash: i64,
    now_ms: i64,
    keys: &KeySet,
) -> Result<(), StoreError> {
    let c = p.customer_id.as_str();
    let key = keys.get(c)?;
    let sealed = |field: &str, value: Option<&str>| {
        Value::String(value.map(|v| Box::new(seal(key, c, field, v))))
    };
    let counterparty = p.counterparty.as_ref();
    values.extend([
        text(p.event_id.as_str()),
        text(c),
        Value::BigInt(Some(p.occurred_at.timestamp_millis())),
        Value::BigInt(Some(p.amount.get())),
        text(p.currency.as_str()),
        text(p.direction.as_str()),
        text(p.kind.as_str()),
        text(p.channel.as_str()),
        sealed("merchant_id", p.merchant_id.as_ref().map(|m| m.as_str())),
        Value::Int(p.mcc.map(|m| i32::from(m.get()))),
        text(p.country.as_str()),
        sealed("card_bin", p.card.as_ref().map(|c| c.bin())),
        sealed("card_last4", p.card.as_ref().map(|c| c.last4())),
        text(p.status.as_str()),
        Value::BigInt(p.balance_after_minor),
        Value::BigInt(Some(hash)),
        Value::BigInt(Some(now_ms)),
        sealed(
            "counterparty_name",
            counterparty
                .and_then(|c| c.name.as_ref())
                .map(|n| n.as_str()),
        ),
        sealed(
            "counterparty_account",
            counterparty
                .and_then(|c| c.account.as_ref())
                .map(|a| a.as_str()),
        ),
        sealed("device_id", p.device_id.as_ref().map(|d| d.as_str())),
        text_opt(p.refund_of.as_ref().map(|r| r.as_str())),
    ]);
    Ok(())
}

fn push_behaviour(
    values: &mut Vec<Value>,
    b: &BehaviourEvent,
    hash: i64,
    now_ms: i64,
    keys: &KeySet,
) -> Result<(), StoreError> {
    let c = b.customer_id.as_str();
    let query = match &b.query {
        Some(q) => Some(Box::new(seal(keys.get(c)?, c, "query", q.as_str()))),
        None => None,
    };
    values.extend([
        text(b.event_id.as_str()),
        text(c),
        Value::BigInt(Some(b.occurred_at.timestamp_millis())),
        text(b.kind.as_str()),
        text_opt(b.session_id.as_ref().map(|s| s.as_str())),
        text_opt(b.screen.as_ref().map(|s| s.as_str())),
        text_opt(b.product_id.as_ref().map(|s| s.as_str())),
        text_opt(b.offer_id.as_ref().map(|s| s.as_str())),
        Value::String(query),
        Value::BigInt(Some(hash)),
        Value::BigInt(Some(now_ms)),
    ]);
    Ok(())
}

/// One multi-row insert: the events it holds (indices into the batch) and their values.
struct Chunk {
    table: &'static Table,
    events: Vec<usize>,
    values: Vec<Value>,
}

impl Chunk {
    fn new(table: &'static Table) -> Chunk {
        Chunk {
            table,
            events: Vec::with_capacity(ROWS_PER_STATEMENT),
            values: Vec::with_capacity(ROWS_PER_STATEMENT * table.columns.len()),
        }
    }

    /// This chunk, leaving an empty one of the same table in its place.
    fn take(&mut self) -> Chunk {
        std::mem::replace(self, Chunk::new(self.table))
    }
}

/// Turns a batch, in id order, into chunks of rows; the first occurrence of an id in the
/// batch gets a row, later ones are duplicates (checked against what is stored).
struct Chunks<'a> {
    events: &'a [Event],
    order: std::slice::Iter<'a, usize>,
    hashes: &'a [i64],
    keys: &'a KeySet,
    now_ms: i64,
    payments: Chunk,
    behaviour: Chunk,
    last_payment: Option<&'a str>,
    last_behaviour: Option<&'a str>,
}

impl<'a> Chunks<'a> {
    /// The next full chunk, then what is left of each table.
    fn next_chunk(&mut self) -> Result<Option<Chunk>, StoreError> {
        for &i in self.order.by_ref() {
            let (chunk, last) = match &self.events[i] {
                Event::Payment(_) => (&mut self.payments, &mut self.last_payment),
                Event::Behaviour(_) => (&mut self.behaviour, &mut self.last_behaviour),
            };
            let id = self.events[i].event_id().as_str();
            if *last == Some(id) {
                continue;
            }
            *last = Some(id);
            match &self.events[i] {
                Event::Payment(p) => {
                    push_payment(&mut chunk.values, p, self.hashes[i], self.now_ms, self.keys)?
                }
                Event::Behaviour(b) => {
                    push_behaviour(&mut chunk.values, b, self.hashes[i], self.now_ms, self.keys)?
                }
            }
            chunk.events.push(i);
            if chunk.events.len() == ROWS_PER_STATEMENT {
                return Ok(Some(chunk.take()));
            }
        }
        for chunk in [&mut self.payments, &mut self.behaviour] {
            if !chunk.events.is_empty() {
                return Ok(Some(chunk.take()));
            }
        }
        Ok(None)
    }
}

/// What a chunk's insert reports.
enum Inserted {
    /// Every row went in.
    All,
    /// Some row was already stored (optimistic mode only): the batch is written again.
    Conflict,
    /// The ids this statement inserted (returning mode).
    These(HashSet<String>),
}

async fn insert_chunk(
    db: &impl ConnectionTrait,
    chunk: &mut Chunk,
    mode: Mode,
) -> Result<Inserted, StoreError> {
    let backend = db.get_database_backend();
    let rows = chunk.events.len();
    let sql = chunk.table.insert_sql(backend, rows, mode);
    let statement = Statement::from_sql_and_values(backend, sql, std::mem::take(&mut chunk.values));
    match mode {
        Mode::Optimistic => {
            let result = db.execute(statement).await?;
            Ok(if result.rows_affected() == rows as u64 {
                Inserted::All
            } else {
                Inserted::Conflict
            })
        }
        Mode::Returning => {
            let mut ids = HashSet::with_capacity(rows);
            for row in db.query_all(statement).await? {
                ids.insert(row.try_get::<String>("", "event_id")?);
            }
            Ok(Inserted::These(ids))
        }
    }
}

/// Writes every chunk of the batch and returns true; `stored[i]` then says whether event `i`
/// was stored by this call. False: an optimistic write met an event already stored.
async fn write_rows(
    db: &impl ConnectionTrait,
    mut chunks: Chunks<'_>,
    mode: Mode,
    stored: &mut [bool],
) -> Result<bool, StoreError> {
    let mut next = chunks.next_chunk()?;
    while let Some(mut chunk) = next.take() {
        // `biased`: the insert is polled first, so its statement is on the database's
        // thread before the next chunk is built on this one.
        let (inserted, following) = tokio::join!(
            biased;
            insert_chunk(db, &mut chunk, mode),
            async { chunks.next_chunk() }
        );
        let events = &chunk.events;
        match inserted? {
            Inserted::All => events.iter().for_each(|&i| stored[i] = true),
            Inserted::Conflict => return Ok(false),
            Inserted::These(ids) => {
                for &i in events {
                    stored[i] = ids.contains(chunks.events[i].event_id().as_str());
                }
            }
        }
        next = following?;
    }
    Ok(true)
}

async fn stored_hashes(
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
        for row in db
            .query_all(db.get_database_backend().build(&query))
            .await?
        {
            found.insert(
                row.try_get::<String>("", "event_id")?,
                row.try_get::<i64>("", "content_hash")?,
            );
        }
    }
    Ok(found)
}

/// See [`crate::CustomerStore::ingest`].
pub(super) async fn ingest(
    store: &SeaStore,
    events: &[Event],
    by: &Actor,
    now: DateTime<Utc>,
) -> Result<IngestOutcome, StoreError> {
    assert!(
        events.len() <= INGEST_CALL_MAX_EVENTS,
        "callers bound their batches"
    );
    if events.is_empty() {
        return Ok(IngestOutcome::default());
    }
    let mut customer_ids: Vec<&str> = events.iter().map(|e| e.customer_id().as_str()).collect();
    customer_ids.sort_unstable();
    customer_ids.dedup();
    let hashes: Vec<i64> = events.iter().map(content_hash).collect();
    // Rows go in sorted by id (stably, so a repeated id keeps its first occurrence first):
    // concurrent batches then take row locks in one order and cannot deadlock.
    let mut order: Vec<usize> = (0..events.len()).collect();
    order.sort_by(|&a, &b| events[a].event_id().cmp(events[b].event_id()));
    let now_ms = now.timestamp_millis();

    let _guard = store.lock_writes().await;
    let mut mode = Mode::Optimistic;
    let mut stored = vec![false; events.len()];
    let txn = loop {
        let txn = store.db.begin().await?;
        let known = existing(&txn, "customers", "id", &customer_ids).await?;
        let unknown: Vec<usize> = (0..events.len())
            .filter(|&i| !known.contains(events[i].customer_id().as_str()))
            .collect();
        if !unknown.is_empty() {
            txn.rollback().await?;
            return Err(StoreError::UnknownCustomers(unknown));
        }
        let keys = keys::load_or_create(&txn, &store.keyring, &customer_ids, now).await?;
        let chunks = Chunks {
            events,
            order: order.iter(),
            hashes: &hashes,
            keys: &keys,
            now_ms,
            payments: Chunk::new(&PAYMENTS),
            behaviour: Chunk::new(&BEHAVIOUR),
            last_payment: None,
            last_behaviour: None,
        };
        stored.fill(false);
        if write_rows(&txn, chunks, mode, &mut stored).await? {
            break txn;
        }
        txn.rollback().await?;
        mode = Mode::Returning;
    };

    let mut outcome = IngestOutcome::default();
    let (mut dup_payments, mut dup_behaviour) = (Vec::new(), Vec::new());
    for (i, event) in events.iter().enumerate() {
        if stored[i] {
            outcome.stored += 1;
            continue;
        }
        outcome.duplicates.push(i);
        match event {
            Event::Payment(p) => dup_payments.push(p.event_id.as_str()),
            Event::Behaviour(b) => dup_behaviour.push(b.event_id.as_str()),
        }
    }
    let stored_payments = stored_hashes(&txn, PAYMENTS.name, &dup_payments).await?;
    let stored_behaviour = stored_hashes(&txn, BEHAVIOUR.name, &dup_behaviour).await?;
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
        txn.rollback().await?;
        return Err(StoreError::EventIdReused(reused));
    }
    if outcome.stored > 0 {
        // One entry per batch: how much was stored, for how many customers (their ids are
        // in the events themselves; a batch holds up to INGEST_CALL_MAX_EVENTS).
        let detail = serde_json::json!({
            "stored": outcome.stored, "duplicates": outcome.duplicates.len(),
            "customers": customer_ids.len(),
        });
        store
            .recorder(by)
            .record(&txn, "events.ingest", "events", detail, now)
            .await?;
    }
    txn.commit().await?;
    if outcome.stored > 0 {
        let mut received: Vec<&CustomerId> = events.iter().map(Event::customer_id).collect();
        received.sort_unstable();
        received.dedup();
        store.activity.note(received);
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_text_numbers_every_parameter_once() {
        let sql = BEHAVIOUR.build_insert_sql(DbBackend::Postgres, 3, Mode::Returning);
        assert!(sql.starts_with("INSERT INTO \"behaviour_events\" (\"event_id\", "));
        assert!(sql.contains(",($12,$13,"));
        assert!(sql.ends_with("$33) ON CONFLICT (\"event_id\") DO NOTHING RETURNING \"event_id\""));
        let sqlite = PAYMENTS.build_insert_sql(DbBackend::Sqlite, 2, Mode::Optimistic);
        assert_eq!(sqlite.matches('?').count(), 2 * PAYMENTS.columns.len());
        assert!(sqlite.ends_with("DO NOTHING"));
    }

    #[test]
    fn a_full_chunk_reuses_its_text_and_a_short_one_is_built() {
        let full = PAYMENTS.insert_sql(DbBackend::Sqlite, ROWS_PER_STATEMENT, Mode::Optimistic);
        assert_eq!(
            full,
            PAYMENTS.build_insert_sql(DbBackend::Sqlite, ROWS_PER_STATEMENT, Mode::Optimistic)
        );
        let short = PAYMENTS.insert_sql(DbBackend::Sqlite, 7, Mode::Optimistic);
        assert_eq!(short.matches('?').count(), 7 * PAYMENTS.columns.len());
    }
}
