//! Loyalty points on sea-orm: one row per posting (its lines and lot moves as JSON), the lots
//! beside them, written in the same transaction. A write replays the customer's journal
//! under a lock (the process's write lock on SQLite, a transaction-scoped advisory lock on
//! PostgreSQL), so two writes of one customer's points never interleave, on any number of
//! servers: two redemptions cannot both spend the same points.

use std::collections::{BTreeSet, HashMap};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sea_orm::sea_query::{Alias, Expr, OnConflict, Order, Query};
use sea_orm::{ConnectionTrait, DbBackend, QueryResult, Statement, TransactionTrait};
use serde::{Deserialize, Serialize};
use sextant_domain::{Currency, CustomerId};
use sextant_loyalty::{
    Account, Activity, Applied, CustomerLedger, Item, LedgerError, Line, Lot, LotMove, Movement,
    Opens, Posting, PostingKind,
};
use sha2::{Digest, Sha256};

use super::rows::ms_to_time;
use super::{SeaStore, IDS_PER_LOOKUP};
use crate::loyalty::{LedgerStep, LiabilityMonth, LoyaltyStore, SpendRow, StepResult};
use crate::{Actor, StoreError};

const POSTINGS: &str = "loyalty_postings";
const LOTS: &str = "loyalty_lots";

#[derive(Serialize, Deserialize)]
struct LineRow {
    account: String,
    points: i64,
}

#[derive(Serialize, Deserialize)]
struct MoveRow {
    lot: String,
    points: i64,
}

/// An accrual's item as read: `at` in milliseconds.
#[derive(Deserialize)]
struct ItemRow {
    key: String,
    at: i64,
    points: i64,
    why: String,
}

fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

fn corrupt(what: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{POSTINGS}: {what}"))
}

fn parse_day(text: Option<String>) -> Result<Option<NaiveDate>, StoreError> {
    text.map(|t| NaiveDate::parse_from_str(&t, "%Y-%m-%d").map_err(|_| corrupt("a day")))
        .transpose()
}

const COLUMNS: [&str; 16] = [
    "customer_id",
    "posting_key",
    "seq",
    "kind",
    "at_ms",
    "requested",
    "customer_change",
    "shortfall",
    "reverses",
    "reason",
    "actor",
    "opens_earned_on",
    "opens_expires_on",
    "lines",
    "moves",
    "items",
];

fn posting_from(row: &QueryResult) -> Result<Posting, StoreError> {
    let kind: String = row.try_get("", "kind")?;
    let lines: String = row.try_get("", "lines")?;
    let moves: String = row.try_get("", "moves")?;
    let lines: Vec<LineRow> = serde_json::from_str(&lines).map_err(corrupt)?;
    let moves: Vec<MoveRow> = serde_json::from_str(&moves).map_err(corrupt)?;
    let items: Option<String> = row.try_get("", "items")?;
    let items: Vec<ItemRow> = match items {
        Some(text) => serde_json::from_str(&text).map_err(corrupt)?,
        None => Vec::new(),
    };
    let earned_on = parse_day(row.try_get("", "opens_earned_on")?)?;
    let expires_on = parse_day(row.try_get("", "opens_expires_on")?)?;
    Ok(Posting {
        key: row.try_get("", "posting_key")?,
        kind: PostingKind::parse(&kind).ok_or_else(|| corrupt(format!("kind `{kind}`")))?,
        at: ms_to_time(row.try_get("", "at_ms")?)?,
        requested: row.try_get("", "requested")?,
        lines: lines
            .into_iter()
            .map(|l| {
                Ok(Line {
                    account: Account::parse(&l.account)
                        .ok_or_else(|| corrupt(format!("account `{}`", l.account)))?,
                    points: l.points,
                })
            })
            .collect::<Result<_, StoreError>>()?,
        moves: moves
            .into_iter()
            .map(|m| LotMove {
                lot: m.lot,
                points: m.points,
            })
            .collect(),
        opens: match (earned_on, expires_on) {
            (Some(earned_on), Some(expires_on)) => Some(Opens {
                earned_on,
                expires_on,
            }),
            (None, None) => None,
            _ => return Err(corrupt("a lot with one of its two days")),
        },
        shortfall: row.try_get("", "shortfall")?,
        reverses: row.try_get("", "reverses")?,
        reason: row.try_get("", "reason")?,
        actor: row.try_get("", "actor")?,
        items: items
            .into_iter()
            .map(|i| {
                Ok(Item {
                    key: i.key,
                    at: ms_to_time(i.at)?,
                    points: i.points,
                    why: i.why,
                })
            })
            .collect::<Result<_, StoreError>>()?,
    })
}

/// The loyalty activity of `customers` from `since`: the balance before it, and every
/// posting from it (its time, kind and change), oldest first.
pub(super) async fn activities(
    db: &impl ConnectionTrait,
    customers: &[&str],
    since: DateTime<Utc>,
) -> Result<HashMap<String, Activity>, StoreError> {
    let since_ms = since.timestamp_millis();
    let mut out: HashMap<String, Activity> = HashMap::new();
    for chunk in customers.chunks(IDS_PER_LOOKUP) {
        let query = Query::select()
            .columns(["customer_id", "kind", "at_ms", "customer_change"].map(Alias::new))
            .from(Alias::new(POSTINGS))
            .and_where(Expr::col(Alias::new("customer_id")).is_in(chunk.iter().copied()))
            .to_owned();
        for row in db
            .query_all(db.get_database_backend().build(&query))
            .await?
        {
            let customer: String = row.try_get("", "customer_id")?;
            let kind: String = row.try_get("", "kind")?;
            let at_ms: i64 = row.try_get("", "at_ms")?;
            let points: i64 = row.try_get("", "customer_change")?;
            let activity = out.entry(customer).or_default();
            if at_ms < since_ms {
                activity.opening += points;
                continue;
            }
            activity.movements.push(Movement {
                at: ms_to_time(at_ms)?,
                kind: PostingKind::parse(&kind).ok_or_else(|| corrupt(format!("kind `{kind}`")))?,
                points,
            });
        }
    }
    for activity in out.values_mut() {
        activity.movements.sort_by_key(|m| m.at);
    }
    Ok(out)
}

/// Rows per multi-row insert: 16 columns x 1,000 rows, under SQLite's 32,766 bound
/// parameters.
const ROWS_PER_INSERT: usize = 1_000;

/// The customer's journal, in order.
async fn journal(db: &impl ConnectionTrait, customer: &str) -> Result<Vec<Posting>, StoreError> {
    let mut all = journals(db, &[customer]).await?;
    Ok(all.remove(customer).unwrap_or_default())
}

/// The journals of `customers`, each in order (a customer without postings is absent).
async fn journals(
    db: &impl ConnectionTrait,
    customers: &[&str],
) -> Result<HashMap<String, Vec<Posting>>, StoreError> {
    let mut out: HashMap<String, Vec<Posting>> = HashMap::new();
    for chunk in customers.chunks(IDS_PER_LOOKUP) {
        let query = Query::select()
            .columns(COLUMNS.map(Alias::new))
            .from(Alias::new(POSTINGS))
            .and_where(Expr::col(Alias::new("customer_id")).is_in(chunk.iter().copied()))
            .order_by(Alias::new("customer_id"), Order::Asc)
            .order_by(Alias::new("seq"), Order::Asc)
            .to_owned();
        for row in db
            .query_all(db.get_database_backend().build(&query))
            .await?
        {
            let customer: String = row.try_get("", "customer_id")?;
            out.entry(customer).or_default().push(posting_from(&row)?);
        }
    }
    Ok(out)
}

fn replay(customer: &str, postings: Vec<Posting>) -> Result<CustomerLedger, StoreError> {
    CustomerLedger::replay(postings)
        .map_err(|e| StoreError::Corrupt(format!("the loyalty journal of {customer}: {e}")))
}

/// On PostgreSQL, holds each customer's loyalty lock to the end of the transaction, taken
/// in one order so two writers of overlapping customers cannot deadlock.
async fn lock_customers(db: &impl ConnectionTrait, customers: &[&str]) -> Result<(), StoreError> {
    if db.get_database_backend() != DbBackend::Postgres || customers.is_empty() {
        return Ok(());
    }
    let mut keys: Vec<i64> = customers
        .iter()
        .map(|c| sextant_hash::fnv1a64(format!("loyalty:{c}").as_bytes()) as i64)
        .collect();
    keys.sort_unstable();
    keys.dedup();
    for chunk in keys.chunks(IDS_PER_LOOKUP) {
        let list: Vec<String> = chunk.iter().map(i64::to_string).collect();
        db.execute(Statement::from_string(
            DbBackend::Postgres,
            format!(
                "SELECT pg_advisory_xact_lock(k) FROM unnest(ARRAY[{}]::bigint[]) \
                 WITH ORDINALITY AS t(k, n) ORDER BY n",
                list.join(",")
            ),
        ))
        .await?;
    }
    Ok(())
}

/// One posting to insert: its customer and place in their journal.
struct NewPosting<'a> {
    customer: &'a str,
    seq: usize,
    posting: &'a Posting,
    /// Its items as stored (written once: the row holds them, the audit entry their digest).
    items: Option<String>,
}

/// Writes the postings, moving their values into the statements (an import writes
/// thousands, with their items).
async fn insert_postings(
    db: &impl ConnectionTrait,
    postings: Vec<NewPosting<'_>>,
) -> Result<(), StoreError> {
    let backend = db.get_database_backend();
    let mut postings = postings.into_iter().peekable();
    while postings.peek().is_some() {
        let chunk: Vec<NewPosting> = postings.by_ref().take(ROWS_PER_INSERT).collect();
        let mut values: Vec<sea_orm::Value> = Vec::with_capacity(chunk.len() * COLUMNS.len());
        let rows = chunk.len();
        for new in chunk {
            let p = new.posting;
            let lines: Vec<LineRow> = p
                .lines
                .iter()
                .map(|l| LineRow {
                    account: l.account.as_str().to_owned(),
                    points: l.points,
                })
                .collect();
            let moves: Vec<MoveRow> = p
                .moves
                .iter()
                .map(|m| MoveRow {
                    lot: m.lot.clone(),
                    points: m.points,
                })
                .collect();
            values.extend([
                new.customer.into(),
                p.key.as_str().into(),
                (new.seq as i64).into(),
                p.kind.as_str().into(),
                p.at.timestamp_millis().into(),
                p.requested.into(),
                p.customer_change().into(),
                p.shortfall.into(),
                p.reverses.clone().into(),
                p.reason.clone().into(),
                p.actor.clone().into(),
                p.opens.map(|o| day_text(o.earned_on)).into(),
                p.opens.map(|o| day_text(o.expires_on)).into(),
                serde_json::to_string(&lines).expect("plain rows").into(),
                serde_json::to_string(&moves).expect("plain rows").into(),
                new.items.into(),
            ]);
        }
        let sql = super::rows::insert_sql(backend, POSTINGS, &COLUMNS, rows);
        db.execute(Statement::from_sql_and_values(backend, sql, values))
            .await?;
    }
    Ok(())
}

/// An item as written: [`ItemRow`] borrowing its text.
#[derive(Serialize)]
struct ItemRef<'a> {
    key: &'a str,
    at: i64,
    points: i64,
    why: &'a str,
}

/// An accrual's items as stored (none for other postings).
fn items_json(items: &[Item]) -> Option<String> {
    if items.is_empty() {
        return None;
    }
    let rows: Vec<ItemRef> = items
        .iter()
        .map(|i| ItemRef {
            key: &i.key,
            at: i.at.timestamp_millis(),
            points: i.points,
            why: &i.why,
        })
        .collect();
    Some(serde_json::to_string(&rows).expect("plain rows"))
}

/// Writes `lots` (customer, lot) as their ledgers now hold them.
async fn upsert_lots(db: &impl ConnectionTrait, lots: &[(&str, &Lot)]) -> Result<(), StoreError> {
    for chunk in lots.chunks(ROWS_PER_INSERT) {
        let mut insert = Query::insert()
            .into_table(Alias::new(LOTS))
            .columns(
                [
                    "customer_id",
                    "lot_id",
                    "earned_on",
                    "expires_on",
                    "points",
                    "remaining",
                ]
                .map(Alias::new),
            )
            .on_conflict(
                OnConflict::columns([Alias::new("customer_id"), Alias::new("lot_id")])
                    .update_column(Alias::new("remaining"))
                    .to_owned(),
            )
            .to_owned();
        for (customer, lot) in chunk {
            insert.values_panic([
                (*customer).into(),
                lot.id.as_str().into(),
                day_text(lot.earned_on).into(),
                day_text(lot.expires_on).into(),
                lot.points.into(),
                lot.remaining.into(),
            ]);
        }
        db.execute(db.get_database_backend().build(&insert)).await?;
    }
    Ok(())
}

/// The audit entry of the postings a write added to one customer's journal.
fn audit_detail(added: &[NewPosting], balance: i64) -> serde_json::Value {
    serde_json::json!({
        "postings": added
            .iter()
            .map(|new| {
                let p = new.posting;
                let mut entry = serde_json::json!({
                    "key": p.key,
                    "kind": p.kind.as_str(),
                    "points": p.customer_change(),
                    "shortfall": p.shortfall,
                    "reverses": p.reverses,
                    "reason": p.reason,
                });
                if let Some(items) = &new.items {
                    // The payments' points stay in the journal row; the trail holds their
                    // count and digest, so a changed item no longer matches its entry.
                    entry["items"] = serde_json::json!({
                        "count": p.items.len(),
                        "sha256": crate::audit::hex(&Sha256::digest(items.as_bytes())),
                    });
                }
                entry
            })
            .collect::<Vec<_>>(),
        "balance": balance,
    })
}

impl SeaStore {
    /// Runs every step on its customer's journal inside one transaction and stores what
    /// they added; see [`LoyaltyStore::post_points_many`].
    async fn post_many(
        &self,
        steps: Vec<(CustomerId, LedgerStep)>,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<StepResult>, StoreError> {
        if steps.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<&str> = {
            let mut ids: Vec<&str> = steps.iter().map(|(c, _)| c.as_str()).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let _guard = self.lock_writes().await;
        let txn = self.db.begin().await?;
        lock_customers(&txn, &ids).await?;
        let mut stored = journals(&txn, &ids).await?;
        let mut ledgers: HashMap<String, (CustomerLedger, usize)> = HashMap::new();
        let mut results = Vec::with_capacity(steps.len());
        for (customer, step) in steps {
            let id = customer.as_str();
            if !ledgers.contains_key(id) {
                let ledger = replay(id, stored.remove(id).unwrap_or_default())?;
                let before = ledger.journal().len();
                ledgers.insert(id.to_owned(), (ledger, before));
            }
            let (ledger, _) = ledgers.get_mut(id).expect("inserted above");
            // A refusal leaves the journal as it was before the step.
            let length = ledger.journal().len();
            let result = step(ledger);
            if result.is_err() {
                ledger.truncate(length);
            }
            results.push(result);
        }
        let mut postings = Vec::new();
        let mut lots = Vec::new();
        let mut entries = Vec::new();
        let today = now.date_naive();
        let mut changed: Vec<(&String, &(CustomerLedger, usize))> = ledgers
            .iter()
            .filter(|(_, (l, before))| l.journal().len() > *before)
            .collect();
        changed.sort_by(|a, b| a.0.cmp(b.0));
        for (id, (ledger, before)) in &changed {
            let added = &ledger.journal()[*before..];
            let first = postings.len();
            postings.extend(added.iter().enumerate().map(|(i, posting)| NewPosting {
                customer: id.as_str(),
                seq: before + i,
                posting,
                items: items_json(&posting.items),
            }));
            let touched: BTreeSet<&str> = added
                .iter()
                .flat_map(|p| p.moves.iter().map(|m| m.lot.as_str()))
                .collect();
            lots.extend(
                ledger
                    .lots()
                    .iter()
                    .filter(|l| touched.contains(l.id.as_str()))
                    .map(|l| (id.as_str(), l)),
            );
            entries.push(by.entry(
                "loyalty.post",
                id,
                audit_detail(&postings[first..], ledger.snapshot(today).balance),
            ));
        }
        if postings.is_empty() {
            return Ok(results);
        }
        insert_postings(&txn, postings).await?;
        upsert_lots(&txn, &lots).await?;
        super::audit::append_all(&txn, self.signer(), entries, now).await?;
        txn.commit().await?;
        Ok(results)
    }
}

#[async_trait]
impl LoyaltyStore for SeaStore {
    async fn post_points(
        &self,
        customer: &CustomerId,
        step: LedgerStep,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Result<Vec<Applied>, LedgerError>, StoreError> {
        let mut results = self
            .post_many(vec![(customer.clone(), step)], by, now)
            .await?;
        Ok(results.pop().expect("one step in, one result out"))
    }

    async fn post_points_many(
        &self,
        steps: Vec<(CustomerId, LedgerStep)>,
        by: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Vec<StepResult>, StoreError> {
        self.post_many(steps, by, now).await
    }

    async fn payment_counts(
        &self,
        customers: &[CustomerId],
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<HashMap<CustomerId, u64>, StoreError> {
        let mut out = HashMap::new();
        for chunk in customers.chunks(IDS_PER_LOOKUP) {
            let query = Query::select()
                .column(Alias::new("customer_id"))
                .expr_as(Expr::cust("COUNT(*)"), Alias::new("n"))
                .from(Alias::new("payment_events"))
                .and_where(
                    Expr::col(Alias::new("customer_id")).is_in(chunk.iter().map(|c| c.as_str())),
                )
                .and_where(Expr::col(Alias::new("occurred_at_ms")).gte(since.timestamp_millis()))
                .and_where(Expr::col(Alias::new("occurred_at_ms")).lte(until.timestamp_millis()))
                .group_by_col(Alias::new("customer_id"))
                .to_owned();
            for row in self.db.query_all(self.backend().build(&query)).await? {
                let customer: String = row.try_get("", "customer_id")?;
                let n: i64 = row.try_get("", "n")?;
                out.insert(
                    CustomerId::parse(&customer)
                        .map_err(|_| StoreError::Corrupt("payment_events: customer id".into()))?,
                    n as u64,
                );
            }
        }
        Ok(out)
    }

    async fn purchases_and_refunds(
        &self,
        customers: &[CustomerId],
        since: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<SpendRow>, StoreError> {
        let mut out = Vec::new();
        for chunk in customers.chunks(IDS_PER_LOOKUP) {
            let query = Query::select()
                .columns(
                    [
                        "customer_id",
                        "event_id",
                        "occurred_at_ms",
                        "amount_minor",
                        "currency",
                        "kind",
                    ]
                    .map(Alias::new),
                )
                .from(Alias::new("payment_events"))
                .and_where(
                    Expr::col(Alias::new("customer_id")).is_in(chunk.iter().map(|c| c.as_str())),
                )
                .and_where(Expr::col(Alias::new("occurred_at_ms")).gte(since.timestamp_millis()))
                .and_where(Expr::col(Alias::new("occurred_at_ms")).lte(until.timestamp_millis()))
                .and_where(Expr::col(Alias::new("status")).eq("completed"))
                .and_where(Expr::col(Alias::new("kind")).is_in(["purchase", "refund"]))
                .order_by(Alias::new("occurred_at_ms"), Order::Asc)
                .to_owned();
            for row in self.db.query_all(self.backend().build(&query)).await? {
                let customer: String = row.try_get("", "customer_id")?;
                let currency: String = row.try_get("", "currency")?;
                let kind: String = row.try_get("", "kind")?;
                out.push(SpendRow {
                    customer_id: CustomerId::parse(&customer)
                        .map_err(|_| StoreError::Corrupt("payment_events: customer id".into()))?,
                    event_id: row.try_get("", "event_id")?,
                    occurred_at: ms_to_time(row.try_get("", "occurred_at_ms")?)?,
                    amount_minor: row.try_get("", "amount_minor")?,
                    currency: Currency::parse(&currency)
                        .map_err(|_| StoreError::Corrupt("payment_events: currency".into()))?,
                    refund: kind == "refund",
                });
            }
        }
        out.sort_by_key(|r| r.occurred_at);
        Ok(out)
    }

    async fn loyalty_ledger(&self, customer: &CustomerId) -> Result<CustomerLedger, StoreError> {
        let id = customer.as_str();
        replay(id, journal(&self.db, id).await?)
    }

    async fn loyalty_liability(&self, as_of: NaiveDate) -> Result<Vec<LiabilityMonth>, StoreError> {
        let month = "substr(expires_on, 1, 7)";
        let query = Query::select()
            .expr_as(Expr::cust(month), Alias::new("month"))
            .expr_as(
                Expr::cust("CAST(SUM(remaining) AS BIGINT)"),
                Alias::new("points"),
            )
            .expr_as(Expr::cust("COUNT(*)"), Alias::new("lots"))
            .expr_as(
                Expr::cust("COUNT(DISTINCT customer_id)"),
                Alias::new("customers"),
            )
            .from(Alias::new(LOTS))
            .and_where(Expr::col(Alias::new("remaining")).gt(0))
            .and_where(Expr::col(Alias::new("expires_on")).gte(day_text(as_of)))
            .add_group_by([Expr::cust(month)])
            .order_by_expr(Expr::cust(month), Order::Asc)
            .to_owned();
        let rows = self.db.query_all(self.backend().build(&query)).await?;
        rows.iter()
            .map(|row| {
                Ok(LiabilityMonth {
                    month: row.try_get("", "month")?,
                    points: row.try_get("", "points")?,
                    lots: row.try_get::<i64>("", "lots")? as u64,
                    customers: row.try_get::<i64>("", "customers")? as u64,
                })
            })
            .collect()
    }

    async fn loyalty_due_for_expiry(
        &self,
        day: NaiveDate,
        after: Option<&CustomerId>,
        limit: u64,
    ) -> Result<Vec<CustomerId>, StoreError> {
        let mut query = Query::select()
            .distinct()
            .column(Alias::new("customer_id"))
            .from(Alias::new(LOTS))
            .and_where(Expr::col(Alias::new("remaining")).gt(0))
            .and_where(Expr::col(Alias::new("expires_on")).lt(day_text(day)))
            .order_by(Alias::new("customer_id"), Order::Asc)
            .limit(limit)
            .to_owned();
        if let Some(after) = after {
            query.and_where(Expr::col(Alias::new("customer_id")).gt(after.as_str()));
        }
        let rows = self.db.query_all(self.backend().build(&query)).await?;
        rows.iter()
            .map(|row| {
                let id: String = row.try_get("", "customer_id")?;
                CustomerId::parse(&id).map_err(|_| StoreError::Corrupt(format!("{LOTS}: id")))
            })
            .collect()
    }
}
